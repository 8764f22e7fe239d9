/* cdni-ucdn — manifest and page rewriting on the origin path (draft §3.2,
 * §3.2.1), the API mode (§3.3) and CORS: the glue between the proxy
 * (proxy.c), the front door (front.c) and the rewriting library
 * (redirect/rewrite.h). */
#ifndef CDNI_UCDN_REWRITE_H
#define CDNI_UCDN_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "redirect/rewrite.h"

struct ucdn;
struct ucdn_conf;
struct conn;
struct outcome;

/* The rewriting policy from cf->rewrite (the signing key falls back to
 * uri_signing's key, kid, issuer and audience). *out is NULL when nothing
 * is rewritten and there is no API. Messages name the key path. */
int ucdn_rewrite_policy(const struct ucdn_conf *cf, struct rw_policy **out, char *err,
			size_t errlen);
/* The checks -n makes: the policy compiles, api_path and cors_origin. */
int ucdn_rewrite_check(const struct ucdn_conf *cf, char *err, size_t errlen);

/* ---- one proxied request ---- */

struct ucdn_rw;

/* A rewriter for a request whose path is under a rewritten prefix with a
 * rewritten format (else NULL: proxy as usual). host: the Host header;
 * target: the origin target ("/path?query", token removed). */
struct ucdn_rw *ucdn_rw_begin(struct ucdn *u, const char *scheme, const char *host,
			      const char *target);
/* The origin's status and Content-Type are in: rewrite this body? */
bool ucdn_rw_headers(struct ucdn_rw *w, int status, const char *content_type);
bool ucdn_rw_active(const struct ucdn_rw *w);
/* A piece of the origin's body. CDNI_EPARSE (the manifest is refused) or
 * CDNI_EOVERFLOW stop the fetch; ucdn_rw_error says why. */
int ucdn_rw_data(struct ucdn_rw *w, const void *data, size_t len);
/* The end of the body: the rewritten bytes (the caller frees them). */
int ucdn_rw_finish(struct ucdn_rw *w, char **body, size_t *len);
const char *ucdn_rw_error(const struct ucdn_rw *w);
const char *ucdn_rw_type(const struct ucdn_rw *w);
const char *ucdn_rw_cache_control(const struct ucdn_rw *w);
/* "rewritten hls: 12 URIs, 10 to dCDNs, 10 tokens" */
void ucdn_rw_note(const struct ucdn_rw *w, char *note, size_t len);
void ucdn_rw_free(struct ucdn_rw *w);

/* ---- CORS and the API ---- */

/* Queue a response, with the CORS headers when cors is on (every answer
 * of the front door goes through here). */
enum MHD_Result ucdn_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);
/* A request for the API path (its raw target)? */
bool ucdn_api_match(const struct ucdn *u, const char *raw, size_t len);
enum MHD_Result ucdn_api_serve(struct ucdn *u, struct conn *k, struct MHD_Connection *c,
			       const char *method, const char *host, struct outcome *o);

#endif
