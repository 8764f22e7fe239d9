/* cdni — a cache of RFC 7975 redirection-interface answers, socket-free and
 * thread-safe (one mutex, nothing slow under it). cdni-ucdn keeps HTTP
 * answers (a Location and its 3xx status), cdni-dns DNS answers (records as
 * text). An answer is good for the clients of its scope (RFC 7975 §4.6
 * "iprange" prefixes), or for the one client it was asked for when it has
 * none, until its Cache-Control lifetime runs out. A client is an address
 * ("198.51.100.7") or a prefix ("198.51.100.0/24", an EDNS Client Subnet):
 * a prefix is covered when it lies wholly inside a scope prefix.
 *
 *   struct rri_cache *c;
 *   rri_cache_new(4096, &c);
 *   rri_cache_put(c, "https://a/v/1", "198.51.100.7", scope, nscope, now, max_age,
 *                 "https://edge/v/1", 302, dcdn_index);
 *   struct rri_cache_val v; struct buf text;
 *   if (rri_cache_get(c, "https://a/v/1", "198.51.100.9", now, &v, &text)) ...
 *   rri_cache_free(c); */
#ifndef CDNI_RRI_CACHE_H
#define CDNI_RRI_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

struct rri_cache;

struct rri_cache_val {
	int status;          /* as put */
	int tag;             /* as put (which dCDN answered) */
	int bits;            /* length of the scope prefix that covered the client */
	long long expires;   /* when the answer stops being good */
};

/* entries 0: a cache that keeps nothing. */
int rri_cache_new(size_t entries, struct rri_cache **out);
void rri_cache_free(struct rri_cache *c);
/* An answer for key good for client at now: its text into text (reset
 * first) and the rest into out. */
bool rri_cache_get(struct rri_cache *c, const char *key, const char *client, long long now,
		   struct rri_cache_val *out, struct buf *text);
/* scope: CIDR strings (nscope 0: good for client only). max_age <= 0: not
 * stored. */
void rri_cache_put(struct rri_cache *c, const char *key, const char *client, char *const *scope,
		   size_t nscope, long long now, long long max_age, const char *text, int status,
		   int tag);

#endif
