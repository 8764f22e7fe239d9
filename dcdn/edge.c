#include "dcdn/edge.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/accesslog.h"
#include "common/buf.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/http.h"
#include "common/httpd.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/upstream.h"
#include "dcdn/fill.h"
#include "dcdn/tlsedge.h"
#include "dcdn/onward.h"
#include "dcdn/usign.h"

#define EDGE_MAX_HOOKS 8
#define STREAM_BLOCK (64 * 1024)
#define CONN_MEMORY (32 * 1024)

/* What a request needs to know of the listener it came in on. */
struct listener {
	bool tls;
	bool keyless; /* tls with a cert and no key: tlsedge.h */
	bool has_spki;
	uint8_t spki[32]; /* SHA-256 of the SPKI of its certificate (cdnicb) */
};

struct edge {
	const struct dcdn_conf *conf;
	struct listener *lis; /* one per conf->listen entry, like hs */
	struct usign *usign;  /* RFC 9246 hook state; NULL: not configured */
	struct onward *onward; /* delegating onwards; NULL: not configured */
	struct tlsedge *tls;  /* keyless key and session tickets */
	struct cache *cache;
	struct fillpool *fills;
	struct access_log alog;
	bool logging;
	bool blocking; /* a thread per connection: wait by blocking, not suspending */
	long long wait_us; /* longest a blocked thread waits for a fill to move */
	struct httpd *hs;
	struct req_hook hooks[EDGE_MAX_HOOKS];
	size_t nhooks;
};

/* PH_NEW: headers in (first call); PH_START: the request is complete (a
 * response queued any earlier makes libmicrohttpd close the connection). */
enum phase { PH_IDLE, PH_NEW, PH_START, PH_WAIT, PH_DONE };

/* Per connection, reused by each request on it (no allocation per request). */
struct conn {
	struct edge *e;
	struct MHD_Connection *mc;
	const struct listener *li;
	enum phase phase;
	bool too_long;  /* request target did not fit raw */
	bool initiator; /* this request started the fill it waits for */
	long long t0;
	int status;
	long long bytes;
	const char *cache; /* "HIT" / "MISS" */
	const char *note;
	struct cache_reader rd; /* the object waited for */
	struct buf upstream;    /* URL fetched on a miss */
	char raw[REQ_TARGET_MAX];
	struct req_info ri;
};

/* A body streamed from an object (a miss, or a fill in progress). */
struct stream {
	struct cache_reader rd;
	struct conn *cx;
	struct MHD_Connection *mc;
	bool blocking;
	long long wait_us;
	uint64_t len; /* to send, or CACHE_SIZE_UNKNOWN: to the end */
};

/* ------------------------------------------------------------------ */
/* waiting: suspend/resume in an event loop, block in a thread          */

static void park_suspend(void *mc)
{
	MHD_suspend_connection(mc);
}

static void wake_resume(void *mc)
{
	MHD_resume_connection(mc);
}

/* ------------------------------------------------------------------ */
/* responses                                                            */

/* CORS (the cors key): ours replace an upstream's. */
static void add_cors(struct MHD_Response *r, const struct dcdn_conf *c, bool preflight)
{
	const char *up = MHD_get_response_header(r, "Access-Control-Allow-Origin");
	char *old = up ? strdup(up) : NULL;

	if (old)
		MHD_del_response_header(r, "Access-Control-Allow-Origin", old);
	free(old);
	MHD_add_response_header(r, "Access-Control-Allow-Origin", c->cors_origin);
	if (!MHD_get_response_header(r, "Access-Control-Expose-Headers"))
		MHD_add_response_header(r, "Access-Control-Expose-Headers",
					"Content-Length, Content-Range, ETag, Last-Modified, "
					"Accept-Ranges, Age, X-Cache");
	if (!preflight)
		return;
	MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
	MHD_add_response_header(r, "Access-Control-Allow-Headers",
				"Range, If-None-Match, If-Modified-Since, If-Range");
	MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
}

static enum MHD_Result queue(struct conn *cx, int status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	cx->phase = PH_DONE;
	if (!r)
		return MHD_NO;
	if (cx->e->conf->cors)
		add_cors(r, cx->e->conf, status == 204);
	cx->status = status;
	ret = MHD_queue_response(cx->mc, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct conn *cx, int status, const char *text)
{
	char body[256];
	int n = snprintf(body, sizeof body, "%d %s: %s\n", status, http_reason(status), text);
	struct MHD_Response *r;

	n = n < 0 ? 0 : n >= (int)sizeof body ? (int)sizeof body - 1 : n;
	r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	if (r) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		MHD_add_response_header(r, "Cache-Control", "no-store");
		if (status == 405)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		cx->bytes = cx->ri.head ? 0 : n;
	}
	cx->note = text;
	return queue(cx, status, r);
}

static void unref_cb(void *o)
{
	cache_obj_unref(o);
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	cache_reader_detach(&s->rd);
	free(s);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t got;
	unsigned v;
	int rc;

	if (s->len != CACHE_SIZE_UNKNOWN && s->len - pos < max)
		max = (size_t)(s->len - pos);
	for (;;) {
		rc = cache_reader_read(&s->rd, buf, max, &got, &v);
		if (rc == 0 && got) {
			s->cx->bytes += (long long)got;
			return (ssize_t)got;
		}
		if (rc == CACHE_READ_EOF && s->len == CACHE_SIZE_UNKNOWN)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc != 0) /* failed, or ended short of what the headers promised */
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->blocking) {
			if (cache_reader_wait(&s->rd, v, now_us() + s->wait_us))
				return MHD_CONTENT_READER_END_WITH_ERROR;
		} else if (cache_reader_park(&s->rd, v, park_suspend, s->mc) == 0) {
			return 0; /* suspended; the fill resumes us */
		}
	}
}

/* Never called: a HEAD answer has no body, only its length. */
static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls; (void)pos; (void)buf; (void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static struct MHD_Response *stream_response(struct conn *cx, struct cache_obj *o,
					    const struct req_plan *p)
{
	struct stream *s = calloc(1, sizeof *s);
	struct MHD_Response *r;

	if (!s)
		return NULL;
	s->cx = cx;
	s->mc = cx->mc;
	s->blocking = cx->e->blocking;
	s->wait_us = cx->e->wait_us;
	s->len = p->len;
	s->rd.w.wake = wake_resume;
	s->rd.w.arg = cx->mc;
	cache_reader_attach(&s->rd, o);
	cache_reader_seek(&s->rd, p->first);
	r = MHD_create_response_from_callback(p->len == CACHE_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : p->len,
					      STREAM_BLOCK, stream_read, s, stream_free);
	if (!r)
		stream_free(s);
	return r;
}

/* The body part of the answer: the stored bytes themselves when complete
 * (for HEAD too: libmicrohttpd sends only their length), else a stream from
 * the object as it fills. */
static struct MHD_Response *body_response(struct conn *cx, struct cache_obj *o,
					  const struct req_plan *p)
{
	const unsigned char *body;
	size_t len = 0, n;
	struct MHD_Response *r;

	if (p->status == 416)
		return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (p->status == 304) { /* its Content-Length must be the 200's (RFC 9110 §8.6) */
		const struct cache_meta *m = cache_obj_meta(o);
		return MHD_create_response_from_callback(
			m->length == CACHE_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : m->length, 1, no_body,
			NULL, NULL);
	}
	body = cache_obj_body(o, &len);
	if (!body && !p->body)
		return MHD_create_response_from_callback(
			p->len == CACHE_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : p->len, 1, no_body, NULL, NULL);
	if (!body)
		return stream_response(cx, o, p);
	n = p->len == CACHE_SIZE_UNKNOWN ? len - (size_t)p->first : (size_t)p->len;
	cache_obj_ref(o);
	r = MHD_create_response_from_buffer_with_free_callback_cls(
		n, (void *)(uintptr_t)(body + p->first), unref_cb, o);
	if (!r)
		cache_obj_unref(o);
	cx->bytes = p->body ? (long long)n : 0;
	return r;
}

/* Headers a 304 carries (RFC 9110 §15.4.5). */
static bool kept_in_304(const char *name)
{
	static const char *const keep[] = { "Cache-Control", "Content-Location", "ETag",
					    "Expires", "Vary", "Last-Modified", NULL };

	for (size_t i = 0; keep[i]; i++)
		if (strcasecmp(name, keep[i]) == 0)
			return true;
	return false;
}

/* One stored header; a Location gets a renewed token (URI signing, cdnistt 2). */
static void add_header(struct MHD_Response *r, const struct conn *cx, const char *name,
		       const char *value)
{
	struct buf b;

	if (!cx->ri.location_param || strcasecmp(name, MHD_HTTP_HEADER_LOCATION) != 0) {
		MHD_add_response_header(r, name, value);
		return;
	}
	buf_init(&b, 0);
	if (req_location_param(value, cx->ri.location_param, &b) == 0)
		MHD_add_response_header(r, name, b.data);
	buf_free(&b);
}

static void add_headers(struct MHD_Response *r, struct conn *cx, struct cache_obj *o,
			const struct cache_meta *m, const struct req_plan *p)
{
	char age[24];

	for (size_t i = 0; i < m->nhdrs; i++)
		if ((p->status != 304 || kept_in_304(m->hdrs[i].name)) &&
		    strcasecmp(m->hdrs[i].name, "Accept-Ranges") != 0)
			add_header(r, cx, m->hdrs[i].name, m->hdrs[i].value);
	if (cx->ri.set_cookie)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cx->ri.set_cookie);
	if (p->content_range[0])
		MHD_add_response_header(r, "Content-Range", p->content_range);
	if (m->status == 200 && m->length != CACHE_SIZE_UNKNOWN && p->status != 304)
		MHD_add_response_header(r, "Accept-Ranges", "bytes");
	MHD_add_response_header(r, "X-Cache", cx->cache);
	if (strcmp(cx->cache, "HIT") == 0) {
		snprintf(age, sizeof age, "%lld", cache_obj_age(o, now_us()));
		MHD_add_response_header(r, "Age", age);
	}
}

static enum MHD_Result respond_object(struct conn *cx, struct cache_obj *o)
{
	const struct cache_meta *m = cache_obj_meta(o);
	struct req_cond rc = {
		.range = MHD_lookup_connection_value(cx->mc, MHD_HEADER_KIND, "Range"),
		.if_range = MHD_lookup_connection_value(cx->mc, MHD_HEADER_KIND, "If-Range"),
		.if_none_match = MHD_lookup_connection_value(cx->mc, MHD_HEADER_KIND, "If-None-Match"),
		.if_modified_since =
			MHD_lookup_connection_value(cx->mc, MHD_HEADER_KIND, "If-Modified-Since"),
	};
	struct req_plan p;
	struct MHD_Response *r;

	if (!m)
		return respond_text(cx, 500, "object without headers");
	req_plan(m, &rc, cx->ri.head, &p);
	r = body_response(cx, o, &p);
	if (!r)
		return respond_text(cx, 500, "out of memory");
	add_headers(r, cx, o, m, &p);
	return queue(cx, p.status, r);
}

/* ------------------------------------------------------------------ */
/* the pipeline                                                         */

static enum MHD_Result await_headers(struct conn *cx);

static int start_fill(struct conn *cx, struct cache_obj *o)
{
	int rc;

	buf_reset(&cx->upstream);
	upstream_url(&cx->upstream, cx->e->conf->upstream, cx->ri.fetch_target);
	rc = cx->upstream.err ? cx->upstream.err
			      : fillpool_submit(cx->e->fills, o, cx->upstream.data);
	if (rc)
		cache_obj_fail(o, rc);
	cx->initiator = true;
	cx->cache = "MISS";
	return rc;
}

/* Joined a fetch whose response may not be shared: fetch our own. */
static enum MHD_Result refetch_private(struct conn *cx)
{
	struct cache_obj *o;
	int rc;

	cache_reader_detach(&cx->rd);
	rc = cache_obj_new_private(cx->e->cache, cx->ri.key, &o);
	if (rc)
		return respond_text(cx, req_error_status(rc), cdni_strerror(rc));
	cache_reader_attach(&cx->rd, o);
	cache_obj_unref(o);
	start_fill(cx, o);
	cx->note = "not shareable: own fetch";
	return await_headers(cx);
}

static enum MHD_Result headers_in(struct conn *cx, const struct cache_view *v)
{
	struct cache_obj *o = cx->rd.o;
	const struct cache_meta *m = cache_obj_meta(o);
	enum MHD_Result ret;

	if (v->state == CACHE_S_FAILED && (!m || v->received == 0)) {
		int st = req_error_status(v->err);
		cache_reader_detach(&cx->rd);
		return respond_text(cx, st, st == 504 ? "upstream timed out"
					    : st == 503 ? "shutting down" : "upstream failed");
	}
	if (m && !m->shared && !cx->initiator)
		return refetch_private(cx);
	ret = respond_object(cx, o);
	cache_reader_detach(&cx->rd);
	return ret;
}

/* Wait until the object cx->rd is on has its headers (or failed). */
static enum MHD_Result await_headers(struct conn *cx)
{
	struct cache_view v;

	for (;;) {
		cache_obj_view(cx->rd.o, &v);
		if (v.state != CACHE_S_HEADERS)
			return headers_in(cx, &v);
		if (cx->e->blocking) {
			if (cache_reader_wait(&cx->rd, v.version, now_us() + cx->e->wait_us)) {
				cache_reader_detach(&cx->rd);
				return respond_text(cx, 504, "upstream timed out");
			}
			continue;
		}
		cx->phase = PH_WAIT;
		if (cache_reader_park(&cx->rd, v.version, park_suspend, cx->mc) == 0)
			return MHD_YES; /* suspended; called again once resumed */
	}
}

static enum MHD_Result lookup(struct conn *cx)
{
	struct cache_obj *o;
	enum cache_how how;
	int rc = cache_lookup(cx->e->cache, cx->ri.key, now_us(), &o, &how);
	enum MHD_Result ret;

	if (rc)
		return respond_text(cx, req_error_status(rc), cdni_strerror(rc));
	if (how == CACHE_HIT) {
		cx->cache = "HIT";
		ret = respond_object(cx, o);
		cache_obj_unref(o);
		return ret;
	}
	cache_reader_attach(&cx->rd, o);
	cache_obj_unref(o);
	if (how == CACHE_FILL) {
		start_fill(cx, o);
	} else {
		cx->cache = "HIT";
		cx->note = "joined a fill in progress";
	}
	return await_headers(cx);
}

static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind; (void)value;
	if (strcasecmp(key, "Host") == 0)
		(*(unsigned *)cls)++;
	return MHD_YES;
}

/* What the policy hooks may look at besides the request line and Host. */
static void policy_context(struct conn *cx)
{
	char peer[96];
	const char *colon;

	httpd_peer(cx->mc, peer, sizeof peer);
	colon = strrchr(peer, ':');
	snprintf(cx->ri.client_ip, sizeof cx->ri.client_ip, "%.*s",
		 (int)(colon ? (size_t)(colon - peer) : strlen(peer)), peer);
	cx->ri.scheme = cx->li && cx->li->tls ? "https" : "http";
	cx->ri.spki_sha256 = cx->li && cx->li->has_spki ? cx->li->spki : NULL;
	cx->ri.cookie = MHD_lookup_connection_value(cx->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	cx->ri.now = (long long)time(NULL);
}

static enum MHD_Result begin(struct conn *cx, const char *method, const char *version)
{
	struct req_in in = { .method = method, .version = version, .target = cx->raw,
			     .host = MHD_lookup_connection_value(cx->mc, MHD_HEADER_KIND, "Host") };
	const char *reason = NULL;
	struct req_verdict v;
	struct MHD_Response *r;
	int st;

	cx->cache = "MISS";
	cx->ri.method = method;
	if (cx->e->conf->cors && strcmp(method, "OPTIONS") == 0) { /* a CORS preflight */
		cx->cache = NULL;
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (r)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, OPTIONS");
		return queue(cx, 204, r);
	}
	MHD_get_connection_values(cx->mc, MHD_HEADER_KIND, count_host, &in.hosts);
	st = cx->too_long ? 414 : req_parse(&cx->ri, &in, &reason);
	if (st)
		return respond_text(cx, st, reason ? reason : "request target too long");
	policy_context(cx);
	if (!req_policy(cx->e->hooks, cx->e->nhooks, &cx->ri, &v))
		return lookup(cx);
	cx->cache = NULL; /* refused or redirected by policy: no cache verdict */
	if (!v.location)
		return respond_text(cx, v.status, v.reason ? v.reason : "refused");
	r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, v.location);
	cx->note = v.reason;
	return queue(cx, v.status, r);
}

/* ------------------------------------------------------------------ */
/* libmicrohttpd callbacks                                              */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct conn *cx = *req_cls;

	(void)cls; (void)url; (void)upload;
	if (!cx)
		return httpd_respond_text(mc, 500, "no request state");
	if (*upload_size) { /* a body is never wanted: discard it */
		*upload_size = 0;
		return MHD_YES;
	}
	switch (cx->phase) {
	case PH_NEW: /* refuse other methods at once (and close: no body read) */
		cx->phase = PH_START;
		if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
			return MHD_YES;
		return begin(cx, method, version);
	case PH_START:
		return begin(cx, method, version);
	case PH_WAIT:
		return await_headers(cx);
	default:
		return MHD_YES;
	}
}

/* The request target as sent (libmicrohttpd decodes its own copy). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *cx = ci ? ci->socket_context : NULL;
	size_t len = strlen(uri);

	(void)cls;
	if (!cx)
		return NULL;
	cx->too_long = len >= sizeof cx->raw;
	memcpy(cx->raw, uri, cx->too_long ? 0 : len + 1);
	cx->t0 = now_us();
	cx->phase = PH_NEW;
	cx->initiator = false;
	cx->status = 0;
	cx->bytes = 0;
	cx->cache = NULL;
	cx->note = NULL;
	cx->ri.method = NULL;
	cx->ri.head = false;
	req_reset(&cx->ri);
	buf_reset(&cx->upstream);
	return cx;
}

static const char *tls_name(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_PROTOCOL);

	if (!ci)
		return NULL;
	switch (ci->protocol) { /* enum gnutls_protocol_t */
	case 4: return "TLSv1.2";
	case 5: return "TLSv1.3";
	default: return "TLS";
	}
}

static void log_request(struct conn *cx, enum MHD_RequestTerminationCode toe)
{
	char peer[64];
	struct access_entry a = {
		.peer = httpd_peer(cx->mc, peer, sizeof peer),
		.method = cx->ri.method,
		.host = MHD_lookup_connection_value(cx->mc, MHD_HEADER_KIND, "Host"),
		.uri = cx->too_long ? "(too long)" : cx->raw,
		.status = cx->status,
		.bytes = cx->bytes,
		.dur_us = now_us() - cx->t0,
		.cache = cx->status ? cx->cache : NULL,
		.upstream = cx->upstream.len ? cx->upstream.data : NULL,
		.tls = tls_name(cx->mc),
		.note = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? cx->note : "aborted",
		.urisigning = cx->ri.usign_code[0] ? cx->ri.usign_code : NULL,
		.urisigning_reason = cx->ri.usign_reason[0] ? cx->ri.usign_reason : NULL,
	};

	access_log_write(&cx->e->alog, &a);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *cx = *req_cls;

	(void)cls; (void)mc;
	if (!cx)
		return;
	cache_reader_detach(&cx->rd);
	if (cx->e->logging && cx->phase != PH_IDLE)
		log_request(cx, toe);
	cx->phase = PH_IDLE;
	*req_cls = NULL;
}

/* The listener a connection came in on: by listening socket (with a thread
 * pool the connection belongs to a worker daemon, which shares it). */
static const struct listener *listener_of(const struct edge *e, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_DAEMON);
	const union MHD_DaemonInfo *di, *mi;

	di = ci ? MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_LISTEN_FD) : NULL;
	for (size_t i = 0; di && e->hs && i < e->conf->listen.n; i++) {
		mi = e->hs[i].d ? MHD_get_daemon_info(e->hs[i].d, MHD_DAEMON_INFO_LISTEN_FD) : NULL;
		if (mi && mi->listen_fd == di->listen_fd)
			return &e->lis[i];
	}
	return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct conn *cx = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		const struct listener *li = listener_of(cls, mc);

		if (ci && ci->tls_session) /* before its handshake */
			tlsedge_session_new(((struct edge *)cls)->tls, ci->tls_session,
					    li && li->keyless);
		cx = malloc(sizeof *cx);
		if (!cx)
			return;
		memset(cx, 0, offsetof(struct conn, raw));
		req_init(&cx->ri);
		cx->e = cls;
		cx->mc = mc;
		cx->li = li;
		cx->rd.w.wake = wake_resume;
		cx->rd.w.arg = mc;
		buf_init(&cx->upstream, 0);
		*socket_context = cx;
		return;
	}
	if (cx) {
		cache_reader_detach(&cx->rd);
		buf_free(&cx->upstream);
		req_reset(&cx->ri);
		free(cx);
		*socket_context = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* life cycle                                                           */

/* Per listener: its scheme and the SPKI digest of its certificate. */
static int listeners_new(struct edge *e, char *err, size_t errlen)
{
	const struct listen_conf *lc = e->conf->listen.v;
	char why[256];
	X509 *x;

	if (!(e->lis = calloc(e->conf->listen.n + 1, sizeof *e->lis)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < e->conf->listen.n; i++) {
		e->lis[i].tls = lc[i].tls;
		e->lis[i].keyless = lc[i].tls && !lc[i].key;
		if (!lc[i].tls || !lc[i].cert)
			continue;
		if (!(x = tls_load_cert(lc[i].cert, why, sizeof why))) {
			snprintf(err, errlen, "listen[%zu].cert: %s", i, why);
			return CDNI_ECONFIG;
		}
		e->lis[i].has_spki = tls_spki_sha256(x, e->lis[i].spki) == 0;
		X509_free(x);
	}
	return 0;
}

/* URI signing (dcdn/usign.c) as the first policy hook, then delegating
 * onwards (dcdn/onward.c, which re-signs what URI signing accepted). */
static int usign_start(struct edge *e, char *err, size_t errlen)
{
	int rc = usign_new(&e->conf->uri_signing, &e->usign, err, errlen);

	if (!rc && e->usign)
		rc = edge_add_hook(e, &(struct req_hook){ "uri_signing", usign_hook, e->usign });
	if (!rc)
		rc = onward_new(&e->conf->onward, &e->onward, err, errlen);
	if (!rc && e->onward)
		rc = edge_add_hook(e, &(struct req_hook){ "onward", onward_hook, e->onward });
	return rc;
}

int edge_new(const struct dcdn_conf *conf, struct edge **out, char *err, size_t errlen)
{
	struct edge *e = calloc(1, sizeof *e);
	struct cache_conf cc = { .max_bytes = (size_t)conf->cache_size,
				 .max_object = dcdn_conf_max_object(conf),
				 .default_ttl_s = conf->default_ttl };
	struct fill_conf fc = { .ca_file = conf->upstream_ca, .host = conf->upstream_host,
				.connect_timeout_ms = (long)conf->upstream_connect_timeout_ms,
				.timeout_ms = (long)conf->upstream_timeout_ms,
				.max_threads = (unsigned)conf->upstream_concurrency };

	if (!e || cache_new(&cc, &e->cache) || fillpool_new(&fc, &e->fills)) {
		snprintf(err, errlen, "out of memory");
		edge_free(e);
		return CDNI_ENOMEM;
	}
	e->conf = conf;
	e->blocking = conf->threads == 0;
	e->wait_us = (conf->upstream_timeout_ms + 1000) * 1000LL;
	if (conf->access_log && access_log_open(&e->alog, conf->access_log)) {
		snprintf(err, errlen, "access_log: cannot open '%s'", conf->access_log);
		edge_free(e);
		return CDNI_ECONFIG;
	}
	e->logging = conf->access_log != NULL;
	if (listeners_new(e, err, errlen) || usign_start(e, err, errlen) ||
	    tlsedge_new(&conf->keyless, conf->ticket_key, &e->tls, err, errlen)) {
		edge_free(e);
		return CDNI_ECONFIG;
	}
	*out = e;
	return 0;
}

int edge_reload(struct edge *e, char *err, size_t errlen)
{
	return tlsedge_reload(e->tls, err, errlen);
}

int edge_add_hook(struct edge *e, const struct req_hook *h)
{
	if (e->nhooks == EDGE_MAX_HOOKS)
		return CDNI_EOVERFLOW;
	e->hooks[e->nhooks++] = *h;
	return 0;
}

int edge_start(struct edge *e, char *ready, size_t rlen, char *err, size_t errlen)
{
	struct MHD_OptionItem extra[] = {
		{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL },
		{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, e },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct httpd_opts o = {
		.handler = on_request, .handler_cls = e, .completed = on_completed,
		.threads = (unsigned)e->conf->threads,
		.connection_limit = (unsigned)e->conf->connection_limit,
		.timeout_s = (unsigned)e->conf->timeout,
		.flags = e->blocking ? 0 : MHD_ALLOW_SUSPEND_RESUME,
		.extra = extra,
		.cert_callback = tlsedge_cert_callback(e->tls),
	};

	ready[0] = '\0';
	return httpd_start_all(&e->hs, e->conf->listen.v, e->conf->listen.n, &o, ready, rlen, err,
			       errlen);
}

void edge_free(struct edge *e)
{
	struct cache_stats st;

	if (!e)
		return;
	if (e->cache)
		cache_close(e->cache); /* no new fills; fills in progress fail */
	fillpool_free(e->fills);      /* cancel and join: every waiter is woken */
	httpd_stop_all(e->hs, e->hs ? e->conf->listen.n : 0);
	if (e->cache) {
		cache_stats(e->cache, &st);
		if (st.live != st.objects)
			log_warn(NULL, "%zu cache objects still referenced at exit",
				 st.live - st.objects);
		cache_free(e->cache);
	}
	access_log_close(&e->alog);
	tlsedge_free(e->tls);
	usign_free(e->usign);
	onward_free(e->onward);
	free(e->lis);
	free(e);
}
