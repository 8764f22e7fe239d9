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

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/* Monotonic clock in microseconds. */
long long now_us(void);

#endif
