/* cdni keyless — the key store and the private-key operations.
 *
 * A key store is an immutable, reference-counted set of private keys indexed
 * by SKI (RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT
 * STRING contents) and, for RSA, by the legacy digest (SHA-256 of the
 * upper-case hex of the modulus). Reloading builds a new store and swaps it
 * in; requests in flight keep the old one until they release it. Key
 * material is wiped when the last reference goes (OpenSSL clears its own
 * BIGNUMs; the PEM text and derived secrets are cleansed here).
 *
 * The operations take the request's payload as the protocol defines it: a
 * digest for the signing opcodes, the whole message for Ed25519, a
 * ciphertext for decryption. */
#ifndef CDNI_KEYLESS_KEYS_H
#define CDNI_KEYLESS_KEYS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "keyless/proto.h"

enum ks_key_type { KS_KEY_RSA = 1, KS_KEY_EC, KS_KEY_ED25519 };

struct ks_key {
	EVP_PKEY *pkey;
	enum ks_key_type type;
	int bits;
	char *name;                 /* file name (no directory), or a label */
	uint8_t ski[KS_SKI_LEN];
	uint8_t digest[KS_DIGEST_LEN]; /* RSA only */
	size_t modlen;              /* RSA modulus bytes */
	uint8_t ir_secret[32];      /* RSA: SHA-256 of d, for implicit rejection */
	/* prepared operation contexts, reused across requests (keyops.c) */
	pthread_mutex_t pool_lock;
	struct ks_ctx_node *pool;
};

/* A mutex for short critical sections: it spins a little before sleeping. */
static inline void ks_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

/* Free a key's prepared contexts (keys.c calls it when the key goes). */
void ks_key_pool_free(struct ks_key *key);

struct ks_keystore;

/* Load every PEM private key in dir (files ending .key or .pem; files with
 * only certificates are skipped quietly, unreadable keys are logged and
 * skipped). CDNI_EIO with a message when dir cannot be read. */
int ks_keystore_load_dir(const char *dir, struct ks_keystore **out, char *err, size_t errlen);
/* An empty store (tests add keys to it). */
struct ks_keystore *ks_keystore_new(void);
/* Add a key (the store takes the reference on success). CDNI_EEXIST for a
 * second key with the same SKI, CDNI_EUNSUPP for an unsupported key type. */
int ks_keystore_add(struct ks_keystore *ks, EVP_PKEY *pkey, const char *name);
size_t ks_keystore_count(const struct ks_keystore *ks);
const struct ks_key *ks_keystore_at(const struct ks_keystore *ks, size_t i);
const struct ks_key *ks_keystore_by_ski(const struct ks_keystore *ks, const uint8_t *ski);
const struct ks_key *ks_keystore_by_digest(const struct ks_keystore *ks, const uint8_t *digest);
struct ks_keystore *ks_keystore_ref(struct ks_keystore *ks);
void ks_keystore_unref(struct ks_keystore *ks);

/* SKI of a public (or private) key; 0 or CDNI_ETLS. */
int ks_pkey_ski(EVP_PKEY *pkey, uint8_t ski[KS_SKI_LEN]);
/* Legacy digest of an RSA key; CDNI_EINVAL for other keys. */
int ks_pkey_digest(EVP_PKEY *pkey, uint8_t digest[KS_DIGEST_LEN]);

/* Largest result any operation returns (RSA-16384 signature). */
#define KS_RESULT_MAX 2048

/* Perform the operation of opinfo with key on the payload. out must hold
 * KS_RESULT_MAX bytes. Errors: CDNI_EINVAL (payload size wrong for the
 * opcode), CDNI_ETLS (the key cannot do this operation, or the library
 * failed), CDNI_EUNSUPP (not a key operation). */
int ks_key_op(const struct ks_key *key, const struct ks_opinfo *oi, const uint8_t *in,
	      size_t inlen, uint8_t *out, size_t *outlen);

#endif
