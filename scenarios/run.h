/* cdni-scenario — process control: starting programs with their output in
 * files, waiting for readiness lines, stopping with TERM then KILL.
 *
 * The runner blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD and takes them only
 * inside its waits (sigtimedwait), so every wait doubles as the place where
 * a child's exit or a request to stop is noticed, and no signal handler
 * runs. Children get an empty mask and default dispositions back, their own
 * process group (a terminal's Ctrl-C reaches only the runner, which then
 * stops them in order), and SIGTERM when the runner dies. */
#ifndef CDNI_SCENARIO_RUN_H
#define CDNI_SCENARIO_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

void run_signals_init(void);
/* 0, or the signal that asked the runner to stop. */
int run_interrupted(void);
/* Wait up to ms; returns early when a child exits or a stop is asked. */
void run_pause_ms(long long ms);

/* A hosts file (or NULL) that children started inside a network namespace
 * see as /etc/hosts (a private mount namespace, bind mount): the scenario's
 * "names" for programs that resolve by the system (ffmpeg, dig's targets). */
void run_set_hosts_file(const char *path);

/* Start argv[0] (a path) with stdin from /dev/null, stdout to out_path and
 * stderr to err_path (both truncated; the same path may be given twice). */
int proc_spawn(const char *const argv[], const char *out_path, const char *err_path, pid_t *pid,
	       char *err, size_t errlen);
/* Same, inside the network namespace whose file is netns (NULL: this one). */
int proc_spawn_in(const char *const argv[], const char *out_path, const char *err_path,
		  const char *netns, pid_t *pid, char *err, size_t errlen);
/* Same, appending to the files instead of truncating them. */
int proc_spawn_append(const char *const argv[], const char *out_path, const char *err_path,
		      const char *netns, pid_t *pid, char *err, size_t errlen);
/* 1 when pid has exited (status set, the child reaped), 0 when running. */
int proc_poll(pid_t pid, int *status);
/* Wait up to timeout_ms for pid to exit: 0 (status set), or CDNI_ETIMEDOUT
 * (also when interruptible and a stop was asked). */
int proc_wait(pid_t pid, long long timeout_ms, bool interruptible, int *status);
/* SIGTERM, then SIGKILL after grace_ms; reaps; *killed when KILL was needed. */
int proc_stop(pid_t pid, long long grace_ms, int *status, bool *killed);
/* "exit status 0", "killed by signal 9 (Killed)". */
const char *proc_status_str(int status, char *buf, size_t len);

struct listener {
	char name[32];  /* "https" */
	char bound[96]; /* "127.0.0.1:41234" */
};
#define RUN_MAX_LISTENERS 16

/* Parse the listeners of a readiness line ("... ready NAME=ADDR:PORT ...").
 * 0, or CDNI_EPARSE when line is not one. */
int ready_parse(const char *line, struct listener *ls, size_t max, size_t *n);
/* The first readiness line in a log text: 0, or CDNI_ENOTFOUND. */
int ready_scan(const char *text, struct listener *ls, size_t max, size_t *n);
/* Poll log (the process's stderr) until it holds a readiness line: 0; or
 * CDNI_ECLOSED when pid exited first (status set, the child reaped); or
 * CDNI_ETIMEDOUT after timeout_ms or when a stop was asked. */
int ready_wait(const char *log, pid_t pid, long long timeout_ms, struct listener *ls, size_t max,
	       size_t *n, int *status);
/* Same, reading the log from byte offset from (a restarted node appends). */
int ready_wait_from(const char *log, long long from, pid_t pid, long long timeout_ms,
		    struct listener *ls, size_t max, size_t *n, int *status);

/* The last lines of a file, each prefixed with prefix, into out. */
const char *log_tail(const char *path, int lines, const char *prefix, char *out, size_t len);
/* True when a log holds an AddressSanitizer/UBSan report. */
bool log_has_sanitizer_report(const char *path);

#endif
