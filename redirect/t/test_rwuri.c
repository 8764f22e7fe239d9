/* URI resolution for the rewriters: every example of RFC 3986 §5.4 (normal
 * and abnormal), spans of odd references, authority comparison. */
#include <string.h>

#include "common/buf.h"
#include "common/tap.h"
#include "redirect/rwint.h"

static const char *resolve(const char *base, const char *ref)
{
	static struct buf out;
	struct rw_url b, r;

	buf_free(&out);
	buf_init(&out, 0);
	rw_url_split(base, strlen(base), &b);
	rw_url_split(ref, strlen(ref), &r);
	rw_url_resolve(&out, &b, &r);
	return out.data ? out.data : "";
}

static const char *const rfc3986[][2] = {
	/* §5.4.1 normal examples */
	{ "g:h", "g:h" }, { "g", "http://a/b/c/g" }, { "./g", "http://a/b/c/g" },
	{ "g/", "http://a/b/c/g/" }, { "/g", "http://a/g" }, { "//g", "http://g" },
	{ "?y", "http://a/b/c/d;p?y" }, { "g?y", "http://a/b/c/g?y" }, { "#s", "http://a/b/c/d;p?q#s" },
	{ "g#s", "http://a/b/c/g#s" }, { "g?y#s", "http://a/b/c/g?y#s" }, { ";x", "http://a/b/c/;x" },
	{ "g;x", "http://a/b/c/g;x" }, { "g;x?y#s", "http://a/b/c/g;x?y#s" }, { "", "http://a/b/c/d;p?q" },
	{ ".", "http://a/b/c/" }, { "./", "http://a/b/c/" }, { "..", "http://a/b/" },
	{ "../", "http://a/b/" }, { "../g", "http://a/b/g" }, { "../..", "http://a/" },
	{ "../../", "http://a/" }, { "../../g", "http://a/g" },
	/* §5.4.2 abnormal examples */
	{ "../../../g", "http://a/g" }, { "../../../../g", "http://a/g" }, { "/./g", "http://a/g" },
	{ "/../g", "http://a/g" }, { "g.", "http://a/b/c/g." }, { ".g", "http://a/b/c/.g" },
	{ "g..", "http://a/b/c/g.." }, { "..g", "http://a/b/c/..g" }, { "./../g", "http://a/b/g" },
	{ "./g/.", "http://a/b/c/g/" }, { "g/./h", "http://a/b/c/g/h" }, { "g/../h", "http://a/b/c/h" },
	{ "g;x=1/./y", "http://a/b/c/g;x=1/y" }, { "g;x=1/../y", "http://a/b/c/y" },
	{ "g?y/./x", "http://a/b/c/g?y/./x" }, { "g?y/../x", "http://a/b/c/g?y/../x" },
	{ "g#s/./x", "http://a/b/c/g#s/./x" }, { "g#s/../x", "http://a/b/c/g#s/../x" },
	{ "http:g", "http:g" },
};

static void test_rfc3986(void)
{
	for (size_t i = 0; i < sizeof rfc3986 / sizeof rfc3986[0]; i++)
		is_str(resolve("http://a/b/c/d;p?q", rfc3986[i][0]), rfc3986[i][1], "RFC 3986 5.4: \"%s\"",
		       rfc3986[i][0]);
}

static void test_templates_untouched(void)
{
	is_str(resolve("https://h/v/dash/a.mpd", "chunk-$RepresentationID$-$Number%05d$.m4s"),
	       "https://h/v/dash/chunk-$RepresentationID$-$Number%05d$.m4s",
	       "DASH identifiers and format tags pass through resolution as written");
	is_str(resolve("https://h/v/a.m3u8", "seg%20one.ts"), "https://h/v/seg%20one.ts",
	       "escapes are not decoded");
	is_str(resolve("https://h", "x.ts"), "https://h/x.ts", "base with an empty path");
	is_str(resolve("https://h/v/dash/", "lo"), "https://h/v/dash/lo",
	       "a BaseURL without a trailing slash replaces the last segment");
	is_str(resolve("https://h/v/dash/lo", "seg.m4s"), "https://h/v/dash/seg.m4s",
	       "... as RFC 3986 says (and players do)");
}

static void test_split(void)
{
	struct rw_url u;
	const char *s = "https://user@h:8443/p/a?q=1#f";

	rw_url_split(s, strlen(s), &u);
	is_int((long long)u.scheme_len, 5, "scheme length");
	ok(u.has_auth && u.auth_len == strlen("user@h:8443"), "authority span");
	ok(u.has_query && u.query_len == 3 && u.has_frag && u.frag_len == 1, "query and fragment spans");
	s = "a:b/c";
	rw_url_split(s, strlen(s), &u);
	is_int((long long)u.scheme_len, 1, "a:b/c has a scheme");
	s = "./a:b";
	rw_url_split(s, strlen(s), &u);
	is_int((long long)u.scheme_len, 0, "./a:b has none (colon after a slash)");
	s = "1a:b";
	rw_url_split(s, strlen(s), &u);
	is_int((long long)u.scheme_len, 0, "a scheme starts with a letter");
}

static bool same_host(const char *a, const char *b)
{
	struct rw_url ua, ub;
	struct rw_host ha, hb;

	rw_url_split(a, strlen(a), &ua);
	rw_url_split(b, strlen(b), &ub);
	return rw_url_host(&ua, &ha) && rw_url_host(&ub, &hb) && rw_host_eq(&ha, &hb);
}

static void test_hosts(void)
{
	struct rw_url u;
	struct rw_host h;
	const char *s = "http://u@h/";

	ok(same_host("https://WWW.csp.test/x", "https://www.csp.test:443/y"), "case and default port");
	ok(same_host("http://www.csp.test./x", "http://www.csp.test/y"), "trailing dot");
	ok(!same_host("http://www.csp.test/x", "https://www.csp.test/y"), "80 is not 443");
	ok(!same_host("http://www.csp.test:8080/x", "http://www.csp.test/y"), "explicit other port");
	ok(same_host("http://[::1]:8080/x", "http://[::1]:8080/"), "IPv6 literal");
	rw_url_split(s, strlen(s), &u);
	ok(!rw_url_host(&u, &h), "user info is never ours");
	s = "http://h:99999/";
	rw_url_split(s, strlen(s), &u);
	ok(!rw_url_host(&u, &h), "port out of range");
	s = "http://h:8x/";
	rw_url_split(s, strlen(s), &u);
	ok(!rw_url_host(&u, &h), "port not a number");
	ok(rw_uri_clean("/a/b?c=$d&e=%41", 15), "URI characters are clean");
	ok(!rw_uri_clean("/a b", 4) && !rw_uri_clean("/a\"b", 4) && !rw_uri_clean("/\xc3\xa9", 3),
	   "space, quote, non-ASCII are not");
}

int main(void)
{
	test_rfc3986();
	test_templates_untouched();
	test_split();
	test_hosts();
	return done_testing();
}
