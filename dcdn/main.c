/* cdni-dcdn — a dCDN surrogate: HTTPS caching reverse proxy. The daemon's
 * life is common/daemon.c; the work is in edge.c, cache.c, fill.c, req.c. */
#include <malloc.h>

#include "common/daemon.h"
#include "dcdn/config.h"
#include "dcdn/edge.h"

static int load(const char *file, void *conf, char *err, size_t errlen)
{
	return dcdn_conf_load(file, conf, err, errlen);
}

static void unload(void *conf)
{
	dcdn_conf_free(conf);
}

static int start(const void *conf, void **svc, char *ready, size_t rlen, char *err, size_t errlen)
{
	struct edge *e = NULL;

	/* big bodies are mapped by the cache itself; keep the heap from
	 * fanning out into many arenas that hold freed memory */
	mallopt(M_ARENA_MAX, 2);
	if (edge_new(conf, &e, err, errlen) || edge_start(e, ready, rlen, err, errlen)) {
		edge_free(e);
		return -1;
	}
	*svc = e;
	return 0;
}

static void stop(void *svc)
{
	edge_free(svc);
}

static const struct daemon_ops ops = {
	.prog = "cdni-dcdn",
	.summary = "A dCDN surrogate: caching reverse proxy over HTTP and HTTPS in front of an\n"
		   "origin or uCDN (collapsed forwarding, LRU memory cache, ranges, validators).\n",
	.table = dcdn_conf_table,
	.conf_size = sizeof(struct dcdn_conf),
	.load = load,
	.unload = unload,
	.start = start,
	.stop = stop,
	.uses_upstream = 1,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ops);
}
