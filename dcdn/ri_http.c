/* cdni-dcdn — the redirection interface's HTTP glue (ri.h): libmicrohttpd
 * listeners of their own, POST on path, GET on fci_path, an access-log line
 * per request. The decisions are in ri.c. */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/accesslog.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/httpd.h"
#include "common/log.h"
#include "dcdn/ri.h"
#include "redirect/rri.h"

struct dcdn_ri_server {
	const struct dcdn_ri_conf *c;
	struct dcdn_ri *ri;
	struct httpd *hs;
	size_t nhs;
	struct access_log log;
	char *client_ca_pem;                 /* mutual TLS trust, or NULL */
	struct MHD_OptionItem trust[2];
};

/* One request's state, from its first call to its completion. */
struct ri_req {
	struct buf body;
	bool too_large;
	long long start_us;
	int status;
	long long bytes;
	const char *method, *uri; /* libmicrohttpd's, valid until completion */
	char note[160];
};

static enum MHD_Result send_body(struct MHD_Connection *mc, struct ri_req *q, int status,
				 const char *type, const char *body, size_t len, const char *cc)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	if (cc)
		MHD_add_response_header(r, "Cache-Control", cc);
	ret = MHD_queue_response(mc, (unsigned)status, r);
	MHD_destroy_response(r);
	q->status = status;
	q->bytes = (long long)len;
	return ret;
}

static enum MHD_Result send_answer(struct MHD_Connection *mc, struct ri_req *q,
				   struct dcdn_ri_answer *a)
{
	enum MHD_Result ret = send_body(mc, q, a->status, RRI_MEDIA_RESPONSE, a->body.data ? a->body.data : "",
					a->body.len, a->cache_control);

	snprintf(q->note, sizeof q->note, "rri %s", a->note);
	dcdn_ri_answer_clear(a);
	return ret;
}

static enum MHD_Result on_post(struct dcdn_ri_server *s, struct MHD_Connection *mc,
			       struct ri_req *q, const char *data, size_t *size)
{
	struct dcdn_ri_answer a;

	if (*size) { /* a piece of the body */
		if (!q->too_large && q->body.len + *size > RRI_MAX_BODY)
			q->too_large = true;
		if (!q->too_large)
			buf_append(&q->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (q->too_large || q->body.err)
		dcdn_ri_too_large(s->ri, &a);
	else
		dcdn_ri_handle(s->ri, MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type"),
			       q->body.data, q->body.len, &a);
	return send_answer(mc, q, &a);
}

static enum MHD_Result refuse(struct MHD_Connection *mc, struct ri_req *q, int status,
			      const char *allow)
{
	const char *text = status == 404 ? "not found\n" : "method not allowed\n";
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(mc, (unsigned)status, r);
	MHD_destroy_response(r);
	q->status = status;
	q->bytes = (long long)strlen(text);
	return ret;
}

/* A client certificate the configured CA verifies (GnuTLS checked it
 * against the trust libmicrohttpd was given). */
static bool client_verified(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	unsigned status = 0;

	if (!ci || !ci->tls_session)
		return false;
	if (gnutls_certificate_type_get((gnutls_session_t)ci->tls_session) != GNUTLS_CRT_X509)
		return false;
	return gnutls_certificate_verify_peers2((gnutls_session_t)ci->tls_session, &status) == 0 &&
	       status == 0;
}

static enum MHD_Result forbid(struct dcdn_ri_server *s, struct MHD_Connection *mc,
			      struct ri_req *q)
{
	struct dcdn_ri_answer a;

	dcdn_ri_refuse(s->ri, &a, 403, "client certificate missing or not verified");
	return send_answer(mc, q, &a);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **req_cls)
{
	struct dcdn_ri_server *s = cls;
	struct ri_req *q = *req_cls;
	const char *cl;
	size_t len;

	(void)version;
	if (!q) {
		if (!(q = calloc(1, sizeof *q)))
			return MHD_NO;
		buf_init(&q->body, RRI_MAX_BODY + 1);
		q->start_us = now_us();
		q->method = method;
		q->uri = url;
		*req_cls = q;
		cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > RRI_MAX_BODY)
			q->too_large = true;
		return MHD_YES;
	}
	if (q->status) { /* answered already; swallow the rest */
		*size = 0;
		return MHD_YES;
	}
	if (s->client_ca_pem && !client_verified(mc)) {
		if (*size) {
			*size = 0;
			return MHD_YES;
		}
		return forbid(s, mc, q);
	}
	if (strcmp(url, s->c->path) == 0 && strcmp(method, "POST") == 0)
		return on_post(s, mc, q, data, size);
	if (*size) { /* a body nobody reads: dropped, answered at its end */
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(url, s->c->path) == 0)
		return refuse(mc, q, 405, "POST");
	if (strcmp(url, s->c->fci_path) == 0) {
		const char *fci = dcdn_ri_fci(s->ri, &len);
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return refuse(mc, q, 405, "GET, HEAD");
		snprintf(q->note, sizeof q->note, "fci");
		return send_body(mc, q, 200, "application/json", fci, len, "max-age=60");
	}
	return refuse(mc, q, 404, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct dcdn_ri_server *s = cls;
	struct ri_req *q = *req_cls;
	char peer[80];
	struct access_entry e = { .bytes = -1, .dur_us = -1 };

	if (!q)
		return;
	(void)toe;
	e.peer = httpd_peer(mc, peer, sizeof peer);
	e.method = q->method;
	e.uri = q->uri;
	e.host = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Host");
	e.status = q->status;
	e.bytes = q->bytes;
	e.dur_us = now_us() - q->start_us;
	e.note = q->note[0] ? q->note : NULL;
	access_log_write(&s->log, &e);
	buf_free(&q->body);
	free(q);
	*req_cls = NULL;
}

/* Each listener; TLS ones ask for a client certificate with client_ca. */
static int start_listeners(struct dcdn_ri_server *s, struct httpd_opts *o, char *ready,
			   size_t rlen, char *err, size_t errlen)
{
	const struct listen_conf *lcs = s->c->listen.v;
	size_t used = strlen(ready);

	s->trust[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, s->client_ca_pem };
	s->trust[1] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	if (!(s->hs = calloc(s->c->listen.n, sizeof *s->hs)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < s->c->listen.n; i++) {
		o->extra = lcs[i].tls && s->client_ca_pem ? s->trust : NULL;
		if (httpd_start(&s->hs[i], &lcs[i], o, err, errlen))
			return CDNI_ECONFIG;
		s->nhs = i + 1;
		if (used < rlen)
			used += (size_t)snprintf(ready + used, rlen - used, "%s%s=%s", used ? " " : "",
						 s->hs[i].name, s->hs[i].bound);
	}
	return 0;
}

int dcdn_ri_server_start(const struct dcdn_ri_conf *c, const char *access_log,
			 struct dcdn_ri_server **out, char *ready, size_t rlen, char *err,
			 size_t errlen)
{
	struct dcdn_ri_server *s = calloc(1, sizeof *s);
	struct httpd_opts o = { .handler = on_request, .completed = on_completed,
				.threads = (unsigned)c->threads };

	if (!s)
		return CDNI_ENOMEM;
	s->c = c;
	o.handler_cls = o.completed_cls = s;
	if (dcdn_ri_new(c, &s->ri, err, errlen))
		goto fail;
	if (access_log_open(&s->log, access_log)) {
		snprintf(err, errlen, "access_log: cannot open '%s'", access_log);
		goto fail;
	}
	if (c->client_ca && file_read_all(c->client_ca, 1 << 20, &s->client_ca_pem, NULL)) {
		snprintf(err, errlen, "rri.client_ca: cannot read '%s'", c->client_ca);
		goto fail;
	}
	if (start_listeners(s, &o, ready, rlen, err, errlen))
		goto fail;
	log_info("rri", "redirection interface %s as %s, capabilities at %s", c->path, c->cdn_id,
		 c->fci_path);
	*out = s;
	return 0;
fail:
	dcdn_ri_server_stop(s);
	return CDNI_ECONFIG;
}

void dcdn_ri_server_stop(struct dcdn_ri_server *s)
{
	if (!s)
		return;
	httpd_stop_all(s->hs, s->nhs);
	access_log_close(&s->log);
	free(s->client_ca_pem);
	dcdn_ri_free(s->ri);
	free(s);
}
