/* cdni-origin — the content service provider's origin server: options,
 * config, start, wait for a signal, stop. The work is in origin.c/server.c. */
#include <stdio.h>
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"
#include "origin/origin.h"

#define PROG "cdni-origin"

/* The usage text with the config keys, built once (freed by the caller). */
static char *usage_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fputs("usage: " PROG " -c FILE [-n] [-l LEVEL|-v|-q] [-h]\n"
	      "Serve the files under a content directory over HTTP and HTTPS.\n"
	      "  -c FILE   JSON config (keys below)\n"
	      "  -n        check the config and exit\n"
	      "  -l LEVEL  log level: error, warn, info, debug (-v debug, -q warn)\n"
	      "  -h        this help\n"
	      "config keys:\n",
	      f);
	conf_describe(origin_conf_table, f, 2);
	fclose(f);
	return text;
}

static int serve(const struct origin_conf *conf)
{
	struct origin *o = NULL;
	char err[512], ready[512];
	int sig;

	daemon_block_signals();
	if (origin_new(conf, &o, err, sizeof err) || origin_start(o, ready, sizeof ready, err, sizeof err)) {
		log_err(NULL, "%s", err);
		origin_free(o);
		return 1;
	}
	daemon_ready(ready);
	sig = daemon_wait_signal();
	log_info(NULL, "stopping on signal %d", sig);
	origin_free(o);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_args a;
	struct origin_conf conf;
	char err[512], *usage = usage_text();
	int rc = daemon_args_parse(argc, argv, usage ? usage : "usage: " PROG " -c FILE\n", &a);

	free(usage);
	if (rc)
		return rc == 100 ? 0 : rc;
	log_init(PROG, a.log_level);
	if (origin_conf_load(a.config, &conf, err, sizeof err)) {
		log_err(NULL, "%s", err);
		return 1;
	}
	if (a.check_only) {
		log_info(NULL, "%s: config OK", a.config);
		origin_conf_free(&conf);
		return 0;
	}
	rc = serve(&conf);
	origin_conf_free(&conf);
	return rc;
}
