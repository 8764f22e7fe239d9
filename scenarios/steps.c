/* cdni-scenario — the step executors, one per step kind (step_execs[]).
 * A UA step runs cdni-ua with its trace, body and log in the run
 * directory, waits for the nodes' access logs to settle, evaluates the
 * expectations and records the observed message flow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "scenarios/flow.h"
#include "scenarios/runner_int.h"
#include "scenarios/steps_int.h"

#define SETTLE_MS 2000
#define UA_ARGS_MAX 96

/* ---- wait_ms ---------------------------------------------------------- */

static void exec_wait(struct run *r, const struct sc_step *st, size_t n, json_t *res)
{
	long long deadline = now_us() + st->wait_ms * 1000, left;
	char what[64];

	while (!run_interrupted() && (left = deadline - now_us()) > 0)
		run_pause_ms(left / 1000 + 1);
	snprintf(what, sizeof what, "waited %lld ms", st->wait_ms);
	json_object_set_new(res, "what", json_string(what));
	if (run_interrupted())
		check_add(&r->cl, false, "wait", what, "interrupted", NULL);
	else
		fprintf(r->o->out, "# step %zu \"%s\": %s\n", n, st->name, what);
}

/* ---- ua: the access logs ---------------------------------------------- */

void logs_free(struct step_logs *l)
{
	for (size_t i = 0; i < l->n; i++) {
		json_decref(l->views[i].run);
		json_decref(l->views[i].step);
	}
	l->n = 0;
}

static void logs_load(struct run *r, struct step_logs *l)
{
	logs_free(l);
	for (size_t i = 0; i < r->nnodes && i < 64; i++) {
		struct node_rt *n = &r->nodes[i];

		l->views[i] = (struct log_view){ n->sc->name, alog_read(n->access_path, 0, NULL),
						 alog_read(n->access_path, n->step_offset, NULL) };
		l->fn[i] = (struct flow_node){ n->sc->name, scenario_node_label(n->sc), n->ls, n->nls,
					       l->views[i].step, n->config };
		l->n = i + 1;
	}
}

/* Every hop that got an answer has an entry at the node that gave it. */
static bool hops_logged(const struct step_logs *l, json_t *trace)
{
	size_t want[64] = { 0 }, i;
	json_t *hop;

	json_array_foreach(json_object_get(trace, "hops"), i, hop) {
		int node = flow_node_for(l->fn, l->n,
					 json_string_value(json_object_get(hop, "url")),
					 json_string_value(json_object_get(hop, "address")));

		if (node >= 0 && json_integer_value(json_object_get(hop, "status")) > 0)
			want[node]++;
	}
	for (i = 0; i < l->n; i++)
		if (json_array_size(l->fn[i].entries) < want[i])
			return false;
	return true;
}

static long long logs_size(const struct run *r)
{
	long long total = 0;

	for (size_t i = 0; i < r->nnodes; i++)
		total += file_size(r->nodes[i].access_path);
	return total;
}

/* Access-log lines are written as requests complete, which may be just
 * after the UA saw its last byte: wait (with a deadline) until each hop
 * is logged and the logs stop growing. */
void logs_settle(struct run *r, struct step_logs *l, json_t *trace)
{
	long long deadline = now_us() + SETTLE_MS * 1000LL, size = -1, now;

	for (;;) {
		logs_load(r, l);
		now = logs_size(r);
		if ((hops_logged(l, trace) && now == size) || now_us() > deadline ||
		    run_interrupted())
			return;
		size = now;
		run_pause_ms(25);
	}
}

/* ---- ua: running cdni-ua ---------------------------------------------- */

struct ua_files {
	char trace[RUN_PATH], body[RUN_PATH], log[RUN_PATH];
	char trace_name[64], body_name[64], log_name[64];
};

static void ua_files(const struct run *r, size_t n, struct ua_files *f)
{
	snprintf(f->trace_name, sizeof f->trace_name, "step-%zu.trace.json", n);
	snprintf(f->body_name, sizeof f->body_name, "step-%zu.body", n);
	snprintf(f->log_name, sizeof f->log_name, "step-%zu.ua.log", n);
	run_path(r, f->trace_name, f->trace, sizeof f->trace);
	run_path(r, f->body_name, f->body, sizeof f->body);
	run_path(r, f->log_name, f->log, sizeof f->log);
}

static size_t ua_argv(const struct run *r, const struct sc_ua *ua, struct ua_files *f,
		      char *prog, char *ca, const char **argv)
{
	size_t a = 0;

	snprintf(prog, RUN_PATH, "%s/cdni-ua", r->o->bin);
	snprintf(ca, RUN_PATH, "%s/ca.pem", r->o->pki);
	argv[a++] = prog;
	argv[a++] = "--cacert";
	argv[a++] = ua->cacert ? ua->cacert : ca;
	for (size_t i = 0; i < ua->resolve.n && a < UA_ARGS_MAX - 40; i++) {
		argv[a++] = "--resolve";
		argv[a++] = ua->resolve.v[i];
	}
	argv[a++] = "--trace";
	argv[a++] = f->trace;
	argv[a++] = "-o";
	argv[a++] = f->body;
	for (size_t i = 0; i < ua->args.n && a < UA_ARGS_MAX - 3; i++)
		argv[a++] = ua->args.v[i];
	argv[a++] = ua->url;
	argv[a] = NULL;
	return a;
}

/* Run cdni-ua to its end; *exit_code -1 when it had to be stopped. */
static int ua_run(struct run *r, const struct sc_ua *ua, struct ua_files *f, int *exit_code,
		  char *desc, size_t desclen)
{
	char prog[RUN_PATH], ca[RUN_PATH];
	const char *argv[UA_ARGS_MAX];
	pid_t pid;
	int status = 0;
	bool killed;

	ua_argv(r, ua, f, prog, ca, argv);
	if (proc_spawn_in(argv, f->log, f->log,
			  topo_netns(r, topo_host_index(r->s, ua->host ? ua->host : r->s->ua_host)),
			  &pid, desc, desclen))
		return CDNI_EIO;
	if (proc_wait(pid, ua->timeout_ms, true, &status) != 0) {
		proc_stop(pid, 1000, &status, &killed);
		snprintf(desc, desclen, run_interrupted() ? "stopped: the run was interrupted"
							  : "killed after the %lld ms deadline",
			 ua->timeout_ms);
		*exit_code = -1;
		return 0;
	}
	proc_status_str(status, desc, desclen);
	*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return 0;
}

/* The UA's own checks, in the report's shape. */
static json_t *ua_checks(json_t *trace)
{
	json_t *out = json_array(), *c;
	size_t i;

	json_array_foreach(json_object_get(trace, "checks"), i, c) {
		int ok = json_is_true(json_object_get(c, "ok"));
		json_t *detail = json_object_get(c, "detail");

		json_array_append_new(out, json_pack("{s:O?, s:b, s:O?, s:O?}", "what",
						     json_object_get(c, "name"), "ok", ok, "want",
						     ok ? detail : NULL, "got", ok ? NULL : detail));
	}
	return out;
}

static void ua_record(const struct sc_step *st, struct ua_files *f, json_t *trace,
		      struct step_logs *l, json_t *res)
{
	json_object_set_new(res, "flow", flow_build(trace, l->fn, l->n));
	json_object_set_new(res, "ua_checks", ua_checks(trace));
	if (trace)
		json_object_set_new(res, "trace", json_string(f->trace_name));
	if (access(f->body, F_OK) == 0)
		json_object_set_new(res, "body", json_string(f->body_name));
	json_object_set_new(res, "log", json_string(f->log_name));
	json_object_set_new(res, "url", json_string(st->ua.url));
}

static double phase_ms(json_t *t, const char *k)
{
	return json_number_value(json_object_get(t, k));
}

/* ---- ua: phases of each hop, for timing bounds ----------------------- */

/* [{"dns","connect","tls","first_byte","ttfb","total"}...], one per hop;
 * ttfb: from the hop's start to its first byte. */
static json_t *ua_phases(json_t *trace)
{
	json_t *out = json_array(), *hop;
	size_t i;

	json_array_foreach(json_object_get(trace, "hops"), i, hop) {
		json_t *t = json_deep_copy(json_object_get(hop, "timing_ms"));
		double ttfb = 0;

		if (!t)
			t = json_object();
		ttfb = phase_ms(t, "dns") + phase_ms(t, "connect") + phase_ms(t, "tls") +
		       phase_ms(t, "first_byte");
		json_object_set_new(t, "ttfb", json_real(ttfb));
		json_array_append_new(out, t);
	}
	return out;
}

static void exec_ua(struct run *r, const struct sc_step *st, size_t n, json_t *res)
{
	struct ua_files f;
	struct step_logs *l = calloc(1, sizeof *l);
	char desc[1024] = "", tail[2048];
	int exit_code = -1;
	long long t0 = now_us();
	json_t *trace = NULL;

	ua_files(r, n, &f);
	for (size_t i = 0; i < r->nnodes; i++)
		r->nodes[i].step_offset = file_size(r->nodes[i].access_path);
	if (!l || ua_run(r, &st->ua, &f, &exit_code, desc, sizeof desc)) {
		check_add(&r->cl, false, "ua", "cdni-ua running", desc, NULL);
		free(l);
		return;
	}
	json_object_set_new(res, "duration_ms", json_real((double)(now_us() - t0) / 1000));
	json_object_set_new(res, "exit", json_string(desc));
	trace = json_load_file(f.trace, 0, NULL);
	logs_settle(r, l, trace);
	expect_eval(&st->expect,
		    &(struct ua_outcome){ exit_code, desc, log_tail(f.log, 8, "", tail, sizeof tail),
					  trace, f.body, r->dir, l->views, l->n },
		    &r->cl);
	ua_record(st, &f, trace, l, res);
	expect_served_by(&st->expect, json_object_get(res, "flow"), &r->cl);
	step_timings(r, &st->expect, ua_phases(trace), res);
	expect_duration(&st->expect, json_real_value(json_object_get(res, "duration_ms")), &r->cl);

	logs_free(l);
	free(l);
	json_decref(trace);
}


const step_exec_fn step_execs[SC_STEP_NKINDS] = {
	[SC_STEP_UA] = exec_ua,
	[SC_STEP_WAIT] = exec_wait,
	[SC_STEP_KILL] = exec_kill,
	[SC_STEP_START] = exec_start,
	[SC_STEP_RESTART] = exec_restart,
	[SC_STEP_RUN] = exec_cmd,
	[SC_STEP_RESOLVE] = exec_cmd,
	[SC_STEP_DANE] = exec_cmd,
	[SC_STEP_KEYLESS] = exec_cmd,
	[SC_STEP_PLAY] = exec_cmd,
	[SC_STEP_CURL] = exec_cmd,
};
