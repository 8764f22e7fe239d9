/* cdni-dcdn — the edge: libmicrohttpd listeners driving the request pipeline
 * of req.h over the cache (cache.h) and the upstream fills (fill.h).
 *
 *   parse -> policy hooks -> cache lookup -> fill (on a miss) -> respond
 *
 * Hits are answered from the object's bytes without copying. A miss (or a
 * request joining a fill in progress) waits for the upstream's headers, then
 * streams the body as it arrives. Waiting never blocks an event-loop thread:
 * with "threads" > 0 the connection is suspended and resumed by the fill;
 * with a thread per connection the thread waits on the object. */
#ifndef CDNI_DCDN_EDGE_H
#define CDNI_DCDN_EDGE_H

#include <stddef.h>

#include "dcdn/config.h"
#include "dcdn/req.h"

struct edge;

int edge_new(const struct dcdn_conf *conf, struct edge **out, char *err, size_t errlen);
/* Add a policy hook (run in the order added, before the cache lookup). */
/* SIGHUP: re-read what can change without a restart (the ticket key). */
int edge_reload(struct edge *e, char *err, size_t errlen);
int edge_add_hook(struct edge *e, const struct req_hook *h);
/* Bind the listeners; ready gets "name=addr:port ..." for daemon_ready(). */
int edge_start(struct edge *e, char *ready, size_t rlen, char *err, size_t errlen);
/* Stop in order: refuse new fills, cancel fills and wake their waiters, stop
 * the listeners, then free everything. */
void edge_free(struct edge *e);

#endif
