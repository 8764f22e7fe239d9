/* JWE compact serialization (RFC 7516) with "alg":"dir" and AES-GCM content
 * encryption (RFC 7518 §4.5, §5.3): the form RFC 9246 uses for the
 * encrypted cdniip and sub claims. */
#include "urisign/jose.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "urisign/b64.h"

#define IV_LEN 12
#define TAG_LEN 16
#define MAX_JWE 4096

static const EVP_CIPHER *gcm_cipher(enum jose_alg enc)
{
	return enc == JOSE_A128GCM ? EVP_aes_128_gcm()
	     : enc == JOSE_A192GCM ? EVP_aes_192_gcm()
				   : EVP_aes_256_gcm();
}

/* AES-GCM in one direction; tag is written (encrypt) or checked (decrypt). */
static int gcm(bool encrypt, enum jose_alg enc, const uint8_t *key, const uint8_t *iv,
	       const char *aad, size_t aadlen, const uint8_t *in, size_t n, uint8_t *out,
	       uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, rc = CDNI_ETLS;

	if (!c)
		return CDNI_ENOMEM;
	if (EVP_CipherInit_ex(c, gcm_cipher(enc), NULL, key, iv, encrypt) != 1 ||
	    EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)aad, (int)aadlen) != 1 ||
	    (n && EVP_CipherUpdate(c, out, &len, in, (int)n) != 1))
		goto done;
	if (!encrypt && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto done;
	if (EVP_CipherFinal_ex(c, out + (n ? len : 0), &len) != 1) {
		rc = CDNI_EDENIED;
		goto done;
	}
	if (encrypt && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto done;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static enum jose_alg enc_for_len(size_t klen)
{
	return klen == 16 ? JOSE_A128GCM : klen == 24 ? JOSE_A192GCM : klen == 32 ? JOSE_A256GCM
										: JOSE_ALG_UNKNOWN;
}

static char *jwe_header(enum jose_alg enc, const char *kid)
{
	json_t *h = json_object();
	char *s = NULL, *b = NULL;

	if (h && json_object_set_new(h, "alg", json_string("dir")) == 0 &&
	    json_object_set_new(h, "enc", json_string(jose_alg_name(enc))) == 0 &&
	    (!kid || json_object_set_new(h, "kid", json_string(kid)) == 0))
		s = jose_json_dump(h);
	if (s)
		b = b64url_encode_new(s, strlen(s));
	free(s);
	json_decref(h);
	return b;
}

int jose_jwe_encrypt(const struct jose_key *key, enum jose_alg enc, const void *pt, size_t n,
		     char **out)
{
	uint8_t iv[IV_LEN], tag[TAG_LEN], *ct = NULL;
	char *h = NULL, *s = NULL;
	size_t hl, o;
	int rc = CDNI_ENOMEM;

	if (!enc)
		enc = enc_for_len(key->klen);
	if (!jose_alg_is_enc(enc) || !jose_key_fits(key, enc, NULL) || n > MAX_JWE)
		return CDNI_EINVAL;
	if (RAND_bytes(iv, sizeof iv) != 1)
		return CDNI_ETLS;
	if (!(h = jwe_header(enc, key->kid)) || !(ct = malloc(n + 1)))
		goto done;
	hl = strlen(h);
	if ((rc = gcm(true, enc, key->k, iv, h, hl, pt, n, ct, tag)) != 0)
		goto done;
	rc = CDNI_ENOMEM;
	if (!(s = malloc(hl + 4 + b64url_enc_len(IV_LEN) + b64url_enc_len(n) +
			 b64url_enc_len(TAG_LEN) + 1)))
		goto done;
	memcpy(s, h, hl);
	o = hl;
	s[o++] = '.'; /* empty encrypted key */
	s[o++] = '.';
	b64url_encode(iv, IV_LEN, s + o);
	o += strlen(s + o);
	s[o++] = '.';
	b64url_encode(ct, n, s + o);
	o += strlen(s + o);
	s[o++] = '.';
	b64url_encode(tag, TAG_LEN, s + o);
	*out = s;
	rc = 0;
done:
	free(h);
	if (ct) {
		OPENSSL_cleanse(ct, n);
		free(ct);
	}
	return rc;
}

/* ---- decrypt ---- */

struct jwe_parts {
	const char *p[5];
	size_t n[5];
};

static int split5(const char *s, size_t len, struct jwe_parts *out)
{
	size_t start = 0, k = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (k == 5)
			return CDNI_EPARSE;
		out->p[k] = s + start;
		out->n[k++] = i - start;
		start = i + 1;
	}
	return k == 5 ? 0 : CDNI_EPARSE;
}

static int jwe_check_header(const struct jwe_parts *pt, enum jose_alg *enc, char **kid,
			    const char **why)
{
	json_t *h = NULL;
	uint8_t *raw = NULL;
	size_t rl = 0;
	int rc = CDNI_EPARSE;

	*why = "JWE header is not base64url of a JSON object";
	if (b64url_decode_new(pt->p[0], pt->n[0], &raw, &rl) ||
	    jose_json_parse((const char *)raw, rl, 4, &h))
		goto done;
	*why = "JWE alg must be dir";
	if (!json_string_value(json_object_get(h, "alg")) ||
	    strcmp(json_string_value(json_object_get(h, "alg")), "dir") != 0)
		goto done;
	*why = "JWE enc must be A128GCM, A192GCM or A256GCM";
	*enc = jose_alg_parse(json_string_value(json_object_get(h, "enc")));
	if (!jose_alg_is_enc(*enc))
		goto done;
	*why = "JWE zip and crit are not supported";
	if (json_object_get(h, "zip") || json_object_get(h, "crit"))
		goto done;
	*why = "JWE kid is not a string";
	if (json_object_get(h, "kid") && !json_is_string(json_object_get(h, "kid")))
		goto done;
	*kid = json_string_value(json_object_get(h, "kid")) ?
		       strdup(json_string_value(json_object_get(h, "kid"))) : NULL;
	*why = NULL;
	rc = 0;
done:
	free(raw);
	json_decref(h);
	return rc;
}

static int try_key(const struct jwe_parts *pt, enum jose_alg enc, const struct jose_key *k,
		   const uint8_t *iv, uint8_t *tag, const uint8_t *ct, size_t ctl, uint8_t *out)
{
	if (!jose_key_fits(k, enc, NULL))
		return CDNI_EDENIED;
	return gcm(false, enc, k->k, iv, pt->p[0], pt->n[0], ct, ctl, out, tag);
}

static int jwe_open(const struct jwe_parts *pt, enum jose_alg enc, const char *kid,
		    const struct jose_keyset *keys, uint8_t **pt_out, size_t *ptlen)
{
	uint8_t iv[IV_LEN], tag[TAG_LEN], *ct = NULL, *out = NULL;
	size_t ivl = 0, tagl = 0, ctl = 0;
	int rc = CDNI_EPARSE;

	if (pt->n[1] != 0 || b64url_decode(pt->p[2], pt->n[2], iv, sizeof iv, &ivl) ||
	    ivl != IV_LEN || b64url_decode(pt->p[4], pt->n[4], tag, sizeof tag, &tagl) ||
	    tagl != TAG_LEN || b64url_decode_new(pt->p[3], pt->n[3], &ct, &ctl))
		goto done;
	rc = CDNI_ENOMEM;
	if (!(out = malloc(ctl + 1)))
		goto done;
	rc = CDNI_ENOTFOUND;
	for (size_t i = 0; keys && i < keys->n && rc; i++) {
		if (kid && (!keys->keys[i]->kid || strcmp(kid, keys->keys[i]->kid) != 0))
			continue;
		rc = try_key(pt, enc, keys->keys[i], iv, tag, ct, ctl, out);
	}
	if (rc)
		goto done;
	out[ctl] = 0;
	*pt_out = out;
	*ptlen = ctl;
	out = NULL;
done:
	free(ct);
	if (out) {
		OPENSSL_cleanse(out, ctl);
		free(out);
	}
	return rc;
}

int jose_jwe_decrypt(const char *jwe, size_t len, const struct jose_keyset *keys, uint8_t **pt,
		     size_t *ptlen, const char **why)
{
	struct jwe_parts parts;
	enum jose_alg enc = JOSE_ALG_UNKNOWN;
	char *kid = NULL;
	const char *w = NULL;
	int rc;

	if (len > MAX_JWE || split5(jwe, len, &parts)) {
		if (why)
			*why = "not a JWE compact serialization (five parts)";
		return CDNI_EPARSE;
	}
	rc = jwe_check_header(&parts, &enc, &kid, &w);
	if (!rc) {
		rc = jwe_open(&parts, enc, kid, keys, pt, ptlen);
		w = rc == CDNI_EPARSE ? "JWE parts are malformed"
		  : rc ? "no key decrypts the JWE" : NULL;
	}
	free(kid);
	if (why)
		*why = w;
	return rc;
}
