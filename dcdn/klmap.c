#include "dcdn/klmap.h"

#include <string.h>

#include <gnutls/gnutls.h>

#include "common/err.h"
#include "keyless/proto.h"

/* DER DigestInfo prefixes (RFC 8017 §9.2 note 1), each followed by the
 * digest itself. */
static const struct {
	uint8_t opcode;
	size_t dlen;
	uint8_t prefix[19];
	size_t plen;
} digest_infos[] = {
	{ KS_OP_RSA_SIGN_SHA1, 20,
	  { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
	    0x14 },
	  15 },
	{ KS_OP_RSA_SIGN_SHA224, 28,
	  { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x04, 0x05, 0x00, 0x04, 0x1c },
	  19 },
	{ KS_OP_RSA_SIGN_SHA256, 32,
	  { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x01, 0x05, 0x00, 0x04, 0x20 },
	  19 },
	{ KS_OP_RSA_SIGN_SHA384, 48,
	  { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x02, 0x05, 0x00, 0x04, 0x30 },
	  19 },
	{ KS_OP_RSA_SIGN_SHA512, 64,
	  { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x03, 0x05, 0x00, 0x04, 0x40 },
	  19 },
};

/* Algorithms that take a bare digest: opcode and the digest's length. */
static const struct {
	int algo;
	uint8_t opcode;
	size_t dlen;
} hashed[] = {
	{ GNUTLS_SIGN_RSA_SHA1, KS_OP_RSA_SIGN_SHA1, 20 },
	{ GNUTLS_SIGN_RSA_SHA224, KS_OP_RSA_SIGN_SHA224, 28 },
	{ GNUTLS_SIGN_RSA_SHA256, KS_OP_RSA_SIGN_SHA256, 32 },
	{ GNUTLS_SIGN_RSA_SHA384, KS_OP_RSA_SIGN_SHA384, 48 },
	{ GNUTLS_SIGN_RSA_SHA512, KS_OP_RSA_SIGN_SHA512, 64 },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, KS_OP_RSA_PSS_SIGN_SHA256, 32 },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, KS_OP_RSA_PSS_SIGN_SHA384, 48 },
	{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA512, KS_OP_RSA_PSS_SIGN_SHA512, 64 },
	{ GNUTLS_SIGN_ECDSA_SHA1, KS_OP_ECDSA_SIGN_SHA1, 20 },
	{ GNUTLS_SIGN_ECDSA_SHA224, KS_OP_ECDSA_SIGN_SHA224, 28 },
	{ GNUTLS_SIGN_ECDSA_SHA256, KS_OP_ECDSA_SIGN_SHA256, 32 },
	{ GNUTLS_SIGN_ECDSA_SHA384, KS_OP_ECDSA_SIGN_SHA384, 48 },
	{ GNUTLS_SIGN_ECDSA_SHA512, KS_OP_ECDSA_SIGN_SHA512, 64 },
	{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, KS_OP_ECDSA_SIGN_SHA256, 32 },
	{ GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, KS_OP_ECDSA_SIGN_SHA384, 48 },
	{ GNUTLS_SIGN_ECDSA_SECP521R1_SHA512, KS_OP_ECDSA_SIGN_SHA512, 64 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int map_raw_rsa(const uint8_t *data, size_t len, struct kl_sign *out)
{
	if (len == 36) { /* TLS 1.0/1.1: MD5 || SHA-1, no DigestInfo */
		*out = (struct kl_sign){ KS_OP_RSA_SIGN_MD5SHA1, data, len };
		return 0;
	}
	for (size_t i = 0; i < N(digest_infos); i++) {
		size_t pl = digest_infos[i].plen;

		if (len == pl + digest_infos[i].dlen && memcmp(data, digest_infos[i].prefix, pl) == 0) {
			*out = (struct kl_sign){ digest_infos[i].opcode, data + pl, digest_infos[i].dlen };
			return 0;
		}
	}
	return CDNI_EINVAL;
}

int kl_sign_map(int algo, const uint8_t *data, size_t len, struct kl_sign *out)
{
	if (algo == GNUTLS_SIGN_RSA_RAW)
		return map_raw_rsa(data, len, out);
	if (algo == GNUTLS_SIGN_EDDSA_ED25519) {
		*out = (struct kl_sign){ KS_OP_ED25519_SIGN, data, len };
		return 0;
	}
	for (size_t i = 0; i < N(hashed); i++)
		if (hashed[i].algo == algo) {
			if (len != hashed[i].dlen)
				return CDNI_EINVAL;
			*out = (struct kl_sign){ hashed[i].opcode, data, len };
			return 0;
		}
	return CDNI_EINVAL;
}

int kl_sign_supported(int pk, int algo)
{
	gnutls_pk_algorithm_t want = gnutls_sign_get_pk_algorithm((gnutls_sign_algorithm_t)algo);

	if (algo == GNUTLS_SIGN_RSA_RAW)
		return pk == GNUTLS_PK_RSA;
	if (algo == GNUTLS_SIGN_EDDSA_ED25519)
		return pk == GNUTLS_PK_EDDSA_ED25519;
	for (size_t i = 0; i < N(hashed); i++)
		if (hashed[i].algo == algo)
			/* RSA-PSS with an rsaEncryption key counts as RSA */
			return (int)want == pk || (pk == GNUTLS_PK_RSA && want == GNUTLS_PK_RSA_PSS);
	return 0;
}
