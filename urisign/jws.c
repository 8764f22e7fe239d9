/* JWS compact serialization (RFC 7515) with the algorithms of RFC 7518 §3
 * and RFC 8037, bounded JSON, and the ECDSA signature encodings. */
#include "urisign/jose.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "common/err.h"
#include "common/wire.h"
#include "urisign/b64.h"

#define DEFAULT_MAX_TOKEN 8192
#define DEFAULT_MAX_DEPTH 8
#define MAX_SIG 1024 /* RSA 8192 */

/* ---- bounded JSON ---- */

static bool depth_ok(const char *s, size_t n, int max)
{
	bool str = false, esc = false;
	int d = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			if (++d > max)
				return false;
		} else if (c == '}' || c == ']') {
			d--;
		}
	}
	return true;
}

int jose_json_parse(const char *text, size_t len, int max_depth, json_t **out)
{
	json_error_t e;
	json_t *j;

	if (!depth_ok(text, len, max_depth > 0 ? max_depth : DEFAULT_MAX_DEPTH))
		return CDNI_EOVERFLOW;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		return CDNI_EPARSE;
	if (!json_is_object(j)) {
		json_decref(j);
		return CDNI_EPARSE;
	}
	*out = j;
	return 0;
}

char *jose_json_dump(const json_t *obj)
{
	return json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* ---- ECDSA encodings ---- */

/* One DER INTEGER from a big-endian unsigned magnitude. */
static size_t der_int(const uint8_t *v, size_t n, uint8_t *out)
{
	size_t o = 0;

	while (n > 1 && v[0] == 0)
		v++, n--;
	out[o++] = 0x02;
	out[o++] = (uint8_t)(n + (v[0] & 0x80 ? 1 : 0));
	if (v[0] & 0x80)
		out[o++] = 0;
	memcpy(out + o, v, n);
	return o + n;
}

int jose_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *der, size_t cap,
			  size_t *derlen)
{
	uint8_t body[2 * (2 + 1 + 66)];
	size_t n = rawlen / 2, b = 0, o = 0;

	if (rawlen == 0 || rawlen % 2 || n > 66 || cap < sizeof body + 3)
		return CDNI_EINVAL;
	b = der_int(raw, n, body);
	b += der_int(raw + n, n, body + b);
	der[o++] = 0x30;
	if (b >= 0x80)
		der[o++] = 0x81;
	der[o++] = (uint8_t)b;
	memcpy(der + o, body, b);
	*derlen = o + b;
	return 0;
}

/* A DER length (short form, or long form of one or two bytes). */
static size_t der_len(struct wire *w)
{
	uint8_t b = wire_u8(w);

	if (b < 0x80)
		return b;
	if (b == 0x81)
		return wire_u8(w);
	if (b == 0x82)
		return wire_u16(w);
	wire_fail(w, CDNI_EPARSE);
	return 0;
}

/* One DER INTEGER (non-negative, minimal) into out, left-padded to n bytes. */
static void der_uint(struct wire *w, size_t n, uint8_t *out)
{
	const uint8_t *v;
	size_t len;

	if (wire_u8(w) != 0x02)
		wire_fail(w, CDNI_EPARSE);
	len = der_len(w);
	v = wire_take(w, len);
	if (!v || len == 0 || (v[0] & 0x80) || (len > 1 && v[0] == 0 && !(v[1] & 0x80))) {
		wire_fail(w, CDNI_EPARSE);
		return;
	}
	if (v[0] == 0) {
		v++;
		len--;
	}
	if (len > n) {
		wire_fail(w, CDNI_EPARSE);
		return;
	}
	memset(out, 0, n - len);
	memcpy(out + n - len, v, len);
}

/* ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, parsed by hand
 * (d2i_ECDSA_SIG makes two BIGNUMs per signature). */
int jose_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t n, uint8_t *raw)
{
	struct wire w = wire_reader(der, derlen);
	struct wire seq;
	size_t len;

	if (wire_u8(&w) != 0x30)
		return CDNI_EPARSE;
	len = der_len(&w);
	seq = wire_sub(&w, len);
	der_uint(&seq, n, raw);
	der_uint(&seq, n, raw + n);
	if (w.err || seq.err || wire_left(&seq) || wire_left(&w))
		return CDNI_EPARSE;
	return 0;
}

/* ---- algorithm details ---- */

/* Digests fetched once (an implicit fetch per use costs as much as hashing
 * a token); never freed, like OpenSSL's own tables. */
static EVP_MD *md_cache[3];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_cache[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_cache[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
	md_cache[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
}

static const EVP_MD *alg_md(enum jose_alg a)
{
	int i;

	switch (a) {
	case JOSE_ES256: case JOSE_RS256: case JOSE_PS256: case JOSE_HS256: i = 0; break;
	case JOSE_ES384: case JOSE_RS384: case JOSE_PS384: case JOSE_HS384: i = 1; break;
	case JOSE_ES512: case JOSE_RS512: case JOSE_PS512: case JOSE_HS512: i = 2; break;
	default: return NULL;
	}
	pthread_once(&md_once, md_fetch);
	if (md_cache[i])
		return md_cache[i];
	return i == 0 ? EVP_sha256() : i == 1 ? EVP_sha384() : EVP_sha512();
}

void jose_sha256(const void *in, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	if (!EVP_Digest(in, n, out, &len, alg_md(JOSE_ES256), NULL))
		SHA256(in, n, out);
}

static size_t ec_n(enum jose_alg a)
{
	return a == JOSE_ES256 ? 32 : a == JOSE_ES384 ? 48 : 66;
}

static bool is_ec(enum jose_alg a)
{
	return a == JOSE_ES256 || a == JOSE_ES384 || a == JOSE_ES512;
}

static bool is_hmac(enum jose_alg a)
{
	return a == JOSE_HS256 || a == JOSE_HS384 || a == JOSE_HS512;
}

static bool is_pss(enum jose_alg a)
{
	return a == JOSE_PS256 || a == JOSE_PS384 || a == JOSE_PS512;
}

/* ---- reused contexts (EC keys) ---- */

#define POOL_MAX 64

struct jose_ctx_pool {
	pthread_mutex_t mu;
	EVP_PKEY_CTX *ctx[2][POOL_MAX]; /* [0] verify, [1] sign */
	size_t n[2];
};

void jose_ctx_pool_free(struct jose_ctx_pool *p)
{
	if (!p)
		return;
	for (int op = 0; op < 2; op++)
		for (size_t i = 0; i < p->n[op]; i++)
			EVP_PKEY_CTX_free(p->ctx[op][i]);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* The key's pool, made by the first thread that needs it. */
static struct jose_ctx_pool *pool_of(const struct jose_key *k)
{
	struct jose_key *mk = (struct jose_key *)(uintptr_t)k;
	struct jose_ctx_pool *p = atomic_load(&mk->pool), *none = NULL;

	if (p)
		return p;
	if (!(p = calloc(1, sizeof *p)))
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	if (!atomic_compare_exchange_strong(&mk->pool, &none, p)) {
		jose_ctx_pool_free(p);
		return none; /* another thread's */
	}
	return p;
}

/* A context on k->pkey initialized for op (0 verify, 1 sign). */
static EVP_PKEY_CTX *ctx_take(const struct jose_key *k, int op)
{
	struct jose_ctx_pool *p = pool_of(k);
	EVP_PKEY_CTX *c = NULL;

	if (p) {
		pthread_mutex_lock(&p->mu);
		if (p->n[op])
			c = p->ctx[op][--p->n[op]];
		pthread_mutex_unlock(&p->mu);
	}
	if (c)
		return c;
	if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) &&
	    (op ? EVP_PKEY_sign_init(c) : EVP_PKEY_verify_init(c)) <= 0) {
		EVP_PKEY_CTX_free(c);
		c = NULL;
	}
	return c;
}

/* Give a context back after a completed operation (freed when the pool is full). */
static void ctx_give(const struct jose_key *k, int op, EVP_PKEY_CTX *c)
{
	struct jose_ctx_pool *p = atomic_load(&((struct jose_key *)(uintptr_t)k)->pool);

	if (p) {
		pthread_mutex_lock(&p->mu);
		if (p->n[op] < POOL_MAX) {
			p->ctx[op][p->n[op]++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&p->mu);
	}
	EVP_PKEY_CTX_free(c);
}

/* ---- parse ---- */

static int decode_json_part(const char *p, size_t n, int depth, json_t **out)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int rc = b64url_decode_new(p, n, &raw, &len);

	if (rc)
		return rc;
	rc = jose_json_parse((const char *)raw, len, depth, out);
	free(raw);
	return rc;
}

static int parse_header(struct jose_jws *j, const char **why)
{
	const json_t *alg = json_object_get(j->header, "alg"), *kid;
	const char *name = json_string_value(alg);

	if (!name)
		return *why = "JOSE header has no alg", CDNI_EPARSE;
	if (strcmp(name, "none") == 0)
		return *why = "alg none is refused", CDNI_EPARSE;
	j->alg = jose_alg_parse(name);
	if (!jose_alg_is_sig(j->alg))
		return *why = "unsupported signature algorithm", CDNI_EPARSE;
	if (json_object_get(j->header, "crit"))
		return *why = "JOSE header has crit parameters this verifier does not understand",
		       CDNI_EPARSE;
	kid = json_object_get(j->header, "kid");
	if (kid && !json_is_string(kid))
		return *why = "JOSE header kid is not a string", CDNI_EPARSE;
	j->kid = json_string_value(kid);
	return 0;
}

static int jws_parse(const char *token, size_t len, const struct jose_limits *lim,
		     struct jose_jws *j, const char **why)
{
	size_t max = lim && lim->max_token ? lim->max_token : DEFAULT_MAX_TOKEN;
	int depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
	const char *d1, *d2;
	int rc;

	if (len > max)
		return *why = "token longer than the size limit", CDNI_EOVERFLOW;
	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
		return *why = "not a JWS compact serialization (three parts)", CDNI_EPARSE;
	if (!(j->text = strndup(token, len)))
		return CDNI_ENOMEM;
	j->input_len = (size_t)(d2 - token);
	rc = decode_json_part(token, (size_t)(d1 - token), depth, &j->header);
	if (rc)
		return *why = rc == CDNI_EOVERFLOW ? "JOSE header nested too deeply"
						   : "JOSE header is not base64url of a JSON object",
		       rc == CDNI_ENOMEM ? rc : CDNI_EPARSE;
	if ((rc = parse_header(j, why)) != 0)
		return rc;
	rc = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1), depth, &j->payload);
	if (rc)
		return *why = rc == CDNI_EOVERFLOW ? "claims nested too deeply"
						   : "payload is not base64url of a JSON object",
		       rc == CDNI_ENOMEM ? rc : CDNI_EPARSE;
	rc = b64url_decode_new(d2 + 1, len - (size_t)(d2 + 1 - token), &j->sig, &j->siglen);
	if (rc)
		return *why = "signature is not base64url", rc == CDNI_ENOMEM ? rc : CDNI_EPARSE;
	return 0;
}

int jose_jws_parse(const char *token, size_t len, const struct jose_limits *lim,
		   struct jose_jws *out, const char **why)
{
	struct jose_jws j;
	const char *w = NULL;
	int rc;

	memset(&j, 0, sizeof j);
	rc = jws_parse(token, len, lim, &j, &w);
	if (why)
		*why = w;
	if (rc) {
		jose_jws_clear(&j);
		return rc;
	}
	*out = j;
	return 0;
}

void jose_jws_clear(struct jose_jws *j)
{
	free(j->text);
	json_decref(j->header);
	json_decref(j->payload);
	free(j->sig);
	memset(j, 0, sizeof *j);
}

/* ---- verify ---- */

static int verify_hmac(const struct jose_jws *j, const struct jose_key *k)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!HMAC(alg_md(j->alg), k->k, (int)k->klen, (const unsigned char *)j->text,
		  j->input_len, md, &mdlen))
		return CDNI_ETLS;
	if (mdlen != j->siglen || CRYPTO_memcmp(md, j->sig, mdlen) != 0)
		return CDNI_EDENIED;
	return 0;
}

static int verify_ec(const struct jose_jws *j, const struct jose_key *k)
{
	uint8_t der[2 * (2 + 1 + 66) + 3], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t derlen = 0;
	EVP_PKEY_CTX *ctx;
	int r;

	if (j->siglen != 2 * ec_n(j->alg) ||
	    jose_ecdsa_raw_to_der(j->sig, j->siglen, der, sizeof der, &derlen))
		return CDNI_EDENIED;
	if (!EVP_Digest(j->text, j->input_len, md, &mdlen, alg_md(j->alg), NULL))
		return CDNI_ETLS;
	if (!(ctx = ctx_take(k, 0)))
		return CDNI_ENOMEM;
	r = EVP_PKEY_verify(ctx, der, derlen, md, mdlen);
	if (r >= 0)
		ctx_give(k, 0, ctx); /* 0 (a bad signature) leaves it reusable */
	else
		EVP_PKEY_CTX_free(ctx);
	return r == 1 ? 0 : CDNI_EDENIED;
}

/* RSA (PKCS#1 v1.5 or PSS with salt = hash length) and EdDSA. */
static int verify_digest(const struct jose_jws *j, const struct jose_key *k)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int r = -1;

	if (!m)
		return CDNI_ENOMEM;
	if (EVP_DigestVerifyInit(m, &pctx, j->alg == JOSE_EDDSA ? NULL : alg_md(j->alg), NULL,
				 k->pkey) <= 0)
		goto done;
	if (is_pss(j->alg) && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
			       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto done;
	r = EVP_DigestVerify(m, j->sig, j->siglen, (const unsigned char *)j->text, j->input_len);
done:
	EVP_MD_CTX_free(m);
	return r == 1 ? 0 : CDNI_EDENIED;
}

int jose_jws_verify(const struct jose_jws *j, const struct jose_key *key, const char **why)
{
	const char *w = NULL;
	int rc;

	if (!jose_key_fits(key, j->alg, &w)) {
		if (why)
			*why = w;
		return CDNI_EDENIED;
	}
	if (is_hmac(j->alg))
		rc = verify_hmac(j, key);
	else if (is_ec(j->alg))
		rc = verify_ec(j, key);
	else
		rc = verify_digest(j, key);
	if (why)
		*why = rc ? "signature does not verify" : NULL;
	return rc;
}

/* ---- sign ---- */

static int sign_hmac(const struct jose_key *k, enum jose_alg a, const char *in, size_t n,
		     uint8_t *sig, size_t *siglen)
{
	unsigned int len = 0;

	if (!HMAC(alg_md(a), k->k, (int)k->klen, (const unsigned char *)in, n, sig, &len))
		return CDNI_ETLS;
	*siglen = len;
	return 0;
}

/* ES*: the digest, then ECDSA with a reused context; raw r||s out. */
static int sign_ec(const struct jose_key *k, enum jose_alg a, const char *in, size_t n,
		   uint8_t *sig, size_t *siglen)
{
	uint8_t der[MAX_SIG], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t len = sizeof der;
	EVP_PKEY_CTX *ctx;

	if (!EVP_Digest(in, n, md, &mdlen, alg_md(a), NULL))
		return CDNI_ETLS;
	if (!(ctx = ctx_take(k, 1)))
		return CDNI_ENOMEM;
	if (EVP_PKEY_sign(ctx, der, &len, md, mdlen) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return CDNI_ETLS;
	}
	ctx_give(k, 1, ctx);
	if (jose_ecdsa_der_to_raw(der, len, ec_n(a), sig))
		return CDNI_ETLS;
	*siglen = 2 * ec_n(a);
	return 0;
}

static int sign_digest(const struct jose_key *k, enum jose_alg a, const char *in, size_t n,
		       uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t der[MAX_SIG];
	size_t len = sizeof der;
	int rc = CDNI_ETLS;

	if (!m)
		return CDNI_ENOMEM;
	if (EVP_DigestSignInit(m, &pctx, a == JOSE_EDDSA ? NULL : alg_md(a), NULL, k->pkey) <= 0)
		goto done;
	if (is_pss(a) && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
			  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
		goto done;
	if (EVP_DigestSign(m, der, &len, (const unsigned char *)in, n) <= 0)
		goto done;
	if (is_ec(a)) {
		if (jose_ecdsa_der_to_raw(der, len, ec_n(a), sig))
			goto done;
		len = 2 * ec_n(a);
	} else {
		memcpy(sig, der, len);
	}
	*siglen = len;
	rc = 0;
done:
	EVP_MD_CTX_free(m);
	return rc;
}

/* {"alg":"ES256","kid":"..."}, written directly (the same text jansson
 * makes, without building an object per signature). */
static char *header_text(enum jose_alg a, const char *kid)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(jose_alg_name(a)) + 20 + (kid ? 6 * strlen(kid) + 10 : 0);
	char *s = malloc(n), *o = s;

	if (!s)
		return NULL;
	o = stpcpy(stpcpy(o, "{\"alg\":\""), jose_alg_name(a));
	*o++ = '"';
	if (kid) {
		o = stpcpy(o, ",\"kid\":\"");
		for (const unsigned char *p = (const unsigned char *)kid; *p; p++) {
			if (*p == '"' || *p == '\\') {
				*o++ = '\\';
				*o++ = (char)*p;
			} else if (*p < 0x20) {
				o += sprintf(o, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
			} else {
				*o++ = (char)*p;
			}
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return s;
}

/* Sign the first n bytes of tok, "BASE64URL(header).BASE64URL(payload)", and
 * append ".BASE64URL(signature)" (tok has room for it). */
static int sign_input(const struct jose_key *key, enum jose_alg alg, char *tok, size_t n)
{
	uint8_t sig[MAX_SIG];
	size_t siglen = 0;
	int rc = is_hmac(alg) ? sign_hmac(key, alg, tok, n, sig, &siglen)
		 : is_ec(alg) ? sign_ec(key, alg, tok, n, sig, &siglen)
			      : sign_digest(key, alg, tok, n, sig, &siglen);

	if (rc)
		return rc;
	tok[n] = '.';
	b64url_encode(sig, siglen, tok + n + 1);
	return 0;
}

/* The header and the payload are encoded straight into the token, its one
 * allocation. */
int jose_jws_sign_raw(const struct jose_key *key, enum jose_alg alg, const char *kid,
		      const void *payload, size_t len, char **token)
{
	char *hdr, *out = NULL;
	size_t hn, hl, pl;
	int rc = CDNI_ENOMEM;

	if (!alg)
		alg = jose_key_default_alg(key);
	if (!jose_alg_is_sig(alg) || !key->priv || !jose_key_fits(key, alg, NULL))
		return CDNI_EINVAL;
	if (!(hdr = header_text(alg, kid ? kid : key->kid)))
		return CDNI_ENOMEM;
	hn = strlen(hdr);
	hl = b64url_enc_len(hn);
	pl = b64url_enc_len(len);
	if (!(out = malloc(hl + pl + 2 + b64url_enc_len(MAX_SIG) + 1)))
		goto done;
	b64url_encode(hdr, hn, out);
	out[hl] = '.';
	b64url_encode(payload, len, out + hl + 1);
	if ((rc = sign_input(key, alg, out, hl + 1 + pl)) == 0) {
		*token = out;
		out = NULL;
	}
done:
	free(out);
	free(hdr);
	return rc;
}

int jose_jws_sign(const struct jose_key *key, enum jose_alg alg, const char *kid,
		  const json_t *payload, char **token)
{
	char *text = jose_json_dump(payload);
	int rc;

	if (!text)
		return CDNI_ENOMEM;
	rc = jose_jws_sign_raw(key, alg, kid, text, strlen(text), token);
	free(text);
	return rc;
}
