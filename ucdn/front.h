/* cdni-ucdn — internals shared by the libmicrohttpd glue (front.c) and the
 * origin path (proxy.c). */
#ifndef CDNI_UCDN_FRONT_H
#define CDNI_UCDN_FRONT_H

#include <stdatomic.h>
#include <stdbool.h>

#include <microhttpd.h>

#include "common/accesslog.h"
#include "common/buf.h"
#include "common/httpd.h"
#include "redirect/route.h"
#include "ucdn/rewrite.h"
#include "ucdn/sign.h"
#include "ucdn/ucdn.h"

struct ucdn {
	const struct ucdn_conf *cf;
	struct route_policy *policy;
	struct ucdn_sign *sign;  /* RFC 9246 signing and verification; NULL: none */
	struct rw_policy *rw;    /* rewriting and API policy; NULL: none */
	struct ask *ask;         /* RFC 7975 asking; NULL: none */
	struct access_log log;
	bool log_on;
	struct httpd *hs;
	size_t nh;
	struct proxy_pool *pool; /* origin workers, with an epoll pool only */
	atomic_int cancel;       /* set when stopping: origin fetches give up */
	atomic_int jobs;         /* fetches handed to the pool and not yet answered */
	atomic_ulong next_id;
};

struct job;
struct proxy_pool;

/* One per client connection (libmicrohttpd's socket context), reused by each
 * request on it, so the redirect path allocates nothing of its own beyond the
 * Location's first growth. */
struct conn {
	struct ucdn *u;
	unsigned long id;     /* request id, for log context */
	long long t0;         /* request start, monotonic us */
	bool headers_seen;    /* the handler was called once for this request */
	bool raw_long;        /* the request target did not fit in raw */
	const char *scheme;   /* "http" / "https" */
	const char *tls;      /* "TLSv1.3" ... or NULL */
	char peer[64];
	struct buf out;       /* Location, or the escaped origin target */
	struct buf up;        /* origin URL of the last proxied request */
	struct job *job;      /* origin fetch in progress (connection suspended) */
	struct ucdn_sign_res sres; /* URI signing outcome of the request (log, Location) */
	char rwnote[96];      /* what rewriting did, for the access log */
	char asknote[96];     /* which dCDN answered the redirection interface */
	size_t raw_len;
	char raw[ROUTE_MAX_TARGET + 2]; /* request target as received; last */
};

/* What a request produced, for the access log. */
struct outcome {
	int status;
	long long bytes;
	const char *location;
	const char *upstream;
	const char *note;
	bool pending; /* handed to an origin worker: no response yet */
};

/* Serve a request from the origin: fetch cf->origin + target, answer with
 * the origin's status, headers and (buffered) body, or 502/503/504. With an
 * origin pool the connection is suspended (o->pending) and proxy_finish
 * answers when the handler is called again after the fetch. */
enum MHD_Result proxy_serve(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
			    const char *method, const char *target, struct outcome *o);
enum MHD_Result proxy_finish(struct conn *k, struct MHD_Connection *c, struct outcome *o);
void proxy_job_free(struct job *j);

/* n origin workers; stop drains and joins them (before the daemons stop). */
int proxy_pool_new(struct proxy_pool **out, size_t n);
void proxy_pool_stop(struct proxy_pool *p);
void proxy_pool_free(struct proxy_pool *p);

/* Queue a response with a static or copied text body plus headers
 * (NULL-terminated name, value pairs). */
enum MHD_Result front_respond(struct MHD_Connection *c, int status, const char *body,
			      const char *const *headers);

#endif
