/* cdni-dcdn — keyless TLS: which key-server operation a GnuTLS signing
 * request becomes. Socket-free and GnuTLS-free (the algorithm numbers are
 * passed as ints) so a unit test can check every case.
 *
 * GnuTLS 3.7 calls an external key's sign_hash callback with:
 *  - GNUTLS_SIGN_RSA_RAW and a DER DigestInfo (TLS 1.2 RSA PKCS#1 v1.5), or
 *    the 36 bytes MD5||SHA-1 of TLS 1.0/1.1: the DigestInfo is taken apart
 *    here, because the key server adds it back itself (gokeyless's
 *    RSA-SIGN-SHAxxx operations take the bare digest);
 *  - an RSA-PSS or ECDSA algorithm and the bare digest;
 * and its sign_data callback with Ed25519 and the whole message. */
#ifndef CDNI_DCDN_KLMAP_H
#define CDNI_DCDN_KLMAP_H

#include <stddef.h>
#include <stdint.h>

/* A signing request mapped: the opcode and the bytes to send. */
struct kl_sign {
	uint8_t opcode;
	const uint8_t *in; /* points into the caller's input */
	size_t len;
};

/* algo is a gnutls_sign_algorithm_t; data what GnuTLS passed. Returns 0, or
 * CDNI_EINVAL for an algorithm, a DigestInfo or a digest length that no
 * key-server operation matches. */
int kl_sign_map(int algo, const uint8_t *data, size_t len, struct kl_sign *out);

/* Whether a key of pk algorithm pk (gnutls_pk_algorithm_t) can make
 * signatures of algorithm algo through the key server. */
int kl_sign_supported(int pk, int algo);

#endif
