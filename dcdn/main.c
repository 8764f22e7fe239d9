/* cdni-dcdn — a dCDN surrogate: HTTPS caching reverse proxy. Options,
 * config, start, wait for a signal, stop; the work is in edge.c, cache.c,
 * fill.c and req.c. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"
#include "common/upstream.h"
#include "dcdn/config.h"
#include "dcdn/edge.h"

#define PROG "cdni-dcdn"

static char *usage_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fputs("usage: " PROG " -c FILE [-n] [-l LEVEL|-v|-q] [-h]\n"
	      "A dCDN surrogate: caching reverse proxy over HTTP and HTTPS in front of an\n"
	      "origin or uCDN (collapsed forwarding, LRU memory cache, ranges, validators).\n"
	      "  -c FILE   JSON config (keys below)\n"
	      "  -n        check the config and exit\n"
	      "  -l LEVEL  log level: error, warn, info, debug (-v debug, -q warn)\n"
	      "  -h        this help\n"
	      "config keys:\n",
	      f);
	conf_describe(dcdn_conf_table, f, 2);
	fclose(f);
	return text;
}

static int serve(const struct dcdn_conf *conf)
{
	struct edge *e = NULL;
	char err[512], ready[512];
	int sig;

	/* big bodies are mapped by the cache itself; keep the heap from
	 * fanning out into many arenas that hold freed memory */
	mallopt(M_ARENA_MAX, 2);
	daemon_block_signals();
	if (upstream_global_init()) {
		log_err(NULL, "libcurl initialisation failed");
		return 1;
	}
	if (edge_new(conf, &e, err, sizeof err) || edge_start(e, ready, sizeof ready, err, sizeof err)) {
		log_err(NULL, "%s", err);
		edge_free(e);
		upstream_global_cleanup();
		return 1;
	}
	daemon_ready(ready);
	sig = daemon_wait_signal();
	log_info(NULL, "stopping on signal %d", sig);
	edge_free(e);
	upstream_global_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_args a;
	struct dcdn_conf conf;
	char err[512], *usage = usage_text();
	int rc = daemon_args_parse(argc, argv, usage ? usage : "usage: " PROG " -c FILE\n", &a);

	free(usage);
	if (rc)
		return rc == 100 ? 0 : rc;
	log_init(PROG, a.log_level);
	if (dcdn_conf_load(a.config, &conf, err, sizeof err)) {
		log_err(NULL, "%s", err);
		return 1;
	}
	if (a.check_only) {
		log_info(NULL, "%s: config OK", a.config);
		dcdn_conf_free(&conf);
		return 0;
	}
	rc = serve(&conf);
	dcdn_conf_free(&conf);
	return rc;
}
