#include "scenarios/run.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"

#define LOG_READ_MAX (16u << 20)

static volatile int interrupted;
static char hosts_file[4096];

void run_set_hosts_file(const char *path)
{
	snprintf(hosts_file, sizeof hosts_file, "%s", path ? path : "");
}

/* In the child, inside a namespace: the scenario's names as /etc/hosts. */
static void child_hosts(void)
{
	if (!hosts_file[0])
		return;
	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(hosts_file, "/etc/hosts", NULL, MS_BIND, NULL)) {
		dprintf(2, "cdni-scenario: cannot show %s as /etc/hosts: %s\n", hosts_file,
			strerror(errno));
		_exit(126);
	}
}

static void wait_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
}

void run_signals_init(void)
{
	sigset_t set;

	wait_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int run_interrupted(void)
{
	return interrupted;
}

void run_pause_ms(long long ms)
{
	sigset_t set;
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	int sig;

	wait_set(&set);
	do
		sig = sigtimedwait(&set, NULL, &ts);
	while (sig < 0 && errno == EINTR);
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
		interrupted = sig;
}

static void child_exec(const char *const argv[], int fo, int fe, int fi, pid_t parent,
		       const char *netns)
{
	sigset_t none;
	size_t n = 0;
	char **v;
	int nsfd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) /* the runner died before prctl */
		_exit(126);
	if (dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
		_exit(126);
	if (netns && ((nsfd = open(netns, O_RDONLY | O_CLOEXEC)) < 0 || setns(nsfd, CLONE_NEWNET))) {
		dprintf(2, "cdni-scenario: cannot enter %s: %s\n", netns, strerror(errno));
		_exit(126);
	}
	if (netns)
		child_hosts();
	while (argv[n])
		n++;
	v = calloc(n + 1, sizeof *v); /* execv wants char *const[]; only this child copies */
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(argv[i])))
			_exit(126);
	if (v)
		execv(v[0], v);
	dprintf(2, "cdni-scenario: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int proc_spawn(const char *const argv[], const char *out_path, const char *err_path, pid_t *pid,
	       char *err, size_t errlen)
{
	return proc_spawn_in(argv, out_path, err_path, NULL, pid, err, errlen);
}

static int spawn(const char *const argv[], const char *out_path, const char *err_path,
		 const char *netns, int flags, pid_t *pid, char *err, size_t errlen);

int proc_spawn_in(const char *const argv[], const char *out_path, const char *err_path,
		  const char *netns, pid_t *pid, char *err, size_t errlen)
{
	return spawn(argv, out_path, err_path, netns, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, pid,
		     err, errlen);
}

int proc_spawn_append(const char *const argv[], const char *out_path, const char *err_path,
		      const char *netns, pid_t *pid, char *err, size_t errlen)
{
	return spawn(argv, out_path, err_path, netns, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, pid,
		     err, errlen);
}

static int spawn(const char *const argv[], const char *out_path, const char *err_path,
		 const char *netns, int flags, pid_t *pid, char *err, size_t errlen)
{
	int fo = open(out_path, flags, 0644), fe, fi = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t p = -1, self = getpid();

	fe = strcmp(out_path, err_path) == 0 ? dup(fo) : open(err_path, flags, 0644);
	if (fo < 0 || fe < 0 || fi < 0) {
		snprintf(err, errlen, "cannot open %s or %s: %s", out_path, err_path, strerror(errno));
		goto out;
	}
	p = fork();
	if (p == 0)
		child_exec(argv, fo, fe, fi, self, netns);
	if (p < 0)
		snprintf(err, errlen, "fork: %s", strerror(errno));
out:
	if (fo >= 0)
		close(fo);
	if (fe >= 0)
		close(fe);
	if (fi >= 0)
		close(fi);
	if (p <= 0)
		return CDNI_EIO;
	*pid = p;
	return 0;
}

int proc_poll(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	return r == pid ? 1 : 0;
}

int proc_wait(pid_t pid, long long timeout_ms, bool interruptible, int *status)
{
	long long deadline = now_us() + timeout_ms * 1000;
	long long left;

	for (;;) {
		if (proc_poll(pid, status))
			return 0;
		left = (deadline - now_us()) / 1000;
		if (left <= 0 || (interruptible && run_interrupted()))
			return CDNI_ETIMEDOUT;
		run_pause_ms(left < 100 ? left : 100);
	}
}

int proc_stop(pid_t pid, long long grace_ms, int *status, bool *killed)
{
	*killed = false;
	if (proc_poll(pid, status))
		return 0;
	kill(pid, SIGTERM);
	if (proc_wait(pid, grace_ms, false, status) == 0)
		return 0;
	*killed = true;
	kill(-pid, SIGKILL); /* its process group: nothing it started outlives it */
	kill(pid, SIGKILL);
	return proc_wait(pid, 10000, false, status);
}

const char *proc_status_str(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", (unsigned)status);
	return buf;
}

/* NAME=ADDR:PORT with NAME of [A-Za-z0-9_.-], a non-empty ADDR, PORT 1..65535. */
static int parse_token(const char *tok, size_t len, struct listener *l)
{
	const char *eq = memchr(tok, '=', len), *colon = NULL;
	long port = 0;

	if (!eq || eq == tok || (size_t)(eq - tok) >= sizeof l->name || len >= sizeof l->bound)
		return CDNI_EPARSE;
	for (const char *p = tok; p < eq; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return CDNI_EPARSE;
	for (const char *p = eq + 1; p < tok + len; p++)
		if (*p == ':')
			colon = p;
	if (!colon || colon == eq + 1 || colon + 1 == tok + len || tok + len - colon > 6)
		return CDNI_EPARSE;
	for (const char *p = colon + 1; p < tok + len; p++) {
		if (!isdigit((unsigned char)*p))
			return CDNI_EPARSE;
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535)
		return CDNI_EPARSE;
	snprintf(l->name, sizeof l->name, "%.*s", (int)(eq - tok), tok);
	snprintf(l->bound, sizeof l->bound, "%.*s", (int)(tok + len - eq - 1), eq + 1);
	return 0;
}

int ready_parse(const char *line, struct listener *ls, size_t max, size_t *n)
{
	const char *p = strstr(line, " ready "), *end;
	size_t count = 0;

	if (!p)
		return CDNI_EPARSE;
	for (p += 7; *p && *p != '\n'; p = end) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		end = p + strcspn(p, " \n");
		if (count == max || parse_token(p, (size_t)(end - p), &ls[count]))
			return CDNI_EPARSE;
		count++;
	}
	if (count == 0)
		return CDNI_EPARSE;
	*n = count;
	return 0;
}

int ready_scan(const char *text, struct listener *ls, size_t max, size_t *n)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		char one[1024];

		snprintf(one, sizeof one, "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
		if (ready_parse(one, ls, max, n) == 0)
			return 0;
		line = nl ? nl + 1 : NULL;
	}
	return CDNI_ENOTFOUND;
}

static int scan_file(const char *log, long long from, struct listener *ls, size_t max, size_t *n)
{
	char *text = NULL;
	size_t len = 0;
	int rc = file_read_all(log, LOG_READ_MAX, &text, &len);

	if (rc == 0)
		rc = (size_t)from <= len ? ready_scan(text + from, ls, max, n) : CDNI_ENOTFOUND;
	free(text);
	return rc;
}

int ready_wait(const char *log, pid_t pid, long long timeout_ms, struct listener *ls, size_t max,
	       size_t *n, int *status)
{
	return ready_wait_from(log, 0, pid, timeout_ms, ls, max, n, status);
}

int ready_wait_from(const char *log, long long from, pid_t pid, long long timeout_ms,
		    struct listener *ls, size_t max, size_t *n, int *status)
{
	long long deadline = now_us() + timeout_ms * 1000;

	for (;;) {
		if (proc_poll(pid, status))
			return CDNI_ECLOSED;
		if (scan_file(log, from, ls, max, n) == 0)
			return 0;
		if (now_us() >= deadline || run_interrupted())
			return CDNI_ETIMEDOUT;
		run_pause_ms(20);
	}
}

const char *log_tail(const char *path, int lines, const char *prefix, char *out, size_t len)
{
	char *text = NULL;
	const char *start;
	size_t used = 0, tlen = 0;
	int seen = 0;

	out[0] = '\0';
	if (file_read_all(path, LOG_READ_MAX, &text, &tlen) != 0)
		return out;
	while (tlen && text[tlen - 1] == '\n')
		text[--tlen] = '\0';
	for (start = text + tlen; start > text; start--)
		if (start[-1] == '\n' && ++seen == lines)
			break;
	for (const char *l = start; *l && used < len;) {
		const char *nl = strchr(l, '\n');
		int ll = nl ? (int)(nl - l) : (int)strlen(l);

		used += (size_t)snprintf(out + used, len - used, "%s%s%.*s", used ? "\n" : "", prefix,
					 ll, l);
		l = nl ? nl + 1 : l + ll;
	}
	free(text);
	return out;
}

bool log_has_sanitizer_report(const char *path)
{
	char *text = NULL;
	bool found;

	if (file_read_all(path, LOG_READ_MAX, &text, NULL) != 0)
		return false;
	found = strstr(text, "ERROR: AddressSanitizer") || strstr(text, "ERROR: LeakSanitizer") ||
		strstr(text, "runtime error:") ||
		strstr(text, "SUMMARY: UndefinedBehaviorSanitizer");
	free(text);
	return found;
}
