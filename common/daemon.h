/* cdni — what every daemon's main shares: the standard options
 * (-c FILE, -n, -l LEVEL, -h), signal handling without async-signal
 * hazards (signals are blocked and waited for), and the readiness line.
 *
 * The readiness line is one stderr log line whose message is
 *   ready NAME=ADDR:PORT [NAME=ADDR:PORT ...]
 * naming the addresses actually bound (port 0 in a config means "pick one"),
 * so a runner can start a daemon without sleeping. */
#ifndef CDNI_DAEMON_H
#define CDNI_DAEMON_H

#include <stddef.h>

struct daemon_args {
	const char *config; /* -c FILE */
	int check_only;     /* -n: validate the config and exit */
	int log_level;      /* -l LEVEL, -v, -q */
};

/* Parse the standard options. Returns 0 to continue; 100 after printing
 * usage for -h/--help (the program exits 0); 2 after printing an error and
 * usage for bad options (the program exits 2). */
int daemon_args_parse(int argc, char **argv, const char *usage, struct daemon_args *a);

/* Block SIGINT, SIGTERM, SIGHUP and ignore SIGPIPE in the calling thread
 * (call before starting threads so they inherit the mask). */
void daemon_block_signals(void);
/* Wait for SIGINT, SIGTERM or SIGHUP; returns the signal number. */
int daemon_wait_signal(void);

/* Log the readiness line; listeners is "http=127.0.0.1:8080 https=..." */
void daemon_ready(const char *listeners);

/* The life of a daemon, written once: options, usage with the config keys,
 * config loading, -n, start, readiness line, signals (SIGHUP reloads when the
 * daemon can), stop. A program's main is then one call:
 *
 *   static const struct daemon_ops ops = { .prog = "cdni-x", ... };
 *   int main(int argc, char **argv) { return daemon_main(argc, argv, &ops); }
 */
struct conf_item;
struct daemon_ops {
	const char *prog;
	const char *summary;               /* what it does, for --help (ends with \n) */
	const struct conf_item *table;     /* its config keys, for --help */
	size_t conf_size;                  /* size of its config struct */
	int (*load)(const char *file, void *conf, char *err, size_t errlen);
	void (*unload)(void *conf);
	/* Optional: checks beyond loading, for -n (files readable, keys parse). */
	int (*check)(const void *conf, char *err, size_t errlen);
	/* Start serving; ready gets "name=ip:port ..." for the readiness line. */
	int (*start)(const void *conf, void **svc, char *ready, size_t rlen, char *err,
		     size_t errlen);
	/* Optional: SIGHUP. On failure the old state keeps serving. */
	int (*reload)(void *svc, char *err, size_t errlen);
	void (*stop)(void *svc);
	int uses_upstream; /* initialise libcurl (common/upstream.h) around the run */
};

/* The --help text of a daemon (malloc'd; NULL when out of memory): the
 * synopsis, summary, the common options, signals (a line, or NULL) and the
 * config keys of table (when not NULL). */
char *daemon_usage(const char *prog, const char *summary, const char *signals,
		   const struct conf_item *table);

/* Returns the process exit status: 0, 1 (config or start failure), 2 (usage). */
int daemon_main(int argc, char **argv, const struct daemon_ops *ops);

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/* Monotonic clock in microseconds. */
long long now_us(void);

#endif
