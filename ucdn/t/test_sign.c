/* ucdn/sign.c: RFC 9246 at the uCDN front door — config errors naming key
 * paths (key files, JWKs, algorithms, templates, rules' certificates),
 * fresh tokens (claims, hash and regex containers, query and path
 * carriage, iat, jti, cdnicb), incoming tokens verified (log codes) and
 * re-signed with the claims §2.1/§4 prescribe, origin targets without the
 * token, and the regex container. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/tap.h"
#include "common/tls.h"
#include "ucdn/ucdn.h"
#include "urisign/b64.h"

#define NOW 1700000000LL

static char dir[256], pki[512];
static struct jose_key *csp, *ucdn_key;

static const char *path(const char *name)
{
	static char p[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static void write_json(const char *name, const json_t *j)
{
	json_dump_file(j, path(name), JSON_COMPACT);
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path(name), "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR"), *env = getenv("CDNI_PKI");
	json_t *j = NULL, *set;
	struct jose_key *rsa = NULL;

	snprintf(dir, sizeof dir, "%s/ucdn-sign.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		exit(1);
	snprintf(pki, sizeof pki, "%s", env ? env : "build/pki");
	jose_key_generate(JOSE_ES256, 0, &csp);
	jose_key_generate(JOSE_ES256, 0, &ucdn_key);
	jose_key_generate(JOSE_RS256, 2048, &rsa);
	jose_key_to_json(ucdn_key, true, &j);
	write_json("ucdn.jwk", j);
	json_decref(j);
	jose_key_to_json(ucdn_key, false, &j);
	write_json("ucdn-pub.jwk", j);
	json_decref(j);
	jose_key_to_json(rsa, true, &j);
	write_json("rsa.jwk", j);
	json_decref(j);
	jose_key_free(rsa);
	jose_key_to_json(csp, false, &j);
	set = json_pack("{s:{s:[o]}}", "csp", "keys", j);
	write_json("csp-keys.json", set);
	json_decref(set);
	write_text("bad.jwk", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\",\"d\":\"AAAA\"}");
	write_text("notjson.jwk", "{\"kty\":");
}

static void cleanup(void)
{
	const char *names[] = { "ucdn.jwk", "ucdn-pub.jwk", "rsa.jwk", "csp-keys.json", "bad.jwk",
				"notjson.jwk" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(path(names[i]));
	rmdir(dir);
	jose_key_free(csp);
	jose_key_free(ucdn_key);
}

/* A config with uri_signing = us and rules = rules ("%D" stands for dir). */
static int make(const char *us, const char *rules, struct ucdn_conf *cf, struct ucdn_sign **s,
		char *err, size_t errlen)
{
	char json[4096], tmpl[4096];
	int rc;

	snprintf(tmpl, sizeof tmpl, "{\"listen\":[{\"port\":0}],\"default_action\":\"refuse\","
		 "\"rules\":%s,\"uri_signing\":%s}", rules, us);
	tap_expand(tmpl, dir, pki, json, sizeof json);
	memset(cf, 0, sizeof *cf);
	*s = NULL;
	err[0] = '\0';
	rc = conf_load_string(ucdn_conf_table, cf, json, "u.json", err, errlen);
	if (!rc && (rc = ucdn_sign_new(&cf->uri_signing, &cf->route, s, err, errlen)))
		ucdn_conf_free(cf);
	return rc;
}

#define RULES "[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://edge.dcdn.test:9443\"}]"

static void expect_error(const char *us, const char *rules, const char *want)
{
	struct ucdn_conf cf;
	struct ucdn_sign *s;
	char err[1024];
	int rc = make(us, rules ? rules : RULES, &cf, &s, err, sizeof err);

	if (!ok(rc == CDNI_ECONFIG && strstr(err, want), "refused: %s", want))
		diag("rc %d, message '%s'", rc, err);
	if (!rc) {
		ucdn_sign_free(s);
		ucdn_conf_free(&cf);
	}
}

static void test_config_errors(void)
{
	char want[700];

	snprintf(want, sizeof want, "uri_signing.key: %s/nope.jwk: cannot read", dir);
	expect_error("{\"key\":\"%D/nope.jwk\"}", NULL, want);
	snprintf(want, sizeof want, "uri_signing.key: %s/bad.jwk: EC key", dir);
	expect_error("{\"key\":\"%D/bad.jwk\"}", NULL, want);
	snprintf(want, sizeof want, "uri_signing.key: %s/notjson.jwk:1:", dir);
	expect_error("{\"key\":\"%D/notjson.jwk\"}", NULL, want);
	expect_error("{\"key\":\"%D/ucdn-pub.jwk\"}", NULL, "the key has no private part");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"alg\":\"XS256\"}", NULL,
		     "uri_signing.alg: unknown algorithm \"XS256\"");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"alg\":\"none\"}", NULL,
		     "uri_signing.alg: unknown algorithm \"none\"");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"alg\":\"RS256\"}", NULL,
		     "uri_signing.alg: RS256 does not fit the key");
	expect_error("{\"key\":\"%D/rsa.jwk\",\"alg\":\"ES256\"}", NULL,
		     "uri_signing.alg: ES256 does not fit the key");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"claims\":[1]}", NULL,
		     "uri_signing.claims: must be a JSON object");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"claims\":{\"exp\":5}}", NULL,
		     "uri_signing.claims.exp: is set by uri_signing.lifetime");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"claims\":{\"cdniuc\":\"hash:x\"}}", NULL,
		     "uri_signing.claims.cdniuc: is set by uri_signing.container");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"claims\":{\"cdnistt\":1}}", NULL,
		     "cdnistt and cdniets go together");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"container\":\"glob\"}", NULL,
		     "uri_signing.container: must be one of \"hash\", \"regex\"");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"carriage\":\"cookie\"}", NULL,
		     "uri_signing.carriage: must be one of \"query\", \"path\"");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"package_attribute\":\"a=b\"}", NULL,
		     "uri_signing.package_attribute: must be a non-empty name");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"lifetime\":-1}", NULL,
		     "uri_signing.lifetime: must be an integer in 0..");
	snprintf(want, sizeof want, "uri_signing.verify.keys: %s/nokeys.json: cannot read", dir);
	expect_error("{\"verify\":{\"keys\":\"%D/nokeys.json\"}}", NULL, want);
	expect_error("{\"verify\":{\"keys\":\"%D/ucdn.jwk\"}}", NULL, "uri_signing.verify.keys: ");
	expect_error("{\"key\":\"%D/ucdn.jwk\",\"verify\":{\"keys\":\"%D/csp-keys.json\"}}", NULL,
		     "uri_signing.issuer: is required to re-sign verified tokens");
	expect_error("{\"verify\":{\"keys\":\"%D/csp-keys.json\",\"enforse\":true}}", NULL,
		     "uri_signing.verify.enforse: unknown key");
	expect_error("{\"issuer\":\"ucdn\"}", NULL, "uri_signing.key: is required to sign");
	expect_error("{}", "[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test\","
		     "\"target_cert\":\"%P/dcdn-ec.pem\"}]", "rules[0].target_cert: needs uri_signing.key");
	expect_error("{\"key\":\"%D/ucdn.jwk\"}", "[{\"prefix\":\"/v/\",\"action\":\"redirect\","
		     "\"target\":\"https://e.test\",\"target_cert\":\"%D/nope.pem\"}]",
		     "rules[0].target_cert: ");
}

static struct us_verifier *ucdn_verifier(void)
{
	struct us_verifier *v = NULL;
	json_t *pub = NULL, *set;
	char err[256];

	jose_key_to_json(ucdn_key, false, &pub);
	set = json_pack("{s:[o]}", "keys", pub);
	us_verifier_new(&(struct us_verifier_opts){ .audience = (const char *[]){ "dcdn" },
						    .n_audience = 1 }, &v, err, sizeof err);
	us_verifier_add_keys(v, "ucdn", set, err, sizeof err);
	json_decref(set);
	return v;
}

/* Verify uri as the dCDN would; returns the log code, claims in *claims. */
static int dverify(const char *uri, const uint8_t *spki, long long now, json_t **claims)
{
	struct us_verifier *v = ucdn_verifier();
	struct us_verdict vd;
	int code = -1;

	if (us_verify(v, &(struct us_request){ .uri = uri, .now = now, .spki_sha256 = spki }, &vd) == 0) {
		code = vd.code;
		if (claims)
			*claims = json_incref(vd.claims);
		us_verdict_clear(&vd);
	}
	us_verifier_free(v);
	return code;
}

static const struct ucdn_sign_req plain_req = { .scheme = "https", .host = "www.csp.test",
						.target = "/v/a.ts?x=1", .client_ip = "192.0.2.7",
						.now = NOW };

static long long claim_int(const json_t *c, const char *name)
{
	const json_t *v = json_object_get(c, name);

	return v ? (long long)json_number_value(v) : -1;
}

static const char *claim_str(const json_t *c, const char *name)
{
	const char *s = json_string_value(json_object_get(c, name));

	return s ? s : "(absent)";
}

static void test_fresh_hash_query(void)
{
	struct ucdn_conf cf;
	struct ucdn_sign *s;
	struct ucdn_sign_res r;
	char err[512], *h = NULL;
	const char *loc = "https://edge.dcdn.test:9443/v/a.ts?x=1";
	json_t *c = NULL;

	if (!ok(make("{\"key\":\"%D/ucdn.jwk\",\"issuer\":\"ucdn\",\"audience\":\"dcdn\","
		     "\"lifetime\":60,\"claims\":{\"cdniv\":1,\"nbf\":1699999000}}",
		     RULES, &cf, &s, err, sizeof err) == 0 && s, "signing config loads"))
		diag("%s", err);
	if (!s)
		return;
	ok(ucdn_sign_signs(s) && !ucdn_sign_verifies(s), "signs, does not verify");
	is_int(ucdn_sign_redirect(s, &plain_req, 0, loc, &r), 0, "a redirect is signed");
	is_int(r.status, 0, "not refused");
	is_str(r.code, "", "no incoming token verified: no log code");
	ok(r.location && strncmp(r.location, "https://edge.dcdn.test:9443/v/a.ts?x=1&URISigningPackage=",
				 strlen("https://edge.dcdn.test:9443/v/a.ts?x=1&URISigningPackage=")) == 0,
	   "the token is added to the Location's query");
	is_int(dverify(r.location, NULL, NOW + 1, &c), 200, "the dCDN accepts the signed Location");
	is_str(claim_str(c, "iss"), "ucdn", "iss is the uCDN's issuer");
	is_str(claim_str(c, "aud"), "dcdn", "aud is the configured audience");
	is_int(claim_int(c, "exp"), NOW + 60, "exp = now + lifetime");
	is_int(claim_int(c, "nbf"), 1699999000, "template claims are copied (nbf)");
	is_int(claim_int(c, "cdniv"), 1, "template claims are copied (cdniv)");
	ok(!json_object_get(c, "iat") && !json_object_get(c, "jti"), "no iat, no jti unless asked");
	us_container_hash(loc, NULL, &h);
	is_str(claim_str(c, "cdniuc"), h, "cdniuc is the hash of the Location");
	is_int(dverify(r.location, NULL, NOW + 60, NULL), 404, "expired after lifetime (404)");
	json_decref(c);
	free(h);
	ucdn_sign_res_clear(&r);
	/* a token the client put in the query never reaches the Location twice */
	ucdn_sign_redirect(s, &plain_req, 0,
			   "https://edge.dcdn.test:9443/v/a.ts?URISigningPackage=junk&x=1", &r);
	ok(r.location && strstr(r.location, "junk") == NULL &&
		   strstr(strstr(r.location, "URISigningPackage=") + 1, "URISigningPackage=") == NULL,
	   "a package the client sent is removed before signing");
	is_int(dverify(r.location, NULL, NOW + 1, NULL), 200, "and the result verifies");
	ucdn_sign_res_clear(&r);
	ucdn_sign_free(s);
	ucdn_conf_free(&cf);
}

static void test_fresh_regex_path(void)
{
	struct ucdn_conf cf;
	struct ucdn_sign *s;
	struct ucdn_sign_res r, r2;
	char err[512], *tok, other[2048];
	json_t *c = NULL;

	if (!ok(make("{\"key\":\"%D/ucdn.jwk\",\"issuer\":\"ucdn\",\"audience\":\"dcdn\","
		     "\"container\":\"regex\",\"carriage\":\"path\",\"iat\":true,\"jti\":true,"
		     "\"lifetime\":0,\"package_attribute\":\"usp\"}", RULES, &cf, &s, err,
		     sizeof err) == 0 && s, "regex/path config loads"))
		diag("%s", err);
	if (!s)
		return;
	ucdn_sign_redirect(s, &plain_req, 0, "https://edge.dcdn.test:9443/v/hd/a.ts?x=1", &r);
	ok(r.location && strncmp(r.location, "https://edge.dcdn.test:9443/v/hd/a.ts;usp=", 42) == 0 &&
		   strstr(r.location, "?x=1"), "the token is a path parameter named usp");
	/* the dCDN's verifier needs the attribute name */
	{
		struct us_verifier *v = NULL;
		json_t *pub = NULL, *set;
		struct us_verdict vd;
		jose_key_to_json(ucdn_key, false, &pub);
		set = json_pack("{s:[o]}", "keys", pub);
		us_verifier_new(&(struct us_verifier_opts){ .package_attribute = "usp",
							    .audience = (const char *[]){ "dcdn" },
							    .n_audience = 1 }, &v, err, sizeof err);
		us_verifier_add_keys(v, "ucdn", set, err, sizeof err);
		json_decref(set);
		us_verify(v, &(struct us_request){ .uri = r.location, .now = NOW }, &vd);
		is_int(vd.code, 200, "the path-style token verifies");
		c = json_incref(vd.claims);
		tok = vd.token ? strdup(vd.token) : NULL;
		us_verdict_clear(&vd);
		snprintf(other, sizeof other, "https://edge.dcdn.test:9443/v/hd/b.ts?usp=%s", tok);
		us_verify(v, &(struct us_request){ .uri = other, .now = NOW }, &vd);
		is_int(vd.code, 200, "a regex container covers the Location's directory (b.ts)");
		us_verdict_clear(&vd);
		snprintf(other, sizeof other, "https://edge.dcdn.test:9443/v/b.ts?usp=%s", tok);
		us_verify(v, &(struct us_request){ .uri = other, .now = NOW }, &vd);
		is_int(vd.code, 411, "but not the parent directory (411)");
		us_verdict_clear(&vd);
		free(tok);
		us_verifier_free(v);
	}
	is_str(claim_str(c, "cdniuc"), "regex:https://edge\\.dcdn\\.test:9443/v/hd/.*",
	       "the regex container");
	is_int(claim_int(c, "iat"), NOW, "iat is the signing time");
	ok(!json_object_get(c, "exp"), "lifetime 0: no exp");
	ok(strlen(claim_str(c, "jti")) == 22, "a 128-bit jti");
	ucdn_sign_redirect(s, &plain_req, 0, "https://edge.dcdn.test:9443/v/hd/a.ts", &r2);
	ok(r2.location && r.location && strcmp(r.location, r2.location) != 0, "a fresh jti per token");
	json_decref(c);
	ucdn_sign_res_clear(&r);
	ucdn_sign_res_clear(&r2);
	ucdn_sign_free(s);
	ucdn_conf_free(&cf);
}

static void test_rules(void)
{
	struct ucdn_conf cf;
	struct ucdn_sign *s;
	struct ucdn_sign_res r;
	char err[512], file[700], b64[44];
	uint8_t spki[32], other[32] = { 1 };
	json_t *c = NULL;
	X509 *x;

	snprintf(file, sizeof file, "%s/dcdn-ec.pem", pki);
	if (!(x = tls_load_cert(file, err, sizeof err))) {
		ok(0, "test PKI: %s (make pki)", err);
		return;
	}
	tls_spki_sha256(x, spki);
	X509_free(x);
	b64url_encode(spki, sizeof spki, b64);
	if (!ok(make("{\"key\":\"%D/ucdn.jwk\",\"issuer\":\"ucdn\",\"audience\":\"dcdn\"}",
		     "[{\"prefix\":\"/v/\",\"action\":\"redirect\",\"target\":\"https://e.test\","
		     "\"target_cert\":\"%P/dcdn-ec.pem\"},"
		     "{\"prefix\":\"/free/\",\"action\":\"redirect\",\"target\":\"https://e.test\","
		     "\"sign\":false}]", &cf, &s, err, sizeof err) == 0 && s, "rules config loads"))
		diag("%s", err);
	if (!s)
		return;
	ucdn_sign_redirect(s, &plain_req, 0, "https://e.test/v/a.ts", &r);
	is_int(dverify(r.location, spki, NOW, &c), 200,
	       "a token bound to the target's certificate verifies with that certificate");
	is_str(claim_str(c, US_CLAIM_CERT_BINDING), b64, "cdnicb is its SPKI digest");
	is_str(claim_str(c, "cdnicrit"), "cdnicb", "and is listed in cdnicrit");
	is_int(dverify(r.location, other, NOW, NULL), 409, "another certificate: 409");
	is_int(dverify(r.location, NULL, NOW, NULL), 409, "no certificate (http): 409");
	json_decref(c);
	ucdn_sign_res_clear(&r);
	ucdn_sign_redirect(s, &plain_req, 1, "https://e.test/free/a.ts?q", &r);
	ok(r.status == 0 && r.location == NULL, "sign false: the Location is sent as it is");
	ucdn_sign_res_clear(&r);
	ucdn_sign_free(s);
	ucdn_conf_free(&cf);
}

/* The CSP's signed request target for /v/a.ts, with claims. */
static char *csp_target(json_t *claims, const char *uri)
{
	struct us_signer cs = { .key = csp, .issuer = "csp" };
	char *signed_uri = NULL, *t;

	us_sign_uri(&cs, claims, uri, NULL, US_IN_QUERY, &signed_uri, NULL);
	json_decref(claims);
	t = strdup(strstr(signed_uri, "/v/"));
	free(signed_uri);
	return t;
}

static void expect_refusal(struct ucdn_sign *s, const char *target, const char *cookie,
			   const char *code, const char *name)
{
	struct ucdn_sign_req rq = plain_req;
	struct ucdn_sign_res r;

	rq.scheme = "http";
	rq.target = target;
	rq.cookie = cookie;
	ucdn_sign_redirect(s, &rq, 0, "https://edge.dcdn.test:9443/v/a.ts", &r);
	is_int(r.status, 403, "%s: 403", name);
	is_str(r.code, code, "%s: log code %s", name, code);
	ok(r.location == NULL && strstr(r.note, code) && strstr(r.note, r.reason),
	   "%s: the note names the code and the reason", name);
	ucdn_sign_res_clear(&r);
}

static void test_verify_and_resign(void)
{
	struct ucdn_conf cf;
	struct ucdn_sign *s;
	struct ucdn_sign_req rq = plain_req;
	struct ucdn_sign_res r;
	char err[512], *t, *h = NULL, cookie[2048];
	json_t *c = NULL;

	if (!ok(make("{\"key\":\"%D/ucdn.jwk\",\"issuer\":\"ucdn\",\"audience\":\"dcdn\","
		     "\"lifetime\":600,\"claims\":{\"cdniv\":1},"
		     "\"verify\":{\"keys\":\"%D/csp-keys.json\",\"issuers\":[\"csp\"],\"audience\":[\"ucdn\"]}}",
		     RULES, &cf, &s, err, sizeof err) == 0 && s, "verify + sign config loads"))
		diag("%s", err);
	if (!s)
		return;
	ok(ucdn_sign_verifies(s) && ucdn_sign_signs(s), "verifies and signs");
	expect_refusal(s, "/v/a.ts", NULL, "000", "no token");
	t = csp_target(json_pack("{s:I}", "exp", NOW - 1), "http://www.csp.test/v/a.ts");
	expect_refusal(s, t, NULL, "404", "expired token");
	free(t);
	t = csp_target(json_pack("{s:I}", "exp", NOW + 100), "http://www.csp.test/v/other.ts");
	snprintf(cookie, sizeof cookie, "/v/a.ts%s", strchr(t, '?'));
	expect_refusal(s, cookie, NULL, "411", "token for another path");
	free(t);
	t = csp_target(json_pack("{s:I}", "exp", NOW + 100), "http://www.csp.test/v/a.ts");
	t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
	expect_refusal(s, t, NULL, "400", "tampered signature");
	free(t);

	/* accepted: re-signed for the dCDN per §2.1 / §4 */
	t = csp_target(json_pack("{s:I,s:I,s:I,s:s,s:i,s:i,s:i,s:s}", "exp", NOW + 100, "nbf",
				 NOW - 100, "iat", NOW - 50, "jti", "j-1", "cdnistt", 1, "cdniets", 30,
				 "cdnistd", 1, "aud", "ucdn"),
		       "http://www.csp.test/v/a.ts");
	rq.scheme = "http";
	rq.target = t;
	is_int(ucdn_sign_redirect(s, &rq, 0, "https://edge.dcdn.test:9443/v/a.ts", &r), 0,
	       "a verified request is redirected");
	is_str(r.code, "200", "log code 200");
	is_int(dverify(r.location, NULL, NOW, &c), 200, "the re-signed Location verifies at the dCDN");
	is_str(claim_str(c, "iss"), "ucdn", "iss: replaced by the uCDN's (§2.1.1)");
	is_str(claim_str(c, "aud"), "dcdn", "aud: the next hop's");
	is_int(claim_int(c, "exp"), NOW + 100, "exp: copied, not the lifetime (§2.1.4)");
	is_int(claim_int(c, "nbf"), NOW - 100, "nbf: copied (§2.1.5)");
	is_int(claim_int(c, "iat"), NOW, "iat: the re-signing time (§2.1.6)");
	is_str(claim_str(c, "jti"), "j-1", "jti: copied (§2.1.7)");
	ok(claim_int(c, "cdnistt") == 1 && claim_int(c, "cdniets") == 30 &&
		   claim_int(c, "cdnistd") == 1, "cdnistt, cdniets, cdnistd: copied (§2.1.12-14)");
	ok(!json_object_get(c, "cdniv"), "template claims are not added to a re-signed token");
	us_container_hash("https://edge.dcdn.test:9443/v/a.ts", NULL, &h);
	is_str(claim_str(c, "cdniuc"), h, "cdniuc: the Redirection URI's hash (§2.1.11)");
	free(h);
	json_decref(c);
	ucdn_sign_res_clear(&r);
	expect_refusal(s, t, NULL, "407", "the same jti again (a replay)");
	/* a token in a cookie */
	free(t);
	t = csp_target(json_pack("{s:I}", "exp", NOW + 100), "http://www.csp.test/v/a.ts");
	snprintf(cookie, sizeof cookie, "a=1; %s", strchr(t, '?') + 1);
	rq.target = "/v/a.ts";
	rq.cookie = cookie;
	ucdn_sign_redirect(s, &rq, 0, "https://edge.dcdn.test:9443/v/a.ts", &r);
	if (!ok(r.status == 0 && strcmp(r.code, "200") == 0 && r.location, "a token in a cookie is verified too"))
		diag("%d %s %s", r.status, r.code, r.note);
	ucdn_sign_res_clear(&r);
	/* an https request is never redirected to http (§1.3) */
	rq.scheme = "https";
	rq.target = t;
	rq.cookie = NULL;
	free(t);
	t = csp_target(json_pack("{s:I}", "exp", NOW + 100), "https://www.csp.test/v/a.ts");
	rq.target = t;
	ucdn_sign_redirect(s, &rq, 0, "http://edge.dcdn.test/v/a.ts", &r);
	ok(r.status == 500 && strstr(r.note, "https request is not redirected to an http"),
	   "https -> http with a verified token: 500 (%s)", r.note);
	ucdn_sign_res_clear(&r);
	/* the origin path: verified, and the token kept from the origin */
	ucdn_sign_origin(s, &rq, t, &r);
	ok(r.status == 0 && r.target && strcmp(r.target, "/v/a.ts") == 0,
	   "origin target without the token (%s)", r.target ? r.target : "");
	ucdn_sign_res_clear(&r);
	free(t);
	ucdn_sign_free(s);
	ucdn_conf_free(&cf);
}

static void test_nothing_configured(void)
{
	struct ucdn_conf cf;
	struct ucdn_sign *s = (struct ucdn_sign *)1;
	char err[512];

	is_int(make("{}", RULES, &cf, &s, err, sizeof err), 0, "empty uri_signing is fine");
	ok(s == NULL, "and configures nothing");
	ucdn_conf_free(&cf);
	is_int(make("{\"verify\":{\"keys\":\"%D/csp-keys.json\",\"enforce\":false}}", RULES, &cf, &s,
		    err, sizeof err), 0, "enforce false");
	ok(s == NULL, "configures no verification (RFC 9246 §4.4)");
	ucdn_conf_free(&cf);
}

static void test_regex_container(void)
{
	static const struct {
		const char *uri, *want;
	} cases[] = {
		{ "HTTPS://Edge.Test:443/a/b.ts?q=1", "regex:https://edge\\.test/a/.*" },
		{ "http://h", "regex:http://h/.*" },
		{ "http://h/x", "regex:http://h/.*" },
		{ "http://h:8080/a+b(c)/d$.ts", "regex:http://h:8080/a\\+b\\(c\\)/.*" },
		{ "http://h/a/b/?x=/y/", "regex:http://h/a/b/.*" },
		{ "http://h/%7e/a", "regex:http://h/~/.*" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *re = NULL;
		us_container_regex(cases[i].uri, &re);
		is_str(re, cases[i].want, "regex container of %s", cases[i].uri);
		free(re);
	}
	ok(us_container_regex("not a uri", &(char *){ NULL }) != 0, "a malformed URI is refused");
}

int main(void)
{
	setup();
	test_config_errors();
	test_nothing_configured();
	test_fresh_hash_query();
	test_fresh_regex_path();
	test_rules();
	test_verify_and_resign();
	test_regex_container();
	cleanup();
	return done_testing();
}
