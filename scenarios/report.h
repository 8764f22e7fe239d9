/* cdni-scenario — the run's report, from the run's result JSON:
 *   report.html  self-contained (inline CSS and SVG): per step a sequence
 *                diagram of the observed messages, a timing waterfall and
 *                table, and every check
 *   report.md    the same in Markdown, diagrams as mermaid sequenceDiagram
 *   result.json  the result itself (docs/cdni-scenario.md describes it)
 *   summary.txt  a few lines for people (scenarios/demo.sh prints it)
 * No sockets, no processes: tests feed a synthetic result. */
#ifndef CDNI_SCENARIO_REPORT_H
#define CDNI_SCENARIO_REPORT_H

#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"

/* Write the four files into dir. 0, or CDNI_EIO with a message. */
int report_write(json_t *result, const char *dir, char *err, size_t errlen);

/* The pieces, for tests. step is one element of result "steps". */
void report_svg_sequence(struct buf *b, json_t *step);
void report_svg_waterfall(struct buf *b, json_t *step);
void report_mermaid(struct buf *b, json_t *step);
void report_html(struct buf *b, json_t *result);
void report_markdown(struct buf *b, json_t *result);
void report_summary(struct buf *b, json_t *result);

/* Run-level sections (report_topo.c): topology, timing, latency plot,
 * measured against predicted; a step's command line and transfers. */
void report_svg_topology(struct buf *b, json_t *topology);
void report_svg_latency(struct buf *b, json_t *result);
void report_topology_html(struct buf *b, json_t *result);
void report_topology_md(struct buf *b, json_t *result);
void report_runtime_html(struct buf *b, json_t *result);
void report_runtime_md(struct buf *b, json_t *result);
void report_transfers_html(struct buf *b, json_t *step);
void report_transfers_md(struct buf *b, json_t *step);

/* Append s with & < > " ' escaped for XML. */
void xml_escape(struct buf *b, const char *s);

#endif
