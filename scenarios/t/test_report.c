/* flow.h: the message flow from synthetic traces and access logs;
 * report.h: SVG, mermaid, HTML (well-formed: xmllint), Markdown, summary */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/tap.h"
#include "scenarios/flow.h"
#include "scenarios/fsutil.h"
#include "scenarios/report.h"

static const char trace_miss[] =
	"{\"hops\":["
	"{\"n\":1,\"method\":\"GET\",\"url\":\"https://www.csp.test:1001/v/a.bin\",\"address\":\"127.0.0.1:1001\","
	"\"status\":302,\"location\":\"https://edge.dcdn.test:2001/v/a.bin\",\"tls\":{\"version\":\"TLSv1.3\"},"
	"\"timing_ms\":{\"dns\":0.1,\"connect\":0.2,\"tls\":3.0,\"first_byte\":0.5,\"total\":4.0},\"headers\":{}},"
	"{\"n\":2,\"method\":\"GET\",\"url\":\"https://edge.dcdn.test:2001/v/a.bin\",\"address\":\"127.0.0.1:2001\","
	"\"status\":200,\"location\":null,\"tls\":{\"version\":\"TLSv1.3\"},\"body\":{\"size\":1048576},"
	"\"timing_ms\":{\"dns\":0.1,\"connect\":0.2,\"tls\":3.0,\"first_byte\":4.0,\"total\":12.5},"
	"\"headers\":{\"x-cache\":\"MISS\"}}]}";

/* the uCDN logged the 302; the dCDN its MISS with the upstream URL; the origin the fill */
static const char ucdn_log[] =
	"[{\"ts\":\"2026-11-22T07:30:00.010Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\",\"status\":302,\"dur_us\":300}]";
static const char dcdn_log[] =
	"[{\"ts\":\"2026-11-22T07:30:00.030Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\",\"status\":200,"
	"\"dur_us\":9000,\"cache\":\"MISS\",\"bytes\":1048576,\"upstream\":\"http://127.0.0.1:3001/v/a.bin\"}]";
static const char origin_log[] =
	"[{\"ts\":\"2026-11-22T07:30:00.025Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\",\"status\":200,"
	"\"dur_us\":2000,\"bytes\":1048576},"
	"{\"ts\":\"2026-11-22T07:30:00.040Z\",\"method\":\"GET\",\"uri\":\"/stray<&>\",\"status\":404,"
	"\"peer\":\"127.0.0.1:5\"}]";

static struct listener ls_u[] = { { "https", "127.0.0.1:1001" } };
static struct listener ls_d[] = { { "https", "127.0.0.1:2001" } };
static struct listener ls_o[] = { { "http", "127.0.0.1:3001" } };

static json_t *ucdn_config;

static json_t *build(const char *trace_text, const char *ul, const char *dl, const char *ol,
		     json_t *dcdn_config)
{
	json_t *trace = json_loads(trace_text, 0, NULL), *flow;
	json_t *eu = json_loads(ul, 0, NULL), *ed = json_loads(dl, 0, NULL), *eo = json_loads(ol, 0, NULL);
	struct flow_node nodes[] = {
		{ "origin", "origin", ls_o, 1, eo, NULL },
		{ "dcdn", "dCDN", ls_d, 1, ed, dcdn_config },
		{ "ucdn", "uCDN", ls_u, 1, eu, ucdn_config },
	};

	flow = flow_build(trace, nodes, 3);
	json_decref(trace);
	json_decref(eu);
	json_decref(ed);
	json_decref(eo);
	return flow;
}

static const char *msg(json_t *flow, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(flow, "messages"), i), k));
}

static void flows(void)
{
	json_t *flow = build(trace_miss, ucdn_log, dcdn_log, origin_log, NULL), *l, *u, *h;
	json_t *cfg, *timed;
	char *s;

	ok(flow != NULL, "a flow is built");
	l = json_object_get(flow, "lifelines");
	s = json_dumps(l, JSON_COMPACT);
	is_str(s, "[{\"id\":\"UA\",\"label\":\"UA\"},{\"id\":\"ucdn\",\"label\":\"uCDN\"},"
	       "{\"id\":\"dcdn\",\"label\":\"dCDN\"},{\"id\":\"origin\",\"label\":\"origin\"}]",
	       "lifelines: UA first, then in order of appearance");
	free(s);
	is_int((long long)json_array_size(json_object_get(flow, "messages")), 6, "six messages");
	ok(!strcmp(msg(flow, 0, "from"), "UA") && !strcmp(msg(flow, 0, "to"), "ucdn") &&
	   !strcmp(msg(flow, 0, "label"), "GET /v/a.bin") && !strcmp(msg(flow, 0, "note"), "www.csp.test"),
	   "1: UA asks the uCDN");
	ok(!strcmp(msg(flow, 1, "label"), "302 Found") &&
	   !strcmp(msg(flow, 1, "note"), "→ https://edge.dcdn.test:2001/v/a.bin"), "2: 302 to the edge");
	ok(!strcmp(msg(flow, 2, "to"), "dcdn"), "3: UA asks the dCDN");
	ok(!strcmp(msg(flow, 3, "from"), "dcdn") && !strcmp(msg(flow, 3, "to"), "origin") &&
	   !strcmp(msg(flow, 3, "kind"), "request"), "4: the dCDN fills from the origin (upstream field)");
	ok(!strcmp(msg(flow, 4, "from"), "origin") && !strcmp(msg(flow, 4, "label"), "200 OK") &&
	   !strcmp(msg(flow, 4, "note"), "1.0 MiB"), "5: the origin answers");
	ok(!strcmp(msg(flow, 5, "to"), "UA") && !strcmp(msg(flow, 5, "note"), "1.0 MiB · MISS"),
	   "6: the dCDN answers the UA, MISS");
	h = json_array_get(json_object_get(flow, "hops"), 1);
	ok(!strcmp(json_string_value(json_object_get(h, "node")), "dcdn") &&
	   !strcmp(json_string_value(json_object_get(h, "cache")), "MISS") &&
	   json_integer_value(json_object_get(h, "bytes")) == 1048576, "hop 2 summary");
	u = json_object_get(flow, "unattributed");
	ok(json_array_size(u) == 1 &&
	   !strcmp(json_string_value(json_object_get(json_array_get(u, 0), "uri")), "/stray<&>"),
	   "what no hop explains is listed");
	json_decref(flow);

	/* no "upstream" field: the fill is found by time, through the dCDN's config */
	cfg = json_pack("{s:s}", "upstream", "http://127.0.0.1:3001");
	timed = build(trace_miss, ucdn_log,
		      "[{\"ts\":\"2026-11-22T07:30:00.030Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\","
		      "\"status\":200,\"dur_us\":9000}]", origin_log, cfg);
	ok(json_array_size(json_object_get(timed, "messages")) == 6 && !strcmp(msg(timed, 3, "to"), "origin"),
	   "a fill without an upstream field is attributed by time and config");
	json_decref(timed);
	timed = build(trace_miss, ucdn_log,
		      "[{\"ts\":\"2026-11-22T07:30:00.030Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\","
		      "\"status\":200,\"dur_us\":9000}]", origin_log, NULL);
	ok(json_array_size(json_object_get(timed, "messages")) == 4,
	   "without the config naming the origin, it is not guessed");
	json_decref(timed);
	json_decref(cfg);
	/* the uCDN's config names the origin too; its 302 ended just before the
	 * dCDN's fill started (a CI run drew that fill as the uCDN's) */
	ucdn_config = json_pack("{s:s}", "origin", "http://127.0.0.1:3001");
	timed = build(trace_miss,
		      "[{\"ts\":\"2026-11-22T07:30:00.254Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\","
		      "\"status\":302,\"dur_us\":16}]",
		      "[{\"ts\":\"2026-11-22T07:30:00.264Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\","
		      "\"status\":200,\"dur_us\":7618,\"upstream\":\"http://127.0.0.1:3001/v/a.bin\"}]",
		      "[{\"ts\":\"2026-11-22T07:30:00.257Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin\","
		      "\"status\":200,\"dur_us\":336}]", NULL);
	ok(json_array_size(json_object_get(timed, "messages")) == 6 && !strcmp(msg(timed, 2, "from"), "UA") &&
	   !strcmp(msg(timed, 3, "from"), "dcdn") && !strcmp(msg(timed, 4, "from"), "origin"),
	   "a fill starting after the uCDN's 302 ended is the dCDN's, not the uCDN's");
	json_decref(timed);
	json_decref(ucdn_config);
	ucdn_config = NULL;

	/* the dCDN logged the signed URI with the signature cut (accesslog.h) */
	timed = build("{\"hops\":[{\"n\":1,\"method\":\"GET\",\"url\":\"https://edge.dcdn.test:2001"
		      "/v/a.bin?URISigningPackage=eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ1In0.c2lnbmF0dXJl\","
		      "\"address\":\"127.0.0.1:2001\",\"status\":200,\"timing_ms\":{\"total\":1}}]}",
		      "[]", "[{\"ts\":\"2026-11-22T07:30:00.030Z\",\"method\":\"GET\",\"uri\":\"/v/a.bin?"
		      "URISigningPackage=eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ1In0.REDACTED\",\"status\":200,"
		      "\"dur_us\":90,\"cache\":\"HIT\"}]", "[]", NULL);
	h = json_array_get(json_object_get(timed, "hops"), 0);
	ok(json_is_string(json_object_get(h, "node")) &&
	   !strcmp(json_string_value(json_object_get(h, "node")), "dcdn") &&
	   json_array_size(json_object_get(timed, "unattributed")) == 0 &&
	   !strcmp(json_string_value(json_object_get(h, "cache")), "HIT"),
	   "a signed hop is matched to its log entry, whose signature is cut");
	json_decref(timed);

	flow = build("{\"hops\":[{\"n\":1,\"url\":\"https://far.test:9/x\",\"status\":0}]}", "[]", "[]", "[]", NULL);
	ok(!strcmp(msg(flow, 0, "to"), "far.test:9") && !strcmp(msg(flow, 1, "label"), "no response"),
	   "a hop to no known node gets its own lifeline; no response");
	json_decref(flow);
	flow = build("{}", "[]", "[]", "[]", NULL);
	ok(flow && json_array_size(json_object_get(flow, "messages")) == 0 &&
	   json_array_size(json_object_get(flow, "lifelines")) == 4, "no trace: lifelines, no messages");
	json_decref(flow);
}

static void parsing(void)
{
	struct url_parts u;
	char dir[] = "/tmp/cdni-sc-alog.XXXXXX", path[300];
	json_t *a;
	long long end = 0;

	ok(url_split("https://www.csp.test:8443/v/a.ts?x=1#f", &u) == 0 && u.port == 8443 &&
	   !strcmp(u.host, "www.csp.test") && !strcmp(u.path, "/v/a.ts?x=1"), "an https URL");
	ok(url_split("http://[::1]/", &u) == 0 && u.port == 80 && !strcmp(u.host, "[::1]"), "IPv6, default port");
	ok(url_split("http://h?q", &u) == 0 && !strcmp(u.path, "/?q"), "no path");
	ok(url_split("ftp://h/", &u) != 0 && url_split("http://:80/", &u) != 0 &&
	   url_split("http://h:99999/", &u) != 0, "bad URLs");
	is_int(alog_ts_ms("1970-01-01T00:00:01.250Z"), 1250, "a timestamp");
	is_int(alog_ts_ms("1970-01-01T00:00:01Z"), -1, "a malformed one");
	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/a.log", dir);
	{
		const char *text = "{\"a\":1}\nnot json\n[1]\n{\"a\":2}\n{\"a\":3";

		fs_write(path, text, strlen(text));
	}
	a = alog_read(path, 0, &end);
	ok(json_array_size(a) == 2 && end == 29, "objects of complete lines; the offset after them");
	json_decref(a);
	a = alog_read(path, 8, NULL);
	ok(json_array_size(a) == 1, "from an offset");
	json_decref(a);
	a = alog_read("/nonexistent", 0, NULL);
	ok(a && json_array_size(a) == 0, "a missing log: no entries");
	json_decref(a);
	fs_remove_tree(dir);
}

static json_t *result(void)
{
	json_t *flow = build(trace_miss, ucdn_log, dcdn_log, origin_log, NULL);
	json_t *r = json_pack(
		"{s:s, s:s, s:s, s:s, s:f, s:i, s:i, s:b, s:b,"
		" s:[{s:s, s:s, s:s, s:{s:s}, s:s}],"
		" s:[{s:s, s:s, s:b, s:s}],"
		" s:[{s:i, s:s, s:s, s:s, s:b, s:f, s:o, s:[{s:s, s:s, s:b}, {s:s, s:s, s:s, s:b, s:s}]},"
		"    {s:i, s:s, s:s, s:s, s:b, s:[]}]}",
		"scenario", "t-report", "title", "A <title> & more", "description", "d", "started",
		"2026-11-22T07:30:00Z", "duration_ms", 1234.5, "passed", 3, "failed", 1, "ok", 0,
		"interrupted", 0,
		"nodes", "name", "ucdn", "label", "uCDN", "program", "cdni-ucdn", "listeners", "https",
		"127.0.0.1:1001", "exit", "exit status 0",
		"checks", "scope", "node \"ucdn\"", "what", "ready", "ok", 1, "detail", "https=127.0.0.1:1001",
		"steps", "n", 1, "name", "first; fetch #1", "kind", "ua", "url",
		"https://www.csp.test:1001/v/a.bin", "ok", 0, "duration_ms", 30.0, "flow", flow, "checks",
		"what", "final_status", "want", "200", "ok", 1, "what", "hop 2 header x-cache", "want",
		"HIT", "got", "MISS", "ok", 0, "detail", "line one\nline <two>",
		"n", 2, "name", "pause", "kind", "wait_ms", "what", "waited 5 ms", "ok", 1, "checks");

	return r;
}

static void xmllint(const char *path, const char *what)
{
	char cmd[600];

	if (system("command -v xmllint >/dev/null 2>&1") != 0) {
		ok(1, "# SKIP xmllint not installed (scripts/deps.sh installs libxml2-utils)");
		return;
	}
	snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
	ok(system(cmd) == 0, "%s is well-formed XML (xmllint)", what);
}

static void reports(void)
{
	json_t *r = result(), *step = json_array_get(json_object_get(r, "steps"), 0);
	char dir[] = "/tmp/cdni-sc-report.XXXXXX", path[300], *text = NULL;
	struct buf b;

	buf_init(&b, 0);
	report_svg_sequence(&b, step);
	ok(b.data && !strncmp(b.data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) &&
	   strstr(b.data, "</svg>"), "a sequence diagram is an SVG");
	ok(strstr(b.data, ">GET /v/a.bin<") && strstr(b.data, ">302 Found<") &&
	   strstr(b.data, ">uCDN<") && strstr(b.data, ">origin<") && strstr(b.data, "marker-end"),
	   "with lifelines, labels and arrows");
	ok(strstr(b.data, "→ https://edge.dcdn.test:2001/v/a.bin") && strstr(b.data, "4.0 ms"),
	   "notes and times");
	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(path, sizeof path, "%s/seq.svg", dir);
	fs_write(path, b.data, b.len);
	xmllint(path, "the sequence diagram");
	buf_reset(&b);
	report_svg_waterfall(&b, step);
	ok(b.data && strstr(b.data, "<svg") && strstr(b.data, ">TLS ") && strstr(b.data, "12.5 ms"),
	   "a waterfall of the hops");
	snprintf(path, sizeof path, "%s/wf.svg", dir);
	fs_write(path, b.data, b.len);
	xmllint(path, "the waterfall");
	buf_reset(&b);
	report_mermaid(&b, step);
	ok(strstr(b.data, "```mermaid\nsequenceDiagram\n") && strstr(b.data, "participant p1 as uCDN\n") &&
	   strstr(b.data, "p0->>+p1: GET /v/a.bin<br/>www.csp.test\n") &&
	   strstr(b.data, "p1-->>-p0: 302 Found<br/>") && strstr(b.data, "p2->>+p3: GET /v/a.bin"),
	   "mermaid: participants, requests activate, responses deactivate");
	buf_reset(&b);
	report_summary(&b, r);
	ok(strstr(b.data, "t-report: FAIL, 3 passed, 1 failed, in 1.2 s\n") &&
	   strstr(b.data, "1. first; fetch #1 [FAIL]: UA → uCDN 302 → dCDN 200 MISS (1.0 MiB in 16.5 ms); dCDN → origin 200 OK\n") &&
	   strstr(b.data, "2. pause [pass]: waited 5 ms\n"), "a summary for people");
	if (!strstr(b.data, "UA → uCDN"))
		diag("%s", b.data);
	buf_free(&b);

	ok(report_write(r, dir, path, sizeof path) == 0, "the report is written");
	snprintf(path, sizeof path, "%s/report.html", dir);
	ok(access(path, R_OK) == 0, "report.html exists");
	xmllint(path, "report.html");
	snprintf(path, sizeof path, "%s/report.md", dir);
	text = NULL;
	{
		FILE *f = fopen(path, "r");
		static char md[65536];
		size_t n = f ? fread(md, 1, sizeof md - 1, f) : 0;

		md[n] = '\0';
		if (f)
			fclose(f);
		text = md;
	}
	ok(strstr(text, "# t-report: A &lt;title&gt; & more\n") && strstr(text, "**FAIL**") &&
	   strstr(text, "## Step 1: first; fetch #1 ❌") && strstr(text, "```mermaid") &&
	   strstr(text, "- ❌ hop 2 header x-cache: got `MISS`, want `HIT`") &&
	   strstr(text, "| 2 | dCDN | GET https://edge.dcdn.test:2001/v/a.bin | 200 |"),
	   "report.md: title, verdict, diagram, timings, checks");
	snprintf(path, sizeof path, "%s/result.json", dir);
	{
		json_t *back = json_load_file(path, 0, NULL);

		ok(back && json_integer_value(json_object_get(back, "failed")) == 1, "result.json reads back");
		json_decref(back);
	}
	snprintf(path, sizeof path, "%s/summary.txt", dir);
	ok(access(path, R_OK) == 0, "summary.txt");
	fs_remove_tree(dir);
	json_decref(r);
}

/* The run-level sections: topology, timing, latency plot, predictions; a
 * curl step's transfers; a narrated flow (kind "message") in mermaid. */
static void run_sections(void)
{
	json_t *r = json_loads(
		"{\"scenario\":\"t\",\"ok\":true,\"duration_ms\":1234.5,\"steps\":[{\"n\":1,\"name\":\"c\",\"kind\":\"curl\","
		"\"ok\":true,\"duration_ms\":99.5,\"command\":\"curl -sS x\",\"exit\":\"exit status 0\","
		"\"output_text\":\"line 1\\nline <2>\\n\","
		"\"transfers\":[{\"n\":1,\"url\":\"https://a/\",\"status\":200,\"connects\":1,"
		"\"timing_ms\":{\"connect\":12.0,\"tls\":24.0,\"ttfb\":49.0,\"total\":50.0}}],"
		"\"predictions\":[{\"label\":\"edge\",\"phase\":\"ttfb\",\"hop\":1,\"measured_ms\":49.0,"
		"\"predicted_ms\":48.0,\"rtts\":\"4×RTT(dublin,london)\",\"diff_ms\":1.0,\"ok\":true}],"
		"\"flow\":{\"lifelines\":[{\"id\":\"UA\",\"label\":\"UA\"},{\"id\":\"edge\",\"label\":\"edge\"}],"
		"\"messages\":[{\"from\":\"UA\",\"to\":\"edge\",\"kind\":\"message\",\"label\":\"1. ClientHello\",\"note\":\"\",\"status\":0,\"hop\":1},"
		"{\"from\":\"edge\",\"to\":\"UA\",\"kind\":\"message\",\"label\":\"2. ServerHello\",\"note\":\"\",\"status\":200}]}}],"
		"\"topology\":{\"mode\":\"netns\",\"note\":\"namespaces\",\"hosts\":[{\"name\":\"dublin\",\"address\":\"10.77.0.1\","
		"\"netns\":\"cdni-1-dublin\"},{\"name\":\"london\",\"address\":\"10.77.0.2\",\"netns\":\"cdni-1-london\"}],"
		"\"links\":[{\"a\":\"dublin\",\"b\":\"london\",\"delay_ms\":6,\"loss\":1.5,\"rate_kbit\":800,"
		"\"devs\":[\"l0-london\",\"l0-dublin\"]}],\"paths\":[{\"a\":\"dublin\",\"b\":\"london\",\"rtt_ms\":12,\"links\":1}],"
		"\"counters\":[\"[dublin-london] l0-london -> l0-dublin: 3 packets in\"]}}", 0, NULL);
	char dir[] = "/tmp/cdni-sc-report2.XXXXXX", path[300];
	struct buf b;

	ok(r != NULL, "a result with a topology, a curl step, predictions and a narrated flow");
	buf_init(&b, 0);
	report_svg_topology(&b, json_object_get(r, "topology"));
	ok(b.data && strstr(b.data, ">dublin<") && strstr(b.data, ">10.77.0.2<") &&
	   strstr(b.data, "6 ms · 1.5% loss · 800 kbit/s"), "the map: hosts, addresses, link labels");
	buf_reset(&b);
	report_svg_latency(&b, r);
	ok(b.data && strstr(b.data, "49.0 ms") && strstr(b.data, ">1.1 c<"), "the latency plot: a bar per transfer");
	buf_reset(&b);
	report_mermaid(&b, json_array_get(json_object_get(r, "steps"), 0));
	ok(strstr(b.data, "p0->>p1: 1. ClientHello") && strstr(b.data, "p1-->>p0: 2. ServerHello"),
	   "mermaid: narrated messages without activations");
	buf_free(&b);
	ok(mkdtemp(dir) != NULL && report_write(r, dir, path, sizeof path) == 0, "written");
	snprintf(path, sizeof path, "%s/report.html", dir);
	xmllint(path, "report.html with the run-level sections");
	{
		char *html = NULL, *md = NULL;

		file_read_all(path, 1 << 20, &html, NULL);
		snprintf(path, sizeof path, "%s/report.md", dir);
		file_read_all(path, 1 << 20, &md, NULL);
		ok(html && strstr(html, "<h2>Topology</h2>") && strstr(html, "cdni-1-london") &&
		   strstr(html, "Measured against predicted") && strstr(html, "4×RTT(dublin,london)") &&
		   strstr(html, "line 1\nline &lt;2&gt;") && strstr(html, "<h3>Transfers</h3>"),
		   "report.html: topology, predictions, command output with its lines, transfers");
		ok(md && strstr(md, "## Topology") && strstr(md, "| dublin – london | 6 | 1.5 | 800 |") &&
		   strstr(md, "| 1 | edge (hop 1 ttfb) | 49.0 | 48.0 | 4×RTT(dublin,london) | +1.0 | pass |") &&
		   strstr(md, "| **whole run** | | **1234.5** | |"),
		   "report.md: topology, predictions, durations");
		free(html);
		free(md);
	}
	fs_remove_tree(dir);
	json_decref(r);
}

static void escaping(void)
{
	struct buf b;

	buf_init(&b, 0);
	xml_escape(&b, "<a href=\"x\">&'\x01</a>");
	is_str(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;", "XML escaping drops controls");
	buf_free(&b);
}

int main(void)
{
	flows();
	parsing();
	reports();
	escaping();
	run_sections();
	return done_testing();
}
