/* scenario.h: loading, defaults, and every validation error naming its JSON path;
 * fsutil.h: content paths and deterministic content */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/tap.h"
#include "scenarios/fsutil.h"
#include "scenarios/scenario.h"

#define NODE_A "{\"name\":\"a\",\"program\":\"cdni-origin\",\"config\":{\"listen\":[{\"port\":0}," \
	"{\"tls\":true}],\"root\":\"{{content}}\"}}"
#define NODE_B "{\"name\":\"b\",\"program\":\"cdni-dcdn\",\"label\":\"edge\",\"config\":" \
	"{\"upstream\":\"http://{{a.http}}\"}}"
#define STEP_UA "{\"name\":\"s\",\"ua\":{\"url\":\"https://x:{{b.https.port}}/\"}}"

static const char good[] =
	"{\"name\":\"t-1\",\"title\":\"T\",\"content\":{\"v/a.bin\":{\"size\":10},"
	"\"i.html\":{\"text\":\"hi\"}},\"nodes\":[" NODE_A "," NODE_B "],"
	"\"steps\":[" STEP_UA ",{\"wait_ms\":5},{\"ua\":{\"url\":\"http://{{a.http}}/\","
	"\"resolve\":\"h:1:127.0.0.1\",\"timeout_ms\":500},\"expect\":{\"exit\":-1,"
	"\"final_status\":200,\"hops\":[{\"status\":200,\"headers\":{\"x-cache\":null}}],"
	"\"logs\":[{\"node\":\"a\"},{\"node\":\"b\",\"count\":0,\"scope\":\"step\"}]}}]}";

static void loads_good(void)
{
	struct scenario *s = NULL;
	char err[600] = "";
	const struct sc_node *n;
	const struct sc_step *st;
	const struct sc_log_expect *l;

	ok(scenario_load_string(good, "t.json", &s, err, sizeof err) == 0, "a good scenario loads%s%s",
	   *err ? ": " : "", err);
	if (!s)
		return;
	is_str(s->name, "t-1", "name");
	is_int((long long)s->ncontent, 2, "two content entries");
	is_int(s->content[0].size, 10, "a sized entry");
	is_str(s->content[1].text, "hi", "a text entry");
	is_int((long long)s->nodes.n, 2, "two nodes");
	n = scenario_node(s, "b", NULL);
	ok(n && n->ready_timeout_ms == 15000 && n->check, "node defaults: 15 s to be ready, -n check");
	is_str(scenario_node_label(n), "edge", "an explicit label wins");
	is_str(scenario_node_label(scenario_node(s, "a", NULL)), "origin", "a label from the program");
	ok(scenario_node(s, "zz", NULL) == NULL, "no such node");
	is_int((long long)s->nsteps, 3, "three steps");
	st = &s->steps[0];
	ok(st->kind == SC_STEP_UA && st->expect.exit == 0 && st->expect.final_status == -1 &&
	   st->expect.hops.v == NULL && st->ua.timeout_ms == 30000 && st->ua.cacert == NULL,
	   "ua step defaults: exit 0, no status or hop checks, 30 s, cacert from the PKI");
	ok(s->steps[1].kind == SC_STEP_WAIT && s->steps[1].wait_ms == 5, "a wait step");
	is_str(s->steps[1].name, "wait 5 ms", "an unnamed wait step gets a name");
	st = &s->steps[2];
	is_str(st->name, "fetch http://{{a.http}}/", "an unnamed ua step is named by its URL");
	ok(st->ua.resolve.n == 1 && st->expect.exit == -1 && st->expect.hops.n == 1,
	   "a single resolve string is a list of one; exit -1; one hop");
	l = st->expect.logs.v;
	ok(l[0].min == 1 && l[0].count == -1 && l[0].scope == SC_SCOPE_RUN,
	   "a log expectation without counts means at least one, over the run");
	ok(l[1].count == 0 && l[1].scope == SC_SCOPE_STEP, "count 0 in this step");
	scenario_free(s);
}

struct bad_case {
	const char *json, *want;
};

#define TOP(nodes, steps) "{\"name\":\"t\",\"nodes\":[" nodes "],\"steps\":[" steps "]}"
#define HOSTS2 "[{\"name\":\"x\"},{\"name\":\"y\"}]"
/* hosts, links, more top-level keys */
#define HT(hosts, links, more) "{\"name\":\"t\",\"hosts\":" hosts ",\"links\":" links more \
	",\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}"

static const struct bad_case bad_cases[] = {
	{ "{", "t.json:1:" },
	{ "[]", "t.json: (top level): must be an object" },
	{ "{\"nodes\":[" NODE_A "],\"steps\":[" STEP_UA "]}", "t.json: name: is required" },
	{ "{\"name\":\"t\",\"nodez\":[]}", "t.json: nodez: unknown key" },
	{ "{\"name\":\"a/b\",\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}",
	  "t.json: name: must be 1 to 64 of" },
	{ "{\"name\":\"t\",\"steps\":[]}", "t.json: nodes: is required" },
	{ TOP("{\"name\":\"a\",\"program\":\"p\",\"confg\":{}}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].confg: unknown key" },
	{ TOP("{\"name\":\"a\",\"program\":\"p\"}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].config: is required" },
	{ TOP("{\"name\":\"a\",\"program\":\"p\",\"config\":[]}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].config: must be an object" },
	{ TOP("{\"name\":\"a\",\"program\":7,\"config\":{}}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].program: must be a string, got an integer" },
	{ TOP(NODE_A "," NODE_A, "{\"wait_ms\":1}"),
	  "t.json: nodes[1].name: \"a\" is already nodes[0]" },
	{ TOP("{\"name\":\"pki\",\"program\":\"p\",\"config\":{}}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].name: \"pki\" is reserved" },
	{ TOP("{\"name\":\"a.b\",\"program\":\"p\",\"config\":{}}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].name: must be 1 to 64 of" },
	{ "{\"name\":\"t\",\"content\":{\"../x\":{\"size\":1}},\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}",
	  "t.json: content.../x: has an empty, \".\" or \"..\" segment" },
	{ "{\"name\":\"t\",\"content\":{\"/etc/x\":{\"size\":1}},\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}",
	  "t.json: content./etc/x: must be a relative path" },
	{ "{\"name\":\"t\",\"content\":{\"x\":{\"size\":1,\"text\":\"a\"}},\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}",
	  "t.json: content.x: needs exactly one of \"size\", \"text\" and \"from\"" },
	{ "{\"name\":\"t\",\"content\":{\"x\":{}},\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}",
	  "t.json: content.x: needs exactly one of" },
	{ "{\"name\":\"t\",\"content\":{\"x\":{\"size\":-5}},\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}",
	  "t.json: content.x.size: must be an integer in 0..1073741824, got -5" },
	{ "{\"name\":\"t\",\"content\":[],\"nodes\":[" NODE_A "],\"steps\":[{\"wait_ms\":1}]}",
	  "t.json: content: must be an object" },
	{ TOP(NODE_A, ""), "t.json: steps: must be a non-empty array" },
	{ TOP(NODE_A, "{\"name\":\"x\"}"), "t.json: steps[0]: says nothing to do: needs one of ua, wait_ms, kill, start, restart, run, resolve, dane, keyless, play, curl" },
	{ TOP(NODE_A, "{\"wait_ms\":1},3"), "t.json: steps[1]: must be an object" },
	{ TOP(NODE_A, "{\"wait_ms\":1,\"ua\":{\"url\":\"x\"}}"),
	  "t.json: steps[0]: has both \"ua\" and \"wait_ms\"; a step does one thing" },
	{ TOP(NODE_A, "{\"wait_ms\":-1}"), "t.json: steps[0].wait_ms: must be an integer in 0..3600000" },
	{ TOP(NODE_A, "{\"wait_ms\":1,\"expect\":{}}"), "t.json: steps[0].expect: unknown key" },
	{ TOP(NODE_A, "{\"ua\":{}}"), "t.json: steps[0].ua.url: is required" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\",\"resolv\":[]}}"), "t.json: steps[0].ua.resolv: unknown key" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"final\":200}}"),
	  "t.json: steps[0].expect.final: unknown key" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"hops\":[{},{\"status\":\"302\"}]}}"),
	  "t.json: steps[0].expect.hops[1].status: must be an integer in -1..999, got a string" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"hops\":[{\"headers\":{\"x-cache\":1}}]}}"),
	  "t.json: steps[0].expect.hops[0].headers.x-cache: must be a string, or null for absent" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"hops\":[{\"tls\":true}]}}"),
	  "t.json: steps[0].expect.hops[0].tls: must be an object, or null" },
	{ TOP(NODE_A, "{\"wait_ms\":1},{\"ua\":{\"url\":\"u\"},\"expect\":{\"logs\":[{\"node\":\"nope\"}]}}"),
	  "t.json: steps[1].expect.logs[0].node: no node \"nope\"" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"logs\":[{\"node\":\"a\",\"count\":1,\"min\":1}]}}"),
	  "t.json: steps[0].expect.logs[0]: \"count\" excludes \"min\" and \"max\"" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"logs\":[{\"node\":\"a\",\"min\":3,\"max\":1}]}}"),
	  "t.json: steps[0].expect.logs[0]: min 3 is above max 1" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"logs\":[{\"node\":\"a\",\"match\":[]}]}}"),
	  "t.json: steps[0].expect.logs[0].match: must be an object" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"logs\":[{\"node\":\"a\",\"scope\":\"all\"}]}}"),
	  "t.json: steps[0].expect.logs[0].scope: must be one of \"run\", \"step\"" },
	{ TOP("{\"name\":\"a\",\"program\":\"p\",\"config\":{\"root\":\"{{contnt}}\"}}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].config.root: unknown placeholder {{contnt}}" },
	{ TOP("{\"name\":\"a\",\"program\":\"p\",\"config\":{\"u\":\"{{b.http}}\"}}," NODE_B, "{\"wait_ms\":1}"),
	  "t.json: nodes[0].config.u: unknown placeholder {{b.http}}: node \"b\" starts later (nodes start in order)" },
	{ TOP("{\"name\":\"a\",\"program\":\"p\",\"config\":{\"u\":[\"{{a.http}}\"]}}", "{\"wait_ms\":1}"),
	  "t.json: nodes[0].config.u[0]: unknown placeholder {{a.http}}: node \"a\" starts with this config" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"https://x:{{a.htps.port}}/\"}}"),
	  "t.json: steps[0].ua.url: unknown placeholder {{a.htps.port}}: node \"a\" has no listener \"htps\" (it has: http, https)" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\",\"resolve\":[\"x:{{a.https.port\"]}}"),
	  "t.json: steps[0].ua.resolve[0]: unterminated placeholder \"{{a.https.port\"" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\"},\"expect\":{\"hops\":[{\"location\":\"{{zz.http}}\"}]}}"),
	  "t.json: steps[0].expect.hops[0].location: unknown placeholder {{zz.http}}: no node \"zz\"" },
	/* hosts and links */
	{ HT(HOSTS2, "[{\"a\":\"x\",\"b\":\"y\",\"delay_ms\":\"5\"}]", ""),
	  "t.json: links[0].delay_ms: a number of ms in 0..60000" },
	{ HT(HOSTS2, "[{\"a\":\"x\",\"b\":\"y\",\"loss\":101}]", ""),
	  "t.json: links[0].loss: a percentage in 0..100" },
	{ HT(HOSTS2, "[{\"a\":\"x\",\"b\":\"z\"}]", ""), "t.json: links[0].b: no host \"z\"" },
	{ HT(HOSTS2, "[{\"a\":\"x\",\"b\":\"x\"}]", ""),
	  "t.json: links[0]: a link joins two different hosts" },
	{ HT(HOSTS2, "[{\"a\":\"x\",\"b\":\"y\"},{\"a\":\"y\",\"b\":\"x\"}]", ""),
	  "t.json: links[1]: links[0] joins the same hosts" },
	{ HT("[{\"name\":\"x\"},{\"name\":\"x\"}]", "[]", ""),
	  "t.json: hosts[1].name: \"x\" is already hosts[0]" },
	{ HT("[{\"name\":\"a\"}]", "[]", ""), "t.json: hosts[0].name: \"a\" is also nodes[0]" },
	{ HT("[{\"name\":\"x\",\"address\":\"127.0.0.5\"}]", "[]", ""),
	  "t.json: hosts[0].address: an IPv4 address outside 127/8, got \"127.0.0.5\"" },
	{ HT(HOSTS2, "[]", ",\"ua_host\":\"q\""), "t.json: ua_host: no host \"q\"" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"u\",\"host\":\"x\"}}"),
	  "t.json: steps[0].ua.host: \"x\": the scenario has no hosts" },
	{ HT(HOSTS2, "[{\"a\":\"x\",\"b\":\"y\"}]", ",\"links\":[]"), "t.json:1:" },
	{ TOP(NODE_A, "{\"kill\":\"zz\"}"), "t.json: steps[0].kill: no node \"zz\"" },
	{ TOP(NODE_A, "{\"kill\":\"a\",\"signal\":\"HUP\"}"), "t.json: steps[0].signal:" },
	{ TOP(NODE_A, "{\"run\":[\"x\"],\"expect\":{\"timings\":[{\"phase\":\"tcp\"}]}}"),
	  "t.json: steps[0].expect.timings[0].phase: one of dns, connect, tls, first_byte, ttfb, total; got \"tcp\"" },
	{ TOP(NODE_A, "{\"resolve\":{\"name\":\"x\"}}"), "t.json: steps[0].resolve.server: is required" },
	{ TOP(NODE_A, "{\"ua\":{\"url\":\"{{q.addr}}\"}}"), "t.json: steps[0].ua.url: unknown placeholder {{q.addr}}" },
};

static void loads_bad(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		struct scenario *s = NULL;
		char err[600] = "";
		int rc = scenario_load_string(bad_cases[i].json, "t.json", &s, err, sizeof err);

		ok(rc == CDNI_ECONFIG && s == NULL, "bad case %zu is refused", i);
		if (!ok(strncmp(err, bad_cases[i].want, strlen(bad_cases[i].want)) == 0,
			"message names the path: %s", bad_cases[i].want))
			diag("got: %s", err);
		scenario_free(s);
	}
}

static void the_shipped_cases(void)
{
	const char *top = getenv("CDNI_TOP");
	char path[1024], err[600] = "";
	struct scenario *s = NULL;

	snprintf(path, sizeof path, "%s/scenarios/cases/redirect-basic.json", top ? top : ".");
	ok(scenario_load_file(path, &s, err, sizeof err) == 0, "redirect-basic.json loads%s%s",
	   *err ? ": " : "", err);
	ok(s && s->nodes.n == 3 && s->nsteps == 2, "three nodes, two steps");
	scenario_free(s);
	s = NULL;
	ok(scenario_load_file("/nonexistent/x.json", &s, err, sizeof err) == CDNI_ECONFIG &&
	   strstr(err, "/nonexistent/x.json") != NULL, "a missing file: the message names it");
}

static void content_paths(void)
{
	static const char *const goods[] = { "a", "v/a.ts", "a/b/c.m3u8", "..a", "a..", NULL };
	static const char *const bads[] = { "", "/a", "a//b", "a/", "./a", "a/./b", "a/..",
					    "../a", "a\\b", "a\x01b", NULL };
	char why[100];

	for (int i = 0; goods[i]; i++)
		ok(sc_content_path_check(goods[i], why, sizeof why) == 0, "content path '%s' ok",
		   goods[i]);
	for (int i = 0; bads[i]; i++)
		ok(sc_content_path_check(bads[i], why, sizeof why) == CDNI_EINVAL,
		   "content path '%s' refused (%s)", bads[i], why);
}

static void content_bytes(void)
{
	unsigned char a[20], b[20], c[20], one[20];
	uint64_t sa = content_seed("v/a.bin"), sb = content_seed("v/a.bin"),
		 sc = content_seed("v/b.bin"), s1 = content_seed("v/a.bin");
	char dir[] = "/tmp/cdni-sc-content.XXXXXX", path[200], hex[65];
	char p1[] = "x/y/z.bin", p2[] = "t.txt", text[] = "abc", p3[] = "copy.txt", from[300];
	struct sc_content entries[] = { { p1, 100000, NULL, NULL }, { p2, -1, text, NULL },
					{ p3, -1, NULL, from } };
	long long size;
	char err[300];

	content_fill(&sa, a, sizeof a);
	content_fill(&sb, b, sizeof b);
	content_fill(&sc, c, sizeof c);
	is_mem(a, sizeof a, b, sizeof b, "the same path gives the same bytes");
	ok(memcmp(a, c, sizeof a) != 0, "another path gives other bytes");
	content_fill(&s1, one, 8);
	content_fill(&s1, one + 8, 12);
	is_mem(one, sizeof one, a, sizeof a, "bytes do not depend on how they are asked for (8-byte steps)");
	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(from, sizeof from, "%s/t.txt", dir);
	ok(content_generate(entries, 3, dir, err, sizeof err) == 0, "content is generated");
	snprintf(path, sizeof path, "%s/x/y/z.bin", dir);
	ok(fs_sha256_file(path, hex, &size) == 0 && size == 100000, "a sized file has its size");
	snprintf(path, sizeof path, "%s/t.txt", dir);
	ok(fs_sha256_file(path, hex, &size) == 0 && size == 3 &&
	   !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "a text file holds the text (sha256 of \"abc\")");
	snprintf(path, sizeof path, "%s/copy.txt", dir);
	ok(fs_same_content(path, from) == 1, "a \"from\" entry is a copy of its file");
	fs_remove_tree(dir);
}

int main(void)
{
	loads_good();
	loads_bad();
	the_shipped_cases();
	content_paths();
	content_bytes();
	return done_testing();
}
