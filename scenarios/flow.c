#include "scenarios/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/redact.h"
#include "common/http.h"

#define MAX_DEPTH 8
#define SLACK_MS 3 /* access-log timestamps have millisecond resolution */

/* ---- access logs ------------------------------------------------------ */

json_t *alog_read(const char *path, long long from, long long *end)
{
	json_t *arr = json_array(), *o;
	FILE *f = fopen(path, "rbe");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long long pos = from;

	if (f && fseeko(f, (off_t)from, SEEK_SET) == 0) {
		while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
			pos += n;
			o = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
			if (json_is_object(o))
				json_array_append(arr, o);
			json_decref(o);
		}
	}
	if (f)
		fclose(f);
	free(line);
	if (end)
		*end = pos;
	return arr;
}

long long alog_ts_ms(const char *ts)
{
	struct tm tm;
	int ms = 0, used = 0;

	memset(&tm, 0, sizeof tm);
	if (!ts || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
			  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 ||
	    ts[used] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000 + ms;
}

/* ---- URLs and nodes --------------------------------------------------- */

static int split_authority(const char *a, size_t len, struct url_parts *u)
{
	const char *colon = NULL, *hend = a + len;

	if (len && a[0] == '[') {
		const char *rb = memchr(a, ']', len);

		if (!rb)
			return -1;
		colon = (rb + 1 < a + len && rb[1] == ':') ? rb + 1 : NULL;
	} else {
		colon = memchr(a, ':', len);
	}
	if (colon) {
		hend = colon;
		u->port = atoi(colon + 1);
	}
	if (hend == a || (size_t)(hend - a) >= sizeof u->host || u->port <= 0 || u->port > 65535)
		return -1;
	snprintf(u->host, sizeof u->host, "%.*s", (int)(hend - a), a);
	return 0;
}

int url_split(const char *url, struct url_parts *u)
{
	const char *a, *p;

	memset(u, 0, sizeof *u);
	if (!url)
		return -1;
	if (strncmp(url, "https://", 8) == 0)
		u->port = 443;
	else if (strncmp(url, "http://", 7) == 0)
		u->port = 80;
	else
		return -1;
	snprintf(u->scheme, sizeof u->scheme, "%s", u->port == 443 ? "https" : "http");
	a = strstr(url, "//") + 2;
	p = a + strcspn(a, "/?#");
	if (split_authority(a, (size_t)(p - a), u))
		return -1;
	snprintf(u->path, sizeof u->path, "%s%.*s", *p == '/' ? "" : "/", (int)strcspn(p, "#"),
		 p);
	return 0;
}

static int port_of(const char *bound)
{
	const char *c = bound ? strrchr(bound, ':') : NULL;

	return c ? atoi(c + 1) : -1;
}

int flow_node_for(const struct flow_node *nodes, size_t n, const char *url,
		    const char *address)
{
	struct url_parts u;
	int port = port_of(address);

	for (size_t i = 0; address && i < n; i++)
		for (size_t j = 0; j < nodes[i].nls; j++)
			if (strcmp(nodes[i].ls[j].bound, address) == 0)
				return (int)i;
	if (port <= 0 && url_split(url, &u) == 0)
		port = u.port;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nodes[i].nls; j++)
			if (port_of(nodes[i].ls[j].bound) == port)
				return (int)i;
	return -1;
}

/* ---- the builder ------------------------------------------------------ */

struct flow {
	const struct flow_node *nodes;
	size_t n;
	char **claimed; /* per node, per entry */
	json_t *lifelines, *messages;
};

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void lifeline(struct flow *f, const char *id, const char *label)
{
	size_t i;
	json_t *l;

	json_array_foreach(f->lifelines, i, l)
		if (strcmp(str(l, "id"), id) == 0)
			return;
	json_array_append_new(f->lifelines, json_pack("{s:s, s:s}", "id", id, "label", label));
}

static const char *node_id(struct flow *f, int node, const char *url, char *buf, size_t len)
{
	struct url_parts u;

	if (node >= 0) {
		lifeline(f, f->nodes[node].id, f->nodes[node].label);
		return f->nodes[node].id;
	}
	if (url_split(url, &u) == 0)
		snprintf(buf, len, "%s:%d", u.host, u.port);
	else
		snprintf(buf, len, "?");
	lifeline(f, buf, buf);
	return buf;
}

void flow_size_str(long long bytes, char *out, size_t len)
{
	if (bytes < 0)
		out[0] = '\0';
	else if (bytes < 10240)
		snprintf(out, len, "%lld B", bytes);
	else if (bytes < 1LL << 20)
		snprintf(out, len, "%.1f KiB", (double)bytes / 1024);
	else
		snprintf(out, len, "%.1f MiB", (double)bytes / (1 << 20));
}

static void message(struct flow *f, const char *from, const char *to, const char *kind,
		    const char *label, const char *note, json_t *extra)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "from", from, "to", to, "kind", kind,
			      "label", label, "note", note ? note : "");

	if (m && extra)
		json_object_update(m, extra);
	json_decref(extra);
	json_array_append_new(f->messages, m);
}

/* First unclaimed entry of node that matches method and uri (as the node
 * logged it: token signatures cut, redact.h); claims it. */
static json_t *claim(struct flow *f, int node, const char *method, const char *uri_sent)
{
	json_t *entries = node >= 0 ? f->nodes[node].entries : NULL, *e;
	char logged[4096];
	const char *uri = uri_sent;
	size_t i;

	if (uri && redact_tokens(uri, logged, sizeof logged, NULL) < sizeof logged)
		uri = logged;
	json_array_foreach(entries, i, e) {
		if (f->claimed[node][i] || (uri && (!str(e, "uri") || strcmp(str(e, "uri"), uri))))
			continue;
		if (method && str(e, "method") && strcmp(str(e, "method"), method))
			continue;
		f->claimed[node][i] = 1;
		return e;
	}
	return NULL;
}

static void response_note(json_t *e, const char *cache, char *out, size_t len)
{
	char size[32];

	flow_size_str(e ? json_integer_value(json_object_get(e, "bytes")) : -1, size, sizeof size);
	if (!json_object_get(e, "bytes"))
		size[0] = '\0';
	snprintf(out, len, "%s%s%s", size, *size && cache ? " · " : "", cache ? cache : "");
}

static void fetches_of(struct flow *f, int node, json_t *entry, int depth);

/* M's entry names an upstream URL: the request to it, its fetches, the answer. */
static void upstream_fetch(struct flow *f, int m, json_t *entry, int depth)
{
	const char *up = str(entry, "upstream");
	struct url_parts u;
	char ext[300], label[2100], note[200];
	int nn = flow_node_for(f->nodes, f->n, up, NULL);
	json_t *ue;
	const char *to;
	long long status;

	if (url_split(up, &u))
		return;
	to = node_id(f, nn, up, ext, sizeof ext);
	ue = claim(f, nn, str(entry, "method"), u.path);
	snprintf(label, sizeof label, "%s %s", str(entry, "method") ? str(entry, "method") : "GET",
		 u.path);
	snprintf(note, sizeof note, "%s:%d", u.host, u.port);
	message(f, f->nodes[m].id, to, "request", label, note,
		json_pack("{s:b}", "upstream", 1));
	if (ue)
		fetches_of(f, nn, ue, depth + 1);
	status = ue ? json_integer_value(json_object_get(ue, "status")) : 0;
	snprintf(label, sizeof label, ue ? "%lld %s" : "(not in its log)", status,
		 http_reason((int)status));
	response_note(ue, ue ? str(ue, "cache") : NULL, note, sizeof note);
	message(f, to, f->nodes[m].id, "response", label, note,
		json_pack("{s:I, s:b, s:f}", "status", status, "upstream", 1, "ms",
			  ue ? (double)json_integer_value(json_object_get(ue, "dur_us")) / 1000
			     : 0.0));
}

static int config_names(const struct flow_node *m, const struct flow_node *n)
{
	char *text = json_dumps(m->config, JSON_COMPACT);
	int found = 0;

	for (size_t j = 0; text && j < n->nls && !found; j++)
		found = strstr(text, n->ls[j].bound) != NULL;
	free(text);
	return found;
}

static void interval(json_t *e, long long *start, long long *end)
{
	*end = alog_ts_ms(str(e, "ts"));
	*start = *end - json_integer_value(json_object_get(e, "dur_us")) / 1000;
}

/* Node nn's entry c lies within m's entry: draw it as m's fetch. */
static void timed_fetch(struct flow *f, int m, size_t nn, json_t *c, int depth)
{
	char url[2300];
	json_t *up;

	snprintf(url, sizeof url, "http://%s%s", f->nodes[nn].ls[0].bound,
		 str(c, "uri") ? str(c, "uri") : "/");
	up = json_pack("{s:s, s:s}", "upstream", url, "method",
		       str(c, "method") ? str(c, "method") : "GET");
	if (up)
		upstream_fetch(f, m, up, depth);
	json_decref(up);
}

/* Fetches without an "upstream" field: entries within entry's time span at
 * nodes that node's config names. A fetch starts before its request ends
 * (1 ms for rounding): a quick answer (a 302 in microseconds) does not claim
 * a fetch another node started just after it. */
static void timed_fetches(struct flow *f, int m, json_t *entry, int depth)
{
	long long ms, me, s, e;
	json_t *c;
	size_t i;

	interval(entry, &ms, &me);
	if (me < 0)
		return;
	for (size_t nn = 0; nn < f->n; nn++) {
		if ((int)nn == m || !f->nodes[nn].nls || !config_names(&f->nodes[m], &f->nodes[nn]))
			continue;
		json_array_foreach(f->nodes[nn].entries, i, c) {
			interval(c, &s, &e);
			if (!f->claimed[nn][i] && e >= 0 && s >= ms - SLACK_MS && s <= me + 1 &&
			    e <= me + SLACK_MS)
				timed_fetch(f, m, nn, c, depth);
		}
	}
}

static void fetches_of(struct flow *f, int node, json_t *entry, int depth)
{
	if (depth >= MAX_DEPTH)
		return;
	if (str(entry, "upstream") && *str(entry, "upstream"))
		upstream_fetch(f, node, entry, depth);
	else
		timed_fetches(f, node, entry, depth);
}

/* ---- UA hops ---------------------------------------------------------- */

static const char *hop_cache(json_t *hop, json_t *entry)
{
	const char *k;
	json_t *v;

	if (str(entry, "cache"))
		return str(entry, "cache");
	json_object_foreach(json_object_get(hop, "headers"), k, v)
		if (strcmp(k, "x-cache") == 0)
			return json_string_value(v);
	return NULL;
}

static void hop_response(struct flow *f, json_t *hop, const char *id, const char *cache)
{
	long long status = json_integer_value(json_object_get(hop, "status"));
	json_t *body = json_object_get(hop, "body");
	char label[300], note[2100], size[32];
	double ms = json_number_value(json_object_get(json_object_get(hop, "timing_ms"), "total"));

	if (status > 0)
		snprintf(label, sizeof label, "%lld %s", status, http_reason((int)status));
	else
		snprintf(label, sizeof label, "no response");
	flow_size_str(json_is_object(body) ? json_integer_value(json_object_get(body, "size")) : -1,
		 size, sizeof size);
	if (str(hop, "location"))
		snprintf(note, sizeof note, "→ %s", str(hop, "location"));
	else
		snprintf(note, sizeof note, "%s%s%s", size, *size && cache ? " · " : "",
			 cache ? cache : "");
	message(f, id, "UA", "response", label, note,
		json_pack("{s:I, s:O, s:f}", "status", status, "hop", json_object_get(hop, "n"),
			  "ms", ms));
}

static json_t *hop_summary(json_t *hop, const char *id, const char *cache)
{
	json_t *tls = json_object_get(hop, "tls"), *body = json_object_get(hop, "body");

	return json_pack("{s:O, s:s, s:s?, s:s?, s:O, s:s?, s:I, s:s?, s:O?}", "n",
			 json_object_get(hop, "n"), "node", id, "method", str(hop, "method"), "url",
			 str(hop, "url"), "status", json_object_get(hop, "status"), "cache", cache,
			 "bytes", json_integer_value(json_object_get(body, "size")), "tls",
			 str(tls, "version"), "timing_ms", json_object_get(hop, "timing_ms"));
}

/* The DNS node's entries for the names the UA resolved (the chain, its
 * zones' DNSKEYs, the TLSA names): claimed, counted. */
static int dns_claim(struct flow *f, int node)
{
	json_t *e;
	size_t i;
	int n = 0;

	json_array_foreach(f->nodes[node].entries, i, e)
		if (!f->claimed[node][i] && str(e, "method") && !strncmp(str(e, "method"), "DNS", 3)) {
			f->claimed[node][i] = 1;
			n++;
		}
	return n;
}

static void chain_str(json_t *a, const char *sep, char *out, size_t len)
{
	size_t i, w = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(a, i, v)
		w += (size_t)snprintf(out + w, w < len ? len - w : 0, "%s%s", i ? sep : "",
				      json_string_value(v));
}

/* The hop's name resolution (cdni-ua --resolver): A/AAAA with the CNAME
 * chain, then TLSA with DANE: drawn as messages to the DNS node. */
static void hop_dns(struct flow *f, json_t *hop)
{
	json_t *dns = json_object_get(hop, "dns"), *tlsa = json_object_get(dns, "tlsa");
	char resolver[128], label[600], note[600], ext[300], chain[400], addrs[300];
	int node, queries;
	const char *id;

	if (!str(dns, "resolver"))
		return;
	snprintf(resolver, sizeof resolver, "dns://%s/", str(dns, "resolver"));
	node = flow_node_for(f->nodes, f->n, NULL, str(dns, "resolver"));
	id = node_id(f, node, resolver, ext, sizeof ext);
	queries = node >= 0 ? dns_claim(f, node) : 0;
	snprintf(label, sizeof label, "A? %s", str(dns, "query") ? str(dns, "query") : "?");
	snprintf(note, sizeof note, "%d queries in all", queries);
	message(f, "UA", id, "request", label, note, json_pack("{s:O}", "hop", json_object_get(hop, "n")));
	chain_str(json_object_get(dns, "chain"), " → CNAME ", chain, sizeof chain);
	chain_str(json_object_get(dns, "addresses"), ", ", addrs, sizeof addrs);
	snprintf(label, sizeof label, "%s → %s", chain, addrs);
	snprintf(note, sizeof note, "DNSSEC: %s", str(dns, "validated") ? str(dns, "validated") : "not validated");
	message(f, id, "UA", "response", label, note, NULL);
	if (!json_is_object(tlsa))
		return;
	chain_str(json_object_get(tlsa, "asked"), ", ", chain, sizeof chain);
	snprintf(label, sizeof label, "TLSA? %s", chain);
	message(f, "UA", id, "request", label, "", NULL);
	snprintf(label, sizeof label, "TLSA: %zu records", json_array_size(json_object_get(tlsa, "records")));
	snprintf(note, sizeof note, "DNSSEC: %s%s%s", str(tlsa, "validated") ? str(tlsa, "validated") : "?",
		 str(tlsa, "matched") ? " · DANE matched " : "", str(tlsa, "matched") ? str(tlsa, "matched") : "");
	message(f, id, "UA", "response", label, note, NULL);
}

static void hop_flow(struct flow *f, json_t *hop, json_t *hops_out)
{
	const char *url = str(hop, "url"), *method = str(hop, "method") ? str(hop, "method") : "GET";
	int node = flow_node_for(f->nodes, f->n, url, str(hop, "address"));
	char ext[300], label[2100];
	struct url_parts u;
	const char *id, *cache;
	json_t *entry = NULL;

	if (url_split(url, &u))
		snprintf(u.path, sizeof u.path, "%s", url ? url : "?");
	hop_dns(f, hop);
	id = node_id(f, node, url, ext, sizeof ext);
	snprintf(label, sizeof label, "%s %s", method, u.path);
	message(f, "UA", id, "request", label, u.host,
		json_pack("{s:O}", "hop", json_object_get(hop, "n")));
	if (json_integer_value(json_object_get(hop, "status")) > 0)
		entry = claim(f, node, method, u.path);
	if (entry)
		fetches_of(f, node, entry, 0);
	cache = hop_cache(hop, entry);
	hop_response(f, hop, id, cache);
	json_array_append_new(hops_out, hop_summary(hop, id, cache));
}

static json_t *unattributed(struct flow *f)
{
	json_t *out = json_array(), *e;
	size_t i;

	for (size_t n = 0; n < f->n; n++)
		json_array_foreach(f->nodes[n].entries, i, e)
			if (!f->claimed[n][i])
				json_array_append_new(
					out, json_pack("{s:s, s:s?, s:s?, s:O?, s:s?}", "node",
						       f->nodes[n].id, "method", str(e, "method"), "uri",
						       str(e, "uri"), "status",
						       json_object_get(e, "status"), "peer",
						       str(e, "peer")));
	return out;
}

json_t *flow_build(json_t *trace, const struct flow_node *nodes, size_t n)
{
	struct flow f = { nodes, n, calloc(n + 1, sizeof(char *)), json_array(), json_array() };
	json_t *hops = json_array(), *hop, *out = NULL;
	size_t i;

	if (!f.claimed || !f.lifelines || !f.messages || !hops)
		goto out;
	for (i = 0; i < n; i++)
		if (!(f.claimed[i] = calloc(json_array_size(nodes[i].entries) + 1, 1)))
			goto out;
	lifeline(&f, "UA", "UA");
	json_array_foreach(json_object_get(trace, "hops"), i, hop)
		hop_flow(&f, hop, hops);
	for (i = n; i-- > 0;)
		lifeline(&f, nodes[i].id, nodes[i].label);
	out = json_pack("{s:O, s:O, s:O, s:o}", "lifelines", f.lifelines, "messages", f.messages,
			"hops", hops, "unattributed", unattributed(&f));
out:
	for (i = 0; f.claimed && i < n; i++)
		free(f.claimed[i]);
	free(f.claimed);
	json_decref(f.lifelines);
	json_decref(f.messages);
	json_decref(hops);
	return out;
}
