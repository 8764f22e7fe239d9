/* The jti replay store: fixed slots, buckets of 8, expiry by exp. */
#include "urisign/replay.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "common/err.h"
#include "urisign/jose.h"

#define BUCKET 8
#define MAX_SLOTS ((size_t)1 << 26)

struct slot {
	uint8_t key[16];
	long long expires;  /* 0: empty */
	unsigned long long seq; /* insertion order: ties on expires evict the oldest */
};

struct us_replay {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t n, mask;
	long long default_ttl;
	unsigned long long evictions, replays, seq;
};

int us_replay_new(size_t slots, long long default_ttl, struct us_replay **out)
{
	struct us_replay *r;
	size_t n = BUCKET;

	if (slots > MAX_SLOTS || default_ttl <= 0)
		return CDNI_EINVAL;
	while (n < slots)
		n <<= 1;
	if (!(r = calloc(1, sizeof *r)))
		return CDNI_ENOMEM;
	if (!(r->slots = calloc(n, sizeof *r->slots))) {
		free(r);
		return CDNI_ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->n = n;
	r->mask = n - 1;
	r->default_ttl = default_ttl;
	*out = r;
	return 0;
}

void us_replay_free(struct us_replay *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->slots);
	free(r);
}

/* In bucket b: the live entry for key, or NULL; *victim is where to write
 * a new entry (a free or expired slot, else the one expiring first). */
static struct slot *bucket_scan(struct slot *b, const uint8_t key[16], long long now,
				struct slot **victim)
{
	struct slot *hit = NULL, *v = NULL;
	bool v_free = false;

	for (int i = 0; i < BUCKET; i++) {
		struct slot *s = &b[i];
		if (s->expires <= now) {
			if (!v_free)
				v = s, v_free = true;
			continue;
		}
		if (memcmp(s->key, key, 16) == 0)
			hit = s;
		if (!v_free && (!v || s->expires < v->expires ||
				(s->expires == v->expires && s->seq < v->seq)))
			v = s;
	}
	*victim = v;
	return hit;
}

int us_replay_use(struct us_replay *r, const void *key, size_t keylen, long long expires,
		  long long now)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	struct slot *b, *victim;
	size_t idx;
	int rc = 0;

	jose_sha256(key, keylen, md);
	memcpy(&idx, md + 16, sizeof idx);
	if (expires <= 0)
		expires = now + r->default_ttl;
	pthread_mutex_lock(&r->lock);
	b = &r->slots[idx & r->mask & ~(size_t)(BUCKET - 1)];
	if (bucket_scan(b, md, now, &victim)) {
		r->replays++;
		rc = CDNI_EEXIST;
	} else {
		if (victim->expires > now)
			r->evictions++;
		memcpy(victim->key, md, 16);
		victim->expires = expires > now ? expires : now + 1;
		victim->seq = ++r->seq;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void us_replay_stats(struct us_replay *r, long long now, struct us_replay_stats *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&r->lock);
	out->slots = r->n;
	for (size_t i = 0; i < r->n; i++)
		if (r->slots[i].expires > now)
			out->live++;
	out->evictions = r->evictions;
	out->replays = r->replays;
	pthread_mutex_unlock(&r->lock);
}
