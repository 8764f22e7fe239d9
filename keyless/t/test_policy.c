/* keyless/policy: rule checking (messages name the key path), matching by
 * CN, "*" and SPKI, keys by file name, SKI and "*", operation sets,
 * key-not-visible versus operation-denied, the open default, remote keys. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "keyless/policy.h"

struct cfg {
	struct conf_list policy;
};
static const struct conf_item table[] = {
	CONF_LIST("policy", struct cfg, policy, ks_policy_rule_table, struct ks_policy_rule_conf,
		  0, ""),
	CONF_END
};

static char err[512];

/* Compile a policy from JSON; NULL (err set) on failure. */
static struct ks_policy *compile(const char *json)
{
	struct cfg c = { { 0 } };
	struct ks_policy *p = NULL;
	char text[2048];

	err[0] = '\0';
	snprintf(text, sizeof text, "{\"policy\":%s}", json);
	if (conf_load_string(table, &c, text, "t.json", err, sizeof err) == 0)
		ks_policy_new(c.policy.v, c.policy.n, "policy", &p, err, sizeof err);
	conf_free(table, &c);
	return p;
}

static void test_bad_rules(void)
{
	static const struct { const char *json, *want; } bad[] = {
		{ "[{\"keys\":[\"*\"]}]", "policy[0]: needs exactly one of client_cn and client_spki" },
		{ "[{\"client_cn\":\"a\",\"client_spki_sha256\":\"00\",\"keys\":[\"*\"]}]",
		  "policy[0]: needs exactly one" },
		{ "[{\"client_spki_sha256\":\"abc\",\"keys\":[\"*\"]}]",
		  "policy[0].client_spki_sha256: must be 64 hex digits" },
		{ "[{\"client_cn\":\"a\",\"keys\":[\"*\"],\"ops\":[\"sign\",\"decrypt\"]}]",
		  "policy[0].ops[1]: unknown operation 'decrypt'" },
		{ "[{\"client_cn\":\"a\",\"keys\":[]}]", "policy[0].keys: must name at least one key" },
		{ "[{\"client_cn\":\"a\",\"keys\":[\"*\"]},{\"client_cn\":\"b\",\"keys\":[\"../x.key\"]}]",
		  "policy[1].keys[0]: '../x.key' is not" },
		{ "[{\"client_cn\":\"a\",\"keys\":[\"ski:12\"]}]", "policy[0].keys[0]: 'ski:12' is not" },
		{ "[{\"client_cn\":\"a\"}]", "policy[0].keys" },
		{ "[{\"client_cn\":\"a\",\"keys\":[\"*\"],\"opz\":[]}]", "opz" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ks_policy *p = compile(bad[i].json);
		ok(!p && strstr(err, bad[i].want), "refused: %s", bad[i].want);
		if (p || !strstr(err, bad[i].want))
			diag("got: %s", err);
		ks_policy_free(p);
	}
}

static void test_matching(void)
{
	static const uint8_t ski_a[20] = { 0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
					   16, 17, 18, 19 };
	static const uint8_t ski_b[20] = { 0xbb };
	struct ks_peer edge = { .cn = "dcdn-edge" }, edge2 = { .cn = "dcdn2-edge" },
		       anon = { .cn = "someone" };
	char rules[1024];
	struct ks_policy *p;

	memset(edge2.spki, 0x5a, 32);
	snprintf(rules, sizeof rules,
		 "[{\"client_cn\":\"dcdn-edge\",\"keys\":[\"csp-rsa.key\","
		 "\"ski:aa0102030405060708090a0b0c0d0e0f10111213\"],\"ops\":[\"sign\"]},"
		 " {\"client_cn\":\"dcdn-edge\",\"keys\":[\"csp-rsa.key\"],\"ops\":[\"rsa-decrypt\"]},"
		 " {\"client_spki_sha256\":\"%s\",\"keys\":[\"BB00000000000000000000000000000000000000\"]},"
		 " {\"client_cn\":\"*\",\"keys\":[\"public.key\"],\"ops\":[\"ecdsa-sign\"]}]",
		 "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	p = compile(rules);
	ok(p != NULL, "policy compiles");
	if (!p) {
		diag("%s", err);
		return;
	}
	is_int(ks_policy_check(p, &edge, ski_b, "csp-rsa.key", KS_PERM_RSA_SIGN), 0,
	       "CN rule, key by file name, sign");
	is_int(ks_policy_check(p, &edge, ski_a, "other.key", KS_PERM_PSS_SIGN), 0,
	       "CN rule, key by SKI");
	is_int(ks_policy_check(p, &edge, ski_b, "csp-rsa.key", KS_PERM_DECRYPT), 0,
	       "decrypt granted by a second rule for that key");
	is_int(ks_policy_check(p, &edge, ski_a, "other.key", KS_PERM_DECRYPT), CDNI_EDENIED,
	       "decrypt on a key only granted for signing: denied");
	is_int(ks_policy_check(p, &edge, ski_b, "csp-rsa.key", KS_PERM_RAW_DECRYPT), CDNI_EDENIED,
	       "rsa-decrypt does not grant raw decrypt");
	is_int(ks_policy_check(p, &edge, ski_b, "csp-ec.key", KS_PERM_ECDSA_SIGN), CDNI_ENOTFOUND,
	       "a key the client is given no rule for is not visible");
	is_int(ks_policy_check(p, &edge2, ski_b, "x.key", KS_PERM_ED25519_SIGN), 0,
	       "SPKI rule, upper-case SKI, default ops = sign");
	is_int(ks_policy_check(p, &edge2, ski_b, "x.key", KS_PERM_DECRYPT), CDNI_EDENIED,
	       "default ops do not include decrypt");
	is_int(ks_policy_check(p, &edge2, ski_a, "csp-rsa.key", KS_PERM_RSA_SIGN), CDNI_ENOTFOUND,
	       "the CN rule does not apply to another CN");
	is_int(ks_policy_check(p, &anon, ski_b, "public.key", KS_PERM_ECDSA_SIGN), 0,
	       "client_cn \"*\" matches any client");
	is_int(ks_policy_check(p, &anon, ski_b, "public.key", KS_PERM_RSA_SIGN), CDNI_EDENIED,
	       "but only for the operations it names");
	is_int(ks_policy_check(p, &edge, ski_b, NULL, KS_PERM_RSA_SIGN), CDNI_ENOTFOUND,
	       "a remote key (no file name) is matched by SKI only");
	is_int(ks_policy_check(p, &edge, ski_a, NULL, KS_PERM_RSA_SIGN), 0,
	       "a remote key named by SKI is allowed");
	is_int(ks_policy_check(p, &edge, ski_b, "csp-rsa.key", 0), 0,
	       "permission 0 (ping) on a visible key");
	ks_policy_free(p);
}

static void test_open_default(void)
{
	struct ks_policy *p = compile("[]");
	struct ks_peer any = { .cn = "x" };
	uint8_t ski[20] = { 0 };

	ok(p != NULL, "an empty policy compiles");
	is_int(ks_policy_check(p, &any, ski, "k", KS_PERM_SIGN & KS_PERM_RSA_SIGN), 0,
	       "empty policy: any client signs");
	is_int(ks_policy_check(p, &any, ski, "k", KS_PERM_ED25519_SIGN), 0, "with any key type");
	is_int(ks_policy_check(p, &any, ski, "k", KS_PERM_DECRYPT), CDNI_EDENIED,
	       "empty policy: nobody decrypts");
	is_int(ks_policy_check(NULL, &any, ski, "k", KS_PERM_RAW_DECRYPT), CDNI_EDENIED,
	       "no policy at all: nobody decrypts raw");
	ks_policy_free(p);
}

static void test_perm_names(void)
{
	is_int(ks_perm_parse("sign"), KS_PERM_SIGN, "sign = every signing permission");
	is_int(ks_perm_parse("rsa-raw-decrypt"), KS_PERM_RAW_DECRYPT, "rsa-raw-decrypt");
	is_int(ks_perm_parse("everything"), 0, "unknown names are 0");
	is_int(ks_perm_of(ks_opinfo(KS_OP_RSA_SIGN_MD5SHA1)), KS_PERM_RSA_SIGN, "MD5SHA1 is RSA sign");
	is_int(ks_perm_of(ks_opinfo(KS_OP_RSA_PSS_SIGN_SHA256)), KS_PERM_PSS_SIGN, "PSS");
	is_int(ks_perm_of(ks_opinfo(KS_OP_RSA_DECRYPT)), KS_PERM_DECRYPT, "0x01 needs rsa-decrypt");
	is_int(ks_perm_of(ks_opinfo(KS_OP_RSA_DECRYPT_RAW)), KS_PERM_RAW_DECRYPT,
	       "0x08 needs rsa-raw-decrypt");
	is_int(ks_perm_of(ks_opinfo(KS_OP_PING)), 0, "ping needs nothing");
}

int main(void)
{
	test_bad_rules();
	test_matching();
	test_open_default();
	test_perm_names();
	return done_testing();
}
