/* cdni-dcdn — filling cache objects from the upstream (origin, uCDN or
 * another CDN) with libcurl (common/upstream.h).
 *
 * A pool of worker threads, started as fetches need them up to a maximum;
 * idle workers stay, keeping their upstream connections alive. Each job
 * fetches one URL with GET (a HEAD or a Range request is filled whole, so
 * the object gets stored) and feeds the response into one cache object:
 * headers -> cache_obj_begin, body -> cache_obj_append, end ->
 * cache_obj_finish, any failure -> cache_obj_fail. No HTTP server code here. */
#ifndef CDNI_DCDN_FILL_H
#define CDNI_DCDN_FILL_H

#include "dcdn/cache.h"

struct fill_conf {
	const char *ca_file;     /* for https upstreams; NULL: system store */
	const char *host;        /* Host header to send, or NULL */
	long connect_timeout_ms;
	long timeout_ms;         /* whole fetch */
	unsigned max_threads;
};

struct fillpool;

int fillpool_new(const struct fill_conf *fc, struct fillpool **out);
/* Queue a fetch of url into o (the job takes its own reference). Returns 0,
 * CDNI_ECLOSED once stopping, or CDNI_ENOMEM; on failure the caller fails o. */
int fillpool_submit(struct fillpool *p, struct cache_obj *o, const char *url);
/* Cancel every fetch (running ones stop within about a second), fail their
 * objects so waiters wake, and join the workers. */
void fillpool_stop(struct fillpool *p);
void fillpool_free(struct fillpool *p);

#endif
