/* cdni-dcdn — the object cache. No sockets, no HTTP library: bytes, headers
 * and time in; objects, verdicts and wake-ups out.
 *
 * An object is one upstream response (status, end-to-end headers, body),
 * found by a key (host + path + query). It is reference-counted: the index
 * holds one reference while the object can be found, every reader or pending
 * response holds one more, so evicting never frees bytes someone still reads.
 *
 * Life of an object:
 *   HEADERS  created by a miss; indexed so later requests for the key join it
 *            (collapsed forwarding) instead of fetching again
 *   BODY     headers in (cache_obj_begin); the body grows as it arrives and
 *            readers stream what is there
 *   DONE     complete; a storable one is put on the LRU list and served as a
 *            hit until it goes stale or is evicted
 *   FAILED   the fetch failed; removed from the index, never served again
 *
 * A response that may not be stored (no-store, private, too big, ...) is
 * taken out of the index when its headers arrive and streamed through a
 * bounded window: bytes every reader has passed are dropped, and the filler
 * waits (backpressure) while the window is full.
 *
 * Byte accounting: an object's charge (body allocation + bookkeeping) is
 * counted from admission until the object is freed, so the bound holds for
 * memory really in use, not only for what the index can find. Streamed-
 * through windows are not charged (each is at most cache_conf.window).
 *
 * Waiting: readers either block (cache_reader_wait, a condition variable) or
 * park a waiter whose wake function is called once on the next change
 * (cache_reader_park), which suits event loops (suspend/resume). */
#ifndef CDNI_DCDN_CACHE_H
#define CDNI_DCDN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CACHE_SIZE_UNKNOWN UINT64_MAX

struct cache_conf {
	size_t max_bytes;         /* bound on bytes charged */
	size_t max_object;        /* bigger bodies are streamed through, never stored */
	long long default_ttl_s;  /* freshness of a 200 without any; 0: not stored */
	size_t window;            /* streamed-through buffer; 0: 256 KiB */
};

struct cache_hdr {
	const char *name;
	const char *value;
};

/* ---- freshness (RFC 9111 §4.2), a pure function of a response ---- */

struct cache_fresh {
	bool store;       /* may be stored and served to later requests */
	bool share;       /* may be handed to requests that joined its fetch */
	long long ttl_s;  /* freshness lifetime left on receipt (> 0 when store) */
	long long age_s;  /* Age on receipt */
	const char *why;  /* why not stored (for logs and tests), else NULL */
};

/* now: wall clock when the response arrived (for Expires and Date). 200 only
 * is stored. Lifetime: s-maxage, else max-age, else Expires - Date (Date
 * absent: now), else default_ttl_s; minus the Age header. Never stored:
 * no-store, private, no-cache, Set-Cookie, Vary: *, a lifetime <= 0.
 * Never shared with joined requests: no-store, private, no-cache, Set-Cookie. */
void cache_freshness(int status, const struct cache_hdr *h, size_t n, long long default_ttl_s,
		     time_t now, struct cache_fresh *out);

/* Case-insensitive header lookup (last one wins); NULL when absent. */
const char *cache_hdr_get(const struct cache_hdr *h, size_t n, const char *name);

/* True for headers a proxy never forwards (RFC 9110 §7.6.1) and for those the
 * cache sets itself (Content-Length, Date, Age, X-Cache). */
bool cache_hdr_hop_by_hop(const char *name);

/* ---- the store ---- */

struct cache;
struct cache_obj;

enum cache_state { CACHE_S_HEADERS, CACHE_S_BODY, CACHE_S_DONE, CACHE_S_FAILED };

/* What an object says about itself once its headers are in (state >= BODY).
 * Immutable from then on and valid as long as a reference is held. */
struct cache_meta {
	int status;
	const struct cache_hdr *hdrs; /* end-to-end headers, hop-by-hop removed */
	size_t nhdrs;
	const char *etag;          /* or NULL */
	const char *last_modified; /* or NULL */
	uint64_t length;           /* Content-Length, or CACHE_SIZE_UNKNOWN */
	bool stored;               /* admitted: will be served as a hit when complete */
	bool shared;               /* joined requests may use it */
};

/* A snapshot of a filling object. */
struct cache_view {
	enum cache_state state;
	int err;           /* with FAILED: why (CDNI_ETIMEDOUT, CDNI_EUPSTREAM, ...) */
	uint64_t received; /* body bytes in so far */
	unsigned version;  /* changes on every event */
};

struct cache_stats {
	size_t bytes;     /* charged now */
	size_t objects;   /* in the index */
	size_t live;      /* allocated (indexed or not) */
	unsigned long long hits, misses, joins, evictions;
};

int cache_new(const struct cache_conf *conf, struct cache **out);
/* Drops the index; every other reference must be gone (readers, fills). */
void cache_free(struct cache *c);
/* Refuse new fills (lookups of missing keys return CDNI_ECLOSED) and fail
 * every fill in progress, waking all waiters. For shutdown. */
void cache_close(struct cache *c);
void cache_stats(struct cache *c, struct cache_stats *st);

enum cache_how {
	CACHE_HIT,    /* complete and fresh */
	CACHE_JOINED, /* a fill for this key is in progress: stream from it */
	CACHE_FILL,   /* new object in HEADERS state: the caller must fill it */
};

/* Find key (any bytes, NUL-terminated) at monotonic time now_us. Returns 0
 * with *out referenced (release with cache_obj_unref) and *how set;
 * CDNI_ECLOSED after cache_close; CDNI_ENOMEM. A stale object is replaced. */
int cache_lookup(struct cache *c, const char *key, long long now_us, struct cache_obj **out,
		 enum cache_how *how);
/* A new object nobody else can find, in HEADERS state, for a request that
 * must fetch on its own (it joined a response that may not be shared). */
int cache_obj_new_private(struct cache *c, const char *key, struct cache_obj **out);

void cache_obj_ref(struct cache_obj *o);
void cache_obj_unref(struct cache_obj *o);
const char *cache_obj_key(const struct cache_obj *o);
void cache_obj_view(struct cache_obj *o, struct cache_view *v);
/* NULL before the headers are in. */
const struct cache_meta *cache_obj_meta(struct cache_obj *o);
/* The whole body when the object is complete and kept whole, else NULL. The
 * bytes stay valid while a reference is held. */
const unsigned char *cache_obj_body(struct cache_obj *o, size_t *len);
/* Age to report at monotonic time now_us (seconds). */
long long cache_obj_age(struct cache_obj *o, long long now_us);

/* ---- filling (one filler per object) ---- */

/* The response's status and headers. now_us: monotonic, now: wall clock.
 * Decides storing, reserves the body (one allocation when the length is
 * known), and wakes the readers. */
int cache_obj_begin(struct cache_obj *o, int status, const struct cache_hdr *h, size_t n,
		    long long now_us, time_t now);
/* Body bytes. May wait for room in a streamed-through window until
 * deadline_us (monotonic) -> CDNI_ETIMEDOUT. CDNI_ECLOSED: nobody wants the
 * rest (every reader of a streamed-through object left, or cache_close()):
 * stop fetching. */
int cache_obj_append(struct cache_obj *o, const void *data, size_t len, long long deadline_us);
/* The body is complete. A stored object becomes a hit. CDNI_EPARSE when fewer
 * bytes came than Content-Length said (the object is failed). */
int cache_obj_finish(struct cache_obj *o, long long now_us);
/* The fetch failed (err < 0): drop the object from the index, wake readers. */
void cache_obj_fail(struct cache_obj *o, int err);

/* ---- reading ---- */

struct cache_waiter {
	struct cache_waiter *next;
	void (*wake)(void *arg);
	void *arg;
};

struct cache_reader {
	struct cache_obj *o; /* referenced while attached */
	uint64_t pos;        /* next body byte wanted */
	struct cache_reader *prev, *next;
	struct cache_waiter w;
};

/* Attach r to o (takes a reference) at body offset 0. */
void cache_reader_attach(struct cache_reader *r, struct cache_obj *o);
/* Detach and drop the reference; r->o becomes NULL. Safe when not attached. */
void cache_reader_detach(struct cache_reader *r);
/* Move to body offset pos (before reading; for ranges). */
void cache_reader_seek(struct cache_reader *r, uint64_t pos);

#define CACHE_READ_EOF 1
/* Copy up to max bytes from r->pos. Returns 0 with *got > 0 (data), 0 with
 * *got == 0 (nothing yet: wait), CACHE_READ_EOF at the end of the body, or
 * the failure code of the fill (negative). *version gets the version the
 * answer is based on, for a following wait or park. */
int cache_reader_read(struct cache_reader *r, void *buf, size_t max, size_t *got,
		      unsigned *version);
/* Block until the object's version differs from seen, or deadline_us
 * (monotonic; CDNI_ETIMEDOUT). */
int cache_reader_wait(struct cache_reader *r, unsigned seen, long long deadline_us);
/* If the version still equals seen: link r->w (wake/arg set by the caller),
 * call park(park_arg) while the object is locked, and return 0; the wake
 * function is then called exactly once, from the thread making the next
 * change, after the lock is released. Returns 1 (nothing parked) when the
 * version already moved on. */
int cache_reader_park(struct cache_reader *r, unsigned seen, void (*park)(void *), void *park_arg);

#endif
