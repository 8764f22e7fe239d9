/* cdni-ucdn — the origin path: fetch the request from the origin with
 * libcurl (common/upstream.h) and answer with its status, the headers a cache
 * needs, and its body.
 *
 * The body is buffered (up to origin_max_body) and then answered, so a client
 * never sees a half-relayed response with a 200 status line when the origin
 * fails midway: it gets 502 or 504 instead.
 *
 * With a thread per connection the fetch runs in the connection's thread.
 * With an epoll pool it must not block a pool thread (every connection on it
 * would wait), so the connection is suspended and the fetch handed to a
 * small pool of origin workers, which resume it when done; the access handler
 * is then called again and answers (proxy_finish). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "common/upstream.h"
#include "ucdn/front.h"

/* Response headers passed from the origin to the client. Content-Length is
 * set by libmicrohttpd from the body (and from the origin's for HEAD). */
static const char *const pass_headers[] = {
	"Content-Type", "ETag", "Last-Modified", "Cache-Control", "Content-Range",
	"Accept-Ranges", "Expires", "Vary", "Content-Encoding", "Location", NULL
};
#define NPASS (sizeof pass_headers / sizeof pass_headers[0] - 1)

/* Request headers forwarded from the client to the origin. */
static const char *const fwd_headers[] = {
	"Range", "If-Range", "If-None-Match", "If-Modified-Since", NULL
};
#define NFWD (sizeof fwd_headers / sizeof fwd_headers[0] - 1)

struct job {
	struct job *next;
	struct ucdn *u;
	struct ucdn_rw *rw; /* rewriting this manifest or page (ucdn/rewrite.c), or NULL */
	bool pooled;    /* counted in u->jobs */
	struct conn *k;
	struct MHD_Connection *c;
	bool head;
	int status;     /* the origin's */
	long long clen; /* the origin's Content-Length, -1 when absent */
	int rc;         /* of upstream_fetch */
	struct buf body;
	struct buf lines; /* forwarded header lines, NUL-separated */
	const char *hdrs[NFWD + 1];
	char *values[NPASS];
	char err[256];
};

struct proxy_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	bool stopping;
	size_t n;
	pthread_t th[];
};

static long long parse_length(const char *s)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	return *end == '\0' && v >= 0 ? v : -1;
}

static int on_headers(void *cls, int status, const struct upstream_header *h, size_t n)
{
	struct job *j = cls;

	j->status = status;
	j->clen = parse_length(upstream_header_get(h, n, "Content-Length"));
	if ((!j->head || j->rw) && j->body.limit && j->clen > (long long)j->body.limit)
		return CDNI_EOVERFLOW;
	if (j->rw && ucdn_rw_headers(j->rw, status, upstream_header_get(h, n, "Content-Type")))
		return 0; /* a rewritten answer has headers of its own */
	for (size_t i = 0; i < NPASS; i++) {
		const char *v = upstream_header_get(h, n, pass_headers[i]);
		if (v && http_header_value_safe(v) && !(j->values[i] = strdup(v)))
			return CDNI_ENOMEM;
	}
	return 0;
}

static int on_data(void *cls, const void *data, size_t len)
{
	struct job *j = cls;

	if (ucdn_rw_active(j->rw))
		return ucdn_rw_data(j->rw, data, len);
	buf_append(&j->body, data, len);
	return j->body.err;
}

/* "Name: value" lines for the forwarded request headers. */
static void forward_headers(struct job *j)
{
	size_t at[NFWD], n = 0;

	for (size_t i = 0; i < NFWD; i++) {
		const char *v = MHD_lookup_connection_value(j->c, MHD_HEADER_KIND, fwd_headers[i]);
		if (!v || !http_header_value_safe(v))
			continue;
		at[n++] = j->lines.len;
		buf_printf(&j->lines, "%s: %s", fwd_headers[i], v);
		buf_putc(&j->lines, '\0');
	}
	for (size_t i = 0; i < n && !j->lines.err; i++) /* data is final now */
		j->hdrs[i] = j->lines.data + at[i];
	j->hdrs[n] = NULL;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->pooled)
		atomic_fetch_sub(&j->u->jobs, 1);
	ucdn_rw_free(j->rw);
	for (size_t i = 0; i < NPASS; i++)
		free(j->values[i]);
	buf_free(&j->body);
	buf_free(&j->lines);
	free(j);
}

void proxy_job_free(struct job *j)
{
	job_free(j);
}

/* Everything a fetch needs from the request, taken while the connection is
 * live; the origin URL goes to k->up (it stays for the access log). */
static struct job *job_new(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
			   const char *method, const char *target)
{
	struct job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->u = u;
	j->k = k;
	j->c = c;
	j->head = strcmp(method, "HEAD") == 0;
	j->clen = -1;
	buf_init(&j->body, (size_t)u->cf->origin_max_body);
	buf_init(&j->lines, 0);
	buf_reset(&k->up);
	upstream_url(&k->up, u->cf->origin, target);
	j->rw = ucdn_rw_begin(u, k->scheme, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"),
			      target);
	if (!j->rw) /* a rewritten answer depends on the whole resource: no ranges, no validators */
		forward_headers(j);
	if (k->up.err || j->lines.err) {
		job_free(j);
		return NULL;
	}
	return j;
}

static void job_run(struct job *j)
{
	const struct ucdn_conf *cf = j->u->cf;
	struct upstream_callbacks cb = { on_headers, on_data, j };
	struct upstream_request rq = {
		.url = j->k->up.data, .method = j->head && !j->rw ? "HEAD" : "GET", .headers = j->hdrs,
		.ca_file = cf->origin_ca, .connect_timeout_ms = (long)cf->origin_connect_timeout_ms,
		.timeout_ms = (long)cf->origin_timeout_ms, .cancel = &j->u->cancel,
	};

	if (atomic_load(&j->u->cancel)) {
		j->rc = CDNI_ECLOSED;
		return;
	}
	j->rc = upstream_fetch(&rq, &cb, j->err, sizeof j->err);
}

static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls; (void)pos; (void)buf; (void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static enum MHD_Result relay(struct MHD_Connection *c, struct job *j, struct outcome *o)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0;
	char *data = NULL;

	if ((j->head || j->status == 304) && j->clen >= 0) {
		/* no body, but the origin's Content-Length (RFC 9110 8.6) */
		r = MHD_create_response_from_callback((uint64_t)j->clen, 4096, no_body, NULL, NULL);
	} else if (j->head) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, no_body, NULL, NULL);
	} else {
		data = buf_steal(&j->body, &len);
		r = data ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE) : NULL;
		if (!r)
			free(data);
	}
	if (!r)
		return MHD_NO;
	for (size_t i = 0; i < NPASS; i++)
		if (j->values[i])
			MHD_add_response_header(r, pass_headers[i], j->values[i]);
	o->status = j->status;
	o->bytes = (long long)len;
	ret = ucdn_queue(c, (unsigned)j->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result fail(struct MHD_Connection *c, const struct job *j, struct outcome *o);

/* The rewritten manifest or page (its length only, for HEAD). */
static enum MHD_Result relay_rewritten(struct MHD_Connection *c, struct job *j, struct outcome *o)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;

	if ((j->rc = ucdn_rw_finish(j->rw, &body, &len)) != 0) {
		snprintf(j->err, sizeof j->err, "%s", ucdn_rw_error(j->rw));
		return fail(c, j, o);
	}
	if (!(r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE))) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ucdn_rw_type(j->rw));
	if (ucdn_rw_cache_control(j->rw))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, ucdn_rw_cache_control(j->rw));
	ucdn_rw_note(j->rw, j->k->rwnote, sizeof j->k->rwnote);
	o->status = 200;
	o->bytes = j->head ? 0 : (long long)len;
	o->note = j->k->rwnote;
	ret = ucdn_queue(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* A short text answer (with CORS headers when on). */
static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = ucdn_queue(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* 502, 503 (shutting down) or 504, with a log line naming the reason. */
static enum MHD_Result fail(struct MHD_Connection *c, const struct job *j, struct outcome *o)
{
	char ctx[96], body[160];
	int rc = j->rc;
	int status = rc == CDNI_ETIMEDOUT ? 504 : rc == CDNI_ECLOSED ? 503 : 502;
	const char *what = rc == CDNI_ETIMEDOUT ? "origin timed out"
			 : rc == CDNI_ECLOSED ? "shutting down"
			 : rc == CDNI_EPARSE && j->rw ? "manifest refused"
			 : rc == CDNI_EOVERFLOW ? "origin response larger than origin_max_body"
			 : rc == CDNI_ENOMEM ? "out of memory"
					     : "origin unreachable or answered badly";

	snprintf(ctx, sizeof ctx, "req=%lu peer=%s", j->k->id, j->k->peer);
	log_warn(ctx, "origin %s: %s (%s) -> %d", j->k->up.data, what,
		 *j->err ? j->err : cdni_strerror(rc), status);
	snprintf(body, sizeof body, "%d %s: %s", status, http_reason(status), what);
	o->status = status;
	o->note = what;
	return respond_text(c, (unsigned)status, body);
}

static enum MHD_Result answer(struct MHD_Connection *c, struct job *j, struct outcome *o)
{
	enum MHD_Result ret;

	o->upstream = j->k->up.data; /* lives in the connection until its next request */
	if (j->rc == CDNI_EPARSE && j->rw) /* the rewriter refused the body midway */
		snprintf(j->err, sizeof j->err, "%s", ucdn_rw_error(j->rw));
	ret = j->rc ? fail(c, j, o) : ucdn_rw_active(j->rw) ? relay_rewritten(c, j, o) : relay(c, j, o);
	job_free(j);
	return ret;
}

static enum MHD_Result unavailable(struct MHD_Connection *c, struct outcome *o, const char *why)
{
	char body[128];

	snprintf(body, sizeof body, "503 Service Unavailable: %s", why);
	o->status = 503;
	o->note = why;
	return httpd_respond_text(c, 503, body);
}

/* Queue j and suspend its connection, unless the pool is stopping. */
static int pool_submit(struct proxy_pool *p, struct job *j)
{
	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		pthread_mutex_unlock(&p->mu);
		return CDNI_EBUSY;
	}
	MHD_suspend_connection(j->c); /* before a worker can resume it */
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

enum MHD_Result proxy_serve(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
			    const char *method, const char *target, struct outcome *o)
{
	struct job *j = job_new(u, k, c, method, target);

	if (!j)
		return unavailable(c, o, "out of memory");
	if (!u->pool) { /* a thread per connection: fetch right here */
		job_run(j);
		return answer(c, j, o);
	}
	k->job = j;
	j->pooled = true;
	atomic_fetch_add(&u->jobs, 1);
	if (pool_submit(u->pool, j)) {
		k->job = NULL;
		job_free(j);
		return unavailable(c, o, "shutting down");
	}
	o->pending = true;
	return MHD_YES;
}

enum MHD_Result proxy_finish(struct conn *k, struct MHD_Connection *c, struct outcome *o)
{
	struct job *j = k->job;

	k->job = NULL;
	return answer(c, j, o);
}

static void *worker(void *arg)
{
	struct proxy_pool *p = arg;
	struct job *j;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		j = p->head;
		if (j && !(p->head = j->next))
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL; /* stopping, and nothing left */
		job_run(j);
		MHD_resume_connection(j->c); /* j now belongs to the connection */
	}
}

int proxy_pool_new(struct proxy_pool **out, size_t n)
{
	struct proxy_pool *p = calloc(1, sizeof *p + n * sizeof p->th[0]);

	if (!p)
		return CDNI_ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (; p->n < n; p->n++)
		if (pthread_create(&p->th[p->n], NULL, worker, p)) {
			proxy_pool_free(p);
			return CDNI_ENOMEM;
		}
	*out = p;
	return 0;
}

/* Let the workers finish what is queued (each resumes its connection),
 * then join them: no connection stays suspended. New submissions are refused. */
void proxy_pool_stop(struct proxy_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (; p->n > 0; p->n--)
		pthread_join(p->th[p->n - 1], NULL);
}

void proxy_pool_free(struct proxy_pool *p)
{
	if (!p)
		return;
	proxy_pool_stop(p);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
