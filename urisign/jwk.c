/* JWK parsing, export, thumbprints and key generation (RFC 7517, 7518 §6,
 * 7638, 8037) over OpenSSL 3 EVP_PKEY objects. */
#include "urisign/jose.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/daemon.h"
#include "common/err.h"
#include "urisign/b64.h"

#define KEY_MAX_BYTES 1024 /* largest decoded member (RSA 8192-bit n) */

static const struct alg_name {
	const char *name;
	enum jose_alg alg;
} alg_names[] = {
	{ "ES256", JOSE_ES256 }, { "ES384", JOSE_ES384 }, { "ES512", JOSE_ES512 },
	{ "RS256", JOSE_RS256 }, { "RS384", JOSE_RS384 }, { "RS512", JOSE_RS512 },
	{ "PS256", JOSE_PS256 }, { "PS384", JOSE_PS384 }, { "PS512", JOSE_PS512 },
	{ "EdDSA", JOSE_EDDSA }, { "HS256", JOSE_HS256 }, { "HS384", JOSE_HS384 },
	{ "HS512", JOSE_HS512 }, { "A128GCM", JOSE_A128GCM }, { "A192GCM", JOSE_A192GCM },
	{ "A256GCM", JOSE_A256GCM }, { "dir", JOSE_DIR },
};

enum jose_alg jose_alg_parse(const char *name)
{
	if (!name)
		return JOSE_ALG_UNKNOWN;
	for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
		if (strcmp(alg_names[i].name, name) == 0)
			return alg_names[i].alg;
	return JOSE_ALG_UNKNOWN;
}

const char *jose_alg_name(enum jose_alg a)
{
	for (size_t i = 0; i < sizeof alg_names / sizeof alg_names[0]; i++)
		if (alg_names[i].alg == a)
			return alg_names[i].name;
	return "unknown";
}

bool jose_alg_is_sig(enum jose_alg a)
{
	return a >= JOSE_ES256 && a <= JOSE_HS512;
}

bool jose_alg_is_enc(enum jose_alg a)
{
	return a >= JOSE_A128GCM && a <= JOSE_A256GCM;
}

/* ---- curves ---- */

struct curve {
	const char *jwk;     /* "P-256" */
	const char *ossl;    /* OpenSSL group name */
	size_t n;            /* coordinate bytes */
	enum jose_alg alg;   /* the ES alg that goes with it */
};

static const struct curve curves[] = {
	{ "P-256", "prime256v1", 32, JOSE_ES256 },
	{ "P-384", "secp384r1", 48, JOSE_ES384 },
	{ "P-521", "secp521r1", 66, JOSE_ES512 },
};

static const struct curve *curve_by_name(const char *crv)
{
	for (size_t i = 0; crv && i < sizeof curves / sizeof curves[0]; i++)
		if (strcmp(curves[i].jwk, crv) == 0)
			return &curves[i];
	return NULL;
}

static const struct curve *curve_by_alg(enum jose_alg a)
{
	for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
		if (curves[i].alg == a)
			return &curves[i];
	return NULL;
}

/* ---- helpers ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Decode a base64url member into a new buffer. 0, CDNI_ENOTFOUND when absent. */
static int member_bytes(const json_t *jwk, const char *name, uint8_t **out, size_t *len)
{
	const json_t *v = json_object_get(jwk, name);
	const char *s;

	if (!v)
		return CDNI_ENOTFOUND;
	s = json_string_value(v);
	if (!s || strlen(s) > KEY_MAX_BYTES * 4 / 3 + 4)
		return CDNI_EPARSE;
	return b64url_decode_new(s, strlen(s), out, len);
}

static void free_secret(uint8_t *p, size_t len)
{
	if (p) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

static char *dup_member(const json_t *jwk, const char *name)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	return s ? strdup(s) : NULL;
}

/* ---- EC ---- */

static int ec_import(const json_t *jwk, struct jose_key *k, char *err, size_t errlen)
{
	const struct curve *c = curve_by_name(k->crv);
	uint8_t *x = NULL, *y = NULL, *d = NULL, pub[1 + 2 * 66];
	size_t xl = 0, yl = 0, dl = 0;
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *dbn = NULL;
	int rc = CDNI_EPARSE;

	if (!c) {
		seterr(err, errlen, "EC key: unsupported crv \"%s\"", k->crv ? k->crv : "");
		return CDNI_EPARSE;
	}
	if (member_bytes(jwk, "x", &x, &xl) || member_bytes(jwk, "y", &y, &yl) || xl != c->n ||
	    yl != c->n) {
		seterr(err, errlen, "EC key: x and y must be base64url of %zu bytes for %s",
		       c->n, c->jwk);
		goto fail;
	}
	int dr = member_bytes(jwk, "d", &d, &dl);
	if (dr != CDNI_ENOTFOUND && (dr || dl != c->n)) {
		seterr(err, errlen, "EC key: d must be base64url of %zu bytes for %s", c->n,
		       c->jwk);
		goto fail;
	}
	pub[0] = 4;
	memcpy(pub + 1, x, c->n);
	memcpy(pub + 1 + c->n, y, c->n);
	rc = CDNI_ENOMEM;
	b = OSSL_PARAM_BLD_new();
	if (!b || !OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, c->ossl, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * c->n))
		goto fail;
	if (d && (!(dbn = BN_secure_new()) || !BN_bin2bn(d, (int)dl, dbn) ||
		  !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, dbn)))
		goto fail;
	if (!(params = OSSL_PARAM_BLD_to_param(b)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)))
		goto fail;
	rc = CDNI_EPARSE;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k->pkey, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) <= 0) {
		seterr(err, errlen, "EC key: not a valid point on %s", c->jwk);
		goto fail;
	}
	k->priv = d != NULL;
	rc = 0;
fail:
	free(x);
	free(y);
	free_secret(d, dl);
	BN_clear_free(dbn);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* ---- RSA ---- */

static const struct {
	const char *jwk, *ossl;
} rsa_members[] = {
	{ "n", OSSL_PKEY_PARAM_RSA_N },           { "e", OSSL_PKEY_PARAM_RSA_E },
	{ "d", OSSL_PKEY_PARAM_RSA_D },           { "p", OSSL_PKEY_PARAM_RSA_FACTOR1 },
	{ "q", OSSL_PKEY_PARAM_RSA_FACTOR2 },     { "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 },
	{ "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 },  { "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
};
#define RSA_NMEMB (sizeof rsa_members / sizeof rsa_members[0])

/* Push each present member; *have counts them. n and e are required. */
static int rsa_push(const json_t *jwk, OSSL_PARAM_BLD *b, BIGNUM **bns, int *have, char *err,
		    size_t errlen)
{
	for (size_t i = 0; i < RSA_NMEMB; i++) {
		uint8_t *v = NULL;
		size_t vl = 0;
		int r = member_bytes(jwk, rsa_members[i].jwk, &v, &vl);
		if (r == CDNI_ENOTFOUND && i >= 2)
			continue;
		if (r || vl == 0) {
			free_secret(v, vl);
			seterr(err, errlen, "RSA key: member %s missing or not base64url",
			       rsa_members[i].jwk);
			return CDNI_EPARSE;
		}
		bns[i] = i >= 2 ? BN_secure_new() : BN_new();
		int okb = bns[i] && BN_bin2bn(v, (int)vl, bns[i]) &&
			  OSSL_PARAM_BLD_push_BN(b, rsa_members[i].ossl, bns[i]);
		free_secret(v, vl);
		if (!okb)
			return CDNI_ENOMEM;
		(*have)++;
	}
	return 0;
}

static int rsa_import(const json_t *jwk, struct jose_key *k, char *err, size_t errlen)
{
	BIGNUM *bns[RSA_NMEMB] = { 0 };
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int have = 0, rc = CDNI_ENOMEM;

	if (json_object_get(jwk, "oth")) {
		seterr(err, errlen, "RSA key: multi-prime keys (%s) are not supported", "oth");
		rc = CDNI_EUNSUPP;
		goto fail;
	}
	if (!b || (rc = rsa_push(jwk, b, bns, &have, err, errlen)) != 0)
		goto fail;
	rc = CDNI_EPARSE;
	if (have != 2 && have != 3 && have != RSA_NMEMB) {
		seterr(err, errlen, "RSA key: private keys need d, or all of d p q dp dq qi");
		goto fail;
	}
	rc = CDNI_ENOMEM;
	if (!(params = OSSL_PARAM_BLD_to_param(b)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)))
		goto fail;
	rc = CDNI_EPARSE;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k->pkey, have > 2 ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) <= 0) {
		seterr(err, errlen, "RSA key: OpenSSL refused the parameters");
		goto fail;
	}
	k->priv = have > 2;
	rc = 0;
fail:
	for (size_t i = 0; i < RSA_NMEMB; i++)
		BN_clear_free(bns[i]);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/* ---- OKP (RFC 8037) ---- */

static int okp_type(const char *crv, size_t *len)
{
	if (crv && strcmp(crv, "Ed25519") == 0) {
		*len = 32;
		return EVP_PKEY_ED25519;
	}
	if (crv && strcmp(crv, "Ed448") == 0) {
		*len = 57;
		return EVP_PKEY_ED448;
	}
	return 0;
}

static int okp_import(const json_t *jwk, struct jose_key *k, char *err, size_t errlen)
{
	size_t n = 0, xl = 0, dl = 0, pl = 0;
	int type = okp_type(k->crv, &n), rc = CDNI_EPARSE;
	uint8_t *x = NULL, *d = NULL, pub[57];

	if (!type) {
		seterr(err, errlen, "OKP key: unsupported crv \"%s\"", k->crv ? k->crv : "");
		return CDNI_EPARSE;
	}
	if (member_bytes(jwk, "x", &x, &xl) || xl != n) {
		seterr(err, errlen, "OKP key: x must be base64url of %zu bytes for %s", n, k->crv);
		goto fail;
	}
	int dr = member_bytes(jwk, "d", &d, &dl);
	if (dr != CDNI_ENOTFOUND && (dr || dl != n)) {
		seterr(err, errlen, "OKP key: d must be base64url of %zu bytes for %s", n, k->crv);
		goto fail;
	}
	k->pkey = d ? EVP_PKEY_new_raw_private_key(type, NULL, d, dl)
		    : EVP_PKEY_new_raw_public_key(type, NULL, x, xl);
	pl = sizeof pub;
	if (!k->pkey || !EVP_PKEY_get_raw_public_key(k->pkey, pub, &pl) || pl != n ||
	    CRYPTO_memcmp(pub, x, n) != 0) {
		seterr(err, errlen, "OKP key: d does not belong to x (%s)", k->crv);
		goto fail;
	}
	k->priv = d != NULL;
	rc = 0;
fail:
	free(x);
	free_secret(d, dl);
	return rc;
}

/* ---- oct ---- */

static int oct_import(const json_t *jwk, struct jose_key *k, char *err, size_t errlen)
{
	if (member_bytes(jwk, "k", &k->k, &k->klen) || k->klen == 0) {
		seterr(err, errlen, "oct key: k must be non-empty base64url");
		return CDNI_EPARSE;
	}
	k->priv = true;
	return 0;
}

/* ---- the key object ---- */

static int parse_kty(const char *s)
{
	if (!s)
		return JOSE_KTY_NONE;
	if (strcmp(s, "EC") == 0)
		return JOSE_KTY_EC;
	if (strcmp(s, "RSA") == 0)
		return JOSE_KTY_RSA;
	if (strcmp(s, "OKP") == 0)
		return JOSE_KTY_OKP;
	if (strcmp(s, "oct") == 0)
		return JOSE_KTY_OCT;
	return JOSE_KTY_NONE;
}

static int parse_common(const json_t *jwk, struct jose_key *k, char *err, size_t errlen)
{
	const json_t *alg = json_object_get(jwk, "alg"), *use = json_object_get(jwk, "use");

	k->kty = parse_kty(json_string_value(json_object_get(jwk, "kty")));
	if (k->kty == JOSE_KTY_NONE) {
		seterr(err, errlen, "key: kty must be EC, RSA, OKP or oct");
		return CDNI_EPARSE;
	}
	if (alg && (k->alg = jose_alg_parse(json_string_value(alg))) == JOSE_ALG_UNKNOWN) {
		seterr(err, errlen, "key: unsupported alg \"%s\"",
		       json_string_value(alg) ? json_string_value(alg) : "(not a string)");
		return CDNI_EPARSE;
	}
	if (use) {
		const char *u = json_string_value(use);
		if (!u || (strcmp(u, "sig") != 0 && strcmp(u, "enc") != 0)) {
			seterr(err, errlen, "key: use must be \"sig\" or \"enc\"");
			return CDNI_EPARSE;
		}
		k->use = u[0] == 's' ? JOSE_USE_SIG : JOSE_USE_ENC;
	}
	if (json_object_get(jwk, "kid") && !json_is_string(json_object_get(jwk, "kid"))) {
		seterr(err, errlen, "key: kid must be a string");
		return CDNI_EPARSE;
	}
	k->kid = dup_member(jwk, "kid");
	k->crv = dup_member(jwk, "crv");
	return 0;
}

int jose_key_from_json(const json_t *jwk, struct jose_key **out, char *err, size_t errlen)
{
	struct jose_key *k;
	int rc;

	if (!json_is_object(jwk)) {
		seterr(err, errlen, "key: not a JSON object");
		return CDNI_EPARSE;
	}
	if (!(k = calloc(1, sizeof *k)))
		return CDNI_ENOMEM;
	rc = parse_common(jwk, k, err, errlen);
	if (!rc) {
		switch (k->kty) {
		case JOSE_KTY_EC: rc = ec_import(jwk, k, err, errlen); break;
		case JOSE_KTY_RSA: rc = rsa_import(jwk, k, err, errlen); break;
		case JOSE_KTY_OKP: rc = okp_import(jwk, k, err, errlen); break;
		default: rc = oct_import(jwk, k, err, errlen); break;
		}
	}
	if (!rc && k->alg && !jose_key_fits(k, k->alg, NULL)) {
		seterr(err, errlen, "key: alg %s does not fit this key type",
		       jose_alg_name(k->alg));
		rc = CDNI_EPARSE;
	}
	if (rc) {
		jose_key_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void jose_key_free(struct jose_key *k)
{
	if (!k)
		return;
	jose_ctx_pool_free(atomic_load(&k->pool));
	EVP_PKEY_free(k->pkey);
	free_secret(k->k, k->klen);
	free(k->kid);
	free(k->crv);
	free(k);
}

/* ---- algorithm fit ---- */

static size_t hmac_len(enum jose_alg a)
{
	return a == JOSE_HS256 ? 32 : a == JOSE_HS384 ? 48 : 64;
}

static size_t gcm_len(enum jose_alg a)
{
	return a == JOSE_A128GCM ? 16 : a == JOSE_A192GCM ? 24 : 32;
}

static bool fits_type(const struct jose_key *k, enum jose_alg a, const char **why)
{
	const struct curve *c;

	switch (a) {
	case JOSE_ES256: case JOSE_ES384: case JOSE_ES512:
		c = curve_by_alg(a);
		*why = "ES* needs an EC key on the matching curve";
		return k->kty == JOSE_KTY_EC && k->crv && strcmp(k->crv, c->jwk) == 0;
	case JOSE_RS256: case JOSE_RS384: case JOSE_RS512:
	case JOSE_PS256: case JOSE_PS384: case JOSE_PS512:
		*why = "RS*/PS* need an RSA key of at least 2048 bits";
		return k->kty == JOSE_KTY_RSA && EVP_PKEY_get_bits(k->pkey) >= 2048;
	case JOSE_EDDSA:
		*why = "EdDSA needs an OKP key";
		return k->kty == JOSE_KTY_OKP;
	case JOSE_HS256: case JOSE_HS384: case JOSE_HS512:
		*why = "HS* needs an oct key at least as long as the hash";
		return k->kty == JOSE_KTY_OCT && k->klen >= hmac_len(a);
	case JOSE_A128GCM: case JOSE_A192GCM: case JOSE_A256GCM:
		*why = "A*GCM needs an oct key of exactly the cipher's length";
		return k->kty == JOSE_KTY_OCT && k->klen == gcm_len(a);
	default:
		*why = "unsupported algorithm";
		return false;
	}
}

bool jose_key_fits(const struct jose_key *k, enum jose_alg a, const char **why)
{
	const char *w = NULL;
	bool okay = true;

	if (!fits_type(k, a, &w))
		okay = false;
	else if (k->alg && k->alg != a && !(k->alg == JOSE_DIR && jose_alg_is_enc(a)))
		okay = false, w = "the key's alg member names another algorithm";
	else if (k->use == JOSE_USE_ENC && jose_alg_is_sig(a))
		okay = false, w = "the key is for encryption (use: enc)";
	else if (k->use == JOSE_USE_SIG && jose_alg_is_enc(a))
		okay = false, w = "the key is for signatures (use: sig)";
	if (why)
		*why = w;
	return okay;
}

enum jose_alg jose_key_default_alg(const struct jose_key *k)
{
	const struct curve *c;

	if (k->alg && k->alg != JOSE_DIR)
		return k->alg;
	switch (k->kty) {
	case JOSE_KTY_EC:
		c = curve_by_name(k->crv);
		return c ? c->alg : JOSE_ALG_UNKNOWN;
	case JOSE_KTY_RSA: return JOSE_RS256;
	case JOSE_KTY_OKP: return JOSE_EDDSA;
	case JOSE_KTY_OCT:
		if (k->use == JOSE_USE_ENC || k->alg == JOSE_DIR)
			return k->klen == 16 ? JOSE_A128GCM : k->klen == 24 ? JOSE_A192GCM
									      : JOSE_A256GCM;
		return JOSE_HS256;
	default: return JOSE_ALG_UNKNOWN;
	}
}

/* ---- export ---- */

static int set_b64(json_t *o, const char *name, const uint8_t *p, size_t n)
{
	char *s = b64url_encode_new(p, n);
	int rc = s && json_object_set_new(o, name, json_string(s)) == 0 ? 0 : CDNI_ENOMEM;

	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
	return rc;
}

/* A BN parameter as fixed-width (pad > 0) or minimal big-endian bytes. */
static int set_bn(json_t *o, const char *name, const EVP_PKEY *pk, const char *param, size_t pad)
{
	BIGNUM *bn = NULL;
	uint8_t buf[KEY_MAX_BYTES];
	int n, rc = CDNI_EPARSE;

	if (!EVP_PKEY_get_bn_param(pk, param, &bn))
		return CDNI_ENOTFOUND;
	n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
	if (n > 0 && (size_t)n <= sizeof buf)
		rc = set_b64(o, name, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof buf);
	BN_clear_free(bn);
	return rc;
}

static int ec_export(const struct jose_key *k, bool with_private, json_t *o)
{
	const struct curve *c = curve_by_name(k->crv);

	if (!c || set_bn(o, "x", k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, c->n) ||
	    set_bn(o, "y", k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, c->n))
		return CDNI_EPARSE;
	if (with_private && k->priv &&
	    set_bn(o, "d", k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, c->n))
		return CDNI_EPARSE;
	return 0;
}

static int rsa_export(const struct jose_key *k, bool with_private, json_t *o)
{
	for (size_t i = 0; i < RSA_NMEMB; i++) {
		if (i >= 2 && !(with_private && k->priv))
			break;
		int r = set_bn(o, rsa_members[i].jwk, k->pkey, rsa_members[i].ossl, 0);
		if (r && !(r == CDNI_ENOTFOUND && i >= 3))
			return CDNI_EPARSE;
	}
	return 0;
}

static int okp_export(const struct jose_key *k, bool with_private, json_t *o)
{
	uint8_t buf[57];
	size_t n = sizeof buf;
	int rc;

	if (!EVP_PKEY_get_raw_public_key(k->pkey, buf, &n) || set_b64(o, "x", buf, n))
		return CDNI_EPARSE;
	if (!(with_private && k->priv))
		return 0;
	n = sizeof buf;
	rc = EVP_PKEY_get_raw_private_key(k->pkey, buf, &n) ? set_b64(o, "d", buf, n)
							     : CDNI_EPARSE;
	OPENSSL_cleanse(buf, sizeof buf);
	return rc;
}

static const char *kty_name(enum jose_kty t)
{
	static const char *const n[] = { "", "EC", "RSA", "OKP", "oct" };
	return n[t];
}

int jose_key_to_json(const struct jose_key *k, bool with_private, json_t **out)
{
	json_t *o;
	int rc;

	if (k->kty == JOSE_KTY_OCT && !with_private)
		return CDNI_EINVAL;
	if (!(o = json_object()))
		return CDNI_ENOMEM;
	json_object_set_new(o, "kty", json_string(kty_name(k->kty)));
	if (k->kid)
		json_object_set_new(o, "kid", json_string(k->kid));
	if (k->use)
		json_object_set_new(o, "use", json_string(k->use == JOSE_USE_SIG ? "sig" : "enc"));
	if (k->alg)
		json_object_set_new(o, "alg", json_string(jose_alg_name(k->alg)));
	if (k->crv)
		json_object_set_new(o, "crv", json_string(k->crv));
	switch (k->kty) {
	case JOSE_KTY_EC: rc = ec_export(k, with_private, o); break;
	case JOSE_KTY_RSA: rc = rsa_export(k, with_private, o); break;
	case JOSE_KTY_OKP: rc = okp_export(k, with_private, o); break;
	default: rc = set_b64(o, "k", k->k, k->klen); break;
	}
	if (rc) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* ---- RFC 7638 thumbprint ---- */

int jose_key_thumbprint(const struct jose_key *k, char out[44])
{
	static const char *const req[][4] = {
		[JOSE_KTY_EC] = { "crv", "kty", "x", "y" },
		[JOSE_KTY_RSA] = { "e", "kty", "n", NULL },
		[JOSE_KTY_OKP] = { "crv", "kty", "x", NULL },
		[JOSE_KTY_OCT] = { "k", "kty", NULL, NULL },
	};
	json_t *full = NULL, *min = NULL;
	char *text = NULL;
	uint8_t md[32];
	int rc;

	if (k->kty == JOSE_KTY_NONE)
		return CDNI_EINVAL;
	rc = jose_key_to_json(k, k->kty == JOSE_KTY_OCT, &full);
	if (rc)
		return rc;
	rc = CDNI_ENOMEM;
	if (!(min = json_object()))
		goto fail;
	for (int i = 0; i < 4 && req[k->kty][i]; i++)
		json_object_set(min, req[k->kty][i], json_object_get(full, req[k->kty][i]));
	/* members are inserted in lexicographic order; dump in that order */
	if (!(text = json_dumps(min, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		goto fail;
	SHA256((const unsigned char *)text, strlen(text), md);
	b64url_encode(md, sizeof md, out);
	rc = 0;
fail:
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	json_decref(min);
	json_decref(full);
	return rc;
}

/* ---- generation ---- */

static EVP_PKEY *gen_pkey(enum jose_alg a, int rsa_bits, const char **crv)
{
	const struct curve *c = curve_by_alg(a);

	if (c) {
		*crv = c->jwk;
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->ossl);
	}
	if (a == JOSE_EDDSA) {
		*crv = "Ed25519";
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	*crv = NULL;
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(rsa_bits ? rsa_bits : 2048));
}

int jose_key_generate(enum jose_alg a, int rsa_bits, struct jose_key **out)
{
	struct jose_key *k;
	const char *crv = NULL;
	char tp[44];

	if ((!jose_alg_is_sig(a) && !jose_alg_is_enc(a)) || (rsa_bits && rsa_bits < 2048) ||
	    rsa_bits > 8192)
		return CDNI_EINVAL;
	if (!(k = calloc(1, sizeof *k)))
		return CDNI_ENOMEM;
	k->alg = a;
	k->use = jose_alg_is_enc(a) ? JOSE_USE_ENC : JOSE_USE_SIG;
	if (a >= JOSE_HS256) {
		k->kty = JOSE_KTY_OCT;
		k->klen = a >= JOSE_A128GCM ? gcm_len(a) : hmac_len(a);
		k->priv = true;
		if (!(k->k = malloc(k->klen)) || RAND_bytes(k->k, (int)k->klen) != 1)
			goto fail;
	} else {
		k->kty = a == JOSE_EDDSA ? JOSE_KTY_OKP : a <= JOSE_ES512 ? JOSE_KTY_EC : JOSE_KTY_RSA;
		if (!(k->pkey = gen_pkey(a, rsa_bits, &crv)) || (crv && !(k->crv = strdup(crv))))
			goto fail;
		k->priv = true;
	}
	if (jose_key_thumbprint(k, tp) || !(k->kid = strdup(tp)))
		goto fail;
	*out = k;
	return 0;
fail:
	jose_key_free(k);
	return CDNI_ENOMEM;
}

/* ---- key sets ---- */

struct jose_keyset *jose_keyset_new(void)
{
	return calloc(1, sizeof(struct jose_keyset));
}

int jose_keyset_add(struct jose_keyset *s, struct jose_key *k)
{
	struct jose_key **v = realloc(s->keys, (s->n + 1) * sizeof *v);

	if (!v) {
		jose_key_free(k);
		return CDNI_ENOMEM;
	}
	s->keys = v;
	s->keys[s->n++] = k;
	return 0;
}

void jose_keyset_free(struct jose_keyset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		jose_key_free(s->keys[i]);
	free(s->keys);
	free(s);
}

const struct jose_key *jose_keyset_find(const struct jose_keyset *s, const char *kid)
{
	for (size_t i = 0; s && kid && i < s->n; i++)
		if (s->keys[i]->kid && strcmp(s->keys[i]->kid, kid) == 0)
			return s->keys[i];
	return NULL;
}

int jose_keyset_from_json(const json_t *set, struct jose_keyset **out, char *err, size_t errlen)
{
	const json_t *keys = json_object_get(set, "keys"), *v;
	struct jose_keyset *s;
	char one[200];
	size_t i;
	int rc = 0;

	if (!json_is_array(keys)) {
		seterr(err, errlen, "key set: \"keys\" must be an array");
		return CDNI_EPARSE;
	}
	if (!(s = jose_keyset_new()))
		return CDNI_ENOMEM;
	json_array_foreach(keys, i, v) {
		struct jose_key *k = NULL;
		one[0] = '\0';
		rc = jose_key_from_json(v, &k, one, sizeof one);
		if (!rc)
			rc = jose_keyset_add(s, k);
		if (rc) {
			if (err && errlen)
				snprintf(err, errlen, "keys[%zu]: %s", i, one);
			jose_keyset_free(s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

/* ---- key files ---- */

#define KEY_FILE_MAX (1024 * 1024)

void jose_json_wipe(json_t *j)
{
	const char *name;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		OPENSSL_cleanse((char *)(uintptr_t)json_string_value(j), json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, name, v)
			jose_json_wipe(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			jose_json_wipe(v);
	}
}

int jose_json_read_file(const char *path, json_t **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	json_error_t je;
	json_t *j;
	int rc;

	errno = 0;
	if ((rc = file_read_all(path, KEY_FILE_MAX, &text, &len)) != 0) {
		seterr(err, errlen, "%s: cannot read: %s", path,
		       rc == CDNI_EIO && errno ? strerror(errno) : cdni_strerror(rc));
		return rc;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	OPENSSL_cleanse(text, len);
	free(text);
	if (!j) {
		seterr(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return CDNI_EPARSE;
	}
	*out = j;
	return 0;
}

/* From a set: the key with kid, else the only key (with private parts). */
static const json_t *pick_jwk(const json_t *doc, const char *kid, bool need_private,
			      const char *path, char *err, size_t errlen)
{
	const json_t *keys = json_object_get(doc, "keys"), *k, *found = NULL;
	size_t i, n = 0;

	if (!keys)
		return doc;
	json_array_foreach(keys, i, k) {
		const char *kk = json_string_value(json_object_get(k, "kid"));
		bool priv = json_object_get(k, "d") || json_object_get(k, "k");
		if ((kid && kk && strcmp(kk, kid) == 0) || (!kid && (!need_private || priv))) {
			found = k;
			n++;
		}
	}
	if (n == 1)
		return found;
	seterr(err, errlen, "%s: %s", path, n ? "several keys fit: pick one by its kid"
					      : "no fitting key in the set (check the kid)");
	return NULL;
}

int jose_key_load_file(const char *path, const char *kid, bool need_private,
		       struct jose_key **out, char *err, size_t errlen)
{
	json_t *doc = NULL;
	const json_t *jwk;
	struct jose_key *k = NULL;
	char why[256] = "";
	int rc = jose_json_read_file(path, &doc, err, errlen);

	if (rc)
		return rc;
	rc = CDNI_EPARSE;
	if ((jwk = pick_jwk(doc, kid, need_private, path, err, errlen)) &&
	    (rc = jose_key_from_json(jwk, &k, why, sizeof why)) != 0)
		seterr(err, errlen, "%s: %s", path, why);
	jose_json_wipe(doc);
	json_decref(doc);
	if (k && need_private && !k->priv) {
		seterr(err, errlen, "%s: the key has no private part", path);
		jose_key_free(k);
		return CDNI_EINVAL;
	}
	if (!k)
		return rc ? rc : CDNI_EPARSE;
	*out = k;
	return 0;
}
