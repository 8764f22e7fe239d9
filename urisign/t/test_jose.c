/* jwk.c, jws.c, jwe.c: keys, thumbprints, known-answer tests from the RFCs,
 * round trips for every algorithm, and the attacks a verifier must refuse. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/err.h"
#include "common/tap.h"
#include "urisign/b64.h"
#include "urisign/jose.h"

static struct jose_key *key_from(const char *json)
{
	json_error_t e;
	json_t *j = json_loads(json, 0, &e);
	struct jose_key *k = NULL;
	char err[256] = "";

	if (!j || jose_key_from_json(j, &k, err, sizeof err))
		diag("key_from: %s %s", e.text, err);
	json_decref(j);
	return k;
}

static int key_err(const char *json, char *err, size_t len)
{
	json_t *j = json_loads(json, 0, NULL);
	struct jose_key *k = NULL;
	int rc = jose_key_from_json(j, &k, err, len);

	jose_key_free(k);
	json_decref(j);
	return rc;
}

/* Parse and verify token with key: 0, or the first failing code. */
static int check(const char *token, const struct jose_key *k)
{
	struct jose_jws j;
	int rc = jose_jws_parse(token, strlen(token), NULL, &j, NULL);

	if (rc)
		return rc;
	rc = jose_jws_verify(&j, k, NULL);
	jose_jws_clear(&j);
	return rc;
}

static int parse_why(const char *token, const char **why)
{
	struct jose_jws j;
	int rc = jose_jws_parse(token, strlen(token), NULL, &j, why);

	if (!rc)
		jose_jws_clear(&j);
	return rc;
}

/* header.payload from two JSON texts, with signature sig (base64url). */
static char *make_token(const char *hdr, const char *payload, const char *sig)
{
	char *h = b64url_encode_new(hdr, strlen(hdr)), *p = b64url_encode_new(payload, strlen(payload));
	char *t = malloc(strlen(h) + strlen(p) + strlen(sig) + 3);

	sprintf(t, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return t;
}

static const char rfc7638_rsa[] =
	"{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt"
	"VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl9"
	"3lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr"
	"n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
	"Cur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
static const char rfc8037_ed[] =
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char rfc8037_jws[] =
	"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09P"
	"GcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
static const char rfc7515_hs_key[] =
	"{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4"
	"hcgUuTwjAzZr1Z9CAow\"}";
static const char rfc7515_hs_jws[] =
	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQog"
	"Imh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
static const char rfc7515_ec_key[] =
	"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
static const char rfc7515_ec_jws[] =
	"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
	"LmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
	"pmWQxfKTUJqPP3-Kg6NU1Q";
static const char rfc9246_ec_pub[] =
	"{\"kty\":\"EC\",\"kid\":\"P5UpOv0eMq1wcxLf7WxIg09JdSYGYFDOWkldueaImf0\",\"use\":\"sig\","
	"\"alg\":\"ES256\",\"crv\":\"P-256\",\"x\":\"be807S4O7dzB6I4hTiCUvmxCI6FuxWba1xYBlLSSsZ8\","
	"\"y\":\"rOGC4vI69g-WF9AGEVI37sNNwbjIzBxSjLvIL7f3RBA\"}";
static const char rfc9246_ec_priv[] =
	"{\"kty\":\"EC\",\"kid\":\"P5UpOv0eMq1wcxLf7WxIg09JdSYGYFDOWkldueaImf0\",\"use\":\"sig\","
	"\"alg\":\"ES256\",\"crv\":\"P-256\",\"x\":\"be807S4O7dzB6I4hTiCUvmxCI6FuxWba1xYBlLSSsZ8\","
	"\"y\":\"rOGC4vI69g-WF9AGEVI37sNNwbjIzBxSjLvIL7f3RBA\","
	"\"d\":\"yaowezrCLTU6yIwUL5RQw67cHgvZeMTLVZXjUGb1A1M\"}";
static const char rfc9246_enc[] =
	"{\"keys\":[{\"kty\":\"oct\",\"kid\":\"f-WbjxBC3dPuI3d24kP2hfvos7Qz688UTi6aB0hN998\","
	"\"use\":\"enc\",\"alg\":\"A128GCM\",\"k\":\"4uFxxV7fhNmrtiah2d1fFg\"}]}";
static const char rfc9246_jwe_ip[] =
	"eyJlbmMiOiJBMTI4R0NNIiwiYWxnIjoiZGlyIiwia2lkIjoiZi1XYmp4QkMzZFB1STNkMjRrUDJoZnZvczdRejY4OF"
	"VUaTZhQjBoTjk5OCJ9..aUDDFEQBIc3nWjOb.bGXWTHPkntmPCKn0pPPNEQ.iyTttnFybO2YBLqwl_YSjA";
static const char rfc9246_jwe_sub[] =
	"eyJlbmMiOiJBMTI4R0NNIiwiYWxnIjoiZGlyIiwia2lkIjoiZi1XYmp4QkMzZFB1STNkMjRrUDJoZnZvczdRejY4OF"
	"VUaTZhQjBoTjk5OCJ9..CLAu80xclc8Bp-Ui.6P1A3F6ip2Dv.CohdtLLpgBnTvRJQCFuz-g";

static void test_thumbprints(void)
{
	struct jose_key *k = key_from(rfc7638_rsa);
	char tp[44] = "";

	ok(k && jose_key_thumbprint(k, tp) == 0, "RSA key from RFC 7638 §3.1 loads");
	is_str(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "RFC 7638 example thumbprint");
	jose_key_free(k);
	k = key_from(rfc8037_ed);
	ok(k && jose_key_thumbprint(k, tp) == 0 && k->priv, "Ed25519 private key (RFC 8037 A.1)");
	is_str(tp, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "RFC 8037 A.3 thumbprint");
	jose_key_free(k);
	k = key_from(rfc9246_ec_pub);
	ok(k && jose_key_thumbprint(k, tp) == 0, "RFC 9246 appendix A signing key loads");
	is_str(tp, "P5UpOv0eMq1wcxLf7WxIg09JdSYGYFDOWkldueaImf0",
	       "RFC 9246 example kid is the key's RFC 7638 thumbprint");
	jose_key_free(k);
}

static void test_known_answers(void)
{
	struct jose_key *ed = key_from(rfc8037_ed), *hs = key_from(rfc7515_hs_key);
	struct jose_key *ec = key_from(rfc7515_ec_key);
	const char *msg = "Example of Ed25519 signing";
	char *tok = NULL;

	ok(jose_jws_sign_raw(ed, JOSE_EDDSA, NULL, msg, strlen(msg), &tok) == 0,
	   "Ed25519 signs the RFC 8037 A.4 payload");
	is_str(tok, rfc8037_jws, "...into exactly the RFC 8037 A.4 JWS (EdDSA is deterministic)");
	free(tok);
	is_int(check(rfc7515_hs_jws, hs), 0, "RFC 7515 A.1 HS256 JWS verifies");
	is_int(check(rfc7515_ec_jws, ec), 0, "RFC 7515 A.3 ES256 JWS verifies");
	is_int(check(rfc7515_ec_jws, hs), CDNI_EDENIED, "ES256 JWS with an oct key is refused");
	is_int(check(rfc7515_hs_jws, ec), CDNI_EDENIED, "HS256 JWS with an EC key is refused");
	jose_key_free(ed);
	jose_key_free(hs);
	jose_key_free(ec);
}

static void round_trip(enum jose_alg a)
{
	struct jose_key *k = NULL, *pub = NULL, *other = NULL;
	json_t *claims = json_pack("{s:s,s:i}", "iss", "csp", "exp", 2000000000), *pj = NULL;
	char *tok = NULL, err[200];
	const char *name = jose_alg_name(a);

	ok(jose_key_generate(a, 0, &k) == 0 && jose_key_generate(a, 0, &other) == 0,
	   "%s: key generated", name);
	ok(k && jose_jws_sign(k, JOSE_ALG_UNKNOWN, NULL, claims, &tok) == 0, "%s: signs", name);
	ok(k && jose_key_to_json(k, k->kty == JOSE_KTY_OCT, &pj) == 0 &&
		   jose_key_from_json(pj, &pub, err, sizeof err) == 0 &&
		   (k->kty == JOSE_KTY_OCT || !pub->priv),
	   "%s: the public JWK exports and loads", name);
	is_int(tok && pub ? check(tok, pub) : -99, 0, "%s: verifies with the exported key", name);
	is_int(tok && other ? check(tok, other) : -99, CDNI_EDENIED, "%s: fails with another key", name);
	json_decref(pj);
	json_decref(claims);
	free(tok);
	jose_key_free(k);
	jose_key_free(pub);
	jose_key_free(other);
}

static void test_round_trips(void)
{
	static const enum jose_alg algs[] = { JOSE_ES256, JOSE_ES384, JOSE_ES512, JOSE_RS256,
					      JOSE_RS384, JOSE_RS512, JOSE_PS256, JOSE_PS384,
					      JOSE_PS512, JOSE_EDDSA, JOSE_HS256, JOSE_HS384,
					      JOSE_HS512 };
	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
		round_trip(algs[i]);
}

/* The header is written by hand: a kid that needs escaping survives, and
 * an EC key's reused contexts sign and verify from several threads. */
static void *sign_many(void *arg)
{
	struct jose_key *k = arg;
	json_t *c = json_pack("{s:s}", "iss", "t");
	long bad = 0;

	for (int i = 0; i < 50; i++) {
		char *tok = NULL;
		if (jose_jws_sign(k, JOSE_ES256, NULL, c, &tok) || check(tok, k))
			bad++;
		free(tok);
	}
	json_decref(c);
	return (void *)bad;
}

static void test_header_and_threads(void)
{
	static const char *const kids[] = { "plain", "q\"uote", "back\\slash", "ctl\x01\x1f",
					    "caf\xc3\xa9" };
	struct jose_key *k = NULL;
	json_t *c = json_pack("{s:s}", "iss", "t");
	pthread_t th[4];
	long bad = 0;

	jose_key_generate(JOSE_ES256, 0, &k);
	for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++) {
		struct jose_jws j;
		const char *why = NULL;
		char *tok = NULL;
		memset(&j, 0, sizeof j);
		jose_jws_sign(k, JOSE_ES256, kids[i], c, &tok);
		ok(tok && jose_jws_parse(tok, strlen(tok), NULL, &j, &why) == 0 && j.kid &&
			   strcmp(j.kid, kids[i]) == 0, "header kid %zu survives escaping", i);
		jose_jws_clear(&j);
		free(tok);
	}
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, sign_many, k);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (long)r;
	}
	is_int(bad, 0, "4 threads x 50 ES256 signatures share the key's contexts, all verify");
	json_decref(c);
	jose_key_free(k);
}

static void test_private_round_trip(void)
{
	struct jose_key *k = key_from(rfc9246_ec_priv), *k2 = NULL;
	json_t *j = NULL, *claims = json_pack("{s:s}", "cdniuc", "regex:.*");
	char *tok = NULL, err[100];

	ok(k && k->priv && jose_key_to_json(k, true, &j) == 0, "EC private key exports");
	is_str(json_string_value(json_object_get(j, "d")), "yaowezrCLTU6yIwUL5RQw67cHgvZeMTLVZXjUGb1A1M",
	       "d exports as it was given");
	ok(jose_key_from_json(j, &k2, err, sizeof err) == 0 && jose_jws_sign(k2, 0, NULL, claims, &tok) == 0,
	   "re-imported private key signs");
	is_int(tok ? check(tok, k) : -99, 0, "and the original verifies it");
	free(tok);
	json_decref(j);
	json_decref(claims);
	jose_key_free(k);
	jose_key_free(k2);
}

/* The classic confusion: an HS256 token keyed with the bytes of the
 * verifier's public EC key must not verify against that key. */
static void test_confusion(void)
{
	struct jose_key *ec = key_from(rfc9246_ec_pub);
	uint8_t pub[65], mac[32];
	size_t plen = sizeof pub;
	unsigned int mlen = 0;
	char hdr[] = "{\"alg\":\"HS256\",\"kid\":\"P5UpOv0eMq1wcxLf7WxIg09JdSYGYFDOWkldueaImf0\"}";
	char *t = make_token(hdr, "{\"cdniuc\":\"regex:.*\"}", "");
	char sig[44];

	ok(ec && EVP_PKEY_get_octet_string_param(ec->pkey, "encoded-pub-key", pub, sizeof pub, &plen),
	   "public point bytes read");
	t[strlen(t) - 1] = '\0'; /* drop the trailing '.' */
	HMAC(EVP_sha256(), pub, (int)plen, (unsigned char *)t, strlen(t), mac, &mlen);
	b64url_encode(mac, mlen, sig);
	char *full = malloc(strlen(t) + 46);
	sprintf(full, "%s.%s", t, sig);
	is_int(check(full, ec), CDNI_EDENIED, "HS256 token MACed with the EC public key is refused");
	ok(!jose_key_fits(ec, JOSE_HS256, NULL), "an EC key never fits HS256");
	free(full);
	free(t);
	jose_key_free(ec);
}

static void test_bad_tokens(void)
{
	struct jose_key *ec = key_from(rfc7515_ec_key);
	char *t, big[9000];
	const char *why = NULL;

	t = make_token("{\"alg\":\"none\"}", "{\"cdniuc\":\"regex:.*\"}", "");
	is_int(parse_why(t, &why), CDNI_EPARSE, "alg none is refused");
	is_str(why, "alg none is refused", "...with that reason");
	free(t);
	t = make_token("{\"alg\":\"NONE\"}", "{}", "AAAA");
	is_int(parse_why(t, NULL), CDNI_EPARSE, "alg NONE (unknown) is refused");
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"crit\":[\"exp\"]}", "{}", "AAAA");
	is_int(parse_why(t, NULL), CDNI_EPARSE, "a crit header parameter is refused");
	free(t);
	t = make_token("{\"alg\":\"ES256\",\"kid\":7}", "{}", "AAAA");
	is_int(parse_why(t, NULL), CDNI_EPARSE, "a non-string kid is refused");
	free(t);
	t = make_token("{\"alg\":\"ES256\"}", "[1,2]", "AAAA");
	is_int(parse_why(t, NULL), CDNI_EPARSE, "a payload that is not an object is refused");
	free(t);
	t = make_token("{\"alg\":\"ES256\"}", "{\"a\":1,\"a\":2}", "AAAA");
	is_int(parse_why(t, NULL), CDNI_EPARSE, "duplicate claim names are refused");
	free(t);
	t = make_token("{\"alg\":\"ES256\"}",
		       "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		       "AAAA");
	is_int(parse_why(t, &why), CDNI_EPARSE, "JSON nested 41 deep is refused");
	is_str(why, "claims nested too deeply", "...before jansson parses it");
	free(t);
	t = make_token("{\"alg\":\"ES256\"}", "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", "AAAA");
	is_int(parse_why(t, NULL), 0, "brackets inside strings do not count as nesting");
	free(t);
	is_int(parse_why("eyJhbGciOiJFUzI1NiJ9.e30", NULL), CDNI_EPARSE, "two parts are refused");
	is_int(parse_why("eyJhbGciOiJFUzI1NiJ9.e30.AA.AA", NULL), CDNI_EPARSE, "four parts are refused");
	is_int(parse_why("", NULL), CDNI_EPARSE, "the empty token is refused");
	is_int(parse_why("..", NULL), CDNI_EPARSE, "empty parts are refused");
	is_int(parse_why("garbage!.garbage.garbage", NULL), CDNI_EPARSE, "garbage is refused");
	is_int(parse_why("eyJhbGciOiJFUzI1NiJ9==.e30.AAAA", NULL), CDNI_EPARSE,
	       "padded base64 is refused");
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[20] = big[40] = '.';
	is_int(parse_why(big, &why), CDNI_EOVERFLOW, "a token over 8 KiB is refused");
	/* tampering */
	t = strdup(rfc7515_ec_jws);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	is_int(check(t, ec), CDNI_EDENIED, "a tampered signature fails");
	free(t);
	t = strdup(rfc7515_ec_jws);
	t[25] = t[25] == 'A' ? 'B' : 'A';
	ok(check(t, ec) != 0, "a tampered payload fails");
	free(t);
	t = strdup(rfc7515_ec_jws);
	t[strlen(t) - 4] = '\0';
	ok(check(t, ec) != 0, "a truncated ES256 signature fails");
	free(t);
	jose_key_free(ec);
}

static void test_der(void)
{
	uint8_t raw[64], der[160], back[64];
	size_t dl = 0;

	memset(raw, 0, 32);
	raw[31] = 1;
	memset(raw + 32, 0xff, 32);
	ok(jose_ecdsa_raw_to_der(raw, 64, der, sizeof der, &dl) == 0, "raw r||s to DER");
	ok(dl == 2 + 3 + 2 + 33 && der[3] == 1 && der[6] == 0x21 && der[7] == 0,
	   "leading zeros stripped, a 0x00 added before a high bit");
	ok(jose_ecdsa_der_to_raw(der, dl, 32, back) == 0 && memcmp(raw, back, 64) == 0,
	   "DER back to fixed-width r||s");
	is_int(jose_ecdsa_raw_to_der(raw, 63, der, sizeof der, &dl), CDNI_EINVAL, "odd raw length refused");
	{
		static const size_t ns[] = { 32, 48, 66 };
		uint8_t r2[132], b2[132], d2[160];
		int good = 0, total = 0;
		for (size_t k = 0; k < 3; k++)
			for (int i = 0; i < 50; i++, total++) {
				for (size_t j = 0; j < 2 * ns[k]; j++)
					r2[j] = (uint8_t)(rand() >> (i % 3 == 0 && j % ns[k] < 2 ? 30 : 7));
				if (ns[k] == 66)
					r2[0] &= 1, r2[66] &= 1;
				good += jose_ecdsa_raw_to_der(r2, 2 * ns[k], d2, sizeof d2, &dl) == 0 &&
					jose_ecdsa_der_to_raw(d2, dl, ns[k], b2) == 0 &&
					memcmp(r2, b2, 2 * ns[k]) == 0;
			}
		is_int(good, total, "DER round trips for P-256, P-384, P-521 (long-form lengths too)");
	}
	jose_ecdsa_raw_to_der(raw, 64, der, sizeof der, &dl);
	der[dl] = 0;
	is_int(jose_ecdsa_der_to_raw(der, dl + 1, 32, back), CDNI_EPARSE, "DER: trailing byte refused");
	der[0] = 0x31;
	is_int(jose_ecdsa_der_to_raw(der, dl, 32, back), CDNI_EPARSE, "DER: not a SEQUENCE refused");
	is_int(jose_ecdsa_der_to_raw(der, 3, 32, back), CDNI_EPARSE, "DER: truncated refused");
	{
		static const uint8_t neg[] = { 0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01 };
		static const uint8_t pad[] = { 0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01 };
		static const uint8_t big[] = { 0x30, 0x08, 0x02, 0x03, 0x01, 0x02, 0x03, 0x02, 0x01, 0x01 };
		is_int(jose_ecdsa_der_to_raw(neg, sizeof neg, 32, back), CDNI_EPARSE, "DER: a negative integer refused");
		is_int(jose_ecdsa_der_to_raw(pad, sizeof pad, 32, back), CDNI_EPARSE, "DER: a non-minimal integer refused");
		is_int(jose_ecdsa_der_to_raw(big, sizeof big, 2, back), CDNI_EPARSE, "DER: an integer longer than n refused");
	}
}

static void test_key_errors(void)
{
	char err[256];
	struct jose_key *k = NULL;

	is_int(key_err("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
		       "\"y\":\"x_FEzRu9m36HLN_tue658LNpXW6pCyStikYjKIWI5a0\"}", err, sizeof err),
	       CDNI_EPARSE, "an EC point off the curve is refused");
	ok(strstr(err, "not a valid point") != NULL, "...saying why: %s", err);
	is_int(key_err("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", err, sizeof err),
	       CDNI_EPARSE, "short EC coordinates are refused");
	is_int(key_err("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"AAAA\",\"y\":\"AAAA\"}", err, sizeof err),
	       CDNI_EPARSE, "an unsupported curve is refused");
	is_int(key_err("{\"kty\":\"XYZ\"}", err, sizeof err), CDNI_EPARSE, "an unknown kty is refused");
	is_int(key_err("{\"kty\":\"oct\",\"k\":\"\"}", err, sizeof err), CDNI_EPARSE, "an empty oct key is refused");
	is_int(key_err("{\"kty\":\"oct\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"alg\":\"ES256\"}", err, sizeof err),
	       CDNI_EPARSE, "alg ES256 on an oct key is refused at load");
	is_int(key_err("{\"kty\":\"oct\",\"k\":\"AAAA\",\"use\":\"both\"}", err, sizeof err),
	       CDNI_EPARSE, "an unknown use is refused");
	is_int(key_err("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
		       "\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", err, sizeof err),
	       CDNI_EPARSE, "an Ed25519 d that does not belong to x is refused");
	is_int(key_err("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"oth\":[]}", err, sizeof err),
	       CDNI_EUNSUPP, "multi-prime RSA is refused");
	k = key_from("{\"kty\":\"oct\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"use\":\"enc\"}");
	ok(k && !jose_key_fits(k, JOSE_HS256, NULL), "a use:enc key does not sign");
	jose_key_free(k);
	k = key_from("{\"kty\":\"oct\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAA\"}");
	ok(k && !jose_key_fits(k, JOSE_HS256, NULL), "HS256 refuses a secret shorter than 32 bytes");
	jose_key_free(k);
	struct jose_key small = { .kty = JOSE_KTY_RSA, .priv = true };
	small.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ok(small.pkey && !jose_key_fits(&small, JOSE_RS256, NULL), "RS256 refuses a 1024-bit RSA key");
	EVP_PKEY_free(small.pkey);
	k = key_from(rfc9246_ec_pub);
	ok(k && !jose_key_fits(k, JOSE_ES384, NULL), "a P-256 key does not fit ES384");
	jose_key_free(k);
}

static void test_jwe(void)
{
	json_t *set = json_loads(rfc9246_enc, 0, NULL);
	struct jose_keyset *ks = NULL, *other = jose_keyset_new();
	struct jose_key *k = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	char err[100], *jwe = NULL;
	const char *why = NULL;

	ok(jose_keyset_from_json(set, &ks, err, sizeof err) == 0, "RFC 9246 encryption key loads");
	ok(jose_jwe_decrypt(rfc9246_jwe_ip, strlen(rfc9246_jwe_ip), ks, &pt, &n, NULL) == 0,
	   "RFC 9246 A.2 cdniip JWE decrypts");
	is_str((char *)pt, "[2001:db8::1/32]", "...to the example's prefix");
	free(pt);
	ok(jose_jwe_decrypt(rfc9246_jwe_sub, strlen(rfc9246_jwe_sub), ks, &pt, &n, NULL) == 0,
	   "RFC 9246 A.2 sub JWE decrypts");
	is_str((char *)pt, "UserToken", "...to UserToken");
	free(pt);
	char *bad = strdup(rfc9246_jwe_sub);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	is_int(jose_jwe_decrypt(bad, strlen(bad), ks, &pt, &n, &why), CDNI_EDENIED,
	       "a tampered tag does not decrypt");
	free(bad);
	for (enum jose_alg a = JOSE_A128GCM; a <= JOSE_A256GCM; a++) {
		jose_key_generate(a, 0, &k);
		jose_keyset_add(other, k);
		ok(jose_jwe_encrypt(k, a, "192.0.2.0/24", 12, &jwe) == 0 &&
			   jose_jwe_decrypt(jwe, strlen(jwe), other, &pt, &n, NULL) == 0 &&
			   n == 12 && memcmp(pt, "192.0.2.0/24", 12) == 0,
		   "%s: JWE round trip", jose_alg_name(a));
		free(pt);
		pt = NULL;
		is_int(jose_jwe_decrypt(jwe, strlen(jwe), ks, &pt, &n, NULL), CDNI_ENOTFOUND,
		       "%s: another key does not decrypt", jose_alg_name(a));
		free(jwe);
	}
	is_int(jose_jwe_decrypt("a.b.c", 5, ks, &pt, &n, NULL), CDNI_EPARSE, "three parts are not a JWE");
	char *h = b64url_encode_new("{\"alg\":\"RSA-OAEP\",\"enc\":\"A128GCM\"}", 34);
	char t[200];
	snprintf(t, sizeof t, "%s..aUDDFEQBIc3nWjOb.bGXWTHPkntmPCKn0pPPNEQ.iyTttnFybO2YBLqwl_YSjA", h);
	is_int(jose_jwe_decrypt(t, strlen(t), ks, &pt, &n, &why), CDNI_EPARSE, "alg other than dir refused");
	free(h);
	h = b64url_encode_new("{\"alg\":\"dir\",\"enc\":\"A128GCM\",\"zip\":\"DEF\"}", 40);
	snprintf(t, sizeof t, "%s..aUDDFEQBIc3nWjOb.bGXWTHPkntmPCKn0pPPNEQ.iyTttnFybO2YBLqwl_YSjA", h);
	is_int(jose_jwe_decrypt(t, strlen(t), ks, &pt, &n, &why), CDNI_EPARSE, "zip refused");
	free(h);
	jose_keyset_free(ks);
	jose_keyset_free(other);
	json_decref(set);
}

int main(void)
{
	test_thumbprints();
	test_known_answers();
	test_round_trips();
	test_header_and_threads();
	test_private_round_trip();
	test_confusion();
	test_bad_tokens();
	test_der();
	test_key_errors();
	test_jwe();
	return done_testing();
}
