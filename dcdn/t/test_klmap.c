/* dcdn/klmap.c: GnuTLS signing requests mapped to key-server operations —
 * every DigestInfo of TLS 1.2 RSA PKCS#1, MD5||SHA-1, RSA-PSS, ECDSA (the
 * TLS 1.3 curve-bound names too), Ed25519; wrong lengths, a truncated or
 * altered DigestInfo and unknown algorithms refused; which algorithms a key
 * type may sign with. */
#include <string.h>

#include <gnutls/gnutls.h>

#include "common/err.h"
#include "common/tap.h"
#include "dcdn/klmap.h"
#include "keyless/proto.h"

static const uint8_t sha256_di[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
				       0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
static const uint8_t sha1_di[15] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
				     0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };

static void digest_info(void)
{
	uint8_t in[19 + 64];
	struct kl_sign m;

	memcpy(in, sha256_di, sizeof sha256_di);
	memset(in + 19, 0xab, 32);
	is_int(kl_sign_map(GNUTLS_SIGN_RSA_RAW, in, 51, &m), 0, "SHA-256 DigestInfo maps");
	is_int(m.opcode, KS_OP_RSA_SIGN_SHA256, "to RSA-SIGN-SHA256");
	ok(m.in == in + 19 && m.len == 32, "with the bare digest");
	memcpy(in, sha1_di, sizeof sha1_di);
	is_int(kl_sign_map(GNUTLS_SIGN_RSA_RAW, in, 35, &m), 0, "SHA-1 DigestInfo maps");
	is_int(m.opcode, KS_OP_RSA_SIGN_SHA1, "to RSA-SIGN-SHA1");
	is_int(kl_sign_map(GNUTLS_SIGN_RSA_RAW, in, 36, &m), 0, "36 bytes: MD5||SHA-1");
	is_int(m.opcode, KS_OP_RSA_SIGN_MD5SHA1, "to RSA-SIGN-MD5SHA1");
	memcpy(in, sha256_di, sizeof sha256_di);
	is_int(kl_sign_map(GNUTLS_SIGN_RSA_RAW, in, 50, &m), CDNI_EINVAL, "a digest one byte short");
	in[8] ^= 1;
	is_int(kl_sign_map(GNUTLS_SIGN_RSA_RAW, in, 51, &m), CDNI_EINVAL, "an altered OID");
	is_int(kl_sign_map(GNUTLS_SIGN_RSA_RAW, in, 0, &m), CDNI_EINVAL, "nothing");
}

static void hashed(void)
{
	static const struct {
		int algo;
		size_t len;
		int op;
	} cases[] = {
		{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 32, KS_OP_RSA_PSS_SIGN_SHA256 },
		{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA384, 48, KS_OP_RSA_PSS_SIGN_SHA384 },
		{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA512, 64, KS_OP_RSA_PSS_SIGN_SHA512 },
		{ GNUTLS_SIGN_ECDSA_SHA256, 32, KS_OP_ECDSA_SIGN_SHA256 },
		{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, 32, KS_OP_ECDSA_SIGN_SHA256 },
		{ GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, 48, KS_OP_ECDSA_SIGN_SHA384 },
		{ GNUTLS_SIGN_ECDSA_SECP521R1_SHA512, 64, KS_OP_ECDSA_SIGN_SHA512 },
		{ GNUTLS_SIGN_RSA_SHA384, 48, KS_OP_RSA_SIGN_SHA384 },
	};
	uint8_t d[64] = { 0 }, msg[200] = { 0 };
	struct kl_sign m;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *name = gnutls_sign_get_name((gnutls_sign_algorithm_t)cases[i].algo);

		is_int(kl_sign_map(cases[i].algo, d, cases[i].len, &m), 0, "%s maps", name);
		is_int(m.opcode, cases[i].op, "%s: opcode 0x%02x", name, cases[i].op);
		is_int(kl_sign_map(cases[i].algo, d, cases[i].len - 1, &m), CDNI_EINVAL,
		       "%s: a digest of the wrong length is refused", name);
	}
	is_int(kl_sign_map(GNUTLS_SIGN_EDDSA_ED25519, msg, sizeof msg, &m), 0, "Ed25519 maps");
	ok(m.opcode == KS_OP_ED25519_SIGN && m.len == sizeof msg, "the whole message to ED25519");
	is_int(kl_sign_map(GNUTLS_SIGN_EDDSA_ED448, msg, 10, &m), CDNI_EINVAL, "Ed448: no such op");
	is_int(kl_sign_map(GNUTLS_SIGN_RSA_PSS_SHA256, d, 32, &m), CDNI_EINVAL,
	       "RSA-PSS for an RSA-PSS (not rsaEncryption) key: no such op");
	is_int(kl_sign_map(9999, d, 32, &m), CDNI_EINVAL, "an unknown algorithm");
}

static void supported(void)
{
	ok(kl_sign_supported(GNUTLS_PK_RSA, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256), "RSA key: PSS-RSAE");
	ok(kl_sign_supported(GNUTLS_PK_RSA, GNUTLS_SIGN_RSA_SHA256), "RSA key: PKCS#1 SHA-256");
	ok(kl_sign_supported(GNUTLS_PK_RSA, GNUTLS_SIGN_RSA_RAW), "RSA key: raw DigestInfo");
	ok(!kl_sign_supported(GNUTLS_PK_RSA, GNUTLS_SIGN_ECDSA_SHA256), "RSA key: not ECDSA");
	ok(!kl_sign_supported(GNUTLS_PK_RSA, GNUTLS_SIGN_RSA_PSS_SHA256), "RSA key: not PSS-PSS");
	ok(kl_sign_supported(GNUTLS_PK_ECDSA, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256), "EC key: ECDSA");
	ok(!kl_sign_supported(GNUTLS_PK_ECDSA, GNUTLS_SIGN_RSA_SHA256), "EC key: not RSA");
	ok(kl_sign_supported(GNUTLS_PK_EDDSA_ED25519, GNUTLS_SIGN_EDDSA_ED25519), "Ed25519 key");
	ok(!kl_sign_supported(GNUTLS_PK_EDDSA_ED25519, GNUTLS_SIGN_ECDSA_SHA256), "Ed25519: not ECDSA");
}

int main(void)
{
	digest_info();
	hashed();
	supported();
	return done_testing();
}
