/* cdni-keyserver — the key server: options, config, start, signals
 * (SIGHUP reloads the keys, SIGTERM/SIGINT stop), stop. The work is in
 * keyless/server.c over the keyless library. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/daemon.h"
#include "common/log.h"
#include "keyless/server.h"

#define PROG "cdni-keyserver"

static char *usage_text(void)
{
	return daemon_usage(PROG, "Serve private-key operations (keyless TLS, gokeyless v1.0 framing) to edges\n"
			    "over mutual TLS; with \"upstream\", also forward them to other key servers.\n"
			    "-n also loads the keys.\n",
			    "Signals: HUP reloads keys_dir; TERM or INT stop.\n", ks_server_conf_table);
}

static int check(const struct ks_server_conf *conf, const char *file)
{
	struct ks_server *s = NULL;
	char err[1024];

	if (ks_server_new(conf, &s, err, sizeof err)) {
		log_err(NULL, "%s: %s", file, err);
		return 1;
	}
	log_info(NULL, "%s: config OK, %zu keys", file, ks_server_key_count(s));
	ks_server_free(s);
	return 0;
}

static int serve(const struct ks_server_conf *conf)
{
	struct ks_server *s = NULL;
	char err[1024], ready[512];
	int sig;

	daemon_block_signals();
	if (ks_server_new(conf, &s, err, sizeof err) ||
	    ks_server_start(s, ready, sizeof ready, err, sizeof err)) {
		log_err(NULL, "%s", err);
		ks_server_free(s);
		return 1;
	}
	daemon_ready(ready);
	while ((sig = daemon_wait_signal()) == SIGHUP)
		if (ks_server_reload(s, err, sizeof err))
			log_err(NULL, "reload failed, old keys kept: %s", err);
	log_info(NULL, "stopping on signal %d", sig);
	ks_server_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_args a;
	struct ks_server_conf conf;
	char err[1024], *usage = usage_text();
	int rc = daemon_args_parse(argc, argv, usage ? usage : "usage: " PROG " -c FILE\n", &a);

	free(usage);
	if (rc)
		return rc == 100 ? 0 : rc;
	log_init(PROG, a.log_level);
	if (ks_server_conf_load(a.config, &conf, err, sizeof err)) {
		log_err(NULL, "%s", err);
		return 1;
	}
	rc = a.check_only ? check(&conf, a.config) : serve(&conf);
	ks_server_conf_free(&conf);
	return rc;
}
