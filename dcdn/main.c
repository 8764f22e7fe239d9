/* cdni-dcdn — a dCDN surrogate: HTTPS caching reverse proxy. The daemon's
 * life is common/daemon.c; the work is in edge.c, cache.c, fill.c, req.c. */
#include <malloc.h>
#include <stdlib.h>

#include "common/daemon.h"
#include "dcdn/config.h"
#include "dcdn/edge.h"
#include "dcdn/ri.h"

static int load(const char *file, void *conf, char *err, size_t errlen)
{
	return dcdn_conf_load(file, conf, err, errlen);
}

static void unload(void *conf)
{
	dcdn_conf_free(conf);
}

/* The edge, and the redirection interface when configured (dcdn/ri.h). */
struct svc {
	struct edge *edge;
	struct dcdn_ri_server *ri;
};

static void stop(void *svc)
{
	struct svc *s = svc;

	dcdn_ri_server_stop(s->ri);
	edge_free(s->edge);
	free(s);
}

static int start(const void *conf, void **svc, char *ready, size_t rlen, char *err, size_t errlen)
{
	const struct dcdn_conf *c = conf;
	struct svc *s = calloc(1, sizeof *s);

	/* big bodies are mapped by the cache itself; keep the heap from
	 * fanning out into many arenas that hold freed memory */
	mallopt(M_ARENA_MAX, 2);
	if (!s || edge_new(conf, &s->edge, err, errlen) ||
	    edge_start(s->edge, ready, rlen, err, errlen) ||
	    (dcdn_ri_enabled(&c->rri) &&
	     dcdn_ri_server_start(&c->rri, c->access_log, &s->ri, ready, rlen, err, errlen))) {
		if (s)
			stop(s);
		return -1;
	}
	*svc = s;
	return 0;
}

static int reload(void *svc, char *err, size_t errlen)
{
	return edge_reload(((struct svc *)svc)->edge, err, errlen);
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
	.reload = reload,
	.uses_upstream = 1,
};

int main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ops);
}
