/* cdni-scenario — what steps.c (ua, wait) and steps_cmd.c (node control,
 * commands) share. Internal to scenarios/. */
#ifndef CDNI_SCENARIO_STEPS_INT_H
#define CDNI_SCENARIO_STEPS_INT_H

#include "scenarios/flow.h"
#include "scenarios/runner_int.h"

struct step_logs {
	struct flow_node fn[64];
	struct log_view views[64];
	size_t n;
};

/* Load the nodes' access logs (the run's and this step's entries), waiting
 * until each of trace's hops (trace may be NULL) is logged and the logs
 * stop growing, with a deadline. */
void logs_settle(struct run *r, struct step_logs *l, json_t *trace);
void logs_free(struct step_logs *l);

/* expect_timings against phases (a new reference, consumed), the
 * predictions appended to res "predictions". */
void step_timings(struct run *r, const struct sc_expect *e, json_t *phases, json_t *res);

void exec_kill(struct run *r, const struct sc_step *st, size_t n, json_t *res);
void exec_start(struct run *r, const struct sc_step *st, size_t n, json_t *res);
void exec_restart(struct run *r, const struct sc_step *st, size_t n, json_t *res);
void exec_cmd(struct run *r, const struct sc_step *st, size_t n, json_t *res);

#endif
