#include "scenarios/scenario.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>

#include "common/err.h"
#include "scenarios/errmsg.h"
#include "scenarios/subst.h"

/* ---- tables ----------------------------------------------------------- */

static const char *const only_names[] = { "always", "full", "fast", NULL };

#define ONLY_KEY CONF_ENUM("only", struct sc_step, only, only_names, 0, \
			   "always, or only in full runs, or only in --fast runs")


static const struct conf_item hop_table[] = {
	CONF_INT("status", struct sc_hop_expect, status, -1, 999, -1, "response status"),
	CONF_STR("host", struct sc_hop_expect, host, NULL, 0, "host of the hop's URL"),
	CONF_STR("url", struct sc_hop_expect, url, NULL, 0, "the hop's URL"),
	CONF_STR("location", struct sc_hop_expect, location, NULL, 0, "resolved redirect target"),
	CONF_JSONV("headers", struct sc_hop_expect, headers, 0,
		   "{name: value} response headers; null: must be absent"),
	CONF_JSONV("tls", struct sc_hop_expect, tls, 0,
		   "fields the hop's tls object must have; null: no TLS"),
	CONF_STR("node", struct sc_hop_expect, node, NULL, 0, "the node that answered the hop"),
	CONF_END
};

static const struct conf_item rtt_table[] = {
	CONF_STR("a", struct sc_rtt, a, NULL, CONF_REQUIRED, "one host"),
	CONF_STR("b", struct sc_rtt, b, NULL, CONF_REQUIRED, "the other host"),
	CONF_INT("n", struct sc_rtt, n, 0, 1000, 1, "how many round trips"),
	CONF_END
};

static const struct conf_item timing_table[] = {
	CONF_INT("hop", struct sc_timing_expect, hop, 0, 1000, 0, "1-based hop/transfer; 0: the last"),
	CONF_STR("phase", struct sc_timing_expect, phase, "total", 0,
		 "dns, connect, tls, first_byte, ttfb or total"),
	CONF_INT("min_ms", struct sc_timing_expect, min_ms, -1, 3600000, -1, "at least"),
	CONF_INT("max_ms", struct sc_timing_expect, max_ms, -1, 3600000, -1, "at most"),
	CONF_LIST("rtts", struct sc_timing_expect, rtts, rtt_table, struct sc_rtt, 0,
		  "predicted: round trips between hosts"),
	CONF_INT("tolerance_ms", struct sc_timing_expect, tolerance_ms, -1, 3600000, -1,
		 "with rtts: largest |measured - predicted|; -1: report only"),
	CONF_STR("label", struct sc_timing_expect, label, NULL, 0, "row name in the comparison"),
	CONF_END
};

static const struct conf_item bounds_table[] = {
	CONF_INT("min", struct sc_bounds, min, -1, 3600000, -1, "at least (ms)"),
	CONF_INT("max", struct sc_bounds, max, -1, 3600000, -1, "at most (ms)"),
	CONF_END
};

static const char *const scope_names[] = { "run", "step", NULL };

static const struct conf_item log_table[] = {
	CONF_STR("node", struct sc_log_expect, node, NULL, CONF_REQUIRED, "node whose access log"),
	CONF_JSONV("match", struct sc_log_expect, match, 0, "{field: value} every one equal"),
	CONF_INT("count", struct sc_log_expect, count, -1, 1000000000, -1, "exact count"),
	CONF_INT("min", struct sc_log_expect, min, -1, 1000000000, -1, "at least"),
	CONF_INT("max", struct sc_log_expect, max, -1, 1000000000, -1, "at most"),
	CONF_ENUM("scope", struct sc_log_expect, scope, scope_names, SC_SCOPE_RUN,
		  "count over the whole run so far, or this step only"),
	CONF_END
};

static const struct conf_item line_table[] = {
	CONF_STR("node", struct sc_line_expect, node, NULL, CONF_REQUIRED, "whose log (stderr)"),
	CONF_STR("contains", struct sc_line_expect, contains, NULL, CONF_REQUIRED,
		 "text a line logged during the step holds"),
	CONF_BOOL("absent", struct sc_line_expect, absent, false, "true: no line holds it"),
	CONF_END
};

static const struct conf_item expect_table[] = {
	CONF_INT("exit", struct sc_expect, exit, -1, 255, 0, "UA exit status; -1: any"),
	CONF_INT("final_status", struct sc_expect, final_status, -1, 999, -1, "last status"),
	CONF_LIST("hops", struct sc_expect, hops, hop_table, struct sc_hop_expect, 0,
		  "every hop, in order"),
	CONF_STR("body_equals", struct sc_expect, body_equals, NULL, 0,
		 "file (under the run directory) the final body must equal"),
	CONF_STRS("body_contains", struct sc_expect, body_contains, 0,
		  "strings the final body must hold (a rewritten manifest's URIs)"),
	CONF_LIST("logs", struct sc_expect, logs, log_table, struct sc_log_expect, 0,
		  "access-log entry counts"),
	CONF_STRS("output_contains", struct sc_expect, output_contains, 0,
		  "strings a command step's output must hold"),
	CONF_STRS("output_lacks", struct sc_expect, output_lacks, 0,
		  "strings a command step's output must not hold"),
	CONF_LIST("timings", struct sc_expect, timings, timing_table, struct sc_timing_expect, 0,
		  "bounds on hop or transfer phases"),
	CONF_OBJ("duration_ms", struct sc_expect, duration_ms, bounds_table, 0,
		 "bounds on the whole step's duration"),
	CONF_LIST("log_lines", struct sc_expect, log_lines, line_table, struct sc_line_expect, 0,
		  "lines the nodes logged (stderr) during the step"),
	CONF_END
};

static const struct conf_item ua_table[] = {
	CONF_STR("url", struct sc_ua, url, NULL, CONF_REQUIRED, "start URL"),
	CONF_STRS("resolve", struct sc_ua, resolve, 0, "HOST:PORT:ADDR, as curl --resolve"),
	CONF_STR("cacert", struct sc_ua, cacert, NULL, 0, "trust anchors; default {{pki}}/ca.pem"),
	CONF_STRS("args", struct sc_ua, args, 0, "more cdni-ua options"),
	CONF_INT("timeout_ms", struct sc_ua, timeout_ms, 1, 600000, 30000, "deadline for the UA"),
	CONF_STR("host", struct sc_ua, host, NULL, 0, "the host it runs on (default ua_host)"),
	CONF_END
};

static const struct conf_item resolve_table[] = {
	CONF_STR("name", struct sc_resolve, qname, NULL, CONF_REQUIRED, "the name to look up"),
	CONF_STR("type", struct sc_resolve, type, "A", 0, "record type"),
	CONF_STR("server", struct sc_resolve, server, NULL, CONF_REQUIRED, "ADDR@PORT or ADDR"),
	CONF_BOOL("dnssec", struct sc_resolve, dnssec, true, "ask for signatures (+dnssec)"),
	CONF_END
};

static const struct conf_item dane_table[] = {
	CONF_STR("name", struct sc_dane, qname, NULL, CONF_REQUIRED, "the service name"),
	CONF_JSONV("port", struct sc_dane, port, CONF_REQUIRED, "the service port"),
	CONF_STR("resolver", struct sc_dane, resolver, NULL, CONF_REQUIRED, "ADDR@PORT"),
	CONF_STR("anchor", struct sc_dane, anchor, NULL, 0, "DNSSEC trust anchors (DS file)"),
	CONF_STRS("args", struct sc_dane, args, 0, "more cdni-dane verify options"),
	CONF_END
};

static const struct conf_item keyless_table[] = {
	CONF_STR("op", struct sc_keyless, op, NULL, CONF_REQUIRED, "ping, sign, decrypt, bench"),
	CONF_STR("server", struct sc_keyless, server, NULL, CONF_REQUIRED, "HOST:PORT"),
	CONF_STRS("args", struct sc_keyless, args, 0, "more cdni-keyless options"),
	CONF_END
};

static const struct conf_item play_table[] = {
	CONF_STR("url", struct sc_play, url, NULL, CONF_REQUIRED, "the manifest URL"),
	CONF_STRS("args", struct sc_play, args, 0, "more ffmpeg input options"),
	CONF_END
};

static const struct conf_item curl_table[] = {
	CONF_STRS("urls", struct sc_curl, urls, CONF_REQUIRED, "one transfer each, in one curl"),
	CONF_STRS("resolve", struct sc_curl, resolve, 0, "HOST:PORT:ADDR"),
	CONF_STRS("args", struct sc_curl, args, 0, "more curl options"),
	CONF_STR("cacert", struct sc_curl, cacert, NULL, 0, "trust anchors; default {{pki}}/ca.pem"),
	CONF_END
};

static const struct conf_item ua_step_table[] = {
	ONLY_KEY,
	CONF_STR("name", struct sc_step, name, NULL, 0, "step name"),
	CONF_OBJ("ua", struct sc_step, ua, ua_table, CONF_REQUIRED, "run cdni-ua"),
	CONF_OBJ("expect", struct sc_step, expect, expect_table, 0, "expectations"),
	CONF_END
};

static const struct conf_item wait_step_table[] = {
	ONLY_KEY,
	CONF_STR("name", struct sc_step, name, NULL, 0, "step name"),
	CONF_INT("wait_ms", struct sc_step, wait_ms, 0, 3600000, 0, "pause"),
	CONF_END
};

static const char *const signal_names[] = { "KILL", "TERM", NULL };

static const struct conf_item kill_step_table[] = {
	ONLY_KEY,
	CONF_STR("name", struct sc_step, name, NULL, 0, "step name"),
	CONF_STR("kill", struct sc_step, node, NULL, CONF_REQUIRED, "the node to stop"),
	CONF_ENUM("signal", struct sc_step, signal, signal_names, 0,
		  "KILL (a crash) or TERM (a clean stop, exit 0 expected)"),
	CONF_END
};

static const struct conf_item start_step_table[] = {
	ONLY_KEY,
	CONF_STR("name", struct sc_step, name, NULL, 0, "step name"),
	CONF_STR("start", struct sc_step, node, NULL, CONF_REQUIRED, "the stopped node to start"),
	CONF_END
};

static const struct conf_item restart_step_table[] = {
	ONLY_KEY,
	CONF_STR("name", struct sc_step, name, NULL, 0, "step name"),
	CONF_STR("restart", struct sc_step, node, NULL, CONF_REQUIRED,
		 "the node to stop (TERM) and start again on the same ports"),
	CONF_END
};

#define CMD_KEYS(what)                                                                   \
	ONLY_KEY,                                                                         \
	CONF_STR("name", struct sc_step, name, NULL, 0, "step name"),                     \
	CONF_STR("host", struct sc_step, host, NULL, 0, "the host it runs on (default ua_host)"), \
	CONF_INT("timeout_ms", struct sc_step, timeout_ms, 1, 600000, 30000, "deadline"),  \
	CONF_OBJ("expect", struct sc_step, expect, expect_table, 0, "expectations")

static const struct conf_item run_step_table[] = {
	CMD_KEYS(run),
	CONF_STRS("run", struct sc_step, run, CONF_REQUIRED, "argv: program (bin dir, else PATH) and arguments"),
	CONF_END
};

static const struct conf_item resolve_step_table[] = {
	CMD_KEYS(resolve),
	CONF_OBJ("resolve", struct sc_step, resolve, resolve_table, CONF_REQUIRED, "a DNS query (dig)"),
	CONF_END
};

static const struct conf_item dane_step_table[] = {
	CMD_KEYS(dane),
	CONF_OBJ("dane", struct sc_step, dane, dane_table, CONF_REQUIRED, "cdni-dane verify"),
	CONF_END
};

static const struct conf_item keyless_step_table[] = {
	CMD_KEYS(keyless),
	CONF_OBJ("keyless", struct sc_step, keyless, keyless_table, CONF_REQUIRED,
		 "a key-server operation (cdni-keyless)"),
	CONF_END
};

static const struct conf_item play_step_table[] = {
	CMD_KEYS(play),
	CONF_OBJ("play", struct sc_step, play, play_table, CONF_REQUIRED, "play HAS (ffmpeg)"),
	CONF_END
};

static const struct conf_item curl_step_table[] = {
	CMD_KEYS(curl),
	CONF_OBJ("curl", struct sc_step, curl, curl_table, CONF_REQUIRED,
		 "curl transfers with their timings"),
	CONF_END
};

const struct sc_step_kind_def sc_step_kinds[SC_STEP_NKINDS] = {
	[SC_STEP_UA] = { "ua", ua_step_table },
	[SC_STEP_WAIT] = { "wait_ms", wait_step_table },
	[SC_STEP_KILL] = { "kill", kill_step_table },
	[SC_STEP_START] = { "start", start_step_table },
	[SC_STEP_RESTART] = { "restart", restart_step_table },
	[SC_STEP_RUN] = { "run", run_step_table },
	[SC_STEP_RESOLVE] = { "resolve", resolve_step_table },
	[SC_STEP_DANE] = { "dane", dane_step_table },
	[SC_STEP_KEYLESS] = { "keyless", keyless_step_table },
	[SC_STEP_PLAY] = { "play", play_step_table },
	[SC_STEP_CURL] = { "curl", curl_step_table },
};

static const struct conf_item node_table[] = {
	CONF_STR("name", struct sc_node, name, NULL, CONF_REQUIRED, "node name"),
	CONF_STR("host", struct sc_node, host, NULL, 0, "the host it runs on (default: the first)"),
	CONF_STR("program", struct sc_node, program, NULL, CONF_REQUIRED, "program to run"),
	CONF_STR("label", struct sc_node, label, NULL, 0, "lifeline label"),
	CONF_JSONV("config", struct sc_node, config, CONF_REQUIRED, "the program's JSON config"),
	CONF_STRS("args", struct sc_node, args, 0, "more arguments after -c FILE"),
	CONF_INT("ready_timeout_ms", struct sc_node, ready_timeout_ms, 100, 600000, 15000,
		 "deadline for the readiness line"),
	CONF_BOOL("check", struct sc_node, check, true, "run PROGRAM -n -c CONFIG first"),
	CONF_END
};

static const struct conf_item host_table[] = {
	CONF_STR("name", struct sc_host, name, NULL, CONF_REQUIRED, "host name"),
	CONF_STR("address", struct sc_host, address, NULL, 0, "its IPv4 address (default 10.77.0.N)"),
	CONF_END
};

static const struct conf_item link_table[] = {
	CONF_STR("a", struct sc_link, a, NULL, CONF_REQUIRED, "one host"),
	CONF_STR("b", struct sc_link, b, NULL, CONF_REQUIRED, "the other host"),
	CONF_JSONV("delay_ms", struct sc_link, delay_raw, 0, "one-way delay, ms (number)"),
	CONF_JSONV("loss", struct sc_link, loss_raw, 0, "random loss, percent (number)"),
	CONF_INT("rate_kbit", struct sc_link, rate_kbit, 0, 100000000, 0, "kbit/s; 0: unlimited"),
	CONF_INT("limit", struct sc_link, limit, 1, 100000, 1000, "queue capacity, packets"),
	CONF_END
};

static const struct conf_item top_table[] = {
	CONF_STR("name", struct scenario, name, NULL, CONF_REQUIRED, "scenario name"),
	CONF_STR("title", struct scenario, title, NULL, 0, "one-line title"),
	CONF_STR("description", struct scenario, description, NULL, 0, "what it shows"),
	CONF_JSONV("content", struct scenario, content_raw, 0, "{path: {size|text}}"),
	CONF_LIST("hosts", struct scenario, hosts, host_table, struct sc_host, 0,
		  "hosts: one network namespace each"),
	CONF_LIST("links", struct scenario, links, link_table, struct sc_link, 0,
		  "emulated links between hosts"),
	CONF_STR("ua_host", struct scenario, ua_host, NULL, 0,
		 "the host UA and command steps run on (default: the first)"),
	CONF_JSONV("names", struct scenario, names, 0,
		   "{name: address}: /etc/hosts for the programs in the hosts' namespaces"),
	CONF_LIST("nodes", struct scenario, nodes, node_table, struct sc_node, CONF_REQUIRED,
		  "nodes, started in order"),
	CONF_JSONV("steps", struct scenario, steps_raw, CONF_REQUIRED, "steps, run in order"),
	CONF_END
};

struct content_entry {
	long long size;
	char *text, *from;
};

static const struct conf_item content_table[] = {
	CONF_INT("size", struct content_entry, size, 0, SC_CONTENT_MAX, -1,
		 "pseudo-random bytes"),
	CONF_STR("text", struct content_entry, text, NULL, 0, "literal text"),
	CONF_STR("from", struct content_entry, from, NULL, 0, "a file to copy"),
	CONF_END
};

/* ---- names and paths -------------------------------------------------- */

static int name_ok(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static int node_name_ok(const char *s, char *why, size_t whylen)
{
	static const char *const reserved[] = { "pki", "run", "content", "bin", "ua", NULL };

	if (!name_ok(s) || strchr(s, '.'))
		return sc_fail(why, whylen, "must be 1 to 64 of A-Z a-z 0-9 _ -, got \"%s\"", s);
	for (int i = 0; reserved[i]; i++)
		if (strcasecmp(s, reserved[i]) == 0)
			return sc_fail(why, whylen, "\"%s\" is reserved", s);
	return 0;
}

static int bad_path(char *why, size_t whylen, const char *reason)
{
	snprintf(why, whylen, "%s", reason);
	return CDNI_EINVAL;
}

int sc_content_path_check(const char *path, char *why, size_t whylen)
{
	const char *seg = path;

	if (!*path || *path == '/')
		return bad_path(why, whylen, "must be a relative path");
	if (strlen(path) > 512)
		return bad_path(why, whylen, "longer than 512 bytes");
	for (const char *p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return bad_path(why, whylen, "holds a control byte or a backslash");
	while (seg) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && !strncmp(seg, "..", 2)))
			return bad_path(why, whylen, "has an empty, \".\" or \"..\" segment");
		seg = end ? end + 1 : NULL;
	}
	return 0;
}

/* ---- content ---------------------------------------------------------- */

static int load_content_entry(struct sc_content *c, const char *key, json_t *v, char *err,
			      size_t errlen)
{
	struct content_entry e;
	char path[600], why[200];

	memset(&e, 0, sizeof e);
	snprintf(path, sizeof path, "content.%s", key);
	if (sc_content_path_check(key, why, sizeof why))
		return sc_fail(err, errlen, "%s: %s", path, why);
	if (conf_load(content_table, &e, v, path, err, errlen))
		return CDNI_ECONFIG;
	if ((e.size >= 0) + (e.text != NULL) + (e.from != NULL) != 1) {
		conf_free(content_table, &e);
		return sc_fail(err, errlen, "%s: needs exactly one of \"size\", \"text\" and \"from\"",
			       path);
	}
	c->path = strdup(key);
	c->size = e.size;
	c->text = e.text;
	c->from = e.from;
	return c->path ? 0 : sc_fail(err, errlen, "%s: out of memory", path);
}

static int load_content(struct scenario *s, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	if (!s->content_raw)
		return 0;
	if (!json_is_object(s->content_raw))
		return sc_fail(err, errlen, "content: must be an object {path: {size|text}}");
	s->content = calloc(json_object_size(s->content_raw) + 1, sizeof *s->content);
	if (!s->content)
		return sc_fail(err, errlen, "content: out of memory");
	json_object_foreach(s->content_raw, key, v) {
		s->ncontent++; /* counted first: scenario_free frees a partial entry */
		if (load_content_entry(&s->content[s->ncontent - 1], key, v, err, errlen))
			return CDNI_ECONFIG;
	}
	return 0;
}

/* ---- steps ------------------------------------------------------------ */

static int step_kind(json_t *obj, const char *path, char *err, size_t errlen)
{
	int kind = -1;

	for (int k = 0; k < SC_STEP_NKINDS; k++) {
		if (!json_object_get(obj, sc_step_kinds[k].key))
			continue;
		if (kind >= 0)
			return sc_fail(err, errlen, "%s: has both \"%s\" and \"%s\"; a step does one thing",
				    path, sc_step_kinds[kind].key, sc_step_kinds[k].key);
		kind = k;
	}
	if (kind < 0)
		return sc_fail(err, errlen, "%s: says nothing to do: needs one of ua, wait_ms, kill, "
			       "start, restart, run, resolve, dane, keyless, play, curl", path);
	return kind;
}

static int default_step_name(struct sc_step *st)
{
	char name[300];

	if (st->name)
		return 0;
	switch (st->kind) {
	case SC_STEP_UA: snprintf(name, sizeof name, "fetch %s", st->ua.url); break;
	case SC_STEP_WAIT: snprintf(name, sizeof name, "wait %lld ms", st->wait_ms); break;
	case SC_STEP_KILL: snprintf(name, sizeof name, "kill %s", st->node); break;
	case SC_STEP_START: snprintf(name, sizeof name, "start %s", st->node); break;
	case SC_STEP_RESTART: snprintf(name, sizeof name, "restart %s", st->node); break;
	case SC_STEP_RUN: snprintf(name, sizeof name, "run %s", st->run.n ? st->run.v[0] : ""); break;
	case SC_STEP_RESOLVE:
		snprintf(name, sizeof name, "resolve %s %s", st->resolve.qname, st->resolve.type);
		break;
	case SC_STEP_DANE:
		snprintf(name, sizeof name, "DANE verify %s", st->dane.qname);
		break;
	case SC_STEP_KEYLESS: snprintf(name, sizeof name, "key server %s", st->keyless.op); break;
	case SC_STEP_PLAY: snprintf(name, sizeof name, "play %s", st->play.url); break;
	default: snprintf(name, sizeof name, "curl %zu transfers", st->curl.urls.n); break;
	}
	st->name = strdup(name);
	return st->name ? 0 : CDNI_ENOMEM;
}

static int check_hop(const struct sc_hop_expect *h, const char *path, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	if (h->headers && !json_is_object(h->headers))
		return sc_fail(err, errlen, "%s.headers: must be an object {name: value}", path);
	json_object_foreach(h->headers, k, v)
		if (!json_is_string(v) && !json_is_null(v))
			return sc_fail(err, errlen, "%s.headers.%s: must be a string, or null for absent",
				    path, k);
	if (h->tls && !json_is_object(h->tls) && !json_is_null(h->tls))
		return sc_fail(err, errlen, "%s.tls: must be an object, or null for plain HTTP", path);
	return 0;
}

static int check_log(struct sc_log_expect *l, const char *path, char *err, size_t errlen)
{
	if (l->match && !json_is_object(l->match))
		return sc_fail(err, errlen, "%s.match: must be an object {field: value}", path);
	if (l->count >= 0 && (l->min >= 0 || l->max >= 0))
		return sc_fail(err, errlen, "%s: \"count\" excludes \"min\" and \"max\"", path);
	if (l->min >= 0 && l->max >= 0 && l->min > l->max)
		return sc_fail(err, errlen, "%s: min %lld is above max %lld", path, l->min, l->max);
	if (l->count < 0 && l->min < 0 && l->max < 0)
		l->min = 1;
	return 0;
}

static int check_expect(struct sc_expect *e, const char *path, char *err, size_t errlen)
{
	char p[300];

	for (size_t i = 0; i < e->hops.n; i++) {
		snprintf(p, sizeof p, "%s.expect.hops[%zu]", path, i);
		if (check_hop((struct sc_hop_expect *)e->hops.v + i, p, err, errlen))
			return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < e->logs.n; i++) {
		snprintf(p, sizeof p, "%s.expect.logs[%zu]", path, i);
		if (check_log((struct sc_log_expect *)e->logs.v + i, p, err, errlen))
			return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < e->timings.n; i++) {
		static const char *const phases[] = { "dns", "connect", "tls", "first_byte", "ttfb",
						      "total", NULL };
		const char *ph = ((struct sc_timing_expect *)e->timings.v)[i].phase;
		int k = 0;

		while (phases[k] && strcmp(phases[k], ph))
			k++;
		if (!phases[k])
			return sc_fail(err, errlen, "%s.expect.timings[%zu].phase: one of dns, connect, "
				       "tls, first_byte, ttfb, total; got \"%s\"", path, i, ph);
	}
	return 0;
}

int sc_step_load(json_t *obj, struct sc_step *st, const char *path, char *err, size_t errlen)
{
	int kind;

	if (!json_is_object(obj))
		return sc_fail(err, errlen, "%s: must be an object", path);
	kind = step_kind(obj, path, err, errlen);
	if (kind < 0)
		return CDNI_ECONFIG;
	if (conf_load(sc_step_kinds[kind].table, st, obj, path, err, errlen))
		return CDNI_ECONFIG;
	st->kind = kind;
	st->raw = json_incref(obj);
	if (default_step_name(st) || check_expect(&st->expect, path, err, errlen)) {
		if (!*err)
			sc_fail(err, errlen, "%s: out of memory", path);
		sc_step_free(st);
		return CDNI_ECONFIG;
	}
	return 0;
}

void sc_step_free(struct sc_step *st)
{
	if (!st)
		return;
	conf_free(sc_step_kinds[st->kind].table, st);
	free(st->name);
	json_decref(st->raw);
	memset(st, 0, sizeof *st);
}

static int load_steps(struct scenario *s, char *err, size_t errlen)
{
	size_t i;
	json_t *v;
	char path[64];

	if (!json_is_array(s->steps_raw) || json_array_size(s->steps_raw) == 0)
		return sc_fail(err, errlen, "steps: must be a non-empty array of steps");
	s->steps = calloc(json_array_size(s->steps_raw), sizeof *s->steps);
	if (!s->steps)
		return sc_fail(err, errlen, "steps: out of memory");
	json_array_foreach(s->steps_raw, i, v) {
		snprintf(path, sizeof path, "steps[%zu]", i);
		err[0] = '\0';
		if (sc_step_load(v, &s->steps[i], path, err, errlen))
			return CDNI_ECONFIG;
		s->nsteps = i + 1;
	}
	return 0;
}

/* ---- nodes and placeholders ------------------------------------------- */

const struct sc_node *scenario_node(const struct scenario *s, const char *name, size_t *index)
{
	const struct sc_node *nodes = s->nodes.v;

	for (size_t i = 0; i < s->nodes.n; i++)
		if (strcmp(nodes[i].name, name) == 0) {
			if (index)
				*index = i;
			return &nodes[i];
		}
	return NULL;
}

const char *scenario_node_label(const struct sc_node *n)
{
	static const char *const known[][2] = {
		{ "cdni-ucdn", "uCDN" }, { "cdni-dcdn", "dCDN" }, { "cdni-origin", "origin" },
		{ "cdni-keyserver", "key server" }, { "cdni-dns", "DNS" },
	};
	const char *base = strrchr(n->program, '/');

	if (n->label)
		return n->label;
	base = base ? base + 1 : n->program;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(base, known[i][0]) == 0)
			return known[i][1];
	return n->name;
}

const struct sc_host *scenario_host(const struct scenario *s, const char *name, size_t *index)
{
	const struct sc_host *hosts = s->hosts.v;

	for (size_t i = 0; name && i < s->hosts.n; i++)
		if (strcmp(hosts[i].name, name) == 0) {
			if (index)
				*index = i;
			return &hosts[i];
		}
	return NULL;
}

static int host_ref(const struct scenario *s, const char *name, const char *path, char *err,
		    size_t errlen)
{
	if (!name)
		return 0;
	if (s->hosts.n == 0)
		return sc_fail(err, errlen, "%s: \"%s\": the scenario has no hosts", path, name);
	if (!scenario_host(s, name, NULL))
		return sc_fail(err, errlen, "%s: no host \"%s\"", path, name);
	return 0;
}

static int load_hosts(struct scenario *s, char *err, size_t errlen)
{
	const struct sc_host *h = s->hosts.v;
	struct in_addr a;
	char why[200];
	size_t j;

	for (size_t i = 0; i < s->hosts.n; i++) {
		if (node_name_ok(h[i].name, why, sizeof why))
			return sc_fail(err, errlen, "hosts[%zu].name: %s", i, why);
		if (scenario_host(s, h[i].name, &j) && j != i)
			return sc_fail(err, errlen, "hosts[%zu].name: \"%s\" is already hosts[%zu]", i,
				       h[i].name, j);
		if (scenario_node(s, h[i].name, &j))
			return sc_fail(err, errlen, "hosts[%zu].name: \"%s\" is also nodes[%zu] "
				       "(placeholders {{NAME.addr}} must be unambiguous)", i, h[i].name, j);
		if (h[i].address && (inet_pton(AF_INET, h[i].address, &a) != 1 ||
				     (ntohl(a.s_addr) >> 24) == 127 || a.s_addr == 0))
			return sc_fail(err, errlen, "hosts[%zu].address: an IPv4 address outside "
				       "127/8, got \"%s\"", i, h[i].address);
	}
	return 0;
}

static int link_number(json_t *v, double lo, double hi, double def, double *out)
{
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
		return -1;
	*out = json_number_value(v);
	return 0;
}

static int load_links(struct scenario *s, char *err, size_t errlen)
{
	struct sc_link *l = s->links.v;
	char p[64];

	if (s->links.n && s->hosts.n < 2)
		return sc_fail(err, errlen, "links: need at least two hosts");
	for (size_t i = 0; i < s->links.n; i++) {
		snprintf(p, sizeof p, "links[%zu].a", i);
		if (host_ref(s, l[i].a, p, err, errlen))
			return CDNI_ECONFIG;
		p[strlen(p) - 1] = 'b';
		if (host_ref(s, l[i].b, p, err, errlen))
			return CDNI_ECONFIG;
		if (strcmp(l[i].a, l[i].b) == 0)
			return sc_fail(err, errlen, "links[%zu]: a link joins two different hosts", i);
		for (size_t j = 0; j < i; j++)
			if ((!strcmp(l[j].a, l[i].a) && !strcmp(l[j].b, l[i].b)) ||
			    (!strcmp(l[j].a, l[i].b) && !strcmp(l[j].b, l[i].a)))
				return sc_fail(err, errlen, "links[%zu]: links[%zu] joins the same hosts", i, j);
		if (link_number(l[i].delay_raw, 0, 60000, 0, &l[i].delay_ms))
			return sc_fail(err, errlen, "links[%zu].delay_ms: a number of ms in 0..60000", i);
		if (link_number(l[i].loss_raw, 0, 100, 0, &l[i].loss_pct))
			return sc_fail(err, errlen, "links[%zu].loss: a percentage in 0..100", i);
	}
	return 0;
}

static int check_rtt_refs(const struct scenario *s, const struct sc_expect *e, size_t i,
			  char *err, size_t errlen)
{
	char p[96];

	for (size_t t = 0; t < e->timings.n; t++) {
		const struct sc_timing_expect *te = (const struct sc_timing_expect *)e->timings.v + t;

		for (size_t k = 0; k < te->rtts.n; k++) {
			const struct sc_rtt *rt = (const struct sc_rtt *)te->rtts.v + k;

			snprintf(p, sizeof p, "steps[%zu].expect.timings[%zu].rtts[%zu].a", i, t, k);
			if (host_ref(s, rt->a, p, err, errlen))
				return CDNI_ECONFIG;
			p[strlen(p) - 1] = 'b';
			if (host_ref(s, rt->b, p, err, errlen))
				return CDNI_ECONFIG;
		}
	}
	return 0;
}

/* Hosts named by nodes and steps exist. */
static int check_host_refs(const struct scenario *s, char *err, size_t errlen)
{
	const struct sc_node *nodes = s->nodes.v;
	char p[64];

	if (host_ref(s, s->ua_host, "ua_host", err, errlen))
		return CDNI_ECONFIG;
	for (size_t i = 0; i < s->nodes.n; i++) {
		snprintf(p, sizeof p, "nodes[%zu].host", i);
		if (host_ref(s, nodes[i].host, p, err, errlen))
			return CDNI_ECONFIG;
	}
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct sc_step *st = &s->steps[i];

		snprintf(p, sizeof p, "steps[%zu].%s", i, st->kind == SC_STEP_UA ? "ua.host" : "host");
		if (host_ref(s, st->kind == SC_STEP_UA ? st->ua.host : st->host, p, err, errlen))
			return CDNI_ECONFIG;
		snprintf(p, sizeof p, "steps[%zu].%s", i, sc_step_kinds[st->kind].key);
		if (st->node && !scenario_node(s, st->node, NULL))
			return sc_fail(err, errlen, "%s: no node \"%s\"", p, st->node);
		if (check_rtt_refs(s, &st->expect, i, err, errlen))
			return CDNI_ECONFIG;
	}
	return 0;
}

static int load_nodes(struct scenario *s, char *err, size_t errlen)
{
	const struct sc_node *nodes = s->nodes.v;
	char why[200];
	size_t j;

	if (s->nodes.n == 0)
		return sc_fail(err, errlen, "nodes: must hold at least one node");
	for (size_t i = 0; i < s->nodes.n; i++) {
		if (node_name_ok(nodes[i].name, why, sizeof why))
			return sc_fail(err, errlen, "nodes[%zu].name: %s", i, why);
		if (scenario_node(s, nodes[i].name, &j) && j != i)
			return sc_fail(err, errlen, "nodes[%zu].name: \"%s\" is already nodes[%zu]", i,
				    nodes[i].name, j);
		if (!json_is_object(nodes[i].config))
			return sc_fail(err, errlen, "nodes[%zu].config: must be an object", i);
		if (!*nodes[i].program)
			return sc_fail(err, errlen, "nodes[%zu].program: must not be empty", i);
	}
	return 0;
}

/* Static placeholder check: a node may name nodes before it; steps any. */
struct static_ctx {
	const struct scenario *s;
	size_t limit;
};

static const char *listener_name(json_t *l)
{
	json_t *nm = json_object_get(l, "name");

	if (json_is_string(nm))
		return json_string_value(nm);
	return json_is_true(json_object_get(l, "tls")) ? "https" : "http";
}

/* 1 when the node's config declares listener lis, or declares none we can
 * read (the run will tell); 0 with the declared names in names otherwise. */
static int listener_declared(const struct sc_node *n, const char *lis, char *names, size_t len)
{
	json_t *listen = json_object_get(n->config, "listen"), *l;
	size_t count = json_is_array(listen) ? json_array_size(listen) : json_is_object(listen);
	size_t used = 0;

	names[0] = '\0';
	if (count == 0 || (json_is_object(listen) && !json_object_get(listen, "name")))
		return 1; /* a single unnamed listener: the program names it (cdni-keyserver: keyless) */
	for (size_t i = 0; i < count; i++) {
		l = json_is_array(listen) ? json_array_get(listen, i) : listen;
		if (strcmp(listener_name(l), lis) == 0)
			return 1;
		if (used < len)
			used += (size_t)snprintf(names + used, len - used, "%s%s", used ? ", " : "",
						 listener_name(l));
	}
	return 0;
}

static int static_listener(void *ctx, const char *node, const char *lis, char *out,
			   size_t outlen, char *why, size_t whylen)
{
	const struct static_ctx *c = ctx;
	const struct sc_node *n;
	char names[200];
	size_t idx;

	n = scenario_node(c->s, node, &idx);
	if (!n)
		return sc_fail(why, whylen, "no node \"%s\"", node);
	if (idx >= c->limit)
		return sc_fail(why, whylen, "node \"%s\" starts %s (nodes start in order)", node,
			    idx == c->limit ? "with this config" : "later");
	if (!listener_declared(n, lis, names, sizeof names))
		return sc_fail(why, whylen, "node \"%s\" has no listener \"%s\" (it has: %s)", node, lis,
			    names);
	snprintf(out, outlen, "127.0.0.1:1");
	return 0;
}

static int static_host(void *ctx, const char *name, char *out, size_t outlen)
{
	const struct static_ctx *c = ctx;

	if (!scenario_host(c->s, name, NULL))
		return CDNI_ENOTFOUND;
	snprintf(out, outlen, "127.0.0.1");
	return 0;
}

static int static_rtt(void *ctx, const char *a, const char *b, char *out, size_t outlen)
{
	const struct static_ctx *c = ctx;

	if (!scenario_host(c->s, a, NULL) || !scenario_host(c->s, b, NULL))
		return CDNI_ENOTFOUND;
	snprintf(out, outlen, "1");
	return 0;
}

static int check_placeholders(const struct scenario *s, char *err, size_t errlen)
{
	struct static_ctx c = { s, 0 };
	struct subst_env env = { "PKI", "RUN", "CONTENT", "BIN", static_listener, &c, static_host,
				 static_rtt };
	const struct sc_node *nodes = s->nodes.v;
	json_t *out = NULL;
	char path[64];

	for (size_t i = 0; i < s->nodes.n; i++) {
		c.limit = i;
		snprintf(path, sizeof path, "nodes[%zu].config", i);
		if (subst_json(&env, nodes[i].config, path, &out, err, errlen))
			return CDNI_ECONFIG;
		json_decref(out);
		for (size_t k = 0; k < nodes[i].args.n; k++) {
			char *v = NULL, msg[400];

			if (subst_string(&env, nodes[i].args.v[k], &v, msg, sizeof msg))
				return sc_fail(err, errlen, "nodes[%zu].args[%zu]: %s", i, k, msg);
			free(v);
		}
	}
	c.limit = 0; /* content is made before any node starts */
	if (s->names && !json_is_object(s->names))
		return sc_fail(err, errlen, "names: must be an object {name: address}");
	{
		const char *k;
		json_t *v;

		json_object_foreach(s->names, k, v) {
			char *val = NULL, msg[400];

			if (!json_is_string(v))
				return sc_fail(err, errlen, "names.%s: must be a string", k);
			if (subst_string(&env, json_string_value(v), &val, msg, sizeof msg))
				return sc_fail(err, errlen, "names.%s: %s", k, msg);
			free(val);
		}
	}
	for (size_t i = 0; i < s->ncontent; i++) {
		char *v = NULL, msg[400];

		const char *in = s->content[i].text ? s->content[i].text : s->content[i].from;

		if (in && subst_string(&env, in, &v, msg, sizeof msg))
			return sc_fail(err, errlen, "content.%s: %s", s->content[i].path, msg);
		free(v);
	}
	c.limit = s->nodes.n;
	if (subst_json(&env, s->steps_raw, "steps", &out, err, errlen))
		return CDNI_ECONFIG;
	json_decref(out);
	return 0;
}

static int check_log_nodes(const struct scenario *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->nsteps; i++) {
		const struct sc_expect *e = &s->steps[i].expect;

		for (size_t j = 0; j < e->log_lines.n; j++) {
			const char *node = ((struct sc_line_expect *)e->log_lines.v)[j].node;

			if (!scenario_node(s, node, NULL))
				return sc_fail(err, errlen, "steps[%zu].expect.log_lines[%zu].node: no node \"%s\"",
					       i, j, node);
		}

		for (size_t j = 0; j < e->logs.n; j++) {
			const char *node = ((struct sc_log_expect *)e->logs.v)[j].node;

			if (!scenario_node(s, node, NULL))
				return sc_fail(err, errlen, "steps[%zu].expect.logs[%zu].node: no node \"%s\"",
					    i, j, node);
		}
	}
	return 0;
}

/* ---- the whole file --------------------------------------------------- */

static int validate(struct scenario *s, char *err, size_t errlen)
{
	if (!name_ok(s->name))
		return sc_fail(err, errlen, "name: must be 1 to 64 of A-Z a-z 0-9 _ - . "
			    "(it names the run directory), got \"%s\"", s->name);
	if (load_content(s, err, errlen) || load_nodes(s, err, errlen) ||
	    load_hosts(s, err, errlen) || load_links(s, err, errlen) ||
	    load_steps(s, err, errlen) || check_log_nodes(s, err, errlen) ||
	    check_host_refs(s, err, errlen) || check_placeholders(s, err, errlen))
		return CDNI_ECONFIG;
	return 0;
}

static int load_root(json_t *root, const char *name, struct scenario **out, char *err,
		     size_t errlen)
{
	struct scenario *s = calloc(1, sizeof *s);
	char inner[600] = "";

	if (!s || !(s->file = strdup(name))) {
		free(s);
		return sc_fail(err, errlen, "%s: out of memory", name);
	}
	if (conf_load(top_table, s, root, "", inner, sizeof inner) ||
	    validate(s, inner, sizeof inner)) {
		sc_fail(err, errlen, "%s: %s", name, inner);
		scenario_free(s);
		return CDNI_ECONFIG;
	}
	*out = s;
	return 0;
}

int scenario_load_string(const char *text, const char *name, struct scenario **out, char *err,
			 size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	int rc;

	if (!root)
		return sc_fail(err, errlen, "%s:%d:%d: %s", name, je.line, je.column, je.text);
	rc = load_root(root, name, out, err, errlen);
	json_decref(root);
	return rc;
}

int scenario_load_file(const char *file, struct scenario **out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	int rc;

	if (!root) {
		if (je.line < 0)
			return sc_fail(err, errlen, "%s: %s", file, je.text);
		return sc_fail(err, errlen, "%s:%d:%d: %s", file, je.line, je.column, je.text);
	}
	rc = load_root(root, file, out, err, errlen);
	json_decref(root);
	return rc;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncontent; i++) {
		free(s->content[i].path);
		free(s->content[i].text);
		free(s->content[i].from);
	}
	free(s->content);
	for (size_t i = 0; i < s->nsteps; i++)
		sc_step_free(&s->steps[i]);
	free(s->steps);
	conf_free(top_table, s);
	free(s->file);
	free(s);
}
