/* verify.c, claims.c, container.c: RFC 9246 Appendix A, and every reject
 * rule with its §6.4 log code. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/err.h"
#include "common/tap.h"
#include "urisign/b64.h"
#include "urisign/urisign.h"

#define NOW 1700000000LL

static const char rfc_jwks[] =
	"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"P5UpOv0eMq1wcxLf7WxIg09JdSYGYFDOWkldueaImf0\","
	"\"use\":\"sig\",\"alg\":\"ES256\",\"crv\":\"P-256\","
	"\"x\":\"be807S4O7dzB6I4hTiCUvmxCI6FuxWba1xYBlLSSsZ8\","
	"\"y\":\"rOGC4vI69g-WF9AGEVI37sNNwbjIzBxSjLvIL7f3RBA\"},"
	"{\"kty\":\"oct\",\"kid\":\"f-WbjxBC3dPuI3d24kP2hfvos7Qz688UTi6aB0hN998\",\"use\":\"enc\","
	"\"alg\":\"A128GCM\",\"k\":\"4uFxxV7fhNmrtiah2d1fFg\"}]}";
static const char rfc_a1[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6IlA1VXBPdjBlTXExd2N4TGY3V3hJZzA5SmRTWUdZRkRPV2tsZHVlYUltZjAifQ"
	".eyJleHAiOjE2NDY4NjczNjksImlzcyI6InVDRE4gSW5jIiwiY2RuaXVjIjoiaGFzaDpzaGEtMjU2OzJ0ZGVyZldQ"
	"YTg2S3U3WW56VzUxWVVwN2RHVWpCU18zU1czRUx4NGhtV1kifQ.TaNlJM3D96i_9J9XvlICO6FUIDFTqt3E2YJkEU"
	"OLfcH0b89wYRKTbJ9Yj6h_GRgSoZoQO0cps3yUPcWGK3smCw";
static const char rfc_a2[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6IlA1VXBPdjBlTXExd2N4TGY3V3hJZzA5SmRTWUdZRkRPV2tsZHVlYUltZjAifQ"
	".eyJhdWQiOiJkQ0ROIExMQyIsInN1YiI6ImV5SmxibU1pT2lKQk1USTRSME5OSWl3aVlXeG5Jam9pWkdseUlpd2lh"
	"MmxrSWpvaVppMVhZbXA0UWtNelpGQjFTVE5rTWpSclVESm9ablp2Y3pkUmVqWTRPRlZVYVRaaFFqQm9Uams1T0NKOS"
	"4uQ0xBdTgweGNsYzhCcC1VaS42UDFBM0Y2aXAyRHYuQ29oZHRMTHBnQm5UdlJKUUNGdXotZyIsImNkbmlpcCI6ImV5"
	"SmxibU1pT2lKQk1USTRSME5OSWl3aVlXeG5Jam9pWkdseUlpd2lhMmxrSWpvaVppMVhZbXA0UWtNelpGQjFTVE5rTW"
	"pSclVESm9ablp2Y3pkUmVqWTRPRlZVYVRaaFFqQm9Uams1T0NKOS4uYVVEREZFUUJJYzNuV2pPYi5iR1hXVEhQa250"
	"bVBDS24wcFBQTkVRLml5VHR0bkZ5Yk8yWUJMcXdsX1lTakEiLCJjZG5pdiI6MSwiZXhwIjoxNjQ2ODY3MzY5LCJpYX"
	"QiOjE2NDY2OTQ1NjksImlzcyI6InVDRE4gSW5jIiwianRpIjoiNURBYWZMaFpBZmhzYmUiLCJuYmYiOjE2NDY3ODA5"
	"NjksImNkbml1YyI6InJlZ2V4Omh0dHA6Ly9jZG5pXFwuZXhhbXBsZS9mb28vYmFyL1swLTldezN9XFwucG5nIn0.Ij"
	"mVX0uD5MYqArc-M08uEsEeoDQn8kuYXZ9HGHDmDDxsHikT0c8jcX8xYD0z3LzQclMG65i1kT2sRbZ7isUw8w";
static const char rfc_a3[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6IlA1VXBPdjBlTXExd2N4TGY3V3hJZzA5SmRTWUdZRkRPV2tsZHVlYUltZjAifQ"
	".eyJjZG5pZXRzIjozMCwiY2RuaXN0dCI6MSwiY2RuaXN0ZCI6MiwiZXhwIjoxNjQ2ODY3MzY5LCJjZG5pdWMiOiJy"
	"ZWdleDpodHRwOi8vY2RuaVxcLmV4YW1wbGUvZm9vL2Jhci9bMC05XXszfVxcLnRzIn0.tlPvoKw3BCClw4Lx9PQu7M"
	"K6b2IN55ZoCPSaxovGK0zS53Wpb1MbJBow7G8LiGR39h6-2Iq7PWUSr3MdTIzHYw";
static const char rfc_a3_renewed[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6IlA1VXBPdjBlTXExd2N4TGY3V3hJZzA5SmRTWUdZRkRPV2tsZHVlYUltZjAifQ"
	".eyJjZG5pZXRzIjozMCwiY2RuaXN0dCI6MSwiY2RuaXN0ZCI6MiwiZXhwIjoxNjQ2ODY3Mzk5LCJjZG5pdWMiOiJy"
	"ZWdleDpodHRwOi8vY2RuaVxcLmV4YW1wbGUvZm9vL2Jhci9bMC05XXszfVxcLnRzIn0.ivY5d_fKGd-OHTpUs8uJUr"
	"nHvt-rduzu5H4zM7167pUUAghub53FqDQ5G16jRYX2sY73mA_uLpYDdb-CPts8FA";

/* Our own keys: csp (ES256) and ucdn (HS256), an encryption key. */
static struct jose_key *csp, *ucdn, *enc, *stranger;
static const uint8_t spki_a[32] = { 1, 2, 3 }, spki_b[32] = { 4, 5, 6 };

static struct us_verifier *verifier(const struct us_verifier_opts *o)
{
	struct us_verifier *v = NULL;
	json_t *c = NULL, *u = NULL, *e = NULL, *set;
	char err[256] = "";

	jose_key_to_json(csp, false, &c);
	jose_key_to_json(ucdn, true, &u);
	jose_key_to_json(enc, true, &e);
	set = json_pack("{s:{s:[o]},s:{s:[o,o]}}", "csp", "keys", c, "ucdn", "keys", u, e);
	if (us_verifier_new(o, &v, err, sizeof err) || us_verifier_load_keys(v, set, err, sizeof err))
		diag("verifier: %s", err);
	json_decref(set);
	return v;
}

/* Sign claims (taken) as iss with key for uri; returns the signed URI. */
static char *sign(const struct jose_key *k, json_t *claims, const char *uri)
{
	struct us_signer s = { .key = k };
	char *out = NULL;

	if (us_sign_uri(&s, claims, uri, NULL, US_IN_QUERY, &out, NULL))
		diag("sign failed for %s", uri);
	json_decref(claims);
	return out;
}

static char *sign_csp(json_t *claims, const char *uri)
{
	if (!json_object_get(claims, "iss"))
		json_object_set_new(claims, "iss", json_string("csp"));
	return sign(csp, claims, uri);
}

struct req {
	const char *cookie, *ip, *subject;
	const uint8_t *spki;
	long long now;
};

static int expect(struct us_verifier *v, const char *uri, const struct req *r, int code,
		  const char *name)
{
	struct us_request rq = { .uri = uri, .now = r && r->now ? r->now : NOW };
	struct us_verdict vd;
	int rc;

	if (r) {
		rq.cookie = r->cookie;
		rq.client_ip = r->ip;
		rq.subject = r->subject;
		rq.spki_sha256 = r->spki;
	}
	if (us_verify(v, &rq, &vd) != 0)
		return ok(0, "%s: us_verify failed", name);
	rc = is_int(vd.code, code, "%s", name);
	if (!rc || (code == 200) != vd.accept)
		diag("reason: %s (accept %d)", vd.reason, vd.accept);
	us_verdict_clear(&vd);
	return rc;
}

static void rfc_appendix(void)
{
	struct us_verifier *v = NULL;
	json_t *set = json_loads(rfc_jwks, 0, NULL);
	static const char *const aud[] = { "dCDN LLC" };
	struct us_verifier_opts o = { .audience = aud, .n_audience = 1 };
	char uri[4096], err[200];

	ok(us_verifier_new(&o, &v, err, sizeof err) == 0 &&
		   us_verifier_load_keys(v, set, err, sizeof err) == 0, "RFC 9246 JWK set loads");
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar?URISigningPackage=%s", rfc_a1);
	expect(v, uri, &(struct req){ .now = 1646867368 }, 200, "A.1 simple example verifies");
	expect(v, uri, &(struct req){ .now = 1646867369 }, 404, "A.1 at exp is expired (no leeway)");
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/baz?URISigningPackage=%s", rfc_a1);
	expect(v, uri, &(struct req){ .now = 1646867000 }, 411, "A.1 on another URI fails its hash");
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/123.png?URISigningPackage=%s", rfc_a2);
	expect(v, uri, &(struct req){ .now = 1646867000, .ip = "2001:db8:ffff::9",
				      .subject = "UserToken" },
	       200, "A.2 complex example verifies (cdniip and sub decrypted)");
	expect(v, uri, &(struct req){ .now = 1646867000, .ip = "2001:db8::1" }, 407,
	       "A.2 again: its jti was used for this content");
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/124.png?URISigningPackage=%s", rfc_a2);
	expect(v, uri, &(struct req){ .now = 1646867000, .ip = "2001:db9::1" }, 410,
	       "A.2 from outside 2001:db8::/32 is refused");
	expect(v, uri, &(struct req){ .now = 1646780968, .ip = "2001:db8::1" }, 405,
	       "A.2 before nbf is refused");
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/1234.png?URISigningPackage=%s", rfc_a2);
	expect(v, uri, &(struct req){ .now = 1646867000, .ip = "2001:db8::1" }, 411,
	       "A.2 on a URI outside its regex is refused");
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/001.ts?URISigningPackage=%s", rfc_a3);
	expect(v, uri, &(struct req){ .now = 1646867000 }, 200, "A.3 renewal example verifies");
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/002.ts?URISigningPackage=%s",
		 rfc_a3_renewed);
	expect(v, uri, &(struct req){ .now = 1646867398 }, 200, "A.3 renewed token verifies");
	expect(v, uri, &(struct req){ .now = 1646867399 }, 404, "A.3 renewed token expires at exp");
	json_decref(set);
	us_verifier_free(v);
}

static void carriage(struct us_verifier *v)
{
	char *u = sign_csp(json_pack("{s:I}", "exp", NOW + 60), "http://cdni.example/a/b.ts");
	char *tok = strstr(u, "=") + 1, ck[4096], path[4096];

	expect(v, u, NULL, 200, "form-style query parameter");
	snprintf(path, sizeof path, "http://cdni.example/a/b.ts;URISigningPackage=%s", tok);
	expect(v, path, NULL, 200, "path-style parameter");
	snprintf(ck, sizeof ck, "a=1; URISigningPackage=%s", tok);
	expect(v, "http://cdni.example/a/b.ts", &(struct req){ .cookie = ck }, 200, "cookie");
	expect(v, u, &(struct req){ .cookie = ck }, 200, "the same token in URI and cookie");
	expect(v, "http://cdni.example/a/b.ts", NULL, 0, "no token: 000, rejected");
	snprintf(path, sizeof path, "%s&URISigningPackage=%s", u, tok);
	expect(v, path, NULL, 500, "two packages in the URI: 500");
	char *other = sign_csp(json_pack("{s:I}", "exp", NOW + 61), "http://cdni.example/a/b.ts");
	snprintf(ck, sizeof ck, "URISigningPackage=%s", strstr(other, "=") + 1);
	expect(v, u, &(struct req){ .cookie = ck }, 500, "different tokens in URI and cookie: 500");
	snprintf(ck, sizeof ck, "URISigningPackage=%s; URISigningPackage=%s", tok,
		 strstr(other, "=") + 1);
	expect(v, "http://cdni.example/a/b.ts", &(struct req){ .cookie = ck }, 500,
	       "two different cookies: 500");
	expect(v, "/a/b.ts?URISigningPackage=x.y.z", NULL, 500, "a relative URI is malformed: 500");
	snprintf(path, sizeof path, "HTTP://CDNI.Example:80/a/./c/../b.ts?URISigningPackage=%s", tok);
	expect(v, path, NULL, 200, "the hash is over the normalized URI");
	static const char *const none[] = { NULL };
	struct us_verifier_opts po = { .prefer_uri_token = true, .issuers = none, .n_issuers = 0 };
	struct us_verifier *pv = verifier(&po);
	snprintf(ck, sizeof ck, "URISigningPackage=%s", strstr(other, "=") + 1);
	expect(pv, u, &(struct req){ .cookie = ck }, 200, "prefer_uri_token takes the URI's token");
	us_verifier_free(pv);
	free(other);
	free(u);
}

static void attribute_and_header(void)
{
	struct us_verifier_opts o = { .package_attribute = "tok" };
	struct us_verifier *v = verifier(&o);
	struct us_signer s = { .key = csp, .issuer = "csp" };
	char *u = NULL, *tok = NULL, *h, buf[4096];
	json_t *c = json_pack("{s:I}", "exp", NOW + 60);

	us_sign_uri(&s, c, "http://cdni.example/x", "tok", US_IN_QUERY, &u, &tok);
	expect(v, u, NULL, 200, "a configured package attribute name");
	snprintf(buf, sizeof buf, "http://cdni.example/x?URISigningPackage=%s", tok);
	expect(v, buf, NULL, 0, "the default name is then not looked at");
	us_verifier_free(v);
	/* §2.2: header from metadata */
	h = strndup(tok, (size_t)(strchr(tok, '.') - tok));
	o.package_attribute = NULL;
	o.jwt_header = h;
	v = verifier(&o);
	snprintf(buf, sizeof buf, "http://cdni.example/x?URISigningPackage=%s", strchr(tok, '.') + 1);
	expect(v, buf, NULL, 200, "§2.2: a token without header, header from config");
	us_verifier_free(v);
	json_decref(c);
	free(h);
	free(u);
	free(tok);
}

static void signature_rules(struct us_verifier *v)
{
	char *u = sign_csp(json_pack("{s:I}", "exp", NOW + 60), "http://cdni.example/s"), *t, buf[4096];

	t = strdup(u);
	t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
	expect(v, t, NULL, 400, "tampered signature: 400");
	free(t);
	expect(v, "http://cdni.example/s?URISigningPackage=garbage", NULL, 400, "garbage token: 400");
	expect(v, "http://cdni.example/s?URISigningPackage=", NULL, 400, "empty token: 400");
	expect(v, "http://cdni.example/s?URISigningPackage=e30.e30", NULL, 400, "two parts: 400");
	expect(v, "http://cdni.example/s?URISigningPackage=eyJhbGciOiJub25lIn0.eyJpc3MiOiJjc3AiLCJjZG5p"
		  "dWMiOiJyZWdleDouKiJ9.", NULL, 400, "alg none: 400");
	expect(v, "http://cdni.example/s?URISigningPackage=e%30.e30.AA", NULL, 400,
	       "percent-encoded token (not base64url): 400");
	t = malloc(10000);
	memcpy(t, u, strlen(u) + 1);
	memset(t + strlen(u), 'A', 9000);
	t[strlen(u) + 9000] = '\0';
	expect(v, t, NULL, 400, "oversized token: 400");
	free(t);
	/* unknown kid, and a key of another issuer */
	struct us_signer s = { .key = stranger };
	json_t *c = json_pack("{s:s,s:s}", "iss", "csp", "cdniuc", "regex:.*");
	t = NULL;
	us_sign_token(&s, c, &t);
	snprintf(buf, sizeof buf, "http://cdni.example/s?URISigningPackage=%s", t);
	expect(v, buf, NULL, 400, "unknown kid: 400");
	free(t);
	s.key = ucdn;
	us_sign_token(&s, c, &t);
	snprintf(buf, sizeof buf, "http://cdni.example/s?URISigningPackage=%s", t);
	expect(v, buf, NULL, 401, "signed with another issuer's key (kid elsewhere): 401");
	free(t);
	json_decref(c);
	free(u);
}

/* An HS256 token keyed with the EC public key's JWK text must fail. */
static void confusion(struct us_verifier *v)
{
	json_t *pub = NULL;
	char *text, *t = NULL, buf[4096];
	struct jose_key fake = { .kty = JOSE_KTY_OCT, .priv = true };

	jose_key_to_json(csp, false, &pub);
	text = json_dumps(pub, JSON_COMPACT);
	fake.k = (uint8_t *)text;
	fake.klen = strlen(text);
	fake.kid = csp->kid;
	json_t *claims = json_pack("{s:s,s:s}", "iss", "csp", "cdniuc", "regex:.*");
	jose_jws_sign(&fake, JOSE_HS256, NULL, claims, &t);
	json_decref(claims);
	snprintf(buf, sizeof buf, "http://cdni.example/c?URISigningPackage=%s", t);
	expect(v, buf, NULL, 400, "HS256 token MACed with the issuer's EC public key: 400");
	free(t);
	free(text);
	json_decref(pub);
}

static void issuer_rules(struct us_verifier *v)
{
	static const char *const only[] = { "ucdn" };
	struct us_verifier_opts o = { .issuers = only, .n_issuers = 1 };
	struct us_verifier *lim = verifier(&o);
	char *u = sign_csp(json_pack("{s:I}", "exp", NOW + 60), "http://cdni.example/i");
	char *w = sign(csp, json_pack("{s:s}", "iss", "nobody"), "http://cdni.example/i");
	char *n = sign(csp, json_pack("{s:i}", "iss", 5), "http://cdni.example/i");

	expect(lim, u, NULL, 401, "issuer outside the accepted list: 401");
	expect(v, w, NULL, 401, "issuer with no keys: 401");
	expect(v, n, NULL, 401, "iss not a string: 401");
	us_verifier_free(lim);
	free(u);
	free(w);
	free(n);
}

static void time_rules(struct us_verifier *v)
{
	char *a = sign_csp(json_pack("{s:I}", "exp", NOW), "http://cdni.example/t");
	char *b = sign_csp(json_pack("{s:s}", "exp", "soon"), "http://cdni.example/t");
	char *c = sign_csp(json_pack("{s:I}", "nbf", NOW + 1), "http://cdni.example/t");
	char *d = sign_csp(json_pack("{s:I}", "nbf", NOW), "http://cdni.example/t");
	char *e = sign_csp(json_pack("{s:f}", "exp", (double)NOW + 0.5), "http://cdni.example/t");
	char *f = sign_csp(json_pack("{s:s}", "iat", "yesterday"), "http://cdni.example/t");

	expect(v, a, NULL, 404, "exp equal to now: 404");
	expect(v, a, &(struct req){ .now = NOW - 1 }, 200, "one second before exp: 200");
	expect(v, b, NULL, 404, "exp not a number: 404");
	expect(v, c, NULL, 405, "nbf one second ahead: 405 (no leeway)");
	expect(v, d, NULL, 200, "nbf equal to now: 200");
	expect(v, e, NULL, 200, "a fractional exp half a second ahead: 200");
	expect(v, f, NULL, 400, "iat not a number: 400");
	free(a), free(b), free(c), free(d), free(e), free(f);
}

static void aud_sub_rules(void)
{
	static const char *const ids[] = { "dcdn-1", "dcdn.example" };
	struct us_verifier_opts o = { .audience = ids, .n_audience = 2 };
	struct us_verifier *v = verifier(&o), *noaud = verifier(NULL);
	char *a = sign_csp(json_pack("{s:s}", "aud", "dcdn.example"), "http://cdni.example/u");
	char *b = sign_csp(json_pack("{s:[s,s]}", "aud", "x", "dcdn-1"), "http://cdni.example/u");
	char *c = sign_csp(json_pack("{s:s}", "aud", "other"), "http://cdni.example/u");
	char *d = sign_csp(json_pack("{s:i}", "aud", 3), "http://cdni.example/u");
	json_t *sc = json_object();
	us_claims_set_encrypted(sc, "sub", "alice", enc);
	char *e = sign_csp(sc, "http://cdni.example/u");
	char *f = sign_csp(json_pack("{s:s}", "sub", "alice"), "http://cdni.example/u");

	expect(v, a, NULL, 200, "aud names this CDN: 200");
	expect(v, b, NULL, 200, "aud array holding this CDN: 200");
	expect(v, c, NULL, 403, "aud names another CDN: 403");
	expect(v, d, NULL, 403, "aud not a string: 403");
	expect(noaud, a, NULL, 403, "aud present, no identity configured: 403");
	expect(v, e, NULL, 200, "encrypted sub decrypts: 200");
	expect(v, e, &(struct req){ .subject = "alice" }, 200, "sub equals the expected subject");
	expect(v, e, &(struct req){ .subject = "bob" }, 402, "sub differs from the expected: 402");
	expect(v, f, NULL, 402, "plaintext sub (not a JWE): 402");
	free(a), free(b), free(c), free(d), free(e), free(f);
	us_verifier_free(v);
	us_verifier_free(noaud);
}

static void renewal_version_crit_rules(struct us_verifier *v)
{
	static const char *const u = "http://cdni.example/r";
	char *a = sign_csp(json_pack("{s:i}", "cdnistt", 1), u);
	char *b = sign_csp(json_pack("{s:i}", "cdniets", 30), u);
	char *c = sign_csp(json_pack("{s:i,s:i}", "cdnistt", 3, "cdniets", 30), u);
	char *d = sign_csp(json_pack("{s:i,s:i,s:i}", "cdnistt", 1, "cdniets", 30, "cdnistd", -1), u);
	char *e = sign_csp(json_pack("{s:i,s:i}", "cdnistt", 0, "cdniets", 0), u);
	char *f = sign_csp(json_pack("{s:i}", "cdniv", 2), u);
	char *g = sign_csp(json_pack("{s:s}", "cdniv", "1"), u);
	char *h = sign_csp(json_pack("{s:i}", "cdniv", 1), u);

	expect(v, a, NULL, 406, "cdnistt without cdniets: 406");
	expect(v, b, NULL, 406, "cdniets without cdnistt: 406");
	expect(v, c, NULL, 406, "cdnistt 3 (unregistered): 406");
	expect(v, d, NULL, 406, "negative cdnistd: 406");
	expect(v, e, NULL, 200, "cdnistt 0 with cdniets: 200 (§3.2.1)");
	expect(v, f, NULL, 408, "cdniv 2: 408");
	expect(v, g, NULL, 408, "cdniv as a string: 408");
	expect(v, h, NULL, 200, "cdniv 1: 200");
	free(a), free(b), free(c), free(d), free(e), free(f), free(g), free(h);
	char *k = sign_csp(json_pack("{s:s,s:i}", "cdnicrit", "foo", "foo", 1), u);
	char *l = sign_csp(json_pack("{s:s}", "cdnicrit", "exp"), u);
	char *m = sign_csp(json_pack("{s:s}", "cdnicrit", "cdnicb"), u);
	char *n = sign_csp(json_pack("{s:s}", "cdnicrit", ""), u);
	char *p = sign_csp(json_pack("{s:s,s:s}", "cdnicrit", "cdnicb,cdnicb", "cdnicb", "x"), u);
	char *q = sign_csp(json_pack("{s:i}", "cdnicrit", 1), u);
	expect(v, k, NULL, 409, "cdnicrit lists a claim not understood: 409");
	expect(v, l, NULL, 409, "cdnicrit lists a registered claim: 409");
	expect(v, m, NULL, 409, "cdnicrit lists an absent claim: 409");
	expect(v, n, NULL, 409, "cdnicrit empty: 409");
	expect(v, p, NULL, 409, "cdnicrit lists a name twice: 409");
	expect(v, q, NULL, 409, "cdnicrit not a string: 409");
	free(k), free(l), free(m), free(n), free(p), free(q);
}

static void cert_binding(struct us_verifier *v)
{
	json_t *c = json_object();
	char *u;

	us_claims_bind_cert(c, spki_a);
	is_str(json_string_value(json_object_get(c, "cdnicrit")), "cdnicb", "cdnicb is listed in cdnicrit");
	u = sign_csp(c, "https://edge.dcdn.example/v");
	expect(v, u, &(struct req){ .spki = spki_a }, 200, "cdnicb matches this edge's SPKI: 200");
	expect(v, u, &(struct req){ .spki = spki_b }, 409, "cdnicb names another certificate: 409");
	expect(v, u, NULL, 409, "cdnicb, but no certificate (plain HTTP): 409");
	free(u);
}

static void ip_rules(struct us_verifier *v)
{
	static const char *const cases[][3] = {
		{ "192.0.2.7", "192.0.2.7", "200" },     { "192.0.2.0/24", "192.0.2.200", "200" },
		{ "192.0.2.0/24", "192.0.3.1", "410" },  { "[2001:db8::1/32]", "2001:db8:1::1", "200" },
		{ "2001:db8::/32", "2001:db9::1", "410" }, { "192.0.2.7", "::ffff:192.0.2.7", "200" },
		{ "192.0.2.7", "2001:db8::1", "410" },   { "0.0.0.0/0", "203.0.113.9", "200" },
		{ "192.0.2.7/33", "192.0.2.7", "410" },  { "not-an-ip", "192.0.2.7", "410" },
		{ "192.0.2.7", NULL, "410" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *c = json_object();
		us_claims_set_encrypted(c, "cdniip", cases[i][0], enc);
		char *u = sign_csp(c, "http://cdni.example/ip");
		char name[160];
		snprintf(name, sizeof name, "cdniip %s, client %s: %s", cases[i][0],
			 cases[i][1] ? cases[i][1] : "(unknown)", cases[i][2]);
		expect(v, u, &(struct req){ .ip = cases[i][1] }, atoi(cases[i][2]), name);
		free(u);
	}
	char *p = sign_csp(json_pack("{s:s}", "cdniip", "192.0.2.7"), "http://cdni.example/ip");
	expect(v, p, &(struct req){ .ip = "192.0.2.7" }, 410, "plaintext cdniip (not a JWE): 410");
	free(p);
}

static void container_rules(struct us_verifier *v)
{
	static const char *const u = "http://cdni.example/dir/seg001.ts";
	char *a = sign_csp(json_pack("{s:s}", "cdniuc", "regex:http://cdni\\.example/dir/seg[0-9]+\\.ts"), u);
	char *b = sign_csp(json_pack("{s:s}", "cdniuc", "regex:http://cdni\\.example/dir"), u);
	char *c = sign_csp(json_pack("{s:s}", "cdniuc", "regex:([a-"), u);
	char *d = sign_csp(json_pack("{s:s}", "cdniuc", "glob:*"), u);
	char *e = sign_csp(json_pack("{s:s}", "cdniuc", "hash:md5;AAAA"), u);
	char *f = sign_csp(json_pack("{s:s}", "cdniuc", "hash:sha-256;AAAA"), u);
	char *g = sign_csp(json_pack("{s:i}", "cdniuc", 1), u);
	struct us_signer s = { .key = csp };
	char *t = NULL, buf[4096];

	expect(v, a, NULL, 200, "regex container matching the whole URI: 200");
	expect(v, b, NULL, 411, "regex matching only a prefix: 411 (whole URI must match)");
	expect(v, c, NULL, 411, "regex that does not compile: 411");
	expect(v, d, NULL, 411, "unknown container form: 411");
	expect(v, e, NULL, 411, "hash with an unsupported algorithm: 411");
	expect(v, f, NULL, 411, "hash of the wrong length: 411");
	expect(v, g, NULL, 411, "cdniuc not a string: 411");
	json_t *nc = json_pack("{s:s}", "iss", "csp");
	us_sign_token(&s, nc, &t);
	snprintf(buf, sizeof buf, "%s?URISigningPackage=%s", u, t);
	expect(v, buf, NULL, 411, "cdniuc missing (mandatory): 411");
	free(t);
	json_decref(nc);
	/* sha-256-128 (RFC 6920 truncated) of the same URI */
	char *h = NULL;
	us_container_hash(u, NULL, &h);
	uint8_t md[32];
	size_t n;
	b64url_decode(h + 13, strlen(h + 13), md, sizeof md, &n);
	char trunc[64] = "hash:sha-256-128;";
	b64url_encode(md, 16, trunc + strlen(trunc));
	char *k = sign_csp(json_pack("{s:s}", "cdniuc", trunc), u);
	expect(v, k, NULL, 200, "hash:sha-256-128 (truncated, RFC 6920): 200");
	free(h), free(k);
	free(a), free(b), free(c), free(d), free(e), free(f), free(g);
}

static void jti_rules(void)
{
	struct us_verifier *v = verifier(NULL);
	json_t *c = json_pack("{s:s,s:I,s:s}", "jti", "abc", "exp", NOW + 30, "cdniuc",
			      "regex:http://cdni\\.example/j/.*");
	char *a = sign_csp(json_deep_copy(c), "http://cdni.example/j/1");
	char *b = strdup(a), *n = sign_csp(json_pack("{s:i}", "jti", 5), "http://cdni.example/j/1");

	memcpy(strstr(b, "/j/1") + 3, "2", 1);
	expect(v, a, NULL, 200, "jti first use: 200");
	expect(v, a, NULL, 407, "jti replayed for the same content: 407");
	expect(v, b, NULL, 200, "same jti for other content: 200");
	expect(v, a, &(struct req){ .now = NOW + 31 }, 404, "after exp it is expiry that refuses");
	expect(v, n, NULL, 407, "jti not a string: 407");
	json_t *x = json_pack("{s:s,s:I}", "jti", "once", "exp", NOW + 30);
	char *bad = sign_csp(json_deep_copy(x), "http://cdni.example/j/3");
	expect(v, bad, &(struct req){ .now = NOW + 40 }, 404, "a refused request...");
	expect(v, bad, NULL, 200, "...does not use up the jti");
	json_decref(x);
	json_decref(c);
	free(a), free(b), free(n), free(bad);
	us_verifier_free(v);
}

static void load_errors(void)
{
	struct us_verifier *v = NULL;
	char err[256] = "";
	json_t *j;

	us_verifier_new(NULL, &v, err, sizeof err);
	j = json_loads("{\"csp\":{\"renewal_kid\":\"x\",\"strip_token\":true,\"id\":\"me\","
		       "\"keys\":[{\"kty\":\"oct\",\"kid\":\"x\",\"alg\":\"HS256\","
		       "\"k\":\"Kh_RkUMj-fzbD37qBnDf_3e_RvQ3RP9PaSmVEpE24AM\"}]}}", 0, NULL);
	is_int(us_verifier_load_keys(v, j, err, sizeof err), 0,
	       "a Traffic Server uri_signing config loads as an issuer map");
	json_decref(j);
	j = json_loads("{\"other\":{\"keys\":[{\"kty\":\"EC\"}]}}", 0, NULL);
	ok(us_verifier_load_keys(v, j, err, sizeof err) != 0 && strstr(err, "other: keys[0]"),
	   "a bad key is named by issuer and index: %s", err);
	json_decref(j);
	j = json_loads("{\"csp\":{\"keys\":[]}}", 0, NULL);
	is_int(us_verifier_load_keys(v, j, err, sizeof err), CDNI_EEXIST, "an issuer given twice");
	json_decref(j);
	is_int(us_verifier_load_keys_file(v, "/nonexistent/keys.json", err, sizeof err), CDNI_EIO,
	       "a missing key file is reported");
	us_verifier_free(v);
	v = NULL;
	struct us_verifier_opts o = { .package_attribute = "a&b" };
	ok(us_verifier_new(&o, &v, err, sizeof err) != 0 && !v,
	   "a package attribute with a reserved character is refused");
	is_str(us_code_text(411), "411", "code text");
	is_str(us_code_text(0), "000", "code 000 text");
}

static void config_table(void)
{
	char path[] = "/tmp/urisign-keys-XXXXXX", err[256] = "", *text;
	struct us_conf c = { 0 }, bad = { 0 };
	struct us_verifier *v = NULL;
	json_t *pub = NULL, *set;
	int fd = mkstemp(path);

	jose_key_to_json(csp, false, &pub);
	set = json_pack("{s:{s:[o]}}", "csp", "keys", pub);
	text = json_dumps(set, 0);
	ok(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "key file written");
	close(fd);
	char conf[512];
	snprintf(conf, sizeof conf, "{\"keys\":\"%s\",\"audience\":[\"dcdn\"],\"issuers\":[\"csp\"],"
		 "\"replay_slots\":1024}", path);
	ok(conf_load_string(us_conf_table, &c, conf, "t.json", err, sizeof err) == 0,
	   "the UriSigning config table loads: %s", err);
	ok(c.enforce && strcmp(c.package_attribute, "URISigningPackage") == 0, "defaults: enforce, attribute");
	ok(us_verifier_from_conf(&c, &v, err, sizeof err) == 0, "a verifier from the config");
	char *u = sign_csp(json_pack("{s:s}", "aud", "dcdn"), "http://cdni.example/conf");
	expect(v, u, NULL, 200, "it verifies with the configured keys and audience");
	free(u);
	is_int(conf_load_string(us_conf_table, &bad, "{\"enforse\":true}", "t.json", err, sizeof err),
	       CDNI_ECONFIG, "a misspelt key is refused");
	ok(strstr(err, "enforse") != NULL, "...naming it: %s", err);
	us_verifier_free(v);
	conf_free(us_conf_table, &c);
	conf_free(us_conf_table, &bad);
	unlink(path);
	free(text);
	json_decref(set);
}

struct thr {
	struct us_verifier *v;
	const char *uri;
	int accepted;
};

static void *thr_run(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 40; i++) {
		struct us_request rq = { .uri = t->uri, .now = NOW };
		struct us_verdict vd;
		if (us_verify(t->v, &rq, &vd) == 0 && vd.accept)
			t->accepted++;
		us_verdict_clear(&vd);
	}
	return NULL;
}

/* Four threads share a verifier: the regex cache and the jti store hold. */
static void threads(void)
{
	struct us_verifier *v = verifier(NULL);
	char *plain = sign_csp(json_pack("{s:s}", "cdniuc", "regex:http://cdni\\.example/t/[0-9]+"),
			       "http://cdni.example/t/1");
	char *once = sign_csp(json_pack("{s:s,s:I}", "jti", "shared", "exp", NOW + 60),
			      "http://cdni.example/t/2");
	struct thr t[8];
	pthread_t id[8];
	int sum_plain = 0, sum_once = 0;

	for (int i = 0; i < 8; i++) {
		t[i] = (struct thr){ .v = v, .uri = i < 4 ? plain : once };
		pthread_create(&id[i], NULL, thr_run, &t[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(id[i], NULL);
		*(i < 4 ? &sum_plain : &sum_once) += t[i].accepted;
	}
	is_int(sum_plain, 160, "4 threads x 40 verifications with a shared regex all accepted");
	is_int(sum_once, 1, "4 threads x 40 uses of one jti: exactly one accepted");
	free(plain);
	free(once);
	us_verifier_free(v);
}

int main(void)
{
	struct us_verifier *v;

	jose_key_generate(JOSE_ES256, 0, &csp);
	jose_key_generate(JOSE_HS256, 0, &ucdn);
	jose_key_generate(JOSE_A128GCM, 0, &enc);
	jose_key_generate(JOSE_ES256, 0, &stranger);
	v = verifier(NULL);
	rfc_appendix();
	carriage(v);
	attribute_and_header();
	signature_rules(v);
	confusion(v);
	issuer_rules(v);
	time_rules(v);
	aud_sub_rules();
	renewal_version_crit_rules(v);
	cert_binding(v);
	ip_rules(v);
	container_rules(v);
	jti_rules();
	load_errors();
	config_table();
	threads();
	us_verifier_free(v);
	jose_key_free(csp);
	jose_key_free(ucdn);
	jose_key_free(enc);
	jose_key_free(stranger);
	return done_testing();
}
