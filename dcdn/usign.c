/* cdni-dcdn — RFC 9246 URI signing enforcement: verify, strip the token from
 * the cache key and the upstream target, renew, log the §6.4 code. */
#include "dcdn/usign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

const struct conf_item dcdn_usign_table[] = {
	US_CONF_ITEMS(struct dcdn_usign_conf, us),
	CONF_STR("renew_key", struct dcdn_usign_conf, renew_key, NULL, 0,
		 "private JWK (or set) that signs renewed tokens (RFC 9246 §3); absent: no renewal"),
	CONF_STR("renew_kid", struct dcdn_usign_conf, renew_kid, NULL, 0,
		 "kid of the renewal key when renew_key holds a set"),
	CONF_STR("renew_issuer", struct dcdn_usign_conf, renew_issuer, NULL, 0,
		 "iss of renewed tokens (default: the token's own)"),
	CONF_BOOL("forward_token", struct dcdn_usign_conf, forward_token, false,
		  "send the token upstream too (it never is part of the cache key)"),
	CONF_END
};

struct usign {
	struct us_verifier *verifier; /* NULL with enforce false: no verification */
	char *attr;
	bool forward_token;
	struct jose_key *renew_key;
	struct us_signer signer;
	char *renew_issuer;
};

/* ---- configuration ---- */

static bool listed(const struct conf_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static int check_conf(const struct dcdn_usign_conf *c, char *err, size_t errlen)
{
	if (!c->us.keys && (c->renew_key || c->renew_kid || c->renew_issuer || c->forward_token ||
			    c->us.issuers.n || c->us.audience.n || c->us.jwt_header))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.keys: is required (the issuers' JWK sets)");
	if (!c->renew_key && (c->renew_kid || c->renew_issuer))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.renew_key: is required with renew_kid and "
			    "renew_issuer");
	if (c->renew_issuer && c->us.issuers.n && !listed(&c->us.issuers, c->renew_issuer))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.renew_issuer: \"%s\" is not in issuers "
			    "(renewed tokens would be refused)", c->renew_issuer);
	return 0;
}

/* Add the renewal key's public part to doc when doc already has keys for its
 * issuer (the same set); *merged says whether it did. */
static int merge_key(json_t *doc, const char *issuer, json_t *pub, bool *merged)
{
	json_t *set = issuer ? json_object_get(doc, issuer) : NULL;
	json_t *keys = json_object_get(issuer ? set : doc, "keys");

	*merged = false;
	if (!issuer && !json_object_get(doc, "keys"))
		return 0; /* an issuer map: add the unbound set after loading */
	if (issuer && json_object_get(doc, "keys"))
		return 0; /* a plain set: add the issuer after loading */
	if (!json_is_array(keys))
		return 0; /* absent (added after loading) or malformed (loading says so) */
	if (json_array_append(keys, pub))
		return CDNI_ENOMEM;
	*merged = true;
	return 0;
}

static int trust_renew_key(struct usign *u, json_t *doc, char *err, size_t errlen)
{
	json_t *pub = NULL, *set = NULL;
	bool merged = false;
	int rc = jose_key_to_json(u->renew_key, u->renew_key->kty == JOSE_KTY_OCT, &pub);

	if (!rc)
		rc = merge_key(doc, u->renew_issuer, pub, &merged);
	if (!rc && (rc = us_verifier_load_keys(u->verifier, doc, err, errlen)) != 0)
		goto done;
	if (!rc && !merged) {
		if (!(set = json_pack("{s:[O]}", "keys", pub)))
			rc = CDNI_ENOMEM;
		else
			rc = us_verifier_add_keys(u->verifier, u->renew_issuer, set, err, errlen);
	}
done:
	jose_json_wipe(pub);
	json_decref(pub);
	json_decref(set);
	return rc;
}

static int load_keys(struct usign *u, const struct dcdn_usign_conf *c, char *err, size_t errlen)
{
	char why[512] = "";
	json_t *doc = NULL;
	int rc = jose_json_read_file(c->us.keys, &doc, why, sizeof why);

	if (rc)
		return rc == CDNI_ENOMEM ? rc : cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.keys: %s", why);
	rc = u->renew_key ? trust_renew_key(u, doc, why, sizeof why)
			  : us_verifier_load_keys(u->verifier, doc, why, sizeof why);
	jose_json_wipe(doc);
	json_decref(doc);
	if (rc == CDNI_ENOMEM)
		return rc;
	if (rc)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.keys: %s: %s", c->us.keys, why);
	return 0;
}

static int load_verifier(struct usign *u, const struct dcdn_usign_conf *c, char *err,
			 size_t errlen)
{
	struct us_conf nokeys = c->us;
	char why[512] = "";

	nokeys.keys = NULL; /* loaded here, with the renewal key */
	if (us_verifier_from_conf(&nokeys, &u->verifier, why, sizeof why))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.%s", why);
	return load_keys(u, c, err, errlen);
}

static int load_renewal(struct usign *u, const struct dcdn_usign_conf *c, char *err,
			size_t errlen)
{
	char why[512] = "";

	if (!c->renew_key)
		return 0;
	if (jose_key_load_file(c->renew_key, c->renew_kid, true, &u->renew_key, why, sizeof why))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.renew_key: %s", why);
	if (c->renew_issuer && !(u->renew_issuer = strdup(c->renew_issuer)))
		return CDNI_ENOMEM;
	u->signer.key = u->renew_key;
	u->signer.issuer = u->renew_issuer;
	return 0;
}

int usign_new(const struct dcdn_usign_conf *c, struct usign **out, char *err, size_t errlen)
{
	struct usign *u;
	int rc;

	*out = NULL;
	if ((rc = check_conf(c, err, errlen)) || !c->us.keys)
		return rc;
	if (!(u = calloc(1, sizeof *u)) || !(u->attr = strdup(c->us.package_attribute))) {
		free(u);
		return cdni_fail(err, errlen, CDNI_ECONFIG, "out of memory");
	}
	u->forward_token = c->forward_token;
	rc = load_renewal(u, c, err, errlen);
	if (!rc)
		rc = load_verifier(u, c, err, errlen); /* checks the keys even without enforce */
	if (!rc && !c->us.enforce) {
		us_verifier_free(u->verifier); /* RFC 9246 §4.4: no verification */
		u->verifier = NULL;
	}
	if (rc) {
		if (rc == CDNI_ENOMEM)
			snprintf(err, errlen, "out of memory");
		usign_free(u);
		return rc;
	}
	*out = u;
	return 0;
}

void usign_free(struct usign *u)
{
	if (!u)
		return;
	us_verifier_free(u->verifier);
	jose_key_free(u->renew_key);
	free(u->renew_issuer);
	free(u->attr);
	free(u);
}

/* ---- requests ---- */

static int refuse(struct req_info *ri, struct req_verdict *v, int status, const char *why)
{
	snprintf(ri->note, sizeof ri->note, "%s", why);
	v->status = status;
	v->reason = ri->note;
	return 1;
}

static int reject(struct req_info *ri, struct req_verdict *v, const struct us_verdict *vd)
{
	snprintf(ri->usign_reason, sizeof ri->usign_reason, "%s", vd->reason);
	snprintf(ri->note, sizeof ri->note, "uri signing %s: %s", ri->usign_code, vd->reason);
	v->status = 403;
	v->reason = ri->note;
	return 1;
}

/* §3: a renewed token for the answer, when the accepted token asks. */
static void renew(struct usign *u, struct req_info *ri, const struct us_verdict *vd)
{
	struct us_renewal rn;
	struct buf b;
	int rc;

	if (!u->renew_key)
		return;
	rc = us_renew(vd, &u->signer, ri->now, u->attr, &rn);
	if (rc == CDNI_ENOTFOUND || rc == CDNI_EOVERFLOW)
		return; /* not asked for; or the path is shorter than cdnistd (§2.1.14) */
	if (rc) {
		log_warn("uri_signing", "%s%s: renewal failed: %s", ri->host, ri->target,
			 cdni_strerror(rc));
		return;
	}
	if (rn.transport == 1) {
		ri->set_cookie = rn.set_cookie;
		rn.set_cookie = NULL;
	} else if (rn.transport == 2) {
		buf_init(&b, 0);
		buf_printf(&b, "%s=%s", u->attr, rn.token);
		ri->location_param = b.err ? NULL : buf_steal(&b, NULL);
		buf_free(&b);
	}
	us_renewal_clear(&rn);
}

/* 0 to go on, 1 with v set when refused. */
static int verify(struct usign *u, struct req_info *ri, struct req_verdict *v)
{
	struct us_request rq = { .client_ip = ri->client_ip[0] ? ri->client_ip : NULL,
				 .cookie = ri->cookie, .now = ri->now,
				 .spki_sha256 = ri->spki_sha256 };
	struct us_verdict vd;
	struct buf uri;
	int rc, ret = 0;

	buf_init(&uri, 0);
	buf_printf(&uri, "%s://%s%s", ri->scheme ? ri->scheme : "http", ri->host, ri->target);
	rq.uri = uri.data;
	rc = uri.err ? uri.err : us_verify(u->verifier, &rq, &vd);
	buf_free(&uri);
	if (rc)
		return refuse(ri, v, 500, "uri signing: out of memory");
	snprintf(ri->usign_code, sizeof ri->usign_code, "%s", us_code_text(vd.code));
	if (!vd.accept)
		ret = reject(ri, v, &vd);
	else
		renew(u, ri, &vd);
	if (vd.accept && vd.token && (ri->usign_vd = malloc(sizeof vd))) {
		*ri->usign_vd = vd; /* for a hook that re-signs it (onward.c) */
		return ret;
	}
	us_verdict_clear(&vd);
	return ret;
}

/* The token out of the cache key, and out of the upstream target. */
static int strip(struct usign *u, struct req_info *ri)
{
	size_t plen = strlen(ri->key) - strlen(ri->target);
	char *s = NULL;
	int rc = us_uri_strip(ri->target, u->attr, &s);

	if (rc == CDNI_EEXIST)
		return 0; /* twice: refused by verification (500) when enforced */
	if (rc)
		return rc;
	snprintf(ri->key + plen, sizeof ri->key - plen, "%s", s);
	if (!u->forward_token)
		snprintf(ri->fetch_target, sizeof ri->fetch_target, "%s", s);
	free(s);
	return 0;
}

int usign_hook(void *cls, struct req_info *ri, struct req_verdict *v)
{
	struct usign *u = cls;

	if (!u->verifier)
		snprintf(ri->usign_code, sizeof ri->usign_code, "%s", us_code_text(US_CODE_NONE));
	else if (verify(u, ri, v))
		return 1;
	if (strip(u, ri))
		return refuse(ri, v, 500, "uri signing: out of memory");
	return 0;
}
