/* cdni-ucdn — asking dCDNs where to send a client: the RFC 7975 redirection
 * interface from the uCDN's side.
 *
 * A redirect rule with "ask": true does not use its static target directly:
 * per request the uCDN picks the dCDNs of "rri.dcdns" whose footprint and
 * capabilities (RFC 8008, from each dCDN's optional "fci" file) serve the
 * client, in order, and POSTs an HTTP redirection request (cs-uri, c-ip,
 * method, version, cdn-path starting with our CDN id, max-hops) with a
 * deadline. The first successful answer's Location (and 3xx status) is the
 * redirect; it is cached for its Cache-Control lifetime, for the clients of
 * its scope (or for that one client when it has no scope). A dCDN that
 * errs, times out or is down is skipped; when none answers, the rule's
 * static target is used ("fallback": "rule") or the uCDN serves from the
 * origin ("fallback": "origin").
 *
 * The cache and the choice are socket-free (unit-tested); the calls go
 * through redirect/rri_client.h (libcurl with a deadline), never under a
 * lock. */
#ifndef CDNI_UCDN_ASK_H
#define CDNI_UCDN_ASK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/conf.h"

struct ask_dcdn_conf {
	char *name;     /* label in logs */
	char *url;      /* the dCDN's RI URI */
	char *fci;      /* optional RFC 8008 capabilities document (JSON file) */
	char *ca, *cert, *key, *resolve;
	long long timeout_ms, connect_timeout_ms;
};

struct ask_conf {
	char *cdn_id;           /* our Provider ID, "AS<n>:<qualifier>"; on when set */
	long long max_hops;     /* -1: not sent */
	struct conf_list dcdns; /* of struct ask_dcdn_conf, in preference order */
	int fallback;           /* ASK_FALLBACK_* */
	long long cache_entries;
};
enum { ASK_FALLBACK_RULE = 0, ASK_FALLBACK_ORIGIN = 1 };

extern const struct conf_item ask_conf_table[];
static inline bool ask_enabled(const struct ask_conf *c)
{
	return c->cdn_id != NULL;
}

struct ask;

/* Loads the fci files and fetches the fci URLs (one that does not answer is
 * logged: that dCDN is asked about every client); checks ids and URLs.
 * Messages name "rri.dcdns[i]...". ask_check does the same without
 * fetching (config checks). */
int ask_new(const struct ask_conf *c, struct ask **out, char *err, size_t errlen);
int ask_check(const struct ask_conf *c, char *err, size_t errlen);
void ask_free(struct ask *a);

struct ask_req {
	const char *scheme, *host; /* how the client reached us */
	const char *target;        /* raw "path?query" */
	size_t target_len;
	const char *method, *version;
	const char *client_ip;
	long long now;             /* seconds */
};

struct ask_answer {
	int status;          /* 3xx */
	const char *dcdn;    /* the answering dCDN's name */
	bool cached;
	long long us;        /* time spent asking (0 when cached) */
};

/* 0 with the Location in loc (reset first) and *ans; CDNI_EUPSTREAM when no
 * dCDN gave one (then the caller falls back). */
int ask_location(struct ask *a, const struct ask_req *rq, struct buf *loc,
		 struct ask_answer *ans);
int ask_fallback(const struct ask *a);

#endif
