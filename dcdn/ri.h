/* cdni-dcdn — the RFC 7975 redirection interface a dCDN serves, and the
 * RFC 8008 capabilities it advertises (the "rri" config object).
 *
 * Core (socket-free, ri.c): one RI request in (Content-Type and body), one
 * answer out (HTTP status, JSON body, Cache-Control). It checks the media
 * type (415), decodes (400 + error 400 naming the key), detects loops (its
 * own Provider ID, or any ID twice, in cdn-path: 502), then either answers
 * with its own surrogate — HTTP: a Location of edge_base + the cs-uri's path
 * and query; DNS: CNAME or A/AAAA records of its edge — when its footprint
 * and capabilities serve the client and it is available, or asks its
 * downstream dCDN over the same interface (its ID appended to cdn-path,
 * dns-only set, with a deadline), refusing with 503 when cdn-path already
 * holds max-hops IDs. Refusals carry the RFC 7975 §4.7 code: 500 (out of
 * footprint, downstream unreachable), 502, 503, 504 (not available), 505
 * (delivery protocol), 506 (redirection mode, or no DNS target).
 *
 * Glue (ri_http.c): its own libmicrohttpd listeners; POST on "path", GET on
 * "fci_path"; with client_ca, mutual TLS: a request without a client
 * certificate verified by that CA gets 403; an access-log line per request.
 *
 *   struct dcdn_ri *r;
 *   dcdn_ri_new(&conf->rri, &r, err, sizeof err);
 *   struct dcdn_ri_answer a;
 *   dcdn_ri_handle(r, content_type, body, len, &a);   // a.status, a.body
 *   dcdn_ri_answer_clear(&a);
 */
#ifndef CDNI_DCDN_RI_H
#define CDNI_DCDN_RI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/conf.h"
#include "redirect/rri_client.h"

enum dcdn_ri_delegate { RI_DELEGATE_NEVER = 0, RI_DELEGATE_OUTSIDE, RI_DELEGATE_ALWAYS };

struct dcdn_ri_geo_conf {
	char *prefix;
	char *country;
};

struct dcdn_ri_conf {
	struct conf_list listen;       /* struct listen_conf; none: the interface is off */
	char *path;                    /* POST here: "/cdni/rri" */
	char *fci_path;                /* GET here: "/cdni/fci" */
	char *cdn_id;                  /* this CDN's Provider ID, "AS64500:1" */
	char *edge_base;               /* "https://edge.dcdn.test:8443[/prefix]" */
	long long sc_status;           /* 301, 302, 303, 307, 308 */
	struct conf_strlist dns_cname; /* DNS form: CNAME targets, or */
	struct conf_strlist dns_a;     /* A and */
	struct conf_strlist dns_aaaa;  /* AAAA records of the edge */
	long long dns_ttl;
	long long max_age;             /* Cache-Control of successful answers; 0: no-store */
	long long scope_v4, scope_v6;  /* scope.iprange: the client's /N; 0: no scope */
	json_t *capabilities;          /* RFC 8008 {"capabilities":[...]}; NULL: the default */
	struct conf_list geo;          /* struct dcdn_ri_geo_conf: CIDR -> country */
	bool available;                /* false: every request gets 504 (out of capacity) */
	bool reflect_cdn_path;         /* answers carry cdn-path (+ our ID) */
	int delegate;                  /* enum dcdn_ri_delegate */
	struct rri_client_conf downstream; /* the downstream dCDN's RI */
	long long threads;             /* 0: a thread per connection */
	char *client_ca;               /* PEM: require verified client certificates (mutual TLS) */
};

extern const struct conf_item dcdn_ri_table[];

/* The RI is configured (has listeners). */
bool dcdn_ri_enabled(const struct dcdn_ri_conf *c);
/* Checks beyond types; messages name "rri.<key>". */
int dcdn_ri_conf_check(const struct dcdn_ri_conf *c, char *err, size_t errlen);

struct dcdn_ri;

/* How the core asks the downstream dCDN (tests replace it). */
typedef int (*dcdn_ri_ask_fn)(void *cls, const struct rri_request *rq, struct rri_reply *out,
			      char *err, size_t errlen);

int dcdn_ri_new(const struct dcdn_ri_conf *c, struct dcdn_ri **out, char *err, size_t errlen);
void dcdn_ri_free(struct dcdn_ri *r);
void dcdn_ri_set_ask(struct dcdn_ri *r, dcdn_ri_ask_fn fn, void *cls);
/* Flip availability at run time (a load signal). */
void dcdn_ri_set_available(struct dcdn_ri *r, bool up);

struct dcdn_ri_answer {
	int status;                /* HTTP status */
	struct buf body;           /* RI response JSON */
	char cache_control[48];
	int code;                  /* RI error code, 0 for a plain success */
	char note[160];            /* for the access log: "http self", "dns down AS..", "502 ..." */
};

/* Handle one request. Always fills a (an answer is always produced); the
 * return value is 0, or CDNI_ENOMEM when even the error answer failed. */
int dcdn_ri_handle(struct dcdn_ri *r, const char *content_type, const char *body, size_t len,
		   struct dcdn_ri_answer *a);
/* The answer to a body over RRI_MAX_BODY (413, error 400). */
void dcdn_ri_too_large(struct dcdn_ri *r, struct dcdn_ri_answer *a);
/* A refusal with an HTTP status of the glue's choosing (403), error 400. */
void dcdn_ri_refuse(struct dcdn_ri *r, struct dcdn_ri_answer *a, int status, const char *reason);
void dcdn_ri_answer_clear(struct dcdn_ri_answer *a);

/* The capabilities document (canonical JSON) served at fci_path. */
const char *dcdn_ri_fci(const struct dcdn_ri *r, size_t *len);

/* ---- the HTTP glue (ri_http.c) ---- */

struct dcdn_ri_server;

/* Start the listeners; ready gets " name=addr:port" appended. */
int dcdn_ri_server_start(const struct dcdn_ri_conf *c, const char *access_log,
			 struct dcdn_ri_server **out, char *ready, size_t rlen, char *err,
			 size_t errlen);
void dcdn_ri_server_stop(struct dcdn_ri_server *s);

#endif
