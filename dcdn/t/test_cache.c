/* dcdn/cache: freshness rules, header filtering, LRU eviction order, the byte
 * bound, references keeping evicted objects alive, collapsed forwarding with
 * waiting threads, failed and short fills discarded, streamed-through windows
 * with backpressure, parking waiters, closing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/tap.h"
#include "dcdn/cache.h"

#define SEC 1000000LL
#define NOW ((time_t)1700000000)

static struct cache_fresh fresh(int status, const char *h1, const char *v1, const char *h2,
				const char *v2, long long def)
{
	struct cache_hdr h[2] = { { h1, v1 }, { h2, v2 } };
	struct cache_fresh f;

	cache_freshness(status, h, h1 ? (h2 ? 2 : 1) : 0, def, NOW, &f);
	return f;
}

static void freshness_rules(void)
{
	struct cache_fresh f;

	f = fresh(200, "Cache-Control", "max-age=60", NULL, NULL, 0);
	ok(f.store && f.share && f.ttl_s == 60, "max-age=60: stored for 60 s");
	f = fresh(200, "Cache-Control", "max-age=60, s-maxage=5", NULL, NULL, 0);
	is_int(f.ttl_s, 5, "s-maxage wins over max-age");
	f = fresh(200, "Cache-Control", "no-store, max-age=60", NULL, NULL, 0);
	ok(!f.store && !f.share && strcmp(f.why, "no-store") == 0, "no-store: neither stored nor shared");
	f = fresh(200, "Cache-Control", "private, max-age=60", NULL, NULL, 0);
	ok(!f.store && !f.share, "private: neither stored nor shared");
	f = fresh(200, "Cache-Control", "no-cache", NULL, NULL, 3600);
	ok(!f.store && !f.share, "no-cache: not stored (no revalidation here)");
	f = fresh(200, "Cache-Control", "max-age=60", "Set-Cookie", "a=b", 0);
	ok(!f.store && !f.share && strcmp(f.why, "Set-Cookie") == 0, "Set-Cookie: not stored");
	f = fresh(200, "Cache-Control", "max-age=60", "Vary", "*", 0);
	ok(!f.store && f.share, "Vary: * not stored");
	f = fresh(200, "Cache-Control", "max-age=60", "Age", "50", 0);
	ok(f.store && f.ttl_s == 10 && f.age_s == 50, "Age counts against max-age");
	f = fresh(200, "Cache-Control", "max-age=60", "Age", "60", 0);
	ok(!f.store, "Age >= max-age: already stale, not stored");
	f = fresh(200, "Expires", "Tue, 14 Nov 2023 22:14:20 GMT", "Date", "Tue, 14 Nov 2023 22:13:20 GMT", 0);
	ok(f.store && f.ttl_s == 60, "Expires - Date = 60 s");
	f = fresh(200, "Expires", "Tue, 14 Nov 2023 22:13:40 GMT", NULL, NULL, 0);
	ok(f.store && f.ttl_s == 20, "Expires without Date counts from receipt (NOW)");
	f = fresh(200, "Expires", "0", NULL, NULL, 3600);
	ok(!f.store, "an invalid Expires means expired, default_ttl not used");
	f = fresh(200, "Expires", "Tue, 14 Nov 2023 22:14:20 GMT", "Cache-Control", "max-age=7", 0);
	is_int(f.ttl_s, 7, "max-age wins over Expires");
	f = fresh(200, "Content-Type", "text/plain", NULL, NULL, 0);
	ok(!f.store && f.share, "no freshness and default_ttl 0: not stored, shareable");
	f = fresh(200, "Content-Type", "text/plain", NULL, NULL, 30);
	ok(f.store && f.ttl_s == 30, "no freshness: default_ttl");
	f = fresh(404, "Cache-Control", "max-age=60", NULL, NULL, 0);
	ok(!f.store && f.share, "404 not stored");
	f = fresh(200, "Cache-Control", "max-age=0", NULL, NULL, 3600);
	ok(!f.store, "max-age=0 is not replaced by default_ttl");
}

static void header_rules(void)
{
	ok(cache_hdr_hop_by_hop("transfer-encoding") && cache_hdr_hop_by_hop("Connection") &&
	   cache_hdr_hop_by_hop("Keep-Alive") && cache_hdr_hop_by_hop("Content-Length") &&
	   cache_hdr_hop_by_hop("Age") && cache_hdr_hop_by_hop("x-cache"),
	   "hop-by-hop and cache-owned headers recognised");
	ok(!cache_hdr_hop_by_hop("ETag") && !cache_hdr_hop_by_hop("Content-Type") &&
	   !cache_hdr_hop_by_hop("Cache-Control"), "end-to-end headers pass");
}

static struct cache *mk(size_t max, size_t maxobj, long long ttl, size_t window)
{
	struct cache_conf cf = { .max_bytes = max, .max_object = maxobj, .default_ttl_s = ttl,
				 .window = window };
	struct cache *c = NULL;

	if (cache_new(&cf, &c))
		abort();
	return c;
}

/* Fill key completely with len bytes of pattern ch, max-age given. */
static enum cache_how put(struct cache *c, const char *key, size_t len, int ch, const char *cc,
			  long long now)
{
	struct cache_obj *o;
	enum cache_how how;
	char cl[32], *body = malloc(len + 1);
	struct cache_hdr h[] = { { "Cache-Control", cc }, { "Content-Length", cl },
				 { "ETag", "\"e1\"" }, { "Connection", "close, X-Hop" },
				 { "X-Hop", "1" } };

	snprintf(cl, sizeof cl, "%zu", len);
	memset(body, ch, len);
	if (cache_lookup(c, key, now, &o, &how))
		abort();
	if (how == CACHE_FILL) {
		cache_obj_begin(o, 200, h, 5, now, NOW);
		cache_obj_append(o, body, len, now_us() + SEC);
		cache_obj_finish(o, now);
	}
	cache_obj_unref(o);
	free(body);
	return how;
}

static enum cache_how probe(struct cache *c, const char *key, long long now)
{
	struct cache_obj *o;
	enum cache_how how;

	if (cache_lookup(c, key, now, &o, &how))
		return (enum cache_how)-1;
	if (how == CACHE_FILL)
		cache_obj_fail(o, CDNI_EUPSTREAM); /* leave no trace */
	cache_obj_unref(o);
	return how;
}

static void hits_and_meta(void)
{
	struct cache *c = mk(1 << 20, 1 << 18, 0, 0);
	struct cache_obj *o;
	enum cache_how how;
	const struct cache_meta *m;
	const unsigned char *b;
	size_t len = 0;

	is_int(put(c, "h/a", 1000, 'a', "max-age=60", 0), CACHE_FILL, "first lookup: fill");
	cache_lookup(c, "h/a", 1 * SEC, &o, &how);
	is_int(how, CACHE_HIT, "second lookup: hit");
	m = cache_obj_meta(o);
	ok(m && m->status == 200 && m->length == 1000 && m->stored, "meta: status, length, stored");
	is_str(m ? m->etag : NULL, "\"e1\"", "meta: ETag");
	ok(m && !cache_hdr_get(m->hdrs, m->nhdrs, "Connection") &&
	   !cache_hdr_get(m->hdrs, m->nhdrs, "X-Hop") &&
	   !cache_hdr_get(m->hdrs, m->nhdrs, "Content-Length") &&
	   cache_hdr_get(m->hdrs, m->nhdrs, "Cache-Control"),
	   "hop-by-hop (and Connection-listed) headers dropped, others kept");
	b = cache_obj_body(o, &len);
	ok(b && len == 1000 && b[0] == 'a' && b[999] == 'a', "whole body available");
	is_int(cache_obj_age(o, 11 * SEC), 11, "Age grows with time");
	cache_obj_unref(o);
	is_int(probe(c, "h/a", 61 * SEC), CACHE_FILL, "after max-age: stale, refetched");
	is_int(put(c, "h/b", 10, 'b', "no-store", 0), CACHE_FILL, "no-store fill");
	is_int(probe(c, "h/b", 0), CACHE_FILL, "no-store: next lookup fills again");
	cache_free(c);
}

static void lru_and_bound(void)
{
	/* room for three 20000-byte objects with their bookkeeping, not four */
	struct cache *c = mk(70000, 30000, 0, 0);
	struct cache_stats st;
	int over = 0;

	put(c, "k/1", 20000, '1', "max-age=60", 0);
	put(c, "k/2", 20000, '2', "max-age=60", 0);
	put(c, "k/3", 20000, '3', "max-age=60", 0);
	is_int(probe(c, "k/1", 1), CACHE_HIT, "k/1 hit (now most recently used)");
	put(c, "k/4", 20000, '4', "max-age=60", 2);
	is_int(probe(c, "k/2", 3), CACHE_FILL, "k/2, the least recently used, was evicted");
	is_int(probe(c, "k/1", 4), CACHE_HIT, "k/1 kept");
	is_int(probe(c, "k/3", 5), CACHE_HIT, "k/3 kept");
	is_int(probe(c, "k/4", 6), CACHE_HIT, "k/4 stored");
	for (int i = 0; i < 50; i++) {
		char k[16];
		snprintf(k, sizeof k, "m/%d", i);
		put(c, k, 1000 + (size_t)i * 300, 'm', "max-age=60", 10);
		cache_stats(c, &st);
		over += st.bytes > 70000;
	}
	is_int(over, 0, "charged bytes never exceed the bound over 50 inserts");
	cache_stats(c, &st);
	ok(st.evictions > 0 && st.objects > 1, "evictions happened (%llu), objects remain (%zu)",
	   st.evictions, st.objects);
	is_int(put(c, "big", 30001, 'b', "max-age=60", 20), CACHE_FILL, "object over max_object");
	is_int(probe(c, "big", 21), CACHE_FILL, "... was streamed through, not stored");
	cache_free(c);
}

static void refs_keep_alive(void)
{
	struct cache *c = mk(70000, 40000, 0, 0);
	struct cache_obj *o;
	enum cache_how how;
	struct cache_stats st;
	const unsigned char *b;
	size_t len = 0;

	put(c, "r/1", 30000, 'x', "max-age=60", 0);
	put(c, "r/2", 30000, 'y', "max-age=60", 0);
	cache_lookup(c, "r/1", 0, &o, &how);
	b = cache_obj_body(o, &len);
	put(c, "r/2", 30000, 'y', "max-age=60", 0); /* r/1 is now the least recently used */
	put(c, "r/3", 30000, 'z', "max-age=60", 0); /* evicts r/1, then r/2 (r/1 still charged) */
	is_int(probe(c, "r/1", 0), CACHE_FILL, "r/1 evicted from the index");
	is_int(probe(c, "r/2", 0), CACHE_FILL, "r/2 too: r/1's bytes still count");
	is_int(probe(c, "r/3", 0), CACHE_HIT, "r/3 stored");
	cache_stats(c, &st);
	ok(b && len == 30000 && b[0] == 'x' && b[29999] == 'x', "a holder still reads r/1's bytes");
	is_int((long long)st.live, 2, "r/1 is still alive while referenced");
	ok(st.bytes > 60000 && st.bytes <= 70000, "and still charged (%zu bytes)", st.bytes);
	is_int(put(c, "r/4", 39900, 'w', "max-age=60", 0), CACHE_FILL, "r/4 fill");
	is_int(probe(c, "r/4", 0), CACHE_FILL,
	       "r/4 not stored: evicting r/3 is not enough while r/1 is read");
	cache_obj_unref(o);
	cache_stats(c, &st);
	is_int((long long)st.live, 0, "r/1 freed on the last reference");
	is_int((long long)st.bytes, 0, "and its charge returned");
	cache_free(c);
}

/* ---- collapsed forwarding with threads ---- */

struct joiner {
	struct cache *c;
	enum cache_how how;
	size_t got;
	int rc;
	char first, last;
};

static void *join_and_read(void *arg)
{
	struct joiner *j = arg;
	struct cache_obj *o;
	struct cache_reader r = { 0 };
	char buf[700];
	size_t n;
	unsigned v;

	if (cache_lookup(j->c, "co/x", 0, &o, &j->how))
		return NULL;
	cache_reader_attach(&r, o);
	cache_obj_unref(o);
	for (;;) {
		j->rc = cache_reader_read(&r, buf, sizeof buf, &n, &v);
		if (j->rc != 0)
			break;
		if (n == 0) {
			cache_reader_wait(&r, v, now_us() + 5 * SEC);
			continue;
		}
		if (j->got == 0)
			j->first = buf[0];
		j->last = buf[n - 1];
		j->got += n;
	}
	cache_reader_detach(&r);
	return NULL;
}

static void collapsing(void)
{
	struct cache *c = mk(1 << 20, 1 << 19, 0, 0);
	struct cache_hdr h[] = { { "Cache-Control", "max-age=60" }, { "Content-Length", "10000" } };
	struct joiner j[2] = { { .c = c }, { .c = c } };
	pthread_t t[2];
	struct cache_obj *o;
	enum cache_how how;
	struct cache_stats st;
	char chunk[1000];

	cache_lookup(c, "co/x", 0, &o, &how);
	is_int(how, CACHE_FILL, "first request starts the fill");
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, join_and_read, &j[i]);
	usleep(50000); /* let both join and wait for the headers */
	cache_obj_begin(o, 200, h, 2, 0, NOW);
	for (int i = 0; i < 10; i++) {
		memset(chunk, 'a' + i, sizeof chunk);
		cache_obj_append(o, chunk, sizeof chunk, now_us() + SEC);
		usleep(2000);
	}
	cache_obj_finish(o, 0);
	cache_obj_unref(o);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		is_int(j[i].how, CACHE_JOINED, "waiter %d joined the fill in progress", i);
		ok(j[i].rc == CACHE_READ_EOF && j[i].got == 10000 && j[i].first == 'a' &&
		   j[i].last == 'j', "waiter %d streamed all 10000 bytes in order (%zu)", i, j[i].got);
	}
	cache_stats(c, &st);
	ok(st.misses == 1 && st.joins == 2, "one fill for three requests (misses %llu, joins %llu)",
	   st.misses, st.joins);
	is_int(probe(c, "co/x", 1), CACHE_HIT, "then a hit");
	cache_free(c);
}

static void failures(void)
{
	struct cache *c = mk(1 << 20, 1 << 19, 0, 0);
	struct cache_hdr h[] = { { "Cache-Control", "max-age=60" }, { "Content-Length", "100" } };
	struct cache_obj *o;
	struct cache_reader r = { 0 };
	enum cache_how how;
	char buf[200];
	size_t n;
	unsigned v;

	cache_lookup(c, "f/1", 0, &o, &how);
	cache_reader_attach(&r, o);
	cache_obj_begin(o, 200, h, 2, 0, NOW);
	cache_obj_append(o, buf, 40, now_us() + SEC);
	cache_obj_fail(o, CDNI_ETIMEDOUT);
	is_int(cache_reader_read(&r, buf, sizeof buf, &n, &v), CDNI_ETIMEDOUT,
	       "reader of a failed fill gets the failure");
	cache_reader_detach(&r);
	cache_obj_unref(o);
	is_int(probe(c, "f/1", 0), CACHE_FILL, "failed fill discarded: next lookup fills again");

	cache_lookup(c, "f/2", 0, &o, &how);
	cache_obj_begin(o, 200, h, 2, 0, NOW);
	cache_obj_append(o, buf, 60, now_us() + SEC);
	is_int(cache_obj_finish(o, 0), CDNI_EPARSE, "finish short of Content-Length fails");
	cache_obj_unref(o);
	is_int(probe(c, "f/2", 0), CACHE_FILL, "short object never served");

	cache_lookup(c, "f/3", 0, &o, &how);
	cache_obj_begin(o, 200, h, 2, 0, NOW);
	is_int(cache_obj_append(o, buf, 101, now_us() + SEC), CDNI_EOVERFLOW,
	       "more than Content-Length refused");
	cache_obj_fail(o, CDNI_EOVERFLOW);
	cache_obj_unref(o);
	cache_free(c);
}

/* ---- streamed-through windows ---- */

struct slow_reader {
	struct cache_reader r;
	size_t got;
	int rc, bad;
};

static void *read_slowly(void *arg)
{
	struct slow_reader *s = arg;
	unsigned char buf[3000];
	size_t n;
	unsigned v;

	for (;;) {
		s->rc = cache_reader_read(&s->r, buf, sizeof buf, &n, &v);
		if (s->rc != 0)
			break;
		if (n == 0) {
			cache_reader_wait(&s->r, v, now_us() + 5 * SEC);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			s->bad += buf[i] != (unsigned char)((s->got + i) % 251);
		s->got += n;
		usleep(200);
	}
	return NULL;
}

static void windows(void)
{
	struct cache *c = mk(1 << 20, 20000, 0, 8192);
	struct cache_hdr h[] = { { "Cache-Control", "max-age=60" } }; /* no length */
	struct slow_reader s = { 0 };
	unsigned char chunk[5000];
	struct cache_obj *o;
	enum cache_how how;
	pthread_t t;
	size_t sent = 0;
	int rc = 0;

	cache_lookup(c, "w/1", 0, &o, &how);
	cache_reader_attach(&s.r, o);
	cache_obj_begin(o, 200, h, 1, 0, NOW);
	pthread_create(&t, NULL, read_slowly, &s);
	while (sent < 200000 && rc == 0) {
		for (size_t i = 0; i < sizeof chunk; i++)
			chunk[i] = (unsigned char)((sent + i) % 251);
		rc = cache_obj_append(o, chunk, sizeof chunk, now_us() + 5 * SEC);
		sent += sizeof chunk;
	}
	cache_obj_finish(o, 0);
	pthread_join(t, NULL);
	ok(rc == 0 && s.rc == CACHE_READ_EOF && s.got == 200000 && s.bad == 0,
	   "unknown length outgrew max_object: 200000 bytes streamed intact through the window");
	ok(!cache_obj_body(o, &sent), "no whole body kept");
	cache_reader_detach(&s.r);
	cache_obj_unref(o);
	is_int(probe(c, "w/1", 1), CACHE_FILL, "not stored");

	/* every reader left: the filler is told to stop */
	cache_lookup(c, "w/2", 0, &o, &how);
	cache_reader_attach(&s.r, o);
	h[0].value = "no-store";
	cache_obj_begin(o, 200, h, 1, 0, NOW);
	cache_reader_detach(&s.r);
	is_int(cache_obj_append(o, chunk, sizeof chunk, now_us() + SEC), CDNI_ECLOSED,
	       "no readers left on a streamed-through object: stop fetching");
	cache_obj_fail(o, CDNI_ECLOSED);
	cache_obj_unref(o);

	/* a reader that never reads: the window fills and the filler times out */
	cache_lookup(c, "w/3", 0, &o, &how);
	cache_reader_attach(&s.r, o);
	cache_obj_begin(o, 200, h, 1, 0, NOW);
	rc = 0;
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = cache_obj_append(o, chunk, sizeof chunk, now_us() + 100000);
	is_int(rc, CDNI_ETIMEDOUT, "full window and a stalled reader: the filler's deadline passes");
	cache_obj_fail(o, rc);
	cache_reader_detach(&s.r);
	cache_obj_unref(o);
	cache_free(c);
}

/* ---- parking (event-loop style waiting) ---- */

static int parked, woken;
static void park_fn(void *arg) { (void)arg; parked++; }
static void wake_fn(void *arg) { (void)arg; woken++; }

static void parking(void)
{
	struct cache *c = mk(1 << 20, 1 << 19, 0, 0);
	struct cache_hdr h[] = { { "Cache-Control", "max-age=60" }, { "Content-Length", "5" } };
	struct cache_reader r = { .w = { .wake = wake_fn } };
	struct cache_obj *o;
	enum cache_how how;
	char buf[8];
	size_t n;
	unsigned v;

	cache_lookup(c, "p/1", 0, &o, &how);
	cache_reader_attach(&r, o);
	cache_reader_read(&r, buf, sizeof buf, &n, &v);
	is_int(cache_reader_park(&r, v, park_fn, NULL), 0, "parked while nothing is there");
	ok(parked == 1 && woken == 0, "park function called under the lock, not woken yet");
	cache_obj_begin(o, 200, h, 2, 0, NOW);
	is_int(woken, 1, "headers wake the parked reader once");
	is_int(cache_reader_park(&r, v, park_fn, NULL), 1, "stale version: not parked");
	cache_reader_read(&r, buf, sizeof buf, &n, &v);
	cache_reader_park(&r, v, park_fn, NULL);
	cache_obj_append(o, "hello", 5, now_us() + SEC);
	is_int(woken, 2, "data wakes it again");
	cache_reader_read(&r, buf, sizeof buf, &n, &v);
	ok(n == 5 && memcmp(buf, "hello", 5) == 0, "and the data is there");
	cache_reader_park(&r, v, park_fn, NULL);
	cache_reader_detach(&r); /* a parked reader may leave */
	cache_obj_finish(o, 0);
	is_int(woken, 2, "a detached reader is not woken");
	cache_obj_unref(o);
	cache_free(c);
}

static void closing(void)
{
	struct cache *c = mk(1 << 20, 1 << 19, 0, 0);
	struct cache_obj *o, *p;
	struct cache_reader r = { 0 };
	enum cache_how how;
	char buf[8];
	size_t n;
	unsigned v;

	put(c, "c/hit", 10, 'h', "max-age=60", 0);
	cache_lookup(c, "c/1", 0, &o, &how);
	cache_reader_attach(&r, o);
	cache_close(c);
	is_int(cache_reader_read(&r, buf, sizeof buf, &n, &v), CDNI_ECLOSED, "close fails fills");
	is_int(cache_lookup(c, "c/2", 0, &p, &how), CDNI_ECLOSED, "no new fills after close");
	is_int(probe(c, "c/hit", 1), CACHE_HIT, "hits still served while closing");
	is_int(cache_obj_new_private(c, "c/3", &p), CDNI_ECLOSED, "no private fills either");
	cache_reader_detach(&r);
	cache_obj_unref(o);
	cache_free(c);
}

static void private_fill(void)
{
	struct cache *c = mk(1 << 20, 1 << 19, 0, 0);
	struct cache_hdr h[] = { { "Cache-Control", "max-age=60" } };
	struct cache_obj *o;

	ok(cache_obj_new_private(c, "pv/1", &o) == 0, "private object");
	cache_obj_begin(o, 200, h, 1, 0, NOW);
	cache_obj_append(o, "abc", 3, now_us() + SEC);
	cache_obj_finish(o, 0);
	ok(!cache_obj_meta(o)->stored, "a private object is never stored");
	cache_obj_unref(o);
	is_int(probe(c, "pv/1", 0), CACHE_FILL, "and nobody finds it");
	cache_free(c);
}

int main(void)
{
	freshness_rules();
	header_rules();
	hits_and_meta();
	lru_and_bound();
	refs_keep_alive();
	collapsing();
	failures();
	windows();
	parking();
	closing();
	private_fill();
	return done_testing();
}
