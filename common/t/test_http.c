/* http.h: path decoding, ranges, validators, dates, Cache-Control, escaping */
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/tap.h"

static void path(const char *raw, int want_rc, const char *want)
{
	char out[64];
	int rc = http_path_decode(raw, out, sizeof out);

	if (want_rc == 0)
		ok(rc == 0 && strcmp(out, want) == 0, "path %s decodes to %s", raw, want);
	else
		is_int(rc, want_rc, "path %s refused", raw);
}

static void paths(void)
{
	path("/a/b.ts", 0, "/a/b.ts");
	path("/a%20b", 0, "/a b");
	path("/..a/b..", 0, "/..a/b..");
	path("/../etc/passwd", CDNI_EINVAL, NULL);
	path("/a/..", CDNI_EINVAL, NULL);
	path("/a/./b", CDNI_EINVAL, NULL);
	path("/%2e%2e/x", CDNI_EINVAL, NULL);
	path("/%2E./x", CDNI_EINVAL, NULL);
	path("/a%2fb", CDNI_EINVAL, NULL);
	path("/a%00b", CDNI_EINVAL, NULL);
	path("/a%5c..%5cb", CDNI_EINVAL, NULL);
	path("/a\\b", CDNI_EINVAL, NULL);
	path("/a%0d%0ab", CDNI_EINVAL, NULL);
	path("/a%zz", CDNI_EINVAL, NULL);
	path("/a%4", CDNI_EINVAL, NULL);
	path("relative", CDNI_EINVAL, NULL);
	path("/0123456789012345678901234567890123456789012345678901234567890123456789",
	     CDNI_EOVERFLOW, NULL);
}

static void range(const char *h, uint64_t size, int want_rc, uint64_t a, uint64_t b)
{
	uint64_t first = 99, last = 99;
	int rc = http_range_parse(h, size, &first, &last);

	if (want_rc == 0)
		ok(rc == 0 && first == a && last == b, "Range '%s' of %llu -> %llu-%llu", h,
		   (unsigned long long)size, (unsigned long long)a, (unsigned long long)b);
	else
		is_int(rc, want_rc, "Range '%s' of %llu -> %s", h ? h : "(none)",
		       (unsigned long long)size, cdni_strerror(want_rc));
}

static void ranges(void)
{
	range("bytes=0-99", 1000, 0, 0, 99);
	range("bytes=100-", 1000, 0, 100, 999);
	range("bytes=-100", 1000, 0, 900, 999);
	range("bytes=-5000", 1000, 0, 0, 999);
	range("bytes=0-5000", 1000, 0, 0, 999);
	range("bytes=999-999", 1000, 0, 999, 999);
	range("bytes=1000-", 1000, CDNI_EOVERFLOW, 0, 0);
	range("bytes=-0", 1000, CDNI_EOVERFLOW, 0, 0);
	range("bytes=0-0", 0, CDNI_EOVERFLOW, 0, 0);
	range("bytes=5-1", 1000, CDNI_ENOTFOUND, 0, 0);
	range("bytes=0-1,5-6", 1000, CDNI_ENOTFOUND, 0, 0);
	range("items=0-1", 1000, CDNI_ENOTFOUND, 0, 0);
	range("bytes=-", 1000, CDNI_ENOTFOUND, 0, 0);
	range("bytes=99999999999999999999999-", 1000, CDNI_ENOTFOUND, 0, 0);
	range(NULL, 1000, CDNI_ENOTFOUND, 0, 0);
}

static void validators(void)
{
	char d[40];
	struct http_cache_control cc;

	ok(http_etag_match("\"abc\"", "\"abc\""), "ETag equal");
	ok(http_etag_match("\"x\", W/\"abc\"", "\"abc\""), "weak ETag in a list matches");
	ok(http_etag_match("*", "\"abc\""), "* matches");
	ok(!http_etag_match("\"abd\"", "\"abc\""), "different ETag");
	ok(!http_etag_match("abc", "\"abc\""), "unquoted garbage does not match");
	ok(!http_etag_match("\"abc", "\"abc\""), "unterminated does not match");
	http_date(784111777, d, sizeof d);
	is_str(d, "Sun, 06 Nov 1994 08:49:37 GMT", "IMF-fixdate");
	is_int(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777, "IMF-fixdate parses");
	is_int(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT junk"), -1, "trailing junk refused");
	is_int(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT"), -1, "obsolete format refused");
	is_int(http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT"), -1, "bad month refused");
	http_cache_control_parse("public, max-age=60, s-maxage=\"120\"", &cc);
	ok(cc.max_age == 60 && cc.s_maxage == 120 && !cc.no_store, "max-age and quoted s-maxage");
	http_cache_control_parse("no-store,private , no-cache", &cc);
	ok(cc.no_store && cc.private_ && cc.no_cache && cc.max_age == -1, "flags");
	http_cache_control_parse("max-age=abc", &cc);
	is_int(cc.max_age, -1, "non-numeric max-age ignored");
	http_cache_control_parse("max-age=99999999999999999999999", &cc);
	ok(cc.max_age > 0, "huge max-age saturates");
}

static void types(void)
{
	is_str(http_content_type("/a/b.m3u8"), "application/vnd.apple.mpegurl", "m3u8");
	is_str(http_content_type("/a/b.mpd"), "application/dash+xml", "mpd");
	is_str(http_content_type("/a/b.ts"), "video/mp2t", "ts");
	is_str(http_content_type("/a/b.m4s"), "video/iso.segment", "m4s");
	is_str(http_content_type("/a/b.MP4"), "video/mp4", "mp4, any case");
	is_str(http_content_type("/a.d/b"), "application/octet-stream", "dot in a directory only");
}

static void escaping(void)
{
	struct buf b;
	const char raw[] = "/v/a\r\nSet-Cookie: x=1 \"<\xc3\xa9>%41%zz";

	buf_init(&b, 0);
	http_uri_escape(&b, raw, strlen(raw));
	is_str(b.data, "/v/a%0D%0ASet-Cookie:%20x=1%20%22%3C%C3%A9%3E%41%25zz",
	       "CR, LF, space, quotes, <>, non-ASCII escaped; valid %%XX kept; bad %% escaped");
	buf_reset(&b);
	http_uri_escape(&b, "/a?b=c&d=e;f", 12);
	is_str(b.data, "/a?b=c&d=e;f", "URI delimiters kept");
	buf_free(&b);
	ok(http_header_value_safe("abc\tdef"), "tab is allowed in a header value");
	ok(!http_header_value_safe("abc\r\ndef"), "CRLF is not");
}

int main(void)
{
	paths();
	ranges();
	validators();
	types();
	escaping();
	return done_testing();
}
