/* ucdn/ask_cache.c: redirection-interface answers cached for their scope
 * (or one client), until they expire; max-age 0 never stored; a full set of
 * slots gives up the entry expiring first; other URIs miss. */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/tap.h"
#include "ucdn/ask.h"

int main(void)
{
	struct ask_cache *c;
	struct buf loc;
	int status = 0, dcdn = -1;
	char s4[] = "198.51.100.0/24", s6[] = "2001:db8::/32";
	char *scope[] = { s4, s6 };
	char uri[64];

	buf_init(&loc, 0);
	ok(ask_cache_new(16, &c) == 0, "a cache of 16");
	ask_cache_put(c, "https://a/v/1", "198.51.100.7", scope, 2, 1000, 60, "https://e/v/1", 302, 1);
	ok(ask_cache_get(c, "https://a/v/1", "198.51.100.9", 1010, &loc, &status, &dcdn),
	   "another client of the scope hits");
	is_str(loc.data, "https://e/v/1", "with the Location");
	ok(status == 302 && dcdn == 1, "status and dCDN kept");
	ok(ask_cache_get(c, "https://a/v/1", "2001:db8::5", 1010, &loc, &status, &dcdn),
	   "an IPv6 client of the scope hits");
	ok(!ask_cache_get(c, "https://a/v/1", "203.0.113.1", 1010, &loc, &status, &dcdn),
	   "a client outside the scope misses");
	ok(!ask_cache_get(c, "https://a/v/1", "198.51.100.9", 1060, &loc, &status, &dcdn),
	   "expired at max-age");
	ok(!ask_cache_get(c, "https://a/v/2", "198.51.100.9", 1010, &loc, &status, &dcdn),
	   "another URI misses");
	ask_cache_put(c, "https://a/v/3", "192.0.2.1", NULL, 0, 1000, 60, "https://e/v/3", 307, 0);
	ok(ask_cache_get(c, "https://a/v/3", "192.0.2.1", 1001, &loc, &status, &dcdn),
	   "no scope: the asking client hits");
	ok(!ask_cache_get(c, "https://a/v/3", "192.0.2.2", 1001, &loc, &status, &dcdn),
	   "no scope: its neighbour misses");
	ask_cache_put(c, "https://a/v/4", "192.0.2.1", NULL, 0, 1000, 0, "https://e/v/4", 302, 0);
	ok(!ask_cache_get(c, "https://a/v/4", "192.0.2.1", 1000, &loc, &status, &dcdn),
	   "max-age 0 is not stored");
	for (int i = 0; i < 200; i++) { /* far more than the table holds */
		snprintf(uri, sizeof uri, "https://a/fill/%d", i);
		ask_cache_put(c, uri, "192.0.2.1", NULL, 0, 1000, 10 + i, "https://e/x", 302, 0);
	}
	ok(ask_cache_get(c, "https://a/fill/199", "192.0.2.1", 1001, &loc, &status, &dcdn),
	   "the newest of many entries is there");
	ask_cache_free(c);
	ok(ask_cache_new(0, &c) == 0, "a cache of 0 entries");
	ask_cache_put(c, "https://a/v/1", "198.51.100.7", scope, 2, 1000, 60, "https://e/v/1", 302, 1);
	ok(!ask_cache_get(c, "https://a/v/1", "198.51.100.7", 1001, &loc, &status, &dcdn),
	   "stores nothing");
	ask_cache_free(c);
	buf_free(&loc);
	return done_testing();
}
