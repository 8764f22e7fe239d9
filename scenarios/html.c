/* cdni-scenario — report.html: one self-contained page (inline CSS and
 * SVG, no scripts, no external resources), well-formed XML so that any XML
 * tool can read it. */
#include <stdio.h>
#include <string.h>

#include "scenarios/report.h"
#include "scenarios/report_int.h"

static const char css[] =
	":root{--ok:#15803d;--bad:#dc2626;--ink:#0f172a;--mute:#64748b;--line:#e2e8f0}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:#f1f5f9;color:var(--ink);"
	"font:15px/1.5 ui-sans-serif,system-ui,-apple-system,'Segoe UI',sans-serif}"
	"main{max-width:1180px;margin:0 auto;padding:28px 20px 60px}"
	".hero{border-radius:16px;padding:26px 30px;color:#fff;margin-bottom:22px;"
	"box-shadow:0 8px 30px rgba(15,23,42,.18)}"
	".hero.pass{background:linear-gradient(120deg,#166534,#0d9488)}"
	".hero.fail{background:linear-gradient(120deg,#991b1b,#c2410c)}"
	".hero h1{margin:4px 0 6px;font-size:28px}"
	".verdict{font-size:13px;font-weight:800;letter-spacing:.14em;opacity:.9}"
	".hero .sub{opacity:.85;margin:0}.hero .desc{max-width:820px;margin:12px 0 0}"
	".counts{margin-top:14px}"
	".counts span{display:inline-block;background:rgba(255,255,255,.18);border-radius:999px;"
	"padding:3px 14px;margin-right:8px;font-weight:700}"
	".card{background:#fff;border-radius:14px;padding:20px 24px;margin:18px 0;"
	"box-shadow:0 1px 3px rgba(15,23,42,.08)}"
	".card h2{margin:0 0 10px;font-size:20px;display:flex;align-items:center;gap:10px}"
	".card h3{margin:18px 0 8px;font-size:15px;color:var(--mute);text-transform:uppercase;"
	"letter-spacing:.06em}"
	".n{display:inline-flex;width:28px;height:28px;border-radius:50%;background:var(--ink);"
	"color:#fff;align-items:center;justify-content:center;font-size:14px}"
	".pill{font-size:12px;font-weight:800;border-radius:999px;padding:2px 10px;color:#fff}"
	".pill.ok{background:var(--ok)}.pill.bad{background:var(--bad)}"
	".diagram{overflow-x:auto;padding:6px 0}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line)}"
	"th{color:var(--mute);font-weight:600}td.num{text-align:right;"
	"font-variant-numeric:tabular-nums}"
	"code{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f8fafc;"
	"padding:1px 5px;border-radius:4px;word-break:break-all}"
	"ul.checks{list-style:none;padding:0;margin:0;display:grid;gap:4px 10px;"
	"grid-template-columns:repeat(auto-fill,minmax(330px,1fr))}"
	"ul.checks li{padding:5px 10px;border-radius:8px}"
	"ul.checks li.bad{grid-column:1/-1}"
	".scope{color:var(--mute);margin-right:6px}"
	"ul.checks li.ok{background:#f0fdf4}ul.checks li.bad{background:#fef2f2}"
	"ul.checks li .mark{font-weight:800;margin-right:8px}"
	"li.ok .mark{color:var(--ok)}li.bad .mark{color:var(--bad)}"
	"pre{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:8px;"
	"overflow-x:auto;font-size:12px;margin:6px 0 2px}"
	".files{color:var(--mute);font-size:13px;margin-top:14px}"
	".files a{color:#2563eb;margin-right:12px}"
	"footer{color:var(--mute);font-size:13px;text-align:center;margin-top:30px}";

static void esc(struct buf *b, const char *s)
{
	xml_escape(b, s);
}

static void link(struct buf *b, const char *label, const char *href)
{
	if (!href)
		return;
	buf_puts(b, "<a href=\"");
	esc(b, href);
	buf_puts(b, "\">");
	esc(b, label);
	buf_puts(b, "</a>");
}

static void html_checks(struct buf *b, json_t *checks, int scoped)
{
	json_t *c;
	size_t i;

	if (!json_array_size(checks))
		return;
	buf_puts(b, "<ul class=\"checks\">");
	json_array_foreach(checks, i, c) {
		buf_printf(b, "<li class=\"%s\"><span class=\"mark\">%s</span><b>", is_ok(c) ? "ok" : "bad",
			   is_ok(c) ? "✓" : "✗");
		if (scoped && str(c, "scope")) {
			buf_puts(b, "<span class=\"scope\">");
			esc(b, str(c, "scope"));
			buf_puts(b, "</span>");
		}
		esc(b, str(c, "what"));
		buf_puts(b, "</b> ");
		if (is_ok(c)) {
			esc(b, str(c, "want"));
		} else {
			buf_puts(b, "got <code>");
			esc(b, str(c, "got") ? str(c, "got") : "nothing");
			buf_puts(b, "</code>, want <code>");
			esc(b, str(c, "want") ? str(c, "want") : "something else");
			buf_puts(b, "</code>");
		}
		if (str(c, "detail")) {
			buf_puts(b, is_ok(c) ? " <span class=\"files\">" : "<pre>");
			esc(b, str(c, "detail"));
			buf_puts(b, is_ok(c) ? "</span>" : "</pre>");
		}
		buf_puts(b, "</li>");
	}
	buf_puts(b, "</ul>");
}

static void html_hero(struct buf *b, json_t *r)
{
	buf_printf(b, "<header class=\"hero %s\"><div class=\"verdict\">%s</div><h1>",
		   is_ok(r) ? "pass" : "fail", is_ok(r) ? "PASS" : "FAIL");
	esc(b, str(r, "title") ? str(r, "title") : str(r, "scenario"));
	buf_puts(b, "</h1><p class=\"sub\">scenario <b>");
	esc(b, str(r, "scenario"));
	buf_printf(b, "</b> · %.1f s · started ", json_number_value(json_object_get(r, "duration_ms")) / 1000);
	esc(b, str(r, "started"));
	if (json_is_true(json_object_get(r, "interrupted")))
		buf_puts(b, " · <b>interrupted</b>");
	buf_puts(b, "</p>");
	if (str(r, "description")) {
		buf_puts(b, "<p class=\"desc\">");
		esc(b, str(r, "description"));
		buf_puts(b, "</p>");
	}
	buf_printf(b, "<div class=\"counts\"><span>%lld passed</span><span>%lld failed</span>"
		   "</div></header>", num(r, "passed"), num(r, "failed"));
}

static void html_nodes(struct buf *b, json_t *r)
{
	json_t *n, *v;
	const char *k;
	size_t i;

	buf_puts(b, "<section class=\"card\"><h2>Cast</h2><table><tr><th>node</th><th>role</th>"
		    "<th>program</th><th>listening on</th><th>stopped</th><th>files</th></tr>");
	json_array_foreach(json_object_get(r, "nodes"), i, n) {
		buf_puts(b, "<tr><td><b>");
		esc(b, str(n, "name"));
		buf_puts(b, "</b></td><td>");
		esc(b, str(n, "label"));
		buf_puts(b, "</td><td><code>");
		esc(b, str(n, "program"));
		buf_puts(b, "</code></td><td>");
		json_object_foreach(json_object_get(n, "listeners"), k, v) {
			buf_puts(b, "<code>");
			esc(b, k);
			buf_puts(b, "=");
			esc(b, json_string_value(v));
			buf_puts(b, "</code> ");
		}
		buf_puts(b, "</td><td>");
		esc(b, str(n, "exit") ? str(n, "exit") : "not started");
		buf_puts(b, "</td><td class=\"files\">");
		link(b, "config", str(n, "config"));
		link(b, "log", str(n, "log"));
		link(b, "access log", str(n, "access_log"));
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</table><h3>Checks</h3>");
	html_checks(b, json_object_get(r, "checks"), 1);
	buf_puts(b, "</section>");
}

/* A failing run starts with what failed, wherever it was. */
static void html_failures(struct buf *b, json_t *r)
{
	json_t *fails = json_array(), *c, *step;
	size_t i, j;

	json_array_foreach(json_object_get(r, "checks"), i, c)
		if (!is_ok(c))
			json_array_append(fails, c);
	json_array_foreach(json_object_get(r, "steps"), j, step)
		json_array_foreach(json_object_get(step, "checks"), i, c)
			if (!is_ok(c))
				json_array_append(fails, c);
	if (json_array_size(fails)) {
		buf_puts(b, "<section class=\"card\"><h2>What failed</h2>");
		html_checks(b, fails, 1);
		buf_puts(b, "</section>");
	}
	json_decref(fails);
}

static void td_ms(struct buf *b, json_t *hop, const char *key)
{
	buf_printf(b, "<td class=\"num\">%.1f</td>", hop_ms(hop, key));
}

static void html_timing(struct buf *b, json_t *step)
{
	json_t *hops = json_object_get(json_object_get(step, "flow"), "hops"), *h;
	size_t i;

	if (!json_array_size(hops))
		return;
	buf_puts(b, "<h3>Timing</h3>");
	report_svg_waterfall(b, step);
	buf_puts(b, "<table><tr><th>hop</th><th>node</th><th>request</th><th>status</th>"
		    "<th>DNS ms</th><th>connect ms</th><th>TLS ms</th><th>first byte ms</th>"
		    "<th>total ms</th><th>bytes</th><th>cache</th><th>TLS</th></tr>");
	json_array_foreach(hops, i, h) {
		buf_printf(b, "<tr><td>%lld</td><td>", num(h, "n"));
		esc(b, report_lifeline_label(step, str(h, "node")));
		buf_puts(b, "</td><td><code>");
		esc(b, str(h, "method"));
		buf_puts(b, " ");
		esc(b, str(h, "url"));
		buf_printf(b, "</code></td><td>%lld</td>", num(h, "status"));
		td_ms(b, h, "dns");
		td_ms(b, h, "connect");
		td_ms(b, h, "tls");
		td_ms(b, h, "first_byte");
		td_ms(b, h, "total");
		buf_printf(b, "<td class=\"num\">%lld</td><td>", num(h, "bytes"));
		esc(b, str(h, "cache"));
		buf_puts(b, "</td><td>");
		esc(b, str(h, "tls"));
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</table>");
}

static void html_unattributed(struct buf *b, json_t *step)
{
	json_t *u = json_object_get(json_object_get(step, "flow"), "unattributed"), *e;
	size_t i;

	if (!json_array_size(u))
		return;
	buf_puts(b, "<h3>Other requests the nodes logged</h3><table><tr><th>node</th>"
		    "<th>request</th><th>status</th><th>peer</th></tr>");
	json_array_foreach(u, i, e) {
		buf_puts(b, "<tr><td>");
		esc(b, str(e, "node"));
		buf_puts(b, "</td><td><code>");
		esc(b, str(e, "method"));
		buf_puts(b, " ");
		esc(b, str(e, "uri"));
		buf_printf(b, "</code></td><td>%lld</td><td>", num(e, "status"));
		esc(b, str(e, "peer"));
		buf_puts(b, "</td></tr>");
	}
	buf_puts(b, "</table>");
}

static void html_step(struct buf *b, json_t *step)
{
	buf_printf(b, "<section class=\"card step\"><h2><span class=\"n\">%lld</span>", num(step, "n"));
	esc(b, str(step, "name"));
	buf_printf(b, " <span class=\"pill %s\">%s</span></h2>", is_ok(step) ? "ok" : "bad",
		   is_ok(step) ? "pass" : "fail");
	if (str(step, "url")) {
		buf_puts(b, "<p><code>");
		esc(b, str(step, "url"));
		buf_puts(b, "</code></p>");
	} else if (str(step, "what")) {
		buf_puts(b, "<p>");
		esc(b, str(step, "what"));
		buf_puts(b, "</p>");
	}
	if (json_array_size(json_object_get(json_object_get(step, "flow"), "messages"))) {
		buf_puts(b, "<div class=\"diagram\">");
		report_svg_sequence(b, step);
		buf_puts(b, "</div>");
	}
	report_transfers_html(b, step);
	html_timing(b, step);
	html_unattributed(b, step);
	if (json_array_size(json_object_get(step, "checks")))
		buf_puts(b, "<h3>Checks</h3>");
	html_checks(b, json_object_get(step, "checks"), 0);
	if (json_array_size(json_object_get(step, "ua_checks"))) {
		buf_puts(b, "<h3>The UA's own checks</h3>");
		html_checks(b, json_object_get(step, "ua_checks"), 0);
	}
	buf_puts(b, "<p class=\"files\">");
	link(b, "trace", str(step, "trace"));
	link(b, "UA log", str(step, "log"));
	link(b, "body", str(step, "body"));
	link(b, "output", str(step, "output"));
	buf_puts(b, "</p></section>");
}

void report_html(struct buf *b, json_t *r)
{
	json_t *step;
	size_t i;

	buf_puts(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">"
		    "<head><meta charset=\"utf-8\"/><meta name=\"viewport\" "
		    "content=\"width=device-width, initial-scale=1\"/><title>");
	esc(b, str(r, "scenario"));
	buf_printf(b, ": %s</title><style>%s</style></head><body><main>",
		   is_ok(r) ? "PASS" : "FAIL", css);
	html_hero(b, r);
	html_failures(b, r);
	report_topology_html(b, r);
	html_nodes(b, r);
	report_runtime_html(b, r);
	json_array_foreach(json_object_get(r, "steps"), i, step)
		html_step(b, step);
	buf_puts(b, "<footer>cdni-scenario · ");
	link(b, "result.json", "result.json");
	link(b, "report.md", "report.md");
	buf_puts(b, "</footer></main></body></html>\n");
}
