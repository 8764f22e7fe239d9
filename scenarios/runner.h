/* cdni-scenario — running one scenario: the run directory, content, a
 * config check of every node (PROGRAM -n), the nodes started in order and
 * awaited, the steps (a table of executors, one per step kind), the nodes
 * stopped (TERM, then KILL after a grace period), and the report.
 *
 * Every outcome is a named check printed as it happens; a node that fails
 * to start, dies early, stops badly or leaves a sanitizer report is a
 * failed check; so is a step not run because of it. An interrupt (SIGINT,
 * SIGTERM, SIGHUP) ends the steps early, still stops every node and writes
 * the report. */
#ifndef CDNI_SCENARIO_RUNNER_H
#define CDNI_SCENARIO_RUNNER_H

#include <stdbool.h>
#include <stdio.h>

#include "scenarios/scenario.h"

struct runner_opts {
	const char *bin;  /* directory of the cdni programs (absolute) */
	const char *pki;  /* the test PKI (absolute) */
	bool keep;        /* keep content and bodies after a passing run */
	long long stop_grace_ms; /* TERM to KILL */
	FILE *out;        /* check lines */
	bool no_netns;    /* hosts on loopback addresses even as root */
	bool fast;        /* --fast: link delays scaled by fast_scale, "only": "full" steps skipped */
	double fast_scale;
};

struct runner_totals {
	int passed, failed;
};

/* Run s in run_dir. Returns 0 when the scenario ran (pass or fail: see
 * totals), or CDNI_ECONFIG / CDNI_EIO when it could not be set up (a node's
 * program missing, its config refused by PROGRAM -n, the run directory
 * unusable), with a message in err. */
int runner_run(const struct runner_opts *o, const struct scenario *s, const char *run_dir,
	       struct runner_totals *totals, char *err, size_t errlen);

#endif
