/* check.h: the printed check lines, and expectations evaluated against
 * synthetic traces, bodies and access logs */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tap.h"
#include "scenarios/check.h"
#include "scenarios/fsutil.h"
#include "scenarios/scenario.h"

static const char trace_text[] =
	"{\"url\":\"https://www.csp.test:1/v/a.bin\",\"ok\":true,\"final_status\":200,\"error\":null,"
	"\"hops\":["
	"{\"n\":1,\"method\":\"GET\",\"url\":\"https://www.csp.test:1/v/a.bin\",\"host\":\"www.csp.test\","
	"\"address\":\"127.0.0.1:1\",\"status\":302,\"location\":\"https://edge.dcdn.test:2/v/a.bin\","
	"\"tls\":{\"version\":\"TLSv1.3\",\"verified\":true},\"headers\":{\"location\":\"https://edge.dcdn.test:2/v/a.bin\"}},"
	"{\"n\":2,\"method\":\"GET\",\"url\":\"https://edge.dcdn.test:2/v/a.bin\",\"host\":\"edge.dcdn.test\","
	"\"address\":\"127.0.0.1:2\",\"status\":200,\"location\":null,\"tls\":{\"version\":\"TLSv1.3\",\"verified\":true},"
	"\"headers\":{\"x-cache\":\"MISS\",\"content-type\":\"application/octet-stream\"},"
	"\"body\":{\"size\":3,\"sha256\":\"x\"}}],"
	"\"checks\":[{\"name\":\"tls-verified hop 1\",\"ok\":true,\"detail\":\"\"}]}";

static const char logs_run[] =
	"[{\"uri\":\"/v/a.bin\",\"status\":200,\"cache\":\"MISS\"},{\"uri\":\"/v/a.bin\",\"status\":200,\"cache\":\"HIT\"},"
	"{\"uri\":\"/other\",\"status\":404}]";
static const char logs_step[] = "[{\"uri\":\"/v/a.bin\",\"status\":200,\"cache\":\"HIT\"}]";

static char dir[] = "/tmp/cdni-sc-check.XXXXXX";
static char body_ok[300], body_bad[300];

struct result {
	int passed, failed;
	char *printed;
	json_t *list;
};

/* Load an expect object through a ua step and evaluate it. */
static struct result eval(const char *expect, json_t *trace, const char *body, int exit_code)
{
	char text[4096], err[600] = "", *mem = NULL;
	size_t memlen = 0;
	struct sc_step st;
	json_t *step, *run = json_loads(logs_run, 0, NULL), *stp = json_loads(logs_step, 0, NULL);
	struct log_view views[] = { { "origin", run, stp } };
	struct result r = { 0, 0, NULL, json_array() };
	struct checklist cl = { r.list, open_memstream(&mem, &memlen), "step 1 \"s\"", 0, 0 };

	snprintf(text, sizeof text, "{\"ua\":{\"url\":\"u\"},\"expect\":%s}", expect);
	step = json_loads(text, 0, NULL);
	memset(&st, 0, sizeof st);
	if (sc_step_load(step, &st, "steps[0]", err, sizeof err) != 0)
		diag("cannot load %s: %s", expect, err);
	expect_eval(&st.expect,
		    &(struct ua_outcome){ exit_code, exit_code < 0 ? "killed after the 5 ms deadline" : "x",
					  "ua log line", trace, body, dir, views, 1 },
		    &cl);
	fclose(cl.out);
	r.passed = cl.passed;
	r.failed = cl.failed;
	r.printed = mem;
	sc_step_free(&st);
	json_decref(step);
	json_decref(run);
	json_decref(stp);
	return r;
}

static void result_free(struct result *r)
{
	free(r->printed);
	json_decref(r->list);
}

static void expect_counts(const char *expect, json_t *trace, const char *body, int exit_code,
			  int passed, int failed, const char *line)
{
	struct result r = eval(expect, trace, body, exit_code);

	if (!ok(r.passed == passed && r.failed == failed, "%s: %d passed, %d failed", expect, passed,
		failed))
		diag("got %d passed, %d failed:\n%s", r.passed, r.failed, r.printed);
	if (line && !ok(strstr(r.printed, line) != NULL, "prints '%.*s'", (int)strcspn(line, "\n"), line))
		diag("printed:\n%s", r.printed);
	result_free(&r);
}

static void passing(json_t *trace)
{
	struct result r = eval("{\"final_status\":200,\"hops\":[{\"status\":302,\"host\":\"www.csp.test\","
			       "\"location\":\"https://edge.dcdn.test:2/v/a.bin\",\"tls\":{\"verified\":true}},"
			       "{\"status\":200,\"url\":\"https://edge.dcdn.test:2/v/a.bin\","
			       "\"headers\":{\"X-Cache\":\"MISS\",\"set-cookie\":null}}],"
			       "\"body_equals\":\"ok.bin\",\"logs\":[{\"node\":\"origin\",\"match\":{\"uri\":\"/v/a.bin\"},"
			       "\"count\":2},{\"node\":\"origin\",\"match\":{\"status\":404}},"
			       "{\"node\":\"origin\",\"match\":{\"cache\":\"MISS\"},\"scope\":\"step\",\"count\":0}]}",
			       trace, body_ok, 0);
	json_t *first = json_array_get(r.list, 0);

	is_int(r.failed, 0, "everything passes");
	is_int(r.passed, 15, "fifteen checks");
	ok(strstr(r.printed, "ok - step 1 \"s\": exit 0\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": final_status 200\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": hop count 2\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": hop 2 header X-Cache MISS\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": hop 2 header set-cookie (absent)\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": hop 1 tls.verified true\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": body equals ok.bin\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": origin log uri=/v/a.bin count 2\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": origin log status=404 count at least 1\n") &&
	   strstr(r.printed, "ok - step 1 \"s\": origin log (this step) cache=MISS count 0\n"),
	   "ok lines name what was checked");
	if (r.failed || !strstr(r.printed, "hop count 2"))
		diag("%s", r.printed);
	ok(json_is_true(json_object_get(first, "ok")) &&
	   !strcmp(json_string_value(json_object_get(first, "what")), "exit") &&
	   !strcmp(json_string_value(json_object_get(first, "scope")), "step 1 \"s\""),
	   "checks are recorded as JSON with their scope");
	result_free(&r);
}

static void failing(json_t *trace)
{
	json_t *no_tls = json_deep_copy(trace);

	json_object_set_new(json_array_get(json_object_get(no_tls, "hops"), 1), "tls", json_null());
	expect_counts("{\"final_status\":404}", trace, NULL, 0, 1, 1,
		      "FAIL - step 1 \"s\": final_status: got 200, want 404\n");
	expect_counts("{}", trace, NULL, 1, 0, 1, "FAIL - step 1 \"s\": exit: got 1, want 0\n#   ua log line\n");
	expect_counts("{\"exit\":-1}", trace, NULL, 1, 0, 0, NULL);
	expect_counts("{\"exit\":1}", trace, NULL, 1, 1, 0, "ok - step 1 \"s\": exit 1\n");
	expect_counts("{}", trace, NULL, -1, 0, 1,
		      "FAIL - step 1 \"s\": exit: got killed after the 5 ms deadline, want 0\n");
	expect_counts("{\"final_status\":200}", NULL, NULL, 0, 1, 1,
		      "FAIL - step 1 \"s\": final_status: got no trace, want 200\n");
	expect_counts("{\"hops\":[{},{},{\"status\":200}]}", trace, NULL, 0, 1, 2,
		      "FAIL - step 1 \"s\": hop 3: got no such hop, want a hop\n");
	expect_counts("{\"hops\":[{\"status\":301}]}", trace, NULL, 0, 1, 2,
		      "FAIL - step 1 \"s\": hop 1 status: got 302, want 301\n");
	expect_counts("{\"hops\":[{},{\"headers\":{\"x-cache\":\"HIT\"}}]}", trace, NULL, 0, 2, 1,
		      "FAIL - step 1 \"s\": hop 2 header x-cache: got MISS, want HIT\n");
	expect_counts("{\"hops\":[{},{\"headers\":{\"content-type\":null,\"age\":\"1\"}}]}", trace, NULL,
		      0, 2, 2, "FAIL - step 1 \"s\": hop 2 header content-type: got application/octet-stream, want (absent)\n");
	expect_counts("{\"hops\":[{},{\"headers\":{\"age\":\"1\"}}]}", trace, NULL, 0, 2, 1,
		      "FAIL - step 1 \"s\": hop 2 header age: got (none), want 1\n");
	expect_counts("{\"hops\":[{\"host\":\"x.test\"},{}]}", trace, NULL, 0, 2, 1,
		      "FAIL - step 1 \"s\": hop 1 host: got www.csp.test, want x.test\n");
	expect_counts("{\"hops\":[{},{\"tls\":null}]}", trace, NULL, 0, 2, 1,
		      "FAIL - step 1 \"s\": hop 2 tls: got a TLS session, want none\n");
	expect_counts("{\"hops\":[{},{\"tls\":null}]}", no_tls, NULL, 0, 3, 0, NULL);
	expect_counts("{\"hops\":[{},{\"tls\":{\"version\":\"TLSv1.2\"}}]}", trace, NULL, 0, 2, 1,
		      "FAIL - step 1 \"s\": hop 2 tls.version: got \"TLSv1.3\", want \"TLSv1.2\"\n");
	expect_counts("{\"body_equals\":\"ok.bin\"}", trace, body_bad, 0, 1, 1,
		      "FAIL - step 1 \"s\": body equals ok.bin: got 4 bytes, sha256 ");
	expect_counts("{\"body_equals\":\"missing.bin\"}", trace, body_ok, 0, 1, 1,
		      "want no readable file ");
	expect_counts("{\"body_equals\":\"ok.bin\"}", trace, NULL, 0, 1, 1, "got no body, want 3 bytes");
	expect_counts("{\"logs\":[{\"node\":\"origin\",\"match\":{\"uri\":\"/v/a.bin\"},\"count\":1}]}",
		      trace, NULL, 0, 1, 1,
		      "FAIL - step 1 \"s\": origin log uri=/v/a.bin: got count 2, want count 1\n");
	expect_counts("{\"logs\":[{\"node\":\"origin\",\"max\":2}]}", trace, NULL, 0, 1, 1,
		      "origin log (any entry): got count 3, want count at most 2\n");
	expect_counts("{\"logs\":[{\"node\":\"origin\",\"min\":1,\"max\":2,\"scope\":\"step\"}]}", trace,
		      NULL, 0, 2, 0, "origin log (this step) (any entry) count 1..2\n");
	expect_counts("{\"logs\":[{\"node\":\"origin\",\"match\":{\"status\":\"404\"}}]}", trace, NULL, 0,
		      1, 1, "origin log status=404: got count 0, want count at least 1\n");
	json_decref(no_tls);
}

static void matching(void)
{
	json_t *e = json_loads("{\"uri\":\"/a\",\"status\":200,\"cache\":\"HIT\"}", 0, NULL);
	json_t *m1 = json_loads("{\"uri\":\"/a\",\"status\":200}", 0, NULL);
	json_t *m2 = json_loads("{\"uri\":\"/a\",\"status\":\"200\"}", 0, NULL);
	json_t *m3 = json_loads("{\"upstream\":null}", 0, NULL);
	char s[100];

	ok(log_entry_match(e, m1), "every field equal: a match");
	ok(!log_entry_match(e, m2), "200 and \"200\" differ");
	ok(!log_entry_match(e, m3), "a field the entry lacks does not match null");
	ok(log_entry_match(e, NULL), "no match object matches all");
	log_match_str(m1, s, sizeof s);
	is_str(s, "uri=/a status=200", "match text for messages");
	json_decref(e);
	json_decref(m1);
	json_decref(m2);
	json_decref(m3);
}

/* Load an expect object (of a run step) and run the newer evaluators on it. */
static struct result eval_more(const char *expect, json_t *phases, json_t *flow, const char *out,
			       double ms, json_t *predictions)
{
	char text[4096], err[600] = "", *mem = NULL;
	size_t memlen = 0;
	struct sc_step st;
	json_t *step, *paths = json_loads("[{\"a\":\"dublin\",\"b\":\"london\",\"rtt_ms\":12},"
					  "{\"a\":\"london\",\"b\":\"sf\",\"rtt_ms\":136}]", 0, NULL);
	struct result r = { 0, 0, NULL, json_array() };
	struct checklist cl = { r.list, open_memstream(&mem, &memlen), "step 1 \"s\"", 0, 0 };

	snprintf(text, sizeof text, "{\"run\":[\"x\"],\"expect\":%s}", expect);
	step = json_loads(text, 0, NULL);
	memset(&st, 0, sizeof st);
	if (sc_step_load(step, &st, "steps[0]", err, sizeof err) != 0)
		diag("cannot load %s: %s", expect, err);
	expect_served_by(&st.expect, flow, &cl);
	expect_timings(&st.expect, phases, paths, predictions, &cl);
	expect_duration(&st.expect, ms, &cl);
	expect_output(&st.expect, out, out ? strlen(out) : 0, &cl);
	fclose(cl.out);
	r.passed = cl.passed;
	r.failed = cl.failed;
	r.printed = mem;
	sc_step_free(&st);
	json_decref(step);
	json_decref(paths);
	return r;
}

static void more_counts(const char *expect, json_t *phases, json_t *flow, const char *out, double ms,
			int passed, int failed, const char *line)
{
	struct result r = eval_more(expect, phases, flow, out, ms, NULL);

	if (!ok(r.passed == passed && r.failed == failed, "%s: %d passed, %d failed", expect, passed,
		failed))
		diag("got %d passed, %d failed:\n%s", r.passed, r.failed, r.printed);
	if (line && !ok(strstr(r.printed, line) != NULL, "prints '%s'", line))
		diag("printed:\n%s", r.printed);
	result_free(&r);
}

static void newer(void)
{
	json_t *phases = json_loads("[{\"connect\":12.3,\"ttfb\":49.5},{\"connect\":12.1,\"ttfb\":37.0}]", 0, NULL);
	json_t *flow = json_loads("{\"hops\":[{\"node\":\"ucdn\"},{\"node\":\"dcdn\"}]}", 0, NULL);
	json_t *pred = json_array();
	struct result r;

	more_counts("{\"timings\":[{\"hop\":1,\"phase\":\"connect\",\"min_ms\":11,\"max_ms\":13}]}",
		    phases, NULL, NULL, 0, 1, 0, "ok - step 1 \"s\": hop 1 connect 11..13 ms");
	more_counts("{\"timings\":[{\"phase\":\"ttfb\",\"max_ms\":30}]}", phases, NULL, NULL, 0, 0, 1,
		    "FAIL - step 1 \"s\": hop 2 ttfb: got 37.000 ms, want at most 30 ms");
	more_counts("{\"timings\":[{\"hop\":5,\"phase\":\"ttfb\"}]}", phases, NULL, NULL, 0, 0, 1,
		    "hop 5 ttfb: got not measured");
	more_counts("{\"timings\":[{\"hop\":1,\"phase\":\"ttfb\",\"rtts\":[{\"a\":\"dublin\",\"b\":\"london\",\"n\":4}],"
		    "\"tolerance_ms\":2}]}", phases, NULL, NULL, 0, 1, 0,
		    "hop 1 ttfb vs prediction 48.0 ms (4×RTT(dublin,london)) ±2 ms");
	more_counts("{\"timings\":[{\"hop\":1,\"phase\":\"ttfb\",\"rtts\":[{\"a\":\"dublin\",\"b\":\"london\",\"n\":4},"
		    "{\"a\":\"london\",\"b\":\"sf\",\"n\":1}],\"tolerance_ms\":10}]}", phases, NULL, NULL, 0, 0, 1,
		    "got 49.5 ms (-134.5), want 184.0 ms (4×RTT(dublin,london) + 1×RTT(london,sf)) ±10 ms");
	more_counts("{\"timings\":[{\"hop\":1,\"phase\":\"ttfb\",\"rtts\":[{\"a\":\"dublin\",\"b\":\"sf\",\"n\":1}]}]}",
		    phases, NULL, NULL, 0, 0, 1, "got a host pair with no route");
	r = eval_more("{\"timings\":[{\"label\":\"edge\",\"hop\":2,\"phase\":\"ttfb\",\"rtts\":[{\"a\":\"dublin\","
		      "\"b\":\"london\",\"n\":3}]}]}", phases, NULL, NULL, 0, pred);
	is_int(r.failed, 0, "tolerance -1: report only, never a failure");
	is_str(json_string_value(json_object_get(json_array_get(pred, 0), "rtts")), "3×RTT(dublin,london)",
	       "the prediction's round trips are recorded");
	ok(json_number_value(json_object_get(json_array_get(pred, 0), "diff_ms")) == 1.0, "and the difference");
	result_free(&r);
	more_counts("{\"hops\":[{},{\"node\":\"dcdn\"}]}", NULL, flow, NULL, 0, 1, 0, "hop 2 served by dcdn");
	more_counts("{\"hops\":[{\"node\":\"dcdn\"}]}", NULL, flow, NULL, 0, 0, 1,
		    "hop 1 served by: got ucdn, want dcdn");
	more_counts("{\"duration_ms\":{\"min\":10,\"max\":20}}", NULL, NULL, NULL, 25, 0, 1,
		    "duration: got 25.000 ms, want 10..20 ms");
	more_counts("{\"output_contains\":[\"status: NOERROR\",\"CNAME\"],\"output_lacks\":[\"SERVFAIL\"]}", NULL,
		    NULL, "x status: NOERROR y CNAME z", 0, 3, 0, "output lacks SERVFAIL absent");
	more_counts("{\"output_contains\":[\"a\\nb\"],\"output_lacks\":[\"x\"]}", NULL, NULL, "x", 0, 0, 2,
		    "output contains a\\nb: got absent");
	json_decref(phases);
	json_decref(flow);
	json_decref(pred);
}

int main(void)
{
	json_t *trace = json_loads(trace_text, 0, NULL);

	ok(trace != NULL && mkdtemp(dir) != NULL, "synthetic trace and a temp dir");
	snprintf(body_ok, sizeof body_ok, "%s/body-ok", dir);
	snprintf(body_bad, sizeof body_bad, "%s/body-bad", dir);
	{
		char p[300];

		snprintf(p, sizeof p, "%s/ok.bin", dir);
		fs_write(p, "abc", 3);
		fs_write(body_ok, "abc", 3);
		fs_write(body_bad, "abcd", 4);
	}
	passing(trace);
	failing(trace);
	matching();
	newer();
	json_decref(trace);
	fs_remove_tree(dir);
	return done_testing();
}
