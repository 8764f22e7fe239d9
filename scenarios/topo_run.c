/* cdni-scenario — carrying out the topology plan (topo.h): namespaces made
 * with `ip netns add`, cdni-linkemu started and awaited, each host set up
 * with `ip -n NS -batch FILE` (and ip_forward where it relays), and all of
 * it undone at the end, on failure and on interruption too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "scenarios/errmsg.h"
#include "scenarios/fsutil.h"
#include "scenarios/runner_int.h"

#define CMD_TIMEOUT_MS 10000
#define EMU_READY_MS 10000

/* A program on PATH, or in the sbin directories root's PATH has. */
static int find_prog(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return CDNI_ENOTFOUND;
}

/* Run argv to its end (in netns when given), output appended to RUN/topology.log. */
static int run_cmd(struct run *r, const char *const argv[], const char *netns, char *got,
		   size_t glen)
{
	char log[RUN_PATH], one[RUN_PATH], tail[1024], st[80];
	pid_t pid;
	int status = -1;
	bool killed;

	run_path(r, "topology.cmd.log", one, sizeof one);
	run_path(r, "topology.log", log, sizeof log);
	if (proc_spawn_in(argv, one, one, netns, &pid, got, glen))
		return CDNI_EIO;
	if (proc_wait(pid, CMD_TIMEOUT_MS, false, &status))
		proc_stop(pid, 1000, &status, &killed);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		fs_append_file(log, one);
		return 0;
	}
	snprintf(got, glen, "%s %s: %s: %s", argv[0], argv[1], proc_status_str(status, st, sizeof st),
		 log_tail(one, 3, "", tail, sizeof tail));
	fs_append_file(log, one);
	return CDNI_EIO;
}

const char *topo_netns(const struct run *r, int h)
{
	if (!r->topo || r->topo->mode != TOPO_NETNS || h < 0)
		return NULL;
	return r->topo->hosts[h].ns_path;
}

int topo_host_addr(void *ctx, const char *name, char *out, size_t outlen)
{
	const struct run *r = ctx;

	for (size_t i = 0; r->topo && i < r->topo->nhosts; i++)
		if (strcmp(r->topo->hosts[i].name, name) == 0) {
			snprintf(out, outlen, "%s", r->topo->hosts[i].addr);
			return 0;
		}
	return CDNI_ENOTFOUND;
}

int topo_rtt(void *ctx, const char *a, const char *b, char *out, size_t outlen)
{
	const struct run *r = ctx;
	size_t n = r->topo ? r->topo->nhosts : 0;
	int i = -1, j = -1;

	for (size_t k = 0; k < n; k++) {
		if (strcmp(r->topo->hosts[k].name, a) == 0)
			i = (int)k;
		if (strcmp(r->topo->hosts[k].name, b) == 0)
			j = (int)k;
	}
	if (i < 0 || j < 0 || r->topo->path_ms[(size_t)i * n + (size_t)j] < 0)
		return CDNI_ENOTFOUND;
	snprintf(out, outlen, "%g", 2 * r->topo->path_ms[(size_t)i * n + (size_t)j]);
	return 0;
}

/* ---- the mode --------------------------------------------------------- */

/* sh -c cmd, its output discarded; its exit status, or -1. */
static int system_quiet(const char *cmd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether this kernel has netem: a qdisc tried in a namespace of our own. */
static bool netem_works(void)
{
	char cmd[400], ip[RUN_PATH], tc[RUN_PATH];

	if (find_prog("ip", ip, sizeof ip) || find_prog("tc", tc, sizeof tc))
		return false;
	snprintf(cmd, sizeof cmd,
		 "%s netns add cdni-%ld-probe && %s -n cdni-%ld-probe qdisc add dev lo root "
		 "netem delay 1ms; rc=$?; %s netns del cdni-%ld-probe; exit $rc",
		 ip, (long)getpid(), tc, (long)getpid(), ip, (long)getpid());
	return system_quiet(cmd) == 0;
}

/* Links: CDNI_SCENARIO_LINKS=auto (netem where the kernel has it, else
 * cdni-linkemu), linkemu, or netem (fails without it). */
static int links_kind(const struct run *r, bool *netem, char *note, size_t len)
{
	const char *want = getenv("CDNI_SCENARIO_LINKS");
	char emu[RUN_PATH];

	*netem = false;
	if (!r->s->links.n)
		return 0;
	if (!want || !*want || strcmp(want, "auto") == 0)
		*netem = netem_works();
	else if (strcmp(want, "netem") == 0 && !(*netem = netem_works())) {
		snprintf(note, len, "CDNI_SCENARIO_LINKS=netem, but this kernel has no netem qdisc");
		return CDNI_EINVAL;
	} else if (strcmp(want, "netem") && strcmp(want, "linkemu")) {
		snprintf(note, len, "CDNI_SCENARIO_LINKS: '%s' is not auto, netem or linkemu", want);
		return CDNI_EINVAL;
	}
	snprintf(emu, sizeof emu, "%s/cdni-linkemu", r->o->bin);
	if (!*netem && access(emu, X_OK) != 0) {
		snprintf(note, len, "%s missing: hosts on loopback, links not emulated", emu);
		return CDNI_ENOTFOUND;
	}
	return 0;
}

static int choose_mode(struct run *r, char *note, size_t len)
{
	char ip[RUN_PATH];

	if (r->o->no_netns)
		snprintf(note, len, "--no-netns: hosts on loopback addresses, links not emulated");
	else if (geteuid() != 0)
		snprintf(note, len, "not root: hosts on loopback addresses, links not emulated "
			 "(no delay, loss or rate limit)");
	else if (access("/dev/net/tun", R_OK | W_OK) != 0)
		snprintf(note, len, "/dev/net/tun: %s: hosts on loopback addresses, links not "
			 "emulated", strerror(errno));
	else if (find_prog("ip", ip, sizeof ip) != 0)
		snprintf(note, len, "no ip program (iproute2): hosts on loopback, links not emulated");
	else if (links_kind(r, &r->netem, note, len) == 0) {
		snprintf(note, len, "network namespace per host; links %s",
			 r->netem ? "are veth pairs shaped by the kernel's netem (tc)"
				  : "emulated by cdni-linkemu (TUN devices, one-way delay, loss "
				    "and rate per direction; this kernel has no netem)");
		return TOPO_NETNS;
	}
	return TOPO_LOOPBACK;
}

/* ---- namespaces ------------------------------------------------------- */

static int ns_add(struct run *r, size_t h, char *got, size_t glen)
{
	char ip[RUN_PATH];
	const char *argv[] = { ip, "netns", "add", r->topo->hosts[h].ns, NULL };

	find_prog("ip", ip, sizeof ip);
	if (run_cmd(r, argv, NULL, got, glen))
		return CDNI_EIO;
	r->ns_made[h] = true;
	return 0;
}

static void ns_del(struct run *r, size_t h)
{
	char ip[RUN_PATH], got[512];
	const char *argv[] = { ip, "netns", "del", r->topo->hosts[h].ns, NULL };

	find_prog("ip", ip, sizeof ip);
	if (run_cmd(r, argv, NULL, got, sizeof got) == 0)
		r->ns_made[h] = false;
}

/* Run a batch file of ip(8) or tc(8) commands, in netns when given. */
static int batch(struct run *r, const char *prog, const char *netns, const char *file_name,
		 const struct buf *b, char *got, size_t glen)
{
	char path[RUN_PATH], file[RUN_PATH];
	const char *with_ns[] = { path, "-n", netns, "-batch", file, NULL };
	const char *plain[] = { path, "-batch", file, NULL };

	find_prog(prog, path, sizeof path);
	run_path(r, file_name, file, sizeof file);
	if (b->err || fs_write(file, b->data, b->len))
		return CDNI_EIO;
	return run_cmd(r, netns ? with_ns : plain, NULL, got, glen);
}

static int host_setup(struct run *r, size_t h, char *got, size_t glen)
{
	const char *fwd[] = { "/bin/sh", "-c", "echo 1 >/proc/sys/net/ipv4/ip_forward", NULL };
	char name[200];
	struct buf b;
	int rc;

	snprintf(name, sizeof name, "topology-%s.ip", r->topo->hosts[h].name);
	buf_init(&b, 0);
	topo_ip_batch(r->topo, h, &b);
	rc = batch(r, "ip", r->topo->hosts[h].ns, name, &b, got, glen);
	buf_free(&b);
	if (rc == 0 && r->topo->forwards[h])
		rc = run_cmd(r, fwd, r->topo->hosts[h].ns_path, got, glen);
	return rc;
}

/* ---- the emulator ----------------------------------------------------- */

static int emu_wait_ready(struct run *r, char *got, size_t glen)
{
	long long deadline = now_us() + EMU_READY_MS * 1000LL;
	char *text = NULL, st[80];
	int status, found;

	for (;;) {
		if (proc_poll(r->emu_pid, &status)) {
			r->emu_running = false;
			snprintf(got, glen, "cdni-linkemu %s", proc_status_str(status, st, sizeof st));
			return CDNI_ECLOSED;
		}
		found = file_read_all(r->emu_log, 1 << 20, &text, NULL) == 0 &&
			strstr(text, " ready links=");
		free(text);
		text = NULL;
		if (found)
			return 0;
		if (now_us() > deadline || run_interrupted()) {
			snprintf(got, glen, "no readiness line from cdni-linkemu");
			return CDNI_ETIMEDOUT;
		}
		run_pause_ms(20);
	}
}

static int emu_start(struct run *r, char *got, size_t glen)
{
	char prog[RUN_PATH], cfg[RUN_PATH], out[RUN_PATH];
	const char *argv[] = { prog, "-c", cfg, NULL };
	json_t *c = topo_linkemu_config(r->topo, r->s);
	int rc;

	snprintf(prog, sizeof prog, "%s/cdni-linkemu", r->o->bin);
	run_path(r, "linkemu.json", cfg, sizeof cfg);
	run_path(r, "linkemu.log", r->emu_log, sizeof r->emu_log);
	run_path(r, "linkemu.out", out, sizeof out);
	rc = c && json_dump_file(c, cfg, JSON_INDENT(2)) == 0 ? 0 : CDNI_EIO;
	json_decref(c);
	if (rc || proc_spawn(argv, out, r->emu_log, &r->emu_pid, got, glen))
		return CDNI_EIO;
	r->emu_running = true;
	return emu_wait_ready(r, got, glen);
}

static void emu_stop(struct run *r)
{
	char st[80], tail[3000];
	int status = 0;
	bool killed;

	if (!r->emu_running)
		return;
	proc_stop(r->emu_pid, r->o->stop_grace_ms, &status, &killed);
	r->emu_running = false;
	snprintf(r->scope, sizeof r->scope, "links");
	r->cl.list = r->checks;
	if (killed || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    log_has_sanitizer_report(r->emu_log))
		check_add(&r->cl, false, "cdni-linkemu stopped", "exit status 0",
			  proc_status_str(status, st, sizeof st),
			  log_tail(r->emu_log, 8, "", tail, sizeof tail));
	else
		check_add(&r->cl, true, "cdni-linkemu stopped", NULL, NULL,
			  proc_status_str(status, st, sizeof st));
}

/* RUN/hosts: localhost, the hosts by their names, and the scenario's names. */
static int names_file(struct run *r, char *got, size_t glen)
{
	char path[RUN_PATH], *v = NULL;
	struct buf b;
	const char *k;
	json_t *val;
	int rc = 0;

	buf_init(&b, 0);
	buf_puts(&b, "127.0.0.1\tlocalhost\n");
	for (size_t h = 0; h < r->topo->nhosts; h++)
		buf_printf(&b, "%s\t%s\n", r->topo->hosts[h].addr, r->topo->hosts[h].name);
	json_object_foreach(r->s->names, k, val) {
		struct subst_env env = r->env;

		env.listener = NULL;
		if (subst_string(&env, json_string_value(val), &v, got, glen)) {
			rc = CDNI_ECONFIG;
			break;
		}
		buf_printf(&b, "%s\t%s\n", v, k);
		free(v);
	}
	run_path(r, "hosts", path, sizeof path);
	if (rc == 0 && (b.err || fs_write(path, b.data, b.len)))
		rc = CDNI_EIO;
	buf_free(&b);
	if (rc == 0)
		run_set_hosts_file(path);
	return rc;
}

/* ---- up and down ------------------------------------------------------ */

/* netem kernels: each link a veth pair, each end a netem qdisc. */
static int netem_links(struct run *r, char *got, size_t glen)
{
	struct buf b;
	char name[64];
	int rc = 0;

	for (size_t k = 0; k < r->s->links.n && !rc; k++) {
		buf_init(&b, 0);
		topo_veth_batch(r->topo, k, &b);
		snprintf(name, sizeof name, "topology-link%zu.ip", k);
		rc = batch(r, "ip", NULL, name, &b, got, glen);
		for (int e = 0; e < 2 && !rc; e++) {
			buf_reset(&b);
			topo_netem_batch(r->topo, r->s, k, e, &b);
			snprintf(name, sizeof name, "topology-link%zu-%d.tc", k, e);
			rc = batch(r, "tc", r->topo->hosts[r->topo->devs[2 * k + (size_t)e].host].ns,
				   name, &b, got, glen);
		}
		buf_free(&b);
	}
	return rc;
}

static int netns_up(struct run *r, char *got, size_t glen)
{
	for (size_t h = 0; h < r->topo->nhosts; h++)
		if (ns_add(r, h, got, glen))
			return CDNI_EIO;
	if (r->s->links.n && (r->netem ? netem_links(r, got, glen) : emu_start(r, got, glen)))
		return CDNI_EIO;
	for (size_t h = 0; h < r->topo->nhosts; h++)
		if (host_setup(r, h, got, glen))
			return CDNI_EIO;
	return 0;
}

int topo_prepare(struct run *r, char *err, size_t errlen)
{
	char tag[64], note[300];
	int mode = r->s->hosts.n ? choose_mode(r, note, sizeof note) : TOPO_NONE;

	if (mode == TOPO_NONE)
		snprintf(note, sizeof note, "no hosts: every node on 127.0.0.1");
	/* loopback: nothing is emulated, so every prediction is 0 round trips */
	topo_delay_scale = mode == TOPO_LOOPBACK ? 0 : r->o->fast ? r->o->fast_scale : 1;
	if (mode == TOPO_NETNS && r->o->fast && r->s->links.n)
		snprintf(note + strlen(note), sizeof note - strlen(note),
			 "; --fast: every delay scaled by %g", r->o->fast_scale);
	snprintf(tag, sizeof tag, "cdni-%ld", (long)getpid());
	if (topo_plan(r->s, mode, tag, &r->topo, err, errlen))
		return CDNI_ENOMEM;
	r->ns_made = calloc(r->s->hosts.n + 1, sizeof *r->ns_made);
	if (!r->ns_made)
		return sc_fail(err, errlen, "topology: out of memory");
	snprintf(r->topo->note, sizeof r->topo->note, "%s", note);
	{
		json_t *tj = topo_json(r->topo, r->s);

		r->paths = json_incref(json_object_get(tj, "paths"));
		json_decref(tj);
	}
	return 0;
}

bool topo_up(struct run *r)
{
	char got[2048] = "";
	const char *note = r->topo->note;

	if (r->topo->mode == TOPO_NONE)
		return true;
	snprintf(r->scope, sizeof r->scope, "topology");
	r->cl.list = r->checks;
	if (r->topo->mode == TOPO_NETNS &&
	    (names_file(r, got, sizeof got) || netns_up(r, got, sizeof got))) {
		check_add(&r->cl, false, "set up", "namespaces, links and routes", got, NULL);
		return false;
	}
	check_add(&r->cl, true, "set up", NULL, NULL, NULL);
	fprintf(r->o->out, "#   %s: %zu hosts, %zu links\n", note, r->s->hosts.n, r->s->links.n);
	return true;
}

void topo_down(struct run *r)
{
	run_set_hosts_file(NULL);
	emu_stop(r);
	for (size_t h = 0; r->topo && r->ns_made && h < r->topo->nhosts; h++)
		if (r->ns_made[h])
			ns_del(r, h);
}

/* ---- namespaces of runs that died ------------------------------------- */

static bool stale(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, "cdni-", 5) != 0)
		return false;
	pid = strtol(name + 5, &end, 10);
	if (pid <= 0 || *end != '-' || pid == (long)getpid())
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void topo_reap_stale(void)
{
	DIR *d = opendir("/var/run/netns");
	struct dirent *e;
	char ip[RUN_PATH], err[200];
	pid_t p;
	int st;

	if (d && geteuid() == 0 && find_prog("ip", ip, sizeof ip) == 0)
		while ((e = readdir(d)) != NULL) {
			const char *argv[] = { ip, "netns", "del", e->d_name, NULL };

			if (stale(e->d_name) &&
			    proc_spawn(argv, "/dev/null", "/dev/null", &p, err, sizeof err) == 0)
				proc_wait(p, CMD_TIMEOUT_MS, false, &st);
		}
	if (d)
		closedir(d);
}

/* ---- the report ------------------------------------------------------- */

/* The counters cdni-linkemu logged at its stop, one line per direction. */
static json_t *emu_counters(const struct run *r)
{
	json_t *out = json_array();
	char *text = NULL;

	if (!r->emu_pid || file_read_all(r->emu_log, 1 << 20, &text, NULL) != 0)
		return out;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(l, " packets in");

		if (p && (p = strchr(l, '[')) != NULL)
			json_array_append_new(out, json_string(p));
	}
	free(text);
	return out;
}

json_t *topo_result(const struct run *r)
{
	json_t *t = topo_json(r->topo, r->s);

	json_object_set_new(t, "counters", emu_counters(r));
	return t;
}
