/* cdni-scenario — the observed message flow of a step, for the sequence
 * diagrams: the UA's hops from its trace, and the requests the nodes made
 * to each other from their access logs.
 *
 * Each UA hop is matched to the node that answered it by the address it
 * connected to (or its URL's port) and to that node's access-log entry by
 * method and URI. A node's entry that names an "upstream" URL becomes a
 * request to the node listening there, matched to that node's entry, and so
 * on down a cascade. Entries without "upstream" are attributed by time: an
 * entry of node N that lies within an entry of node M, where M's config
 * names N's address, was M's fetch. What stays unexplained is listed, not
 * guessed. No sockets: tests feed synthetic traces and logs. */
#ifndef CDNI_SCENARIO_FLOW_H
#define CDNI_SCENARIO_FLOW_H

#include <stddef.h>

#include <jansson.h>

#include "scenarios/run.h"

/* Access-log entries (JSON objects, one a line) of path from byte offset
 * from; other lines are skipped. *end (may be NULL) gets the offset after
 * the last complete line. Returns an array (empty when unreadable). */
json_t *alog_read(const char *path, long long from, long long *end);
/* Milliseconds since the epoch of an access log "ts"; -1 when malformed. */
long long alog_ts_ms(const char *ts);

struct flow_node {
	const char *id;    /* the node's name */
	const char *label; /* its lifeline label */
	const struct listener *ls;
	size_t nls;
	json_t *entries;   /* this step's access-log entries */
	json_t *config;    /* its substituted config (which addresses it names) */
};

/* "512 B", "97.7 KiB", "1.0 MiB"; "" for a negative size. */
void flow_size_str(long long bytes, char *out, size_t len);

/* Split an http(s) URL. 0, or CDNI_EPARSE. */
struct url_parts {
	char scheme[8];
	char host[256];
	int port;
	char path[2048]; /* path and query, "/" at least */
};
int url_split(const char *url, struct url_parts *u);

/* Index of the node listening on address ("ip:port", may be NULL), else on
 * the URL's port; -1 when none. */
int flow_node_for(const struct flow_node *nodes, size_t n, const char *url, const char *address);

/* The flow of one UA step:
 *   {"lifelines": [{"id","label"}...],   UA first, then by appearance
 *    "messages": [{"from","to","kind":"request"|"response","label","note",
 *                  "status","hop","upstream","ms"}...],
 *    "hops": [{"n","node","method","url","status","cache","bytes","tls",
 *              "timing_ms"}...],
 *    "unattributed": [{"node","method","uri","status"}...]}
 * trace may be NULL (no hops). */
json_t *flow_build(json_t *trace, const struct flow_node *nodes, size_t n);

#endif
