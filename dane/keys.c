/* cdni — DNSSEC keys: a KSK (flags 257) and a ZSK (flags 256), with owner
 * and key tag set (ldns_key_new_frm_algorithm leaves owner empty, flags 256
 * and key tag 0), kept as ldns private-key files in a directory. */
#include "dane/dane.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/err.h"

static const struct {
	const char *name;
	int alg;
	uint16_t bits;
} algs[] = {
	{ "ECDSAP256SHA256", LDNS_SIGN_ECDSAP256SHA256, 256 },
	{ "ECDSAP384SHA384", LDNS_SIGN_ECDSAP384SHA384, 384 },
	{ "ED25519", LDNS_SIGN_ED25519, 256 },
	{ "RSASHA256", LDNS_SIGN_RSASHA256, 2048 },
};

int dane_alg_parse(const char *name)
{
	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
		if (strcasecmp(name, algs[i].name) == 0)
			return algs[i].alg;
	return CDNI_EINVAL;
}

static uint16_t alg_bits(int alg)
{
	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
		if (algs[i].alg == alg)
			return algs[i].bits;
	return 0;
}

/* Owner, flags, key tag: what ldns does not set. */
static int key_finish(ldns_key *k, const char *zone, bool ksk)
{
	ldns_rdf *owner = ldns_dname_new_frm_str(zone);
	ldns_rr *rr;

	if (!owner)
		return CDNI_EINVAL;
	ldns_dname2canonical(owner);
	ldns_key_set_pubkey_owner(k, owner);
	ldns_key_set_flags(k, ksk ? 257 : 256);
	rr = ldns_key2rr(k);
	if (!rr)
		return CDNI_ENOMEM;
	ldns_key_set_keytag(k, ldns_calc_keytag(rr));
	ldns_rr_free(rr);
	return 0;
}

static int key_path(char *buf, size_t len, const char *dir, const char *zone, const char *kind,
		    const char *ext)
{
	size_t zl = strlen(zone);
	int w = snprintf(buf, len, "%s/K%.*s.%s.%s", dir, (int)(zl && zone[zl - 1] == '.' ? zl - 1 : zl),
			 zone, kind, ext);

	return w > 0 && (size_t)w < len ? 0 : CDNI_EOVERFLOW;
}

static int write_text(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	FILE *f;
	int ok;

	umask(077);
	f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return CDNI_EIO;
	}
	ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || chmod(path, mode) != 0) {
		snprintf(err, errlen, "%s: write failed", path);
		return CDNI_EIO;
	}
	return 0;
}

/* The public files beside a new private key: .key (DNSKEY) and, for a KSK, .ds. */
static int write_public(ldns_key *k, const char *dir, const char *zone, const char *kind,
			char *err, size_t errlen)
{
	char path[4096], *text = NULL;
	ldns_rr *rr = ldns_key2rr(k), *ds = NULL;
	int rc = CDNI_ENOMEM;

	if (!rr || !(text = ldns_rr2str(rr)))
		goto done;
	rc = key_path(path, sizeof path, dir, zone, kind, "key");
	if (rc == 0)
		rc = write_text(path, text, 0644, err, errlen);
	if (rc || strcmp(kind, "ksk") != 0)
		goto done;
	free(text);
	text = NULL;
	rc = CDNI_ENOMEM;
	if (!(ds = ldns_key_rr2ds(rr, LDNS_SHA256)) || !(text = ldns_rr2str(ds)))
		goto done;
	rc = key_path(path, sizeof path, dir, zone, kind, "ds");
	if (rc == 0)
		rc = write_text(path, text, 0644, err, errlen);
done:
	free(text);
	ldns_rr_free(rr);
	ldns_rr_free(ds);
	return rc;
}

static int key_make(const char *zone, const char *dir, int alg, const char *kind, ldns_key **out,
		    char *err, size_t errlen)
{
	ldns_key *k = ldns_key_new_frm_algorithm((ldns_signing_algorithm)alg, alg_bits(alg));
	char path[4096], *text = NULL;
	int rc;

	if (!k) {
		snprintf(err, errlen, "%s: cannot generate a %s", zone, kind);
		return CDNI_ETLS;
	}
	rc = key_finish(k, zone, strcmp(kind, "ksk") == 0);
	if (rc == 0 && dir) {
		rc = CDNI_ENOMEM;
		if ((text = ldns_key2str(k)) && key_path(path, sizeof path, dir, zone, kind, "private") == 0)
			rc = write_text(path, text, 0600, err, errlen);
		if (text)
			OPENSSL_cleanse(text, strlen(text));
		free(text);
		if (rc == 0)
			rc = write_public(k, dir, zone, kind, err, errlen);
	}
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot make a %s: %s", zone, kind, cdni_strerror(rc));
		ldns_key_deep_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* Load KZONE.KIND.private; CDNI_ENOTFOUND when absent. */
static int key_load(const char *zone, const char *dir, int alg, const char *kind, ldns_key **out,
		    char *err, size_t errlen)
{
	char path[4096];
	ldns_key *k = NULL;
	ldns_status st;
	FILE *f;
	int rc;

	if (key_path(path, sizeof path, dir, zone, kind, "private"))
		return CDNI_EOVERFLOW;
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? CDNI_ENOTFOUND : CDNI_EIO;
	st = ldns_key_new_frm_fp(&k, f);
	fclose(f);
	if (st != LDNS_STATUS_OK) {
		snprintf(err, errlen, "%s: %s", path, ldns_get_errorstr_by_id(st));
		return CDNI_EPARSE;
	}
	if ((int)ldns_key_algorithm(k) != alg) {
		snprintf(err, errlen, "%s: algorithm %d, the config says %d", path,
			 (int)ldns_key_algorithm(k), alg);
		ldns_key_deep_free(k);
		return CDNI_ECONFIG;
	}
	rc = key_finish(k, zone, strcmp(kind, "ksk") == 0);
	if (rc) {
		ldns_key_deep_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

static int key_get(const char *zone, const char *dir, int alg, const char *kind, ldns_key **out,
		   char *err, size_t errlen)
{
	int rc = dir ? key_load(zone, dir, alg, kind, out, err, errlen) : CDNI_ENOTFOUND;

	if (rc == CDNI_ENOTFOUND)
		return key_make(zone, dir, alg, kind, out, err, errlen);
	if (rc && !err[0])
		snprintf(err, errlen, "%s: cannot read the %s in %s: %s", zone, kind, dir,
			 cdni_strerror(rc));
	return rc;
}

int dane_keys_load_or_make(const char *zone, const char *dir, int alg, struct dane_keys *k,
			   char *err, size_t errlen)
{
	struct dane_keys n = { 0 };
	int rc;

	err[0] = '\0';
	if (!alg_bits(alg)) {
		snprintf(err, errlen, "unsupported DNSSEC algorithm %d", alg);
		return CDNI_EINVAL;
	}
	if (dir && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return CDNI_EIO;
	}
	rc = key_get(zone, dir, alg, "ksk", &n.ksk, err, errlen);
	if (rc == 0)
		rc = key_get(zone, dir, alg, "zsk", &n.zsk, err, errlen);
	n.all = ldns_key_list_new();
	n.zsk_only = ldns_key_list_new();
	if (rc == 0 && (!n.all || !n.zsk_only))
		rc = CDNI_ENOMEM;
	if (rc) { /* ldns's free functions do not take NULL */
		if (n.ksk)
			ldns_key_deep_free(n.ksk);
		if (n.zsk)
			ldns_key_deep_free(n.zsk);
		if (n.all)
			ldns_key_list_free(n.all);
		if (n.zsk_only)
			ldns_key_list_free(n.zsk_only);
		return rc;
	}
	ldns_key_list_push_key(n.all, n.ksk);
	ldns_key_list_push_key(n.all, n.zsk);
	ldns_key_list_push_key(n.zsk_only, n.zsk);
	*k = n;
	return 0;
}

void dane_keys_free(struct dane_keys *k)
{
	if (!k)
		return;
	if (k->zsk_only) {
		ldns_key_list_set_key_count(k->zsk_only, 0);
		ldns_key_list_free(k->zsk_only);
	}
	if (k->all)
		ldns_key_list_free(k->all); /* frees the keys too */
	memset(k, 0, sizeof *k);
}

char *dane_keys_ds_text(const struct dane_keys *k, uint32_t ttl)
{
	ldns_rr *rr = k->ksk ? ldns_key2rr(k->ksk) : NULL;
	ldns_rr *ds = rr ? ldns_key_rr2ds(rr, LDNS_SHA256) : NULL;
	char *text = NULL;

	if (ds) {
		ldns_rr_set_ttl(ds, ttl);
		text = ldns_rr2str(ds);
	}
	ldns_rr_free(rr);
	ldns_rr_free(ds);
	return text;
}
