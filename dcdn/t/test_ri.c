/* ri.h: the redirection interface's core without sockets: config checks,
 * own answers (HTTP and DNS), loops, max-hops, footprint, availability,
 * and delegation through a fake downstream (what is sent down, what comes
 * back, failures). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "dcdn/ri.h"
#include "redirect/rri.h"

#define CT RRI_MEDIA_REQUEST

static char err[512];

static int load(const char *json, struct dcdn_ri_conf *c)
{
	memset(c, 0, sizeof *c);
	err[0] = '\0';
	if (conf_load_string(dcdn_ri_table, c, json, "t.json", err, sizeof err))
		return CDNI_ECONFIG;
	return dcdn_ri_conf_check(c, err, sizeof err);
}

/* the fake downstream */
static struct rri_request seen;
static int fake_rc;
static const char *fake_body;
static int fake_status;
static int calls;

static int fake_ask(void *cls, const struct rri_request *rq, struct rri_reply *out, char *e,
		    size_t elen)
{
	struct buf b;

	(void)cls;
	calls++;
	rri_request_clear(&seen);
	buf_init(&b, 0);
	rri_request_encode(rq, &b, e, elen);
	rri_request_decode(b.data, b.len, &seen, e, elen);
	buf_free(&b);
	if (fake_rc) {
		snprintf(e, elen, "deadline passed");
		return fake_rc;
	}
	out->status = fake_status;
	out->max_age = 10;
	return rri_response_decode(fake_body, strlen(fake_body), &out->rs, e, elen);
}

static struct dcdn_ri_answer a;

static int handle(struct dcdn_ri *r, const char *body)
{
	dcdn_ri_answer_clear(&a);
	dcdn_ri_handle(r, CT, body, strlen(body), &a);
	return a.status;
}

static const char *HTTP_IN =
	"{\"http\":{\"c-ip\":\"198.51.100.1\",\"cs-uri\":\"http://www.example.com/a/b?c=d\","
	"\"cs-version\":\"HTTP/1.1\",\"cs-method\":\"GET\"},\"cdn-path\":[\"AS64496:0\"],\"max-hops\":3}";
static const char *HTTP_OUT =
	"{\"http\":{\"c-ip\":\"203.0.113.1\",\"cs-uri\":\"http://www.example.com/a\","
	"\"cs-version\":\"HTTP/1.1\",\"cs-method\":\"GET\"},\"cdn-path\":[\"AS64496:0\"],\"max-hops\":3}";
static const char *DNS_OUT =
	"{\"dns\":{\"resolver-ip\":\"203.0.113.53\",\"qtype\":\"A\",\"qclass\":\"IN\","
	"\"qname\":\"www.example.com\"},\"cdn-path\":[\"AS64496:0\"]}";

static const char *CONF =
	"{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"cdn_id\":\"AS64500:1\","
	"\"edge_base\":\"https://edge.test\",\"dns_a\":[\"192.0.2.80\"],"
	"\"capabilities\":{\"capabilities\":[{\"capability-type\":\"FCI.DeliveryProtocol\","
	"\"capability-value\":{\"delivery-protocols\":[\"http/1.1\",\"https/1.1\"]},\"footprints\":"
	"[{\"footprint-type\":\"ipv4cidr\",\"footprint-value\":[\"198.51.100.0/24\"]}]},"
	"{\"capability-type\":\"FCI.RedirectionMode\",\"capability-value\":{\"redirection-modes\":"
	"[\"DNS-R\",\"HTTP-R\"]}}]},\"downstream\":{\"url\":\"http://127.0.0.1:1/cdni/rri\"}}";

static void test_config(void)
{
	struct dcdn_ri_conf c;

	is_int(load("{}", &c), 0, "no listen: off, nothing checked");
	ok(!dcdn_ri_enabled(&c), "not enabled");
	conf_free(dcdn_ri_table, &c);
	is_int(load("{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"edge_base\":\"http://e\"}", &c),
	       CDNI_ECONFIG, "cdn_id needed");
	conf_free(dcdn_ri_table, &c);
	is_int(load("{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"cdn_id\":\"AS1:0\","
		    "\"edge_base\":\"http://e/?q\"}", &c), CDNI_ECONFIG, "edge_base with a query");
	is_str(err, "rri.edge_base: 'http://e/?q' is not an http(s) base URL (no query or fragment)",
	       "message");
	conf_free(dcdn_ri_table, &c);
	is_int(load("{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"cdn_id\":\"AS1:0\","
		    "\"dns_cname\":[\"a.test\"],\"dns_a\":[\"192.0.2.1\"]}", &c), CDNI_ECONFIG,
	       "cname with a");
	conf_free(dcdn_ri_table, &c);
	is_int(load("{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"cdn_id\":\"AS1:0\","
		    "\"dns_a\":[\"2001:db8::1\"]}", &c), CDNI_ECONFIG, "IPv6 in dns_a");
	conf_free(dcdn_ri_table, &c);
	is_int(load("{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"cdn_id\":\"AS1:0\","
		    "\"edge_base\":\"http://e\",\"delegate\":\"always\"}", &c), CDNI_ECONFIG,
	       "always without downstream");
	conf_free(dcdn_ri_table, &c);
	is_int(load("{\"listen\":[{\"address\":\"127.0.0.1\",\"port\":0}],\"cdn_id\":\"AS1:0\","
		    "\"edge_base\":\"http://e\",\"geo\":[{\"prefix\":\"10.0.0.0/8\",\"country\":\"XX\"}]}", &c),
	       CDNI_ECONFIG, "bad geo country");
	conf_free(dcdn_ri_table, &c);
}

static void test_self(struct dcdn_ri *r)
{
	struct rri_response rs;

	is_int(handle(r, HTTP_IN), 200, "own footprint: 200");
	rri_response_decode(a.body.data, a.body.len, &rs, err, sizeof err);
	is_str(rs.http.location, "https://edge.test/a/b?c=d", "Location");
	is_int((long long)rs.cdn_path.n, 2, "cdn-path + our ID");
	rri_response_clear(&rs);
	is_str(a.cache_control, "public, max-age=30", "Cache-Control");
	is_int(calls, 0, "downstream not asked");
	is_int(handle(r, "{\"dns\":{\"resolver-ip\":\"198.51.100.53\",\"qtype\":\"A\",\"qclass\":\"IN\","
		      "\"qname\":\"www.example.com\"},\"cdn-path\":[]}"), 200, "DNS, own footprint");
	ok(strstr(a.body.data, "\"a\":[\"192.0.2.80\"]") != NULL, "A record: %s", a.body.data);
	dcdn_ri_answer_clear(&a);
	dcdn_ri_handle(r, "application/json", HTTP_IN, strlen(HTTP_IN), &a);
	is_int(a.status, 415, "wrong media type: 415");
	dcdn_ri_answer_clear(&a);
	dcdn_ri_handle(r, NULL, HTTP_IN, strlen(HTTP_IN), &a);
	is_int(a.status, 415, "no media type: 415");
	dcdn_ri_answer_clear(&a);
	dcdn_ri_too_large(r, &a);
	is_int(a.status, 413, "too large: 413");
	is_int(handle(r, "{"), 400, "broken JSON: 400");
	is_int(a.code, 400, "error 400");
}

static void test_errors(struct dcdn_ri *r)
{
	char body[1024];

	snprintf(body, sizeof body, "%s", HTTP_IN);
	memcpy(strstr(body, "[\"AS64496:0\"]"), "[\"AS64500:1\"]", 13);
	is_int(handle(r, body), 500, "own ID: 500");
	is_int(a.code, RRI_E_LOOP, "502");
	ok(strstr(a.body.data, "\"cdn\":\"AS64500:1\"") != NULL, "error names us");
	is_str(a.cache_control, "private, no-cache", "errors not cached");
	snprintf(body, sizeof body, "%s", HTTP_IN);
	memcpy(strstr(body, "\"max-hops\":3"), "\"max-hops\":0", 12);
	is_int(handle(r, body), 500, "path longer than max-hops");
	is_int(a.code, RRI_E_MAX_HOPS, "503");
	is_int(calls, 0, "downstream not asked for those");
	dcdn_ri_set_available(r, false);
	fake_rc = CDNI_ETIMEDOUT;
	is_int(handle(r, HTTP_IN), 500, "unavailable: delegated, downstream times out");
	is_int(a.code, RRI_E_DCDN, "500");
	ok(strstr(a.body.data, "downstream: deadline passed") != NULL, "reason: %s", a.body.data);
	dcdn_ri_set_available(r, true);
	fake_rc = 0;
}

static void test_delegate(struct dcdn_ri *r)
{
	calls = 0;
	fake_status = 200;
	fake_body = "{\"http\":{\"sc-status\":302,\"sc-version\":\"HTTP/1.1\",\"sc-reason\":\"Found\","
		    "\"cs-uri\":\"http://www.example.com/a\",\"sc-(location)\":\"http://d2.test/a\"},"
		    "\"cdn-path\":[\"AS64496:0\",\"AS64500:1\",\"AS64501:2\"]}";
	is_int(handle(r, HTTP_OUT), 200, "outside: delegated, 200");
	is_int(calls, 1, "asked once");
	is_int((long long)seen.cdn_path.n, 2, "sent cdn-path has 2 IDs");
	is_str(seen.cdn_path.n == 2 ? seen.cdn_path.v[1] : "", "AS64500:1", "our ID appended");
	is_int(seen.max_hops, 3, "max-hops forwarded as it was (§4.8 counts cdn-path)");
	ok(strstr(a.body.data, "http://d2.test/a") != NULL, "downstream's Location relayed");
	ok(strstr(a.body.data, "\"AS64501:2\"") != NULL, "downstream's cdn-path untouched");
	is_str(a.cache_control, "public, max-age=10", "downstream's max-age (below ours)");
	is_int(handle(r, DNS_OUT), 200, "DNS delegated (the fake answers HTTP: relayed as is)");
	ok(seen.dns.dns_only, "dns-only set on the cascaded request");
	fake_status = 500;
	fake_body = "{\"error\":{\"error-code\":504,\"reason\":\"Out of capacity\",\"cdn\":\"AS64501:2\"}}";
	is_int(handle(r, HTTP_OUT), 500, "downstream error relayed");
	is_int(a.code, 504, "its code");
	ok(strstr(a.body.data, "AS64501:2") != NULL, "its cdn");
	char body[1024];
	snprintf(body, sizeof body, "%s", HTTP_OUT);
	memcpy(strstr(body, "\"max-hops\":3"), "\"max-hops\":1", 12);
	calls = 0;
	is_int(handle(r, body), 500, "max-hops 1: no cascade");
	is_int(a.code, RRI_E_MAX_HOPS, "503");
	is_int(calls, 0, "not asked");
}

int main(void)
{
	struct dcdn_ri_conf c;
	struct dcdn_ri *r = NULL;
	size_t len;

	test_config();
	is_int(load(CONF, &c), 0, "config: %s", err);
	is_int(dcdn_ri_new(&c, &r, err, sizeof err), 0, "new");
	dcdn_ri_set_ask(r, fake_ask, NULL);
	ok(strstr(dcdn_ri_fci(r, &len), "\"198.51.100.0/24\"") != NULL, "FCI document");
	memset(&seen, 0, sizeof seen);
	test_self(r);
	test_errors(r);
	test_delegate(r);
	dcdn_ri_answer_clear(&a);
	rri_request_clear(&seen);
	dcdn_ri_free(r);
	conf_free(dcdn_ri_table, &c);
	return done_testing();
}
