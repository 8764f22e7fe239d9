/* dcdn/usign.c: URI signing enforcement as a policy hook — verdicts and
 * their RFC 9246 §6.4 log codes, the token out of the cache key and the
 * upstream target, cdnicb against the listener's certificate, Signed Token
 * Renewal by cookie and by query (the renewal key trusted for its issuer),
 * enforce false, config errors naming key paths; req_location_param. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/tap.h"
#include "dcdn/config.h"
#include "dcdn/usign.h"

#define NOW 1700000000LL
#define HOST "edge.dcdn.test:8443"

static char dir[256];
static struct jose_key *ucdn_key, *renew_key, *other_key;
static struct req_info ri;
static struct req_verdict v;

static const char *path(const char *name)
{
	static char p[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static void write_key(const char *name, const struct jose_key *k, bool priv)
{
	json_t *j = NULL;

	jose_key_to_json(k, priv, &j);
	json_dump_file(j, path(name), JSON_COMPACT);
	json_decref(j);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	json_t *pub = NULL, *doc;

	snprintf(dir, sizeof dir, "%s/dcdn-usign.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		exit(1);
	jose_key_generate(JOSE_ES256, 0, &ucdn_key);
	jose_key_generate(JOSE_ES256, 0, &renew_key);
	jose_key_generate(JOSE_ES256, 0, &other_key);
	write_key("renew.jwk", renew_key, true);
	jose_key_to_json(ucdn_key, false, &pub);
	doc = json_pack("{s:{s:[O]}}", "ucdn", "keys", pub);
	json_dump_file(doc, path("map.json"), JSON_COMPACT);
	json_decref(doc);
	doc = json_pack("{s:[O]}", "keys", pub);
	json_dump_file(doc, path("set.json"), JSON_COMPACT);
	json_decref(doc);
	json_decref(pub);
	FILE *f = fopen(path("bad.json"), "w");
	if (f) {
		fputs("{\"ucdn\":{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}}", f);
		fclose(f);
	}
}

static void cleanup(void)
{
	const char *names[] = { "renew.jwk", "map.json", "set.json", "bad.json" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(path(names[i]));
	rmdir(dir);
	jose_key_free(ucdn_key);
	jose_key_free(renew_key);
	jose_key_free(other_key);
}

/* A usign from a "uri_signing" object ("%D" stands for dir). */
static int make(const char *us, struct dcdn_usign_conf *c, struct usign **u, char *err,
		size_t errlen)
{
	char json[2048];
	int rc;

	tap_expand(us, dir, NULL, json, sizeof json);
	memset(c, 0, sizeof *c);
	*u = NULL;
	err[0] = '\0';
	if (conf_load_string(dcdn_usign_table, c, json, "d.json", err, errlen))
		return CDNI_ECONFIG;
	if ((rc = usign_new(c, u, err, errlen)) != 0)
		conf_free(dcdn_usign_table, c);
	return rc;
}

static void done(struct dcdn_usign_conf *c, struct usign *u)
{
	usign_free(u);
	conf_free(dcdn_usign_table, c);
}

/* Parse target for HOST and run the hook. */
static int run(struct usign *u, const char *scheme, const char *target, const char *cookie,
	       const uint8_t *spki, long long now)
{
	struct req_in in = { "GET", "HTTP/1.1", target, HOST, 1 };
	const char *reason = NULL;

	req_reset(&ri);
	if (req_parse(&ri, &in, &reason))
		return -1;
	ri.scheme = scheme;
	snprintf(ri.client_ip, sizeof ri.client_ip, "192.0.2.7");
	ri.cookie = cookie;
	ri.spki_sha256 = spki;
	ri.now = now;
	memset(&v, 0, sizeof v);
	return usign_hook(u, &ri, &v);
}

/* A token signed by key for the regex of /v/ on HOST, with more claims. */
static char *token(const struct jose_key *key, const char *iss, json_t *claims)
{
	struct us_signer s = { .key = key };
	char *t = NULL;

	json_object_set_new(claims, "iss", json_string(iss));
	if (!json_object_get(claims, "cdniuc"))
		json_object_set_new(claims, "cdniuc",
				    json_string("regex:[a-z]+://edge\\.dcdn\\.test:8443/v/.*"));
	us_sign_token(&s, claims, &t);
	json_decref(claims);
	return t;
}

/* before + tok + after */
static const char *target(const char *before, const char *tok, const char *after)
{
	static char t[REQ_TARGET_MAX];

	snprintf(t, sizeof t, "%s%s%s", before, tok, after);
	return t;
}

static void test_config(void)
{
	struct dcdn_usign_conf c;
	struct usign *u;
	char err[1024], want[700];
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"renew_key\":\"%D/renew.jwk\"}", "uri_signing.keys: is required" },
		{ "{\"keys\":\"%D/map.json\",\"renew_kid\":\"x\"}",
		  "uri_signing.renew_key: is required with renew_kid" },
		{ "{\"keys\":\"%D/map.json\",\"issuers\":[\"ucdn\"],\"renew_key\":\"%D/renew.jwk\","
		  "\"renew_issuer\":\"dcdn\"}", "uri_signing.renew_issuer: \"dcdn\" is not in issuers" },
		{ "{\"keys\":\"%D/map.json\",\"renew_key\":\"%D/map.json\"}", "uri_signing.renew_key: " },
		{ "{\"keys\":\"%D/map.json\",\"package_attribute\":\"a b\"}",
		  "uri_signing.package_attribute: " },
		{ "{\"keys\":\"%D/map.json\",\"enforse\":false}", "enforse: unknown key" },
	};

	is_int(make("{}", &c, &u, err, sizeof err), 0, "no keys: not configured");
	ok(u == NULL, "and no hook state");
	done(&c, u);
	snprintf(want, sizeof want, "uri_signing.keys: %s/nope.json: cannot read", dir);
	is_int(make("{\"keys\":\"%D/nope.json\"}", &c, &u, err, sizeof err), CDNI_ECONFIG,
	       "a missing keys file");
	ok(strstr(err, want) != NULL, "is named: %s", err);
	snprintf(want, sizeof want, "uri_signing.keys: %s/bad.json: ucdn: ", dir);
	is_int(make("{\"keys\":\"%D/bad.json\"}", &c, &u, err, sizeof err), CDNI_ECONFIG,
	       "a bad JWK");
	ok(strstr(err, want) != NULL, "is named with its issuer: %s", err);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = make(cases[i].json, &c, &u, err, sizeof err);
		if (!ok(rc == CDNI_ECONFIG && strstr(err, cases[i].want), "refused: %s", cases[i].want))
			diag("rc %d: %s", rc, err);
		if (!rc)
			done(&c, u);
	}
}

static void expect_reject(struct usign *u, const char *tgt, const char *cookie,
			  const uint8_t *spki, const char *code, const char *name)
{
	is_int(run(u, "https", tgt, cookie, spki, NOW), 1, "%s: refused", name);
	is_int(v.status, 403, "%s: 403", name);
	is_str(ri.usign_code, code, "%s: log code %s", name, code);
	ok(ri.usign_reason[0] && v.reason && strstr(v.reason, code) && strstr(v.reason, ri.usign_reason),
	   "%s: the answer names the code and the reason (%s)", name, v.reason ? v.reason : "");
}

static void test_verdicts(void)
{
	struct dcdn_usign_conf c;
	struct usign *u;
	char err[512], *t, *bad;
	uint8_t spki[32] = { 7 }, other[32] = { 8 };
	json_t *cl;

	if (!ok(make("{\"keys\":\"%D/map.json\",\"audience\":[\"dcdn\"]}", &c, &u, err, sizeof err) == 0 && u,
		"enforcing config loads"))
		diag("%s", err);
	if (!u)
		return;
	t = token(ucdn_key, "ucdn", json_pack("{s:I,s:s}", "exp", NOW + 60, "aud", "dcdn"));
	is_int(run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, NOW), 0,
	       "a valid token goes on");
	is_str(ri.usign_code, "200", "log code 200");
	is_str(ri.key, "edge.dcdn.test/v/a.ts", "the token is not in the cache key");
	is_str(ri.fetch_target, "/v/a.ts", "nor in the upstream target");
	ok(!ri.set_cookie && !ri.location_param, "no renewal asked, none made");
	is_int(run(u, "https", target("/v/a.ts?x=1&URISigningPackage=", t, "&y=2"), NULL, NULL, NOW), 0,
	       "a token among other parameters");
	ok(strcmp(ri.key, "edge.dcdn.test/v/a.ts?x=1&y=2") == 0 &&
		   strcmp(ri.fetch_target, "/v/a.ts?x=1&y=2") == 0, "the other parameters stay (%s)", ri.key);
	is_int(run(u, "https", target("/v/a.ts;URISigningPackage=", t, ""), NULL, NULL, NOW), 0,
	       "a path-style token");
	is_str(ri.key, "edge.dcdn.test/v/a.ts", "is stripped too");
	is_int(run(u, "http", "/v/a.ts?q", target("x=1; URISigningPackage=", t, ""), NULL, NOW), 0,
	       "a token in a cookie");
	is_str(ri.key, "edge.dcdn.test/v/a.ts?q", "leaves the key as it is");

	expect_reject(u, "/v/a.ts", NULL, NULL, "000", "no token");
	run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, NOW + 60);
	is_str(ri.usign_code, "404", "expired (exp = now): 404");
	expect_reject(u, target("/w/a.ts?URISigningPackage=", t, ""), NULL, NULL, "411", "wrong path");
	bad = strdup(t);
	bad[strlen(bad) - 4] = bad[strlen(bad) - 4] == 'A' ? 'B' : 'A';
	expect_reject(u, target("/v/a.ts?URISigningPackage=", bad, ""), NULL, NULL, "400", "tampered");
	free(bad);
	expect_reject(u, target("/v/a.ts?URISigningPackage=", t, "&URISigningPackage=x"), NULL, NULL,
		      "500", "two packages");
	free(t);
	t = token(other_key, "ucdn", json_pack("{s:I,s:s}", "exp", NOW + 60, "aud", "dcdn"));
	expect_reject(u, target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, "400", "another key");
	free(t);
	t = token(ucdn_key, "ucdn", json_pack("{s:I,s:s}", "exp", NOW + 60, "aud", "ecdn"));
	expect_reject(u, target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, "403", "foreign aud");
	free(t);
	/* cdnicb: the certificate this listener presents */
	cl = json_pack("{s:I}", "exp", NOW + 60);
	us_claims_bind_cert(cl, spki);
	t = token(ucdn_key, "ucdn", cl);
	is_int(run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, spki, NOW), 0,
	       "cdnicb naming this listener's certificate: accepted");
	expect_reject(u, target("/v/a.ts?URISigningPackage=", t, ""), NULL, other, "409",
		      "cdnicb naming another certificate");
	expect_reject(u, target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, "409",
		      "cdnicb over http");
	free(t);
	done(&c, u);
}

static void test_forward_and_unenforced(void)
{
	struct dcdn_usign_conf c;
	struct usign *u;
	char err[512], *t = token(ucdn_key, "ucdn", json_pack("{s:I}", "exp", NOW + 60));

	make("{\"keys\":\"%D/map.json\",\"forward_token\":true}", &c, &u, err, sizeof err);
	is_int(run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, NOW), 0,
	       "forward_token: accepted");
	is_str(ri.key, "edge.dcdn.test/v/a.ts", "the key never holds the token");
	ok(strstr(ri.fetch_target, "URISigningPackage=") != NULL, "the upstream target keeps it");
	done(&c, u);
	make("{\"keys\":\"%D/map.json\",\"enforce\":false}", &c, &u, err, sizeof err);
	ok(u != NULL, "enforce false still strips tokens");
	is_int(run(u, "https", "/v/a.ts", NULL, NULL, NOW), 0, "enforce false: no token goes on");
	is_str(ri.usign_code, "000", "logged as 000 (no verification performed)");
	is_int(run(u, "https", target("/v/a.ts?URISigningPackage=", t, "x"), NULL, NULL, NOW), 0,
	       "enforce false: a bad token goes on");
	is_str(ri.key, "edge.dcdn.test/v/a.ts", "and is stripped from the key");
	done(&c, u);
	free(t);
}

/* The renewed token, verified through the hook as the next request. */
static void test_renewal(const char *conf, const char *iss_want, const char *name)
{
	struct dcdn_usign_conf c;
	struct usign *u;
	char err[512], cookie[4096], *t, *next;

	if (!ok(make(conf, &c, &u, err, sizeof err) == 0 && u, "%s: config loads", name))
		diag("%s", err);
	if (!u)
		return;
	t = token(ucdn_key, "ucdn", json_pack("{s:I,s:i,s:i,s:i}", "exp", NOW + 5, "cdnistt", 1,
					      "cdniets", 30, "cdnistd", 1));
	run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, NOW);
	ok(ri.set_cookie && strncmp(ri.set_cookie, "URISigningPackage=", 18) == 0 &&
		   strstr(ri.set_cookie, "; Path=/v; Secure; HttpOnly"),
	   "%s: cdnistt 1 renews by Set-Cookie, Path of cdnistd segments (%s)", name,
	   ri.set_cookie ? ri.set_cookie : "");
	snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(ri.set_cookie ? ri.set_cookie : "", ";"),
		 ri.set_cookie ? ri.set_cookie : "");
	next = strdup(cookie + 18);
	is_int(run(u, "https", "/v/b.ts", cookie, NULL, NOW + 20), 0,
	       "%s: the renewed cookie is accepted after the first token expired", name);
	is_str(ri.usign_code, "200", "%s: log code 200", name);
	{
		struct jose_jws j;
		const char *why;
		memset(&j, 0, sizeof j);
		jose_jws_parse(next, strlen(next), NULL, &j, &why);
		is_str(json_string_value(json_object_get(j.payload, "iss")), iss_want, "%s: iss %s", name,
		       iss_want);
		is_int(json_integer_value(json_object_get(j.payload, "exp")), NOW + 30,
		       "%s: exp = verification time + cdniets", name);
		jose_jws_clear(&j);
	}
	free(next);
	run(u, "https", "/v/b.ts", cookie, NULL, NOW + 31);
	is_str(ri.usign_code, "404", "%s: the renewed token expires in its turn", name);
	free(t);
	t = token(ucdn_key, "ucdn", json_pack("{s:I,s:i,s:i}", "exp", NOW + 5, "cdnistt", 2,
					      "cdniets", 30));
	run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, NOW);
	ok(!ri.set_cookie && ri.location_param &&
		   strncmp(ri.location_param, "URISigningPackage=", 18) == 0,
	   "%s: cdnistt 2 renews into a Location's query", name);
	next = ri.location_param ? strdup(ri.location_param) : strdup("");
	is_int(run(u, "https", target("/v/c.ts?", next, ""), NULL, NULL, NOW + 20), 0,
	       "%s: that token is accepted", name);
	free(next);
	free(t);
	t = token(ucdn_key, "ucdn", json_pack("{s:I,s:i,s:i,s:i}", "exp", NOW + 5, "cdnistt", 1,
					      "cdniets", 30, "cdnistd", 3));
	run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, NOW);
	ok(ri.usign_code[0] == '2' && !ri.set_cookie,
	   "%s: a path shorter than cdnistd: accepted, not renewed (§2.1.14)", name);
	free(t);
	done(&c, u);
}

static void test_no_renew_key(void)
{
	struct dcdn_usign_conf c;
	struct usign *u;
	char err[512], *t = token(ucdn_key, "ucdn", json_pack("{s:I,s:i,s:i}", "exp", NOW + 5,
							     "cdnistt", 1, "cdniets", 30));

	make("{\"keys\":\"%D/map.json\"}", &c, &u, err, sizeof err);
	is_int(run(u, "https", target("/v/a.ts?URISigningPackage=", t, ""), NULL, NULL, NOW), 0,
	       "no renew_key: a renewal token is accepted");
	ok(!ri.set_cookie && !ri.location_param, "but not renewed");
	done(&c, u);
	free(t);
}

static void test_location_param(void)
{
	static const struct {
		const char *loc, *want;
	} cases[] = {
		{ "/a", "/a?P=t" },           { "/a?x=1", "/a?x=1&P=t" },
		{ "/a?", "/a?P=t" },          { "/a?x&", "/a?x&P=t" },
		{ "/a#f", "/a?P=t#f" },       { "https://h/a?b#f?g", "https://h/a?b&P=t#f?g" },
	};
	struct buf b;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf_init(&b, 0);
		req_location_param(cases[i].loc, "P=t", &b);
		is_str(b.data, cases[i].want, "Location %s gets the token", cases[i].loc);
		buf_free(&b);
	}
}

int main(void)
{
	setup();
	req_init(&ri);
	test_config();
	test_verdicts();
	test_forward_and_unenforced();
	test_renewal("{\"keys\":\"%D/map.json\",\"renew_key\":\"%D/renew.jwk\",\"renew_issuer\":\"dcdn\"}",
		     "dcdn", "issuer map, a renewal issuer of its own");
	test_renewal("{\"keys\":\"%D/map.json\",\"renew_key\":\"%D/renew.jwk\",\"renew_issuer\":\"ucdn\"}",
		     "ucdn", "issuer map, the renewal key joins the issuer's set");
	test_renewal("{\"keys\":\"%D/set.json\",\"renew_key\":\"%D/renew.jwk\"}", "ucdn",
		     "plain set, iss kept");
	test_no_renew_key();
	test_location_param();
	req_reset(&ri);
	cleanup();
	return done_testing();
}
