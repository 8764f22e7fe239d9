/* cdni-ucdn — the cache of redirection-interface answers (ucdn/ask.h).
 *
 * A fixed table of entries, open addressing over WAYS slots per key: a
 * lookup or an insert touches at most WAYS entries; an insert takes a free or
 * expired slot, else the one expiring first. One mutex; nothing slow is done
 * under it. An entry holds the URI asked about, the clients it is good for
 * (the answer's scope prefixes, or one client address), its expiry, and the
 * Location with its status. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "redirect/fci.h"
#include "ucdn/ask.h"

#define WAYS 4
#define MAX_SCOPE 8

struct entry {
	char *uri;
	char *loc;
	long long expires;
	int status, dcdn;
	struct fci_prefix scope[MAX_SCOPE];
	size_t nscope;
};

struct ask_cache {
	pthread_mutex_t lock;
	struct entry *e;
	size_t n;
};

int ask_cache_new(size_t entries, struct ask_cache **out)
{
	struct ask_cache *c = calloc(1, sizeof *c);

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
	free(e->uri);
	free(e->loc);
	memset(e, 0, sizeof *e);
}

void ask_cache_free(struct ask_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_clear(&c->e[i]);
	free(c->e);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static size_t slot0(const struct ask_cache *c, const char *uri)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (size_t)(h % c->n);
}

static bool covers(const struct entry *e, const char *ip)
{
	struct fci_client cl;

	if (fci_client_make(&cl, ip, NULL))
		return false;
	for (size_t i = 0; i < e->nscope; i++)
		if (fci_prefix_covers(&e->scope[i], cl.family, cl.addr))
			return true;
	return false;
}

bool ask_cache_get(struct ask_cache *c, const char *uri, const char *client_ip, long long now,
		   struct buf *loc, int *status, int *dcdn)
{
	bool hit = false;

	if (!c->n)
		return false;
	pthread_mutex_lock(&c->lock);
	for (size_t w = 0, i = slot0(c, uri); w < WAYS && !hit; w++, i = (i + 1) % c->n) {
		struct entry *e = &c->e[i];

		if (!e->uri || e->expires <= now || strcmp(e->uri, uri) != 0 || !covers(e, client_ip))
			continue;
		buf_reset(loc);
		buf_append(loc, e->loc, strlen(e->loc));
		*status = e->status;
		*dcdn = e->dcdn;
		hit = loc->err == 0;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* The slot to (re)use among the key's WAYS: free or expired, else the one
 * expiring first. */
static struct entry *victim(struct ask_cache *c, const char *uri, long long now)
{
	struct entry *best = NULL;

	for (size_t w = 0, i = slot0(c, uri); w < WAYS; w++, i = (i + 1) % c->n) {
		struct entry *e = &c->e[i];

		if (!e->uri || e->expires <= now)
			return e;
		if (!best || e->expires < best->expires)
			best = e;
	}
	return best;
}

static size_t scope_parse(struct entry *e, char *const *scope, size_t nscope,
			  const char *client_ip)
{
	size_t n = 0;

	for (size_t i = 0; i < nscope && n < MAX_SCOPE; i++)
		if (fci_prefix_parse(scope[i], &e->scope[n]) == 0)
			n++;
	if (!nscope && fci_prefix_parse(client_ip, &e->scope[0]) == 0)
		n = 1; /* no scope: good for this client only */
	return n;
}

void ask_cache_put(struct ask_cache *c, const char *uri, const char *client_ip,
		   char *const *scope, size_t nscope, long long now, long long max_age,
		   const char *loc, int status, int dcdn)
{
	struct entry *e, fresh = { 0 };

	if (!c->n || max_age <= 0)
		return;
	fresh.nscope = scope_parse(&fresh, scope, nscope, client_ip);
	if (!fresh.nscope || !(fresh.uri = strdup(uri)) || !(fresh.loc = strdup(loc))) {
		entry_clear(&fresh);
		return;
	}
	fresh.expires = now + max_age;
	fresh.status = status;
	fresh.dcdn = dcdn;
	pthread_mutex_lock(&c->lock);
	e = victim(c, uri, now);
	entry_clear(e);
	*e = fresh;
	pthread_mutex_unlock(&c->lock);
}
