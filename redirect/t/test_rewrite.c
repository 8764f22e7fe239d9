/* The rewriters: golden files (redirect/t/rw/, regenerate with
 * CDNI_REGOLD=1 and review the diff), the same output when the input comes
 * a byte at a time, malformed input refused with a reason (truncated,
 * binary, huge lines, bad attribute lists, invalid XML, DTDs and entity
 * bombs), policy config errors, and the tokens: they verify with the RFC
 * 9246 verifier for the URI they were made for, and only for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/tap.h"
#include "redirect/rewrite.h"
#include "urisign/urisign.h"

#define NOW 1700000000LL
#define ORIGIN "http://origin.csp.test:8081/prefix"

static char dir[512];

static char *slurp(const char *path, size_t *len)
{
	char *data = NULL;

	if (file_read_all(path, 64 << 20, &data, len))
		return NULL;
	return data;
}

static struct rw_policy *policy_file(const char *name)
{
	struct rw_conf c;
	struct rw_policy *p = NULL;
	char path[700], err[512];

	memset(&c, 0, sizeof c);
	snprintf(path, sizeof path, "%s/%s.policy.json", dir, name);
	if (conf_load_file(rw_conf_table, &c, path, err, sizeof err) ||
	    rw_policy_new(&p, &c, err, sizeof err))
		diag("%s", err);
	conf_free(rw_conf_table, &c);
	return p;
}

static struct rw_policy *policy_text(const char *json, char *err, size_t errlen)
{
	struct rw_conf c;
	struct rw_policy *p = NULL;

	memset(&c, 0, sizeof c);
	if (conf_load_string(rw_conf_table, &c, json, "rewrite", err, errlen) == 0)
		rw_policy_new(&p, &c, err, errlen);
	conf_free(rw_conf_table, &c);
	return p;
}

/* Rewrite in (as one piece, or byte by byte) into out; err gets why. */
static int run(const struct rw_policy *p, enum rw_format f, const char *url, const char *in,
	       size_t len, bool bytewise, struct buf *out, char *err, size_t errlen)
{
	struct rw_ctx *x = NULL;
	struct rw_stream *s = NULL;
	int rc = rw_ctx_new(&x, p, url, ORIGIN, NOW);

	buf_init(out, 0);
	if (!rc && !bytewise)
		rc = rw_rewrite(x, f, in, len, out, err, errlen);
	if (!rc && bytewise && !(rc = rw_stream_new(&s, f, x))) {
		for (size_t i = 0; i < len && !rc; i++)
			rc = rw_stream_feed(s, in + i, 1, out);
		if (!rc)
			rc = rw_stream_finish(s, out);
		snprintf(err, errlen, "%s", rw_stream_error(s));
		rw_stream_free(s);
	}
	rw_ctx_free(x);
	return rc;
}

/* ---- golden files ---- */

struct golden {
	const char *in, *policy, *url;
	enum rw_format f;
};

static const struct golden golden[] = {
	{ "media-ts.m3u8", "split", "https://www.csp.test/v/hls/media-ts.m3u8", RW_FMT_HLS },
	{ "fmp4-byterange.m3u8", "split", "https://www.csp.test/v/hls/fmp4.m3u8", RW_FMT_HLS },
	{ "aes-crlf.m3u8", "split", "https://www.csp.test/v/hls/aes.m3u8", RW_FMT_HLS },
	{ "multivariant.m3u8", "split", "https://www.csp.test/v/hls/master.m3u8", RW_FMT_HLS },
	{ "llhls.m3u8", "split", "https://www.csp.test:8443/v/ll/2M/live.m3u8?_HLS_msn=273", RW_FMT_HLS },
	{ "media-ts.m3u8", "rendition", "https://www.csp.test/v/hls/low/media-ts.m3u8", RW_FMT_HLS },
	{ "media-ts.m3u8", "bases", "https://www.csp.test/v/hls/media-ts.m3u8", RW_FMT_HLS },
	{ "media-ts.m3u8", "signed", "https://www.csp.test/v/hls/media-ts.m3u8", RW_FMT_HLS },
	{ "aes-crlf.m3u8", "signed", "https://www.csp.test/v/hls/aes.m3u8", RW_FMT_HLS },
	{ "llhls.m3u8", "signed", "https://www.csp.test/v/ll/2M/live.m3u8", RW_FMT_HLS },
	{ "dash-template.mpd", "split", "https://www.csp.test/v/dash/a.mpd", RW_FMT_DASH },
	{ "dash-template.mpd", "signed", "https://www.csp.test/v/dash/a.mpd", RW_FMT_DASH },
	{ "dash-inherit.mpd", "rendition", "https://www.csp.test/v/dash/inherit.mpd", RW_FMT_DASH },
	{ "dash-inherit.mpd", "bases", "https://www.csp.test/v/dash/inherit.mpd", RW_FMT_DASH },
	{ "dash-inherit.mpd", "split", "https://www.csp.test/v/dash/inherit.mpd", RW_FMT_DASH },
	{ "dash-list.mpd", "split", "https://www.csp.test/v/dash/list.mpd", RW_FMT_DASH },
	{ "dash-ondemand.mpd", "split", "https://www.csp.test/v/od/od.mpd", RW_FMT_DASH },
	{ "dash-xlink.mpd", "split", "https://www.csp.test/v/dash/xlink.mpd", RW_FMT_DASH },
	{ "dash-xlink.mpd", "bases", "https://www.csp.test/v/dash/xlink.mpd", RW_FMT_DASH },
	{ "interstitials.m3u8", "split", "https://www.csp.test/v/hls/live.m3u8", RW_FMT_HLS },
	{ "interstitials.m3u8", "bases", "https://www.csp.test/v/hls/live.m3u8", RW_FMT_HLS },
	{ "page-css.html", "split", "https://www.csp.test/v/site/css.html", RW_FMT_HTML },
	{ "sheet.css", "split", "https://www.csp.test/v/site/css/sheet.css", RW_FMT_CSS },
	{ "page.html", "split", "https://www.csp.test/v/site/index.html", RW_FMT_HTML },
	{ "page.html", "bases", "https://www.csp.test/v/site/index.html", RW_FMT_HTML },
};

static void golden_case(const struct golden *g)
{
	char in_path[700], out_path[800], err[512];
	size_t len = 0, want_len = 0;
	char *in, *want;
	struct rw_policy *p = policy_file(g->policy);
	struct buf out, out2;
	int rc;

	snprintf(in_path, sizeof in_path, "%s/%s", dir, g->in);
	snprintf(out_path, sizeof out_path, "%s/%.*s.%s.out", dir, (int)strcspn(g->in, "."), g->in,
		 g->policy);
	in = slurp(in_path, &len);
	if (!p || !in) {
		ok(0, "%s with %s: inputs load", g->in, g->policy);
		goto done;
	}
	rc = run(p, g->f, g->url, in, len, false, &out, err, sizeof err);
	if (rc)
		diag("%s", err);
	if (!rc && getenv("CDNI_REGOLD")) {
		FILE *f = fopen(out_path, "wb");
		if (f) {
			fwrite(out.data, 1, out.len, f);
			fclose(f);
		}
	}
	want = slurp(out_path, &want_len);
	is_mem(out.data, out.len, want ? want : "(missing)", want ? want_len : 9,
	       "%s with policy %s: as %s", g->in, g->policy, strrchr(out_path, '/') + 1);
	rc = run(p, g->f, g->url, in, len, true, &out2, err, sizeof err);
	is_mem(out2.data, out2.len, out.data, out.len, "%s with %s: the same a byte at a time",
	       g->in, g->policy);
	free(want);
	buf_free(&out);
	buf_free(&out2);
done:
	free(in);
	rw_policy_free(p);
}

static void test_golden(void)
{
	for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++)
		golden_case(&golden[i]);
}

/* ---- malformed input ---- */

struct bad {
	enum rw_format f;
	const char *in;
	size_t len; /* 0: strlen */
	const char *why; /* a piece of the message */
};

static const struct bad bad_inputs[] = {
	{ RW_FMT_HLS, "", 0, "empty body" },
	{ RW_FMT_HLS, "#EXTINF:1,\na.ts\n", 0, "first line is not #EXTM3U" },
	{ RW_FMT_HLS, "<html>\n", 0, "not an HLS playlist" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXTINF:1,\nseg_0", 0, "no line end (truncated" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k", 0, "no line end" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXTINF:1,\na\0b.ts\n", 26, "byte 0x00" },
	{ RW_FMT_HLS, "#EXTM3U\n\x89PNG\r\n\x1a\n", 0, "byte 0x89" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXTINF:1,\n\xc3\x28.ts\n", 0, "invalid UTF-8" },
	{ RW_FMT_HLS, "#EXTM3U\n\xed\xa0\x80.ts\n", 0, "invalid UTF-8" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k.bin\n", 0, "unterminated quoted" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-MAP:URI=init.mp4\n", 0, "not a quoted string" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-MAP:URI=\"a\",URI=\"b\"\n", 0, "twice" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-MAP:URI=\"a\"x\n", 0, "after a quoted string" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-MAP:URI=\"a\",\n", 0, "ends with a comma" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,=x,URI=\"a\"\n", 0, "NAME=VALUE" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-SESSION-DATA:DATA-ID=\"t\",VALUE=\"a \\\"q\\\" b\"\n", 0,
	  "after a quoted string" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n", 0, "without its URI" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a\n", 0, "unterminated" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-1\n", 0, "EXT-X-MEDIA-SEQUENCE" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:99999999999999999999\n", 0, "MEDIA-SEQUENCE" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-SKIP:SKIPPED-SEGMENTS=x\n", 0, "EXT-X-SKIP" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-DATERANGE:ID=\"a\",X-ASSET-URI=ad.m3u8\n", 0,
	  "X-ASSET-URI is not a quoted string" },
	{ RW_FMT_HLS, "#EXTM3U\n#EXT-X-DATERANGE:ID=\"a\",X-ASSET-LIST=\"a\",X-ASSET-LIST=\"b\"\n", 0,
	  "twice" },
	{ RW_FMT_DASH, "", 0, "not an XML document" },
	{ RW_FMT_DASH, "\x89PNG\r\n", 0, "not an XML document" },
	{ RW_FMT_DASH, "\xff\xfe<\0M\0P\0D\0/\0>\0", 14, "not an XML document" },
	{ RW_FMT_DASH, "<MPD><Period><AdaptationSet>", 0, "invalid XML" },
	{ RW_FMT_DASH, "<MPD><Period></MPD>", 0, "invalid XML" },
	{ RW_FMT_DASH, "<MPD>&undefined;</MPD>", 0, "invalid XML" },
	{ RW_FMT_DASH, "<MPD a=\"1\" a=\"2\"/>", 0, "invalid XML" },
	{ RW_FMT_DASH, "<html><body/></html>", 0, "root element is not MPD" },
	{ RW_FMT_DASH, "<?xml version=\"1.0\"?>\n<!DOCTYPE MPD [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		       "<MPD><BaseURL>&x;</BaseURL></MPD>", 0, "DOCTYPE" },
	{ RW_FMT_DASH, "<MPD><!ENTITY a \"b\"></MPD>", 0, "entity declaration" },
	{ RW_FMT_DASH, "<MPD><BaseURL>a/<b/>c</BaseURL></MPD>", 0, "holds an element" },
	{ RW_FMT_DASH, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><MPD><BaseURL>caf\xe9/</BaseURL></MPD>",
	  0, "invalid XML" },
	{ RW_FMT_DASH, "<MPD><Period><AdaptationSet><Representation><SegmentList><SegmentURL "
		       "media=\"a&unknown;b\"/></SegmentList></Representation></AdaptationSet></Period></MPD>",
	  0, "invalid XML" },
	{ RW_FMT_HTML, "<html>\0</html>", 14, "NUL byte" },
	{ RW_FMT_CSS, "a{b:url(c)}\0", 12, "NUL byte" },
};

static void test_bad_inputs(void)
{
	struct rw_policy *p = policy_file("split");
	const char *url[] = { NULL, "https://www.csp.test/v/a.m3u8", "https://www.csp.test/v/a.mpd",
			      NULL, "https://www.csp.test/v/a.html", NULL, NULL, NULL,
			      "https://www.csp.test/v/a.css" };
	char err[512];
	struct buf out;

	for (size_t i = 0; p && i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
		const struct bad *b = &bad_inputs[i];
		size_t len = b->len ? b->len : strlen(b->in);
		int rc = run(p, b->f, url[b->f], b->in, len, false, &out, err, sizeof err);
		ok(rc < 0 && strstr(err, b->why), "%s bad input %zu refused: %s", rw_format_name(b->f),
		   i, err);
		buf_free(&out);
		rc = run(p, b->f, url[b->f], b->in, len, true, &out, err, sizeof err);
		ok(rc < 0 && strstr(err, b->why), "... also a byte at a time");
		buf_free(&out);
	}
	rw_policy_free(p);
}

/* A line over max_line, in one piece and streamed in chunks. */
static void test_huge_lines(void)
{
	char err[512];
	struct rw_policy *p = policy_text("{\"prefixes\":[\"/v/\"],\"max_line\":1000}", err, sizeof err);
	size_t n = 5000;
	char *in = malloc(n + 20);
	struct rw_ctx *x = NULL;
	struct rw_stream *s = NULL;
	struct buf out;
	int rc = 0;

	memcpy(in, "#EXTM3U\n", 8);
	memset(in + 8, 'a', n);
	rc = run(p, RW_FMT_HLS, "https://h/v/a.m3u8", in, n + 8, false, &out, err, sizeof err);
	ok(rc < 0 && strstr(err, "max_line"), "a 5000-byte line is refused: %s", err);
	buf_free(&out);
	/* 1 GB of line is never collected: the stream stops at the limit */
	buf_init(&out, 0);
	rw_ctx_new(&x, p, "https://h/v/a.m3u8", NULL, NOW);
	rw_stream_new(&s, RW_FMT_HLS, x);
	rc = rw_stream_feed(s, in, 8, &out);
	for (long i = 0; i < 1000000 && !rc; i++)
		rc = rw_stream_feed(s, in + 8, 1000, &out);
	ok(rc < 0 && strstr(rw_stream_error(s), "max_line"), "an endless line stops at max_line: %s",
	   rw_stream_error(s));
	rw_stream_free(s);
	rw_ctx_free(x);
	buf_free(&out);
	memcpy(in + 8, "seg.ts\n", 7);
	rc = run(p, RW_FMT_HLS, "https://h/v/a.m3u8", in, 15, false, &out, err, sizeof err);
	is_int(rc, 0, "a short line is fine");
	buf_free(&out);
	free(in);
	rw_policy_free(p);
}

/* Billion laughs and a quadratic blow-up: refused at once. */
static void test_entity_bombs(void)
{
	struct rw_policy *p = policy_file("split");
	struct buf in, out;
	char err[512];
	long long t0;
	int rc;

	buf_init(&in, 0);
	buf_puts(&in, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
	for (int i = 1; i < 10; i++) {
		buf_printf(&in, " <!ENTITY lol%d \"", i);
		for (int j = 0; j < 10; j++)
			buf_printf(&in, "&lol%s;", i == 1 ? "" : "");
		buf_puts(&in, "\">\n");
	}
	buf_puts(&in, "]>\n<MPD><BaseURL>&lol9;</BaseURL></MPD>\n");
	t0 = now_us();
	rc = run(p, RW_FMT_DASH, "https://www.csp.test/v/a.mpd", in.data, in.len, false, &out, err,
		 sizeof err);
	ok(rc < 0 && strstr(err, "DOCTYPE"), "billion laughs refused: %s", err);
	ok(now_us() - t0 < 100000, "... in %lld us", now_us() - t0);
	buf_free(&out);
	buf_reset(&in);
	buf_puts(&in, "<MPD><BaseURL>");
	for (int i = 0; i < 100000; i++)
		buf_puts(&in, "&amp;");
	buf_puts(&in, "</BaseURL></MPD>");
	rc = run(p, RW_FMT_DASH, "https://www.csp.test/v/a.mpd", in.data, in.len, false, &out, err,
		 sizeof err);
	is_int(rc, 0, "100000 predefined entities are text, not a bomb");
	buf_free(&out);
	buf_reset(&in);
	for (int i = 0; i < 300; i++)
		buf_puts(&in, "<MPD>");
	rc = run(p, RW_FMT_DASH, "https://www.csp.test/v/a.mpd", in.data, in.len, false, &out, err,
		 sizeof err);
	ok(rc < 0, "300 levels deep refused: %s", err);
	buf_free(&out);
	buf_free(&in);
	rw_policy_free(p);
}

/* The DASH output is the input's bytes with values replaced: a BaseURL's
 * white space kept around its new text (an empty one means the MPD
 * itself: left alone), a copy into a self-closing prefixed
 * Representation closes it with its own prefix, a changed value keeps its
 * quotes and escapes what it must. */
static void test_dash_splice(void)
{
	static const struct { const char *policy, *in, *want; } cases[] = {
		{ "bases", "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><BaseURL/><BaseURL>\n ./x/\t</BaseURL></MPD>",
		  "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><BaseURL/><BaseURL>\n https://edge.dcdn.test/v/dash/x/\t</BaseURL></MPD>" },
		{ "rendition", "<m:MPD xmlns:m=\"urn:mpeg:dash:schema:mpd:2011\"><m:Period><m:AdaptationSet>"
		  "<m:SegmentTemplate media='$RepresentationID$/$Number$.m4s?a=1&amp;b=2'/>"
		  "<m:Representation id=\"v0\"/><m:Representation id=\"x\"/>"
		  "</m:AdaptationSet></m:Period></m:MPD>",
		  "<m:MPD xmlns:m=\"urn:mpeg:dash:schema:mpd:2011\"><m:Period><m:AdaptationSet>"
		  "<m:SegmentTemplate media='$RepresentationID$/$Number$.m4s?a=1&amp;b=2'/>"
		  "<m:Representation id=\"v0\"><m:SegmentTemplate media='https://a.dcdn.test/ca/v/dash/"
		  "$RepresentationID$/$Number$.m4s?a=1&amp;b=2'/></m:Representation>"
		  "<m:Representation id=\"x\"><m:SegmentTemplate media='https://b.dcdn.test/v/dash/"
		  "$RepresentationID$/$Number$.m4s?a=1&amp;b=2'/></m:Representation>"
		  "</m:AdaptationSet></m:Period></m:MPD>" },
		/* two owners of one type: the Period's initialization joins the
		 * copy of the AdaptationSet's template made for v0 */
		{ "rendition", "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><Period>"
		  "<SegmentTemplate initialization=\"$RepresentationID$/i.mp4\"/><AdaptationSet>"
		  "<SegmentTemplate media=\"$RepresentationID$/$Number$.m4s\"/><Representation id=\"v0\"/>"
		  "<Representation id=\"x\"><BaseURL>x/</BaseURL></Representation></AdaptationSet></Period></MPD>",
		  "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><Period>"
		  "<SegmentTemplate initialization=\"$RepresentationID$/i.mp4\"/><AdaptationSet>"
		  "<SegmentTemplate media=\"$RepresentationID$/$Number$.m4s\"/><Representation id=\"v0\">"
		  "<SegmentTemplate media=\"https://a.dcdn.test/ca/v/dash/$RepresentationID$/$Number$.m4s\" "
		  "initialization=\"https://a.dcdn.test/ca/v/dash/$RepresentationID$/i.mp4\"/></Representation>"
		  "<Representation id=\"x\"><BaseURL>https://b.dcdn.test/v/dash/x/</BaseURL></Representation>"
		  "</AdaptationSet></Period></MPD>" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rw_policy *p = policy_file(cases[i].policy);
		struct buf out;
		int rc = run(p, RW_FMT_DASH, "https://www.csp.test/v/dash/a.mpd", cases[i].in,
			     strlen(cases[i].in), false, &out, err, sizeof err);
		if (rc)
			diag("%s", err);
		is_str(out.data ? out.data : "", cases[i].want, "dash splice %zu", i);
		buf_free(&out);
		rw_policy_free(p);
	}
}

static void test_max_output(void)
{
	char err[512];
	struct rw_policy *p = policy_text(
		"{\"prefixes\":[\"/v/\"],\"max_output\":4096,\"default_cdn\":\"d\","
		"\"cdns\":[{\"name\":\"d\",\"base\":\"https://a-rather-long-name.dcdn.test/with/a/prefix\"}]}",
		err, sizeof err);
	struct buf in, out;
	int rc;

	buf_init(&in, 0);
	buf_puts(&in, "#EXTM3U\n");
	for (int i = 0; i < 200; i++)
		buf_printf(&in, "#EXTINF:1,\ns%d.ts\n", i);
	rc = run(p, RW_FMT_HLS, "https://h/v/a.m3u8", in.data, in.len, false, &out, err, sizeof err);
	ok(rc == CDNI_EOVERFLOW && strstr(err, "max_output"), "output over max_output refused: %s", err);
	buf_free(&out);
	buf_free(&in);
	rw_policy_free(p);
}

/* ---- policy config ---- */

static const char *const bad_policies[][2] = {
	{ "{\"rules\":[{\"cdn\":\"nope\"}]}", "rewrite.rules[0].cdn: no CDN named \"nope\"" },
	{ "{\"rules\":[{\"kinds\":[\"segments\"],\"cdn\":\"ucdn\"}]}", "rules[0].kinds[0]: unknown kind" },
	{ "{\"rules\":[{\"cdn\":\"ucdn\",\"mod\":2,\"rem\":2}]}", "rules[0].rem: must be below mod" },
	{ "{\"rules\":[{\"cdn\":\"ucdn\",\"rem\":1}]}", "rules[0].rem" },
	{ "{\"rules\":[{\"cdn\":\"ucdn\",\"prefix\":\"v/\"}]}", "rules[0].prefix: must start with /" },
	{ "{\"rules\":[{\"cdn\":\"ucdn\",\"manifest\":\"x\"}]}", "rules[0].manifest" },
	{ "{\"rules\":[{\"prefix\":\"/v/\"}]}", "cdn" },
	{ "{\"rules\":[{\"cdn\":\"ucdn\",\"sign\":\"always\"}]}", "sign" },
	{ "{\"cdns\":[{\"name\":\"ucdn\",\"base\":\"https://x\"}]}", "cdns[0].name" },
	{ "{\"cdns\":[{\"name\":\"a b\",\"base\":\"https://x\"}]}", "cdns[0].name" },
	{ "{\"cdns\":[{\"name\":\"a\",\"base\":\"https://x\"},{\"name\":\"a\",\"base\":\"https://y\"}]}",
	  "cdns[1].name: \"a\" is used twice" },
	{ "{\"cdns\":[{\"name\":\"a\",\"base\":\"ftp://x\"}]}", "cdns[0].base" },
	{ "{\"cdns\":[{\"name\":\"a\",\"base\":\"https://x/?q\"}]}", "cdns[0].base" },
	{ "{\"cdns\":[{\"name\":\"a\",\"base\":\"https://u@x/\"}]}", "cdns[0].base" },
	{ "{\"cdns\":[{\"name\":\"a\",\"base\":\"https://x/a b\"}]}", "cdns[0].base" },
	{ "{\"cdns\":[{\"name\":\"a\",\"base\":\"https:///p\"}]}", "cdns[0].base" },
	{ "{\"default_cdn\":\"x\"}", "rewrite.default_cdn: no CDN named \"x\"" },
	{ "{\"prefixes\":[\"v\"]}", "rewrite.prefixes[0]: must start with /" },
	{ "{\"formats\":[\"smooth\"]}", "rewrite.formats[0]" },
	{ "{\"hosts\":[\"http://x\"]}", "rewrite.hosts[0]" },
	{ "{\"max_line\":10}", "max_line" },
	{ "{\"cache_control\":\"a\\nb\"}", "rewrite.cache_control" },
	{ "{\"cdns\":[{\"name\":\"a\",\"base\":\"https://x\",\"sign\":\"uri\"}],\"default_cdn\":\"a\"}",
	  "rewrite.signing.key: is required when some URI is signed" },
	{ "{\"default_sign\":\"uri\",\"signing\":{\"key\":\"/nonexistent.jwk\"}}",
	  "rewrite.signing.key: /nonexistent.jwk" },
	{ "{\"signing\":{\"package_attribute\":\"a=b\"}}", "package_attribute" },
	{ "{\"cdnz\":[]}", "cdnz: unknown key" },
	{ "{\"signing\":{\"lifetime\":0}}", "lifetime" },
};

static void test_policy_errors(void)
{
	char err[512];

	for (size_t i = 0; i < sizeof bad_policies / sizeof bad_policies[0]; i++) {
		struct rw_policy *p;
		err[0] = '\0';
		p = policy_text(bad_policies[i][0], err, sizeof err);
		ok(!p && strstr(err, bad_policies[i][1]), "policy %s refused: %s", bad_policies[i][0], err);
		rw_policy_free(p);
	}
}

static void test_candidates(void)
{
	char err[512];
	struct rw_policy *p = policy_text("{\"prefixes\":[\"/v/\",\"/live/\"],\"formats\":[\"hls\",\"html\"]}",
					  err, sizeof err);

	ok(rw_policy_enabled(p), "enabled with prefixes");
	is_int(rw_policy_candidate(p, "/v/a.m3u8", 9), RW_FMT_HLS, "m3u8 under a prefix");
	is_int(rw_policy_candidate(p, "/live/x/A.M3U", 13), RW_FMT_HLS, "m3u, any case");
	is_int(rw_policy_candidate(p, "/v/a.mpd", 8), RW_FMT_NONE, "dash not configured");
	is_int(rw_policy_candidate(p, "/x/a.m3u8", 9), RW_FMT_NONE, "not under a prefix");
	is_int(rw_policy_candidate(p, "/v/", 3), RW_FMT_HTML, "a directory: html");
	is_int(rw_policy_candidate(p, "/v/seg.ts", 9), RW_FMT_NONE, "a segment");
	is_int(rw_policy_format(p, "application/vnd.apple.mpegURL; charset=x", RW_FMT_NONE), RW_FMT_HLS,
	       "HLS by type");
	is_int(rw_policy_format(p, "text/plain", RW_FMT_HLS), RW_FMT_HLS, "text/plain: by path");
	is_int(rw_policy_format(p, "video/mp2t", RW_FMT_HLS), RW_FMT_NONE, "a segment type: left alone");
	is_int(rw_policy_format(p, "application/dash+xml", RW_FMT_NONE), RW_FMT_NONE,
	       "a format not configured: left alone");
	is_int(rw_policy_format(p, NULL, RW_FMT_HTML), RW_FMT_HTML, "no type: by path");
	is_int(rw_policy_candidate(p, "/v/a.css", 8), RW_FMT_NONE, "css not configured");
	rw_policy_free(p);
	p = policy_text("{\"prefixes\":[\"/v/\"]}", err, sizeof err);
	is_int(rw_policy_candidate(p, "/v/a.css", 8), RW_FMT_NONE, "css is not among the defaults");
	rw_policy_free(p);
	p = policy_text("{\"prefixes\":[\"/v/\"],\"formats\":[\"css\"]}", err, sizeof err);
	is_int(rw_policy_candidate(p, "/v/s/a.css", 10), RW_FMT_CSS, "css when configured");
	is_int(rw_policy_format(p, "text/css; charset=utf-8", RW_FMT_NONE), RW_FMT_CSS, "CSS by type");
	rw_policy_free(p);
	p = policy_text("{}", err, sizeof err);
	ok(p && !rw_policy_enabled(p), "no prefixes: off");
	rw_policy_free(p);
}

/* ---- tokens ---- */

struct keys {
	char path[600];
	json_t *jwks;
};

static int make_key(struct keys *k)
{
	struct jose_key *key = NULL;
	json_t *priv = NULL, *pub = NULL;
	int rc = jose_key_generate(JOSE_ES256, 0, &key);

	snprintf(k->path, sizeof k->path, "%s/cdni-rw-test-%d.jwk", getenv("TMPDIR") ? getenv("TMPDIR")
				: "/tmp", (int)getpid());
	if (!rc)
		rc = jose_key_to_json(key, true, &priv) || jose_key_to_json(key, false, &pub);
	if (!rc)
		rc = json_dump_file(priv, k->path, 0);
	k->jwks = pub ? json_pack("{s:[O]}", "keys", pub) : NULL;
	json_decref(priv);
	json_decref(pub);
	jose_key_free(key);
	return rc || !k->jwks;
}

static struct us_verifier *verifier(const struct keys *k)
{
	struct us_verifier_opts o = { .audience = (const char *[]){ "dcdn.test" }, .n_audience = 1 };
	struct us_verifier *v = NULL;
	char err[256];

	if (us_verifier_new(&o, &v, err, sizeof err) ||
	    us_verifier_add_keys(v, "ucdn.test", k->jwks, err, sizeof err))
		diag("%s", err);
	return v;
}

static int verdict(struct us_verifier *v, const char *uri, json_t **claims)
{
	struct us_request rq = { .uri = uri, .now = NOW + 10 };
	struct us_verdict vd;
	int code;

	if (us_verify(v, &rq, &vd))
		return -1;
	code = vd.code;
	if (claims)
		*claims = json_incref(vd.claims);
	us_verdict_clear(&vd);
	return code;
}

/* The line of out holding needle (without its line end), copied to line. */
static bool find_line(const struct buf *out, const char *needle, char *line, size_t len)
{
	const char *p = out->data ? strstr(out->data, needle) : NULL, *s, *e;

	if (!p)
		return false;
	for (s = p; s > out->data && s[-1] != '\n' && s[-1] != '"'; s--)
		;
	e = s + strcspn(s, "\n\"");
	snprintf(line, len, "%.*s", (int)(e - s), s);
	return true;
}

/* seg URI with its token moved onto another URI of the same place. */
static void swap_path(char *uri, const char *from, const char *to)
{
	char *at = strstr(uri, from), tmp[4096];

	if (!at)
		return;
	snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(at - uri), uri, to, at + strlen(from));
	strcpy(uri, tmp);
}

static void hls_tokens(struct rw_policy *p, struct us_verifier *v)
{
	const char *in = "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k/enc.key\"\n"
			 "#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:1,\nseg_000.m4s\n#EXTINF:1,\nseg_001.m4s\n"
			 "#EXT-X-PART:DURATION=1,URI=\"part.m4s\"\n";
	char err[512], line[4096];
	json_t *c = NULL;
	struct buf out;

	if (run(p, RW_FMT_HLS, "https://www.csp.test/v/hls/x.m3u8", in, strlen(in), false, &out, err,
		sizeof err))
		diag("%s", err);
	ok(find_line(&out, "seg_000.m4s?URISigningPackage=", line, sizeof line), "segment signed");
	is_int(verdict(v, line, NULL), 200, "its token verifies");
	swap_path(line, "seg_000", "seg_001");
	is_int(verdict(v, line, NULL), 411, "... for that segment only (411 on another)");
	ok(find_line(&out, "init.mp4?URISigningPackage=", line, sizeof line), "init signed (path)");
	is_int(verdict(v, line, &c), 200, "the path token verifies");
	is_int(json_integer_value(json_object_get(c, "cdnistd")), 2, "cdnistd: depth of /v/hls/");
	is_int(json_integer_value(json_object_get(c, "cdnistt")), 1, "cdnistt 1 (cookie renewal)");
	is_int(json_integer_value(json_object_get(c, "cdniets")), 30, "cdniets from renew_ets");
	is_int(json_integer_value(json_object_get(c, "exp")), NOW + 300, "exp = now + lifetime");
	json_decref(c);
	swap_path(line, "init.mp4", "anything/else.m4s");
	is_int(verdict(v, line, NULL), 200, "... for every URI under the directory");
	swap_path(line, "/v/hls/", "/v/other/");
	is_int(verdict(v, line, NULL), 411, "... and no other (411)");
	ok(find_line(&out, "part.m4s?URISigningPackage=", line, sizeof line), "part signed (renew)");
	is_int(verdict(v, line, &c), 200, "renew token verifies");
	is_int(json_integer_value(json_object_get(c, "cdnistt")), 2, "cdnistt 2");
	json_decref(c);
	ok(strstr(out.data, "URI=\"k/enc.key?URISigningPackage=") != NULL,
	   "the key stays relative (uCDN), with a token");
	find_line(&out, "k/enc.key?", line, sizeof line);
	snprintf(err, sizeof err, "https://www.csp.test/v/hls/%s", line);
	is_int(verdict(v, err, NULL), 200, "the key's token verifies for the uCDN URL");
	buf_free(&out);
}

static void dash_tokens(struct rw_policy *p, struct us_verifier *v)
{
	const char *in = "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><Period><AdaptationSet>"
			 "<Representation id=\"v0\"><SegmentTemplate media=\"c-$RepresentationID$-"
			 "$Number%05d$.m4s\" initialization=\"i-$RepresentationID$.m4s\"/>"
			 "</Representation></AdaptationSet></Period></MPD>";
	char err[512], line[4096];
	struct buf out;

	if (run(p, RW_FMT_DASH, "https://www.csp.test/v/dash/a.mpd", in, strlen(in), false, &out, err,
		sizeof err))
		diag("%s", err);
	ok(find_line(&out, "c-$RepresentationID$-$Number%05d$.m4s?URISigningPackage=", line,
		     sizeof line), "template signed, identifiers kept: %.80s", line);
	swap_path(line, "$RepresentationID$-$Number%05d$", "v0-00007");
	is_int(verdict(v, line, NULL), 200, "the template's token verifies for an expansion");
	swap_path(line, "v0-00007", "v0-12345678");
	is_int(verdict(v, line, NULL), 200, "... any number");
	swap_path(line, "v0-12345678", "v1-00007");
	is_int(verdict(v, line, NULL), 411, "... not another representation's");
	swap_path(line, "c-v1-00007", "c-v0-0000x");
	is_int(verdict(v, line, NULL), 411, "... nor a non-number");
	buf_free(&out);
}

static void test_tokens(void)
{
	struct keys k;
	char json[1200], err[512];
	struct rw_policy *p;
	struct us_verifier *v;

	if (make_key(&k)) {
		ok(0, "make a test key");
		return;
	}
	snprintf(json, sizeof json,
		 "{\"prefixes\":[\"/v/\"],\"cdns\":[{\"name\":\"e\",\"base\":\"https://edge.dcdn.test:9443\","
		 "\"sign\":\"uri\"}],\"default_cdn\":\"e\",\"rules\":["
		 "{\"kinds\":[\"init\"],\"cdn\":\"e\",\"sign\":\"path\"},"
		 "{\"kinds\":[\"part\"],\"cdn\":\"e\",\"sign\":\"renew\"},"
		 "{\"kinds\":[\"key\"],\"cdn\":\"ucdn\",\"sign\":\"uri\"}],"
		 "\"signing\":{\"key\":\"%s\",\"issuer\":\"ucdn.test\",\"audience\":\"dcdn.test\","
		 "\"lifetime\":300,\"renew_ets\":30}}", k.path);
	p = policy_text(json, err, sizeof err);
	v = verifier(&k);
	ok(p && v, "ES256 policy and verifier: %s", p ? "ok" : err);
	if (p && v) {
		hls_tokens(p, v);
		dash_tokens(p, v);
	}
	us_verifier_free(v);
	rw_policy_free(p);
	json_decref(k.jwks);
	unlink(k.path);
}

/* Mutated golden inputs (flipped bytes, cuts, quotes, angle brackets,
 * NULs, dollars): every rewriter answers 0 or a negative code, never
 * crashes (run under ASan), and what it accepts holds no NUL. */
static void test_mutations(void)
{
	static const char noise[] = "\"\0<>$&;#\n\r,=%/?";
	struct rw_policy *p = policy_file("signed");
	unsigned long long seed = 0x9e3779b97f4a7c15ull;
	int crashes = 0, refused = 0, accepted = 0, nul = 0;
	char path[700], err[512];

	for (size_t g = 0; p && g < sizeof golden / sizeof golden[0]; g++) {
		size_t len = 0;
		char *in;
		snprintf(path, sizeof path, "%s/%s", dir, golden[g].in);
		if (!(in = slurp(path, &len)) || !len)
			continue;
		for (int round = 0; round < 150; round++) {
			char *m = malloc(len);
			size_t n = len;
			struct buf out;
			int rc;
			memcpy(m, in, len);
			for (int k = 0; k < 1 + round % 5; k++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				size_t at = (size_t)(seed >> 33) % n;
				if (k == 0 && round % 7 == 0)
					n = at + 1; /* cut */
				else
					m[at] = noise[(seed >> 20) % (sizeof noise - 1)];
			}
			rc = run(p, golden[g].f, golden[g].url, m, n, false, &out, err, sizeof err);
			crashes += rc > 0;
			refused += rc < 0;
			accepted += rc == 0;
			nul += rc == 0 && out.len && memchr(out.data, '\0', out.len) != NULL &&
			       golden[g].f == RW_FMT_HLS;
			buf_free(&out);
			free(m);
		}
		free(in);
	}
	ok(crashes == 0, "mutated inputs: only 0 or negative codes (%d accepted, %d refused)",
	   accepted, refused);
	ok(refused > 0 && accepted > 0, "... some refused, some accepted");
	is_int(nul, 0, "no accepted HLS output holds a NUL");
	rw_policy_free(p);
}

static void test_api(void)
{
	char err[512];
	struct rw_policy *p = policy_file("split");
	struct rw_ctx *x = NULL;
	struct rw_answer a;

	rw_ctx_new(&x, p, "https://www.csp.test/.cdni/api", ORIGIN, NOW);
	ok(x && rw_ctx_answer(x, "/v/img/logo.png", RW_K_ASSET, &a) == 0, "API answer");
	is_str(a.url, "https://edge2.dcdn.test/pfx/v/img/logo.png", "URL on the chosen dCDN");
	is_str(a.cdn, "odd", "named");
	ok(!a.token && !a.expires, "unsigned");
	rw_answer_clear(&a);
	ok(rw_ctx_answer(x, "/v/page.html", RW_K_LINK, &a) == 0, "API answer for a page");
	is_str(a.url, "https://www.csp.test/v/page.html", "stays on the uCDN, absolute");
	is_str(a.cdn, "ucdn", "named ucdn");
	rw_answer_clear(&a);
	ok(rw_ctx_answer(x, "https://elsewhere.example/a.png", RW_K_ASSET, &a) == 0 && !a.cdn,
	   "a foreign URL is no CDN's");
	rw_answer_clear(&a);
	rw_ctx_free(x);
	ok(rw_ctx_new(&x, p, "/relative", NULL, NOW) == CDNI_EINVAL, "a ctx needs an absolute base");
	ok(rw_ctx_new(&x, p, "https://a\"b/v/x.m3u8", NULL, NOW) == CDNI_EINVAL &&
	   rw_ctx_new(&x, p, "https://h/v/a b.m3u8", NULL, NOW) == CDNI_EINVAL,
	   "... of URI characters only (it may be written into documents)");
	rw_policy_free(p);
	(void)err;
}

int main(void)
{
	const char *top = getenv("CDNI_TOP");

	snprintf(dir, sizeof dir, "%s/redirect/t/rw", top ? top : ".");
	if (top && chdir(top) != 0)
		diag("cannot chdir to %s", top);
	test_golden();
	test_dash_splice();
	test_bad_inputs();
	test_huge_lines();
	test_entity_bombs();
	test_max_output();
	test_policy_errors();
	test_candidates();
	test_tokens();
	test_mutations();
	test_api();
	return done_testing();
}
