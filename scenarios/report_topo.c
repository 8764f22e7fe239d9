/* cdni-scenario — the report's run-level sections: the topology (hosts,
 * links, a map, predicted round trips, the emulator's counters), the step
 * durations, the latency plot of every hop and transfer, and the
 * measured-vs-predicted table; the transfer tables of curl steps. HTML and
 * Markdown, SVG drawn directly. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scenarios/report.h"
#include "scenarios/report_int.h"

#define FONT "font-family=\"ui-sans-serif, system-ui, -apple-system, 'Segoe UI', sans-serif\""

static void esc(struct buf *b, const char *s)
{
	xml_escape(b, s ? s : "");
}

/* Escaped text that keeps its line breaks (for <pre>). */
static void esc_lines(struct buf *b, const char *s)
{
	for (const char *l = s; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		char line[1024];

		snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), l);
		xml_escape(b, line);
		if (nl)
			buf_putc(b, '\n');
		l = nl ? nl + 1 : l + n;
	}
}

static double dnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* ---- the map ---------------------------------------------------------- */

static int host_pos(json_t *hosts, const char *name, double *x, double *y)
{
	size_t n = json_array_size(hosts), i;
	json_t *h;

	json_array_foreach(hosts, i, h)
		if (name && str(h, "name") && strcmp(str(h, "name"), name) == 0) {
			double a = n < 2 ? 0 : 2 * M_PI * (double)i / (double)n - M_PI / 2;

			*x = 300 + (n < 2 ? 0 : 210 * cos(a));
			*y = 170 + (n < 2 ? 0 : 120 * sin(a));
			return 0;
		}
	return -1;
}

void report_svg_topology(struct buf *b, json_t *topo)
{
	json_t *hosts = json_object_get(topo, "hosts"), *h, *l;
	double x1, y1, x2, y2;
	size_t i;

	buf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"340\" "
		    "viewBox=\"0 0 600 340\" role=\"img\" " FONT "><title>hosts and links</title>");
	json_array_foreach(json_object_get(topo, "links"), i, l) {
		if (host_pos(hosts, str(l, "a"), &x1, &y1) || host_pos(hosts, str(l, "b"), &x2, &y2))
			continue;
		buf_printf(b, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#94a3b8\" "
			   "stroke-width=\"3\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" "
			   "text-anchor=\"middle\" fill=\"#334155\">%g ms", x1, y1, x2, y2, (x1 + x2) / 2,
			   (y1 + y2) / 2 - 6, dnum(l, "delay_ms"));
		if (dnum(l, "loss") > 0)
			buf_printf(b, " · %g%% loss", dnum(l, "loss"));
		if (num(l, "rate_kbit") > 0)
			buf_printf(b, " · %lld kbit/s", num(l, "rate_kbit"));
		buf_puts(b, "</text>");
	}
	json_array_foreach(hosts, i, h) {
		host_pos(hosts, str(h, "name"), &x1, &y1);
		buf_printf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"120\" height=\"40\" rx=\"8\" "
			   "fill=\"#e0f2fe\" stroke=\"#0369a1\"/><text x=\"%.0f\" y=\"%.0f\" "
			   "font-size=\"13\" font-weight=\"600\" text-anchor=\"middle\">", x1 - 60, y1 - 20,
			   x1, y1 - 3);
		esc(b, str(h, "name"));
		buf_printf(b, "</text><text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\" "
			   "fill=\"#475569\">", x1, y1 + 13);
		esc(b, str(h, "address"));
		buf_puts(b, "</text>");
	}
	buf_puts(b, "</svg>");
}

/* ---- topology --------------------------------------------------------- */

static void html_links(struct buf *b, json_t *topo)
{
	json_t *l, *p;
	size_t i;

	buf_puts(b, "<table><tr><th>link</th><th>one-way delay ms</th><th>loss %</th>"
		    "<th>rate kbit/s</th><th>devices</th></tr>");
	json_array_foreach(json_object_get(topo, "links"), i, l) {
		buf_puts(b, "<tr><td>");
		esc(b, str(l, "a"));
		buf_puts(b, " – ");
		esc(b, str(l, "b"));
		buf_printf(b, "</td><td class=\"num\">%g</td><td class=\"num\">%g</td><td class=\"num\">",
			   dnum(l, "delay_ms"), dnum(l, "loss"));
		if (num(l, "rate_kbit"))
			buf_printf(b, "%lld", num(l, "rate_kbit"));
		else
			buf_puts(b, "unlimited");
		buf_printf(b, "</td><td><code>%s / %s</code></td></tr>",
			   json_string_value(json_array_get(json_object_get(l, "devs"), 0)),
			   json_string_value(json_array_get(json_object_get(l, "devs"), 1)));
	}
	buf_puts(b, "</table><table><tr><th>path</th><th>links</th><th>RTT ms (configured)</th></tr>");
	json_array_foreach(json_object_get(topo, "paths"), i, p) {
		buf_puts(b, "<tr><td>");
		esc(b, str(p, "a"));
		buf_puts(b, " ↔ ");
		esc(b, str(p, "b"));
		buf_printf(b, "</td><td class=\"num\">%lld</td><td class=\"num\">%g</td></tr>",
			   num(p, "links"), dnum(p, "rtt_ms"));
	}
	buf_puts(b, "</table>");
}

void report_topology_html(struct buf *b, json_t *r)
{
	json_t *topo = json_object_get(r, "topology"), *h, *c;
	size_t i;

	if (!topo || strcmp(str(topo, "mode") ? str(topo, "mode") : "none", "none") == 0)
		return;
	buf_puts(b, "<section class=\"card\"><h2>Topology</h2><p>");
	esc(b, str(topo, "note"));
	buf_puts(b, "</p><div class=\"diagram\">");
	report_svg_topology(b, topo);
	buf_puts(b, "</div><table><tr><th>host</th><th>address</th><th>namespace</th></tr>");
	json_array_foreach(json_object_get(topo, "hosts"), i, h) {
		buf_puts(b, "<tr><td>");
		esc(b, str(h, "name"));
		buf_puts(b, "</td><td><code>");
		esc(b, str(h, "address"));
		buf_puts(b, "</code></td><td><code>");
		esc(b, str(h, "netns") ? str(h, "netns") : "(none)");
		buf_puts(b, "</code></td></tr>");
	}
	buf_puts(b, "</table>");
	html_links(b, topo);
	if (json_array_size(json_object_get(topo, "counters"))) {
		buf_puts(b, "<h3>Emulated links: counters</h3><ul class=\"files\">");
		json_array_foreach(json_object_get(topo, "counters"), i, c) {
			buf_puts(b, "<li><code>");
			esc(b, json_string_value(c));
			buf_puts(b, "</code></li>");
		}
		buf_puts(b, "</ul>");
	}
	buf_puts(b, "</section>");
}

void report_topology_md(struct buf *b, json_t *r)
{
	json_t *topo = json_object_get(r, "topology"), *h, *l, *p;
	size_t i;

	if (!topo || strcmp(str(topo, "mode") ? str(topo, "mode") : "none", "none") == 0)
		return;
	buf_printf(b, "\n## Topology\n\n%s\n\n| host | address | namespace |\n|---|---|---|\n",
		   str(topo, "note"));
	json_array_foreach(json_object_get(topo, "hosts"), i, h)
		buf_printf(b, "| %s | %s | %s |\n", str(h, "name"), str(h, "address"),
			   str(h, "netns") ? str(h, "netns") : "(none)");
	buf_puts(b, "\n| link | one-way delay ms | loss % | rate kbit/s |\n|---|---:|---:|---:|\n");
	json_array_foreach(json_object_get(topo, "links"), i, l)
		buf_printf(b, "| %s – %s | %g | %g | %lld |\n", str(l, "a"), str(l, "b"),
			   dnum(l, "delay_ms"), dnum(l, "loss"), num(l, "rate_kbit"));
	buf_puts(b, "\n| path | links | RTT ms (configured) |\n|---|---:|---:|\n");
	json_array_foreach(json_object_get(topo, "paths"), i, p)
		buf_printf(b, "| %s ↔ %s | %lld | %g |\n", str(p, "a"), str(p, "b"), num(p, "links"),
			   dnum(p, "rtt_ms"));
}

/* ---- latency plot: every hop and transfer's time to first byte --------- */

/* The hops (UA) or transfers (curl) of a step, each with timing_ms. */
static json_t *step_rows(json_t *step)
{
	json_t *t = json_object_get(step, "transfers");

	return t ? t : json_object_get(json_object_get(step, "flow"), "hops");
}

static double row_ttfb(json_t *row)
{
	json_t *t = json_object_get(row, "timing_ms");

	if (json_object_get(t, "ttfb"))
		return dnum(t, "ttfb");
	return dnum(t, "dns") + dnum(t, "connect") + dnum(t, "tls") + dnum(t, "first_byte");
}

static size_t plot_rows(json_t *r, double *max)
{
	json_t *step, *row;
	size_t i, j, n = 0;

	*max = 1;
	json_array_foreach(json_object_get(r, "steps"), i, step)
		json_array_foreach(step_rows(step), j, row) {
			n++;
			if (row_ttfb(row) > *max)
				*max = row_ttfb(row);
		}
	return n;
}

static void plot_axis(struct buf *b, double max, int height)
{
	for (int t = 0; t <= 5; t++) {
		double x = 200 + t * 500.0 / 5;

		buf_printf(b, "<line x1=\"%.0f\" y1=\"24\" x2=\"%.0f\" y2=\"%d\" stroke=\"#e2e8f0\"/>"
			   "<text x=\"%.0f\" y=\"16\" font-size=\"11\" text-anchor=\"middle\" "
			   "fill=\"#64748b\">%.0f ms</text>", x, x, height - 6, x, max * t / 5);
	}
}

void report_svg_latency(struct buf *b, json_t *r)
{
	json_t *step, *row;
	double max;
	size_t n = plot_rows(r, &max), i, j;
	int y = 28, height = 34 + (int)n * 20;
	char label[200];

	if (n == 0)
		return;
	max *= 1.1;
	buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"780\" height=\"%d\" "
		   "viewBox=\"0 0 780 %d\" role=\"img\" " FONT "><title>time to first byte of every "
		   "hop and transfer</title>", height, height);
	plot_axis(b, max, height);
	json_array_foreach(json_object_get(r, "steps"), i, step)
		json_array_foreach(step_rows(step), j, row) {
			double w = row_ttfb(row) * 500 / max;

			snprintf(label, sizeof label, "%lld.%zu %s", num(step, "n"), j + 1,
				 str(step, "name") ? str(step, "name") : "");
			buf_printf(b, "<text x=\"4\" y=\"%d\" font-size=\"11\">", y + 11);
			esc(b, strlen(label) > 32 ? (label[32] = '\0', label) : label);
			buf_printf(b, "</text><rect x=\"200\" y=\"%d\" width=\"%.1f\" height=\"14\" "
				   "fill=\"%s\"/><text x=\"%.1f\" y=\"%d\" font-size=\"11\" "
				   "fill=\"#475569\">%.1f ms</text>", y, w < 1 ? 1 : w,
				   is_ok(step) ? "#3b82f6" : "#ef4444", 205 + w, y + 11, row_ttfb(row));
			y += 20;
		}
	buf_puts(b, "</svg>");
}

/* ---- step durations and predictions ------------------------------------ */

void report_runtime_html(struct buf *b, json_t *r)
{
	json_t *step, *p;
	size_t i, j, npred = 0;

	buf_puts(b, "<section class=\"card\"><h2>Timing</h2><table><tr><th>step</th><th>kind</th>"
		    "<th>duration ms</th><th>verdict</th></tr>");
	json_array_foreach(json_object_get(r, "steps"), i, step) {
		buf_printf(b, "<tr><td>%lld ", num(step, "n"));
		esc(b, str(step, "name"));
		buf_puts(b, "</td><td>");
		esc(b, str(step, "kind"));
		buf_printf(b, "</td><td class=\"num\">%.1f</td><td>%s</td></tr>", dnum(step, "duration_ms"),
			   is_ok(step) ? "pass" : "FAIL");
		npred += json_array_size(json_object_get(step, "predictions"));
	}
	buf_printf(b, "<tr><td><b>whole run</b></td><td></td><td class=\"num\"><b>%.1f</b></td><td>"
		   "</td></tr></table>", dnum(r, "duration_ms"));
	if (plot_rows(r, &(double){ 0 })) {
		buf_puts(b, "<h3>Latency: time to first byte of every hop and transfer</h3>"
			    "<div class=\"diagram\">");
		report_svg_latency(b, r);
		buf_puts(b, "</div>");
	}
	if (npred) {
		buf_puts(b, "<h3>Measured against predicted</h3><table><tr><th>step</th><th>what</th>"
			    "<th>measured ms</th><th>predicted ms</th><th>round trips</th><th>diff ms</th>"
			    "<th>verdict</th></tr>");
		json_array_foreach(json_object_get(r, "steps"), i, step)
			json_array_foreach(json_object_get(step, "predictions"), j, p) {
				buf_printf(b, "<tr><td>%lld</td><td>", num(step, "n"));
				esc(b, str(p, "label") ? str(p, "label") : str(step, "name"));
				buf_printf(b, " (hop %lld %s)</td><td class=\"num\">%.1f</td><td class=\"num\">"
					   "%.1f</td><td>", num(p, "hop"), str(p, "phase"),
					   dnum(p, "measured_ms"), dnum(p, "predicted_ms"));
				esc(b, str(p, "rtts"));
				buf_printf(b, "</td><td class=\"num\">%+.1f</td><td>%s</td></tr>",
					   dnum(p, "diff_ms"), is_ok(p) ? "pass" : "FAIL");
			}
		buf_puts(b, "</table>");
	}
	buf_puts(b, "</section>");
}

void report_runtime_md(struct buf *b, json_t *r)
{
	json_t *step, *p;
	size_t i, j, npred = 0;

	buf_puts(b, "\n## Timing\n\n| step | kind | duration ms | verdict |\n|---|---|---:|---|\n");
	json_array_foreach(json_object_get(r, "steps"), i, step) {
		buf_printf(b, "| %lld %s | %s | %.1f | %s |\n", num(step, "n"), str(step, "name"),
			   str(step, "kind"), dnum(step, "duration_ms"), is_ok(step) ? "pass" : "FAIL");
		npred += json_array_size(json_object_get(step, "predictions"));
	}
	buf_printf(b, "| **whole run** | | **%.1f** | |\n", dnum(r, "duration_ms"));
	if (!npred)
		return;
	buf_puts(b, "\n### Measured against predicted\n\n| step | what | measured ms | predicted ms "
		    "| round trips | diff ms | verdict |\n|---|---|---:|---:|---|---:|---|\n");
	json_array_foreach(json_object_get(r, "steps"), i, step)
		json_array_foreach(json_object_get(step, "predictions"), j, p)
			buf_printf(b, "| %lld | %s (hop %lld %s) | %.1f | %.1f | %s | %+.1f | %s |\n",
				   num(step, "n"), str(p, "label") ? str(p, "label") : str(step, "name"),
				   num(p, "hop"), str(p, "phase"), dnum(p, "measured_ms"),
				   dnum(p, "predicted_ms"), str(p, "rtts"), dnum(p, "diff_ms"),
				   is_ok(p) ? "pass" : "FAIL");
}

/* ---- a curl step's transfers and a command's line ---------------------- */

void report_transfers_html(struct buf *b, json_t *step)
{
	json_t *t;
	size_t i;

	if (str(step, "command")) {
		buf_puts(b, "<p><code>");
		esc(b, str(step, "command"));
		buf_puts(b, "</code> → ");
		esc(b, str(step, "exit"));
		buf_puts(b, "</p>");
	}
	if (str(step, "output_text") && *str(step, "output_text")) {
		buf_puts(b, "<pre class=\"out\">");
		esc_lines(b, str(step, "output_text"));
		buf_puts(b, "</pre>");
	}
	if (!json_array_size(json_object_get(step, "transfers")))
		return;
	buf_puts(b, "<h3>Transfers</h3><table><tr><th>#</th><th>URL</th><th>status</th>"
		    "<th>new connections</th><th>connect ms</th><th>TLS ms</th><th>TTFB ms</th>"
		    "<th>total ms</th></tr>");
	json_array_foreach(json_object_get(step, "transfers"), i, t) {
		json_t *tm = json_object_get(t, "timing_ms");

		buf_printf(b, "<tr><td>%lld</td><td><code>", num(t, "n"));
		esc(b, str(t, "url"));
		buf_printf(b, "</code></td><td>%lld</td><td class=\"num\">%lld</td><td class=\"num\">%.1f"
			   "</td><td class=\"num\">%.1f</td><td class=\"num\">%.1f</td><td class=\"num\">"
			   "%.1f</td></tr>", num(t, "status"), num(t, "connects"), dnum(tm, "connect"),
			   dnum(tm, "tls"), dnum(tm, "ttfb"), dnum(tm, "total"));
	}
	buf_puts(b, "</table>");
}

void report_transfers_md(struct buf *b, json_t *step)
{
	json_t *t;
	size_t i;

	if (str(step, "command"))
		buf_printf(b, "`%s` → %s\n\n", str(step, "command"), str(step, "exit"));
	if (str(step, "output_text") && *str(step, "output_text"))
		buf_printf(b, "```\n%s%s```\n\n", str(step, "output_text"),
			   str(step, "output_text")[strlen(str(step, "output_text")) - 1] == '\n' ? "" : "\n");
	if (!json_array_size(json_object_get(step, "transfers")))
		return;
	buf_puts(b, "| # | URL | status | new connections | connect ms | TLS ms | TTFB ms | total ms |\n"
		    "|---|---|---|---:|---:|---:|---:|---:|\n");
	json_array_foreach(json_object_get(step, "transfers"), i, t) {
		json_t *tm = json_object_get(t, "timing_ms");

		buf_printf(b, "| %lld | %s | %lld | %lld | %.1f | %.1f | %.1f | %.1f |\n", num(t, "n"),
			   str(t, "url"), num(t, "status"), num(t, "connects"), dnum(tm, "connect"),
			   dnum(tm, "tls"), dnum(tm, "ttfb"), dnum(tm, "total"));
	}
}
