/* sign.c: signing URIs, Signed Token Renewal (§3) and re-signing for
 * redirection (§4.3, Figure 3, with the claim rules of §2.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "urisign/b64.h"
#include "urisign/urisign.h"

#define NOW 1700000000LL

static const char rfc_priv[] =
	"{\"kty\":\"EC\",\"kid\":\"P5UpOv0eMq1wcxLf7WxIg09JdSYGYFDOWkldueaImf0\",\"use\":\"sig\","
	"\"alg\":\"ES256\",\"crv\":\"P-256\",\"x\":\"be807S4O7dzB6I4hTiCUvmxCI6FuxWba1xYBlLSSsZ8\","
	"\"y\":\"rOGC4vI69g-WF9AGEVI37sNNwbjIzBxSjLvIL7f3RBA\","
	"\"d\":\"yaowezrCLTU6yIwUL5RQw67cHgvZeMTLVZXjUGb1A1M\"}";
static const char rfc_a3[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6IlA1VXBPdjBlTXExd2N4TGY3V3hJZzA5SmRTWUdZRkRPV2tsZHVlYUltZjAifQ"
	".eyJjZG5pZXRzIjozMCwiY2RuaXN0dCI6MSwiY2RuaXN0ZCI6MiwiZXhwIjoxNjQ2ODY3MzY5LCJjZG5pdWMiOiJy"
	"ZWdleDpodHRwOi8vY2RuaVxcLmV4YW1wbGUvZm9vL2Jhci9bMC05XXszfVxcLnRzIn0.tlPvoKw3BCClw4Lx9PQu7M"
	"K6b2IN55ZoCPSaxovGK0zS53Wpb1MbJBow7G8LiGR39h6-2Iq7PWUSr3MdTIzHYw";

static struct jose_key *csp, *ucdn, *enc;
static const uint8_t spki_a[32] = { 1, 2, 3 }, spki_b[32] = { 9, 9, 9 };

/* A verifier trusting issuer -> key (public part), plus the enc key. */
static struct us_verifier *verifier_for(const char *iss, const struct jose_key *k)
{
	struct us_verifier *v = NULL;
	json_t *pub = NULL, *e = NULL, *set;
	char err[200];

	jose_key_to_json(k, k->kty == JOSE_KTY_OCT, &pub);
	jose_key_to_json(enc, true, &e);
	set = json_pack("{s:[o,o]}", "keys", pub, e);
	us_verifier_new(NULL, &v, err, sizeof err);
	if (us_verifier_add_keys(v, iss, set, err, sizeof err))
		diag("verifier_for: %s", err);
	json_decref(set);
	return v;
}

static int verify(struct us_verifier *v, const char *uri, const char *cookie, const uint8_t *spki,
		  long long now, struct us_verdict *vd)
{
	struct us_request rq = { .uri = uri, .cookie = cookie, .now = now, .spki_sha256 = spki,
				 .client_ip = "192.0.2.7" };
	if (us_verify(v, &rq, vd))
		return -1;
	if (!vd->accept)
		diag("%s: %s %s", uri, us_code_text(vd->code), vd->reason);
	return vd->code;
}

static void test_sign_uri(void)
{
	struct us_signer s = { .key = csp, .issuer = "csp" };
	struct us_verifier *v = verifier_for("csp", csp);
	struct us_verdict vd;
	char *u = NULL, *t = NULL, *h = NULL;

	ok(us_sign_uri(&s, NULL, "http://cdni.example/foo/bar", NULL, US_IN_QUERY, &u, &t) == 0,
	   "sign a URI with no other claims");
	ok(u && strncmp(u, "http://cdni.example/foo/bar?URISigningPackage=", 46) == 0 &&
		   strcmp(u + 46, t) == 0, "the token goes into the query");
	is_int(verify(v, u, NULL, NULL, NOW, &vd), 200, "and verifies");
	is_str(json_string_value(json_object_get(vd.claims, "iss")), "csp", "iss from the signer");
	us_container_hash("http://cdni.example/foo/bar", NULL, &h);
	is_str(h, "hash:sha-256;2tderfWPa86Ku7YnzW51YUp7dGUjBS_3SW3ELx4hmWY",
	       "hash container of RFC 9246 A.1's URI");
	is_str(json_string_value(json_object_get(vd.claims, "cdniuc")), h, "cdniuc is that hash");
	us_verdict_clear(&vd);
	free(u), free(t), free(h);
	ok(us_sign_uri(&s, NULL, "http://cdni.example/foo/bar?x=1", NULL, US_IN_PATH, &u, NULL) == 0,
	   "sign with a path-style parameter");
	is_str(u ? strstr(u, ";URISigningPackage=") ? "path" : u : "", "path", "token is a path parameter");
	is_int(verify(v, u, NULL, NULL, NOW, &vd), 200, "path-style verifies");
	us_verdict_clear(&vd);
	free(u);
	us_verifier_free(v);
}

static void test_renewal_a3(void)
{
	json_t *j = json_loads(rfc_priv, 0, NULL);
	struct jose_key *rk = NULL;
	struct us_verifier *v;
	struct us_verdict vd, vd2;
	struct us_renewal rn;
	struct us_signer s;
	char err[100], uri[1024], cookie[1024];

	jose_key_from_json(j, &rk, err, sizeof err);
	json_decref(j);
	v = verifier_for(NULL, rk);
	s = (struct us_signer){ .key = rk };
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/001.ts?URISigningPackage=%s", rfc_a3);
	is_int(verify(v, uri, NULL, NULL, 1646867368, &vd), 200, "A.3 verifies one second before exp");
	ok(us_renew(&vd, &s, 1646867368, NULL, &rn) == 0, "renewal is due (cdnistt 1)");
	is_int(rn.transport, 1, "by cookie");
	is_int(rn.exp, 1646867368 + 30, "next exp = verification time + cdniets");
	json_t *want = json_pack("{s:i,s:i,s:i,s:I,s:s}", "cdniets", 30, "cdnistt", 1, "cdnistd", 2,
				 "exp", (json_int_t)(1646867368 + 30), "cdniuc",
				 "regex:http://cdni\\.example/foo/bar/[0-9]{3}\\.ts");
	ok(json_equal(want, rn.claims), "renewed claims are A.3's renewed claim set (exp aside)");
	json_decref(want);
	snprintf(cookie, sizeof cookie, "URISigningPackage=%s; Path=/foo/bar; HttpOnly", rn.token);
	is_str(rn.set_cookie, cookie, "Set-Cookie with Path of cdnistd (2) segments");
	snprintf(cookie, sizeof cookie, "URISigningPackage=%s", rn.token);
	is_int(verify(v, "http://cdni.example/foo/bar/002.ts", cookie, NULL, 1646867390, &vd2), 200,
	       "the next segment is fetched with the renewed cookie");
	us_verdict_clear(&vd2);
	is_int(verify(v, "http://cdni.example/foo/bar/003.ts", cookie, NULL, 1646867398, &vd2), 404,
	       "the renewed token expires cdniets after the renewal");
	us_verdict_clear(&vd2);
	us_renewal_clear(&rn);
	us_verdict_clear(&vd);
	snprintf(uri, sizeof uri, "http://cdni.example/foo/bar/001.ts?URISigningPackage=%s", rfc_a3);
	us_verifier_free(v);
	jose_key_free(rk);
}

static void test_renewal_rules(void)
{
	struct us_signer s = { .key = csp, .issuer = "csp" };
	struct us_signer r = { .key = csp, .issuer = "edge" };
	struct us_verifier *v = verifier_for("csp", csp);
	struct us_verdict vd;
	struct us_renewal rn;
	char *u = NULL;
	json_t *c;

	c = json_pack("{s:i,s:i,s:I,s:s}", "cdnistt", 2, "cdniets", 60, "iat", NOW - 100, "cdniuc",
		      "regex:https://cdni\\.example/live/.*");
	us_sign_uri(&s, c, "https://cdni.example/live/a.m3u8?x=1", NULL, US_IN_QUERY, &u, NULL);
	json_decref(c);
	verify(v, u, NULL, NULL, NOW, &vd);
	ok(us_renew(&vd, &r, NOW + 1, NULL, &rn) == 0 && rn.transport == 2,
	   "cdnistt 2: renewal in the query");
	ok(rn.uri && strncmp(rn.uri, "https://cdni.example/live/a.m3u8?x=1&URISigningPackage=", 55) == 0
		   && strcmp(rn.uri + 55, rn.token) == 0,
	   "the request URI (token removed) with the new token");
	is_int(json_integer_value(json_object_get(rn.claims, "exp")), NOW + 60, "exp = verified + 60");
	is_int(json_integer_value(json_object_get(rn.claims, "iat")), NOW + 1, "iat updated");
	is_str(json_string_value(json_object_get(rn.claims, "iss")), "edge", "iss is the renewer's");
	ok(!rn.set_cookie, "no cookie for cdnistt 2");
	us_renewal_clear(&rn);
	us_verdict_clear(&vd);
	free(u);

	c = json_pack("{s:i,s:i,s:i}", "cdnistt", 1, "cdniets", 60, "cdnistd", 3);
	us_sign_uri(&s, c, "https://cdni.example/a/b", NULL, US_IN_QUERY, &u, NULL);
	json_decref(c);
	verify(v, u, NULL, NULL, NOW, &vd);
	is_int(us_renew(&vd, &s, NOW, NULL, &rn), CDNI_EOVERFLOW,
	       "cdnistd deeper than the path: no token (§2.1.14)");
	us_verdict_clear(&vd);
	free(u);
	c = json_pack("{s:i,s:i,s:i}", "cdnistt", 1, "cdniets", 60, "cdnistd", 1);
	us_sign_uri(&s, c, "https://cdni.example/a/b", NULL, US_IN_QUERY, &u, NULL);
	json_decref(c);
	verify(v, u, NULL, NULL, NOW, &vd);
	ok(us_renew(&vd, &s, NOW, NULL, &rn) == 0 && strstr(rn.set_cookie, "; Path=/a; Secure; HttpOnly"),
	   "https: the cookie is Secure, Path of one segment");
	us_renewal_clear(&rn);
	us_verdict_clear(&vd);
	free(u);
	c = json_pack("{s:i,s:i}", "cdnistt", 0, "cdniets", 60);
	us_sign_uri(&s, c, "https://cdni.example/a/b", NULL, US_IN_QUERY, &u, NULL);
	json_decref(c);
	verify(v, u, NULL, NULL, NOW, &vd);
	is_int(us_renew(&vd, &s, NOW, NULL, &rn), CDNI_ENOTFOUND, "cdnistt 0: no renewal");
	us_verdict_clear(&vd);
	free(u);
	us_sign_uri(&s, NULL, "https://cdni.example/a/b", NULL, US_IN_QUERY, &u, NULL);
	verify(v, u, NULL, NULL, NOW, &vd);
	is_int(us_renew(&vd, &s, NOW, NULL, &rn), CDNI_ENOTFOUND, "no cdnistt: no renewal");
	vd.accept = false;
	is_int(us_renew(&vd, &s, NOW, NULL, &rn), CDNI_EINVAL, "never from a rejected verdict");
	us_verdict_clear(&vd);
	free(u);
	us_verifier_free(v);
}

/* A verdict for a token holding every claim. */
static int full_verdict(struct us_verifier *v, struct us_verdict *vd, char **uri)
{
	struct us_signer s = { .key = csp, .issuer = "csp" };
	json_t *c = json_pack("{s:s,s:I,s:I,s:I,s:s,s:i,s:i,s:i,s:i,s:s,s:s}", "aud", "ucdn",
			      "exp", NOW + 300, "nbf", NOW - 10, "iat", NOW - 20, "jti", "j-1",
			      "cdniv", 1, "cdniets", 30, "cdnistt", 1, "cdnistd", 1, "x-csp",
			      "kept", "cdniuc", "regex:https://ucdn\\.example/v/.*");

	us_claims_set_encrypted(c, "sub", "alice", enc);
	us_claims_set_encrypted(c, "cdniip", "192.0.2.0/24", enc);
	us_claims_bind_cert(c, spki_a);
	us_sign_uri(&s, c, "https://ucdn.example/v/seg1.ts", NULL, US_IN_QUERY, uri, NULL);
	json_decref(c);
	return verify(v, *uri, NULL, spki_a, NOW, vd);
}

static const char *str(const json_t *c, const char *k)
{
	return json_string_value(json_object_get(c, k));
}

static long long num(const json_t *c, const char *k)
{
	return (long long)json_number_value(json_object_get(c, k));
}

static void test_resign_table(void)
{
	static const char *const aud[] = { "ucdn" };
	struct us_verifier_opts o = { .audience = aud, .n_audience = 1 };
	struct us_verifier *v = NULL;
	struct us_signer s = { .key = ucdn, .issuer = "ucdn" };
	struct us_resign_opts ro = { .next_uri = "https://edge.dcdn.example/v/seg1.ts",
				     .audience = "dcdn", .next_spki_sha256 = spki_b };
	struct us_verdict vd;
	json_t *n = NULL, *in;
	char *uri = NULL, *h = NULL, b64[44], err[100];

	us_verifier_new(&o, &v, err, sizeof err);
	json_t *pub = NULL, *e = NULL;
	jose_key_to_json(csp, false, &pub);
	jose_key_to_json(enc, true, &e);
	json_t *set = json_pack("{s:[o,o]}", "keys", pub, e);
	us_verifier_add_keys(v, "csp", set, err, sizeof err);
	json_decref(set);
	is_int(full_verdict(v, &vd, &uri), 200, "incoming token with every claim verifies");
	in = vd.claims;
	ok(us_resign_claims(&vd, &s, &ro, NOW + 5, &n) == 0, "re-sign for the next hop");
	is_str(str(n, "iss"), "ucdn", "iss: updated to the redirecting CDN");
	is_str(str(n, "sub"), str(in, "sub"), "sub: the same (encrypted) value");
	is_str(str(n, "aud"), "dcdn", "aud: may be modified (set for the next hop)");
	is_int(num(n, "exp"), num(in, "exp"), "exp: the same");
	is_int(num(n, "nbf"), num(in, "nbf"), "nbf: the same");
	is_int(num(n, "iat"), NOW + 5, "iat: the time of re-signing");
	is_str(str(n, "jti"), "j-1", "jti: the same");
	is_int(num(n, "cdniv"), 1, "cdniv: the same");
	is_str(str(n, "cdniip"), str(in, "cdniip"), "cdniip: the same");
	is_int(num(n, "cdniets"), 30, "cdniets: the same");
	is_int(num(n, "cdnistt"), 1, "cdnistt: the same");
	is_int(num(n, "cdnistd"), 1, "cdnistd: the same");
	is_str(str(n, "x-csp"), "kept", "other claims: copied");
	us_container_hash(ro.next_uri, NULL, &h);
	is_str(str(n, "cdniuc"), h, "cdniuc: the hash of the Redirection URI");
	b64url_encode(spki_b, 32, b64);
	is_str(str(n, "cdnicb"), b64, "cdnicb: bound to the target surrogate's SPKI");
	is_str(str(n, "cdnicrit"), "cdnicb", "cdnicrit: still lists cdnicb");
	json_decref(n);
	free(h);

	char *tok = NULL, *signed_uri = NULL;
	ok(us_resign(&vd, &s, &ro, NOW + 5, &tok, &signed_uri) == 0, "re-signed URI made");
	static const char *const daud[] = { "dcdn" };
	struct us_verifier_opts dopt = { .audience = daud, .n_audience = 1 };
	struct us_verifier *dv = NULL;
	us_verifier_new(&dopt, &dv, err, sizeof err);
	json_t *up = NULL, *e2 = NULL;
	jose_key_to_json(ucdn, true, &up);
	jose_key_to_json(enc, true, &e2);
	set = json_pack("{s:[o,o]}", "keys", up, e2);
	us_verifier_add_keys(dv, "ucdn", set, err, sizeof err);
	json_decref(set);
	struct us_verdict d2;
	is_int(verify(dv, signed_uri, NULL, spki_b, NOW + 6, &d2), 200,
	       "the dCDN verifies the Redirection URI (iss ucdn, aud dcdn, its own SPKI)");
	us_verdict_clear(&d2);
	is_int(verify(dv, signed_uri, NULL, spki_a, NOW + 6, &d2), 409,
	       "another surrogate's certificate is refused (cdnicb)");
	us_verdict_clear(&d2);
	free(tok), free(signed_uri);

	struct us_resign_opts keep = { .next_uri = "https://edge.dcdn.example/v/x", .keep_cdniuc = true };
	ok(us_resign_claims(&vd, &s, &keep, NOW, &n) == 0 && strcmp(str(n, "cdniuc"), str(in, "cdniuc")) == 0,
	   "keep_cdniuc keeps the received container");
	ok(!json_object_get(n, "cdnicb") && !json_object_get(n, "cdnicrit"),
	   "without a next SPKI cdnicb is dropped and cdnicrit with it");
	is_str(str(n, "aud"), "ucdn", "without an audience aud is copied");
	json_decref(n);
	struct us_resign_opts plain = { .next_uri = "http://edge.dcdn.example/v/x" };
	is_int(us_resign_claims(&vd, &s, &plain, NOW, &n), CDNI_EDENIED,
	       "an https request is not redirected to http");
	struct us_signer anon = { .key = ucdn };
	is_int(us_resign_claims(&vd, &anon, &ro, NOW, &n), CDNI_EINVAL,
	       "iss present: the redirecting CDN must name itself");
	us_verdict_clear(&vd);
	free(uri);
	us_verifier_free(v);
	us_verifier_free(dv);
}

static void test_resign_never_adds(void)
{
	struct us_verifier *v = verifier_for(NULL, csp); /* no iss: keys bound to no issuer */
	struct us_signer s = { .key = csp }, r = { .key = ucdn, .issuer = "ucdn" };
	struct us_resign_opts ro = { .next_uri = "http://dcdn.example/a", .cdniuc = "regex:.*" };
	struct us_verdict vd;
	json_t *n = NULL;
	char *u = NULL;

	us_sign_uri(&s, NULL, "http://ucdn.example/a", NULL, US_IN_QUERY, &u, NULL);
	is_int(verify(v, u, NULL, NULL, NOW, &vd), 200, "a minimal token (cdniuc only) verifies");
	ok(us_resign_claims(&vd, &r, &ro, NOW, &n) == 0, "re-sign it");
	static const char *const never[] = { "sub", "exp", "nbf", "jti", "cdniip", "cdnistd",
					     "cdniets", "cdnistt", "iat", "aud", "cdnicb" };
	int added = 0;
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
		added += json_object_get(n, never[i]) != NULL;
	is_int(added, 0, "sub exp nbf jti cdniip cdnistd ... are never added");
	is_str(str(n, "iss"), "ucdn", "iss may be added (the signer has an issuer)");
	is_str(str(n, "cdniuc"), "regex:.*", "an explicit container is used");
	json_decref(n);
	ro.add_iat = true;
	ok(us_resign_claims(&vd, &r, &ro, NOW, &n) == 0 && num(n, "iat") == NOW, "add_iat adds iat");
	json_decref(n);
	us_verdict_clear(&vd);
	free(u);
	us_verifier_free(v);
}

int main(void)
{
	jose_key_generate(JOSE_ES256, 0, &csp);
	jose_key_generate(JOSE_HS256, 0, &ucdn);
	jose_key_generate(JOSE_A256GCM, 0, &enc);
	test_sign_uri();
	test_renewal_a3();
	test_renewal_rules();
	test_resign_table();
	test_resign_never_adds();
	jose_key_free(csp);
	jose_key_free(ucdn);
	jose_key_free(enc);
	return done_testing();
}
