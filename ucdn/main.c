/* cdni-ucdn — the uCDN front door: options, config, start, wait, stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "common/upstream.h"
#include "ucdn/ucdn.h"

static const char usage_text[] =
	"usage: cdni-ucdn -c FILE [-n] [-l LEVEL | -v | -q]\n"
	"  -c FILE   JSON config (keys below)\n"
	"  -n        check the config and exit\n"
	"  -l LEVEL  log level: error, warn, info (default), debug\n"
	"  -v, -q    debug, warn\n"
	"config keys:\n";

static void print_usage(FILE *f)
{
	fputs(usage_text, f);
	conf_describe(ucdn_conf_table, f, 2);
}

static int run(const struct ucdn_conf *cf, struct route_policy *policy)
{
	char ready[512], err[512];
	struct ucdn *u = NULL;
	int sig;

	if (upstream_global_init()) {
		route_policy_free(policy);
		log_err(NULL, "cannot initialise libcurl");
		return 1;
	}
	if (ucdn_new(&u, cf, policy, err, sizeof err) ||
	    ucdn_start(u, ready, sizeof ready, err, sizeof err)) {
		log_err(NULL, "%s", err);
		ucdn_free(u);
		upstream_global_cleanup();
		return 1;
	}
	daemon_ready(ready);
	sig = daemon_wait_signal();
	log_info(NULL, "signal %d: stopping", sig);
	ucdn_free(u);
	upstream_global_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	struct ucdn_conf cf;
	struct daemon_args a;
	struct route_policy *policy = NULL;
	char err[768];
	int rc;

	memset(&cf, 0, sizeof cf);
	rc = daemon_args_parse(argc, argv, "", &a);
	if (rc == 100 || rc == 2) {
		print_usage(rc == 100 ? stdout : stderr);
		return rc == 100 ? 0 : 2;
	}
	log_init("cdni-ucdn", a.log_level);
	if (ucdn_conf_load(&cf, a.config, &policy, err, sizeof err)) {
		fprintf(stderr, "cdni-ucdn: %s\n", err);
		return 1;
	}
	if (a.check_only) {
		route_policy_free(policy);
		ucdn_conf_free(&cf);
		printf("%s: config OK\n", a.config);
		return 0;
	}
	daemon_block_signals();
	rc = run(&cf, policy);
	ucdn_conf_free(&cf);
	return rc;
}
