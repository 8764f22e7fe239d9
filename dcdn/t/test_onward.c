/* dcdn/onward.c: delegating onwards — which requests (clients, hosts), the
 * Location (token stripped, path and query kept), the token re-signed per
 * RFC 9246 §4 (read back by the next dCDN's URI signing hook: iss, aud,
 * iat, cdniuc for the new URI, exp/nbf/jti copied), regex containers,
 * path carriage, https never to http, no token without a verified one,
 * config errors naming their keys. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/tap.h"
#include "dcdn/onward.h"
#include "dcdn/usign.h"

#define NOW 1700000000LL

static char dir[256];
static struct jose_key *ucdn_key, *d1_key;
static struct req_info ri, ri2;
static struct req_verdict v, v2;

/* got matches the POSIX extended regular expression re */
static void like(const char *got, const char *re, const char *name)
{
	regex_t r;
	int m = regcomp(&r, re, REG_EXTENDED | REG_NOSUB) == 0 &&
		regexec(&r, got ? got : "", 0, NULL, 0) == 0;

	regfree(&r);
	if (!ok(m, "%s", name))
		diag("got '%s', want match /%s/", got ? got : "(null)", re);
}

static const char *path(const char *name)
{
	static char p[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static void write_json(const char *name, json_t *j)
{
	json_dump_file(j, path(name), JSON_COMPACT);
	json_decref(j);
}

static json_t *pub(const struct jose_key *k)
{
	json_t *j = NULL;

	jose_key_to_json(k, false, &j);
	return j;
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	json_t *j = NULL;

	snprintf(dir, sizeof dir, "%s/dcdn-onward.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		exit(1);
	jose_key_generate(JOSE_ES256, 0, &ucdn_key);
	jose_key_generate(JOSE_ES256, 0, &d1_key);
	jose_key_to_json(d1_key, true, &j);
	write_json("d1.jwk", j);
	write_json("ucdn-keys.json", json_pack("{s:{s:[o]}}", "ucdn", "keys", pub(ucdn_key)));
	write_json("d1-keys.json", json_pack("{s:{s:[o]}}", "dcdn1", "keys", pub(d1_key)));
}

static void cleanup(void)
{
	unlink(path("d1.jwk"));
	unlink(path("ucdn-keys.json"));
	unlink(path("d1-keys.json"));
	rmdir(dir);
	jose_key_free(ucdn_key);
	jose_key_free(d1_key);
}

/* An onward hook from a delegate object's text ("%D" stands for dir). */
static int make(const char *text, struct dcdn_onward_conf *c, struct onward **o, char *err,
		size_t errlen)
{
	char json[2048];
	int rc;

	tap_expand(text, dir, NULL, json, sizeof json);
	memset(c, 0, sizeof *c);
	*o = NULL;
	err[0] = '\0';
	if (conf_load_string(dcdn_onward_table, c, json, "d.json", err, errlen))
		return CDNI_ECONFIG;
	if ((rc = onward_new(c, o, err, errlen)) != 0)
		conf_free(dcdn_onward_table, c);
	return rc;
}

static struct usign *verifier(const char *keys, const char *aud, struct dcdn_usign_conf *c)
{
	char json[700], err[256];
	struct usign *u = NULL;

	snprintf(json, sizeof json, "{\"keys\":\"%s\",\"audience\":[\"%s\"]}", path(keys), aud);
	memset(c, 0, sizeof *c);
	if (conf_load_string(dcdn_usign_table, c, json, "u.json", err, sizeof err) ||
	    usign_new(c, &u, err, sizeof err))
		diag("verifier: %s", err);
	return u;
}

/* Run URI signing then the onward hook on https://host target from client. */
static int run(struct usign *u, struct onward *o, const char *scheme, const char *host,
	       const char *target, const char *client)
{
	struct req_in in = { "GET", "HTTP/1.1", target, host, 1 };
	const char *reason = NULL;

	req_reset(&ri);
	if (req_parse(&ri, &in, &reason))
		return -1;
	ri.scheme = scheme;
	snprintf(ri.client_ip, sizeof ri.client_ip, "%s", client);
	ri.now = NOW;
	memset(&v, 0, sizeof v);
	if (u && usign_hook(u, &ri, &v))
		return 2;
	return onward_hook(o, &ri, &v);
}

/* The uCDN's token for https://edge1.test/v/a.ts (hash container). */
static char *ucdn_token(const char *uri)
{
	static int n;
	struct us_signer s = { .key = ucdn_key, .issuer = "ucdn" };
	char jti[32];
	json_t *claims;
	char *t = NULL;

	snprintf(jti, sizeof jti, "j-%d", ++n); /* the verifier keeps jti (replays refused) */
	claims = json_pack("{s:s, s:I, s:I, s:s}", "aud", "dcdn1", "exp", NOW + 600, "nbf", NOW - 60,
			   "jti", jti);
	us_sign_uri(&s, claims, uri, NULL, US_IN_QUERY, NULL, &t);
	json_decref(claims);
	return t;
}

/* A target with a new uCDN token (the old one freed). */
static const char *fresh(char *t, size_t len, char **tok)
{
	free(*tok);
	*tok = ucdn_token("https://edge1.test/v/a.ts?q=1");
	snprintf(t, len, "/v/a.ts?q=1&URISigningPackage=%s", *tok);
	return t;
}

/* The next dCDN reads the Location: its verdict's claims (ri2). */
static json_t *read_back(struct usign *u2, const char *location)
{
	const char *p = strstr(location, "://");
	char host[128];
	size_t n;
	struct req_in in = { "GET", "HTTP/1.1", NULL, host, 1 };
	const char *reason = NULL;

	if (!p)
		return NULL;
	p += 3;
	n = strcspn(p, "/");
	snprintf(host, sizeof host, "%.*s", (int)n, p);
	in.target = p + n;
	req_reset(&ri2);
	if (req_parse(&ri2, &in, &reason))
		return NULL;
	ri2.scheme = "https";
	snprintf(ri2.client_ip, sizeof ri2.client_ip, "198.51.100.7");
	ri2.now = NOW + 1;
	memset(&v2, 0, sizeof v2);
	if (usign_hook(u2, &ri2, &v2) || !ri2.usign_vd)
		return NULL;
	return ri2.usign_vd->claims;
}

static void test_config(void)
{
	struct dcdn_onward_conf c;
	struct onward *o;
	char err[512];

	is_int(make("{}", &c, &o, err, sizeof err), 0, "no to: not configured");
	ok(o == NULL, "  no hook");
	conf_free(dcdn_onward_table, &c);
	is_int(make("{\"to\":\"ftp://x\"}", &c, &o, err, sizeof err), CDNI_ECONFIG, "an ftp to");
	like(err, "^onward\\.to: \"ftp://x\" is not an http\\(s\\) URL$", "  named");
	is_int(make("{\"to\":\"https://e2\",\"clients\":[\"10.0.0.1/8\"]}", &c, &o, err, sizeof err),
	       CDNI_ECONFIG, "a CIDR with host bits");
	like(err, "^onward\\.clients\\[0\\]: \"10\\.0\\.0\\.1/8\"", "  named");
	is_int(make("{\"to\":\"https://e2\",\"key\":\"%D/d1.jwk\"}", &c, &o, err, sizeof err),
	       CDNI_ECONFIG, "a key without issuer");
	like(err, "^onward\\.issuer: required", "  named");
	is_int(make("{\"to\":\"https://e2\",\"key\":\"%D/none.jwk\",\"issuer\":\"d\"}", &c, &o, err,
		    sizeof err), CDNI_ECONFIG, "a key file that is not there");
	like(err, "^onward\\.key: ", "  named");
	is_int(make("{\"to\":\"https://e2\",\"key\":\"%D/d1.jwk\",\"issuer\":\"d\",\"alg\":\"RS256\"}",
		    &c, &o, err, sizeof err), CDNI_ECONFIG, "an alg that does not fit the key");
	like(err, "^onward\\.alg: RS256 does not fit", "  named");
	is_int(make("{\"to\":\"https://e2\",\"target_cert\":\"%D/x.pem\"}", &c, &o, err, sizeof err),
	       CDNI_ECONFIG, "target_cert without key");
	like(err, "^onward\\.target_cert: needs onward\\.key", "  named");
	is_int(make("{\"to\":\"https://e2\",\"status\":304}", &c, &o, err, sizeof err), CDNI_ECONFIG,
	       "status 304");
}

static void test_resign(void)
{
	struct dcdn_onward_conf c, cr;
	struct dcdn_usign_conf uc, uc2;
	struct onward *o, *orx;
	struct usign *u = verifier("ucdn-keys.json", "dcdn1", &uc),
		     *u2 = verifier("d1-keys.json", "dcdn2", &uc2);
	char err[512], t[1024], *tok = ucdn_token("https://edge1.test/v/a.ts?q=1");
	const char *conf = "{\"to\":\"https://edge2.test:8443/\",\"clients\":[\"198.51.100.0/24\"],"
			   "\"hosts\":[\"edge1.test\"],\"key\":\"%D/d1.jwk\",\"issuer\":\"dcdn1\","
			   "\"audience\":\"dcdn2\"}";
	json_t *cl;

	ok(make(conf, &c, &o, err, sizeof err) == 0 && o, "configured (%s)", err);
	snprintf(t, sizeof t, "/v/a.ts?q=1&URISigningPackage=%s", tok);
	if (is_int(run(u, o, "https", "edge1.test", t, "198.51.100.7"), 1, "a delegated client: answered") == 0)
		diag("%s %s", ri.usign_code, ri.usign_reason);
	is_int(v.status, 302, "  302");
	like(v.location, "^https://edge2\\.test:8443/v/a\\.ts\\?q=1&URISigningPackage=ey", "  Location: to + path, query, new token");
	ok(v.location && !strstr(v.location, tok), "  not the uCDN's token");
	is_str(v.reason, "delegated to https://edge2.test:8443", "  the note");
	cl = read_back(u2, v.location);
	ok(cl != NULL, "the next dCDN accepts it with dCDN1's key (%s)", ri2.usign_reason);
	is_str(json_string_value(json_object_get(cl, "iss")), "dcdn1", "  iss: dCDN1");
	is_str(json_string_value(json_object_get(cl, "aud")), "dcdn2", "  aud: dCDN2");
	ok(json_integer_value(json_object_get(cl, "exp")) == NOW + 600, "  exp copied");
	ok(json_integer_value(json_object_get(cl, "nbf")) == NOW - 60, "  nbf copied");
	is_str(json_string_value(json_object_get(cl, "jti")), "j-1", "  jti copied");
	ok(json_integer_value(json_object_get(cl, "iat")) == NOW, "  iat: the re-signing time");
	like(json_string_value(json_object_get(cl, "cdniuc")), "^hash:sha-256;", "  cdniuc: a hash");
	ok(read_back(u, v.location) == NULL, "  the uCDN's keys do not verify it");

	is_int(run(u, o, "https", "edge1.test", fresh(t, sizeof t, &tok), "203.0.113.9"), 0,
	       "a client outside clients: served here");
	is_int(run(NULL, o, "https", "other.test", "/v/a.ts", "198.51.100.7"), 0,
	       "another host: served here");
	is_int(run(u, o, "https", "edge1.test:443", fresh(t, sizeof t, &tok), "198.51.100.7"), 1,
	       "the host with a port: delegated");
	is_int(run(u, o, "https", "edge1.test", "/v/a.ts", "198.51.100.7"), 2,
	       "no token where URI signing enforces: refused before delegation");
	is_int(run(NULL, o, "https", "edge1.test", "/v/b.ts?x", "198.51.100.7"), 1,
	       "no URI signing here: delegated");
	is_str(v.location, "https://edge2.test:8443/v/b.ts?x", "  without a token");
	onward_free(o);
	conf_free(dcdn_onward_table, &c);

	ok(make("{\"to\":\"http://edge2.test\"}", &c, &o, err, sizeof err) == 0, "an http to");
	is_int(run(NULL, o, "https", "edge1.test", "/v/a.ts", "198.51.100.7"), 1, "an https request");
	is_int(v.status, 500, "  refused (500), never downgraded to http");
	like(v.reason, "RFC 9246 §1\\.3", "  says why");
	is_int(run(NULL, o, "http", "edge1.test", "/v/a.ts", "198.51.100.7"), 1, "an http request");
	is_int(v.status, 302, "  delegated");
	onward_free(o);
	conf_free(dcdn_onward_table, &c);

	ok(make("{\"to\":\"https://edge2.test:8443\",\"key\":\"%D/d1.jwk\",\"issuer\":\"dcdn1\","
		"\"audience\":\"dcdn2\",\"container\":\"regex\",\"carriage\":\"path\",\"status\":307}", &cr, &orx, err,
		sizeof err) == 0, "regex container, path carriage");
	is_int(run(u, orx, "https", "edge1.test", fresh(t, sizeof t, &tok), "198.51.100.7"), 1,
	       "delegated");
	is_int(v.status, 307, "  307");
	like(v.location, "^https://edge2\\.test:8443/v/a\\.ts;URISigningPackage=ey[^?]*\\?q=1$",
	     "  the token as a path parameter");
	cl = read_back(u2, v.location);
	like(cl ? json_string_value(json_object_get(cl, "cdniuc")) : "",
	     "^regex:https://edge2\\\\\\.test:8443/v/\\.\\*$", "  cdniuc: the directory's regex");
	is_str(cl ? json_string_value(json_object_get(cl, "iss")) : "", "dcdn1", "  iss: dCDN1");
	onward_free(orx);
	conf_free(dcdn_onward_table, &cr);
	req_reset(&ri);
	req_reset(&ri2);
	usign_free(u);
	usign_free(u2);
	conf_free(dcdn_usign_table, &uc);
	conf_free(dcdn_usign_table, &uc2);
	free(tok);
}

int main(void)
{
	setup();
	req_init(&ri);
	req_init(&ri2);
	test_config();
	test_resign();
	cleanup();
	return done_testing();
}
