#include "scenarios/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "scenarios/errmsg.h"
#include "scenarios/fsutil.h"
#include "scenarios/report.h"
#include "scenarios/runner_int.h"

#define CHECK_TIMEOUT_MS 10000
#define TAIL_LINES 12

const char *run_path(const struct run *r, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", r->dir, name);
	return out;
}

long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static void iso_now(char *out, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- placeholders at run time ----------------------------------------- */

int run_listener_lookup(void *ctx, const char *node, const char *lis, char *out, size_t outlen,
			char *why, size_t whylen)
{
	const struct run *r = ctx;
	char names[200] = "";
	size_t used = 0;

	for (size_t i = 0; i < r->nnodes; i++) {
		const struct node_rt *n = &r->nodes[i];

		if (strcmp(n->sc->name, node) != 0)
			continue;
		if (!n->ready)
			break;
		for (size_t j = 0; j < n->nls; j++) {
			if (strcmp(n->ls[j].name, lis) == 0) {
				snprintf(out, outlen, "%s", n->ls[j].bound);
				return 0;
			}
			if (used < sizeof names)
				used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
							 used ? ", " : "", n->ls[j].name);
		}
		snprintf(why, whylen, "node \"%s\" reported no listener \"%s\" (it has: %s)", node,
			 lis, names);
		return CDNI_ENOTFOUND;
	}
	snprintf(why, whylen, "node \"%s\" is not running", node);
	return CDNI_ENOTFOUND;
}

/* ---- before the run: programs and configs ----------------------------- */

static int resolve_program(const struct run *r, struct node_rt *n, char *err, size_t errlen)
{
	if (strchr(n->sc->program, '/'))
		snprintf(n->program, sizeof n->program, "%s", n->sc->program);
	else
		snprintf(n->program, sizeof n->program, "%s/%s", r->o->bin, n->sc->program);
	if (access(n->program, X_OK) != 0) {
		snprintf(err, errlen, "%s: nodes[%zu].program: %s: %s", r->s->file, n->index,
			 n->program, strerror(errno));
		return CDNI_ECONFIG;
	}
	return 0;
}

static int write_json(const char *path, json_t *j)
{
	return json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : CDNI_EIO;
}

/* PROGRAM -n -c CONFIG, with placeholders for nodes given dummy addresses. */
static int check_config(struct run *r, struct node_rt *n, struct subst_env *env, char *err,
			size_t errlen)
{
	char cfg[RUN_PATH], log[RUN_PATH], tail[2048], name[300];
	const char *argv[] = { n->program, "-n", "-c", cfg, NULL };
	json_t *j = NULL;
	pid_t pid;
	int status = 0, rc = CDNI_ECONFIG;

	snprintf(name, sizeof name, "nodes[%zu].config", n->index);
	if (subst_json(env, n->sc->config, name, &j, err, errlen))
		return CDNI_ECONFIG;
	snprintf(name, sizeof name, "%s.check.json", n->sc->name);
	run_path(r, name, cfg, sizeof cfg);
	snprintf(name, sizeof name, "%s.check.log", n->sc->name);
	run_path(r, name, log, sizeof log);
	if (write_json(cfg, j) || proc_spawn(argv, log, log, &pid, err, errlen))
		goto out;
	if (proc_wait(pid, CHECK_TIMEOUT_MS, false, &status) != 0) {
		proc_stop(pid, 1000, &status, &(bool){ false });
		status = -1;
	}
	if (status != 0) {
		snprintf(err, errlen, "%s: nodes[%zu].config: %s -n refuses it:\n%s", r->s->file,
			 n->index, n->sc->program, log_tail(log, 6, "  ", tail, sizeof tail));
		goto out;
	}
	unlink(cfg);
	unlink(log);
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static int dummy_listener(void *ctx, const char *node, const char *lis, char *out,
			  size_t outlen, char *why, size_t whylen)
{
	(void)ctx, (void)node, (void)lis, (void)why, (void)whylen;
	snprintf(out, outlen, "127.0.0.1:1");
	return 0;
}

static int preflight(struct run *r, char *err, size_t errlen)
{
	struct subst_env env = r->env;

	env.listener = dummy_listener;
	for (size_t i = 0; i < r->s->nodes.n; i++) {
		struct node_rt *n = &r->nodes[i];

		if (resolve_program(r, n, err, errlen) ||
		    (n->sc->check && check_config(r, n, &env, err, errlen)))
			return CDNI_ECONFIG;
	}
	return 0;
}

/* ---- starting --------------------------------------------------------- */

static void set_scope_node(struct run *r, const struct node_rt *n)
{
	snprintf(r->scope, sizeof r->scope, "node \"%s\"", n->sc->name);
	r->cl.list = r->checks;
}

static void ready_ok(struct run *r, struct node_rt *n)
{
	char detail[RUN_MAX_LISTENERS * 130];
	size_t used = 0;

	detail[0] = '\0';
	for (size_t j = 0; j < n->nls; j++)
		used += (size_t)snprintf(detail + used, sizeof detail - used, "%s%s=%s",
					 j ? " " : "", n->ls[j].name, n->ls[j].bound);
	n->ready = true;
	check_add(&r->cl, true, "ready", NULL, NULL, detail);
}

static void ready_failed(struct run *r, struct node_rt *n, int rc)
{
	char got[200], want[64], tail[3000], st[80];

	if (rc == CDNI_ECLOSED) {
		snprintf(got, sizeof got, "%s before its readiness line",
			 proc_status_str(n->status, st, sizeof st));
		n->running = false;
	} else {
		snprintf(got, sizeof got, run_interrupted() ? "interrupted while waiting"
							 : "no readiness line");
	}
	snprintf(want, sizeof want, "a readiness line within %lld ms", n->sc->ready_timeout_ms);
	n->reported = true;
	check_add(&r->cl, false, "ready", want, got,
		  log_tail(n->log_path, TAIL_LINES, "", tail, sizeof tail));
}

/* A restarted node listens where it did: port 0 in "listen" becomes the bound port. */
static void pin_ports(struct node_rt *n)
{
	json_t *listen = json_object_get(n->config, "listen"), *l;
	size_t i;

	json_array_foreach(listen, i, l) {
		json_t *nm = json_object_get(l, "name");
		const char *name = json_is_string(nm) ? json_string_value(nm)
				   : json_is_true(json_object_get(l, "tls")) ? "https" : "http";
		const char *colon;

		if (json_integer_value(json_object_get(l, "port")) != 0)
			continue;
		for (size_t j = 0; j < n->nls; j++)
			if (strcmp(n->ls[j].name, name) == 0 && (colon = strrchr(n->ls[j].bound, ':')))
				json_object_set_new(l, "port", json_integer(atoi(colon + 1)));
	}
}

static int node_launch(struct run *r, struct node_rt *n, char *err, size_t errlen)
{
	char path[64];
	const char *argv[4 + 64];
	const char *ns = topo_netns(r, topo_host_index(r->s, n->sc->host));
	size_t a = 0;

	snprintf(path, sizeof path, "nodes[%zu].config", n->index);
	if (n->starts > 0)
		pin_ports(n);
	else if (subst_json(&r->env, n->sc->config, path, &n->config, err, errlen))
		return CDNI_ECONFIG;
	if (write_json(n->config_path, n->config)) {
		snprintf(err, errlen, "cannot write %s", n->config_path);
		return CDNI_EIO;
	}
	argv[a++] = n->program;
	argv[a++] = "-c";
	argv[a++] = n->config_path;
	for (size_t i = 0; i < n->sc->args.n && a < 4 + 63; i++) {
		free(n->args[i]);
		n->args[i] = NULL;
		if (subst_string(&r->env, n->sc->args.v[i], &n->args[i], err, errlen))
			return CDNI_ECONFIG;
		argv[a++] = n->args[i];
	}
	argv[a] = NULL;
	if ((n->starts ? proc_spawn_append : proc_spawn_in)(argv, n->access_path, n->log_path, ns,
							    &n->pid, err, errlen))
		return CDNI_EIO;
	n->running = true;
	n->starts++;
	return 0;
}

int run_node_start(struct run *r, struct node_rt *n)
{
	char err[1024] = "", name[300];
	long long from = file_size(n->log_path);
	int rc;

	set_scope_node(r, n);
	snprintf(name, sizeof name, "%s.json", n->sc->name);
	run_path(r, name, n->config_path, sizeof n->config_path);
	snprintf(name, sizeof name, "%s.log", n->sc->name);
	run_path(r, name, n->log_path, sizeof n->log_path);
	snprintf(name, sizeof name, "%s.access.log", n->sc->name);
	run_path(r, name, n->access_path, sizeof n->access_path);
	if (node_launch(r, n, err, sizeof err)) {
		n->reported = true;
		check_add(&r->cl, false, "start", "the program running", err, NULL);
		return -1;
	}
	if (!n->starts)
		from = 0;
	rc = ready_wait_from(n->log_path, from, n->pid, n->sc->ready_timeout_ms, n->ls,
			     RUN_MAX_LISTENERS, &n->nls, &n->status);
	if (rc == 0)
		ready_ok(r, n);
	else
		ready_failed(r, n, rc);
	return rc == 0 ? 0 : -1;
}

/* ---- watching and stopping -------------------------------------------- */

void run_nodes_alive(struct run *r)
{
	char st[80], tail[3000];

	for (size_t i = 0; i < r->nnodes; i++) {
		struct node_rt *n = &r->nodes[i];

		if (!n->running || !proc_poll(n->pid, &n->status))
			continue;
		n->running = false;
		n->reported = true;
		set_scope_node(r, n);
		check_add(&r->cl, false, "running", "running until stopped",
			  proc_status_str(n->status, st, sizeof st),
			  log_tail(n->log_path, TAIL_LINES, "", tail, sizeof tail));
	}
}

static void stop_verdict(struct run *r, struct node_rt *n, bool killed)
{
	char st[80], got[200], tail[3000];

	proc_status_str(n->status, st, sizeof st);
	if (killed) {
		snprintf(got, sizeof got, "still running %lld ms after SIGTERM; killed",
			 r->o->stop_grace_ms);
		check_add(&r->cl, false, "stopped", "an exit on SIGTERM", got, NULL);
	} else if (!WIFEXITED(n->status) || WEXITSTATUS(n->status) != 0) {
		check_add(&r->cl, false, "stopped", "exit status 0", st,
			  log_tail(n->log_path, TAIL_LINES, "", tail, sizeof tail));
	} else if (log_has_sanitizer_report(n->log_path)) {
		snprintf(got, sizeof got, "a sanitizer report in %s.log", n->sc->name);
		check_add(&r->cl, false, "stopped", "no sanitizer report", got, NULL);
	} else {
		check_add(&r->cl, true, "stopped", NULL, NULL, st);
	}
}

void run_node_stop(struct run *r, struct node_rt *n)
{
	bool killed;

	proc_stop(n->pid, r->o->stop_grace_ms, &n->status, &killed);
	n->running = false;
	stop_verdict(r, n, killed);
}

static void nodes_stop(struct run *r)
{
	run_nodes_alive(r);
	for (size_t i = r->nnodes; i-- > 0;) {
		struct node_rt *n = &r->nodes[i];

		if (!n->running)
			continue;
		set_scope_node(r, n);
		run_node_stop(r, n);
	}
}

/* ---- steps ------------------------------------------------------------ */

/* Lines the nodes logged on stderr during the step ("log_lines"). */
static void step_log_lines(struct run *r, const struct sc_expect *e)
{
	for (size_t i = 0; i < e->log_lines.n; i++) {
		const struct sc_line_expect *l = (const struct sc_line_expect *)e->log_lines.v + i;
		char *text = NULL, what[400];
		const char *found = NULL;
		size_t len = 0;

		for (size_t k = 0; k < r->nnodes; k++) {
			const struct node_rt *n = &r->nodes[k];

			if (strcmp(n->sc->name, l->node) || file_read_all(n->log_path, 16u << 20, &text, &len))
				continue;
			if ((size_t)n->log_offset <= len)
				found = strstr(text + n->log_offset, l->contains);
			break;
		}
		snprintf(what, sizeof what, "%s log (this step) %s \"%s\"", l->node,
			 l->absent ? "lacks" : "has", l->contains);
		check_add(&r->cl, l->absent ? !found : found != NULL, what, l->absent ? "absent" : "present",
			  found ? "present" : "absent", NULL);
		free(text);
	}
}

static void step_not_run(struct run *r, json_t *res, const char *why)
{
	json_object_set_new(res, "ok", json_false());
	check_add(&r->cl, false, "run", "the step run", why, NULL);
}

static void step_run(struct run *r, size_t i)
{
	const struct sc_step *st = &r->s->steps[i];
	struct sc_step rt;
	json_t *res = json_pack("{s:I, s:s, s:s, s:[]}", "n", (json_int_t)i + 1, "name", st->name,
				"kind", sc_step_kinds[st->kind].key, "checks"),
	       *sub = NULL;
	char path[64], err[1024] = "";
	int failed_before = r->cl.failed;
	long long t0 = now_us();

	snprintf(r->scope, sizeof r->scope, "step %zu \"%s\"", i + 1, st->name);
	r->cl.list = json_object_get(res, "checks");
	json_array_append_new(r->steps, res);
	snprintf(path, sizeof path, "steps[%zu]", i);
	memset(&rt, 0, sizeof rt);
	if (run_interrupted())
		step_not_run(r, res, "not run: the run was interrupted");
	else if (r->setup_failed)
		step_not_run(r, res, "not run: a node did not start");
	else if (st->only == (r->o->fast ? 1 : 2)) {
		json_object_set_new(res, "ok", json_true());
		json_object_set_new(res, "what", json_string(r->o->fast ? "skipped: only in full runs"
									: "skipped: only in --fast runs"));
	}
	else if (subst_json(&r->env, st->raw, path, &sub, err, sizeof err) ||
		 sc_step_load(sub, &rt, path, err, sizeof err))
		step_not_run(r, res, err);
	else {
		for (size_t k = 0; k < r->nnodes; k++)
			r->nodes[k].log_offset = file_size(r->nodes[k].log_path);
		step_execs[rt.kind](r, &rt, i + 1, res);
		step_log_lines(r, &rt.expect);
	}
	if (!json_object_get(res, "ok"))
		json_object_set_new(res, "ok", json_boolean(r->cl.failed == failed_before));
	if (!json_object_get(res, "duration_ms"))
		json_object_set_new(res, "duration_ms", json_real((double)(now_us() - t0) / 1000));
	fprintf(r->o->out, "# step %zu/%zu \"%s\": %s, %.1f ms\n", i + 1, r->s->nsteps, st->name,
		json_is_true(json_object_get(res, "ok")) ? "done" : "FAILED",
		json_number_value(json_object_get(res, "duration_ms")));
	fflush(r->o->out);
	sc_step_free(&rt);
	json_decref(sub);
}

/* ---- the result ------------------------------------------------------- */

static json_t *node_json(const struct node_rt *n)
{
	json_t *ls = json_object();
	char st[80];

	for (size_t j = 0; j < n->nls; j++)
		json_object_set_new(ls, n->ls[j].name, json_string(n->ls[j].bound));
	return json_pack("{s:s, s:s, s:s, s:o, s:s?, s:s, s:s, s:s}", "name", n->sc->name, "label",
			 scenario_node_label(n->sc), "program", n->sc->program, "listeners", ls,
			 "exit", n->pid > 0 && !n->running ? proc_status_str(n->status, st, sizeof st)
							   : NULL,
			 "config", strrchr(n->config_path, '/') + 1, "log",
			 strrchr(n->log_path, '/') + 1, "access_log", strrchr(n->access_path, '/') + 1);
}

static json_t *result_new(const struct run *r, const char *started)
{
	const struct scenario *s = r->s;

	return json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s, s:O, s:O}", "scenario", s->name,
			 "title", s->title, "description", s->description, "file", s->file,
			 "run_dir", r->shown, "started", started, "checks", r->checks, "steps",
			 r->steps);
}

static void result_finish(struct run *r, json_t *res, long long t0)
{
	json_t *nodes = json_array();

	for (size_t i = 0; i < r->nnodes; i++)
		json_array_append_new(nodes, node_json(&r->nodes[i]));
	json_object_set_new(res, "nodes", nodes);
	if (r->topo)
		json_object_set_new(res, "topology", topo_result(r));
	json_object_set_new(res, "duration_ms", json_real((double)(now_us() - t0) / 1000));
	json_object_set_new(res, "passed", json_integer(r->cl.passed));
	json_object_set_new(res, "failed", json_integer(r->cl.failed));
	json_object_set_new(res, "ok", json_boolean(r->cl.failed == 0));
	json_object_set_new(res, "interrupted", json_boolean(run_interrupted() != 0));
}

/* A passing run keeps its reports, logs and traces, not what it can make again. */
static void drop_bulk(struct run *r, json_t *res)
{
	char path[RUN_PATH];
	json_t *step;
	size_t i;

	fs_remove_tree(r->content);
	json_array_foreach(json_object_get(res, "steps"), i, step) {
		const char *body = json_string_value(json_object_get(step, "body"));

		if (body)
			unlink(run_path(r, body, path, sizeof path));
		json_object_del(step, "body");
	}
}

/* ---- the run ---------------------------------------------------------- */

static void run_interrupt_check(struct run *r)
{
	char got[80];
	int sig = run_interrupted();

	if (!sig)
		return;
	snprintf(r->scope, sizeof r->scope, "run");
	r->cl.list = r->checks;
	snprintf(got, sizeof got, "signal %d (%s)", sig, strsignal(sig));
	check_add(&r->cl, false, "interrupted", "no interruption", got, NULL);
}

static void run_body(struct run *r)
{
	if (!topo_up(r))
		r->setup_failed = true;
	for (size_t i = 0; i < r->s->nodes.n && !r->setup_failed; i++) {
		r->nnodes = i + 1;
		if (run_node_start(r, &r->nodes[i]) != 0)
			r->setup_failed = true;
	}
	for (size_t i = 0; i < r->s->nsteps; i++) {
		if (!r->setup_failed)
			run_nodes_alive(r);
		step_run(r, i);
	}
	r->cl.list = r->checks;
}

/* Content texts may name directories and hosts ({{run}}, {{HOST.addr}}):
 * a zone file that gives a host's address. Nodes are not running yet. */
static int content_make(struct run *r, char *err, size_t errlen)
{
	struct sc_content *c = calloc(r->s->ncontent + 1, sizeof *c);
	struct subst_env env = r->env;
	char msg[600];
	int rc = 0;

	env.listener = NULL;
	for (size_t i = 0; c && i < r->s->ncontent && rc == 0; i++) {
		c[i] = r->s->content[i];
		if (c[i].text && subst_string(&env, r->s->content[i].text, &c[i].text, msg, sizeof msg)) {
			c[i].text = NULL;
			rc = sc_fail(err, errlen, "%s: content.%s: %s", r->s->file, c[i].path, msg);
		}
		if (c[i].from && subst_string(&env, r->s->content[i].from, &c[i].from, msg, sizeof msg)) {
			c[i].from = NULL;
			rc = sc_fail(err, errlen, "%s: content.%s: %s", r->s->file, c[i].path, msg);
		}
	}
	if (!c)
		rc = sc_fail(err, errlen, "content: out of memory");
	if (rc == 0)
		rc = content_generate(c, r->s->ncontent, r->content, err, errlen);
	for (size_t i = 0; c && i < r->s->ncontent; i++) {
		if (c[i].text != r->s->content[i].text)
			free(c[i].text);
		if (c[i].from != r->s->content[i].from)
			free(c[i].from);
	}
	free(c);
	return rc;
}

static int run_setup(struct run *r, const char *run_dir, char *err, size_t errlen)
{
	if (fs_run_dir_prepare(run_dir, err, errlen))
		return CDNI_EIO;
	if (!realpath(run_dir, r->dir)) {
		snprintf(err, errlen, "%s: %s", run_dir, strerror(errno));
		return CDNI_EIO;
	}
	snprintf(r->shown, sizeof r->shown, "%s", run_dir);
	run_path(r, "content", r->content, sizeof r->content);
	r->env = (struct subst_env){ r->o->pki, r->dir, r->content, r->o->bin, run_listener_lookup,
				     r, topo_host_addr, topo_rtt };
	for (size_t i = 0; i < r->s->nodes.n; i++) {
		r->nodes[i].sc = (const struct sc_node *)r->s->nodes.v + i;
		r->nodes[i].index = i;
	}
	if (topo_prepare(r, err, errlen))
		return CDNI_ENOMEM;
	if (content_make(r, err, errlen))
		return CDNI_EIO;
	return preflight(r, err, errlen);
}

static void run_report(struct run *r, const char *started, long long t0)
{
	json_t *res = result_new(r, started);
	char err[512];

	result_finish(r, res, t0);
	if (r->cl.failed == 0 && !r->o->keep)
		drop_bulk(r, res);
	if (report_write(res, r->dir, err, sizeof err) != 0)
		fprintf(r->o->out, "# %s\n", err);
	else
		fprintf(r->o->out, "# report: %s/report.html\n# report: %s/report.md\n", r->shown,
			r->shown);
	json_decref(res);
}

int runner_run(const struct runner_opts *o, const struct scenario *s, const char *run_dir,
	       struct runner_totals *totals, char *err, size_t errlen)
{
	struct run r;
	long long t0 = now_us();
	char started[40];
	int rc;

	memset(&r, 0, sizeof r);
	r.o = o;
	r.s = s;
	r.nodes = calloc(s->nodes.n, sizeof *r.nodes);
	r.steps = json_array();
	r.checks = json_array();
	r.cl = (struct checklist){ r.checks, o->out, r.scope, 0, 0 };
	iso_now(started, sizeof started);
	fprintf(o->out, "# scenario %s%s%s\n# run directory %s\n", s->name, s->title ? ": " : "",
		s->title ? s->title : "", run_dir);
	rc = r.nodes && r.checks && r.steps ? run_setup(&r, run_dir, err, errlen) : CDNI_ENOMEM;
	if (rc == 0) {
		run_body(&r);
		nodes_stop(&r);
		topo_down(&r);
		run_interrupt_check(&r);
		run_report(&r, started, t0);
		totals->passed += r.cl.passed;
		totals->failed += r.cl.failed;
	}
	for (size_t i = 0; r.nodes && i < s->nodes.n; i++) {
		json_decref(r.nodes[i].config);
		for (size_t k = 0; k < 64; k++)
			free(r.nodes[i].args[k]);
	}
	free(r.nodes);
	json_decref(r.checks);
	json_decref(r.steps);
	topo_free(r.topo);
	free(r.ns_made);
	json_decref(r.paths);
	return rc;
}
