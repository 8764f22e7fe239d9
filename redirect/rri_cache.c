/* cdni — the cache of redirection-interface answers (redirect/rri_cache.h),
 * shared by cdni-ucdn (HTTP answers) and cdni-dns (DNS answers).
 *
 * A fixed table of entries, open addressing over WAYS slots per (key, scope
 * prefix): an answer good for several prefixes is stored once per prefix,
 * so the many clients of one key each have their own slots. A lookup tries
 * the client's address cut to each prefix length some answer had (longest
 * first: a few lengths in practice), WAYS slots each; an insert takes a free
 * or expired slot, else the one expiring first. One mutex; nothing slow is
 * done under it. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "redirect/fci.h"
#include "redirect/rri_cache.h"

#define WAYS 4
#define MAX_SCOPE 8

struct entry {
	char *key;
	char *text;
	long long expires;
	int status, tag;
	struct fci_prefix scope;
};

struct rri_cache {
	pthread_mutex_t lock;
	struct entry *e;
	size_t n;
	bool seen4[33], seen6[129]; /* prefix lengths stored so far */
};

int rri_cache_new(size_t entries, struct rri_cache **out)
{
	struct rri_cache *c = calloc(1, sizeof *c);

	if (!c || !(c->e = calloc(entries ? entries : 1, sizeof *c->e))) {
		free(c);
		return CDNI_ENOMEM;
	}
	c->n = entries;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void entry_clear(struct entry *e)
{
	free(e->key);
	free(e->text);
	memset(e, 0, sizeof *e);
}

void rri_cache_free(struct rri_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_clear(&c->e[i]);
	free(c->e);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static size_t slot0(const struct rri_cache *c, const char *key, const struct fci_prefix *p)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *q = (const unsigned char *)key; *q; q++)
		h = (h ^ *q) * 1099511628211ULL;
	h = (h ^ (uint64_t)p->family) * 1099511628211ULL;
	h = (h ^ (uint64_t)p->bits) * 1099511628211ULL;
	for (int i = 0; i < (p->bits + 7) / 8; i++)
		h = (h ^ p->addr[i]) * 1099511628211ULL;
	return (size_t)(h % c->n);
}

/* client's address cut to bits */
static struct fci_prefix cut(const struct fci_prefix *client, int bits)
{
	struct fci_prefix p = { .family = client->family, .bits = bits };

	memcpy(p.addr, client->addr, (size_t)(bits + 7) / 8);
	if (bits % 8)
		p.addr[bits / 8] &= (uint8_t)(0xff00 >> (bits % 8));
	return p;
}

static bool same_prefix(const struct fci_prefix *a, const struct fci_prefix *b)
{
	return a->family == b->family && a->bits == b->bits && memcmp(a->addr, b->addr, 16) == 0;
}

static struct entry *find(struct rri_cache *c, const char *key, const struct fci_prefix *p,
			  long long now)
{
	for (size_t w = 0, i = slot0(c, key, p); w < WAYS; w++, i = (i + 1) % c->n) {
		struct entry *e = &c->e[i];
		if (e->key && e->expires > now && same_prefix(&e->scope, p) && strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

bool rri_cache_get(struct rri_cache *c, const char *key, const char *client, long long now,
		   struct rri_cache_val *out, struct buf *text)
{
	struct fci_prefix cl, p;
	struct entry *e = NULL;
	bool hit = false;

	if (!c->n || fci_prefix_parse(client, &cl))
		return false;
	pthread_mutex_lock(&c->lock);
	for (int bits = cl.bits; bits >= 0 && !e; bits--) {
		if (!(cl.family == 4 ? c->seen4 : c->seen6)[bits])
			continue;
		p = cut(&cl, bits);
		e = find(c, key, &p, now);
	}
	if (e) {
		buf_reset(text);
		buf_append(text, e->text, strlen(e->text));
		out->status = e->status;
		out->tag = e->tag;
		out->bits = e->scope.bits;
		out->expires = e->expires;
		hit = text->err == 0;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* The slot to (re)use: the entry for the same key and prefix, else a free
 * or expired one, else the one expiring first. */
static struct entry *victim(struct rri_cache *c, const char *key, const struct fci_prefix *p,
			    long long now)
{
	struct entry *best = NULL, *e = find(c, key, p, now);

	if (e)
		return e;
	for (size_t w = 0, i = slot0(c, key, p); w < WAYS; w++, i = (i + 1) % c->n) {
		e = &c->e[i];
		if (!e->key || e->expires <= now)
			return e;
		if (!best || e->expires < best->expires)
			best = e;
	}
	return best;
}

static void put_one(struct rri_cache *c, const char *key, const struct fci_prefix *p,
		    long long expires, const char *text, int status, int tag, long long now)
{
	struct entry *e, fresh = { .expires = expires, .status = status, .tag = tag, .scope = *p };

	if (!(fresh.key = strdup(key)) || !(fresh.text = strdup(text))) {
		entry_clear(&fresh);
		return;
	}
	pthread_mutex_lock(&c->lock);
	e = victim(c, key, p, now);
	entry_clear(e);
	*e = fresh;
	(p->family == 4 ? c->seen4 : c->seen6)[p->bits] = true;
	pthread_mutex_unlock(&c->lock);
}

void rri_cache_put(struct rri_cache *c, const char *key, const char *client, char *const *scope,
		   size_t nscope, long long now, long long max_age, const char *text, int status,
		   int tag)
{
	struct fci_prefix p;

	if (!c->n || max_age <= 0)
		return;
	for (size_t i = 0; i < nscope && i < MAX_SCOPE; i++)
		if (fci_prefix_parse(scope[i], &p) == 0)
			put_one(c, key, &p, now + max_age, text, status, tag, now);
	if (!nscope && fci_prefix_parse(client, &p) == 0) /* good for this client only */
		put_one(c, key, &p, now + max_age, text, status, tag, now);
}
