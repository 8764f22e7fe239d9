/* URI containers (RFC 9246 §2.1.15): hash: (RFC 6920 URL segment form)
 * and regex: (POSIX ERE, matched against the whole normalized URI, with a
 * small cache of compiled expressions); and the cdniip prefix match. */
#include "urisign/internal.h"

#include <arpa/inet.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/err.h"
#include "urisign/b64.h"

#define MAX_REGEX 4096

/* ---- hash: ---- */

/* RFC 6920 §9.4 names of SHA-256 and its truncations, with their lengths. */
static const struct {
	const char *name;
	size_t len;
} ni_algs[] = {
	{ "sha-256", 32 },    { "sha-256-128", 16 }, { "sha-256-120", 15 },
	{ "sha-256-96", 12 }, { "sha-256-64", 8 },   { "sha-256-32", 4 },
};

static int hash_match(const char *v, const char *uri, const char **why)
{
	const char *semi = strchr(v, ';');
	uint8_t md[SHA256_DIGEST_LENGTH], want[SHA256_DIGEST_LENGTH];
	size_t len = 0, wl = 0;

	for (size_t i = 0; semi && i < sizeof ni_algs / sizeof ni_algs[0]; i++)
		if (strlen(ni_algs[i].name) == (size_t)(semi - v) &&
		    memcmp(ni_algs[i].name, v, (size_t)(semi - v)) == 0)
			len = ni_algs[i].len;
	if (!len)
		return *why = "hash container names no supported algorithm (sha-256)", CDNI_EUNSUPP;
	if (b64url_decode(semi + 1, strlen(semi + 1), want, sizeof want, &wl) || wl != len)
		return *why = "hash container value is not base64url of the right length",
		       CDNI_EPARSE;
	jose_sha256((const unsigned char *)uri, strlen(uri), md);
	if (CRYPTO_memcmp(md, want, len) != 0)
		return *why = "URI does not match the hash container", CDNI_EDENIED;
	return 0;
}

/* ---- regex: with a cache ---- */

struct re_entry {
	char *pat;
	regex_t re;
	int refs;
};

struct us_regex_cache {
	pthread_mutex_t lock;
	struct re_entry **slot;
	size_t n;
};

int us_regex_cache_new(size_t n, struct us_regex_cache **out)
{
	struct us_regex_cache *c = calloc(1, sizeof *c);

	if (!c || (n && !(c->slot = calloc(n, sizeof *c->slot)))) {
		free(c);
		return CDNI_ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->n = n;
	*out = c;
	return 0;
}

static void entry_free(struct re_entry *e)
{
	regfree(&e->re);
	free(e->pat);
	free(e);
}

void us_regex_cache_free(struct us_regex_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		if (c->slot[i])
			entry_free(c->slot[i]);
	free(c->slot);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void entry_put(struct us_regex_cache *c, struct re_entry *e)
{
	pthread_mutex_lock(&c->lock);
	int last = --e->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		entry_free(e);
}

/* Compile "^(pat)$": the expression must match the whole URI. */
static struct re_entry *entry_compile(const char *pat)
{
	struct re_entry *e = calloc(1, sizeof *e);
	size_t n = strlen(pat);
	char *full = malloc(n + 5);

	if (!e || !full || !(e->pat = strdup(pat)))
		goto fail;
	memcpy(full, "^(", 2);
	memcpy(full + 2, pat, n);
	memcpy(full + 2 + n, ")$", 3);
	if (regcomp(&e->re, full, REG_EXTENDED | REG_NOSUB) != 0)
		goto fail;
	free(full);
	e->refs = 1;
	return e;
fail:
	free(full);
	if (e)
		free(e->pat);
	free(e);
	return NULL;
}

static size_t fnv(const char *s)
{
	size_t h = 1469598103934665603ull & (size_t)-1;

	while (*s)
		h = (h ^ (unsigned char)*s++) * (size_t)1099511628211ull;
	return h;
}

static struct re_entry *entry_get(struct us_regex_cache *c, const char *pat)
{
	struct re_entry *e, *old = NULL;
	size_t h = c->n ? fnv(pat) % c->n : 0;

	if (c->n) {
		pthread_mutex_lock(&c->lock);
		e = c->slot[h];
		if (e && strcmp(e->pat, pat) == 0) {
			e->refs++;
			pthread_mutex_unlock(&c->lock);
			return e;
		}
		pthread_mutex_unlock(&c->lock);
	}
	if (!(e = entry_compile(pat)) || !c->n)
		return e;
	pthread_mutex_lock(&c->lock);
	old = c->slot[h];
	c->slot[h] = e;
	e->refs++;
	if (old && --old->refs > 0)
		old = NULL;
	pthread_mutex_unlock(&c->lock);
	if (old)
		entry_free(old);
	return e;
}

static int regex_match(struct us_regex_cache *c, const char *pat, const char *uri,
		       const char **why)
{
	struct re_entry *e;
	int r;

	if (strlen(pat) > MAX_REGEX)
		return *why = "regex container longer than the limit", CDNI_EOVERFLOW;
	if (!(e = entry_get(c, pat)))
		return *why = "regex container does not compile as a POSIX ERE", CDNI_EPARSE;
	r = regexec(&e->re, uri, 0, NULL, 0);
	if (c->n)
		entry_put(c, e);
	else
		entry_free(e);
	if (r != 0)
		return *why = "URI does not match the regex container", CDNI_EDENIED;
	return 0;
}

int us_container_match(struct us_regex_cache *c, const char *container, const char *uri,
		       const char **why)
{
	if (strncmp(container, "hash:", 5) == 0)
		return hash_match(container + 5, uri, why);
	if (strncmp(container, "regex:", 6) == 0)
		return regex_match(c, container + 6, uri, why);
	*why = "URI container is neither hash: nor regex:";
	return CDNI_EUNSUPP;
}

/* ---- cdniip ---- */

/* Parse an address into 16 bytes (IPv4 as IPv4-mapped IPv6); *bits is the
 * address family's width in the mapped form. */
static int parse_addr(const char *s, uint8_t out[16], int *bits)
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		*bits = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*bits = 128;
		return 0;
	}
	return CDNI_EPARSE;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	return !rest || ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int us_ip_match(const char *prefix, const char *client)
{
	char buf[64], *slash;
	uint8_t net[16], cl[16];
	int bits = 0, cbits = 0, len;
	size_t n = strlen(prefix);

	if (n >= 2 && prefix[0] == '[' && prefix[n - 1] == ']')
		prefix++, n -= 2;
	if (n == 0 || n >= sizeof buf)
		return CDNI_EPARSE;
	memcpy(buf, prefix, n);
	buf[n] = '\0';
	if ((slash = strchr(buf, '/')))
		*slash = '\0';
	if (parse_addr(buf, net, &bits))
		return CDNI_EPARSE;
	len = bits;
	if (slash) {
		char *end;
		long l = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || l < 0 || l > bits)
			return CDNI_EPARSE;
		len = (int)l;
	}
	if (!client || parse_addr(client, cl, &cbits))
		return CDNI_EDENIED;
	/* an IPv4 prefix covers the mapped form of its addresses */
	return prefix_eq(net, cl, len + (128 - bits)) ? 0 : CDNI_EDENIED;
}
