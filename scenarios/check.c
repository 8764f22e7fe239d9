#include "scenarios/check.h"

#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/daemon.h"
#include "scenarios/fsutil.h"

static json_t *jstr_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void print_detail(FILE *out, const char *detail)
{
	for (const char *l = detail; l && *l;) {
		const char *nl = strchr(l, '\n');
		int len = nl ? (int)(nl - l) : (int)strlen(l);

		fprintf(out, "#   %.*s\n", len, l);
		l = nl ? nl + 1 : l + len;
	}
}

void check_add(struct checklist *cl, bool ok, const char *what, const char *want,
	       const char *got, const char *detail)
{
	json_t *c = json_pack("{s:o, s:o, s:o, s:b, s:o}", "what", jstr_or_null(what), "want",
			      jstr_or_null(want), "got", jstr_or_null(got), "ok", ok, "detail",
			      jstr_or_null(detail));

	if (c && cl->scope)
		json_object_set_new(c, "scope", json_string(cl->scope));
	if (c)
		json_array_append_new(cl->list, c);
	if (ok)
		cl->passed++;
	else
		cl->failed++;
	if (!cl->out)
		return;
	if (ok)
		fprintf(cl->out, "ok - %s: %s%s%s%s%s%s\n", cl->scope, what, want ? " " : "",
			want ? want : "", detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
	else
		fprintf(cl->out, "FAIL - %s: %s: got %s, want %s\n", cl->scope, what,
			got ? got : "nothing", want ? want : "something else");
	if (!ok && detail)
		print_detail(cl->out, detail);
	fflush(cl->out);
}

void check_addf(struct checklist *cl, bool ok, const char *what, const char *want,
		const char *got_fmt, ...)
{
	char got[1024];
	va_list ap;

	va_start(ap, got_fmt);
	vsnprintf(got, sizeof got, got_fmt, ap);
	va_end(ap);
	check_add(cl, ok, what, want, got, NULL);
}

/* ---- access-log matching ---------------------------------------------- */

int log_entry_match(json_t *entry, json_t *match)
{
	const char *k;
	json_t *v;

	json_object_foreach(match, k, v)
		if (!json_equal(json_object_get(entry, k), v))
			return 0;
	return 1;
}

void log_match_str(json_t *match, char *out, size_t len)
{
	size_t used = 0;
	const char *k;
	json_t *v;

	out[0] = '\0';
	json_object_foreach(match, k, v) {
		char *d = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s=%s", used ? " " : "", k,
						 d ? d : json_string_value(v));
		free(d);
	}
	if (!out[0])
		snprintf(out, len, "(any entry)");
}

/* ---- expectations ----------------------------------------------------- */

static void eval_exit(const struct sc_expect *e, const struct ua_outcome *o,
		      struct checklist *cl)
{
	char want[16], got[200];
	const char *error = json_string_value(json_object_get(o->trace, "error"));

	if (e->exit < 0)
		return;
	snprintf(want, sizeof want, "%lld", e->exit);
	if (o->exit_code >= 0)
		snprintf(got, sizeof got, "%d", o->exit_code);
	else
		snprintf(got, sizeof got, "%s", o->exit_desc ? o->exit_desc : "no exit status");
	check_add(cl, o->exit_code == e->exit, "exit", want, got,
		  o->exit_code == e->exit ? NULL : error ? error : o->log_tail);
}

static void eval_final_status(const struct sc_expect *e, const struct ua_outcome *o,
			      struct checklist *cl)
{
	json_t *fs = json_object_get(o->trace, "final_status");
	char want[16];

	if (e->final_status < 0)
		return;
	snprintf(want, sizeof want, "%lld", e->final_status);
	if (!o->trace)
		check_add(cl, false, "final_status", want, "no trace", NULL);
	else
		check_addf(cl, json_integer_value(fs) == e->final_status, "final_status", want,
			   "%lld", (long long)json_integer_value(fs));
}

static void eval_str(struct checklist *cl, const char *what, const char *want, json_t *got)
{
	const char *g = json_string_value(got);

	check_add(cl, g && strcmp(g, want) == 0, what, want, g ? g : "(none)", NULL);
}

static void eval_field(struct checklist *cl, const char *pfx, const char *field,
		       const char *want, json_t *hop)
{
	char what[64];

	if (!want)
		return;
	snprintf(what, sizeof what, "%s %s", pfx, field);
	eval_str(cl, what, want, json_object_get(hop, field));
}

static json_t *header_get(json_t *headers, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(headers, k, v)
		if (strcasecmp(k, name) == 0)
			return v;
	return NULL;
}

static void eval_headers(const struct sc_hop_expect *h, json_t *hop, const char *pfx,
			 struct checklist *cl)
{
	json_t *headers = json_object_get(hop, "headers"), *want, *got;
	const char *name;
	char what[200];

	json_object_foreach(h->headers, name, want) {
		snprintf(what, sizeof what, "%s header %s", pfx, name);
		got = header_get(headers, name);
		if (json_is_null(want))
			check_add(cl, !got, what, "(absent)",
				  got ? json_string_value(got) : "(absent)", NULL);
		else
			eval_str(cl, what, json_string_value(want), got);
	}
}

static void eval_tls(const struct sc_hop_expect *h, json_t *hop, const char *pfx,
		     struct checklist *cl)
{
	json_t *tls = json_object_get(hop, "tls"), *want;
	const char *k;
	char what[200], *w, *g;

	if (!h->tls)
		return;
	snprintf(what, sizeof what, "%s tls", pfx);
	if (json_is_null(h->tls)) {
		check_add(cl, !json_is_object(tls), what, "none",
			  json_is_object(tls) ? "a TLS session" : "none", NULL);
		return;
	}
	json_object_foreach(h->tls, k, want) {
		snprintf(what, sizeof what, "%s tls.%s", pfx, k);
		w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
		g = json_dumps(json_object_get(tls, k), JSON_ENCODE_ANY | JSON_COMPACT);
		check_add(cl, json_equal(want, json_object_get(tls, k)), what, w,
			  g ? g : "(none)", NULL);
		free(w);
		free(g);
	}
}

static void eval_hop(const struct sc_hop_expect *h, json_t *hop, size_t i,
		     struct checklist *cl)
{
	char pfx[32], what[64], want[16];

	snprintf(pfx, sizeof pfx, "hop %zu", i + 1);
	if (!hop) {
		check_add(cl, false, pfx, "a hop", "no such hop", NULL);
		return;
	}
	if (h->status >= 0) {
		snprintf(what, sizeof what, "%s status", pfx);
		snprintf(want, sizeof want, "%lld", h->status);
		check_addf(cl, json_integer_value(json_object_get(hop, "status")) == h->status, what,
			   want, "%lld", (long long)json_integer_value(json_object_get(hop, "status")));
	}
	eval_field(cl, pfx, "host", h->host, hop);
	eval_field(cl, pfx, "url", h->url, hop);
	eval_field(cl, pfx, "location", h->location, hop);
	eval_headers(h, hop, pfx, cl);
	eval_tls(h, hop, pfx, cl);
}

static void eval_hops(const struct sc_expect *e, const struct ua_outcome *o,
		      struct checklist *cl)
{
	json_t *hops = json_object_get(o->trace, "hops");
	char want[16];

	if (!e->hops.v)
		return;
	snprintf(want, sizeof want, "%zu", e->hops.n);
	check_addf(cl, json_array_size(hops) == e->hops.n, "hop count", want, "%zu",
		   json_array_size(hops));
	for (size_t i = 0; i < e->hops.n; i++)
		eval_hop((const struct sc_hop_expect *)e->hops.v + i, json_array_get(hops, i), i,
			 cl);
}

static void describe_file(const char *path, char *out, size_t len)
{
	char hex[65];
	long long size;

	if (fs_sha256_file(path, hex, &size) != 0)
		snprintf(out, len, "no readable file %s", path);
	else
		snprintf(out, len, "%lld bytes, sha256 %.16s…", size, hex);
}

static void eval_body(const struct sc_expect *e, const struct ua_outcome *o,
		      struct checklist *cl)
{
	char want_path[4096], what[600], want[300], got[300];
	int same;

	if (!e->body_equals)
		return;
	if (e->body_equals[0] == '/')
		snprintf(want_path, sizeof want_path, "%s", e->body_equals);
	else
		snprintf(want_path, sizeof want_path, "%s/%s", o->run_dir, e->body_equals);
	snprintf(what, sizeof what, "body equals %s", e->body_equals);
	same = o->body_path ? fs_same_content(o->body_path, want_path) : -1;
	if (same == 1) {
		check_add(cl, true, what, NULL, NULL, NULL);
		return;
	}
	describe_file(want_path, want, sizeof want);
	if (o->body_path)
		describe_file(o->body_path, got, sizeof got);
	else
		snprintf(got, sizeof got, "no body");
	check_add(cl, false, what, want, got, NULL);
}

/* Each string of body_contains occurs in the final body. */
static void eval_body_contains(const struct sc_expect *e, const struct ua_outcome *o,
			       struct checklist *cl)
{
	char *body = NULL, what[600];
	size_t len = 0;

	if (!e->body_contains.n)
		return;
	if (o->body_path && file_read_all(o->body_path, 64 << 20, &body, &len) != 0)
		body = NULL;
	for (size_t i = 0; i < e->body_contains.n; i++) {
		const char *s = e->body_contains.v[i];
		size_t w = (size_t)snprintf(what, sizeof what, "body contains ");
		for (const char *p = s; *p && w + 3 < sizeof what; p++) /* one line: \n shown as such */
			w += (size_t)snprintf(what + w, sizeof what - w, "%s", *p == '\n' ? "\\n"
					      : *p == '\r' ? "\\r" : (char[]){ *p, 0 });
		bool found = body && memmem(body, len, s, strlen(s)) != NULL;
		check_add(cl, found, what, "present", found ? "present" : body ? "absent" : "no body",
			  NULL);
	}
	free(body);
}

static void log_want(const struct sc_log_expect *l, char *out, size_t len)
{
	if (l->count >= 0)
		snprintf(out, len, "count %lld", l->count);
	else if (l->max < 0)
		snprintf(out, len, "count at least %lld", l->min);
	else if (l->min < 0)
		snprintf(out, len, "count at most %lld", l->max);
	else
		snprintf(out, len, "count %lld..%lld", l->min, l->max);
}

static void eval_log(const struct sc_log_expect *l, const struct ua_outcome *o,
		     struct checklist *cl)
{
	const struct log_view *v = NULL;
	char m[300], what[400], want[64];
	long long count = 0;
	json_t *entries, *e;
	size_t i;
	bool ok;

	for (size_t k = 0; k < o->nlogs; k++)
		if (strcmp(o->logs[k].node, l->node) == 0)
			v = &o->logs[k];
	entries = v ? (l->scope == SC_SCOPE_STEP ? v->step : v->run) : NULL;
	json_array_foreach(entries, i, e)
		count += log_entry_match(e, l->match);
	log_match_str(l->match, m, sizeof m);
	snprintf(what, sizeof what, "%s log%s %s", l->node,
		 l->scope == SC_SCOPE_STEP ? " (this step)" : "", m);
	log_want(l, want, sizeof want);
	ok = l->count >= 0 ? count == l->count
			   : (l->min < 0 || count >= l->min) && (l->max < 0 || count <= l->max);
	check_addf(cl, ok, what, want, "count %lld", count);
}

void expect_eval(const struct sc_expect *e, const struct ua_outcome *o, struct checklist *cl)
{
	eval_exit(e, o, cl);
	eval_final_status(e, o, cl);
	eval_hops(e, o, cl);
	eval_body(e, o, cl);
	eval_body_contains(e, o, cl);
	for (size_t i = 0; i < e->logs.n; i++)
		eval_log((const struct sc_log_expect *)e->logs.v + i, o, cl);
}

/* ---- served by, timings, duration, output ----------------------------- */

void expect_served_by(const struct sc_expect *e, json_t *flow, struct checklist *cl)
{
	json_t *hops = json_object_get(flow, "hops");
	char what[64];

	for (size_t i = 0; i < e->hops.n; i++) {
		const struct sc_hop_expect *h = (const struct sc_hop_expect *)e->hops.v + i;
		const char *got = json_string_value(json_object_get(json_array_get(hops, i), "node"));

		if (!h->node)
			continue;
		snprintf(what, sizeof what, "hop %zu served by", i + 1);
		check_add(cl, got && strcmp(got, h->node) == 0, what, h->node, got ? got : "no node",
			  NULL);
	}
}

static void timing_want(const struct sc_timing_expect *t, char *out, size_t len)
{
	if (t->min_ms >= 0 && t->max_ms >= 0)
		snprintf(out, len, "%lld..%lld ms", t->min_ms, t->max_ms);
	else if (t->min_ms >= 0)
		snprintf(out, len, "at least %lld ms", t->min_ms);
	else if (t->max_ms >= 0)
		snprintf(out, len, "at most %lld ms", t->max_ms);
	else
		snprintf(out, len, "measured");
}

/* Round trip between a and b in paths; -1 when unknown. */
static double path_rtt(json_t *paths, const char *a, const char *b)
{
	json_t *p;
	size_t i;

	if (strcmp(a, b) == 0)
		return 0;
	json_array_foreach(paths, i, p) {
		const char *pa = json_string_value(json_object_get(p, "a"));
		const char *pb = json_string_value(json_object_get(p, "b"));

		if (pa && pb && ((!strcmp(pa, a) && !strcmp(pb, b)) || (!strcmp(pa, b) && !strcmp(pb, a))))
			return json_number_value(json_object_get(p, "rtt_ms"));
	}
	return -1;
}

/* Sum of the round trips; the formula ("4×a–b + 1×b–c") into text. */
static double predict(const struct sc_timing_expect *t, json_t *paths, char *text, size_t len)
{
	double sum = 0, rtt;
	size_t w = 0;

	text[0] = '\0';
	for (size_t k = 0; k < t->rtts.n; k++) {
		const struct sc_rtt *r = (const struct sc_rtt *)t->rtts.v + k;

		rtt = path_rtt(paths, r->a, r->b);
		if (rtt < 0)
			return -1;
		sum += (double)r->n * rtt;
		w += (size_t)snprintf(text + w, w < len ? len - w : 0, "%s%lld×RTT(%s,%s)", k ? " + " : "",
				      r->n, r->a, r->b);
	}
	return sum;
}

/* CDNI_SCENARIO_TOLERANCE_SCALE (>= 1) widens every timing tolerance: the
 * tests set it for sanitizer builds, whose programs are several times slower
 * than what the predictions are about. */
static double tolerance_scale(void)
{
	const char *v = getenv("CDNI_SCENARIO_TOLERANCE_SCALE");
	double x = v ? strtod(v, NULL) : 1;

	return x > 1 ? x : 1;
}

static void timing_predicted(const struct sc_timing_expect *t, size_t k, double ms, json_t *paths,
			     json_t *predictions, struct checklist *cl)
{
	char what[160], want[200], formula[400];
	double p = predict(t, paths, formula, sizeof formula), diff = ms - p;
	long long tol = t->tolerance_ms < 0 ? -1 : llround((double)t->tolerance_ms * tolerance_scale());
	bool okv = p >= 0 && (tol < 0 || fabs(diff) <= (double)tol);

	snprintf(what, sizeof what, "%s%shop %zu %s vs prediction", t->label ? t->label : "",
		 t->label ? ": " : "", k, t->phase);
	if (p < 0) {
		check_add(cl, false, what, formula, "a host pair with no route", NULL);
		return;
	}
	snprintf(want, sizeof want, "%.1f ms (%s)%s", p, formula, tol >= 0 ? " ±" : "");
	if (tol >= 0)
		snprintf(want + strlen(want), sizeof want - strlen(want), "%lld ms", tol);
	check_addf(cl, okv, what, want, "%.1f ms (%+.1f)", ms, diff);
	if (predictions)
		json_array_append_new(predictions,
				      json_pack("{s:s?, s:s, s:I, s:f, s:f, s:s, s:f, s:b, s:I}", "label",
						t->label, "phase", t->phase, "hop", (json_int_t)k,
						"measured_ms", ms, "predicted_ms", p, "rtts", formula,
						"diff_ms", diff, "ok", okv, "tolerance_ms",
						(json_int_t)tol));
}

void expect_timings(const struct sc_expect *e, json_t *phases, json_t *paths,
		    json_t *predictions, struct checklist *cl)
{
	size_t n = json_array_size(phases);
	char what[96], want[64];

	for (size_t i = 0; i < e->timings.n; i++) {
		const struct sc_timing_expect *t = (const struct sc_timing_expect *)e->timings.v + i;
		size_t k = t->hop ? (size_t)t->hop : n;
		json_t *v = k >= 1 && k <= n ? json_object_get(json_array_get(phases, k - 1), t->phase)
					     : NULL;
		double ms = json_number_value(v);

		snprintf(what, sizeof what, "%s%shop %zu %s", t->label ? t->label : "",
			 t->label ? ": " : "", k, t->phase);
		timing_want(t, want, sizeof want);
		if (!json_is_number(v)) {
			check_add(cl, false, what, want, "not measured", NULL);
			continue;
		}
		if (t->rtts.n)
			timing_predicted(t, k, ms, paths, predictions, cl);
		if (t->min_ms >= 0 || t->max_ms >= 0 || !t->rtts.n)
			check_addf(cl, (t->min_ms < 0 || ms >= (double)t->min_ms) &&
					       (t->max_ms < 0 || ms <= (double)t->max_ms),
				   what, want, "%.3f ms", ms);
	}
}

void expect_duration(const struct sc_expect *e, double ms, struct checklist *cl)
{
	struct sc_timing_expect t = { 0, NULL, e->duration_ms.min, e->duration_ms.max, { NULL, 0 },
				      -1, NULL };
	char want[64];

	if (t.min_ms < 0 && t.max_ms < 0)
		return;
	timing_want(&t, want, sizeof want);
	check_addf(cl, (t.min_ms < 0 || ms >= (double)t.min_ms) && (t.max_ms < 0 || ms <= (double)t.max_ms),
		   "duration", want, "%.3f ms", ms);
}

static void output_what(const char *verb, const char *s, char *what, size_t len)
{
	size_t w = (size_t)snprintf(what, len, "output %s ", verb);

	for (const char *p = s; *p && w + 3 < len; p++)
		w += (size_t)snprintf(what + w, len - w, "%s", *p == '\n' ? "\\n" : (char[]){ *p, 0 });
}

void expect_output(const struct sc_expect *e, const char *text, size_t len, struct checklist *cl)
{
	char what[400];

	for (size_t i = 0; i < e->output_contains.n; i++) {
		const char *s = e->output_contains.v[i];

		bool found = text && memmem(text, len, s, strlen(s));

		output_what("contains", s, what, sizeof what);
		check_add(cl, found, what, "present", found ? "present" : text ? "absent" : "no output",
			  NULL);
	}
	for (size_t i = 0; i < e->output_lacks.n; i++) {
		const char *s = e->output_lacks.v[i];

		bool found = text && memmem(text, len, s, strlen(s));

		output_what("lacks", s, what, sizeof what);
		check_add(cl, !found, what, "absent", found ? "present" : "absent", NULL);
	}
}
