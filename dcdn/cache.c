/* cdni-dcdn — the object cache (see cache.h).
 *
 * Locks: c->lock guards the index, the LRU list, the counters and each
 * object's indexed/in_lru flags; o->lock guards an object's state, body,
 * readers and waiters. Order: c->lock before o->lock, never the reverse.
 * Reference counts are atomic; dropping the last one frees the object
 * without taking any lock (the charge is returned to an atomic counter), so
 * it is safe from any thread, including libmicrohttpd's free callbacks. */
#include "dcdn/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/err.h"
#include "common/http.h"

#define MMAP_MIN (64u * 1024u)   /* bodies this big get their own mapping */
#define GROW_FIRST (64u * 1024u) /* first buffer when the length is unknown */
#define WINDOW_DEFAULT (256u * 1024u)
#define NS_PER_US 1000LL

struct cache {
	struct cache_conf conf;
	pthread_mutex_t lock;
	struct cache_obj **buckets;
	size_t nbuckets, nobjects;
	struct cache_obj *lru_head, *lru_tail; /* head: most recently used */
	bool closed;
	uint64_t seed;
	atomic_size_t used, live;
	unsigned long long hits, misses, joins, evictions;
};

struct cache_obj {
	struct cache *c;
	atomic_int refs;
	/* c->lock */
	struct cache_obj *hnext, *lprev, *lnext;
	bool indexed, in_lru;
	uint64_t hash;
	size_t charge; /* the filler's, settled before the object is freed */
	/* o->lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum cache_state state;
	int err;
	unsigned version;
	bool window;       /* streamed through: bytes below every reader dropped */
	bool fill_waiting; /* the filler waits for window room */
	bool meta_ready;   /* meta published (cache_obj_begin done) */
	struct cache_meta meta;
	void *meta_block;
	size_t meta_bytes;
	unsigned char *body;
	size_t cap, len; /* body[0..len) holds body bytes base..base+len */
	uint64_t base;
	struct cache_reader *readers;
	size_t nreaders;
	struct cache_waiter *waiters;
	long long received_us, expires_us, age0_s;
	char key[];
};

/* ------------------------------------------------------------------ */
/* headers and freshness                                                */

const char *cache_hdr_get(const struct cache_hdr *h, size_t n, const char *name)
{
	for (size_t i = n; i-- > 0;)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

bool cache_hdr_hop_by_hop(const char *name)
{
	static const char *const hop[] = {
		"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization",
		"Content-Length", "Date", "Age", "X-Cache", NULL
	};

	for (size_t i = 0; hop[i]; i++)
		if (strcasecmp(name, hop[i]) == 0)
			return true;
	return false;
}

/* Is name one of the comma-separated tokens of a Connection header? */
static bool connection_lists(const char *conn, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = conn; p && *p;) {
		size_t len;
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		len = strcspn(p, ", \t");
		if (len == nlen && strncasecmp(p, name, len) == 0)
			return true;
		p += len;
	}
	return false;
}

static long long header_int(const char *v)
{
	long long x = 0;

	if (!v || !*v)
		return -1;
	for (; *v >= '0' && *v <= '9'; v++) {
		if (x > (1LL << 52))
			return -1;
		x = x * 10 + (*v - '0');
	}
	return *v ? -1 : x;
}

/* The lifetime the response itself states, or -1 when it states none. */
static long long stated_lifetime(const struct cache_hdr *h, size_t n,
				 const struct http_cache_control *cc, time_t now)
{
	const char *exp = cache_hdr_get(h, n, "Expires"), *date;
	time_t e, d;

	if (cc->s_maxage >= 0)
		return cc->s_maxage;
	if (cc->max_age >= 0)
		return cc->max_age;
	if (!exp)
		return -1;
	e = http_date_parse(exp);
	if (e == (time_t)-1)
		return 0; /* an invalid Expires means "already expired" */
	date = cache_hdr_get(h, n, "Date");
	d = date ? http_date_parse(date) : (time_t)-1;
	if (d == (time_t)-1)
		d = now;
	return e > d ? (long long)(e - d) : 0;
}

static const char *not_storable(int status, const struct cache_hdr *h, size_t n,
				const struct http_cache_control *cc)
{
	const char *vary = cache_hdr_get(h, n, "Vary");

	if (cc->no_store)
		return "no-store";
	if (cc->private_)
		return "private";
	if (cc->no_cache)
		return "no-cache";
	if (cache_hdr_get(h, n, "Set-Cookie"))
		return "Set-Cookie";
	if (vary && strchr(vary, '*'))
		return "Vary: *";
	if (status != 200)
		return "status";
	return NULL;
}

void cache_freshness(int status, const struct cache_hdr *h, size_t n, long long default_ttl_s,
		     time_t now, struct cache_fresh *out)
{
	struct http_cache_control cc;
	long long life, age = header_int(cache_hdr_get(h, n, "Age"));

	http_cache_control_parse(cache_hdr_get(h, n, "Cache-Control"), &cc);
	memset(out, 0, sizeof *out);
	out->age_s = age > 0 ? age : 0;
	out->share = !(cc.no_store || cc.private_ || cc.no_cache || cache_hdr_get(h, n, "Set-Cookie"));
	out->why = not_storable(status, h, n, &cc);
	if (out->why)
		return;
	life = stated_lifetime(h, n, &cc, now);
	if (life < 0)
		life = default_ttl_s;
	out->ttl_s = life - out->age_s;
	if (out->ttl_s <= 0) {
		out->ttl_s = 0;
		out->why = life > 0 ? "too old" : "no freshness";
		return;
	}
	out->store = true;
}

/* ------------------------------------------------------------------ */
/* body memory: big bodies get their own mapping, returned on free      */

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

/* The bytes an allocation of n really takes (what is charged). */
static size_t body_round(size_t n)
{
	size_t ps = page_size();

	return n >= MMAP_MIN ? (n + ps - 1) / ps * ps : n;
}

static void *body_alloc(size_t n)
{
	void *p;

	if (n < MMAP_MIN)
		return malloc(n ? n : 1);
	p = mmap(NULL, body_round(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void body_release(void *p, size_t n)
{
	if (!p)
		return;
	if (n < MMAP_MIN)
		free(p);
	else
		munmap(p, body_round(n));
}

/* Resize keeping the first keep bytes; NULL on failure (p left intact). */
static void *body_resize(void *p, size_t old, size_t n, size_t keep)
{
	void *q;

	if (old >= MMAP_MIN && n >= MMAP_MIN) {
		q = mremap(p, body_round(old), body_round(n), MREMAP_MAYMOVE);
		return q == MAP_FAILED ? NULL : q;
	}
	if (old < MMAP_MIN && n < MMAP_MIN)
		return realloc(p, n ? n : 1);
	q = body_alloc(n);
	if (q) {
		memcpy(q, p, keep);
		body_release(p, old);
	}
	return q;
}

/* ------------------------------------------------------------------ */
/* index and LRU (c->lock held)                                         */

static uint64_t key_hash(uint64_t seed, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static struct cache_obj **bucket(struct cache *c, uint64_t hash)
{
	return &c->buckets[hash & (c->nbuckets - 1)];
}

static void index_grow(struct cache *c)
{
	size_t n = c->nbuckets * 2;
	struct cache_obj **nb = calloc(n, sizeof *nb), *o, *next;

	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++)
		for (o = c->buckets[i]; o; o = next) {
			next = o->hnext;
			o->hnext = nb[o->hash & (n - 1)];
			nb[o->hash & (n - 1)] = o;
		}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

static struct cache_obj *index_find(struct cache *c, const char *key, uint64_t hash)
{
	for (struct cache_obj *o = *bucket(c, hash); o; o = o->hnext)
		if (o->hash == hash && strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static void index_add(struct cache *c, struct cache_obj *o)
{
	struct cache_obj **b = bucket(c, o->hash);

	o->hnext = *b;
	*b = o;
	o->indexed = true;
	if (++c->nobjects > c->nbuckets)
		index_grow(c);
}

static void lru_unlink(struct cache *c, struct cache_obj *o)
{
	if (!o->in_lru)
		return;
	if (o->lprev)
		o->lprev->lnext = o->lnext;
	else
		c->lru_head = o->lnext;
	if (o->lnext)
		o->lnext->lprev = o->lprev;
	else
		c->lru_tail = o->lprev;
	o->lprev = o->lnext = NULL;
	o->in_lru = false;
}

static void lru_push(struct cache *c, struct cache_obj *o)
{
	o->lprev = NULL;
	o->lnext = c->lru_head;
	if (c->lru_head)
		c->lru_head->lprev = o;
	else
		c->lru_tail = o;
	c->lru_head = o;
	o->in_lru = true;
}

/* Take o out of the index and the LRU list and drop the index's reference.
 * The caller must hold its own reference if it goes on using o. */
static void index_remove(struct cache *c, struct cache_obj *o)
{
	struct cache_obj **pp = bucket(c, o->hash);

	if (!o->indexed)
		return;
	while (*pp && *pp != o)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = o->hnext;
	o->hnext = NULL;
	o->indexed = false;
	c->nobjects--;
	lru_unlink(c, o);
	cache_obj_unref(o);
}

/* Evict from the LRU tail until need more bytes fit; then charge them to o.
 * Evicted objects still read by someone stay charged until freed. */
static int admit_locked(struct cache *c, struct cache_obj *o, size_t need)
{
	while (c->lru_tail && atomic_load(&c->used) + need > c->conf.max_bytes) {
		index_remove(c, c->lru_tail);
		c->evictions++;
	}
	if (atomic_load(&c->used) + need > c->conf.max_bytes)
		return CDNI_EOVERFLOW;
	atomic_fetch_add(&c->used, need);
	o->charge += need;
	return 0;
}

/* ------------------------------------------------------------------ */
/* objects                                                              */

static struct cache_obj *obj_new(struct cache *c, const char *key, uint64_t hash)
{
	size_t klen = strlen(key);
	struct cache_obj *o = calloc(1, sizeof *o + klen + 1);
	pthread_condattr_t ca;

	if (!o)
		return NULL;
	memcpy(o->key, key, klen + 1);
	o->c = c;
	o->hash = hash;
	atomic_init(&o->refs, 1);
	pthread_mutex_init(&o->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->cond, &ca);
	pthread_condattr_destroy(&ca);
	o->meta.length = CACHE_SIZE_UNKNOWN;
	atomic_fetch_add(&c->live, 1);
	return o;
}

static void obj_free(struct cache_obj *o)
{
	struct cache *c = o->c;

	body_release(o->body, o->cap);
	free(o->meta_block);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->cond);
	atomic_fetch_sub(&c->used, o->charge);
	atomic_fetch_sub(&c->live, 1);
	free(o);
}

void cache_obj_ref(struct cache_obj *o)
{
	atomic_fetch_add(&o->refs, 1);
}

void cache_obj_unref(struct cache_obj *o)
{
	if (o && atomic_fetch_sub(&o->refs, 1) == 1)
		obj_free(o);
}

const char *cache_obj_key(const struct cache_obj *o)
{
	return o->key;
}

/* After a change (o->lock held): new version, wake blocked threads, and hand
 * back the parked waiters for the caller to wake once unlocked. */
static struct cache_waiter *changed_locked(struct cache_obj *o)
{
	struct cache_waiter *w = o->waiters;

	o->version++;
	o->waiters = NULL;
	pthread_cond_broadcast(&o->cond);
	return w;
}

static void wake_all(struct cache_waiter *w)
{
	while (w) {
		struct cache_waiter *next = w->next; /* w may be gone once woken */
		w->next = NULL;
		w->wake(w->arg);
		w = next;
	}
}

void cache_obj_view(struct cache_obj *o, struct cache_view *v)
{
	pthread_mutex_lock(&o->lock);
	v->state = o->state;
	v->err = o->err;
	v->received = o->base + o->len;
	v->version = o->version;
	pthread_mutex_unlock(&o->lock);
}

const struct cache_meta *cache_obj_meta(struct cache_obj *o)
{
	bool ready;

	pthread_mutex_lock(&o->lock);
	ready = o->meta_ready;
	pthread_mutex_unlock(&o->lock);
	return ready ? &o->meta : NULL;
}

const unsigned char *cache_obj_body(struct cache_obj *o, size_t *len)
{
	const unsigned char *b = NULL;

	pthread_mutex_lock(&o->lock);
	if (o->state == CACHE_S_DONE && !o->window && o->base == 0) {
		b = o->body ? o->body : (const unsigned char *)"";
		*len = o->len;
	}
	pthread_mutex_unlock(&o->lock);
	return b;
}

long long cache_obj_age(struct cache_obj *o, long long now_us)
{
	long long d = now_us - o->received_us;

	return o->age0_s + (d > 0 ? d / 1000000 : 0);
}

/* ------------------------------------------------------------------ */
/* the store                                                            */

int cache_new(const struct cache_conf *conf, struct cache **out)
{
	struct cache *c = calloc(1, sizeof *c);

	if (!c)
		return CDNI_ENOMEM;
	c->conf = *conf;
	if (!c->conf.window)
		c->conf.window = WINDOW_DEFAULT;
	c->nbuckets = 1024;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets) {
		free(c);
		return CDNI_ENOMEM;
	}
	if (getrandom(&c->seed, sizeof c->seed, 0) != (ssize_t)sizeof c->seed)
		c->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nbuckets; i++)
		while (c->buckets[i])
			index_remove(c, c->buckets[i]);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

void cache_stats(struct cache *c, struct cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	st->bytes = atomic_load(&c->used);
	st->objects = c->nobjects;
	st->live = atomic_load(&c->live);
	st->hits = c->hits;
	st->misses = c->misses;
	st->joins = c->joins;
	st->evictions = c->evictions;
	pthread_mutex_unlock(&c->lock);
}

void cache_close(struct cache *c)
{
	struct cache_obj **v = NULL, *o;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	c->closed = true;
	v = calloc(c->nobjects + 1, sizeof *v);
	for (size_t i = 0; v && i < c->nbuckets; i++)
		for (o = c->buckets[i]; o; o = o->hnext)
			if (!o->in_lru) { /* filling */
				cache_obj_ref(o);
				v[n++] = o;
			}
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		cache_obj_fail(v[i], CDNI_ECLOSED);
		cache_obj_unref(v[i]);
	}
	free(v);
}

/* c->lock held: what to do with an indexed object for this request. */
static enum cache_how found_locked(struct cache *c, struct cache_obj *o, long long now_us)
{
	if (!o->in_lru) {
		c->joins++;
		return CACHE_JOINED;
	}
	if (now_us < o->expires_us) {
		lru_unlink(c, o);
		lru_push(c, o);
		c->hits++;
		return CACHE_HIT;
	}
	index_remove(c, o); /* stale: replaced by a new fill */
	return CACHE_FILL;
}

int cache_lookup(struct cache *c, const char *key, long long now_us, struct cache_obj **out,
		 enum cache_how *how)
{
	uint64_t hash = key_hash(c->seed, key);
	struct cache_obj *o;
	enum cache_how h = CACHE_FILL;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	o = index_find(c, key, hash);
	if (o)
		h = found_locked(c, o, now_us);
	if (h != CACHE_FILL) {
		cache_obj_ref(o);
	} else if (c->closed) {
		rc = CDNI_ECLOSED;
	} else if (!(o = obj_new(c, key, hash))) {
		rc = CDNI_ENOMEM;
	} else {
		cache_obj_ref(o); /* one for the index, one for the caller */
		index_add(c, o);
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	if (rc)
		return rc;
	*out = o;
	*how = h;
	return 0;
}

int cache_obj_new_private(struct cache *c, const char *key, struct cache_obj **out)
{
	struct cache_obj *o;
	bool closed;

	pthread_mutex_lock(&c->lock);
	closed = c->closed;
	if (!closed)
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	if (closed)
		return CDNI_ECLOSED;
	o = obj_new(c, key, 0);
	if (!o)
		return CDNI_ENOMEM;
	*out = o;
	return 0;
}

/* ------------------------------------------------------------------ */
/* filling                                                              */

/* Copy the end-to-end headers into one block; set etag, last_modified,
 * length. */
static int meta_build(struct cache_obj *o, int status, const struct cache_hdr *h, size_t n)
{
	const char *conn = cache_hdr_get(h, n, "Connection");
	size_t bytes = 0, k = 0;
	struct cache_hdr *out;
	char *s;

	for (size_t i = 0; i < n; i++)
		bytes += strlen(h[i].name) + strlen(h[i].value) + 2;
	o->meta_bytes = n * sizeof *out + bytes + 1;
	o->meta_block = malloc(o->meta_bytes);
	if (!o->meta_block)
		return CDNI_ENOMEM;
	out = o->meta_block;
	s = (char *)(out + n);
	for (size_t i = 0; i < n; i++) {
		if (cache_hdr_hop_by_hop(h[i].name) || connection_lists(conn, h[i].name))
			continue;
		out[k].name = strcpy(s, h[i].name);
		s += strlen(s) + 1;
		out[k++].value = strcpy(s, h[i].value);
		s += strlen(s) + 1;
	}
	o->meta.status = status;
	o->meta.hdrs = out;
	o->meta.nhdrs = k;
	o->meta.etag = cache_hdr_get(out, k, "ETag");
	o->meta.last_modified = cache_hdr_get(out, k, "Last-Modified");
	o->meta.length = CACHE_SIZE_UNKNOWN;
	if (header_int(cache_hdr_get(h, n, "Content-Length")) >= 0)
		o->meta.length = (uint64_t)header_int(cache_hdr_get(h, n, "Content-Length"));
	return 0;
}

/* Decide storing and charge for it (c->lock). Returns the body size to
 * allocate; *store tells whether the object is stored or streamed through. */
static size_t admit_or_stream(struct cache_obj *o, const struct cache_fresh *f, bool *stored)
{
	struct cache *c = o->c;
	uint64_t len = o->meta.length;
	bool store = f->store && (len == CACHE_SIZE_UNKNOWN || len <= c->conf.max_object);
	size_t want = len != CACHE_SIZE_UNKNOWN ? (size_t)len
		      : GROW_FIRST < c->conf.max_object ? GROW_FIRST : c->conf.max_object;
	size_t overhead = sizeof *o + strlen(o->key) + 1 + o->meta_bytes;

	pthread_mutex_lock(&c->lock);
	if (store && (!o->indexed || c->closed ||
		      admit_locked(c, o, body_round(want) + overhead) != 0))
		store = false;
	if (!store)
		index_remove(c, o);
	pthread_mutex_unlock(&c->lock);
	*stored = store;
	if (store)
		return want;
	if (len != CACHE_SIZE_UNKNOWN && len < c->conf.window)
		return len ? (size_t)len : 1;
	return c->conf.window;
}

int cache_obj_begin(struct cache_obj *o, int status, const struct cache_hdr *h, size_t n,
		    long long now_us, time_t now)
{
	struct cache_fresh f;
	struct cache_waiter *w;
	bool stored;
	size_t cap;
	void *body;

	if (o->meta_block || meta_build(o, status, h, n) != 0)
		return CDNI_ENOMEM;
	cache_freshness(status, h, n, o->c->conf.default_ttl_s, now, &f);
	o->meta.shared = f.share;
	cap = admit_or_stream(o, &f, &stored);
	o->meta.stored = stored;
	body = body_alloc(cap);
	if (!body)
		return CDNI_ENOMEM;
	pthread_mutex_lock(&o->lock);
	o->meta_ready = true;
	o->window = !stored;
	o->body = body;
	o->cap = cap;
	o->received_us = now_us;
	o->age0_s = f.age_s;
	o->expires_us = now_us + f.ttl_s * 1000000LL;
	if (o->state == CACHE_S_HEADERS)
		o->state = CACHE_S_BODY;
	w = changed_locked(o);
	pthread_mutex_unlock(&o->lock);
	wake_all(w);
	return 0;
}

static uint64_t min_reader_pos(const struct cache_obj *o)
{
	uint64_t m = UINT64_MAX;

	for (const struct cache_reader *r = o->readers; r; r = r->next)
		if (r->pos < m)
			m = r->pos;
	return m;
}

/* Window mode (o->lock): drop the bytes every reader has passed, and skip
 * incoming bytes no reader wants. Returns how many of len to skip. */
static size_t window_compact(struct cache_obj *o, size_t len)
{
	uint64_t m = min_reader_pos(o), drop;

	if (m <= o->base)
		return 0;
	drop = m - o->base < o->len ? m - o->base : o->len;
	memmove(o->body, o->body + drop, o->len - (size_t)drop);
	o->len -= (size_t)drop;
	o->base += drop;
	if (o->len == 0 && m > o->base) {
		uint64_t skip = m - o->base < len ? m - o->base : len;
		o->base += skip;
		return (size_t)skip;
	}
	return 0;
}

static int timed_wait(struct cache_obj *o, long long deadline_us)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_us / 1000000),
			       .tv_nsec = (long)(deadline_us % 1000000) * NS_PER_US };

	return pthread_cond_timedwait(&o->cond, &o->lock, &ts) == ETIMEDOUT ? CDNI_ETIMEDOUT : 0;
}

/* Window mode (o->lock): place what fits; wait when full. */
static int window_put(struct cache_obj *o, const unsigned char **data, size_t *len,
		      long long deadline_us)
{
	size_t skip, room, n;

	if (o->nreaders == 0)
		return CDNI_ECLOSED;
	skip = window_compact(o, *len);
	*data += skip;
	*len -= skip;
	room = o->cap - o->len;
	if (*len && room == 0) {
		int rc;
		o->fill_waiting = true;
		rc = timed_wait(o, deadline_us);
		o->fill_waiting = false;
		return rc;
	}
	n = room < *len ? room : *len;
	memcpy(o->body + o->len, *data, n);
	o->len += n;
	*data += n;
	*len -= n;
	return 0;
}

/* Stored, length unknown (o->lock): grow the body, charging the cache; when
 * the cache cannot take it (full, or past max_object), stream through. */
static int stored_grow(struct cache_obj *o, size_t need)
{
	struct cache *c = o->c;
	size_t ncap = o->cap * 2 > o->len + need ? o->cap * 2 : o->len + need;
	bool ok = false;
	void *nb;

	if (ncap > c->conf.max_object)
		ncap = c->conf.max_object;
	pthread_mutex_unlock(&o->lock); /* lock order: c before o */
	pthread_mutex_lock(&c->lock);
	if (o->len + need <= ncap && o->indexed &&
	    admit_locked(c, o, body_round(ncap) - body_round(o->cap)) == 0)
		ok = true;
	else
		index_remove(c, o);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&o->lock);
	if (!ok) {
		o->window = true; /* keep the buffer we have as the window */
		return 0;
	}
	nb = body_resize(o->body, o->cap, ncap, o->len);
	if (!nb)
		return CDNI_ENOMEM;
	o->body = nb;
	o->cap = ncap;
	return 0;
}

static int stored_put(struct cache_obj *o, const unsigned char **data, size_t *len)
{
	int rc;

	if (o->len + *len > o->cap) {
		if (o->meta.length != CACHE_SIZE_UNKNOWN)
			return CDNI_EOVERFLOW; /* more than Content-Length said */
		if ((rc = stored_grow(o, *len)) != 0 || o->window)
			return rc;
	}
	memcpy(o->body + o->len, *data, *len);
	o->len += *len;
	*data += *len;
	*len = 0;
	return 0;
}

int cache_obj_append(struct cache_obj *o, const void *data, size_t len, long long deadline_us)
{
	const unsigned char *p = data;
	struct cache_waiter *w;
	int rc = 0;

	pthread_mutex_lock(&o->lock);
	while (len && rc == 0) {
		if (o->state != CACHE_S_BODY)
			rc = o->state == CACHE_S_FAILED ? CDNI_ECLOSED : CDNI_EINVAL;
		else if (o->window)
			rc = window_put(o, &p, &len, deadline_us);
		else
			rc = stored_put(o, &p, &len);
		if (rc == 0 && len == 0)
			break;
		if (rc == 0 && o->len) { /* let readers see what is in so far */
			w = changed_locked(o);
			pthread_mutex_unlock(&o->lock);
			wake_all(w);
			pthread_mutex_lock(&o->lock);
		}
	}
	w = changed_locked(o);
	pthread_mutex_unlock(&o->lock);
	wake_all(w);
	return rc;
}

/* A stored object's body shrinks to what came (o->lock): unknown lengths
 * grew by doubling. Returns the bytes given back. */
static size_t stored_trim(struct cache_obj *o)
{
	void *nb;
	size_t back;

	if (o->window || body_round(o->len) >= body_round(o->cap))
		return 0;
	nb = body_resize(o->body, o->cap, o->len, o->len);
	if (!nb)
		return 0;
	back = body_round(o->cap) - body_round(o->len);
	o->body = nb;
	o->cap = o->len;
	return back;
}

int cache_obj_finish(struct cache_obj *o, long long now_us)
{
	struct cache *c = o->c;
	struct cache_waiter *w;
	uint64_t got;
	size_t back;

	(void)now_us;
	pthread_mutex_lock(&o->lock);
	got = o->base + o->len;
	if (o->state != CACHE_S_BODY ||
	    (o->meta.length != CACHE_SIZE_UNKNOWN && got != o->meta.length)) {
		pthread_mutex_unlock(&o->lock);
		cache_obj_fail(o, CDNI_EPARSE);
		return CDNI_EPARSE;
	}
	back = stored_trim(o);
	o->state = CACHE_S_DONE;
	w = changed_locked(o);
	pthread_mutex_unlock(&o->lock);
	pthread_mutex_lock(&c->lock);
	o->charge -= back;
	atomic_fetch_sub(&c->used, back);
	if (o->indexed && !o->window)
		lru_push(c, o);
	else
		index_remove(c, o);
	pthread_mutex_unlock(&c->lock);
	wake_all(w);
	return 0;
}

void cache_obj_fail(struct cache_obj *o, int err)
{
	struct cache *c = o->c;
	struct cache_waiter *w = NULL;

	pthread_mutex_lock(&c->lock);
	if (!o->in_lru)
		index_remove(c, o);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&o->lock);
	if (o->state == CACHE_S_HEADERS || o->state == CACHE_S_BODY) {
		o->state = CACHE_S_FAILED;
		o->err = err < 0 ? err : CDNI_EUPSTREAM;
		w = changed_locked(o);
	}
	pthread_mutex_unlock(&o->lock);
	wake_all(w);
}

/* ------------------------------------------------------------------ */
/* reading                                                              */

void cache_reader_attach(struct cache_reader *r, struct cache_obj *o)
{
	cache_obj_ref(o);
	r->o = o;
	r->pos = 0;
	r->w.next = NULL;
	pthread_mutex_lock(&o->lock);
	r->prev = NULL;
	r->next = o->readers;
	if (o->readers)
		o->readers->prev = r;
	o->readers = r;
	o->nreaders++;
	pthread_mutex_unlock(&o->lock);
}

static void unpark_locked(struct cache_obj *o, struct cache_waiter *w)
{
	for (struct cache_waiter **pp = &o->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			w->next = NULL;
			return;
		}
}

void cache_reader_detach(struct cache_reader *r)
{
	struct cache_obj *o = r->o;

	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		o->readers = r->next;
	if (r->next)
		r->next->prev = r->prev;
	o->nreaders--;
	unpark_locked(o, &r->w);
	if (o->fill_waiting)
		pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	r->o = NULL;
	cache_obj_unref(o);
}

void cache_reader_seek(struct cache_reader *r, uint64_t pos)
{
	pthread_mutex_lock(&r->o->lock);
	r->pos = pos;
	if (r->o->fill_waiting)
		pthread_cond_broadcast(&r->o->cond);
	pthread_mutex_unlock(&r->o->lock);
}

static int read_locked(struct cache_obj *o, struct cache_reader *r, void *buf, size_t max,
		       size_t *got)
{
	size_t n;

	if (o->state == CACHE_S_FAILED)
		return o->err;
	if (o->state == CACHE_S_HEADERS)
		return 0;
	if (r->pos < o->base)
		return CDNI_EINVAL; /* dropped: cannot happen to an attached reader */
	if (r->pos < o->base + o->len) {
		n = (size_t)(o->base + o->len - r->pos);
		n = n < max ? n : max;
		memcpy(buf, o->body + (r->pos - o->base), n);
		r->pos += n;
		*got = n;
		if (o->fill_waiting)
			pthread_cond_broadcast(&o->cond);
		return 0;
	}
	return o->state == CACHE_S_DONE ? CACHE_READ_EOF : 0;
}

int cache_reader_read(struct cache_reader *r, void *buf, size_t max, size_t *got,
		      unsigned *version)
{
	struct cache_obj *o = r->o;
	int rc;

	*got = 0;
	pthread_mutex_lock(&o->lock);
	*version = o->version;
	rc = read_locked(o, r, buf, max, got);
	pthread_mutex_unlock(&o->lock);
	return rc;
}

int cache_reader_wait(struct cache_reader *r, unsigned seen, long long deadline_us)
{
	struct cache_obj *o = r->o;
	int rc = 0;

	pthread_mutex_lock(&o->lock);
	while (o->version == seen && rc == 0)
		rc = timed_wait(o, deadline_us);
	if (o->version != seen)
		rc = 0;
	pthread_mutex_unlock(&o->lock);
	return rc;
}

int cache_reader_park(struct cache_reader *r, unsigned seen, void (*park)(void *), void *park_arg)
{
	struct cache_obj *o = r->o;

	pthread_mutex_lock(&o->lock);
	if (o->version != seen) {
		pthread_mutex_unlock(&o->lock);
		return 1;
	}
	r->w.next = o->waiters;
	o->waiters = &r->w;
	park(park_arg);
	pthread_mutex_unlock(&o->lock);
	return 0;
}
