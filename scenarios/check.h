/* cdni-scenario — named checks and the evaluation of a step's expectations.
 *
 * A check is one named assertion with what was wanted and what was got. As
 * a check is added it is printed (TAP-like, for people and CI) and appended
 * to a JSON list (for the report):
 *   ok - step 1 "first fetch": final_status 200
 *   FAIL - step 1 "first fetch": final_status: got 404, want 200
 * expect_eval() turns a step's "expect" object into checks against what the
 * step produced: the UA's exit status, its trace, the body it saved and the
 * nodes' access logs. No sockets, no processes: tests feed it synthetic
 * traces. */
#ifndef CDNI_SCENARIO_CHECK_H
#define CDNI_SCENARIO_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "scenarios/scenario.h"

struct checklist {
	json_t *list;      /* array the checks are appended to */
	FILE *out;         /* where lines are printed; NULL: nowhere */
	const char *scope; /* "step 1 \"first fetch\"", "node \"origin\"" */
	int passed, failed;
};

/* Record one check. An ok line reads "WHAT WANT" (WANT may be NULL); a
 * FAIL line "WHAT: got GOT, want WANT". detail (may be NULL, may hold
 * several lines) is printed under the line, each line prefixed "#   ". */
void check_add(struct checklist *cl, bool ok, const char *what, const char *want,
	       const char *got, const char *detail);
/* Same with a formatted got. */
void check_addf(struct checklist *cl, bool ok, const char *what, const char *want,
		const char *got_fmt, ...) __attribute__((format(printf, 5, 6)));

/* A node's access-log entries: the whole run so far, and this step's. */
struct log_view {
	const char *node;
	json_t *run;  /* array of entry objects */
	json_t *step; /* array of entry objects */
};

struct ua_outcome {
	int exit_code;         /* -1 when the UA did not exit by itself */
	const char *exit_desc; /* "exit status 1", "killed after the 30000 ms deadline" */
	const char *log_tail;  /* the end of the UA's output (may be NULL) */
	json_t *trace;         /* NULL when none was written */
	const char *body_path; /* the UA's -o file */
	const char *run_dir;   /* body_equals is relative to it */
	const struct log_view *logs;
	size_t nlogs;
};

void expect_eval(const struct sc_expect *e, const struct ua_outcome *o, struct checklist *cl);

/* Each hop expectation with "node": the flow (flow.h) says that node answered. */
void expect_served_by(const struct sc_expect *e, json_t *flow, struct checklist *cl);
/* Timing bounds against phases: an array, one object per hop or transfer,
 * {"dns","connect","tls","first_byte","ttfb","total"} in ms. Predictions
 * ("rtts") take each pair's round trip from paths (the topology's
 * [{"a","b","rtt_ms"}]) and are appended to predictions (may be NULL) as
 * {"label","phase","hop","measured_ms","predicted_ms","rtts","diff_ms","ok"}. */
void expect_timings(const struct sc_expect *e, json_t *phases, json_t *paths,
		    json_t *predictions, struct checklist *cl);
/* Bounds on the whole step's duration. */
void expect_duration(const struct sc_expect *e, double ms, struct checklist *cl);
/* output_contains / output_lacks against a command's output (text, may be NULL). */
void expect_output(const struct sc_expect *e, const char *text, size_t len, struct checklist *cl);

/* 1 when entry has every field of match (an object) with an equal value; a
 * NULL match matches everything. */
int log_entry_match(json_t *entry, json_t *match);
/* "uri=/v/a.bin status=200" for messages. */
void log_match_str(json_t *match, char *out, size_t len);

#endif
