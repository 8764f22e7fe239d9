/* cdni-ucdn — the uCDN front door for a CSP's names.
 *
 * Each request gets a routing decision (redirect/route.h): a 3xx with a
 * Location on a dCDN, a refusal, or service from the origin (fetched with
 * libcurl, buffered up to origin_max_body, then answered). This header is the
 * program's library: its config (socket-free, unit-tested) and the server
 * (libmicrohttpd glue) that main.c starts and stops. */
#ifndef CDNI_UCDN_H
#define CDNI_UCDN_H

#include <stddef.h>

#include "common/conf.h"
#include "redirect/rewrite.h"
#include "redirect/route.h"
#include "ucdn/ask.h"
#include "ucdn/sign.h"

struct ucdn_conf {
	struct conf_list listen; /* of struct listen_conf */
	char *origin;            /* base URL "http(s)://host[:port][/prefix]" */
	char *origin_ca;         /* CA file for an https origin */
	long long origin_timeout_ms;
	long long origin_connect_timeout_ms;
	long long origin_max_body;
	struct route_conf route;
	long long threads;
	long long origin_workers;
	char *access_log; /* path, "-" (stdout) or "off" */
	struct ucdn_sign_conf uri_signing; /* RFC 9246: sign Locations, verify tokens */
	struct rw_conf rewrite;  /* manifest and page rewriting (ucdn/rewrite.c) */
	char *api_path;          /* API mode endpoint, NULL: none */
	bool cors;               /* CORS headers on every answer */
	char *cors_origin;       /* Access-Control-Allow-Origin */
	struct ask_conf rri;     /* RFC 7975: ask dCDNs where to redirect (ucdn/ask.h) */
};

extern const struct conf_item ucdn_conf_table[];

/* Check a loaded config beyond types (listeners, origin URL, rules) and
 * compile its routing policy into *policy. Messages name the key path. */
int ucdn_conf_check(const struct ucdn_conf *cf, struct route_policy **policy, char *err,
		    size_t errlen);
/* conf_load_file + ucdn_conf_check; messages start with the file name. cf
 * must be zeroed; on failure it is left empty. */
int ucdn_conf_load(struct ucdn_conf *cf, const char *file, struct route_policy **policy,
		   char *err, size_t errlen);
void ucdn_conf_free(struct ucdn_conf *cf);

struct ucdn;

/* Build the server over a checked config; takes ownership of policy (also on
 * failure). cf must outlive the server. */
int ucdn_new(struct ucdn **out, const struct ucdn_conf *cf, struct route_policy *policy,
	     char *err, size_t errlen);
/* Bind every listener; ready gets "http=127.0.0.1:PORT https=...". */
int ucdn_start(struct ucdn *u, char *ready, size_t rlen, char *err, size_t errlen);
void ucdn_stop(struct ucdn *u);
void ucdn_free(struct ucdn *u);

#endif
