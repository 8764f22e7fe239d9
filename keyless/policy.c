/* cdni keyless — per-client policy rules. */
#include "keyless/policy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

const struct conf_item ks_policy_rule_table[] = {
	CONF_STR("client_cn", struct ks_policy_rule_conf, client_cn, NULL, 0,
		 "client certificate subject CN this rule applies to (\"*\": any client)"),
	CONF_STR("client_spki_sha256", struct ks_policy_rule_conf, client_spki_sha256, NULL, 0,
		 "or: SHA-256 (hex) of the client certificate's SubjectPublicKeyInfo"),
	CONF_STRS("keys", struct ks_policy_rule_conf, keys, CONF_REQUIRED,
		  "keys: \"*\", \"ski:HEX\" (or 40 hex digits), or a key file name"),
	CONF_STRS("ops", struct ks_policy_rule_conf, ops, 0,
		  "operations: sign, rsa-sign, rsa-pss-sign, ecdsa-sign, ed25519-sign, "
		  "rsa-decrypt, rsa-raw-decrypt (default [\"sign\"])"),
	CONF_END
};

struct key_pat {
	int any;
	int by_ski;
	uint8_t ski[KS_SKI_LEN];
	char *name;
};

struct rule {
	char *cn; /* NULL when matched by SPKI */
	int any_client;
	uint8_t spki[32];
	struct key_pat *keys;
	size_t nkeys;
	unsigned perms;
};

struct ks_policy {
	struct rule *rules;
	size_t n;
};

static const struct {
	const char *name;
	unsigned perm;
} perm_names[] = {
	{ "sign", KS_PERM_SIGN },
	{ "rsa-sign", KS_PERM_RSA_SIGN },
	{ "rsa-pss-sign", KS_PERM_PSS_SIGN },
	{ "ecdsa-sign", KS_PERM_ECDSA_SIGN },
	{ "ed25519-sign", KS_PERM_ED25519_SIGN },
	{ "rsa-decrypt", KS_PERM_DECRYPT },
	{ "rsa-raw-decrypt", KS_PERM_RAW_DECRYPT },
};

unsigned ks_perm_parse(const char *name)
{
	for (size_t i = 0; i < sizeof perm_names / sizeof perm_names[0]; i++)
		if (strcmp(perm_names[i].name, name) == 0)
			return perm_names[i].perm;
	return 0;
}

unsigned ks_perm_of(const struct ks_opinfo *oi)
{
	switch (oi->kind) {
	case KS_KIND_RSA_PKCS1: return KS_PERM_RSA_SIGN;
	case KS_KIND_RSA_PSS: return KS_PERM_PSS_SIGN;
	case KS_KIND_ECDSA: return KS_PERM_ECDSA_SIGN;
	case KS_KIND_ED25519: return KS_PERM_ED25519_SIGN;
	case KS_KIND_RSA_DECRYPT: return KS_PERM_DECRYPT;
	case KS_KIND_RSA_RAW: return KS_PERM_RAW_DECRYPT;
	default: return 0;
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode exactly n bytes of hex (2n digits, nothing else). */
static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return CDNI_EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return CDNI_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int compile_key(struct key_pat *kp, const char *s, const char *path, size_t i,
		       char *err, size_t errlen)
{
	const char *hex = strncmp(s, "ski:", 4) == 0 ? s + 4 : s;

	if (strcmp(s, "*") == 0) {
		kp->any = 1;
		return 0;
	}
	if (hex_decode(hex, kp->ski, KS_SKI_LEN) == 0) {
		kp->by_ski = 1;
		return 0;
	}
	if (hex != s || !*s || strchr(s, '/')) {
		snprintf(err, errlen, "%s.keys[%zu]: '%s' is not \"*\", an SKI (40 hex digits) "
			 "or a file name", path, i, s);
		return CDNI_ECONFIG;
	}
	kp->name = strdup(s);
	return kp->name ? 0 : CDNI_ENOMEM;
}

static int compile_client(struct rule *r, const struct ks_policy_rule_conf *c,
			  const char *path, char *err, size_t errlen)
{
	if (!c->client_cn == !c->client_spki_sha256) {
		snprintf(err, errlen, "%s: needs exactly one of client_cn and client_spki_sha256",
			 path);
		return CDNI_ECONFIG;
	}
	if (c->client_cn) {
		r->any_client = strcmp(c->client_cn, "*") == 0;
		r->cn = strdup(c->client_cn);
		return r->cn ? 0 : CDNI_ENOMEM;
	}
	if (hex_decode(c->client_spki_sha256, r->spki, sizeof r->spki)) {
		snprintf(err, errlen, "%s.client_spki_sha256: must be 64 hex digits", path);
		return CDNI_ECONFIG;
	}
	return 0;
}

static int compile_ops(struct rule *r, const struct conf_strlist *ops, const char *path,
		       char *err, size_t errlen)
{
	if (!ops->n) {
		r->perms = KS_PERM_SIGN;
		return 0;
	}
	for (size_t i = 0; i < ops->n; i++) {
		unsigned p = ks_perm_parse(ops->v[i]);
		if (!p) {
			snprintf(err, errlen, "%s.ops[%zu]: unknown operation '%s' (sign, rsa-sign, "
				 "rsa-pss-sign, ecdsa-sign, ed25519-sign, rsa-decrypt, "
				 "rsa-raw-decrypt)", path, i, ops->v[i]);
			return CDNI_ECONFIG;
		}
		r->perms |= p;
	}
	return 0;
}

static int compile_rule(struct rule *r, const struct ks_policy_rule_conf *c, const char *path,
			char *err, size_t errlen)
{
	int rc;

	if ((rc = compile_client(r, c, path, err, errlen)) ||
	    (rc = compile_ops(r, &c->ops, path, err, errlen)))
		return rc;
	if (!c->keys.n) {
		snprintf(err, errlen, "%s.keys: must name at least one key (or \"*\")", path);
		return CDNI_ECONFIG;
	}
	r->keys = calloc(c->keys.n, sizeof *r->keys);
	if (!r->keys)
		return CDNI_ENOMEM;
	r->nkeys = c->keys.n;
	for (size_t i = 0; i < c->keys.n; i++)
		if ((rc = compile_key(&r->keys[i], c->keys.v[i], path, i, err, errlen)))
			return rc;
	return 0;
}

void ks_policy_free(struct ks_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		for (size_t j = 0; j < p->rules[i].nkeys; j++)
			free(p->rules[i].keys[j].name);
		free(p->rules[i].keys);
		free(p->rules[i].cn);
	}
	free(p->rules);
	free(p);
}

int ks_policy_new(const struct ks_policy_rule_conf *rules, size_t n, const char *path,
		  struct ks_policy **out, char *err, size_t errlen)
{
	struct ks_policy *p = calloc(1, sizeof *p);
	char where[128];
	int rc = CDNI_ENOMEM;

	if (!p || (n && !(p->rules = calloc(n, sizeof *p->rules))))
		goto fail;
	for (p->n = 0; p->n < n; p->n++) {
		snprintf(where, sizeof where, "%s[%zu]", path, p->n);
		if ((rc = compile_rule(&p->rules[p->n], &rules[p->n], where, err, errlen))) {
			p->n++; /* free the partly compiled rule too */
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	if (rc == CDNI_ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	ks_policy_free(p);
	return rc;
}

static bool client_matches(const struct rule *r, const struct ks_peer *peer)
{
	if (r->cn)
		return r->any_client || strcmp(r->cn, peer->cn) == 0;
	return memcmp(r->spki, peer->spki, sizeof r->spki) == 0;
}

static bool key_matches(const struct rule *r, const uint8_t *ski, const char *key_name)
{
	for (size_t i = 0; i < r->nkeys; i++) {
		const struct key_pat *kp = &r->keys[i];
		if (kp->any || (kp->by_ski && ski && memcmp(kp->ski, ski, KS_SKI_LEN) == 0) ||
		    (kp->name && key_name && strcmp(kp->name, key_name) == 0))
			return true;
	}
	return false;
}

int ks_policy_check(void *policy, const struct ks_peer *peer, const uint8_t *ski,
		    const char *key_name, unsigned perm)
{
	const struct ks_policy *p = policy;
	bool visible = false;

	if (!p || !p->n) /* no rules: every client signs, nobody decrypts */
		return perm & ~KS_PERM_SIGN ? CDNI_EDENIED : 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		if (!client_matches(r, peer) || !key_matches(r, ski, key_name))
			continue;
		visible = true;
		if (!perm || (r->perms & perm) == perm)
			return 0;
	}
	return visible ? CDNI_EDENIED : CDNI_ENOTFOUND;
}
