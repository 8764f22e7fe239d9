/* cdni — the JWT ID (jti) replay store of RFC 9246 §2.1.7 and §7, with
 * bounded memory.
 *
 * A fixed table of slots (a power of two, chosen at creation) grouped in
 * buckets of 8. An entry is a 128-bit digest of (issuer, jti, normalized
 * URI without the token) — RFC 9246 forbids reuse of a jti "for the same
 * content" — and the time it may be forgotten: the token's exp, or, for a
 * token without exp, the time of use plus a default lifetime.
 *
 * Eviction: an entry whose time has passed is free. When all 8 slots of a
 * bucket hold live entries, the one that would expire first (of those, the
 * oldest) is overwritten and counted in evictions; that jti could then be replayed, which §7
 * accepts for a bounded list. Size the table above the number of live
 * tokens with jti you expect (memory = 32 bytes per slot). Thread-safe. */
#ifndef CDNI_URISIGN_REPLAY_H
#define CDNI_URISIGN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct us_replay;

/* slots is rounded up to a power of two (at least 8); default_ttl (s) is
 * for tokens without exp. */
int us_replay_new(size_t slots, long long default_ttl, struct us_replay **out);
void us_replay_free(struct us_replay *r);

/* Record key (any bytes; digested) as used at now until expires (0: now +
 * default_ttl). 0 when new; CDNI_EEXIST when it was seen and has not
 * expired. */
int us_replay_use(struct us_replay *r, const void *key, size_t keylen, long long expires,
		  long long now);

struct us_replay_stats {
	size_t slots, live;
	unsigned long long evictions, replays;
};
void us_replay_stats(struct us_replay *r, long long now, struct us_replay_stats *out);

#endif
