/* cdni-scenario — what runner.c (nodes, the run) and steps.c (the step
 * executors) share. Internal to scenarios/. */
#ifndef CDNI_SCENARIO_RUNNER_INT_H
#define CDNI_SCENARIO_RUNNER_INT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "scenarios/check.h"
#include "scenarios/run.h"
#include "scenarios/runner.h"
#include "scenarios/subst.h"
#include "scenarios/topo.h"

#define RUN_PATH 4096

struct node_rt {
	const struct sc_node *sc;
	size_t index;
	char program[RUN_PATH];
	char config_path[RUN_PATH], log_path[RUN_PATH], access_path[RUN_PATH];
	json_t *config; /* substituted */
	pid_t pid;
	bool running;   /* started and not yet reaped */
	bool ready;
	bool reported;  /* a failed check already names its end */
	int status;     /* wait status once reaped */
	struct listener ls[RUN_MAX_LISTENERS];
	size_t nls;
	long long step_offset; /* access-log size when the current step began */
	long long log_offset;  /* stderr log size when the current step began */
	char *args[64]; /* "args" with placeholders substituted */
	int starts;     /* launches so far (a restart appends to the logs, keeps the ports) */
};

struct run {
	const struct runner_opts *o;
	const struct scenario *s;
	char dir[RUN_PATH];     /* absolute */
	char shown[RUN_PATH];   /* as given, for messages */
	char content[RUN_PATH];
	struct node_rt *nodes;
	size_t nnodes;          /* started (or tried) */
	struct subst_env env;
	struct checklist cl;
	char scope[400];        /* cl.scope points here */
	json_t *checks;         /* result "checks": the nodes' and the run's */
	json_t *steps;          /* result "steps" */
	bool setup_failed;
	struct topo *topo;      /* hosts, links, namespaces (topo.h) */
	bool *ns_made;          /* per host: its namespace exists */
	pid_t emu_pid;          /* cdni-linkemu, 0 when not started */
	bool emu_running;
	bool netem;             /* links are veth pairs shaped by netem, not cdni-linkemu */
	char emu_log[RUN_PATH];
	json_t *paths;          /* the topology's [{"a","b","rtt_ms","links"}] */
};

/* The topology (topo_run.c): namespaces, cdni-linkemu, addresses, routes.
 * topo_up adds checks; false when the steps cannot run. topo_down stops
 * the emulator and removes every namespace, whatever happened before. */
int topo_prepare(struct run *r, char *err, size_t errlen); /* plan, before the config checks */
bool topo_up(struct run *r);
void topo_down(struct run *r);
/* The result's "topology": topo_json and the emulator's counters. */
json_t *topo_result(const struct run *r);
/* The namespace file of host h (topo_host_index), or NULL (none, or loopback). */
const char *topo_netns(const struct run *r, int h);
/* Host address lookup for placeholders ({{HOST.addr}}). */
int topo_host_addr(void *ctx, const char *name, char *out, size_t outlen);
/* Round trip between two hosts, for placeholders ({{rtt.A.B}}). */
int topo_rtt(void *ctx, const char *a, const char *b, char *out, size_t outlen);
/* Remove namespaces of earlier runs whose runner is gone ("cdni-PID-*"). */
void topo_reap_stale(void);

/* Executes one step (substituted, loaded) into its result object. */
typedef void (*step_exec_fn)(struct run *r, const struct sc_step *st, size_t n, json_t *res);
extern const step_exec_fn step_execs[SC_STEP_NKINDS];

/* Placeholder lookup against the started nodes (struct run * as ctx). */
int run_listener_lookup(void *ctx, const char *node, const char *lis, char *out, size_t outlen,
			char *why, size_t whylen);
/* Start (again) a node and wait for its readiness line; 0 or -1 (a failed check). */
int run_node_start(struct run *r, struct node_rt *n);
/* TERM, then KILL after the grace period; a check on how it ended. */
void run_node_stop(struct run *r, struct node_rt *n);
/* Check that every started node still runs; a failed check for each that died. */
void run_nodes_alive(struct run *r);
/* "RUN/name" into out. */
const char *run_path(const struct run *r, const char *name, char *out, size_t len);
/* The current size of a file (0 when absent). */
long long file_size(const char *path);

#endif
