/* cdni-scenario — step executors for node control (kill, start, restart)
 * and for commands (run, resolve, dane, keyless, play, curl): each command
 * kind is an argv builder; they all run the same way (on a host, with a
 * deadline, output in RUN/step-N.out) and are checked the same way (exit
 * status, output, duration, access logs; curl also per-transfer timings). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "scenarios/steps_int.h"

#define ARGV_MAX 160
#define OUT_MAX (16u << 20)

/* ---- node control ----------------------------------------------------- */

static struct node_rt *node_of(struct run *r, const char *name)
{
	for (size_t i = 0; i < r->nnodes; i++)
		if (strcmp(r->nodes[i].sc->name, name) == 0)
			return &r->nodes[i];
	return NULL;
}

/* run_node_start/stop speak in the node's scope; put the step's back. */
struct scope_save {
	char scope[400];
	json_t *list;
};

static void scope_save(struct run *r, struct scope_save *s)
{
	snprintf(s->scope, sizeof s->scope, "%s", r->scope);
	s->list = r->cl.list;
}

static void scope_restore(struct run *r, const struct scope_save *s)
{
	snprintf(r->scope, sizeof r->scope, "%s", s->scope);
	r->cl.list = s->list;
}

void exec_kill(struct run *r, const struct sc_step *st, size_t n, json_t *res)
{
	struct node_rt *node = node_of(r, st->node);
	char got[120];
	bool killed;

	(void)n;
	if (!node || !node->running) {
		check_add(&r->cl, false, "kill", "a running node", "not running", NULL);
		return;
	}
	if (st->signal == 1) { /* TERM: a clean stop, judged like the end of a run */
		run_node_stop(r, node);
	} else {
		kill(-node->pid, SIGKILL);
		kill(node->pid, SIGKILL);
		proc_stop(node->pid, 1000, &node->status, &killed);
		node->running = false;
		proc_status_str(node->status, got, sizeof got);
		check_add(&r->cl, WIFSIGNALED(node->status), "killed", "killed by signal 9", got, NULL);
	}
	node->reported = true;
	json_object_set_new(res, "what", json_string(st->signal == 1 ? "SIGTERM" : "SIGKILL"));
}

void exec_start(struct run *r, const struct sc_step *st, size_t n, json_t *res)
{
	struct node_rt *node = node_of(r, st->node);
	struct scope_save sv;
	int rc;

	(void)n;
	if (!node || node->running) {
		check_add(&r->cl, false, "start", "a stopped node", node ? "running" : "unknown", NULL);
		return;
	}
	scope_save(r, &sv);
	rc = run_node_start(r, node);
	scope_restore(r, &sv);
	check_add(&r->cl, rc == 0, "started", "ready on the same addresses", rc ? "not ready" : NULL,
		  NULL);
	json_object_set_new(res, "what", json_string("started"));
}

void exec_restart(struct run *r, const struct sc_step *st, size_t n, json_t *res)
{
	struct node_rt *node = node_of(r, st->node);
	struct scope_save sv;

	if (!node || !node->running) {
		check_add(&r->cl, false, "restart", "a running node", "not running", NULL);
		return;
	}
	scope_save(r, &sv);
	run_node_stop(r, node);
	scope_restore(r, &sv);
	exec_start(r, st, n, res);
}

/* ---- commands: argv --------------------------------------------------- */

struct argv_b {
	const char *v[ARGV_MAX];
	size_t n;
	char prog[RUN_PATH], ca[RUN_PATH];
	char dig_at[300], dig_port[16];
};

static void add(struct argv_b *a, const char *s)
{
	if (a->n < ARGV_MAX - 1)
		a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void add_list(struct argv_b *a, const struct conf_strlist *l, const char *opt)
{
	for (size_t i = 0; i < l->n; i++) {
		if (opt)
			add(a, opt);
		add(a, l->v[i]);
	}
}

/* A program: with a '/', as given; else in the bin directory; else on PATH. */
static void program(const struct run *r, const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(out, len, "%s/%s", r->o->bin, name);
	if (strchr(name, '/') || access(out, X_OK) == 0) {
		if (strchr(name, '/'))
			snprintf(out, len, "%s", name);
		return;
	}
	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return;
	}
	snprintf(out, len, "%s", name); /* the spawn will say it is missing */
}

static void argv_resolve(const struct run *r, const struct sc_resolve *q, struct argv_b *a)
{
	const char *at = strrchr(q->server, '@');

	program(r, "dig", a->prog, sizeof a->prog);
	add(a, a->prog);
	snprintf(a->dig_at, sizeof a->dig_at, "@%.*s", at ? (int)(at - q->server) : (int)strlen(q->server),
		 q->server);
	snprintf(a->dig_port, sizeof a->dig_port, "%s", at ? at + 1 : "53");
	add(a, a->dig_at);
	add(a, "-p");
	add(a, a->dig_port);
	add(a, "+norecurse");
	add(a, "+time=2");
	add(a, "+tries=1");
	if (q->dnssec)
		add(a, "+dnssec");
	add(a, q->qname);
	add(a, q->type);
}

static void argv_dane(const struct run *r, const struct sc_dane *d, struct argv_b *a)
{
	program(r, "cdni-dane", a->prog, sizeof a->prog);
	add(a, a->prog);
	add(a, "verify");
	add(a, "--resolver");
	add(a, d->resolver);
	if (d->anchor) {
		add(a, "--anchor");
		add(a, d->anchor);
	}
	add(a, "--cacert");
	add(a, a->ca);
	add_list(a, &d->args, NULL);
	add(a, d->qname);
	if (json_is_integer(d->port))
		snprintf(a->dig_port, sizeof a->dig_port, "%lld", (long long)json_integer_value(d->port));
	else
		snprintf(a->dig_port, sizeof a->dig_port, "%s", json_string_value(d->port) ? json_string_value(d->port) : "443");
	add(a, a->dig_port);
}

static void argv_keyless(const struct run *r, const struct sc_keyless *k, struct argv_b *a)
{
	program(r, "cdni-keyless", a->prog, sizeof a->prog);
	add(a, a->prog);
	add(a, k->op);
	add(a, "-s");
	add(a, k->server);
	add_list(a, &k->args, NULL);
}

static void argv_play(const struct run *r, const struct sc_play *p, struct argv_b *a)
{
	program(r, "ffmpeg", a->prog, sizeof a->prog);
	add(a, a->prog);
	add(a, "-hide_banner");
	add(a, "-nostdin");
	add(a, "-v");
	add(a, "error");
	add_list(a, &p->args, NULL);
	add(a, "-i");
	add(a, p->url);
	add(a, "-f");
	add(a, "null");
	add(a, "-");
}

static void argv_curl(const struct run *r, const struct sc_curl *c, struct argv_b *a)
{
	program(r, "curl", a->prog, sizeof a->prog);
	add(a, a->prog);
	add(a, "-sS");
	add(a, "--cacert");
	add(a, c->cacert ? c->cacert : a->ca);
	add_list(a, &c->resolve, "--resolve");
	add(a, "-w");
	add(a, "%{json}\\n");
	add_list(a, &c->args, NULL);
	for (size_t i = 0; i < c->urls.n; i++) {
		add(a, "-o");
		add(a, "/dev/null");
		add(a, c->urls.v[i]);
	}
}

static void argv_build(const struct run *r, const struct sc_step *st, struct argv_b *a)
{
	snprintf(a->ca, sizeof a->ca, "%s/ca.pem", r->o->pki);
	switch (st->kind) {
	case SC_STEP_RUN:
		program(r, st->run.v[0], a->prog, sizeof a->prog);
		add(a, a->prog);
		for (size_t i = 1; i < st->run.n; i++)
			add(a, st->run.v[i]);
		break;
	case SC_STEP_RESOLVE: argv_resolve(r, &st->resolve, a); break;
	case SC_STEP_DANE: argv_dane(r, &st->dane, a); break;
	case SC_STEP_KEYLESS: argv_keyless(r, &st->keyless, a); break;
	case SC_STEP_PLAY: argv_play(r, &st->play, a); break;
	default: argv_curl(r, &st->curl, a); break;
	}
}

/* ---- commands: curl's transfers --------------------------------------- */

static double secs(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k)) * 1000;
}

static json_t *curl_phases(json_t *j)
{
	double tls = secs(j, "time_appconnect") > 0
			     ? secs(j, "time_appconnect") - secs(j, "time_connect") : 0.0;

	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "dns", secs(j, "time_namelookup"),
			 "connect", secs(j, "time_connect") - secs(j, "time_namelookup"), "tls", tls,
			 "first_byte", secs(j, "time_starttransfer") - secs(j, "time_pretransfer"),
			 "ttfb", secs(j, "time_starttransfer"), "total", secs(j, "time_total"));
}

/* One transfer per curl -w '%{json}' line: {"n","url","status","bytes",
 * "connects","tls_version","timing_ms"}. */
static json_t *curl_transfers(const char *text)
{
	json_t *out = json_array();
	char *copy = strdup(text ? text : "");

	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); copy && l;
	     l = strtok_r(NULL, "\n", &save)) {
		json_t *j = l[0] == '{' ? json_loads(l, 0, NULL) : NULL;

		if (!j)
			continue;
		json_array_append_new(
			out, json_pack("{s:I, s:s?, s:I, s:I, s:I, s:o}", "n",
				       (json_int_t)json_array_size(out) + 1, "url",
				       json_string_value(json_object_get(j, "url_effective")), "status",
				       json_integer_value(json_object_get(j, "http_code")), "bytes",
				       (json_int_t)json_number_value(json_object_get(j, "size_download")),
				       "connects", json_integer_value(json_object_get(j, "num_connects")),
				       "timing_ms", curl_phases(j)));
		json_decref(j);
	}
	free(copy);
	return out;
}

/* ---- commands: narrated message flow ---------------------------------- */

static void flow_lifeline(json_t *lifelines, struct run *r, const char *id)
{
	json_t *l;
	size_t i;
	const char *label = id;

	json_array_foreach(lifelines, i, l)
		if (strcmp(json_string_value(json_object_get(l, "id")), id) == 0)
			return;
	for (size_t k = 0; k < r->nnodes; k++)
		if (strcmp(r->nodes[k].sc->name, id) == 0)
			label = scenario_node_label(r->nodes[k].sc);
	json_array_append_new(lifelines, json_pack("{s:s, s:s}", "id", id, "label", label));
}

/* "@flow FROM -> TO: 3. label | note" (-->: an answer): one message. */
static void flow_line(struct run *r, char *line, json_t *lifelines, json_t *msgs)
{
	char *arrow = strstr(line, "->"), *colon, *note, *from = line, *to;
	bool answer;
	long hop;

	if (!arrow || !(colon = strstr(arrow, ": ")))
		return;
	answer = arrow > line && arrow[-1] == '-';
	*(answer ? arrow - 1 : arrow) = '\0';
	*colon = '\0';
	to = arrow + 2;
	while (*from == ' ')
		from++;
	while (*to == ' ')
		to++;
	for (char *e = from + strlen(from); e > from && e[-1] == ' ';)
		*--e = '\0';
	note = strstr(colon + 2, " | ");
	if (note)
		*note = '\0', note += 3;
	hop = strtol(colon + 2, NULL, 10);
	flow_lifeline(lifelines, r, from);
	flow_lifeline(lifelines, r, to);
	json_array_append_new(msgs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "from", from, "to",
					      to, "kind", "message", "label", colon + 2, "note",
					      note ? note : "", "status", answer ? 200 : 0));
	if (hop > 0)
		json_object_set_new(json_array_get(msgs, json_array_size(msgs) - 1), "hop",
				    json_integer(hop));
}

/* A command may narrate the messages it saw, one "@flow" line each: they
 * become the step's sequence diagram. */
static json_t *narrated_flow(struct run *r, const char *text)
{
	json_t *lifelines = json_array(), *msgs = json_array();
	char *copy = strdup(text ? text : "");

	for (char *save = NULL, *l = strtok_r(copy, "\n", &save); copy && l;
	     l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "@flow ", 6) == 0)
			flow_line(r, l + 6, lifelines, msgs);
	free(copy);
	if (!json_array_size(msgs)) {
		json_decref(lifelines);
		json_decref(msgs);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:[], s:[]}", "lifelines", lifelines, "messages", msgs, "hops",
			 "unattributed");
}

/* ---- commands: running ------------------------------------------------ */

static void cmd_line(const struct argv_b *a, char *out, size_t len)
{
	size_t w = 0;

	out[0] = '\0';
	for (size_t i = 0; i < a->n && w < len; i++)
		w += (size_t)snprintf(out + w, len - w, "%s%s", i ? " " : "",
				      i == 0 && strrchr(a->v[0], '/') ? strrchr(a->v[0], '/') + 1 : a->v[i]);
}

static int cmd_run(struct run *r, const struct sc_step *st, const struct argv_b *a,
		   const char *out, int *exit_code, char *desc, size_t dlen)
{
	const char *ns = topo_netns(r, topo_host_index(r->s, st->host ? st->host : r->s->ua_host));
	pid_t pid;
	int status = 0;
	bool killed;

	if (proc_spawn_in(a->v, out, out, ns, &pid, desc, dlen))
		return CDNI_EIO;
	if (proc_wait(pid, st->timeout_ms, true, &status) != 0) {
		proc_stop(pid, 1000, &status, &killed);
		snprintf(desc, dlen, run_interrupted() ? "stopped: the run was interrupted"
						       : "killed after the %lld ms deadline",
			 st->timeout_ms);
		*exit_code = -1;
		return 0;
	}
	proc_status_str(status, desc, dlen);
	*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return 0;
}

static void cmd_checks(struct run *r, const struct sc_step *st, int exit_code, const char *desc,
		       const char *out, json_t *res)
{
	struct step_logs *l = calloc(1, sizeof *l);
	char *text = NULL, tail[2048];
	size_t len = 0;
	json_t *transfers;

	if (file_read_all(out, OUT_MAX, &text, &len) != 0)
		text = NULL;
	if (l)
		logs_settle(r, l, NULL);
	expect_eval(&st->expect,
		    &(struct ua_outcome){ exit_code, desc, log_tail(out, 8, "", tail, sizeof tail),
					  NULL, NULL, r->dir, l ? l->views : NULL, l ? l->n : 0 },
		    &r->cl);
	expect_output(&st->expect, text, len, &r->cl);
	if (text && st->kind != SC_STEP_CURL)
		json_object_set_new(res, "output_text", json_stringn(text, len < 3000 ? len : 3000));
	{
		json_t *flow = narrated_flow(r, text);

		if (flow)
			json_object_set_new(res, "flow", flow);
	}
	expect_duration(&st->expect, json_number_value(json_object_get(res, "duration_ms")), &r->cl);
	if (st->kind == SC_STEP_CURL) {
		json_t *phases = json_array(), *t;
		size_t i;

		transfers = curl_transfers(text);
		json_array_foreach(transfers, i, t)
			json_array_append(phases, json_object_get(t, "timing_ms"));
		step_timings(r, &st->expect, phases, res);
		json_object_set_new(res, "transfers", transfers);
	}
	if (l)
		logs_free(l);
	free(l);
	free(text);
}

void exec_cmd(struct run *r, const struct sc_step *st, size_t n, json_t *res)
{
	struct argv_b *a = calloc(1, sizeof *a);
	char out[RUN_PATH], name[64], desc[1024] = "", line[4096];
	int exit_code = -1;
	long long t0;

	if (!a) {
		check_add(&r->cl, false, "run", "the command running", "out of memory", NULL);
		return;
	}
	argv_build(r, st, a);
	snprintf(name, sizeof name, "step-%zu.out", n);
	run_path(r, name, out, sizeof out);
	for (size_t i = 0; i < r->nnodes; i++)
		r->nodes[i].step_offset = file_size(r->nodes[i].access_path);
	cmd_line(a, line, sizeof line);
	json_object_set_new(res, "command", json_string(line));
	json_object_set_new(res, "output", json_string(name));
	t0 = now_us();
	if (cmd_run(r, st, a, out, &exit_code, desc, sizeof desc)) {
		check_add(&r->cl, false, "run", "the command running", desc, NULL);
		free(a);
		return;
	}
	json_object_set_new(res, "duration_ms", json_real((double)(now_us() - t0) / 1000));
	json_object_set_new(res, "exit", json_string(desc));
	cmd_checks(r, st, exit_code, desc, out, res);
	free(a);
}

void step_timings(struct run *r, const struct sc_expect *e, json_t *phases, json_t *res)
{
	json_t *pred = json_array();

	expect_timings(e, phases, r->paths, pred, &r->cl);
	if (json_array_size(pred))
		json_object_set(res, "predictions", pred);
	json_decref(pred);
	json_decref(phases);
}
