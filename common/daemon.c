#include "common/daemon.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/upstream.h"

int daemon_args_parse(int argc, char **argv, const char *usage, struct daemon_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof *a);
	a->log_level = LOG_INFO;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:nl:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'n': a->check_only = 1; break;
		case 'v': a->log_level = LOG_DEBUG; break;
		case 'q': a->log_level = LOG_WARN; break;
		case 'l':
			a->log_level = log_level_parse(optarg);
			if (a->log_level < 0) {
				fprintf(stderr, "%s: -l: unknown level '%s' (error, warn, info, debug)\n",
					argv[0], optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 100;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n%s", argv[0], argv[optind], usage);
		return 2;
	}
	if (!a->config) {
		fprintf(stderr, "%s: a config file is required (-c FILE)\n%s", argv[0], usage);
		return 2;
	}
	return 0;
}

void daemon_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int daemon_wait_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig) != 0)
		;
	return sig;
}

void daemon_ready(const char *listeners)
{
	log_always(LOG_INFO, NULL, "ready %s", listeners);
}


char *daemon_usage(const char *prog, const char *summary, const char *signals,
		   const struct conf_item *table)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "usage: %s -c FILE [-n] [-l LEVEL | -v | -q] [-h]\n%s", prog, summary ? summary : "");
	fputs("  -c FILE   JSON config (keys below)\n"
	      "  -n        check the config and exit (0 when it is good)\n"
	      "  -l LEVEL  log level: error, warn, info (default), debug; -v debug, -q warn\n"
	      "  -h        this help\n", f);
	if (signals)
		fputs(signals, f);
	if (table) {
		fputs("config keys:\n", f);
		conf_describe(table, f, 2);
	}
	fclose(f);
	return text;
}

static int run(const struct daemon_ops *ops, const void *conf)
{
	char err[1024] = "", ready[512] = "";
	void *svc = NULL;
	int sig;

	daemon_block_signals();
	if (ops->uses_upstream && upstream_global_init()) {
		log_err(NULL, "cannot initialise libcurl");
		return 1;
	}
	if (ops->start(conf, &svc, ready, sizeof ready, err, sizeof err)) {
		log_err(NULL, "%s", err);
		if (ops->uses_upstream)
			upstream_global_cleanup();
		return 1;
	}
	daemon_ready(ready);
	while ((sig = daemon_wait_signal()) == SIGHUP) {
		if (!ops->reload)
			log_info(NULL, "SIGHUP ignored: %s cannot reload", ops->prog);
		else if (ops->reload(svc, err, sizeof err))
			log_err(NULL, "reload failed, still serving as before: %s", err);
		else
			log_info(NULL, "reloaded");
	}
	log_info(NULL, "stopping on signal %d", sig);
	ops->stop(svc);
	if (ops->uses_upstream)
		upstream_global_cleanup();
	return 0;
}

int daemon_main(int argc, char **argv, const struct daemon_ops *ops)
{
	struct daemon_args a;
	char err[1024] = "", *usage = daemon_usage(ops->prog, ops->summary, ops->reload ?
						   "Signals: TERM or INT stop, HUP reloads.\n" : NULL, ops->table);
	void *conf = calloc(1, ops->conf_size);
	int rc = conf ? daemon_args_parse(argc, argv, usage ? usage : "usage: -c FILE\n", &a) : 1;

	free(usage);
	if (rc) {
		free(conf);
		return rc == 100 ? 0 : rc;
	}
	log_init(ops->prog, a.log_level);
	if (ops->load(a.config, conf, err, sizeof err) ||
	    (a.check_only && ops->check && ops->check(conf, err, sizeof err))) {
		log_err(NULL, "%s", err);
		rc = 1;
	} else if (a.check_only) {
		log_always(LOG_INFO, NULL, "%s: config OK", a.config);
	} else {
		rc = run(ops, conf);
	}
	ops->unload(conf);
	free(conf);
	return rc;
}
