/* cdni keyless — the private-key operations of the protocol.
 *
 * RSA decryption (opcode 0x01) removes PKCS#1 v1.5 type 2 padding with
 * implicit rejection: OpenSSL 3.0 (this project's baseline) has no implicit
 * rejection, so the ciphertext is decrypted raw (RSA_NO_PADDING, blinded,
 * constant-time exponentiation) and the padding is checked here with
 * branch-free code. A ciphertext whose padding is wrong does not produce an
 * error: it produces a synthetic message derived from the ciphertext and a
 * secret derived from the private exponent, the way OpenSSL 3.2 and later
 * do it (and draft-irtf-cfrg-rsa-guidance describes). A client therefore
 * learns nothing from the key server about whether padding was valid: no
 * error code, no length pattern, no timing branch on it. What stays
 * public is what anybody can compute without the key: a ciphertext of the
 * wrong size or not below the modulus is a format or crypto error. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "common/err.h"
#include "keyless/keys.h"

static const EVP_MD *hash_md(enum ks_hash h)
{
	switch (h) {
	case KS_HASH_SHA1: return EVP_sha1();
	case KS_HASH_SHA224: return EVP_sha224();
	case KS_HASH_SHA256: return EVP_sha256();
	case KS_HASH_SHA384: return EVP_sha384();
	case KS_HASH_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

/* Prepared contexts: EVP_PKEY_CTX setup (method fetch, parameters) costs
 * about as much as an ECDSA signature, so each key keeps the contexts it has
 * made, one list per opcode, and requests borrow them. */
struct ks_ctx_node {
	struct ks_ctx_node *next;
	uint8_t op;
	EVP_PKEY_CTX *ctx;
};

static struct ks_ctx_node *pool_take(const struct ks_key *k, uint8_t op)
{
	struct ks_key *key = (struct ks_key *)(uintptr_t)k; /* the pool is mutable state */
	struct ks_ctx_node **pp, *n = NULL;

	pthread_mutex_lock(&key->pool_lock);
	for (pp = &key->pool; *pp; pp = &(*pp)->next)
		if ((*pp)->op == op) {
			n = *pp;
			*pp = n->next;
			break;
		}
	pthread_mutex_unlock(&key->pool_lock);
	return n;
}

static void pool_give(const struct ks_key *k, struct ks_ctx_node *n)
{
	struct ks_key *key = (struct ks_key *)(uintptr_t)k;

	pthread_mutex_lock(&key->pool_lock);
	n->next = key->pool;
	key->pool = n;
	pthread_mutex_unlock(&key->pool_lock);
}

void ks_key_pool_free(struct ks_key *key)
{
	struct ks_ctx_node *n;

	while ((n = key->pool)) {
		key->pool = n->next;
		EVP_PKEY_CTX_free(n->ctx);
		free(n);
	}
}

/* A context for signing: RSA PKCS#1 v1.5 (pad = RSA_PKCS1_PADDING; md NULL
 * for the bare MD5SHA1 concatenation), RSA-PSS, or ECDSA (pad 0, md NULL). */
static EVP_PKEY_CTX *sign_ctx(EVP_PKEY *pkey, int pad, const EVP_MD *md)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (!ctx || EVP_PKEY_sign_init(ctx) != 1)
		goto fail;
	if (pad && EVP_PKEY_CTX_set_rsa_padding(ctx, pad) != 1)
		goto fail;
	if (md && EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
		goto fail;
	if (pad == RSA_PKCS1_PSS_PADDING &&
	    (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1))
		goto fail;
	return ctx;
fail:
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

static EVP_PKEY_CTX *raw_decrypt_ctx(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1)
		return ctx;
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}

/* Borrow (or make) the context for op. */
static struct ks_ctx_node *ctx_get(const struct ks_key *k, uint8_t op, int pad,
				   const EVP_MD *md)
{
	struct ks_ctx_node *n = pool_take(k, op);

	if (n)
		return n;
	if (!(n = calloc(1, sizeof *n)))
		return NULL;
	n->op = op;
	n->ctx = op == KS_OP_RSA_DECRYPT_RAW ? raw_decrypt_ctx(k->pkey) : sign_ctx(k->pkey, pad, md);
	if (!n->ctx) {
		free(n);
		return NULL;
	}
	return n;
}

static int sign_digest(const struct ks_key *k, uint8_t op, int pad, const EVP_MD *md,
		       const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
	struct ks_ctx_node *n = ctx_get(k, op, pad, md);
	size_t len = KS_RESULT_MAX;
	int rc = CDNI_ETLS;

	if (!n)
		return CDNI_ETLS;
	if (EVP_PKEY_sign(n->ctx, out, &len, in, inlen) == 1) {
		*outlen = len;
		rc = 0;
	}
	pool_give(k, n);
	return rc;
}

static int sign_ed25519(EVP_PKEY *pkey, const uint8_t *in, size_t inlen, uint8_t *out,
			size_t *outlen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t len = KS_RESULT_MAX;
	int rc = CDNI_ETLS;

	if (m && EVP_DigestSignInit(m, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestSign(m, out, &len, in, inlen) == 1) {
		*outlen = len;
		rc = 0;
	}
	EVP_MD_CTX_free(m);
	return rc;
}

/* A ciphertext left-padded with zeros to the modulus size. */
static int pad_ciphertext(const struct ks_key *k, const uint8_t *in, size_t inlen, uint8_t *c)
{
	if (!inlen || inlen > k->modlen)
		return CDNI_EINVAL;
	memset(c, 0, k->modlen - inlen);
	memcpy(c + k->modlen - inlen, in, inlen);
	return 0;
}

/* m = c^d mod n into em (modlen bytes); c is modlen bytes. */
static int rsa_raw(const struct ks_key *k, const uint8_t *c, uint8_t *em)
{
	struct ks_ctx_node *n = ctx_get(k, KS_OP_RSA_DECRYPT_RAW, 0, NULL);
	size_t len = k->modlen;
	int rc = CDNI_ETLS;

	if (!n)
		return CDNI_ETLS;
	if (EVP_PKEY_decrypt(n->ctx, em, &len, c, k->modlen) == 1 && len == k->modlen)
		rc = 0;
	pool_give(k, n);
	return rc;
}

/* Constant-time helpers on 32-bit words: masks are all ones or all zeros. */
static inline uint32_t ct_msb(uint32_t a) { return 0u - (a >> 31); }
static inline uint32_t ct_is_zero(uint32_t a) { return ct_msb(~a & (a - 1)); }
static inline uint32_t ct_eq(uint32_t a, uint32_t b) { return ct_is_zero(a ^ b); }
static inline uint32_t ct_lt(uint32_t a, uint32_t b)
{
	return ct_msb(a ^ ((a ^ b) | ((a - b) ^ b)));
}
static inline uint32_t ct_sel(uint32_t mask, uint32_t a, uint32_t b)
{
	return (mask & a) | (~mask & b);
}

/* The PRF of implicit rejection: HMAC-SHA256(kdk, be16(i) | label | be16(bits))
 * for i = 0, 1, ... concatenated and cut to len bytes. */
static int ir_prf(const uint8_t kdk[32], const char *label, uint8_t *out, size_t len)
{
	uint8_t in[2 + 16 + 2], block[32];
	size_t llen = strlen(label), bits = len * 8, done = 0;
	unsigned int blen;

	memcpy(in + 2, label, llen);
	in[2 + llen] = (uint8_t)(bits >> 8);
	in[3 + llen] = (uint8_t)bits;
	for (uint16_t i = 0; done < len; i++) {
		in[0] = (uint8_t)(i >> 8);
		in[1] = (uint8_t)i;
		if (!HMAC(EVP_sha256(), kdk, 32, in, llen + 4, block, &blen))
			return CDNI_ETLS;
		memcpy(out + done, block, len - done < 32 ? len - done : 32);
		done += len - done < 32 ? len - done : 32;
	}
	OPENSSL_cleanse(block, sizeof block);
	return 0;
}

/* The synthetic message's length: the last of 128 PRF candidates (masked to
 * the bit width of the largest possible length) that is small enough. */
static uint32_t ir_synthetic_len(const uint8_t cand[256], uint32_t max_len)
{
	uint32_t mask = max_len, len = 0;

	mask |= mask >> 1;
	mask |= mask >> 2;
	mask |= mask >> 4;
	mask |= mask >> 8;
	for (size_t i = 0; i < 256; i += 2) {
		uint32_t c = ((uint32_t)cand[i] << 8 | cand[i + 1]) & mask;
		len = ct_sel(ct_lt(c, max_len), c, len);
	}
	return len;
}

/* Length of the message in em if its PKCS#1 type 2 padding is good, with
 * *good set to an all-ones mask; computed without branching on em. */
static uint32_t pkcs1_check(const uint8_t *em, uint32_t k, uint32_t *good)
{
	uint32_t ok = ct_eq(em[0], 0) & ct_eq(em[1], 2), found = 0, zero_at = 0;

	for (uint32_t i = 2; i < k; i++) {
		uint32_t z = ct_is_zero(em[i]);
		zero_at = ct_sel(~found & z, i, zero_at);
		found |= z;
	}
	ok &= found & ~ct_lt(zero_at, 2 + 8);
	*good = ok;
	return k - zero_at - 1;
}

/* Move the last len bytes of buf (k bytes) to its start, in O(k log k)
 * steps whose memory accesses do not depend on len. */
static void ct_tail_to_front(uint8_t *buf, uint32_t k, uint32_t len)
{
	uint32_t shift = k - len;

	for (uint32_t b = 1; b < k; b <<= 1) {
		uint32_t m = ~ct_is_zero(shift & b);
		for (uint32_t i = 0; i + b < k; i++)
			buf[i] = (uint8_t)ct_sel(m, buf[i + b], buf[i]);
	}
}

static int rsa_decrypt_pkcs1(const struct ks_key *k, const uint8_t *in, size_t inlen,
			     uint8_t *out, size_t *outlen)
{
	uint8_t em[KS_RESULT_MAX], syn[KS_RESULT_MAX], c[KS_RESULT_MAX], cand[256], kdk[32];
	uint32_t n = (uint32_t)k->modlen, good, mlen, slen;
	unsigned int kdklen;
	int rc;

	if ((rc = pad_ciphertext(k, in, inlen, c)) || (rc = rsa_raw(k, c, em)))
		return rc;
	rc = CDNI_ETLS;
	if (!HMAC(EVP_sha256(), k->ir_secret, 32, c, n, kdk, &kdklen) ||
	    ir_prf(kdk, "length", cand, sizeof cand) || ir_prf(kdk, "message", syn, n))
		goto out;
	slen = ir_synthetic_len(cand, n - 2 - 8);
	mlen = pkcs1_check(em, n, &good);
	mlen = ct_sel(good, mlen, slen);
	for (uint32_t i = 0; i < n; i++)
		em[i] = (uint8_t)ct_sel(good, em[i], syn[i]);
	ct_tail_to_front(em, n, mlen);
	memcpy(out, em, mlen);
	*outlen = mlen;
	rc = 0;
out:
	OPENSSL_cleanse(em, sizeof em);
	OPENSSL_cleanse(syn, sizeof syn);
	OPENSSL_cleanse(kdk, sizeof kdk);
	return rc;
}

static int rsa_decrypt_raw(const struct ks_key *k, const uint8_t *in, size_t inlen,
			   uint8_t *out, size_t *outlen)
{
	uint8_t c[KS_RESULT_MAX];
	int rc;

	if ((rc = pad_ciphertext(k, in, inlen, c)) || (rc = rsa_raw(k, c, out)))
		return rc;
	*outlen = k->modlen;
	return 0;
}

static int op_rsa(const struct ks_key *key, const struct ks_opinfo *oi, const uint8_t *in,
		  size_t inlen, uint8_t *out, size_t *outlen)
{
	int pss = oi->kind == KS_KIND_RSA_PSS;

	if (key->type != KS_KEY_RSA)
		return CDNI_ETLS;
	switch (oi->kind) {
	case KS_KIND_RSA_DECRYPT:
		return rsa_decrypt_pkcs1(key, in, inlen, out, outlen);
	case KS_KIND_RSA_RAW:
		return rsa_decrypt_raw(key, in, inlen, out, outlen);
	default:
		if (inlen != ks_hash_len(oi->hash))
			return CDNI_EINVAL;
		return sign_digest(key, oi->op, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING,
				   hash_md(oi->hash), in, inlen, out, outlen);
	}
}

int ks_key_op(const struct ks_key *key, const struct ks_opinfo *oi, const uint8_t *in,
	      size_t inlen, uint8_t *out, size_t *outlen)
{
	switch (oi->kind) {
	case KS_KIND_RSA_PKCS1:
	case KS_KIND_RSA_PSS:
	case KS_KIND_RSA_DECRYPT:
	case KS_KIND_RSA_RAW:
		return op_rsa(key, oi, in, inlen, out, outlen);
	case KS_KIND_ECDSA:
		if (key->type != KS_KEY_EC)
			return CDNI_ETLS;
		if (inlen != ks_hash_len(oi->hash))
			return CDNI_EINVAL;
		return sign_digest(key, oi->op, 0, NULL, in, inlen, out, outlen);
	case KS_KIND_ED25519:
		if (key->type != KS_KEY_ED25519)
			return CDNI_ETLS;
		return sign_ed25519(key->pkey, in, inlen, out, outlen);
	default:
		return CDNI_EUNSUPP;
	}
}
