/* Unit tests: TLSA data (against OpenSSL's digests), keys (owner, flags,
 * key tag, files), zone signing (verified with ldns, NSEC and NSEC3 chains),
 * online RRset signing, trust anchors. The certificates come from the test
 * PKI ($CDNI_PKI, made by `make pki`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/err.h"
#include "common/tap.h"
#include "common/tls.h"
#include "dane/dane.h"

static char dir[256];

static const char *pki(const char *name)
{
	static char path[512];
	const char *p = getenv("CDNI_PKI");

	snprintf(path, sizeof path, "%s/%s", p ? p : "build/pki", name);
	return path;
}

static X509 *cert(const char *name)
{
	char err[256];

	return tls_load_cert(pki(name), err, sizeof err);
}

static void test_tlsa(void)
{
	X509 *c = cert("dcdn-ec.pem");
	uint8_t out[16384], want[64];
	unsigned char *der = NULL;
	unsigned int wl = 0;
	size_t len = 0;
	char err[256], owner[300];
	ldns_rr *rr = NULL;

	if (!c) {
		ok(0, "the test PKI is there (make pki)");
		return;
	}
	ok(dane_tlsa_data(c, 1, 1, out, sizeof out, &len) == 0 && len == 32, "1 1: 32 bytes");
	tls_spki_sha256(c, want);
	is_mem(out, len, want, 32, "  the SHA-256 of the SPKI (common/tls)");
	int dl = i2d_X509(c, &der);
	EVP_Digest(der, (size_t)dl, want, &wl, EVP_sha512(), NULL);
	ok(dane_tlsa_data(c, 0, 2, out, sizeof out, &len) == 0 && len == 64, "0 2: 64 bytes");
	is_mem(out, len, want, 64, "  the SHA-512 of the certificate");
	ok(dane_tlsa_data(c, 0, 0, out, sizeof out, &len) == 0, "0 0: the certificate itself");
	is_mem(out, len, der, (size_t)dl, "  its DER");
	ok(dane_tlsa_data(c, 0, 0, out, 10, &len) == CDNI_EOVERFLOW, "0 0 into 10 bytes: overflow");
	ok(dane_tlsa_data(c, 2, 1, out, sizeof out, &len) == CDNI_EINVAL, "selector 2: refused");
	ok(dane_tlsa_data(c, 1, 3, out, sizeof out, &len) == CDNI_EINVAL, "mtype 3: refused");
	OPENSSL_free(der);
	ok(dane_tlsa_owner("www.csp.test", 443, owner, sizeof owner) == 0, "owner");
	is_str(owner, "_443._tcp.www.csp.test.", "  _443._tcp.www.csp.test.");
	ok(dane_tlsa_owner("www.csp.test", 0, owner, sizeof owner) == CDNI_EINVAL, "port 0: refused");
	ok(dane_tlsa_rr(pki("dcdn-ec.pem"), 3, 1, 1, "www.csp.test", 8443, 300, &rr, err, sizeof err) == 0, "a TLSA RR");
	char *text = rr ? dane_tlsa_text(rr) : NULL;
	char hex[65];
	tls_spki_sha256(c, want);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02X", want[i]);
	char expect[100];
	snprintf(expect, sizeof expect, "3 1 1 %s", hex);
	ok(text && strcasecmp(text, expect) == 0, "  3 1 1 and the digest (%s)", text ? text : "?");
	free(text);
	ldns_rr_free(rr);
	ok(dane_tlsa_rr(pki("nope.pem"), 3, 1, 1, "a.test", 443, 300, &rr, err, sizeof err) != 0, "a missing file: refused");
	ok(strstr(err, "nope.pem") != NULL, "  the message names it");
	ok(dane_tlsa_rr(pki("ca.pem"), 4, 1, 1, "a.test", 443, 300, &rr, err, sizeof err) == CDNI_EINVAL, "usage 4: refused");
	X509_free(c);
}

static void test_keys(void)
{
	struct dane_keys k = { 0 }, k2 = { 0 };
	char err[256] = "", path[512];
	ldns_rr *rr;

	is_int(dane_alg_parse("ecdsap256sha256"), LDNS_SIGN_ECDSAP256SHA256, "algorithm names, any case");
	is_int(dane_alg_parse("DSA"), CDNI_EINVAL, "DSA is not offered");
	ok(dane_keys_load_or_make("csp.test", dir, LDNS_SIGN_ECDSAP256SHA256, &k, err, sizeof err) == 0,
	   "keys made (%s)", err);
	is_int(ldns_key_flags(k.ksk), 257, "the KSK has flags 257 (SEP)");
	is_int(ldns_key_flags(k.zsk), 256, "the ZSK has flags 256");
	rr = ldns_key2rr(k.ksk);
	ok(rr && ldns_key_keytag(k.ksk) == ldns_calc_keytag(rr), "  the key tag is set (%u)", ldns_key_keytag(k.ksk));
	ok(ldns_key_pubkey_owner(k.ksk) != NULL, "  the owner is set");
	ldns_rr_free(rr);
	snprintf(path, sizeof path, "%s/Kcsp.test.ksk.ds", dir);
	ok(access(path, R_OK) == 0, "a .ds file is written");
	ok(dane_keys_load_or_make("csp.test", dir, LDNS_SIGN_ECDSAP256SHA256, &k2, err, sizeof err) == 0,
	   "the keys load back");
	is_int(ldns_key_keytag(k2.ksk), ldns_key_keytag(k.ksk), "  the same KSK");
	is_int(ldns_key_keytag(k2.zsk), ldns_key_keytag(k.zsk), "  the same ZSK");
	dane_keys_free(&k2);
	ok(dane_keys_load_or_make("csp.test", dir, LDNS_SIGN_ED25519, &k2, err, sizeof err) == CDNI_ECONFIG,
	   "keys of another algorithm than the config's: refused");
	char *ds = dane_keys_ds_text(&k, 3600);
	ok(ds && strstr(ds, "csp.test.\t3600\tIN\tDS\t") && strstr(ds, " 13 2 "), "DS text (SHA-256)");
	free(ds);
	dane_keys_free(&k);
}

static const char zone_text[] =
	"$ORIGIN t.test.\n$TTL 300\n@ IN SOA ns.t.test. a.t.test. 1 3600 600 86400 300\n"
	"@ IN NS ns.t.test.\nns IN A 127.0.0.1\nwww IN A 127.0.0.1\nx.y.deep IN A 127.0.0.2\n";

static ldns_dnssec_zone *zone_new(ldns_zone **z)
{
	FILE *f = fmemopen((void *)(uintptr_t)zone_text, sizeof zone_text - 1, "r");
	ldns_dnssec_zone *dz = ldns_dnssec_zone_new();

	ldns_zone_new_frm_fp(z, f, NULL, 300, LDNS_RR_CLASS_IN);
	fclose(f);
	ldns_dnssec_zone_add_rr(dz, ldns_zone_soa(*z));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(*z)); i++)
		ldns_dnssec_zone_add_rr(dz, ldns_rr_list_rr(ldns_zone_rrs(*z), i));
	return dz;
}

/* Verify every RRset of a signed zone with its DNSKEYs. */
static int verify_all(ldns_dnssec_zone *dz, ldns_rr_list *keys, size_t *nsec3)
{
	int bad = 0;

	*nsec3 = 0;
	for (ldns_rbnode_t *n = ldns_rbtree_first(dz->names); n != LDNS_RBTREE_NULL; n = ldns_rbtree_next(n)) {
		const ldns_dnssec_name *name = n->data;
		for (const ldns_dnssec_rrsets *s = name->rrsets; s; s = s->next) {
			ldns_rr_list *set = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
			for (const ldns_dnssec_rrs *r = s->rrs; r; r = r->next)
				ldns_rr_list_push_rr(set, r->rr);
			for (const ldns_dnssec_rrs *r = s->signatures; r; r = r->next)
				ldns_rr_list_push_rr(sigs, r->rr);
			bad += ldns_verify(set, sigs, keys, NULL) != LDNS_STATUS_OK;
			ldns_rr_list_free(set);
			ldns_rr_list_free(sigs);
		}
		if (name->nsec && ldns_rr_get_type(name->nsec) == LDNS_RR_TYPE_NSEC3)
			(*nsec3)++;
	}
	return bad;
}

static void test_sign(void)
{
	struct dane_keys k = { 0 };
	char err[256] = "";
	uint32_t now = (uint32_t)time(NULL);

	dane_keys_load_or_make("t.test", NULL, LDNS_SIGN_ECDSAP256SHA256, &k, err, sizeof err);
	for (int d = 0; d < 2; d++) {
		ldns_zone *z = NULL;
		ldns_dnssec_zone *dz = zone_new(&z);
		ldns_rr_list *made = ldns_rr_list_new(), *keys = ldns_rr_list_new();
		size_t n3 = 0;
		ok(dane_zone_sign(dz, &k, d ? DANE_DENIAL_NSEC3 : DANE_DENIAL_NSEC, 3600, now - 60,
				  now + 3600, made, err, sizeof err) == 0, "%s: the zone is signed", d ? "NSEC3" : "NSEC");
		ldns_rr_list_push_rr(keys, ldns_key2rr(k.ksk));
		ldns_rr_list_push_rr(keys, ldns_key2rr(k.zsk));
		is_int(verify_all(dz, keys, &n3), 0, "  every RRset verifies");
		if (d)
			is_int((long long)n3, 6, "  NSEC3 for the 4 names and 2 empty non-terminals");
		ldns_rr_list_deep_free(keys);
		ldns_dnssec_zone_free(dz);
		ldns_rr_list_deep_free(made);
		ldns_zone_deep_free(z);
	}
	ldns_rr *cn = NULL;
	ldns_rr_new_frm_str(&cn, "www.t.test. 30 IN CNAME edge.d.test.", 0, NULL, NULL);
	ldns_rr_list *set = ldns_rr_list_new(), *sigs = NULL, *keys = ldns_rr_list_new();
	ldns_rr_list_push_rr(set, cn);
	ldns_rr_list_push_rr(keys, ldns_key2rr(k.zsk));
	ok(dane_rrset_sign(set, &k, now - 10, now + 100, &sigs) == 0, "an RRset signed online");
	ok(sigs && ldns_verify(set, sigs, keys, NULL) == LDNS_STATUS_OK, "  it verifies with the ZSK");
	ok(sigs && ldns_rdf2native_int32(ldns_rr_rrsig_expiration(ldns_rr_list_rr(sigs, 0))) == now + 100,
	   "  with the expiration asked for");
	ldns_rr_list_deep_free(sigs);
	ok(dane_rrset_sign(set, &k, now - 100, now - 10, &sigs) == 0, "an RRset signed in the past");
	ok(ldns_verify(set, sigs, keys, NULL) == LDNS_STATUS_CRYPTO_SIG_EXPIRED, "  ldns says it expired");
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(keys);
	dane_keys_free(&k);
}

static void test_anchors(void)
{
	char path[512], err[256] = "";
	ldns_rr_list *l = NULL;
	FILE *f;

	snprintf(path, sizeof path, "%s/a.ds", dir);
	f = fopen(path, "w");
	fputs("; comment\n\ncsp.test. 3600 IN DS 1234 13 2 0011223344556677889900112233445566778899001122334455667788990011\n"
	      "csp.test. 3600 IN A 127.0.0.1\n", f);
	fclose(f);
	ok(dane_anchors_load(path, &l, err, sizeof err) == 0 && ldns_rr_list_rr_count(l) == 1,
	   "anchors: the DS is kept, the rest skipped");
	ldns_rr_list_deep_free(l);
	f = fopen(path, "w");
	fputs("csp.test. IN DS nonsense\n", f);
	fclose(f);
	ok(dane_anchors_load(path, &l, err, sizeof err) == CDNI_EPARSE, "a broken anchor line: refused");
	ok(strstr(err, ":1:") != NULL, "  the message has the line number (%s)", err);
	f = fopen(path, "w");
	fclose(f);
	ok(dane_anchors_load(path, &l, err, sizeof err) == CDNI_EINVAL, "no anchor at all: refused");
	ok(dane_anchors_load("/nonexistent", &l, err, sizeof err) == CDNI_EIO, "a missing file: refused");
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/cdni-dane-unit.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_tlsa();
	test_keys();
	test_sign();
	test_anchors();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
