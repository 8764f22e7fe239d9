/* cdni keyless — per-client policy: which keys a client may use, and for
 * which operations.
 *
 * The core asks a policy hook for every keyed operation, with the client's
 * identity (from its TLS certificate), the key (SKI, and file name for local
 * keys) and the operation's permission bit. The answer is 0 (allowed),
 * CDNI_ENOTFOUND (the key is not visible to this client) or CDNI_EDENIED
 * (visible, but not for this operation). Both reach the wire as "key not
 * found", so a client cannot probe for keys it may not use; the audit log
 * tells them apart.
 *
 * The config-driven policy (struct ks_policy) is a list of rules:
 *   {"client_cn": "dcdn-edge", "keys": ["csp-rsa.key", "ski:0123..."], "ops": ["sign"]}
 *   {"client_spki_sha256": "ab..", "keys": ["*"], "ops": ["sign", "rsa-decrypt"]}
 * An empty list lets every authenticated client sign with every key.
 * RSA decryption is never allowed unless a rule names "rsa-decrypt" or
 * "rsa-raw-decrypt": it turns the key server into a decryption oracle for
 * whoever may call it (Stebila–Sullivan), while a signing key server only
 * signs handshakes of the (EC)DHE kind. */
#ifndef CDNI_KEYLESS_POLICY_H
#define CDNI_KEYLESS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "keyless/proto.h"

/* The client, as its certificate names it. */
struct ks_peer {
	char cn[256];        /* subject CN, "" if none */
	uint8_t spki[32];    /* SHA-256 of its SubjectPublicKeyInfo */
	char addr[64];       /* "ip:port", for logs */
};

enum ks_perm {
	KS_PERM_RSA_SIGN = 1u << 0,
	KS_PERM_PSS_SIGN = 1u << 1,
	KS_PERM_ECDSA_SIGN = 1u << 2,
	KS_PERM_ED25519_SIGN = 1u << 3,
	KS_PERM_DECRYPT = 1u << 4,     /* 0x01, PKCS#1 v1.5 with implicit rejection */
	KS_PERM_RAW_DECRYPT = 1u << 5, /* 0x08, raw RSA */
	KS_PERM_SIGN = 0xFu,
};

/* The permission an operation needs (0 for ping and non-key operations). */
unsigned ks_perm_of(const struct ks_opinfo *oi);
/* Parse a permission name ("sign", "rsa-decrypt", ...); 0 if unknown. */
unsigned ks_perm_parse(const char *name);

struct ks_policy_hook {
	/* key_name is NULL for keys that live upstream (proxy mode). */
	int (*check)(void *ctx, const struct ks_peer *peer, const uint8_t *ski,
		     const char *key_name, unsigned perm);
	void *ctx;
};

struct ks_policy_rule_conf {
	char *client_cn;          /* exact CN, or "*" for any authenticated client */
	char *client_spki_sha256; /* 64 hex digits */
	struct conf_strlist keys; /* "*", "ski:HEX", 40 hex digits, or a file name */
	struct conf_strlist ops;  /* permission names; default ["sign"] */
};
extern const struct conf_item ks_policy_rule_table[];

struct ks_policy;

/* Compile rules (checked: one client selector, valid hex, known op names);
 * messages name path ("policy[2].ops[0]"). */
int ks_policy_new(const struct ks_policy_rule_conf *rules, size_t n, const char *path,
		  struct ks_policy **out, char *err, size_t errlen);
void ks_policy_free(struct ks_policy *p);
/* The check function of the hook (ctx is the struct ks_policy). */
int ks_policy_check(void *policy, const struct ks_peer *peer, const uint8_t *ski,
		    const char *key_name, unsigned perm);
static inline struct ks_policy_hook ks_policy_hook_of(struct ks_policy *p)
{
	struct ks_policy_hook h = { ks_policy_check, p };
	return h;
}

#endif
