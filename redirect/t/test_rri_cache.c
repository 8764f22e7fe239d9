/* redirect/rri_cache.c: redirection-interface answers cached for their
 * scope (or one client), until they expire; max-age 0 never stored; a full
 * set of slots gives up the entry expiring first; other keys miss; an
 * EDNS Client Subnet prefix hits only inside a wider or equal scope. */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/tap.h"
#include "redirect/rri_cache.h"

static struct buf text;
static struct rri_cache_val v;

static bool get(struct rri_cache *c, const char *key, const char *client, long long now)
{
	memset(&v, 0, sizeof v);
	return rri_cache_get(c, key, client, now, &v, &text);
}

static void scoped(struct rri_cache *c)
{
	char s4[] = "198.51.100.0/24", s6[] = "2001:db8::/32";
	char *scope[] = { s4, s6 };

	rri_cache_put(c, "https://a/v/1", "198.51.100.7", scope, 2, 1000, 60, "https://e/v/1", 302, 1);
	ok(get(c, "https://a/v/1", "198.51.100.9", 1010), "another client of the scope hits");
	is_str(text.data, "https://e/v/1", "with the answer's text");
	ok(v.status == 302 && v.tag == 1, "status and tag kept");
	ok(v.bits == 24 && v.expires == 1060, "the covering prefix's length and the expiry");
	ok(get(c, "https://a/v/1", "2001:db8::5", 1010), "an IPv6 client of the scope hits");
	ok(v.bits == 32, "covered by the /32");
	ok(get(c, "https://a/v/1", "198.51.100.128/25", 1010), "a subnet inside the scope hits");
	ok(!get(c, "https://a/v/1", "198.51.0.0/16", 1010), "a subnet wider than the scope misses");
	ok(!get(c, "https://a/v/1", "203.0.113.1", 1010), "a client outside the scope misses");
	ok(!get(c, "https://a/v/1", "198.51.100.9", 1060), "expired at max-age");
	ok(!get(c, "https://a/v/2", "198.51.100.9", 1010), "another key misses");
	ok(!get(c, "https://a/v/1", "not an address", 1010), "a client that does not parse misses");
}

static void unscoped(struct rri_cache *c)
{
	char key[64];

	rri_cache_put(c, "https://a/v/3", "192.0.2.1", NULL, 0, 1000, 60, "https://e/v/3", 307, 0);
	ok(get(c, "https://a/v/3", "192.0.2.1", 1001), "no scope: the asking client hits");
	ok(v.bits == 32, "for its /32");
	ok(!get(c, "https://a/v/3", "192.0.2.2", 1001), "no scope: its neighbour misses");
	rri_cache_put(c, "dns/a", "192.0.2.0/24", NULL, 0, 1000, 60, "A 30 192.0.2.80", 0, 2);
	ok(get(c, "dns/a", "192.0.2.0/24", 1001), "no scope, asked for a subnet: that subnet hits");
	ok(get(c, "dns/a", "192.0.2.77", 1001), "and an address inside it");
	ok(!get(c, "dns/a", "192.0.3.0/24", 1001), "another subnet misses");
	rri_cache_put(c, "https://a/v/4", "192.0.2.1", NULL, 0, 1000, 0, "https://e/v/4", 302, 0);
	ok(!get(c, "https://a/v/4", "192.0.2.1", 1000), "max-age 0 is not stored");
	for (int i = 0; i < 200; i++) { /* far more than the table holds */
		snprintf(key, sizeof key, "https://a/fill/%d", i);
		rri_cache_put(c, key, "192.0.2.1", NULL, 0, 1000, 10 + i, "https://e/x", 302, 0);
	}
	ok(get(c, "https://a/fill/199", "192.0.2.1", 1001), "the newest of many entries is there");
}

/* Many clients of one key, each with its own answer: all kept. */
static void many_clients(void)
{
	struct rri_cache *c;
	char ip[32], want[32];
	int kept = 0, right = 0;

	rri_cache_new(4096, &c);
	for (int i = 0; i < 200; i++) {
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 250, 1 + i % 250);
		rri_cache_put(c, "dns/www", ip, NULL, 0, 1000, 60, ip, 0, 0);
	}
	for (int i = 0; i < 200; i++) {
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 250, 1 + i % 250);
		snprintf(want, sizeof want, "%s", ip);
		if (get(c, "dns/www", ip, 1001)) {
			kept++;
			right += strcmp(text.data, want) == 0;
		}
	}
	ok(kept == 200 && right == 200, "200 clients of one key without scope: every answer kept (%d, %d right)",
	   kept, right);
	rri_cache_free(c);
}

int main(void)
{
	struct rri_cache *c;
	char s4[] = "198.51.100.0/24";
	char *scope[] = { s4 };

	buf_init(&text, 0);
	ok(rri_cache_new(16, &c) == 0, "a cache of 16");
	scoped(c);
	unscoped(c);
	rri_cache_free(c);
	many_clients();
	ok(rri_cache_new(0, &c) == 0, "a cache of 0 entries");
	rri_cache_put(c, "https://a/v/1", "198.51.100.7", scope, 1, 1000, 60, "https://e/v/1", 302, 1);
	ok(!get(c, "https://a/v/1", "198.51.100.7", 1001), "stores nothing");
	rri_cache_free(c);
	buf_free(&text);
	return done_testing();
}
