/* cdni-origin: the libmicrohttpd glue. Requests are copied into a struct
 * origin_req, decided by origin_handle(), and the decision is turned into an
 * MHD response (a file range by fd, sent with sendfile() on plain HTTP). */
#include "origin/origin.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/http.h"
#include "common/log.h"

/* Per request: created when libmicrohttpd has read the request line (the
 * URI callback), logged and freed when the request completes. */
struct origin_rq {
	long long start_us;
	char *uri; /* request target as received */
	char method[16];
	char *host;
	bool called; /* the access handler ran once */
	int status;  /* 0 until we queued an answer */
	long long bytes;
	const char *note;
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct origin_rq *r = calloc(1, sizeof *r);

	(void)cls;
	(void)c;
	if (!r)
		return NULL;
	r->start_us = now_us();
	r->uri = strdup(uri ? uri : "");
	return r;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The body of a HEAD or 304 answer is never read: libmicrohttpd sends only
 * the headers, with the Content-Length a GET would have had (RFC 9110 §8.6;
 * a "Content-Length: 0" on a 304 would be wrong). */
static ssize_t never_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static struct MHD_Response *make_body(const struct origin_resp *rs, int fd, bool head)
{
	char body[64];
	int n;

	if (rs->file && !head)
		return MHD_create_response_from_fd_at_offset64(rs->length, fd, rs->offset);
	if (rs->file || rs->status == 304)
		return MHD_create_response_from_callback(rs->length, 4096, never_read, NULL, NULL);
	if (!rs->text)
		return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	n = snprintf(body, sizeof body, "%s\n", rs->text);
	return MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
}

/* Turn a decision into a response; fd is handed over or closed. */
static struct MHD_Response *make_response(const struct origin_resp *rs, int fd, bool head)
{
	struct MHD_Response *resp = make_body(rs, fd, head);

	if (fd >= 0 && (!resp || !rs->file || head))
		close(fd);
	if (!resp)
		return NULL;
	if (rs->text)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"text/plain; charset=utf-8");
	for (size_t i = 0; i < rs->nh; i++)
		MHD_add_response_header(resp, rs->h[i].name, rs->h[i].value);
	return resp;
}

static long long body_bytes(const struct origin_resp *rs, const char *method)
{
	if (strcmp(method, "HEAD") == 0 || rs->status == 204 || rs->status == 304)
		return 0;
	if (rs->file)
		return (long long)rs->length;
	return rs->text ? (long long)strlen(rs->text) + 1 : 0;
}

static void note_request(struct origin_rq *r, struct MHD_Connection *c, const char *method)
{
	const char *host = header(c, MHD_HTTP_HEADER_HOST);

	snprintf(r->method, sizeof r->method, "%s", method);
	if (host && !r->host)
		r->host = strndup(host, 255);
}

static enum MHD_Result answer(struct origin *o, struct MHD_Connection *c, struct origin_rq *r,
			      const char *method, const char *version)
{
	struct origin_req rq = {
		.method = method,
		.target = r->uri,
		.version = version,
		.host = header(c, MHD_HTTP_HEADER_HOST),
		.range = header(c, MHD_HTTP_HEADER_RANGE),
		.if_none_match = header(c, MHD_HTTP_HEADER_IF_NONE_MATCH),
		.if_modified_since = header(c, MHD_HTTP_HEADER_IF_MODIFIED_SINCE),
		.if_range = header(c, MHD_HTTP_HEADER_IF_RANGE),
	};
	struct origin_resp rs;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int fd;

	note_request(r, c, method);
	origin_handle(o->conf, o->rootfd, &rq, &rs, &fd);
	resp = make_response(&rs, fd, strcmp(method, "HEAD") == 0);
	if (!resp) {
		r->status = 500;
		r->note = "cannot build response";
		return httpd_respond_text(c, 500, http_reason(500));
	}
	r->status = rs.status;
	r->note = rs.note;
	r->bytes = body_bytes(&rs, method);
	ret = MHD_queue_response(c, (unsigned)rs.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static bool known_method(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct origin_rq *r = *req_cls;

	(void)url;
	(void)upload_data;
	if (!r)
		return MHD_NO; /* out of memory in on_uri: drop the connection */
	if (r->status || *upload_data_size) { /* answered, or a body: discard it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* libmicrohttpd 0.9.75 closes the connection after an answer queued in
	 * the first call (before any body was read): wait for the second call,
	 * except for a method we refuse anyway, whose body we do not want. */
	if (!r->called && known_method(method)) {
		r->called = true;
		return MHD_YES;
	}
	return answer(cls, c, r, method, version);
}

static const char *tls_version(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_PROTOCOL);

	if (!ci)
		return NULL;
	switch (ci->protocol) {
	case GNUTLS_TLS1_2: return "TLSv1.2";
	case GNUTLS_TLS1_3: return "TLSv1.3";
	default: return "TLS";
	}
}

/* The status libmicrohttpd queued itself (a request it refused), or -1. */
static int queued_status(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);

	return ci ? (int)ci->http_status : -1;
}

static const char *termination_note(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK: return NULL;
	case MHD_REQUEST_TERMINATED_WITH_ERROR: return "terminated with error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR: return "read error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client abort";
	default: return "terminated";
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct origin *o = cls;
	struct origin_rq *r = *req_cls;
	char peer[80];
	bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	struct access_entry e = { .status = -1, .bytes = -1 };

	if (!r)
		return;
	e.peer = httpd_peer(c, peer, sizeof peer);
	e.method = r->method[0] ? r->method : NULL;
	e.host = r->host;
	e.uri = r->uri;
	e.status = r->status ? r->status : queued_status(c);
	e.bytes = done ? r->bytes : -1;
	e.dur_us = now_us() - r->start_us;
	e.tls = tls_version(c);
	e.note = done ? r->note : termination_note(toe);
	if (!r->status && e.status > 0)
		e.note = "refused by libmicrohttpd";
	access_log_write(&o->log, &e);
	free(r->host);
	free(r->uri);
	free(r);
	*req_cls = NULL;
}

int origin_new(const struct origin_conf *c, struct origin **out, char *err, size_t errlen)
{
	struct origin *o = calloc(1, sizeof *o);

	if (!o)
		return CDNI_ENOMEM;
	o->conf = c;
	o->rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->rootfd < 0) {
		snprintf(err, errlen, "root: cannot open '%s'", c->root);
		goto fail;
	}
	if (access_log_open(&o->log, c->access_log)) {
		snprintf(err, errlen, "access_log: cannot open '%s'", c->access_log);
		goto fail;
	}
	*out = o;
	return 0;
fail:
	if (o->rootfd >= 0)
		close(o->rootfd);
	free(o);
	return CDNI_ECONFIG;
}

int origin_start(struct origin *o, char *ready, size_t rlen, char *err, size_t errlen)
{
	const struct MHD_OptionItem extra[] = {
		{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, o },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct httpd_opts opts = {
		.handler = on_request,
		.handler_cls = o,
		.completed = on_completed,
		.completed_cls = o,
		.threads = (unsigned)o->conf->threads,
		.connection_limit = (unsigned)o->conf->connection_limit,
		.timeout_s = (unsigned)o->conf->timeout,
		.extra = extra,
	};

	if (rlen)
		ready[0] = '\0';
	if (httpd_start_all(&o->hs, o->conf->listen.v, o->conf->listen.n, &opts, ready, rlen, err,
			    errlen))
		return CDNI_ECONFIG;
	o->nhs = o->conf->listen.n;
	return 0;
}

void origin_stop(struct origin *o)
{
	httpd_stop_all(o->hs, o->nhs);
	o->hs = NULL;
	o->nhs = 0;
}

void origin_free(struct origin *o)
{
	if (!o)
		return;
	origin_stop(o);
	access_log_close(&o->log);
	close(o->rootfd);
	free(o);
}
