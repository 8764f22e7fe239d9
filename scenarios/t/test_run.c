/* run.h: readiness lines, starting and stopping processes, log tails;
 * fsutil.h: run directories and file comparison */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/tap.h"
#include "scenarios/fsutil.h"
#include "scenarios/run.h"

static char dir[] = "/tmp/cdni-sc-run.XXXXXX";

static void parse_lines(void)
{
	struct listener ls[4];
	size_t n = 0;
	static const char *const bad[] = {
		"2026-11-22T07:30:00.123Z cdni-x info ready",
		"x ready http",
		"x ready http=127.0.0.1",
		"x ready http=127.0.0.1:0",
		"x ready http=127.0.0.1:70000",
		"x ready http=:80",
		"x ready =127.0.0.1:80",
		"x ready ht/tp=127.0.0.1:80",
		"x ready http=127.0.0.1:80x",
		"GET /ready x",
		"x ready a=1.1.1.1:1 b=1.1.1.1:2 c=1.1.1.1:3 d=1.1.1.1:4 e=1.1.1.1:5",
		"not ready at all",
		NULL,
	};

	ok(ready_parse("2026-11-22T07:30:00.123Z cdni-dcdn info ready http=127.0.0.1:41234 "
		       "https=127.0.0.1:41235", ls, 4, &n) == 0 && n == 2,
	   "a readiness line with two listeners");
	is_str(ls[0].name, "http", "first name");
	is_str(ls[0].bound, "127.0.0.1:41234", "first address");
	is_str(ls[1].bound, "127.0.0.1:41235", "second address");
	ok(ready_parse("t p info ready v6=[::1]:8080  ", ls, 4, &n) == 0 && n == 1 &&
	   !strcmp(ls[0].bound, "[::1]:8080"), "IPv6, trailing spaces");
	for (int i = 0; bad[i]; i++)
		ok(ready_parse(bad[i], ls, 4, &n) == CDNI_EPARSE, "not a readiness line: %s", bad[i]);
	ok(ready_scan("a info starting\nb info ready x=127.0.0.1:9\nc info ready y=127.0.0.1:10\n", ls,
		      4, &n) == 0 && n == 1 && !strcmp(ls[0].name, "x"),
	   "the first readiness line of a log");
	ok(ready_scan("a\nb\n", ls, 4, &n) == CDNI_ENOTFOUND, "a log without one");
}

static pid_t sh(const char *script, const char *name)
{
	char out[300], err[300], msg[200];
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	pid_t pid = -1;

	snprintf(out, sizeof out, "%s/%s.out", dir, name);
	snprintf(err, sizeof err, "%s/%s.err", dir, name);
	if (proc_spawn(argv, out, err, &pid, msg, sizeof msg) != 0)
		diag("spawn: %s", msg);
	return pid;
}

static void processes(void)
{
	struct listener ls[4];
	size_t n = 0;
	int status = 0;
	bool killed = true;
	char log[300], buf[100], tail[500];
	long long t0;
	pid_t pid;

	pid = sh("echo to-stdout; echo 'x info ready http=127.0.0.1:5555' >&2; exec sleep 30", "good");
	snprintf(log, sizeof log, "%s/good.err", dir);
	ok(ready_wait(log, pid, 5000, ls, 4, &n, &status) == 0 && n == 1 &&
	   !strcmp(ls[0].bound, "127.0.0.1:5555"), "a process that reports ready");
	ok(proc_poll(pid, &status) == 0, "it runs");
	ok(proc_stop(pid, 2000, &status, &killed) == 0 && !killed && WIFSIGNALED(status) &&
	   WTERMSIG(status) == SIGTERM, "TERM stops it");
	is_str(proc_status_str(status, buf, sizeof buf), "killed by signal 15 (Terminated)",
	       "status text");
	snprintf(log, sizeof log, "%s/good.out", dir);
	is_str(log_tail(log, 5, "", tail, sizeof tail), "to-stdout", "stdout went to its file");

	pid = sh("echo one >&2; echo two >&2; echo 'bad port 99' >&2; exit 3", "dies");
	snprintf(log, sizeof log, "%s/dies.err", dir);
	ok(ready_wait(log, pid, 5000, ls, 4, &n, &status) == CDNI_ECLOSED && WIFEXITED(status) &&
	   WEXITSTATUS(status) == 3, "a process that exits first: ECLOSED with its status");
	is_str(proc_status_str(status, buf, sizeof buf), "exit status 3", "exit status text");
	is_str(log_tail(log, 2, "> ", tail, sizeof tail), "> two\n> bad port 99", "the last two log lines");
	is_str(log_tail(log, 10, "", tail, sizeof tail), "one\ntwo\nbad port 99", "fewer lines than asked");

	pid = sh("exec sleep 30", "silent");
	snprintf(log, sizeof log, "%s/silent.err", dir);
	t0 = now_us();
	ok(ready_wait(log, pid, 300, ls, 4, &n, &status) == CDNI_ETIMEDOUT, "no readiness line: timeout");
	ok(now_us() - t0 >= 300000 && now_us() - t0 < 3000000, "after the deadline, not long after");
	ok(proc_stop(pid, 2000, &status, &killed) == 0 && !killed, "stopped");

	pid = sh("trap '' TERM; echo 'x ready a=127.0.0.1:1' >&2; while :; do sleep 0.05; done", "stubborn");
	snprintf(log, sizeof log, "%s/stubborn.err", dir);
	ok(ready_wait(log, pid, 5000, ls, 4, &n, &status) == 0, "a process that ignores TERM is ready");
	ok(proc_stop(pid, 300, &status, &killed) == 0 && killed && WIFSIGNALED(status) &&
	   WTERMSIG(status) == SIGKILL, "KILL after the grace period");

	{
		const char *argv[] = { "/nonexistent/prog", NULL };
		char out[300], msg[200];

		snprintf(out, sizeof out, "%s/missing.log", dir);
		ok(proc_spawn(argv, out, out, &pid, msg, sizeof msg) == 0, "spawn of a missing program");
		ok(proc_wait(pid, 5000, false, &status) == 0 && WEXITSTATUS(status) == 127,
		   "exits 127");
		ok(strstr(log_tail(out, 1, "", tail, sizeof tail), "cannot run /nonexistent/prog") != NULL,
		   "and says why in its log");
	}
	pid = sh("exit 0", "quick");
	t0 = now_us();
	run_pause_ms(5000);
	ok(now_us() - t0 < 4000000, "a pause ends when a child exits");
	ok(proc_wait(pid, 1000, false, &status) == 0 && status == 0, "reaped");
	ok(run_interrupted() == 0, "no interrupt");
}

static void sanitizer_logs(void)
{
	char p[300];

	snprintf(p, sizeof p, "%s/asan.log", dir);
	fs_write(p, "x\n==1==ERROR: AddressSanitizer: heap-use-after-free\n", 52);
	ok(log_has_sanitizer_report(p), "an ASan report is seen");
	fs_write(p, "a.c:3:5: runtime error: signed integer overflow\n", 48);
	ok(log_has_sanitizer_report(p), "a UBSan report is seen");
	fs_write(p, "all fine\n", 9);
	ok(!log_has_sanitizer_report(p), "a clean log is clean");
}

static void run_dirs(void)
{
	char d[300], f[400], err[300] = "";
	struct stat st;

	snprintf(d, sizeof d, "%s/runs/one", dir);
	ok(fs_run_dir_prepare(d, err, sizeof err) == 0, "a new run directory is made");
	snprintf(f, sizeof f, "%s/" RUN_MARKER, d);
	ok(stat(f, &st) == 0, "with its marker");
	snprintf(f, sizeof f, "%s/old.log", d);
	fs_write(f, "x", 1);
	ok(fs_run_dir_prepare(d, err, sizeof err) == 0 && stat(f, &st) != 0,
	   "a previous run's directory is emptied");
	snprintf(d, sizeof d, "%s/runs/foreign", dir);
	fs_mkdir_p(d);
	snprintf(f, sizeof f, "%s/precious.txt", d);
	fs_write(f, "x", 1);
	ok(fs_run_dir_prepare(d, err, sizeof err) == CDNI_EEXIST && stat(f, &st) == 0,
	   "a directory cdni-scenario did not make is left alone");
	ok(strstr(err, "was not made by cdni-scenario") != NULL, "and the message says so: %s", err);
	snprintf(d, sizeof d, "%s/runs/empty", dir);
	fs_mkdir_p(d);
	ok(fs_run_dir_prepare(d, err, sizeof err) == 0, "an empty directory is fine");
	snprintf(f, sizeof f, "%s/a", dir);
	fs_write(f, "same", 4);
	snprintf(d, sizeof d, "%s/b", dir);
	fs_write(d, "same", 4);
	is_int(fs_same_content(f, d), 1, "equal files");
	fs_write(d, "samf", 4);
	is_int(fs_same_content(f, d), 0, "different files");
	fs_write(d, "same!", 5);
	is_int(fs_same_content(f, d), 0, "a longer file");
	ok(fs_same_content(f, "/nonexistent") < 0, "a missing file");
}

int main(void)
{
	run_signals_init();
	if (!mkdtemp(dir))
		return 1;
	parse_lines();
	processes();
	sanitizer_logs();
	run_dirs();
	fs_remove_tree(dir);
	return done_testing();
}
