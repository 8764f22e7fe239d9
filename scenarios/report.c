#include "scenarios/report.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "scenarios/flow.h"
#include "scenarios/fsutil.h"
#include "scenarios/report_int.h"

const char *report_lifeline_label(json_t *step, const char *id)
{
	json_t *l;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(step, "flow"), "lifelines"), i, l)
		if (id && strcmp(str(l, "id"), id) == 0)
			return str(l, "label");
	return id ? id : "?";
}

/* ---- summary.txt ------------------------------------------------------ */

static void summary_upstream(struct buf *b, json_t *step)
{
	json_t *msgs = json_object_get(json_object_get(step, "flow"), "messages"), *m;
	size_t i;

	json_array_foreach(msgs, i, m) {
		if (strcmp(str(m, "kind"), "response") || !json_is_true(json_object_get(m, "upstream")))
			continue;
		buf_printf(b, "; %s → %s %s", report_lifeline_label(step, str(m, "to")),
			   report_lifeline_label(step, str(m, "from")), str(m, "label"));
	}
}

static void summary_step(struct buf *b, json_t *step)
{
	json_t *hops = json_object_get(json_object_get(step, "flow"), "hops"), *h;
	double ms = 0;
	char size[32];
	size_t i;

	buf_printf(b, "  %lld. %s [%s]: ", num(step, "n"), str(step, "name"),
		   json_is_true(json_object_get(step, "ok")) ? "pass" : "FAIL");
	if (strcmp(str(step, "kind"), "ua") != 0) {
		buf_printf(b, "%s\n", str(step, "what") ? str(step, "what") : str(step, "kind"));
		return;
	}
	buf_puts(b, "UA");
	json_array_foreach(hops, i, h) {
		buf_printf(b, " → %s %lld", report_lifeline_label(step, str(h, "node")), num(h, "status"));
		if (str(h, "cache"))
			buf_printf(b, " %s", str(h, "cache"));
		ms += hop_ms(h, "total");
	}
	if (i > 0) {
		flow_size_str(num(json_array_get(hops, i - 1), "bytes"), size, sizeof size);
		buf_printf(b, " (%s in %.1f ms)", size, ms);
	}
	summary_upstream(b, step);
	buf_putc(b, '\n');
}

void report_summary(struct buf *b, json_t *result)
{
	json_t *step;
	size_t i;

	buf_printf(b, "%s: %s, %lld passed, %lld failed, in %.1f s\n", str(result, "scenario"),
		   json_is_true(json_object_get(result, "ok")) ? "PASS" : "FAIL",
		   num(result, "passed"), num(result, "failed"),
		   json_number_value(json_object_get(result, "duration_ms")) / 1000);
	if (str(result, "title"))
		buf_printf(b, "  %s\n", str(result, "title"));
	json_array_foreach(json_object_get(result, "steps"), i, step)
		summary_step(b, step);
}

/* ---- markdown --------------------------------------------------------- */

/* Text safe in a mermaid message or a table cell. */
static void md_text(struct buf *b, const char *s, int mermaid)
{
	for (; s && *s; s++) {
		if (*s == '\n' || *s == '\r')
			buf_putc(b, ' ');
		else if (*s == '|')
			buf_puts(b, mermaid ? "#124;" : "\\|");
		else if (mermaid && *s == '#')
			buf_puts(b, "#35;");
		else if (mermaid && *s == ';')
			buf_puts(b, "#59;");
		else if (*s == '<')
			buf_puts(b, mermaid ? "#lt;" : "&lt;");
		else if (*s == '>')
			buf_puts(b, mermaid ? "#gt;" : "&gt;");
		else
			buf_putc(b, *s);
	}
}

void report_mermaid(struct buf *b, json_t *step)
{
	json_t *flow = json_object_get(step, "flow"), *l, *m;
	size_t i;

	buf_puts(b, "```mermaid\nsequenceDiagram\n");
	json_array_foreach(json_object_get(flow, "lifelines"), i, l) {
		buf_printf(b, "    participant p%zu as ", i);
		md_text(b, str(l, "label"), 1);
		buf_putc(b, '\n');
	}
	json_array_foreach(json_object_get(flow, "messages"), i, m) {
		size_t from = 0, to = 0, k;

		json_array_foreach(json_object_get(flow, "lifelines"), k, l) {
			if (strcmp(str(l, "id"), str(m, "from")) == 0)
				from = k;
			if (strcmp(str(l, "id"), str(m, "to")) == 0)
				to = k;
		}
		buf_printf(b, "    p%zu%sp%zu: ", from,
			   strcmp(str(m, "kind"), "request") == 0   ? "->>+"
			   : strcmp(str(m, "kind"), "message") == 0 ? (json_integer_value(json_object_get(m, "status")) ? "-->>" : "->>")
								    : "-->>-",
			   to);
		md_text(b, str(m, "label"), 1);
		if (str(m, "note") && *str(m, "note")) {
			buf_puts(b, "<br/>");
			md_text(b, str(m, "note"), 1);
		}
		buf_putc(b, '\n');
	}
	buf_puts(b, "```\n");
}

static void md_checks(struct buf *b, json_t *checks)
{
	json_t *c;
	size_t i;

	json_array_foreach(checks, i, c) {
		int ok = json_is_true(json_object_get(c, "ok"));

		buf_printf(b, "- %s ", ok ? "✅" : "❌");
		md_text(b, str(c, "what"), 0);
		if (ok && str(c, "want"))
			buf_printf(b, " %s", str(c, "want"));
		if (ok && str(c, "detail")) {
			buf_puts(b, " (");
			md_text(b, str(c, "detail"), 0);
			buf_puts(b, ")");
		}
		if (!ok)
			buf_printf(b, ": got `%s`, want `%s`", str(c, "got") ? str(c, "got") : "nothing",
				   str(c, "want") ? str(c, "want") : "something else");
		buf_putc(b, '\n');
	}
}

static void md_ms(struct buf *b, json_t *hop, const char *key)
{
	buf_printf(b, " %.1f |", hop_ms(hop, key));
}

static void md_timing(struct buf *b, json_t *step)
{
	json_t *hops = json_object_get(json_object_get(step, "flow"), "hops"), *h;
	size_t i;

	if (!json_array_size(hops))
		return;
	buf_puts(b, "\n| hop | node | request | status | dns ms | connect ms | tls ms | "
		    "first byte ms | total ms | bytes | cache | TLS |\n"
		    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|\n");
	json_array_foreach(hops, i, h) {
		buf_printf(b, "| %lld | %s | ", num(h, "n"), report_lifeline_label(step, str(h, "node")));
		md_text(b, str(h, "method"), 0);
		buf_putc(b, ' ');
		md_text(b, str(h, "url"), 0);
		buf_printf(b, " | %lld |", num(h, "status"));
		md_ms(b, h, "dns");
		md_ms(b, h, "connect");
		md_ms(b, h, "tls");
		md_ms(b, h, "first_byte");
		md_ms(b, h, "total");
		buf_printf(b, " %lld | %s | %s |\n", num(h, "bytes"),
			   str(h, "cache") ? str(h, "cache") : "", str(h, "tls") ? str(h, "tls") : "");
	}
}

static void md_step(struct buf *b, json_t *step)
{
	buf_printf(b, "\n## Step %lld: ", num(step, "n"));
	md_text(b, str(step, "name"), 0);
	buf_printf(b, " %s\n\n", json_is_true(json_object_get(step, "ok")) ? "✅" : "❌");
	if (str(step, "url"))
		buf_printf(b, "`%s`\n\n", str(step, "url"));
	else if (str(step, "what"))
		buf_printf(b, "%s\n\n", str(step, "what"));
	report_transfers_md(b, step);
	if (json_array_size(json_object_get(json_object_get(step, "flow"), "messages")))
		report_mermaid(b, step);
	md_timing(b, step);
	if (json_array_size(json_object_get(step, "checks"))) {
		buf_puts(b, "\n");
		md_checks(b, json_object_get(step, "checks"));
	}
}

static void md_nodes(struct buf *b, json_t *result)
{
	json_t *n, *v;
	size_t i;
	const char *k;

	buf_puts(b, "\n## Nodes\n\n| node | program | listeners | stopped |\n|---|---|---|---|\n");
	json_array_foreach(json_object_get(result, "nodes"), i, n) {
		buf_printf(b, "| %s (%s) | %s |", str(n, "name"), str(n, "label"), str(n, "program"));
		json_object_foreach(json_object_get(n, "listeners"), k, v)
			buf_printf(b, " %s=%s", k, json_string_value(v));
		buf_printf(b, " | %s |\n", str(n, "exit") ? str(n, "exit") : "not started");
	}
	buf_puts(b, "\n");
	md_checks(b, json_object_get(result, "checks"));
}

void report_markdown(struct buf *b, json_t *result)
{
	json_t *step;
	size_t i;

	buf_printf(b, "# %s", str(result, "scenario"));
	if (str(result, "title")) {
		buf_puts(b, ": ");
		md_text(b, str(result, "title"), 0);
	}
	buf_printf(b, "\n\n**%s**: %lld passed, %lld failed, %.1f s, started %s\n",
		   json_is_true(json_object_get(result, "ok")) ? "PASS" : "FAIL",
		   num(result, "passed"), num(result, "failed"),
		   json_number_value(json_object_get(result, "duration_ms")) / 1000,
		   str(result, "started") ? str(result, "started") : "?");
	if (str(result, "description"))
		buf_printf(b, "\n%s\n", str(result, "description"));
	report_topology_md(b, result);
	md_nodes(b, result);
	report_runtime_md(b, result);
	json_array_foreach(json_object_get(result, "steps"), i, step)
		md_step(b, step);
}

/* ---- writing ---------------------------------------------------------- */

static int write_buf(const char *dir, const char *name, struct buf *b, char *err, size_t errlen)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (b->err || fs_write(path, b->data, b->len) != 0) {
		snprintf(err, errlen, "cannot write %s", path);
		buf_free(b);
		return CDNI_EIO;
	}
	buf_free(b);
	return 0;
}

int report_write(json_t *result, const char *dir, char *err, size_t errlen)
{
	void (*const parts[])(struct buf *, json_t *) = { report_html, report_markdown,
							   report_summary };
	static const char *const names[] = { "report.html", "report.md", "summary.txt" };
	char path[4096];
	struct buf b;

	for (size_t i = 0; i < 3; i++) {
		buf_init(&b, 0);
		parts[i](&b, result);
		if (write_buf(dir, names[i], &b, err, errlen))
			return CDNI_EIO;
	}
	snprintf(path, sizeof path, "%s/result.json", dir);
	if (json_dump_file(result, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
		snprintf(err, errlen, "cannot write %s", path);
		return CDNI_EIO;
	}
	return 0;
}
