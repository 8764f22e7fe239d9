/* cdni — RFC 7975 redirection interface client: one POST of a redirection
 * request to a dCDN's RI URI with a deadline, its answer decoded. Built on
 * common/upstream.h (libcurl, a kept-alive handle per thread), so safe from
 * many threads at once; upstream_global_init() must have run.
 *
 *   struct rri_client c = { .url = "http://127.0.0.1:9000/cdni/rri",
 *                           .timeout_ms = 500 };
 *   struct rri_reply r;
 *   if (rri_client_ask(&c, &rq, &r, err, sizeof err) == 0) {
 *       // r.status: HTTP status; r.rs: decoded response (may be error-only);
 *       // r.max_age: how long the uCDN may reuse it (-1: not at all)
 *       rri_reply_clear(&r);
 *   }
 */
#ifndef CDNI_RRI_CLIENT_H
#define CDNI_RRI_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/conf.h"
#include "redirect/rri.h"

struct rri_client {
	const char *url;        /* the dCDN's RI URI, http:// or https:// */
	const char *ca_file;    /* trust for https; NULL: system store */
	const char *cert_file;  /* client certificate chain (PEM), mutual TLS; may be NULL */
	const char *key_file;   /* its key */
	const char *resolve;    /* optional "host:port:addr" */
	long connect_timeout_ms;/* 0: 1000 */
	long timeout_ms;        /* whole exchange; 0: 2000 */
	const atomic_int *cancel; /* optional, see upstream_request */
};

/* A dCDN's RI as configured: {url, ca, cert, key, resolve,
 * connect_timeout_ms, timeout_ms} (cdni-dcdn's rri.downstream, cdni-dns's
 * dcdns[].rri). */
struct rri_client_conf {
	char *url, *ca, *cert, *key, *resolve;
	long long connect_timeout_ms, timeout_ms;
};

extern const struct conf_item rri_client_conf_table[];

/* A client for cf (whose strings it points to). */
struct rri_client rri_client_from_conf(const struct rri_client_conf *cf);

struct rri_reply {
	int status;             /* HTTP status of the answer */
	long long max_age;      /* seconds the answer may be reused (s-maxage, else
				 * max-age); -1: not reusable (absent, no-store, no-cache) */
	struct rri_response rs; /* the decoded body */
};

/* Encode rq, POST it, decode the answer. Returns 0 when the dCDN answered an
 * RI response (a success, or an error dictionary with a 4xx/5xx status);
 * CDNI_EINVAL when rq does not encode; CDNI_ETIMEDOUT when the deadline
 * passed; CDNI_EUPSTREAM when the dCDN could not be reached or answered
 * something else than an RI response (wrong media type, not decodable, a
 * body over RRI_MAX_BODY) — err says which. out is set only on success. */
int rri_client_ask(const struct rri_client *c, const struct rri_request *rq,
		   struct rri_reply *out, char *err, size_t errlen);
void rri_reply_clear(struct rri_reply *r);

#endif
