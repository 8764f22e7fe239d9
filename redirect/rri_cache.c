/* cdni — the cache of redirection-interface answers (redirect/rri_cache.h),
 * shared by cdni-ucdn (HTTP answers) and cdni-dns (DNS answers).
 *
 * A fixed table of entries, open addressing over WAYS slots per key: a
 * lookup or an insert touches at most WAYS entries; an insert takes a free or
 * expired slot, else the one expiring first. One mutex; nothing slow is done
 * under it. An entry holds the key asked about, the clients it is good for
 * (the answer's scope prefixes, or the one client asked for), its expiry,
 * and the answer as text with a status and a tag. */
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
	struct fci_prefix scope[MAX_SCOPE];
	size_t nscope;
};

struct rri_cache {
	pthread_mutex_t lock;
	struct entry *e;
	size_t n;
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

static size_t slot0(const struct rri_cache *c, const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % c->n);
}

/* The scope entry holding the whole of client (an address or a prefix), or
 * NULL. */
static const struct fci_prefix *covers(const struct entry *e, const char *client)
{
	struct fci_prefix cl;

	if (fci_prefix_parse(client, &cl))
		return NULL;
	for (size_t i = 0; i < e->nscope; i++)
		if (e->scope[i].bits <= cl.bits && fci_prefix_covers(&e->scope[i], cl.family, cl.addr))
			return &e->scope[i];
	return NULL;
}

bool rri_cache_get(struct rri_cache *c, const char *key, const char *client, long long now,
		   struct rri_cache_val *out, struct buf *text)
{
	bool hit = false;

	if (!c->n)
		return false;
	pthread_mutex_lock(&c->lock);
	for (size_t w = 0, i = slot0(c, key); w < WAYS && !hit; w++, i = (i + 1) % c->n) {
		struct entry *e = &c->e[i];
		const struct fci_prefix *p;

		if (!e->key || e->expires <= now || strcmp(e->key, key) != 0 ||
		    !(p = covers(e, client)))
			continue;
		buf_reset(text);
		buf_append(text, e->text, strlen(e->text));
		out->status = e->status;
		out->tag = e->tag;
		out->bits = p->bits;
		out->expires = e->expires;
		hit = text->err == 0;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* The slot to (re)use among the key's WAYS: free or expired, else the one
 * expiring first. */
static struct entry *victim(struct rri_cache *c, const char *key, long long now)
{
	struct entry *best = NULL;

	for (size_t w = 0, i = slot0(c, key); w < WAYS; w++, i = (i + 1) % c->n) {
		struct entry *e = &c->e[i];

		if (!e->key || e->expires <= now)
			return e;
		if (!best || e->expires < best->expires)
			best = e;
	}
	return best;
}

static size_t scope_parse(struct entry *e, char *const *scope, size_t nscope, const char *client)
{
	size_t n = 0;

	for (size_t i = 0; i < nscope && n < MAX_SCOPE; i++)
		if (fci_prefix_parse(scope[i], &e->scope[n]) == 0)
			n++;
	if (!nscope && fci_prefix_parse(client, &e->scope[0]) == 0)
		n = 1; /* no scope: good for this client only */
	return n;
}

void rri_cache_put(struct rri_cache *c, const char *key, const char *client, char *const *scope,
		   size_t nscope, long long now, long long max_age, const char *text, int status,
		   int tag)
{
	struct entry *e, fresh = { 0 };

	if (!c->n || max_age <= 0)
		return;
	fresh.nscope = scope_parse(&fresh, scope, nscope, client);
	if (!fresh.nscope || !(fresh.key = strdup(key)) || !(fresh.text = strdup(text))) {
		entry_clear(&fresh);
		return;
	}
	fresh.expires = now + max_age;
	fresh.status = status;
	fresh.tag = tag;
	pthread_mutex_lock(&c->lock);
	e = victim(c, key, now);
	entry_clear(e);
	*e = fresh;
	pthread_mutex_unlock(&c->lock);
}
