/* uri.c: carriage, token removal (RFC 9246 §2.1.15), normalization
 * (RFC 3986 §6.2.2, §6.2.3), cookies and cookie paths. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "urisign/uri.h"

#define A US_DEFAULT_ATTR

static void strip_is(const char *uri, const char *want)
{
	char *out = NULL;
	int rc = us_uri_strip(uri, A, &out);

	is_str(rc ? "(error)" : out, want, "strip %s", uri);
	free(out);
}

static void norm_is(const char *uri, const char *want)
{
	char *out = NULL;
	int rc = us_uri_normalize(uri, &out);

	is_str(rc ? "(malformed)" : out, want, "normalize %s", uri);
	free(out);
}

static void test_strip(void)
{
	/* terminated by a sub-delimiter: attribute through the sub-delimiter */
	strip_is("http://x.example/a?URISigningPackage=T.T.T&b=1", "http://x.example/a?b=1");
	strip_is("http://x.example/a;URISigningPackage=T.T.T;x=1", "http://x.example/a;x=1");
	strip_is("http://example.com/media/path?come=data&URISigningPackage=SIGNEDJWT&other=data",
		 "http://example.com/media/path?come=data&other=data");
	/* otherwise: the reserved character before the attribute through the token */
	strip_is("http://x.example/a?URISigningPackage=T.T.T", "http://x.example/a");
	strip_is("http://x.example/a?b=1&URISigningPackage=T.T.T", "http://x.example/a?b=1");
	strip_is("http://x.example/a;URISigningPackage=T.T.T", "http://x.example/a");
	strip_is("http://x.example/a;URISigningPackage=T.T.T/b", "http://x.example/a/b");
	strip_is("http://x.example/a;URISigningPackage=T.T.T?q=1", "http://x.example/a?q=1");
	strip_is("http://x.example/a?b=1&URISigningPackage=T.T.T#frag", "http://x.example/a?b=1#frag");
	strip_is("/a/b.ts?URISigningPackage=T.T.T", "/a/b.ts");
	strip_is("http://x.example/a?b=1", "http://x.example/a?b=1");
	/* look-alikes are not the attribute */
	strip_is("http://x.example/a?xURISigningPackage=T", "http://x.example/a?xURISigningPackage=T");
	strip_is("http://x.example/a?URISigningPackageX=T", "http://x.example/a?URISigningPackageX=T");
	strip_is("http://x.example/URISigningPackage=T/a", "http://x.example/URISigningPackage=T/a");
	strip_is("http://u;URISigningPackage=T@x.example/a", "http://u;URISigningPackage=T@x.example/a");
}

static void test_find(void)
{
	struct us_pkg p;
	const char *u = "http://x.example/a?b=1&URISigningPackage=HH.PP.SS&c=2";

	ok(us_uri_find(u, A, &p) == 0 && p.where == US_IN_QUERY && p.tok_len == 8 &&
		   strncmp(u + p.tok, "HH.PP.SS", 8) == 0, "query parameter found with its token");
	u = "http://x.example/a/b;URISigningPackage=HH.PP.SS/c";
	ok(us_uri_find(u, A, &p) == 0 && p.where == US_IN_PATH && strncmp(u + p.tok, "HH.PP.SS", 8) == 0,
	   "path parameter found");
	is_int(us_uri_find("http://x.example/a?URISigningPackage=A.B.C&URISigningPackage=A.B.C", A, &p),
	       CDNI_EEXIST, "two query packages are refused (undefined in §2)");
	is_int(us_uri_find("http://x.example/a;URISigningPackage=A.B.C?URISigningPackage=A.B.C", A, &p),
	       CDNI_EEXIST, "a path and a query package are refused");
	is_int(us_uri_find("http://x.example/a?b=1", A, &p), CDNI_ENOTFOUND, "none found");
	ok(us_uri_find("http://x.example/a?tok=A.B.C", "tok", &p) == 0, "a configured attribute name");
	ok(us_uri_find("http://x.example/a?URISigningPackage=&b", A, &p) == 0 && p.tok_len == 0,
	   "an empty token is found (and fails later)");
	is_int(us_uri_strip("http://x.example/?URISigningPackage=1&URISigningPackage=2", A, &(char *){ NULL }),
	       CDNI_EEXIST, "strip refuses duplicates too");
}

static void test_normalize(void)
{
	norm_is("HTTP://CDNI.Example/Foo/Bar", "http://cdni.example/Foo/Bar");
	norm_is("http://cdni.example:80/foo", "http://cdni.example/foo");
	norm_is("https://cdni.example:443/foo", "https://cdni.example/foo");
	norm_is("http://cdni.example:443/foo", "http://cdni.example:443/foo");
	norm_is("https://cdni.example:8443/foo", "https://cdni.example:8443/foo");
	norm_is("http://cdni.example:/foo", "http://cdni.example/foo");
	norm_is("http://cdni.example:0080/foo", "http://cdni.example/foo");
	norm_is("http://cdni.example", "http://cdni.example/");
	norm_is("http://cdni.example?q", "http://cdni.example/?q");
	norm_is("http://cdni.example/%7Efoo/%61%2f%2F%3a", "http://cdni.example/~foo/a%2F%2F%3A");
	norm_is("http://cdni.example/a%2ebc%2D", "http://cdni.example/a.bc-");
	norm_is("http://cdni.example/a/./b/../c/./d/..", "http://cdni.example/a/c/");
	norm_is("http://cdni.example/../../a", "http://cdni.example/a");
	norm_is("http://cdni.example/a/%2E%2E/b", "http://cdni.example/b");
	norm_is("http://cdni.example/a/b/..", "http://cdni.example/a/");
	norm_is("http://cdni.example/a?x=%7e&y=%2a/../", "http://cdni.example/a?x=~&y=%2A/../");
	norm_is("http://cdni.example/a#frag", "http://cdni.example/a");
	norm_is("http://CDNI.%45xample/", "http://cdni.example/");
	norm_is("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/");
	norm_is("http://[2001:db8::1]:8080/x", "http://[2001:db8::1]:8080/x");
	norm_is("http://User@Cdni.example/", "http://User@cdni.example/");
	norm_is("http://cdni.example/a{b}|c", "http://cdni.example/a%7Bb%7D%7Cc");
	norm_is("http://cdni.example/\xc3\xa9", "http://cdni.example/%C3%A9");
	norm_is("http://cdni.example/a b", "(malformed)");
	is_int(us_uri_normalize("http://cdni.example/a\r\nb", &(char *){ NULL }), CDNI_EPARSE,
	       "normalize refuses CR LF");
	is_int(us_uri_normalize("http://cdni.example/a\tb", &(char *){ NULL }), CDNI_EPARSE,
	       "normalize refuses a tab");
	norm_is("http://cdni.example/%zz", "(malformed)");
	norm_is("http://cdni.example/%4", "(malformed)");
	norm_is("http://cdni.example/%", "(malformed)");
	norm_is("http://cdni.example:99999/", "(malformed)");
	norm_is("http://cdni.example:8o/", "(malformed)");
	norm_is("http:///a", "(malformed)");
	norm_is("/relative/path", "(malformed)");
	norm_is("1http://x/", "(malformed)");
	norm_is("http://[2001:db8::1/", "(malformed)");
	norm_is("http://[::1]x/", "(malformed)");
}

static void test_add_replace(void)
{
	char *o = NULL;
	struct us_pkg p;

	us_uri_add_token("http://x.example/a", A, "T.T.T", US_IN_QUERY, &o);
	is_str(o, "http://x.example/a?URISigningPackage=T.T.T", "token added as the query");
	free(o);
	us_uri_add_token("http://x.example/a?b=1#f", A, "T.T.T", US_IN_QUERY, &o);
	is_str(o, "http://x.example/a?b=1&URISigningPackage=T.T.T#f", "token appended to a query");
	free(o);
	us_uri_add_token("http://x.example/a?", A, "T.T.T", US_IN_QUERY, &o);
	is_str(o, "http://x.example/a?URISigningPackage=T.T.T", "token into an empty query");
	free(o);
	us_uri_add_token("http://x.example/a/b.ts?q=1", A, "T.T.T", US_IN_PATH, &o);
	is_str(o, "http://x.example/a/b.ts;URISigningPackage=T.T.T?q=1", "token as a path parameter");
	free(o);
	us_uri_add_token("http://x.example", A, "T.T.T", US_IN_PATH, &o);
	is_str(o, "http://x.example;URISigningPackage=T.T.T", "path parameter on an empty path");
	free(o);
	const char *u = "http://x.example/a?URISigningPackage=OLD.OLD.OLD&b=1";
	us_uri_find(u, A, &p);
	us_uri_replace_token(u, &p, "NEW.N.N", &o);
	is_str(o, "http://x.example/a?URISigningPackage=NEW.N.N&b=1", "token replaced in place");
	free(o);
}

static void test_cookie_path(void)
{
	const char *v = NULL;
	size_t n = 0;
	char *path = NULL;

	ok(us_cookie_find("a=1; URISigningPackage=T.T.T; b=2", A, &v, &n) == 0 && n == 5 &&
		   strncmp(v, "T.T.T", 5) == 0, "cookie found among others");
	ok(us_cookie_find("URISigningPackage=\"T.T.T\"", A, &v, &n) == 0 && n == 5,
	   "a quoted cookie value loses its quotes");
	ok(us_cookie_find("  URISigningPackage = T.T.T ;x", A, &v, &n) == 0 && n == 5,
	   "whitespace around name and value is ignored");
	is_int(us_cookie_find("a=1;b=2", A, &v, &n), CDNI_ENOTFOUND, "no such cookie");
	is_int(us_cookie_find("xURISigningPackage=1", A, &v, &n), CDNI_ENOTFOUND,
	       "a longer name is not the cookie");
	is_int(us_cookie_find("URISigningPackage=A.A.A; URISigningPackage=B.B.B", A, &v, &n),
	       CDNI_EEXIST, "two different cookies of that name are refused");
	ok(us_cookie_find("URISigningPackage=A.A.A; URISigningPackage=A.A.A", A, &v, &n) == 0,
	   "the same cookie twice is one token");
	is_int(us_cookie_find("", A, &v, &n), CDNI_ENOTFOUND, "empty header");
	is_int(us_cookie_find(";;;=;", A, &v, &n), CDNI_ENOTFOUND, "junk header");

	us_uri_path_prefix("http://cdni.example/foo/bar/123.ts", 2, &path);
	is_str(path, "/foo/bar", "cdnistd 2 keeps two segments");
	free(path);
	us_uri_path_prefix("http://cdni.example/foo/bar/123.ts?x=/y", 3, &path);
	is_str(path, "/foo/bar/123.ts", "cdnistd 3 keeps the whole path, not the query");
	free(path);
	us_uri_path_prefix("http://cdni.example/foo/bar/123.ts", 0, &path);
	is_str(path, "/", "cdnistd 0 is every path");
	free(path);
	is_int(us_uri_path_prefix("http://cdni.example/foo/bar/123.ts", 4, &path), CDNI_ENOTFOUND,
	       "cdnistd deeper than the path yields nothing (no renewal)");
}

int main(void)
{
	test_strip();
	test_find();
	test_normalize();
	test_add_replace();
	test_cookie_path();
	return done_testing();
}
