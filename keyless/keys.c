/* cdni keyless — key store: loading, SKI and digest indexes, references. */
#include "keyless/keys.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/tls.h"

#define KEYFILE_MAX (1 << 20)

struct ks_keystore {
	atomic_int refs;
	struct ks_key **keys;
	size_t n, cap;
	/* open-addressing indexes (slot holds key index + 1; 0 = empty) */
	uint32_t *by_ski, *by_digest;
	size_t slots; /* power of two, >= 2 * n */
};

struct ks_keystore *ks_keystore_new(void)
{
	struct ks_keystore *ks = calloc(1, sizeof *ks);

	if (ks)
		atomic_init(&ks->refs, 1);
	return ks;
}

static void key_free(struct ks_key *k)
{
	if (!k)
		return;
	ks_key_pool_free(k);
	pthread_mutex_destroy(&k->pool_lock);
	EVP_PKEY_free(k->pkey);
	free(k->name);
	OPENSSL_cleanse(k, sizeof *k);
	free(k);
}

struct ks_keystore *ks_keystore_ref(struct ks_keystore *ks)
{
	if (ks)
		atomic_fetch_add(&ks->refs, 1);
	return ks;
}

void ks_keystore_unref(struct ks_keystore *ks)
{
	if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ks->n; i++)
		key_free(ks->keys[i]);
	free(ks->keys);
	free(ks->by_ski);
	free(ks->by_digest);
	free(ks);
}

size_t ks_keystore_count(const struct ks_keystore *ks)
{
	return ks ? ks->n : 0;
}

const struct ks_key *ks_keystore_at(const struct ks_keystore *ks, size_t i)
{
	return ks && i < ks->n ? ks->keys[i] : NULL;
}

static uint32_t slot_hash(const uint8_t *id)
{
	/* SKIs and digests are hash outputs already */
	return (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
}

static const struct ks_key *index_find(const struct ks_keystore *ks, const uint32_t *idx,
				       const uint8_t *id, int digest)
{
	size_t mask, i;

	if (!ks || !idx || !ks->slots)
		return NULL;
	mask = ks->slots - 1;
	for (i = slot_hash(id) & mask; idx[i]; i = (i + 1) & mask) {
		const struct ks_key *k = ks->keys[idx[i] - 1];
		if (digest ? k->type == KS_KEY_RSA && memcmp(k->digest, id, KS_DIGEST_LEN) == 0
			   : memcmp(k->ski, id, KS_SKI_LEN) == 0)
			return k;
	}
	return NULL;
}

const struct ks_key *ks_keystore_by_ski(const struct ks_keystore *ks, const uint8_t *ski)
{
	return index_find(ks, ks ? ks->by_ski : NULL, ski, 0);
}

const struct ks_key *ks_keystore_by_digest(const struct ks_keystore *ks, const uint8_t *digest)
{
	return index_find(ks, ks ? ks->by_digest : NULL, digest, 1);
}

static void index_put(uint32_t *idx, size_t slots, const uint8_t *id, uint32_t val)
{
	size_t mask = slots - 1, i;

	for (i = slot_hash(id) & mask; idx[i]; i = (i + 1) & mask)
		;
	idx[i] = val;
}

/* Rebuild both indexes for at least want keys. */
static int index_rebuild(struct ks_keystore *ks, size_t want)
{
	size_t slots = 16;
	uint32_t *a, *b;

	while (slots < 2 * want)
		slots *= 2;
	a = calloc(slots, sizeof *a);
	b = calloc(slots, sizeof *b);
	if (!a || !b) {
		free(a);
		free(b);
		return CDNI_ENOMEM;
	}
	for (size_t i = 0; i < ks->n; i++) {
		index_put(a, slots, ks->keys[i]->ski, (uint32_t)i + 1);
		if (ks->keys[i]->type == KS_KEY_RSA)
			index_put(b, slots, ks->keys[i]->digest, (uint32_t)i + 1);
	}
	free(ks->by_ski);
	free(ks->by_digest);
	ks->by_ski = a;
	ks->by_digest = b;
	ks->slots = slots;
	return 0;
}

/* DER length octets for len into p; returns how many. */
static size_t der_len(uint8_t *p, size_t len)
{
	size_t n = 0;

	if (len < 0x80) {
		p[0] = (uint8_t)len;
		return 1;
	}
	for (size_t v = len; v; v >>= 8)
		n++;
	p[0] = (uint8_t)(0x80 | n);
	for (size_t i = 0; i < n; i++)
		p[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	return 1 + n;
}

/* DER INTEGER of a non-negative BIGNUM into p (room for BN bytes + 6). */
static size_t der_int(uint8_t *p, const BIGNUM *bn)
{
	size_t n = (size_t)BN_num_bytes(bn), pad, hl;
	uint8_t tmp[KS_RESULT_MAX + 1];

	if (!n)
		n = 1, tmp[0] = 0;
	else
		BN_bn2bin(bn, tmp);
	pad = tmp[0] & 0x80 ? 1 : 0;
	p[0] = 0x02;
	hl = 1 + der_len(p + 1, n + pad);
	if (pad)
		p[hl] = 0;
	memcpy(p + hl + pad, tmp, n);
	return hl + pad + n;
}

/* RSAPublicKey DER (the subjectPublicKey of an RSA key) into out. */
static int rsa_pub_der(EVP_PKEY *pkey, uint8_t *out, size_t cap, size_t *outlen)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t body[2 * KS_RESULT_MAX + 32];
	size_t blen, hl;
	int rc = CDNI_ETLS;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
	    BN_num_bytes(n) > KS_RESULT_MAX || BN_num_bytes(e) > KS_RESULT_MAX)
		goto out;
	blen = der_int(body, n);
	blen += der_int(body + blen, e);
	if (blen + 8 > cap)
		goto out;
	out[0] = 0x30;
	hl = 1 + der_len(out + 1, blen);
	memcpy(out + hl, body, blen);
	*outlen = hl + blen;
	rc = 0;
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

/* The subjectPublicKey BIT STRING contents, without the encoder framework
 * (much slower, and loading 10,000 keys pays it 10,000 times): the RSAPublicKey
 * DER for RSA, the encoded point for EC, the raw key for Ed25519. */
int ks_pkey_ski(EVP_PKEY *pkey, uint8_t ski[KS_SKI_LEN])
{
	uint8_t pub[2 * KS_RESULT_MAX + 64];
	size_t len = 0;
	X509_PUBKEY *xpk = NULL;
	const unsigned char *pk;
	int pklen, rc = CDNI_ETLS;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		if (rsa_pub_der(pkey, pub, sizeof pub, &len))
			return CDNI_ETLS;
	} else if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub,
						   sizeof pub, &len) != 1) {
		len = 0;
	}
	if (len) {
		SHA1(pub, len, ski);
		return 0;
	}
	if (X509_PUBKEY_set(&xpk, pkey) == 1 && /* any other key type */
	    X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk) == 1 && pklen > 0) {
		SHA1(pk, (size_t)pklen, ski);
		rc = 0;
	}
	X509_PUBKEY_free(xpk);
	return rc;
}

int ks_pkey_digest(EVP_PKEY *pkey, uint8_t digest[KS_DIGEST_LEN])
{
	BIGNUM *n = NULL;
	char *hex = NULL, *p;
	int rc = CDNI_EINVAL;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
		return CDNI_EINVAL;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 || !(hex = BN_bn2hex(n)))
		goto out;
	/* big.Int's %X: upper case, no leading zeros */
	for (p = hex; p[0] == '0' && p[1]; p++)
		;
	SHA256((const unsigned char *)p, strlen(p), digest);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(n);
	return rc;
}

/* SHA-256 of d as a big-endian string of the modulus size: the secret from
 * which implicit rejection derives its per-ciphertext key. */
static int rsa_ir_secret(struct ks_key *k)
{
	BIGNUM *d = NULL;
	unsigned char *buf = NULL;
	int rc = CDNI_ETLS;

	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_D, &d) != 1)
		return CDNI_ETLS;
	buf = OPENSSL_malloc(k->modlen);
	if (buf && BN_bn2binpad(d, buf, (int)k->modlen) == (int)k->modlen) {
		SHA256(buf, k->modlen, k->ir_secret);
		rc = 0;
	}
	OPENSSL_clear_free(buf, k->modlen);
	BN_clear_free(d);
	return rc;
}

static int key_classify(struct ks_key *k)
{
	switch (EVP_PKEY_get_base_id(k->pkey)) {
	case EVP_PKEY_RSA:
		k->type = KS_KEY_RSA;
		k->modlen = (size_t)EVP_PKEY_get_size(k->pkey);
		if (k->modlen < 64 || k->modlen > KS_RESULT_MAX)
			return CDNI_EUNSUPP;
		if (ks_pkey_digest(k->pkey, k->digest))
			return CDNI_ETLS;
		return rsa_ir_secret(k);
	case EVP_PKEY_EC:
		k->type = KS_KEY_EC;
		return 0;
	case EVP_PKEY_ED25519:
		k->type = KS_KEY_ED25519;
		return 0;
	default:
		return CDNI_EUNSUPP;
	}
}

static int keys_grow(struct ks_keystore *ks)
{
	size_t cap = ks->cap ? ks->cap * 2 : 16;
	struct ks_key **v;

	if (ks->n < ks->cap)
		return 0;
	v = realloc(ks->keys, cap * sizeof *v);
	if (!v)
		return CDNI_ENOMEM;
	ks->keys = v;
	ks->cap = cap;
	return 0;
}

int ks_keystore_add(struct ks_keystore *ks, EVP_PKEY *pkey, const char *name)
{
	struct ks_key *k = calloc(1, sizeof *k);
	int rc = CDNI_ENOMEM;

	if (!k)
		return CDNI_ENOMEM;
	ks_mutex_init(&k->pool_lock);
	if (!(k->name = strdup(name ? name : "")))
		goto fail;
	k->pkey = pkey;
	k->bits = EVP_PKEY_get_bits(pkey);
	if ((rc = key_classify(k)) || (rc = ks_pkey_ski(pkey, k->ski)))
		goto fail;
	if (ks_keystore_by_ski(ks, k->ski)) {
		rc = CDNI_EEXIST;
		goto fail;
	}
	if ((rc = keys_grow(ks)))
		goto fail;
	if (2 * (ks->n + 1) > ks->slots && (rc = index_rebuild(ks, ks->cap)))
		goto fail;
	ks->keys[ks->n++] = k;
	index_put(ks->by_ski, ks->slots, k->ski, (uint32_t)ks->n);
	if (k->type == KS_KEY_RSA)
		index_put(ks->by_digest, ks->slots, k->digest, (uint32_t)ks->n);
	return 0;
fail:
	k->pkey = NULL; /* the caller keeps its reference on failure */
	key_free(k);
	return rc;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Parse one PEM private key from file; NULL (quietly) when the file holds no
 * private key, NULL with a warning when it holds one that does not parse.
 * dec is a decoder reused across files (*dkey is where it puts the key);
 * when it fails, the one-shot PEM reader has the last word. */
static EVP_PKEY *read_key_file(const char *path, OSSL_DECODER_CTX *dec, EVP_PKEY **dkey)
{
	char *text = NULL, ossl[256];
	size_t len = 0, left;
	const unsigned char *p;
	EVP_PKEY *pkey = NULL;
	BIO *b;

	if (file_read_all(path, KEYFILE_MAX, &text, &len)) {
		log_warn(NULL, "%s: cannot read, skipped", path);
		return NULL;
	}
	*dkey = NULL;
	p = (const unsigned char *)text;
	left = len;
	if (dec && OSSL_DECODER_from_data(dec, &p, &left) == 1)
		pkey = *dkey;
	if (!pkey && (b = BIO_new_mem_buf(text, (int)len))) {
		ERR_clear_error();
		pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	if (!pkey && strstr(text, "PRIVATE KEY-----"))
		log_warn(NULL, "%s: private key does not parse, skipped: %s", path,
			 tls_errstr(ossl, sizeof ossl));
	ERR_clear_error();
	OPENSSL_clear_free(text, len + 1);
	return pkey;
}

static void load_one(struct ks_keystore *ks, const char *dir, const char *name,
		     OSSL_DECODER_CTX *dec, EVP_PKEY **dkey)
{
	char path[4096];
	EVP_PKEY *pkey;
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!(pkey = read_key_file(path, dec, dkey)))
		return;
	rc = ks_keystore_add(ks, pkey, name);
	if (rc == CDNI_EEXIST)
		log_warn(NULL, "%s: same key (SKI) as an earlier file, skipped", path);
	else if (rc)
		log_warn(NULL, "%s: key skipped: %s", path,
			 rc == CDNI_EUNSUPP ? "unsupported key type or size" : cdni_strerror(rc));
	if (rc)
		EVP_PKEY_free(pkey);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the candidate files of dir. */
static int list_dir(const char *dir, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, **nv;
	size_t cnt = 0, cap = 0;

	if (!d)
		return CDNI_EIO;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !(has_suffix(e->d_name, ".key") || has_suffix(e->d_name, ".pem")))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if (!(nv = realloc(v, cap * sizeof *v)))
				break;
			v = nv;
		}
		if (!(v[cnt] = strdup(e->d_name)))
			break;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof *v, name_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

int ks_keystore_load_dir(const char *dir, struct ks_keystore **out, char *err, size_t errlen)
{
	struct ks_keystore *ks = ks_keystore_new();
	OSSL_DECODER_CTX *dec = NULL;
	EVP_PKEY *dkey = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (!ks)
		return CDNI_ENOMEM;
	if ((rc = list_dir(dir, &names, &n))) {
		snprintf(err, errlen, "%s: cannot read key directory", dir);
		ks_keystore_unref(ks);
		return rc;
	}
	dec = OSSL_DECODER_CTX_new_for_pkey(&dkey, "PEM", NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		load_one(ks, dir, names[i], dec, &dkey);
		free(names[i]);
	}
	OSSL_DECODER_CTX_free(dec);
	free(names);
	*out = ks;
	return 0;
}
