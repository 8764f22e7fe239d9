/* cdni-dcdn — the socket-free part of the request pipeline:
 *
 *   parse   method, request target and Host checked; cache key built
 *   policy  hooks run in order; each may refuse the request or rewrite the
 *           cache key and the target fetched upstream (URI signing strips
 *           its token from the key; a redirecting CDN answers 3xx)
 *   lookup  (cache.h)
 *   fill    (fill.h)
 *   respond req_plan: status, byte range and validators of the answer from
 *           what the object says and what the request asks (HEAD, Range,
 *           If-None-Match, If-Modified-Since, If-Range)
 *
 * edge.c drives these with libmicrohttpd. */
#ifndef CDNI_DCDN_REQ_H
#define CDNI_DCDN_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "dcdn/cache.h"
#include "urisign/urisign.h"

#define REQ_TARGET_MAX 4096
#define REQ_HOST_MAX 256
#define REQ_KEY_MAX (REQ_HOST_MAX + REQ_TARGET_MAX)

struct req_info {
	const char *method;
	bool head;
	char host[REQ_HOST_MAX];           /* lowercased Host, "" when none was sent */
	char target[REQ_TARGET_MAX];       /* path?query as received */
	char key[REQ_KEY_MAX];             /* cache key: host (no port) + target */
	char fetch_target[REQ_TARGET_MAX]; /* what is asked of the upstream */

	/* Set by the edge for the policy hooks. */
	const char *scheme;          /* "http" or "https" */
	char client_ip[64];          /* the client's address, no port */
	const char *cookie;          /* the Cookie header, or NULL */
	const uint8_t *spki_sha256;  /* SHA-256 of the SPKI of the certificate this
					listener presents; NULL over http */
	long long now;               /* Unix time of the request */

	/* Left by the hooks for the answer and the access log (req_reset). */
	char usign_code[4];          /* RFC 9246 s-uri-signing ("200", "404"); "" */
	char usign_reason[256];      /* s-uri-signing-deny-reason; "" */
	char note[320];              /* text of a refusal (the verdict's reason) */
	char *set_cookie;            /* a Set-Cookie for the answer (renewal) */
	char *location_param;        /* "NAME=TOKEN" for the query of a Location the
					answer carries (renewal by query string) */
	struct us_verdict *usign_vd; /* the token URI signing accepted, for later
					hooks (re-signing for the next hop); NULL */
	char *location;              /* a Location a hook answers with (its verdict
					points here) */
};

/* Empty the hooks' outputs of a struct whose pointers are garbage (a new
 * connection) / of one in use (each request; frees them). */
void req_init(struct req_info *ri);
void req_reset(struct req_info *ri);

/* Location with param added to its query ("?p" or "&p", before a
 * fragment). Returns 0 or CDNI_ENOMEM (b's sticky error). */
int req_location_param(const char *location, const char *param, struct buf *b);

/* A policy's answer when it refuses a request. */
struct req_verdict {
	int status;           /* 4xx/3xx to answer */
	const char *reason;   /* short text for the body and the access log */
	const char *location; /* for 3xx, or NULL */
};

/* A policy hook: 0 to go on (it may rewrite ri->key and ri->fetch_target),
 * or 1 with v filled to answer at once. */
typedef int (*req_hook_fn)(void *cls, struct req_info *ri, struct req_verdict *v);

struct req_hook {
	const char *name;
	req_hook_fn fn;
	void *cls;
};

/* What arrived: the request line and the Host header(s). */
struct req_in {
	const char *method;
	const char *version; /* "HTTP/1.1", "HTTP/1.0" */
	const char *target;  /* as sent */
	const char *host;    /* the (first) Host header, or NULL */
	unsigned hosts;      /* how many Host headers came */
};

/* Check and copy the request into ri. The key is the Host without its port,
 * then the target: the same for GET and HEAD, for http and https, and for
 * every listener. An absolute-form target's authority stands for Host.
 * Returns 0, or the status to answer (400 bad target or Host, or an HTTP/1.1
 * request without exactly one Host; 405 method; 414 target too long) with
 * *reason set. */
int req_parse(struct req_info *ri, const struct req_in *in, const char **reason);

/* Run the hooks in order; 0 when all let the request through, else 1 with v
 * set by the hook that stopped it. */
int req_policy(const struct req_hook *hooks, size_t n, struct req_info *ri, struct req_verdict *v);

struct req_cond {
	const char *range;
	const char *if_range;
	const char *if_none_match;
	const char *if_modified_since;
};

struct req_plan {
	int status;            /* to send */
	bool body;             /* a body follows (not HEAD, 304, 416) */
	uint64_t first;        /* first body byte */
	uint64_t len;          /* bytes to send, or CACHE_SIZE_UNKNOWN (to the end) */
	char content_range[80];/* for 206 and 416, else "" */
};

/* What to answer from an object with meta m. */
void req_plan(const struct cache_meta *m, const struct req_cond *rc, bool head,
	      struct req_plan *p);

/* The status for a fill that failed before the headers came: 504 on a
 * deadline, 503 while shutting down, else 502. */
int req_error_status(int err);

#endif
