/* cdni-dns — authoritative DNS for a CSP's or a CDN's zones: options,
 * config, start, then wait for signals (SIGHUP reloads) and for the
 * re-signing timer. The work is in the dns library. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/accesslog.h"
#include "common/daemon.h"
#include "common/log.h"
#include "dns/server.h"

#define PROG "cdni-dns"

static char *usage_text(void)
{
	return daemon_usage(PROG, "Authoritative DNS over UDP and TCP: zones signed with DNSSEC, CNAME\n"
			    "redirection to dCDNs by policy, TLSA records for delegated surrogates.\n"
			    "-n also reads and signs the zones (nothing is written).\n",
			    "Signals: HUP reloads the config and zones; TERM or INT stop.\n", dns_conf_table);
}

/* SIGINT, SIGTERM, SIGHUP, or 0 after timeout_s. */
static int wait_signal_for(int timeout_s)
{
	struct timespec ts = { timeout_s, 0 };
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sig = sigtimedwait(&set, NULL, &ts);
	return sig < 0 ? 0 : sig;
}

struct state {
	const char *path;
	struct dns_conf conf;
	struct dns_server *srv;
	uint64_t gen;
};

/* Build a db from conf and swap it in; the config stays as it was on failure. */
static void rebuild(struct state *st, struct dns_conf *conf, bool owns_new, const char *why)
{
	struct db *db = NULL;
	char err[1024];

	if (db_build(conf, ++st->gen, false, &db, err, sizeof err)) {
		log_err(NULL, "%s failed, still serving the previous zones: %s", why, err);
		if (owns_new)
			dns_conf_free(conf);
		return;
	}
	dns_server_swap(st->srv, conf, db);
	if (owns_new) {
		dns_conf_free(&st->conf);
		st->conf = *conf;
	}
	log_info(NULL, "%s done (generation %llu)", why, (unsigned long long)st->gen);
}

static void reload(struct state *st)
{
	struct dns_conf conf;
	char err[1024];

	if (dns_conf_load(st->path, &conf, err, sizeof err)) {
		log_err(NULL, "reload failed, still serving the previous zones: %s", err);
		return;
	}
	rebuild(st, &conf, true, "reload");
}

static int serve(struct state *st, struct access_log *al)
{
	struct db *db = NULL;
	char err[1024], ready[256];
	int sig;

	daemon_block_signals();
	if (db_build(&st->conf, ++st->gen, false, &db, err, sizeof err) ||
	    dns_server_start(&st->conf, db, al, &st->srv, ready, sizeof ready, err, sizeof err)) {
		log_err(NULL, "%s", err);
		return 1;
	}
	daemon_ready(ready);
	for (;;) {
		const struct db *cur = dns_server_db(st->srv);
		sig = wait_signal_for(1);
		if (sig == SIGHUP)
			reload(st);
		else if (sig)
			break;
		else if (cur->resign_at && time(NULL) >= cur->resign_at)
			rebuild(st, &st->conf, false, "re-signing");
	}
	log_info(NULL, "stopping on signal %d", sig);
	dns_server_stop(st->srv);
	return 0;
}

static int check(struct state *st)
{
	struct db *db = NULL;
	char err[1024];

	if (db_build(&st->conf, 1, true, &db, err, sizeof err)) {
		log_err(NULL, "%s", err);
		return 1;
	}
	db_free(db);
	log_info(NULL, "%s: config OK", st->path);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_args a;
	struct state st = { 0 };
	struct access_log al = { 0 };
	char err[1024], *usage = usage_text();
	int rc = daemon_args_parse(argc, argv, usage ? usage : "usage: " PROG " -c FILE\n", &a);

	free(usage);
	if (rc)
		return rc == 100 ? 0 : rc;
	log_init(PROG, a.log_level);
	st.path = a.config;
	if (dns_conf_load(a.config, &st.conf, err, sizeof err)) {
		log_err(NULL, "%s", err);
		return 1;
	}
	if (a.check_only) {
		rc = check(&st);
	} else if (access_log_open(&al, st.conf.access_log)) {
		log_err(NULL, "access_log %s: %s", st.conf.access_log, strerror(errno));
		rc = 1;
	} else {
		rc = serve(&st, &al);
		access_log_close(&al);
	}
	dns_conf_free(&st.conf);
	return rc;
}
