/* cdni — the JOSE subset URI signing needs (RFC 7515–7518, 7638, 8037).
 *
 * Keys (JWK, RFC 7517): EC P-256/P-384/P-521, RSA, OKP Ed25519/Ed448 and
 * symmetric "oct" keys, public or private, loaded from JSON into OpenSSL
 * objects. A key is only ever used with an algorithm that fits its type
 * (an EC key never becomes an HMAC secret), and with its "alg" and "use"
 * members when it states them. Secret material is wiped when freed.
 *
 * Signatures (JWS compact, RFC 7515): ES256/384/512 (raw r||s on the wire,
 * DER for OpenSSL), RS256/384/512, PS256/384/512, EdDSA, HS256/384/512.
 * "none" and every unknown algorithm are refused, and so is any "crit"
 * header parameter (this code understands no JWS extension).
 *
 * Encryption (JWE compact, RFC 7516): "alg":"dir" with "enc" A128GCM,
 * A192GCM or A256GCM, enough for the encrypted cdniip and sub claims.
 *
 * JSON input is bounded: a nesting depth limit is checked before jansson
 * parses, duplicate member names are refused. */
#ifndef CDNI_URISIGN_JOSE_H
#define CDNI_URISIGN_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

enum jose_alg {
	JOSE_ALG_UNKNOWN = 0,
	JOSE_ES256, JOSE_ES384, JOSE_ES512,
	JOSE_RS256, JOSE_RS384, JOSE_RS512,
	JOSE_PS256, JOSE_PS384, JOSE_PS512,
	JOSE_EDDSA,
	JOSE_HS256, JOSE_HS384, JOSE_HS512,
	JOSE_A128GCM, JOSE_A192GCM, JOSE_A256GCM, /* content encryption ("enc") */
	JOSE_DIR,                                 /* key management ("alg") for JWE */
	JOSE_ALG_MAX_
};

enum jose_kty { JOSE_KTY_NONE = 0, JOSE_KTY_EC, JOSE_KTY_RSA, JOSE_KTY_OKP, JOSE_KTY_OCT };
enum jose_use { JOSE_USE_ANY = 0, JOSE_USE_SIG, JOSE_USE_ENC };

/* Name <-> value ("ES256" ...); jose_alg_parse returns JOSE_ALG_UNKNOWN for
 * "none" and every name it does not know. */
enum jose_alg jose_alg_parse(const char *name);
const char *jose_alg_name(enum jose_alg a);
bool jose_alg_is_sig(enum jose_alg a);
bool jose_alg_is_enc(enum jose_alg a);

struct jose_ctx_pool; /* OpenSSL contexts kept for reuse (jws.c) */

struct jose_key {
	enum jose_kty kty;
	enum jose_alg alg; /* the JWK's "alg", JOSE_ALG_UNKNOWN when absent */
	enum jose_use use;
	char *kid;         /* the JWK's "kid" (NULL when absent) */
	char *crv;         /* EC / OKP curve name */
	EVP_PKEY *pkey;    /* EC, RSA, OKP */
	bool priv;         /* holds private material */
	uint8_t *k;        /* oct: the secret */
	size_t klen;
	/* EC keys: signing and verifying contexts, made on first use and
	 * reused by every thread (each takes one from the pool and gives it
	 * back), so a signature costs what openssl speed measures. Zero when
	 * the key is made; freed with it. */
	_Atomic(struct jose_ctx_pool *) pool;
};

/* Parse one JWK. Messages in err say what is wrong ("EC key: x has 31
 * bytes, P-256 needs 32"). Private members are read when present. */
int jose_key_from_json(const json_t *jwk, struct jose_key **out, char *err, size_t errlen);
/* Export as a JWK object: public members only unless with_private (an oct
 * key has no public form: CDNI_EINVAL unless with_private). kid and alg are
 * included when set; use when not ANY. */
int jose_key_to_json(const struct jose_key *k, bool with_private, json_t **out);
/* RFC 7638 thumbprint (SHA-256, base64url; 43 characters + NUL). */
int jose_key_thumbprint(const struct jose_key *k, char out[44]);
/* A fresh key for alg: ES256/384/512: the curve; RS and PS: RSA of rsa_bits (>= 2048);
 * EdDSA: Ed25519; HS256/384/512: a secret of the hash size; AxxxGCM: an enc key. The
 * kid is the thumbprint, alg and use are set. */
int jose_key_generate(enum jose_alg alg, int rsa_bits, struct jose_key **out);
/* Free a key's context pool (jose_key_free does). */
void jose_ctx_pool_free(struct jose_ctx_pool *p);
/* Wipes secrets, frees. NULL is fine. */
void jose_key_free(struct jose_key *k);
/* Read a JSON file of at most 1 MiB (duplicate names refused); the text
 * is wiped after parsing. 0, or the file's error (CDNI_EIO, CDNI_EOVERFLOW)
 * or CDNI_EPARSE with a message naming the file. */
int jose_json_read_file(const char *path, json_t **out, char *err, size_t errlen);
/* Wipe every string of a JSON document (key material) before freeing it. */
void jose_json_wipe(json_t *j);
/* Load a key from a file holding one JWK or a JWK set: kid picks the key of
 * a set, else the set must hold exactly one that fits (with private parts
 * when need_private). Messages start with the path ("k.jwk: cannot read:
 * ...", "k.jwk:3: JSON error", "k.jwk: EC key: ...", "k.jwk: the key has no
 * private part"). The file's text and parsed copy are wiped. */
int jose_key_load_file(const char *path, const char *kid, bool need_private,
		       struct jose_key **out, char *err, size_t errlen);
/* The algorithm a signature with this key uses when none is asked for: the
 * key's alg, else ES256/384/512 by curve, RS256, EdDSA, HS256. */
enum jose_alg jose_key_default_alg(const struct jose_key *k);
/* May this key make or check signatures (or encrypt) with alg? On false,
 * why says which rule failed. */
bool jose_key_fits(const struct jose_key *k, enum jose_alg alg, const char **why);

/* A JWK set (RFC 7517 §5): {"keys": [...]}. Keys that fail to parse are
 * errors (the message names keys[i]). */
struct jose_keyset {
	struct jose_key **keys;
	size_t n;
};
int jose_keyset_from_json(const json_t *set, struct jose_keyset **out, char *err, size_t errlen);
int jose_keyset_add(struct jose_keyset *s, struct jose_key *k); /* takes ownership */
struct jose_keyset *jose_keyset_new(void);
void jose_keyset_free(struct jose_keyset *s);
/* First key with this kid, or NULL. */
const struct jose_key *jose_keyset_find(const struct jose_keyset *s, const char *kid);

/* Bounded JSON: refuse nesting deeper than max_depth (checked by a scan
 * before jansson sees the text) and duplicate member names; the top level
 * must be an object. */
int jose_json_parse(const char *text, size_t len, int max_depth, json_t **out);
/* Compact serialization of an object with members in insertion order. */
char *jose_json_dump(const json_t *obj);

/* A parsed (not yet verified) JWS compact serialization. */
struct jose_jws {
	char *text;        /* copy of the token */
	size_t input_len;  /* bytes of "header.payload": the signing input */
	json_t *header;
	json_t *payload;   /* the decoded claims (an object) */
	enum jose_alg alg;
	const char *kid;   /* points into header, NULL when absent */
	uint8_t *sig;
	size_t siglen;
};

struct jose_limits {
	size_t max_token;  /* bytes; default 8192 */
	int max_depth;     /* JSON nesting; default 8 */
};

/* Parse a compact JWS (three base64url parts). Refuses (CDNI_EPARSE, with
 * why) oversized tokens, bad base64url, non-object JSON, too deep JSON,
 * duplicate names, missing/unknown/"none" alg, and any "crit" parameter. */
int jose_jws_parse(const char *token, size_t len, const struct jose_limits *lim,
		   struct jose_jws *out, const char **why);
void jose_jws_clear(struct jose_jws *j);
/* Check the signature with key (which must fit the token's alg). */
int jose_jws_verify(const struct jose_jws *j, const struct jose_key *key, const char **why);

/* Sign payload (an object) with key: alg JOSE_ALG_UNKNOWN picks the key's
 * default; kid (NULL: the key's kid, if any) goes into the header. */
int jose_jws_sign(const struct jose_key *key, enum jose_alg alg, const char *kid,
		  const json_t *payload, char **token);
/* The same over raw payload bytes. */
int jose_jws_sign_raw(const struct jose_key *key, enum jose_alg alg, const char *kid,
		      const void *payload, size_t len, char **token);

/* JWE compact, "alg":"dir". encrypt: enc JOSE_ALG_UNKNOWN picks by key
 * length (16: A128GCM, 24: A192GCM, 32: A256GCM). decrypt: the key is taken
 * from keys by the header's kid, else every fitting oct key is tried;
 * CDNI_EPARSE for a malformed JWE, CDNI_ENOTFOUND when no key fits,
 * CDNI_EDENIED when the fitting keys fail authentication. */
int jose_jwe_encrypt(const struct jose_key *key, enum jose_alg enc, const void *pt, size_t n,
		     char **out);
int jose_jwe_decrypt(const char *jwe, size_t len, const struct jose_keyset *keys,
		     uint8_t **pt, size_t *ptlen, const char **why);

/* SHA-256 with a digest fetched once (SHA256() fetches it on every call). */
void jose_sha256(const void *in, size_t n, uint8_t out[32]);

/* ECDSA signature encodings: JOSE raw r||s (2 * n bytes) <-> DER. */
int jose_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t *der, size_t cap,
			  size_t *derlen);
int jose_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t n, uint8_t *raw);

#endif
