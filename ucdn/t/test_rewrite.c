/* ucdn/rewrite.c without sockets: the config checks of rewrite, api_path and
 * cors_origin, the signing key falling back to uri_signing's, and one
 * proxied document through the glue (which paths get a rewriter, which
 * answers are rewritten, chunks in, the body or the refusal out, the
 * origin_max_body bound, the access-log note). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/tap.h"
#include "ucdn/front.h"

static int load(const char *json, struct ucdn_conf *cf, char *err, size_t errlen)
{
	memset(cf, 0, sizeof *cf);
	err[0] = '\0';
	return conf_load_string(ucdn_conf_table, cf, json, "u.json", err, errlen);
}

static void expect_error(const char *json, const char *want)
{
	struct ucdn_conf cf;
	char err[512];
	int rc = load(json, &cf, err, sizeof err);

	if (rc == 0)
		rc = ucdn_rewrite_check(&cf, err, sizeof err);
	if (!ok(rc == CDNI_ECONFIG && strstr(err, want), "refused: %s", want))
		diag("rc %d, message '%s'", rc, err);
	ucdn_conf_free(&cf);
}

static void test_checks(void)
{
	expect_error("{\"listen\":[{}],\"origin\":\"http://o\",\"api_path\":\"api\"}", "api_path: must be a path");
	expect_error("{\"listen\":[{}],\"origin\":\"http://o\",\"api_path\":\"/a?b\"}", "api_path");
	expect_error("{\"listen\":[{}],\"origin\":\"http://o\",\"cors_origin\":\"\"}", "cors_origin");
	expect_error("{\"listen\":[{}],\"origin\":\"http://o\",\"cors_origin\":\"a\\nb\"}", "cors_origin");
	expect_error("{\"listen\":[{}],\"rewrite\":{\"prefixes\":[\"/v/\"]}}",
		     "rewrite.prefixes: rewriting needs an origin");
	expect_error("{\"listen\":[{}],\"origin\":\"http://o\",\"rewrite\":{\"prefixes\":[\"/v/\"],"
		     "\"default_cdn\":\"x\"}}", "rewrite.default_cdn: no CDN named \"x\"");
	expect_error("{\"listen\":[{}],\"origin\":\"http://o\",\"rewrite\":{\"prefixes\":[\"/v/\"],"
		     "\"default_sign\":\"uri\"}}", "rewrite.signing.key: is required");
}

/* A tiny HS256 key file for the fallback test. */
static void write_key(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs("{\"kty\":\"oct\",\"kid\":\"t\",\"alg\":\"HS256\","
		      "\"k\":\"yDlEBWTMNtLbBmPZ5I0iij9wIjgsU1OULpyg40xlgU4\"}\n", f);
		fclose(f);
	}
}

static const char *const playlist =
	"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nseg_0.ts\n#EXTINF:1,\nseg_1.ts\n";

/* A ucdn with only what the glue reads: its config and policy. */
struct fake {
	struct ucdn_conf cf;
	struct ucdn u;
};

static int fake_new(struct fake *f, const char *json)
{
	char err[512];

	memset(f, 0, sizeof *f);
	if (load(json, &f->cf, err, sizeof err) || ucdn_rewrite_policy(&f->cf, &f->u.rw, err, sizeof err)) {
		diag("%s", err);
		return -1;
	}
	f->u.cf = &f->cf;
	return 0;
}

static void fake_free(struct fake *f)
{
	rw_policy_free(f->u.rw);
	ucdn_conf_free(&f->cf);
}

static void test_fallback_key(void)
{
	char key[256], json[1024];
	struct fake f;
	struct ucdn_rw *w;
	char *body = NULL;
	size_t len = 0;

	snprintf(key, sizeof key, "%s/cdni-ucdn-rw-%d.jwk", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	write_key(key);
	snprintf(json, sizeof json,
		 "{\"listen\":[{}],\"origin\":\"http://o\",\"uri_signing\":{\"key\":\"%s\","
		 "\"issuer\":\"ucdn.test\"},\"rewrite\":{\"prefixes\":[\"/v/\"],\"cdns\":[{\"name\":\"e\","
		 "\"base\":\"https://e.test\",\"sign\":\"uri\"}],\"default_cdn\":\"e\"}}", key);
	if (!ok(fake_new(&f, json) == 0, "rewrite signs with uri_signing's key when it has none")) {
		unlink(key);
		return;
	}
	w = ucdn_rw_begin(&f.u, "https", "www.csp.test", "/v/a.m3u8");
	ok(w && ucdn_rw_headers(w, 200, NULL), "a rewriter for the playlist");
	ok(w && ucdn_rw_data(w, playlist, strlen(playlist)) == 0 && ucdn_rw_finish(w, &body, &len) == 0,
	   "rewritten");
	ok(body && strstr(body, "https://e.test/v/seg_0.ts?URISigningPackage=eyJ"), "segments signed");
	/* {"alg":"HS256","kid":"t"} then a payload starting {"iss":"ucdn.test" */
	ok(body && strstr(body, "?URISigningPackage=eyJhbGciOiJIUzI1NiIsImtpZCI6InQifQ.eyJpc3MiOiJ1Y2RuLnRlc3Qi"),
	   "with uri_signing's kid and issuer");
	free(body);
	ucdn_rw_free(w);
	fake_free(&f);
	unlink(key);
}

static void test_glue(void)
{
	struct fake f;
	struct ucdn_rw *w;
	char *body = NULL, note[128];
	size_t len = 0;

	if (fake_new(&f, "{\"listen\":[{}],\"origin\":\"http://o/pfx\",\"origin_max_body\":100,"
			 "\"rewrite\":{\"prefixes\":[\"/v/\"],\"formats\":[\"hls\",\"html\"],"
			 "\"cache_control\":\"private, max-age=2\",\"cdns\":[{\"name\":\"e\","
			 "\"base\":\"https://e.test\"}],\"default_cdn\":\"e\"}}")) {
		ok(0, "glue config");
		return;
	}
	ok(!ucdn_rw_begin(&f.u, "https", "h", "/x/a.m3u8"), "no rewriter outside the prefixes");
	ok(!ucdn_rw_begin(&f.u, "https", "h", "/v/seg.ts"), "none for a segment");
	ok(!ucdn_rw_begin(&f.u, "https", "h", "/v/a.mpd"), "none for a format not configured");
	w = ucdn_rw_begin(&f.u, "https", "h", "/v/a.m3u8?token=1");
	ok(w != NULL, "one for a playlist (query ignored)");
	ok(w && !ucdn_rw_headers(w, 404, "text/html") && !ucdn_rw_active(w), "a 404 is passed through");
	ucdn_rw_free(w);
	w = ucdn_rw_begin(&f.u, "https", "h", "/v/a.m3u8");
	ok(w && !ucdn_rw_headers(w, 200, "video/mp2t"), "a segment type is passed through");
	ucdn_rw_free(w);
	w = ucdn_rw_begin(&f.u, "https", "www.csp.test:8443", "/v/a.m3u8");
	ok(w && ucdn_rw_headers(w, 200, "application/vnd.apple.mpegurl") && ucdn_rw_active(w), "rewriting");
	ok(w && ucdn_rw_data(w, playlist, 20) == 0 && ucdn_rw_data(w, playlist + 20, strlen(playlist) - 20) == 0,
	   "fed in two pieces");
	ok(w && ucdn_rw_finish(w, &body, &len) == 0, "finished");
	is_str(body, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttps://e.test/v/seg_0.ts\n#EXTINF:1,\n"
		     "https://e.test/v/seg_1.ts\n", "the rewritten playlist");
	is_str(w ? ucdn_rw_type(w) : "", "application/vnd.apple.mpegurl", "its type");
	is_str(w ? ucdn_rw_cache_control(w) : "", "private, max-age=2", "rewrite.cache_control");
	if (w)
		ucdn_rw_note(w, note, sizeof note);
	is_str(w ? note : "", "rewritten hls: 2 URIs, 2 to dCDNs, 0 tokens", "the access-log note");
	free(body);
	ucdn_rw_free(w);
	w = ucdn_rw_begin(&f.u, "https", "h", "/v/a.m3u8");
	ucdn_rw_headers(w, 200, NULL);
	is_int(ucdn_rw_data(w, "#EXTM3U\n\x01\n", 10), CDNI_EPARSE, "binary: refused while streaming");
	ok(strstr(ucdn_rw_error(w), "binary data") != NULL, "with a reason: %s", ucdn_rw_error(w));
	ucdn_rw_free(w);
	w = ucdn_rw_begin(&f.u, "https", "h", "/v/a.m3u8");
	ucdn_rw_headers(w, 200, NULL);
	ucdn_rw_data(w, "#EXTM3U\n#EXTINF:1,\nseg", 22);
	is_int(ucdn_rw_finish(w, &body, &len), CDNI_EPARSE, "truncated: refused at the end");
	ok(strstr(ucdn_rw_error(w), "no line end") != NULL, "with a reason: %s", ucdn_rw_error(w));
	ucdn_rw_free(w);
	w = ucdn_rw_begin(&f.u, "https", "h", "/v/a.m3u8");
	ucdn_rw_headers(w, 200, NULL);
	is_int(ucdn_rw_data(w, playlist, strlen(playlist)), 0, "72 bytes: under origin_max_body");
	is_int(ucdn_rw_data(w, playlist + 8, strlen(playlist) - 8), CDNI_EOVERFLOW,
	       "136 bytes: over origin_max_body (100)");
	ucdn_rw_free(w);
	w = ucdn_rw_begin(&f.u, "https", "h", "/v/");
	ok(w && ucdn_rw_headers(w, 200, "text/html; charset=utf-8"), "a directory is an HTML page");
	ok(w && ucdn_rw_finish(w, &body, &len) == 0 && len == 0, "an empty page rewrites to nothing");
	free(body);
	ucdn_rw_free(w);
	fake_free(&f);
}

int main(void)
{
	test_checks();
	test_fallback_key();
	test_glue();
	return done_testing();
}
