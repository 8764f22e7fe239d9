/* cdni-scenario — the scenario file: parsing and validation.
 *
 * A scenario is data (docs/scenarios.md): the content to generate, the
 * nodes to start in order (program + JSON config with placeholders), and
 * the steps to take, each with its expectations. Loading checks everything
 * that can be checked without running anything: types and unknown keys
 * (through common/conf tables), names, content paths, every placeholder
 * (a node's config may name only nodes started before it), listener names
 * against the configs' "listen" lists, and expectations that name nodes.
 * Every message names the file and the JSON path
 * ("x.json: steps[1].expect.hops[0].status: must be an integer ...").
 *
 * Steps are a table of kinds (sc_step_kinds): each kind is a key that marks
 * the step ("ua", "wait_ms") and a conf table for the whole step object.
 * A new kind adds an enum value, a table entry here and an executor in
 * runner.c. */
#ifndef CDNI_SCENARIO_H
#define CDNI_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/conf.h"

#define SC_CONTENT_MAX (1LL << 30) /* largest generated file */

struct sc_content {
	char *path;     /* relative, checked: no "..", no leading "/" */
	long long size; /* -1 with text or from */
	char *text;     /* NULL with size */
	char *from;     /* a file to copy (placeholders: {{pki}}/csp-rsa.key) */
};

struct sc_host {
	char *name;    /* [A-Za-z0-9_-]+, unique, not a node's name */
	char *address; /* IPv4 in a namespace run; NULL: 10.77.0.N */
};

struct sc_link {
	char *a, *b;        /* host names */
	json_t *delay_raw;  /* number, ms */
	json_t *loss_raw;   /* number, percent */
	long long rate_kbit; /* 0: unlimited */
	long long limit;    /* queue capacity, packets */
	double delay_ms, loss_pct; /* checked values */
};

struct sc_node {
	char *name;     /* [A-Za-z0-9_-]+, unique */
	char *host;     /* the host it runs on; NULL: the first host (or none) */
	char *program;  /* in the bin directory unless it holds a '/' */
	char *label;    /* lifeline label in diagrams; default from program */
	json_t *config; /* as written, placeholders unsubstituted */
	struct conf_strlist args; /* extra arguments after -c FILE */
	long long ready_timeout_ms;
	bool check;     /* run PROGRAM -n -c CONFIG before the run */
};

struct sc_hop_expect {
	long long status; /* -1: any */
	char *host;
	char *url;
	char *location;
	json_t *headers;  /* {"name": "value" | null (absent)} */
	json_t *tls;      /* subset of the hop's "tls" object, or null (no TLS) */
	char *node;       /* the node that answered (from the message flow) */
};

/* n round trips between hosts a and b (along the topology's route). */
struct sc_rtt {
	char *a, *b;
	long long n;
};

/* A time bound on one phase of one hop or transfer (milliseconds), and/or
 * a prediction: the sum of round trips "rtts" (from the topology), which
 * the measurement must meet within tolerance_ms (plus extra_ms). */
struct sc_timing_expect {
	long long hop;    /* 1-based; 0: the last */
	char *phase;      /* dns connect tls first_byte ttfb total */
	long long min_ms, max_ms; /* -1: no bound */
	struct conf_list rtts;    /* struct sc_rtt */
	long long tolerance_ms;   /* with rtts: |measured - predicted| at most this */
	char *label;              /* the row's name in the measured-vs-predicted table */
};

struct sc_bounds {
	long long min, max; /* -1: no bound */
};

enum sc_log_scope { SC_SCOPE_RUN = 0, SC_SCOPE_STEP = 1 };

struct sc_log_expect {
	char *node;
	json_t *match;   /* {"field": value, ...}: every field equal */
	long long count; /* -1: use min/max */
	long long min, max;
	int scope;       /* enum sc_log_scope */
};

struct sc_expect {
	long long exit;          /* -1: any */
	long long final_status;  /* -1: any */
	struct conf_list hops;   /* struct sc_hop_expect; v == NULL: not checked */
	char *body_equals;       /* path under the run directory */
	struct conf_strlist body_contains; /* strings the final body must hold */
	struct conf_list logs;   /* struct sc_log_expect */
	struct conf_strlist output_contains; /* a command step's output must hold */
	struct conf_strlist output_lacks;    /* ... must not hold */
	struct conf_list timings;            /* struct sc_timing_expect */
	struct sc_bounds duration_ms;        /* the whole step */
	struct conf_list log_lines;          /* struct sc_line_expect: a node's stderr log */
};

/* A line a node logged (stderr) during the step, or not. */
struct sc_line_expect {
	char *node;
	char *contains; /* a substring of one line */
	bool absent;    /* true: no such line */
};

struct sc_ua {
	char *url;
	struct conf_strlist resolve;
	char *cacert;
	struct conf_strlist args; /* more cdni-ua options */
	long long timeout_ms;     /* the whole UA run */
	char *host;               /* where it runs; NULL: the scenario's ua_host */
};

struct sc_resolve {   /* dig @server NAME TYPE */
	char *qname, *type, *server; /* server "ADDR@PORT" or "ADDR" */
	bool dnssec;
};

struct sc_dane {      /* cdni-dane verify */
	char *qname;
	json_t *port; /* integer, or a string (a placeholder) */
	char *resolver, *anchor;
	struct conf_strlist args;
};

struct sc_keyless {   /* cdni-keyless OP -s SERVER ... */
	char *op, *server;
	struct conf_strlist args;
};

struct sc_play {      /* ffmpeg -i URL -f null - */
	char *url;
	struct conf_strlist args;
};

struct sc_curl {      /* curl, one transfer per URL, timings from -w '%{json}' */
	struct conf_strlist urls;
	struct conf_strlist resolve;
	struct conf_strlist args;
	char *cacert;
};

enum sc_step_kind {
	SC_STEP_UA = 0, SC_STEP_WAIT, SC_STEP_KILL, SC_STEP_START, SC_STEP_RESTART, SC_STEP_RUN,
	SC_STEP_RESOLVE, SC_STEP_DANE, SC_STEP_KEYLESS, SC_STEP_PLAY, SC_STEP_CURL, SC_STEP_NKINDS
};

/* True for the kinds that run a command (run, resolve, dane, keyless, play, curl). */
#define SC_STEP_IS_CMD(k) ((k) >= SC_STEP_RUN)

struct sc_step {
	char *name;
	int kind; /* enum sc_step_kind */
	struct sc_ua ua;
	long long wait_ms;
	char *node;              /* kill, start, restart */
	int signal;              /* kill: 0 KILL, 1 TERM */
	struct conf_strlist run; /* run: argv */
	struct sc_resolve resolve;
	struct sc_dane dane;
	struct sc_keyless keyless;
	struct sc_play play;
	struct sc_curl curl;
	char *host;              /* command steps: where; NULL: the scenario's ua_host */
	long long timeout_ms;    /* command steps */
	int only;                /* 0 always, 1 only in full runs, 2 only in --fast runs */
	struct sc_expect expect;
	json_t *raw; /* the step as written; substituted and loaded again when run */
};

struct sc_step_kind_def {
	const char *key;               /* the key that marks a step of this kind */
	const struct conf_item *table; /* the whole step object */
};
extern const struct sc_step_kind_def sc_step_kinds[SC_STEP_NKINDS];

struct scenario {
	char *file;
	char *name, *title, *description;
	json_t *content_raw;
	struct conf_list hosts;  /* struct sc_host */
	struct conf_list links;  /* struct sc_link */
	char *ua_host;           /* where UA and command steps run; NULL: the first host */
	json_t *names;           /* {"www.csp.test": "{{ucdn_site.addr}}"}: /etc/hosts in the hosts */
	struct sc_content *content;
	size_t ncontent;
	struct conf_list nodes; /* struct sc_node */
	json_t *steps_raw;
	struct sc_step *steps;
	size_t nsteps;
};

int scenario_load_file(const char *file, struct scenario **out, char *err, size_t errlen);
/* Same from text; name stands for the file in messages. */
int scenario_load_string(const char *text, const char *name, struct scenario **out, char *err,
			 size_t errlen);
void scenario_free(struct scenario *s);

/* The node called name, or NULL; *index gets its position when found. */
const struct sc_node *scenario_node(const struct scenario *s, const char *name, size_t *index);
/* The host called name, or NULL; *index gets its position when found. */
const struct sc_host *scenario_host(const struct scenario *s, const char *name, size_t *index);
/* Label for a node's lifeline: its "label", else one derived from the program. */
const char *scenario_node_label(const struct sc_node *n);

/* Load one step object (after substitution, at run time) into *st, which
 * must be zeroed. Messages start with path. */
int sc_step_load(json_t *obj, struct sc_step *st, const char *path, char *err, size_t errlen);
void sc_step_free(struct sc_step *st);

/* Check a content path: relative, no empty, "." or ".." segment, no
 * backslash or control byte. 0 or CDNI_EINVAL with the reason in why. */
int sc_content_path_check(const char *path, char *why, size_t whylen);

#endif
