/* rri.h: RFC 7975 redirection requests and responses. The RFC's examples
 * (corrected: missing and trailing commas, "description" -> "reason", the
 * mandatory sc-version/sc-reason added), every mandatory key missing, wrong
 * types, limits (size, depth, arrays, cdn-path), I-JSON (duplicates, UTF-8,
 * numbers), unknown keys, media types, round trips through the encoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/tap.h"
#include "redirect/rri.h"

/* §4.4.1 */
static const char dns_req[] =
	"{\"dns\":{\"resolver-ip\":\"192.0.2.1\",\"c-subnet\":\"198.51.100.0/24\","
	"\"qtype\":\"A\",\"qclass\":\"IN\",\"qname\":\"www.example.com\"},"
	"\"cdn-path\":[\"AS64496:0\"],\"max-hops\":3}";
/* §4.5.1 */
static const char http_req[] =
	"{\"http\":{\"c-ip\":\"198.51.100.1\",\"cs-uri\":\"http://www.example.com\","
	"\"cs-version\":\"HTTP/1.1\",\"cs-method\":\"GET\"},"
	"\"cdn-path\":[\"AS64496:0\"],\"max-hops\":3}";
/* §4.4.2, first example */
static const char dns_resp[] =
	"{\"dns\":{\"rcode\":0,\"name\":\"www.example.com\","
	"\"a\":[\"203.0.113.200\",\"203.0.113.201\",\"203.0.113.202\"],"
	"\"aaaa\":[\"2001:DB8::C8\",\"2001:DB8::C9\"],\"ttl\":60}}";
/* §4.4.2, second example */
static const char dns_cname_resp[] =
	"{\"dns\":{\"rcode\":0,\"name\":\"www.example.com\",\"cname\":[\"rr1.dcdn.example\"],"
	"\"ttl\":20}}";
/* §4.5.2 (comma added after cs-uri, trailing comma removed) */
static const char http_resp[] =
	"{\"http\":{\"sc-status\":302,\"sc-version\":\"HTTP/1.1\",\"sc-reason\":\"Found\","
	"\"cs-uri\":\"http://www.example.com\","
	"\"sc-(location)\":\"http://sur1.dcdn.example/ucdn/example.com\"}}";
/* §4.6, DNS (comma added before scope) */
static const char dns_scope_resp[] =
	"{\"dns\":{\"rcode\":0,\"name\":\"www.example.com\","
	"\"a\":[\"203.0.113.200\",\"203.0.113.201\"],\"aaaa\":[\"2001:DB8::C8\",\"2001:DB8::C9\"],"
	"\"ttl\":60},\"scope\":{\"iprange\":[\"198.51.100.0/24\"]}}";
/* §4.6, HTTP (commas added; sc-version and sc-reason, mandatory, added) */
static const char http_scope_resp[] =
	"{\"http\":{\"sc-status\":302,\"sc-version\":\"HTTP/1.1\",\"sc-reason\":\"Found\","
	"\"cs-uri\":\"http://www.example.com\","
	"\"sc-(location)\":\"http://sur1.dcdn.example/ucdn/example.com\","
	"\"sc-(cache-control)\":\"public, max-age=30\"},"
	"\"scope\":{\"iprange\":[\"198.51.100.0/24\"]}}";
/* §4.7, first example ("description" is not a key of Table 7: "reason") */
static const char err_resp[] =
	"{\"error\":{\"error-code\":504,\"reason\":\"Out of capacity\"}}";
/* §4.7, second example (commas fixed, "reason") */
static const char http_info_resp[] =
	"{\"http\":{\"sc-status\":302,\"sc-version\":\"HTTP/1.1\",\"sc-reason\":\"Found\","
	"\"cs-uri\":\"http://www.example.com\","
	"\"sc-(location)\":\"http://sur1.dcdn.example/ucdn/example.com\"},"
	"\"error\":{\"error-code\":100,"
	"\"reason\":\"This is a human-readable message meant for debugging purposes\"}}";

static char err[512];

static int req(const char *body)
{
	struct rri_request rq;
	int rc = rri_request_decode(body, strlen(body), &rq, err, sizeof err);

	rri_request_clear(&rq);
	return rc;
}

static int resp(const char *body)
{
	struct rri_response rs;
	int rc = rri_response_decode(body, strlen(body), &rs, err, sizeof err);

	rri_response_clear(&rs);
	return rc;
}

/* Replace the first occurrence of from in base by to; static result. */
static const char *edit(const char *base, const char *from, const char *to)
{
	static char out[4096];
	const char *p = strstr(base, from);

	if (!p)
		return "MISSING-PATTERN";
	snprintf(out, sizeof out, "%.*s%s%s", (int)(p - base), base, to, p + strlen(from));
	return out;
}

static void test_examples(void)
{
	struct rri_request rq;
	struct rri_response rs;

	is_int(rri_request_decode(dns_req, strlen(dns_req), &rq, err, sizeof err), 0, "dns request");
	is_int(rq.kind, RRI_DNS, "dns kind");
	is_str(rq.dns.resolver_ip, "192.0.2.1", "resolver-ip");
	is_str(rq.dns.c_subnet, "198.51.100.0/24", "c-subnet");
	is_str(rq.dns.qname, "www.example.com", "qname");
	ok(!rq.dns.dns_only, "dns-only defaults to false");
	is_int((long long)rq.cdn_path.n, 1, "cdn-path");
	is_int(rq.max_hops, 3, "max-hops");
	rri_request_clear(&rq);

	is_int(rri_request_decode(http_req, strlen(http_req), &rq, err, sizeof err), 0,
	       "http request");
	is_int(rq.kind, RRI_HTTP, "http kind");
	is_str(rq.http.c_ip, "198.51.100.1", "c-ip");
	is_str(rq.http.cs_uri, "http://www.example.com", "cs-uri");
	is_str(rq.http.cs_method, "GET", "cs-method");
	is_str(rq.http.cs_version, "HTTP/1.1", "cs-version");
	rri_request_clear(&rq);

	is_int(rri_response_decode(dns_resp, strlen(dns_resp), &rs, err, sizeof err), 0,
	       "dns response");
	is_int((long long)rs.dns.a.n, 3, "3 a");
	is_int((long long)rs.dns.aaaa.n, 2, "2 aaaa");
	is_int(rs.dns.ttl, 60, "ttl");
	rri_response_clear(&rs);
	is_int(resp(dns_cname_resp), 0, "dns cname response");
	is_int(rri_response_decode(http_resp, strlen(http_resp), &rs, err, sizeof err), 0,
	       "http response");
	is_int(rs.http.sc_status, 302, "sc-status");
	is_str(rs.http.location, "http://sur1.dcdn.example/ucdn/example.com", "sc-(location)");
	is_int((long long)rs.http.headers.n, 0, "location is not among the other headers");
	rri_response_clear(&rs);
	is_int(rri_response_decode(dns_scope_resp, strlen(dns_scope_resp), &rs, err, sizeof err), 0,
	       "dns scope response");
	ok(rs.has_scope && rs.scope.n == 1, "scope.iprange");
	rri_response_clear(&rs);
	is_int(rri_response_decode(http_scope_resp, strlen(http_scope_resp), &rs, err, sizeof err),
	       0, "http scope response");
	is_str(rri_headers_get(&rs.http.headers, "cache-control"), "public, max-age=30",
	       "sc-(cache-control)");
	rri_response_clear(&rs);
	is_int(rri_response_decode(err_resp, strlen(err_resp), &rs, err, sizeof err), 0,
	       "error-only response");
	ok(rs.kind == RRI_NONE && rs.error.code == 504, "error-code 504");
	is_str(rs.error.reason, "Out of capacity", "reason");
	rri_response_clear(&rs);
	is_int(resp(http_info_resp), 0, "http response with a 100 error");
}

/* The RFC's examples as printed are not JSON: refused, with a message. */
static void test_printed_examples(void)
{
	is_int(resp("{\"http\":{\"sc-status\":302,\"sc-version\":\"HTTP/1.1\",\"sc-reason\":"
		    "\"Found\",\"cs-uri\":\"http://www.example.com\"\n\"sc-(location)\":"
		    "\"http://sur1.dcdn.example/ucdn/example.com\",}}"),
	       CDNI_EPARSE, "§4.5.2 as printed: not JSON");
	ok(strstr(err, "not I-JSON") != NULL, "message: %s", err);
	/* §4.6 HTTP example with its commas fixed still lacks sc-version */
	is_int(resp("{\"http\":{\"sc-status\":302,\"cs-uri\":\"http://www.example.com\","
		    "\"sc-(location)\":\"http://sur1.dcdn.example/ucdn/example.com\"}}"),
	       CDNI_EINVAL, "§4.6 HTTP example lacks sc-version");
	is_str(err, "http.sc-version: missing", "names the key");
	/* §4.7 first example: "description" is ignored, error-code is enough */
	is_int(resp("{\"error\":{\"error-code\":504,\"description\":\"Out of capacity\"}}"), 0,
	       "§4.7 with description (unknown key, ignored)");
}

struct missing {
	const char *base, *key;
	int request;
	const char *message;
};

static void test_missing(void)
{
	static const struct missing m[] = {
		{ dns_req, "\"resolver-ip\":\"192.0.2.1\",", 1, "dns.resolver-ip: missing" },
		{ dns_req, "\"qtype\":\"A\",", 1, "dns.qtype: missing" },
		{ dns_req, "\"qclass\":\"IN\",", 1, "dns.qclass: missing" },
		{ dns_req, ",\"qname\":\"www.example.com\"", 1, "dns.qname: missing" },
		{ dns_req, "\"cdn-path\":[\"AS64496:0\"],", 1, "cdn-path: missing" },
		{ http_req, "\"c-ip\":\"198.51.100.1\",", 1, "http.c-ip: missing" },
		{ http_req, "\"cs-uri\":\"http://www.example.com\",", 1, "http.cs-uri: missing" },
		{ http_req, "\"cs-version\":\"HTTP/1.1\",", 1, "http.cs-version: missing" },
		{ http_req, ",\"cs-method\":\"GET\"", 1, "http.cs-method: missing" },
		{ http_req, "\"cdn-path\":[\"AS64496:0\"],", 1, "cdn-path: missing" },
		{ dns_resp, "\"rcode\":0,", 0, "dns.rcode: missing" },
		{ dns_resp, "\"name\":\"www.example.com\",", 0, "dns.name: missing" },
		{ http_resp, "\"sc-status\":302,", 0, "http.sc-status: missing" },
		{ http_resp, "\"sc-version\":\"HTTP/1.1\",", 0, "http.sc-version: missing" },
		{ http_resp, "\"sc-reason\":\"Found\",", 0, "http.sc-reason: missing" },
		{ http_resp, "\"cs-uri\":\"http://www.example.com\",", 0, "http.cs-uri: missing" },
		{ http_resp, ",\"sc-(location)\":\"http://sur1.dcdn.example/ucdn/example.com\"", 0,
		  "http.sc-(location): missing" },
		{ err_resp, "\"error-code\":504,", 0, "error.error-code: missing" },
	};

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		const char *b = edit(m[i].base, m[i].key, "");
		int rc = m[i].request ? req(b) : resp(b);
		ok(rc == CDNI_EINVAL && strcmp(err, m[i].message) == 0, "missing: %s (got %d '%s')",
		   m[i].message, rc, err);
	}
	is_int(req("{\"cdn-path\":[]}"), CDNI_EINVAL, "request without dns or http");
	is_str(err, "dns, http: missing (one is needed)", "message");
	is_int(resp("{\"cdn-path\":[]}"), CDNI_EINVAL, "response without dns, http or error");
	is_int(resp("{\"dns\":{\"rcode\":0,\"name\":\"x.example\",\"ttl\":3}}"), CDNI_EINVAL,
	       "dns response without a, aaaa or cname");
	is_int(resp(edit(dns_resp, "\"ttl\"", "\"cname\":[\"a.example\"],\"ttl\"")), CDNI_EINVAL,
	       "cname with a/aaaa");
	is_str(err, "dns.cname: may not come with a or aaaa", "message");
}

struct bad {
	const char *base, *from, *to;
	int request;
	const char *message; /* prefix */
};

static void test_wrong(void)
{
	static const struct bad b[] = {
		{ http_req, "\"198.51.100.1\"", "198", 1, "http.c-ip: not a string" },
		{ http_req, "\"198.51.100.1\"", "\"198.51.100\"", 1, "http.c-ip: '198.51.100' is not" },
		{ http_req, "\"198.51.100.1\"", "\"::g\"", 1, "http.c-ip:" },
		{ http_req, "\"http://www.example.com\"", "\"ftp://x\"", 1, "http.cs-uri:" },
		{ http_req, "\"http://www.example.com\"", "\"http://a b\"", 1, "http.cs-uri:" },
		{ http_req, "\"http://www.example.com\"", "\"/relative\"", 1, "http.cs-uri:" },
		{ http_req, "\"GET\"", "\"G T\"", 1, "http.cs-method:" },
		{ http_req, "\"HTTP/1.1\"", "\"HTTP/x\"", 1, "http.cs-version:" },
		{ http_req, "\"GET\"", "\"GET\",\"cs-(x)\":\"a\\r\\nb\"", 1, "http.cs-(x): not a header" },
		{ http_req, "\"GET\"", "\"GET\",\"cs-(x)\":5", 1, "http.cs-(x): not a header" },
		{ http_req, "{\"c-ip", "[{\"c-ip", 1, "body: not I-JSON" },
		{ http_req, "\"http\":{", "\"http\":[],\"x\":{", 1, "http: not an object" },
		{ http_req, "[\"AS64496:0\"]", "\"AS64496:0\"", 1, "cdn-path: not a list" },
		{ http_req, "[\"AS64496:0\"]", "[64496]", 1, "cdn-path[0]: not a string" },
		{ http_req, "[\"AS64496:0\"]", "[\"ucdn\"]", 1, "cdn-path[0]: 'ucdn' is not" },
		{ http_req, "[\"AS64496:0\"]", "[\"AS64496:0\",\"AS1\"]", 1, "cdn-path[1]:" },
		{ http_req, "\"max-hops\":3", "\"max-hops\":\"3\"", 1, "max-hops: not an integer" },
		{ http_req, "\"max-hops\":3", "\"max-hops\":3.0", 1, "max-hops: not an integer" },
		{ http_req, "\"max-hops\":3", "\"max-hops\":-1", 1, "max-hops: -1 is not in" },
		{ http_req, "\"max-hops\":3", "\"max-hops\":99999999999999999999999", 1, "body: not I-JSON" },
		{ dns_req, "\"A\"", "\"MX\"", 1, "dns.qtype: 'MX' is not" },
		{ dns_req, "\"A\"", "\"a\"", 1, "dns.qtype:" },
		{ dns_req, "\"IN\"", "\"in\"", 1, "dns.qclass:" },
		{ dns_req, "\"www.example.com\"", "\"www..example.com\"", 1, "dns.qname:" },
		{ dns_req, "\"www.example.com\"", "\"www.ex\\u00e4mple.com\"", 1, "dns.qname:" },
		{ dns_req, "\"198.51.100.0/24\"", "\"198.51.100.0/33\"", 1, "dns.c-subnet:" },
		{ dns_req, "\"IN\"", "\"IN\",\"dns-only\":\"yes\"", 1, "dns.dns-only: not a boolean" },
		{ dns_resp, "\"rcode\":0", "\"rcode\":true", 0, "dns.rcode: not an integer" },
		{ dns_resp, "\"rcode\":0", "\"rcode\":5000", 0, "dns.rcode: 5000 is not in" },
		{ dns_resp, "\"203.0.113.200\"", "\"2001:db8::1\"", 0, "dns.a[0]:" },
		{ dns_resp, "\"2001:DB8::C8\"", "\"203.0.113.1\"", 0, "dns.aaaa[0]:" },
		{ dns_resp, "\"ttl\":60", "\"ttl\":-5", 0, "dns.ttl:" },
		{ dns_resp, "\"ttl\":60", "\"ttl\":1e3", 0, "dns.ttl: not an integer" },
		{ http_resp, "302", "\"302\"", 0, "http.sc-status: not an integer" },
		{ http_resp, "302", "1000", 0, "http.sc-status: 1000 is not in" },
		{ http_resp, "\"http://sur1", "\"//sur1", 0, "http.sc-(location):" },
		{ http_resp, "\"Found\"", "\"Fo\\nund\"", 0, "http.sc-reason:" },
		{ err_resp, "504", "42", 0, "error.error-code: 42 is not in" },
		{ err_resp, "504", "\"504\"", 0, "error.error-code: not an integer" },
		{ err_resp, "{\"error-code", "[{\"error-code", 0, "body: not I-JSON" },
		{ dns_scope_resp, "[\"198.51.100.0/24\"]", "\"198.51.100.0/24\"", 0, "scope.iprange: not a list" },
		{ dns_scope_resp, "\"198.51.100.0/24\"]", "\"nope\"]", 0, "scope.iprange[0]:" },
	};

	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
		const char *body = edit(b[i].base, b[i].from, b[i].to);
		int rc = b[i].request ? req(body) : resp(body);
		ok(rc < 0 && strncmp(err, b[i].message, strlen(b[i].message)) == 0,
		   "refused: %s -> %s (got %d '%s')", b[i].from, b[i].to, rc, err);
	}
}

static void test_ijson(void)
{
	is_int(req(edit(http_req, "\"max-hops\":3", "\"max-hops\":3,\"max-hops\":4")), CDNI_EPARSE,
	       "duplicate top-level key");
	ok(strstr(err, "duplicate") != NULL, "message says duplicate: %s", err);
	is_int(req(edit(http_req, "\"cs-method\":\"GET\"", "\"cs-method\":\"GET\",\"c-ip\":\"1.2.3.4\"")),
	       CDNI_EPARSE, "duplicate nested key");
	is_int(req(edit(http_req, "\"GET\"", "\"G\xff\"")), CDNI_EPARSE, "invalid UTF-8");
	is_int(req(edit(http_req, "\"GET\"", "\"G\\u0000T\"")), CDNI_EPARSE, "NUL in a string");
	is_int(req(edit(http_req, "\"max-hops\":3", "\"max-hops\":9007199254740992")), CDNI_EINVAL,
	       "integer beyond 2^53 refused");
	is_int(req("[1,2]"), CDNI_EPARSE, "an array body");
	is_int(req("\"x\""), CDNI_EPARSE, "a string body");
	is_int(req(""), CDNI_EPARSE, "an empty body");
	is_int(req("not json"), CDNI_EPARSE, "not JSON");
	is_int(req(edit(http_req, "}", "}} trailing")), CDNI_EPARSE, "trailing garbage");
	/* unknown keys ignored, also invalid ones and uppercase spellings */
	is_int(req(edit(http_req, "\"max-hops\":3",
			"\"max-hops\":3,\"x-future\":{\"a\":[1,2,{}]},\"HTTP\":5,\"Max-Hops\":\"z\"")),
	       0, "unknown keys ignored");
	is_int(req(edit(http_req, "\"GET\"", "\"GET\",\"cs-(Cookie)\":5,\"cs-()\":1,\"cs-(a b)\":2")),
	       0, "invalid header keys ignored");
	is_int(req(edit(http_req, "\"http\":{", "\"dns\":{},\"http\":{")), CDNI_EINVAL,
	       "both dns and http");
	is_str(err, "dns, http: a message holds only one of them", "message");
}

static void test_limits(void)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	/* deep nesting, in an unknown key: the pre-scan refuses it before parsing */
	buf_puts(&b, "{\"x\":");
	for (i = 0; i < 60000; i++)
		buf_putc(&b, '[');
	buf_puts(&b, "]}");
	is_int(req(b.data), CDNI_EOVERFLOW, "60000 levels of nesting refused");
	is_str(err, "body: nested deeper than 8", "message");
	is_int(req(edit(http_req, "\"max-hops\":3", "\"max-hops\":3,\"x\":[[[[[[[[[[1]]]]]]]]]]")),
	       CDNI_EOVERFLOW, "10 levels refused");
	ok(strstr(err, "nested deeper") != NULL, "message: %s", err);
	is_int(req(edit(http_req, "\"max-hops\":3", "\"max-hops\":3,\"x\":[[[[[[1]]]]]]")), 0,
	       "7 levels accepted");
	is_int(req(edit(http_req, "\"GET\"", "\"G[[[[[[[[[[[[[[[[[[[[T\"")), CDNI_EINVAL,
	       "brackets in strings are not nesting");
	is_int(req(edit(http_req, "\"GET\"", "\"\\\"[[[[[[[[[[[[\"")), CDNI_EINVAL,
	       "escaped quote inside a string");
	/* oversized body */
	buf_reset(&b);
	buf_puts(&b, "{\"x\":\"");
	for (i = 0; i < RRI_MAX_BODY; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\"}");
	is_int(req(b.data), CDNI_EOVERFLOW, "body over %d bytes", RRI_MAX_BODY);
	/* huge arrays */
	buf_reset(&b);
	buf_puts(&b, "{\"dns\":{\"rcode\":0,\"name\":\"a.example\",\"a\":[");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%s\"10.0.%zu.%zu\"", i ? "," : "", i / 256, i % 256);
	buf_puts(&b, "]}}");
	is_int(resp(b.data), CDNI_EOVERFLOW, "1000 a records refused");
	is_str(err, "dns.a: 1000 elements, more than 64", "message");
	buf_reset(&b);
	buf_puts(&b, "{\"http\":{\"c-ip\":\"1.2.3.4\",\"cs-uri\":\"http://a/\",\"cs-method\":\"GET\","
		     "\"cs-version\":\"HTTP/1.1\"},\"cdn-path\":[");
	for (i = 0; i < RRI_MAX_PATH + 1; i++)
		buf_printf(&b, "%s\"AS%zu:0\"", i ? "," : "", i + 1);
	buf_puts(&b, "]}");
	is_int(req(b.data), CDNI_EOVERFLOW, "cdn-path of %d refused", RRI_MAX_PATH + 1);
	/* a long string */
	buf_reset(&b);
	buf_puts(&b, "{\"http\":{\"c-ip\":\"1.2.3.4\",\"cs-uri\":\"http://a/");
	for (i = 0; i < RRI_MAX_STR; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "\",\"cs-method\":\"GET\",\"cs-version\":\"HTTP/1.1\"},\"cdn-path\":[]}");
	is_int(req(b.data), CDNI_EOVERFLOW, "cs-uri over %d bytes", RRI_MAX_STR);
	/* many headers */
	buf_reset(&b);
	buf_puts(&b, "{\"http\":{\"c-ip\":\"1.2.3.4\",\"cs-uri\":\"http://a/\",\"cs-method\":\"GET\","
		     "\"cs-version\":\"HTTP/1.1\"");
	for (i = 0; i < RRI_MAX_HEADERS + 1; i++)
		buf_printf(&b, ",\"cs-(h%zu)\":\"v\"", i);
	buf_puts(&b, "},\"cdn-path\":[]}");
	is_int(req(b.data), CDNI_EOVERFLOW, "%d headers refused", RRI_MAX_HEADERS + 1);
	buf_free(&b);
}

static void test_loops(void)
{
	struct rri_request rq;
	const char *body = edit(http_req, "[\"AS64496:0\"]", "[\"AS64496:0\",\"AS64500:1\",\"AS64496:0\"]");

	is_int(rri_request_decode(body, strlen(body), &rq, err, sizeof err), 0,
	       "a looping cdn-path decodes (the dCDN answers 502)");
	ok(rri_path_has_duplicate(&rq.cdn_path), "the duplicate is found");
	ok(rri_strs_has(&rq.cdn_path, "AS64500:1"), "has AS64500:1");
	ok(!rri_strs_has(&rq.cdn_path, "AS64500:2"), "not AS64500:2");
	rri_request_clear(&rq);
	rri_request_decode(http_req, strlen(http_req), &rq, err, sizeof err);
	ok(!rri_path_has_duplicate(&rq.cdn_path), "no duplicate in the example");
	rri_request_clear(&rq);
	ok(rri_provider_id_valid("AS64496:0"), "AS64496:0 valid");
	ok(!rri_provider_id_valid("AS:0"), "AS:0 invalid");
	ok(!rri_provider_id_valid("as64496:0"), "lowercase as invalid");
	ok(!rri_provider_id_valid("AS64496:"), "empty qualifier invalid");
	ok(!rri_provider_id_valid("AS1:a b"), "space invalid");
}

static void test_roundtrip(void)
{
	static const char *const bodies[] = { dns_resp, dns_cname_resp, http_resp, dns_scope_resp,
					      http_scope_resp, err_resp, http_info_resp };
	struct rri_request rq;
	struct rri_response rs;
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	rri_request_decode(dns_req, strlen(dns_req), &rq, err, sizeof err);
	is_int(rri_request_encode(&rq, &a, err, sizeof err), 0, "encode dns request");
	is_str(a.data, "{\"cdn-path\":[\"AS64496:0\"],\"dns\":{\"c-subnet\":\"198.51.100.0/24\","
		       "\"qclass\":\"IN\",\"qname\":\"www.example.com\",\"qtype\":\"A\","
		       "\"resolver-ip\":\"192.0.2.1\"},\"max-hops\":3}", "canonical dns request");
	rri_request_clear(&rq);
	buf_reset(&a);
	rri_request_decode(http_req, strlen(http_req), &rq, err, sizeof err);
	rri_headers_set(&rq.http.headers, "User-Agent", "curl/8");
	rq.max_hops = -1;
	is_int(rri_request_encode(&rq, &a, err, sizeof err), 0, "encode http request");
	is_str(a.data, "{\"cdn-path\":[\"AS64496:0\"],\"http\":{\"c-ip\":\"198.51.100.1\","
		       "\"cs-(user-agent)\":\"curl/8\",\"cs-method\":\"GET\",\"cs-uri\":"
		       "\"http://www.example.com\",\"cs-version\":\"HTTP/1.1\"}}",
	       "canonical http request, header lowercase, no max-hops");
	free(rq.http.c_ip);
	rq.http.c_ip = strdup("bogus");
	buf_reset(&a);
	is_int(rri_request_encode(&rq, &a, err, sizeof err), CDNI_EINVAL, "encoder checks");
	is_str(err, "http.c-ip: 'bogus' is not valid here", "and names the key");
	rri_request_clear(&rq);
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		buf_reset(&a);
		buf_reset(&b);
		rri_response_decode(bodies[i], strlen(bodies[i]), &rs, err, sizeof err);
		int r1 = rri_response_encode(&rs, &a, err, sizeof err);
		rri_response_clear(&rs);
		rri_response_decode(a.data, a.len, &rs, err, sizeof err);
		int r2 = rri_response_encode(&rs, &b, err, sizeof err);
		ok(r1 == 0 && r2 == 0 && strcmp(a.data, b.data) == 0, "round trip %zu: %s", i,
		   a.data);
		buf_reset(&b);
		is_int(rri_response_encode_trusted(&rs, &b), 0, "trusted encode %zu", i);
		is_str(b.data, a.data, "trusted encode %zu writes the same", i);
		rri_response_clear(&rs);
	}
	rri_response_decode(dns_resp, strlen(dns_resp), &rs, err, sizeof err);
	buf_reset(&a);
	rri_response_encode(&rs, &a, err, sizeof err);
	ok(strstr(a.data, "\"2001:db8::c8\"") != NULL, "aaaa written in RFC 5952 form");
	rri_response_clear(&rs);
	rri_response_set_error(&rs, RRI_E_LOOP, NULL, "AS64500:1");
	buf_reset(&a);
	is_int(rri_response_encode(&rs, &a, err, sizeof err), 0, "error-only encodes");
	is_str(a.data, "{\"error\":{\"cdn\":\"AS64500:1\",\"error-code\":502,\"reason\":"
		       "\"Loop detected\"}}", "loop error");
	rri_response_clear(&rs);
	buf_reset(&a);
	is_int(rri_response_encode(&rs, &a, err, sizeof err), CDNI_EINVAL, "empty response refused");
	buf_free(&a);
	buf_free(&b);
}

static void test_media_codes(void)
{
	ok(rri_media_type_is(RRI_MEDIA_REQUEST, RRI_PTYPE_REQUEST), "request type");
	ok(rri_media_type_is("Application/CDNI;PType=\"redirection-request\"", RRI_PTYPE_REQUEST),
	   "case and quotes");
	ok(rri_media_type_is("application/cdni; charset=utf-8; ptype=redirection-request",
			     RRI_PTYPE_REQUEST), "other parameters");
	ok(!rri_media_type_is(RRI_MEDIA_REQUEST, RRI_PTYPE_RESPONSE), "request is not response");
	ok(!rri_media_type_is("application/json", RRI_PTYPE_REQUEST), "json");
	ok(!rri_media_type_is("application/cdni", RRI_PTYPE_REQUEST), "no ptype");
	ok(!rri_media_type_is("application/cdnix; ptype=redirection-request", RRI_PTYPE_REQUEST),
	   "other type");
	ok(!rri_media_type_is(NULL, RRI_PTYPE_REQUEST), "none");
	is_int(rri_error_http_status(100), 200, "100 -> 200");
	is_int(rri_error_http_status(400), 400, "400 -> 400");
	for (int c = 500; c <= 506; c++)
		is_int(rri_error_http_status(c), 500, "%d -> 500", c);
	is_str(rri_error_reason(502), "Loop detected", "502 reason");
	is_str(rri_error_reason(503), "Maximum hops exceeded", "503 reason");
	is_str(rri_error_reason(506), "Redirection protocol not supported", "506 reason");
}

int main(void)
{
	test_examples();
	test_printed_examples();
	test_missing();
	test_wrong();
	test_ijson();
	test_limits();
	test_loops();
	test_roundtrip();
	test_media_codes();
	return done_testing();
}
