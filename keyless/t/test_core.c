/* keyless/core + keys: every opcode against real keys (signatures verified
 * with the public key), every error code, the SKI and legacy digest, the
 * key store (directory loading, reload), and RSA decryption with implicit
 * rejection checked against known answers from OpenSSL 4.0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "common/log.h"
#include "common/tap.h"
#include "keyless/core.h"

/* A test-only 1024-bit RSA key (never used for anything else) and two
 * ciphertexts with bad padding whose implicit-rejection answers were computed
 * with OpenSSL 4.0 (python cryptography's PKCS1v15 decrypt). */
static const char kat_key[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAMJCwqG2IGvZQ6Hz\n"
	"nqf3jxTyOseV9oIcWwoiCAU03GHAinq0y2EOl6kDO4bvmlXCpmk79kjPwSbrgpsi\n"
	"dGkWYZgpKSZGV+qqR6SAB6/IuHfT8+YxTBvnr07XIeRJOXxc5JJl/6S/031QNp6a\n"
	"8sJq8kxkNoqn+8NVtCN/sUWMtIIXAgMBAAECgYBvMx4MyZ+XfOANNdKNHdXmzJ4/\n"
	"H6XjZu3qR/7FVDQPNNNQWGvPXDYOho4tuLxk+S6fMLbTiTFs4QV7Xma6vRgRrEBL\n"
	"UMJdDaRuy3kuGYuXzC9cxBuP4iFdEUb3/H+gXglhbdTm7A2TGDC7rlDQSMuKH7i2\n"
	"DQ8VOy7FZ4KTYSHZkQJBAPgwhVJmHAUi18X9eoWObmFil5lMljZufv5ALafvc9j7\n"
	"xw5Cq+weHMLLJK/yFCUffp8FncsH21Iey6dihWmgb78CQQDIX8aGb6tPinyuvVbd\n"
	"hFXyBGZdeUui7ZQ42nGxAeJ7HzEJ1Xb7PjWxYFcoERMXnqmiwHfjhDeJ0Shjrgpu\n"
	"ZIOpAkAvu0Uov7KL2lOdJE63+NiJqih1tyD8fuu1gipFreudw25Y88GUu4XUgLUh\n"
	"kXEGYrQ7aR0buvsXJA0OuAfodI6JAkA19qVOu3BVoaRmoxNr4SIMZebzsaEPJhDP\n"
	"JvWLiEhohEP+tACxNVXciWevoLmVmONys4cWPRuAAFZyUgL5LBTRAkEAue2PJAPR\n"
	"TuCQ1yvZv3AS4Kh0E9qANovtVyryIhjNBn/zIWS3BctDTZdT2Gg/Xubp+cISgrl+\n"
	"I3rBUuvl/sZN8Q==\n"
	"-----END PRIVATE KEY-----\n";
static const char *const kat_ct[2] = {
	"111ae1576b72c474b4d6afd06b47476f3646fa682c9f9ac0bdd432dbea34494de7633cfbd0d6ea56"
	"e79d196cb232667cb266db9458ba4d796c5d7a7b992336de5933463b2b3e63a3ee2392de36bb7e12"
	"c0687cb9f26f9c0fe99721472e0b05fc4668e5bddf9ddddee95dc7bbf2292b7ce034f5be49b8293d"
	"9b56c6e5c9986734",
	"2260a73338c4268a19be74c1fadb81b27d1d19fdcdaa4b2172396288cb84855ecc90d43e18b150d4"
	"af7020ab4533e54e22d5b3137f21ac0a459ce9b7384e687ec5782d92bd8e7f5e48047ae59e93e628"
	"f221de3e50d26ef2c7414e5f8bdca5cee78e62dfc616869665641408d666df010e814606fbfd3f57"
	"21adb6a8c4080c77",
};
static const char *const kat_pt[2] = {
	"705f4aa299b3664a1aaab95341a5df28b31240c691d646b523031b69fca326b5848ab59ba9bfa217"
	"9c3022631e6702018c07b398d645b0ec041721d4074ea40bed038742d5693a21dc2139bfa49df57e"
	"0590f865fa50e30e33203efba7376e51ad2bc833a1985fee6f7c8b0cf5f7c5ae6166f320",
	"482fa6727bcd0fb1a161555ead390cf0f8f2476d64785b9b9b9359d9064fe2939d804782645aa363"
	"0389ad6ec814bc35abaa0c2eed256876f3a7ca2ed6412031cac713b314ab13991137f4f8093bcce7"
	"6395be9f00d7a571",
};

static EVP_PKEY *rsa1024, *rsa2048, *p256, *p384, *p521, *ed;
static struct ks_core *core;
static struct ks_policy *policy;
static const struct ks_peer edge = { .cn = "dcdn-edge", .addr = "127.0.0.1:1" };
static const struct ks_peer other = { .cn = "dcdn2-edge", .addr = "127.0.0.1:2" };

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static EVP_PKEY *load_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
}

struct answer {
	uint32_t id;
	uint8_t opcode;
	uint8_t payload[4096];
	size_t len;
	struct ks_result res;
};

/* Send m through the core as peer; parse the response into a. */
static int ask(const struct ks_peer *peer, uint32_t id, const struct ks_msg *m,
	       struct answer *a)
{
	uint8_t req[KS_FRAME_MAX];
	size_t n = 0;
	struct buf out;
	struct ks_header h;
	struct ks_msg r;
	int rc;

	buf_init(&out, 0);
	memset(a, 0, sizeof *a);
	if (ks_msg_write(id, m, req, sizeof req, &n) ||
	    ks_core_handle(core, peer, req, n, &out, &a->res) || out.len < 8 ||
	    ks_header_parse((uint8_t *)out.data, out.len, &h) ||
	    ks_msg_parse((uint8_t *)out.data + 8, out.len - 8, &r)) {
		rc = -1;
	} else {
		a->id = h.id;
		a->opcode = r.opcode;
		a->len = r.payload.len;
		memcpy(a->payload, r.payload.p, r.payload.len);
		rc = 0;
	}
	buf_free(&out);
	return rc;
}

static void ski_of(EVP_PKEY *k, uint8_t ski[20])
{
	if (ks_pkey_ski(k, ski))
		memset(ski, 0, 20);
}

/* Ask for opcode with key k on payload; return the wire error (0 on success). */
static int op(const struct ks_peer *peer, EVP_PKEY *k, uint8_t opcode, const uint8_t *p,
	      size_t len, struct answer *a)
{
	uint8_t ski[20];
	struct ks_msg m;

	ski_of(k, ski);
	ks_msg_init(&m, opcode);
	ks_msg_set_ski(&m, ski);
	ks_msg_set_payload(&m, p, len);
	if (ask(peer, 42, &m, a))
		return -1;
	if (a->id != 42)
		return -2;
	return a->opcode == KS_OP_ERROR ? a->payload[0] : a->opcode == KS_OP_RESPONSE ? 0 : -3;
}

static int verify(EVP_PKEY *k, int pad, const EVP_MD *md, const uint8_t *dig, size_t dlen,
		  const uint8_t *sig, size_t slen)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	int ok = c && EVP_PKEY_verify_init(c) == 1 &&
		 (!pad || EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1) &&
		 (!md || EVP_PKEY_CTX_set_signature_md(c, md) == 1) &&
		 (pad != RSA_PKCS1_PSS_PADDING ||
		  EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) == 1) &&
		 EVP_PKEY_verify(c, sig, slen, dig, dlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

static void test_rsa_sign(void)
{
	static const struct { uint8_t op; const char *md; size_t len; } t[] = {
		{ KS_OP_RSA_SIGN_MD5SHA1, NULL, 36 }, { KS_OP_RSA_SIGN_SHA1, "SHA1", 20 },
		{ KS_OP_RSA_SIGN_SHA224, "SHA224", 28 }, { KS_OP_RSA_SIGN_SHA256, "SHA256", 32 },
		{ KS_OP_RSA_SIGN_SHA384, "SHA384", 48 }, { KS_OP_RSA_SIGN_SHA512, "SHA512", 64 },
	};
	uint8_t dig[65];
	struct answer a;

	RAND_bytes(dig, sizeof dig);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const EVP_MD *md = t[i].md ? EVP_get_digestbyname(t[i].md) : NULL;
		is_int(op(&edge, rsa2048, t[i].op, dig, t[i].len, &a), 0, "%s answered",
		       ks_opinfo(t[i].op)->name);
		ok(a.len == 256 && verify(rsa2048, RSA_PKCS1_PADDING, md, dig, t[i].len, a.payload,
					  a.len), "%s verifies (PKCS#1 v1.5)", ks_opinfo(t[i].op)->name);
		is_int(op(&edge, rsa2048, t[i].op, dig, t[i].len + 1, &a), KS_ERR_FORMAT,
		       "%s with a digest one byte long: format error", ks_opinfo(t[i].op)->name);
	}
}

static void test_rsa_pss(void)
{
	static const struct { uint8_t op; const char *md; size_t len; } t[] = {
		{ KS_OP_RSA_PSS_SIGN_SHA256, "SHA256", 32 },
		{ KS_OP_RSA_PSS_SIGN_SHA384, "SHA384", 48 },
		{ KS_OP_RSA_PSS_SIGN_SHA512, "SHA512", 64 },
	};
	uint8_t dig[64];
	struct answer a;

	RAND_bytes(dig, sizeof dig);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const EVP_MD *md = EVP_get_digestbyname(t[i].md);
		is_int(op(&edge, rsa2048, t[i].op, dig, t[i].len, &a), 0, "%s answered",
		       ks_opinfo(t[i].op)->name);
		ok(verify(rsa2048, RSA_PKCS1_PSS_PADDING, md, dig, t[i].len, a.payload, a.len),
		   "%s verifies with salt length = hash length", ks_opinfo(t[i].op)->name);
	}
	is_int(op(&edge, rsa2048, KS_OP_RSA_PSS_SIGN_SHA256, dig, 20, &a), KS_ERR_FORMAT,
	       "PSS with a 20-byte digest: format error");
}

static void test_ecdsa(void)
{
	static const uint8_t ops[] = { KS_OP_ECDSA_SIGN_MD5SHA1, KS_OP_ECDSA_SIGN_SHA1,
				       KS_OP_ECDSA_SIGN_SHA224, KS_OP_ECDSA_SIGN_SHA256,
				       KS_OP_ECDSA_SIGN_SHA384, KS_OP_ECDSA_SIGN_SHA512 };
	EVP_PKEY *keys[] = { p256, p384, p521 };
	const char *names[] = { "P-256", "P-384", "P-521" };
	uint8_t dig[64];
	struct answer a;

	RAND_bytes(dig, sizeof dig);
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < sizeof ops; i++) {
			size_t len = ks_hash_len(ks_opinfo(ops[i])->hash);
			int rc = op(&edge, keys[k], ops[i], dig, len, &a);
			ok(rc == 0 && a.payload[0] == 0x30 &&
			   verify(keys[k], 0, NULL, dig, len, a.payload, a.len),
			   "%s %s: DER signature verifies", names[k], ks_opinfo(ops[i])->name);
		}
	is_int(op(&edge, p256, KS_OP_ECDSA_SIGN_SHA256, dig, 31, &a), KS_ERR_FORMAT,
	       "ECDSA with a 31-byte SHA-256 digest: format error");
	is_int(op(&edge, p256, KS_OP_RSA_SIGN_SHA256, dig, 32, &a), KS_ERR_CRYPTO,
	       "an RSA opcode on an EC key: crypto error");
	is_int(op(&edge, rsa2048, KS_OP_ECDSA_SIGN_SHA256, dig, 32, &a), KS_ERR_CRYPTO,
	       "an ECDSA opcode on an RSA key: crypto error");
}

static void test_ed25519(void)
{
	const char *msg = "the whole TLS 1.3 CertificateVerify content, not a digest";
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	struct answer a;
	int good;

	is_int(op(&edge, ed, KS_OP_ED25519_SIGN, (const uint8_t *)msg, strlen(msg), &a), 0,
	       "Ed25519 answered");
	good = a.len == 64 && EVP_DigestVerifyInit(m, NULL, NULL, NULL, ed) == 1 &&
	       EVP_DigestVerify(m, a.payload, a.len, (const uint8_t *)msg, strlen(msg)) == 1;
	ok(good, "Ed25519 signature of the message verifies");
	EVP_MD_CTX_free(m);
	is_int(op(&edge, ed, KS_OP_ECDSA_SIGN_SHA256, (const uint8_t *)msg, 32, &a), KS_ERR_CRYPTO,
	       "ECDSA opcode on an Ed25519 key: crypto error");
	is_int(op(&edge, p256, KS_OP_ED25519_SIGN, (const uint8_t *)msg, 10, &a), KS_ERR_CRYPTO,
	       "Ed25519 opcode on a P-256 key: crypto error");
}

static int rsa_encrypt(EVP_PKEY *k, const uint8_t *m, size_t mlen, uint8_t *c, size_t *clen)
{
	EVP_PKEY_CTX *x = EVP_PKEY_CTX_new(k, NULL);
	int ok = x && EVP_PKEY_encrypt_init(x) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(x, RSA_PKCS1_PADDING) == 1 &&
		 EVP_PKEY_encrypt(x, c, clen, m, mlen) == 1;
	EVP_PKEY_CTX_free(x);
	return ok ? 0 : -1;
}

static void test_decrypt(void)
{
	uint8_t pms[48], c[256], c2[256], raw[257];
	size_t clen = sizeof c;
	struct answer a, b;

	RAND_bytes(pms, sizeof pms);
	pms[0] = 3, pms[1] = 3;
	rsa_encrypt(rsa2048, pms, sizeof pms, c, &clen);
	is_int(op(&other, rsa2048, KS_OP_RSA_DECRYPT, c, clen, &a), KS_ERR_KEY_NOT_FOUND,
	       "decrypt by a client without the permission: refused (key not found)");
	is_int(a.res.err, CDNI_EDENIED, "and the core says why: denied by policy");
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT, c, clen, &a), 0,
	       "decrypt by the client allowed to");
	is_mem(a.payload, a.len, pms, sizeof pms, "gives the 48-byte premaster secret back");
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT_RAW, c, clen, &a), KS_ERR_KEY_NOT_FOUND,
	       "raw decrypt needs its own permission");
	is_int(op(&other, p256, KS_OP_RSA_DECRYPT, c, clen, &a), KS_ERR_KEY_NOT_FOUND,
	       "decrypt of another key: refused");
	memcpy(c2, c, clen);
	c2[clen - 1] ^= 1;
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT, c2, clen, &a), 0,
	       "a ciphertext with bad padding is answered like a good one (no error)");
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT, c2, clen, &b), 0, "again");
	ok(a.len <= 256 - 11 && a.len == b.len && !memcmp(a.payload, b.payload, a.len),
	   "with the same synthetic message each time (%zu bytes)", a.len);
	ok(a.len != 48 || memcmp(a.payload, pms, 48), "which is not the secret");
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT, c, clen - 1, &a), 0,
	       "a ciphertext one byte short is left-padded, not refused");
	memset(raw, 0xff, sizeof raw);
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT, raw, 256, &a), KS_ERR_CRYPTO,
	       "a ciphertext above the modulus: crypto error (public knowledge)");
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT, raw, 257, &a), KS_ERR_FORMAT,
	       "a ciphertext longer than the modulus: format error");
	is_int(op(&edge, rsa2048, KS_OP_RSA_DECRYPT, raw, 0, &a), KS_ERR_FORMAT,
	       "an empty ciphertext: format error");
	is_int(op(&edge, p256, KS_OP_RSA_DECRYPT, c, clen, &a), KS_ERR_CRYPTO,
	       "RSA decrypt on an EC key: crypto error");
}

static void test_decrypt_kat(void)
{
	uint8_t ct[128], pt[256], m[100];
	size_t clen = sizeof ct;
	struct answer a;

	for (int i = 0; i < 2; i++) {
		size_t n = unhex(kat_ct[i], ct), plen = unhex(kat_pt[i], pt);
		is_int(op(&edge, rsa1024, KS_OP_RSA_DECRYPT, ct, n, &a), 0, "KAT %d answered", i + 1);
		is_mem(a.payload, a.len, pt, plen,
		       "KAT %d: synthetic message equals OpenSSL 4.0's implicit rejection", i + 1);
	}
	RAND_bytes(m, sizeof m);
	rsa_encrypt(rsa1024, m, 100, ct, &clen);
	is_int(op(&edge, rsa1024, KS_OP_RSA_DECRYPT, ct, clen, &a), 0, "1024-bit good ciphertext");
	is_mem(a.payload, a.len, m, 100, "longest-but-one message comes back");
	is_int(op(&edge, rsa1024, KS_OP_RSA_DECRYPT_RAW, ct, clen, &a), 0, "raw decrypt");
	ok(a.len == 128 && a.payload[0] == 0 && a.payload[1] == 2 && !memcmp(a.payload + 28, m, 100),
	   "raw decrypt returns the whole padded block (00 02 ... 00 message)");
}

static void test_errors(void)
{
	uint8_t ski[20] = { 1, 2, 3 }, req[64];
	struct answer a;
	struct ks_msg m;

	ks_msg_init(&m, KS_OP_RSA_SIGN_SHA256);
	ks_msg_set_ski(&m, ski);
	ks_msg_set_payload(&m, ski, 20);
	ok(!ask(&edge, 7, &m, &a) && a.opcode == KS_OP_ERROR && a.payload[0] == KS_ERR_KEY_NOT_FOUND
	   && a.id == 7, "unknown SKI: key not found, same id");
	ks_msg_init(&m, KS_OP_RSA_SIGN_SHA256);
	ks_msg_set_payload(&m, ski, 20);
	ok(!ask(&edge, 8, &m, &a) && a.payload[0] == KS_ERR_KEY_NOT_FOUND, "no key selector: key not found");
	ks_msg_init(&m, 0x99);
	ok(!ask(&edge, 9, &m, &a) && a.payload[0] == KS_ERR_BAD_OPCODE, "opcode 0x99: bad opcode");
	ks_msg_init(&m, KS_OP_SEAL);
	ok(!ask(&edge, 9, &m, &a) && a.payload[0] == KS_ERR_BAD_OPCODE, "seal: bad opcode");
	ks_msg_init(&m, KS_OP_RPC);
	ok(!ask(&edge, 9, &m, &a) && a.payload[0] == KS_ERR_BAD_OPCODE, "rpc: bad opcode");
	ks_msg_init(&m, KS_OP_RESPONSE);
	ok(!ask(&edge, 10, &m, &a) && a.payload[0] == KS_ERR_UNEXPECTED_OPCODE,
	   "response opcode as a request: unexpected opcode");
	ks_msg_init(&m, KS_OP_PONG);
	ok(!ask(&edge, 10, &m, &a) && a.payload[0] == KS_ERR_UNEXPECTED_OPCODE,
	   "pong as a request: unexpected opcode");
	m.present = 0;
	ok(!ask(&edge, 11, &m, &a) && a.payload[0] == KS_ERR_FORMAT && a.id == 11,
	   "no opcode item (padding only): format error");
	ks_msg_init(&m, KS_OP_PING);
	ks_msg_set_payload(&m, "hello", 5);
	ok(!ask(&edge, 12, &m, &a) && a.opcode == KS_OP_PONG && a.len == 5 &&
	   !memcmp(a.payload, "hello", 5), "ping: pong with the payload echoed");
	/* hand-made frames */
	memcpy(req, "\x02\x00\x00\x04\x00\x00\x00\x0d\x11\x00\x01\xf1", 12);
	{
		struct buf out;
		struct ks_result res;
		buf_init(&out, 0);
		ks_core_handle(core, &edge, req, 12, &out, &res);
		ok(out.len == 1024 && (uint8_t)out.data[15] == KS_ERR_VERSION_MISMATCH && res.close &&
		   (uint8_t)out.data[7] == 13, "major version 2: version mismatch, close after");
		out.len = 0;
		memcpy(req, "\x01\x00\x00\x07\x00\x00\x00\x0e\x11\x00\x01\x05\x12\x00\x09", 15);
		ks_core_handle(core, &edge, req, 15, &out, &res);
		ok((uint8_t)out.data[15] == KS_ERR_FORMAT && !res.close,
		   "an item overrunning the body: format error, connection kept");
		out.len = 0;
		memcpy(req, "\x01\x00\x00\x08\x00\x00\x00\x0f\x11\x00\x01\x05\x11\x00\x01\x05", 16);
		ks_core_handle(core, &edge, req, 16, &out, &res);
		ok((uint8_t)out.data[15] == KS_ERR_FORMAT && (uint8_t)out.data[7] == 15,
		   "a duplicated opcode: format error");
		buf_free(&out);
	}
}

static void test_digest_lookup(void)
{
	uint8_t dig[32], d[32];
	BIGNUM *bn = NULL;
	char *hex;
	struct answer a;
	struct ks_msg m;

	EVP_PKEY_get_bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_N, &bn);
	hex = BN_bn2hex(bn);
	EVP_Digest(hex, strlen(hex), d, NULL, EVP_sha256(), NULL);
	ok(!ks_pkey_digest(rsa2048, dig) && !memcmp(d, dig, 32),
	   "legacy digest is SHA-256 of the upper-case hex modulus");
	OPENSSL_free(hex);
	BN_free(bn);
	is_int(ks_pkey_digest(p256, dig), CDNI_EINVAL, "EC keys have no legacy digest");
	ks_msg_init(&m, KS_OP_RSA_SIGN_SHA256);
	ks_msg_set_digest(&m, d);
	ks_msg_set_payload(&m, d, 32);
	ok(!ask(&edge, 3, &m, &a) && a.opcode == KS_OP_RESPONSE &&
	   verify(rsa2048, RSA_PKCS1_PADDING, EVP_sha256(), d, 32, a.payload, a.len),
	   "a request naming the key by digest is signed by that key");
	ok(a.res.have_ski, "the audit record still gets the key's SKI");
}

/* The SKI of a certificate made with subjectKeyIdentifier=hash, for every
 * key type (the server computes it without OpenSSL's encoders). */
static int ski_matches_openssl(EVP_PKEY *k)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *sk;
	uint8_t ski[20];
	int good;

	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	sk = X509_get_ext_d2i(x, NID_subject_key_identifier, NULL, NULL);
	good = sk && !ks_pkey_ski(k, ski) && sk->length == 20 && !memcmp(sk->data, ski, 20);
	ASN1_OCTET_STRING_free(sk);
	X509_EXTENSION_free(ext);
	X509_free(x);
	return good;
}

static void test_ski_matches_openssl(void)
{
	EVP_PKEY *all[] = { rsa1024, rsa2048, p256, p384, p521, ed };
	const char *names[] = { "RSA-1024", "RSA-2048", "P-256", "P-384", "P-521", "Ed25519" };

	for (int i = 0; i < 6; i++)
		ok(ski_matches_openssl(all[i]),
		   "%s: SKI equals OpenSSL's subjectKeyIdentifier=hash (RFC 5280 method 1)", names[i]);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static char *pem_of(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *copy;
	long n;

	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	copy = strndup(data, (size_t)n);
	BIO_free(b);
	return copy;
}

static void test_keystore_dir(void)
{
	char dir[] = "/tmp/cdni-keys.XXXXXX", err[256], cmd[600];
	char *a = pem_of(p256), *b = pem_of(ed), *c = pem_of(p384);
	struct ks_keystore *ks = NULL, *held;
	uint8_t ski[20];

	ok(mkdtemp(dir) != NULL, "temp dir");
	write_file(dir, "a.key", a);
	write_file(dir, "b.pem", b);
	write_file(dir, "dup.key", a);
	write_file(dir, "cert.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
	write_file(dir, "bad.key", "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n");
	write_file(dir, "notes.txt", a);
	write_file(dir, "c.key", c); /* after bad.key: the reused decoder recovers */
	is_int(ks_keystore_load_dir(dir, &ks, err, sizeof err), 0, "directory loads");
	is_int((long long)ks_keystore_count(ks), 3,
	       "three keys: the duplicate, the bad key, the cert and the .txt are skipped");
	ski_of(ed, ski);
	ok(ks_keystore_by_ski(ks, ski) && !strcmp(ks_keystore_by_ski(ks, ski)->name, "b.pem"),
	   "keys are found by SKI and carry their file name");
	held = ks_keystore_ref(ks);
	ks_core_set_keys(core, ks); /* the core takes the load's reference */
	ok(ks_keystore_by_ski(held, ski) != NULL, "a store still referenced survives a swap");
	ks_keystore_unref(held);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ok(system(cmd) == 0, "cleanup");
	is_int(ks_keystore_load_dir("/nonexistent/dir", &ks, err, sizeof err), CDNI_EIO,
	       "a missing directory is an error");
	free(a);
	free(b);
	free(c);
}

static void test_many_keys(void)
{
	struct ks_keystore *ks = ks_keystore_new();
	int good = 1;

	for (int i = 0; i < 300 && good; i++) {
		EVP_PKEY *k = EVP_EC_gen("P-256");
		good = k && ks_keystore_add(ks, k, "k") == 0;
	}
	for (size_t i = 0; good && i < ks_keystore_count(ks); i++)
		good = ks_keystore_by_ski(ks, ks_keystore_at(ks, i)->ski) == ks_keystore_at(ks, i);
	ok(good, "300 keys: every one is found by its SKI (index growth)");
	EVP_PKEY_up_ref(p256);
	is_int(ks_keystore_add(ks, p256, "x"), 0, "another key");
	EVP_PKEY_up_ref(p256);
	is_int(ks_keystore_add(ks, p256, "y"), CDNI_EEXIST, "the same key twice: refused");
	EVP_PKEY_free(p256);
	ks_keystore_unref(ks);
}

static void setup(void)
{
	static const char *rules =
		"[{\"client_cn\":\"dcdn-edge\",\"keys\":[\"*\"],"
		"  \"ops\":[\"sign\",\"rsa-decrypt\"]},"
		" {\"client_cn\":\"dcdn-edge\",\"keys\":[\"kat\"],\"ops\":[\"rsa-raw-decrypt\"]},"
		" {\"client_cn\":\"dcdn2-edge\",\"keys\":[\"rsa\"],\"ops\":[\"sign\"]}]";
	static const struct conf_item tab[] = {
		CONF_LIST("rules", struct conf_list, v, ks_policy_rule_table,
			  struct ks_policy_rule_conf, 0, ""),
		CONF_END
	};
	struct { struct conf_list rules; } c = { { 0 } };
	char text[1024], err[256];
	struct ks_keystore *ks = ks_keystore_new();
	struct ks_policy_hook hook;

	snprintf(text, sizeof text, "{\"rules\":%s}", rules);
	if (conf_load_string(tab, &c, text, "test", err, sizeof err) ||
	    ks_policy_new(c.rules.v, c.rules.n, "rules", &policy, err, sizeof err))
		diag("policy: %s", err);
	conf_free(tab, &c);
	hook = ks_policy_hook_of(policy);
	core = ks_core_new(&hook, 0);
	rsa1024 = load_pem(kat_key);
	rsa2048 = EVP_RSA_gen(2048);
	p256 = EVP_EC_gen("P-256");
	p384 = EVP_EC_gen("P-384");
	p521 = EVP_EC_gen("P-521");
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *all[] = { rsa1024, rsa2048, p256, p384, p521, ed };
	const char *names[] = { "kat", "rsa", "p256", "p384", "p521", "ed" };
	for (int i = 0; i < 6; i++) {
		EVP_PKEY_up_ref(all[i]);
		if (ks_keystore_add(ks, all[i], names[i]))
			diag("cannot add key %s", names[i]);
	}
	ks_core_set_keys(core, ks);
}

int main(void)
{
	log_init("test_core", LOG_ERR);
	setup();
	test_rsa_sign();
	test_rsa_pss();
	test_ecdsa();
	test_ed25519();
	test_decrypt();
	test_decrypt_kat();
	test_errors();
	test_digest_lookup();
	test_ski_matches_openssl();
	test_many_keys();
	test_keystore_dir();
	ks_core_free(core);
	ks_policy_free(policy);
	EVP_PKEY *all[] = { rsa1024, rsa2048, p256, p384, p521, ed };
	for (int i = 0; i < 6; i++)
		EVP_PKEY_free(all[i]);
	return done_testing();
}
