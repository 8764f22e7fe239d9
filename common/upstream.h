/* cdni — HTTP(S) fetches from an upstream (origin, uCDN) with libcurl.
 *
 * Blocking, one call per request, safe from many threads at once; each thread
 * keeps one curl handle so connections to an upstream are reused (keep-alive).
 * Every fetch has a connect deadline and a whole-transfer deadline. Redirects
 * are not followed (a 3xx is an answer like any other). Only http and https.
 *
 *   upstream_global_init();            // once, in main, before threads
 *   upstream_fetch(&req, &cb, err, sizeof err);
 *   upstream_global_cleanup();         // once, at exit
 */
#ifndef CDNI_UPSTREAM_H
#define CDNI_UPSTREAM_H

#include <stdatomic.h>
#include <stddef.h>

#include "common/buf.h"

#define UPSTREAM_MAX_HEADERS 64

struct upstream_header {
	const char *name;  /* as received */
	const char *value; /* trimmed */
};

struct upstream_request {
	const char *url;
	const char *method;         /* "GET" (default), "HEAD", or "POST" with body */
	const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
	const char *ca_file;        /* trust for https upstreams; NULL: system store */
	const char *resolve;        /* optional "host:port:addr" (like curl --resolve) */
	long connect_timeout_ms;    /* 0: 2000 */
	long timeout_ms;            /* whole transfer; 0: 10000 */
	/* Optional: when *cancel becomes non-zero the fetch is abandoned and
	 * returns CDNI_ECLOSED (checked whenever data moves and at least about
	 * once a second while waiting), e.g. for a daemon shutting down. */
	const atomic_int *cancel;
	/* Optional: a request body, sent as POST (method "POST"; the
	 * Content-Type goes in headers). body_len bytes, may hold NULs. */
	const void *body;
	size_t body_len;
	/* Optional: a client certificate (PEM chain) and key, for mutual TLS. */
	const char *cert_file;
	const char *key_file;
};

struct upstream_callbacks {
	/* Once, when the final status line and headers are in. Return 0 to go on,
	 * a negative code to abort the transfer (upstream_fetch returns it). */
	int (*on_headers)(void *cls, int status, const struct upstream_header *h, size_t n);
	/* For each piece of the body. Same return convention. */
	int (*on_data)(void *cls, const void *data, size_t len);
	void *cls;
};

int upstream_global_init(void);
void upstream_global_cleanup(void);

/* Returns 0 when the whole response arrived; CDNI_ETIMEDOUT when a deadline
 * passed; CDNI_EUPSTREAM when the upstream could not be reached or answered
 * badly (err says why); CDNI_ECLOSED when cancelled; or the negative code a
 * callback returned. */
int upstream_fetch(const struct upstream_request *r, const struct upstream_callbacks *cb,
		   char *err, size_t errlen);

/* Value of a header (case-insensitive name) or NULL. */
const char *upstream_header_get(const struct upstream_header *h, size_t n, const char *name);

/* base ("http://host:port" or "http://host:port/prefix") + target ("/path?q")
 * into out, with no doubled slash. */
void upstream_url(struct buf *out, const char *base, const char *target);

#endif
