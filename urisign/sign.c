/* Making tokens: signing a URI, re-signing for redirection (§4.3, Figure 3
 * step 9, with the per-claim rules of §2.1) and Signed Token Renewal (§3). */
#include "urisign/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "common/buf.h"
#include "common/err.h"
#include "urisign/b64.h"

int us_container_regex(const char *uri, char **out)
{
	char *norm = NULL;
	const char *auth, *q;
	size_t dir;
	struct buf b;
	int rc = us_uri_normalize(uri, &norm);

	if (rc)
		return rc;
	auth = strstr(norm, "://");
	auth = auth ? auth + 3 : norm;
	auth += strcspn(auth, "/?");
	q = auth + strcspn(auth, "?");
	dir = (size_t)(auth - norm);
	for (const char *p = auth; p < q; p++)
		if (*p == '/')
			dir = (size_t)(p - norm) + 1;
	buf_init(&b, 0);
	buf_append(&b, "regex:", 6);
	for (size_t i = 0; i < dir; i++) {
		if (strchr(".[]{}()\\*+?^$|", norm[i]))
			buf_append(&b, "\\", 1);
		buf_append(&b, norm + i, 1);
	}
	if (dir == (size_t)(auth - norm))
		buf_append(&b, "/", 1); /* "https://host" has the path "/" */
	buf_append(&b, ".*", 2);
	free(norm);
	if (b.err) {
		buf_free(&b);
		return CDNI_ENOMEM;
	}
	*out = buf_steal(&b, NULL);
	return 0;
}

int us_signer_load(const char *file, const char *kid, const char *alg_name, struct jose_key **key,
		   struct us_signer *s, char *err, size_t errlen)
{
	char why[400] = "";
	const char *no = NULL;
	enum jose_alg alg = JOSE_ALG_UNKNOWN;

	if (jose_key_load_file(file, kid, true, key, why, sizeof why)) {
		snprintf(err, errlen, "key: %s", why);
		return CDNI_ECONFIG;
	}
	if (alg_name && (alg = jose_alg_parse(alg_name)) == JOSE_ALG_UNKNOWN) {
		snprintf(err, errlen, "alg: unknown algorithm \"%s\"", alg_name);
		return CDNI_ECONFIG;
	}
	if (!alg)
		alg = jose_key_default_alg(*key);
	if (!jose_alg_is_sig(alg) || !jose_key_fits(*key, alg, &no)) {
		snprintf(err, errlen, "alg: %s does not fit the key in %s%s%s", jose_alg_name(alg),
			 file, no ? ": " : "", no ? no : "");
		return CDNI_ECONFIG;
	}
	*s = (struct us_signer){ .key = *key, .alg = alg };
	return 0;
}

int us_container_hash(const char *uri, const char *attr, char **out)
{
	char *stripped = NULL, *norm = NULL, b64[44];
	uint8_t md[SHA256_DIGEST_LENGTH];
	int rc = us_uri_strip(uri, attr ? attr : US_DEFAULT_ATTR, &stripped);

	if (!rc)
		rc = us_uri_normalize(stripped, &norm);
	if (!rc) {
		jose_sha256((const unsigned char *)norm, strlen(norm), md);
		b64url_encode(md, sizeof md, b64);
		if (!(*out = malloc(strlen("hash:sha-256;") + sizeof b64)))
			rc = CDNI_ENOMEM;
		else
			sprintf(*out, "hash:sha-256;%s", b64);
	}
	free(stripped);
	free(norm);
	return rc;
}

int us_sign_token(const struct us_signer *s, const json_t *claims, char **token)
{
	if (!s || !s->key || !json_is_object(claims))
		return CDNI_EINVAL;
	return jose_jws_sign(s->key, s->alg, s->kid, claims, token);
}

static int finish(const char *uri, const char *attr, enum us_where style, char *tok,
		  char **signed_uri, char **token)
{
	int rc = 0;

	if (signed_uri)
		rc = us_uri_add_token(uri, attr, tok, style == US_IN_PATH ? US_IN_PATH : US_IN_QUERY,
				      signed_uri);
	if (!rc && token)
		*token = tok;
	else
		free(tok);
	return rc;
}

int us_sign_uri(const struct us_signer *s, const json_t *claims, const char *uri,
		const char *attr, enum us_where style, char **signed_uri, char **token)
{
	json_t *c = claims ? json_deep_copy(claims) : json_object();
	char *container = NULL, *tok = NULL;
	int rc = CDNI_ENOMEM;

	attr = attr ? attr : US_DEFAULT_ATTR;
	if (!c || !json_is_object(c))
		goto done;
	if (s->issuer && !json_object_get(c, "iss") &&
	    json_object_set_new(c, "iss", json_string(s->issuer)))
		goto done;
	if (!json_object_get(c, "cdniuc")) {
		if ((rc = us_container_hash(uri, attr, &container)) != 0)
			goto done;
		rc = CDNI_ENOMEM;
		if (json_object_set_new(c, "cdniuc", json_string(container)))
			goto done;
	}
	if ((rc = us_sign_token(s, c, &tok)) == 0)
		rc = finish(uri, attr, style, tok, signed_uri, token);
done:
	free(container);
	json_decref(c);
	return rc;
}

int us_claims_set_encrypted(json_t *claims, const char *claim, const char *plaintext,
			    const struct jose_key *enc_key)
{
	char *jwe = NULL;
	int rc = jose_jwe_encrypt(enc_key, JOSE_ALG_UNKNOWN, plaintext, strlen(plaintext), &jwe);

	if (rc)
		return rc;
	rc = json_object_set_new(claims, claim, json_string(jwe)) ? CDNI_ENOMEM : 0;
	free(jwe);
	return rc;
}

/* Add name to the cdnicrit list (when not there yet). */
static int crit_add(json_t *claims, const char *name)
{
	const char *cur = json_string_value(json_object_get(claims, "cdnicrit"));
	struct buf b;
	int rc;

	if (cur) {
		for (const char *p = cur; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0))
			if (strcspn(p, ",") == strlen(name) && strncmp(p, name, strlen(name)) == 0)
				return 0;
	}
	buf_init(&b, 0);
	buf_printf(&b, "%s%s%s", cur ? cur : "", cur ? "," : "", name);
	rc = b.err ? b.err : json_object_set_new(claims, "cdnicrit", json_string(b.data)) ? CDNI_ENOMEM : 0;
	buf_free(&b);
	return rc;
}

int us_claims_bind_cert(json_t *claims, const uint8_t spki_sha256[32])
{
	char b64[44];

	b64url_encode(spki_sha256, 32, b64);
	if (json_object_set_new(claims, US_CLAIM_CERT_BINDING, json_string(b64)))
		return CDNI_ENOMEM;
	return crit_add(claims, US_CLAIM_CERT_BINDING);
}

/* cdnicrit without the names whose claims are gone. */
static int crit_prune(json_t *claims)
{
	const char *cur = json_string_value(json_object_get(claims, "cdnicrit"));
	struct buf b;
	int rc = 0;

	if (!cur)
		return 0;
	buf_init(&b, 0);
	for (const char *p = cur; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0)) {
		char name[64];
		size_t l = strcspn(p, ",");
		if (l >= sizeof name)
			continue;
		memcpy(name, p, l);
		name[l] = '\0';
		if (json_object_get(claims, name))
			buf_printf(&b, "%s%s", b.len ? "," : "", name);
	}
	if (b.err)
		rc = b.err;
	else if (b.len == 0)
		json_object_del(claims, "cdnicrit");
	else if (json_object_set_new(claims, "cdnicrit", json_string(b.data)))
		rc = CDNI_ENOMEM;
	buf_free(&b);
	return rc;
}

/* ---- re-signing ---- */

static int set_container(json_t *c, const struct us_resign_opts *o, const char *attr)
{
	char *h = NULL;
	int rc;

	if (o->keep_cdniuc && json_object_get(c, "cdniuc"))
		return 0;
	if (o->cdniuc)
		return json_object_set_new(c, "cdniuc", json_string(o->cdniuc)) ? CDNI_ENOMEM : 0;
	if ((rc = us_container_hash(o->next_uri, attr, &h)) != 0)
		return rc;
	rc = json_object_set_new(c, "cdniuc", json_string(h)) ? CDNI_ENOMEM : 0;
	free(h);
	return rc;
}

static bool is_https(const char *uri)
{
	return uri && strncasecmp(uri, "https:", 6) == 0;
}

/* iss, aud, iat and cdnicb: the claims a redirecting CDN changes. */
static int resign_update(json_t *c, const struct us_signer *s, const struct us_resign_opts *o,
			 long long now)
{
	if (json_object_get(c, "iss") && !s->issuer)
		return CDNI_EINVAL; /* §2.1.1: must be updated to the redirecting CDN */
	if (s->issuer && json_object_set_new(c, "iss", json_string(s->issuer)))
		return CDNI_ENOMEM;
	if (o->audience && json_object_set_new(c, "aud", json_string(o->audience)))
		return CDNI_ENOMEM;
	if ((json_object_get(c, "iat") || o->add_iat) &&
	    json_object_set_new(c, "iat", json_integer(now)))
		return CDNI_ENOMEM;
	json_object_del(c, US_CLAIM_CERT_BINDING);
	if (o->next_spki_sha256)
		return us_claims_bind_cert(c, o->next_spki_sha256);
	return 0;
}

int us_resign_claims(const struct us_verdict *vd, const struct us_signer *s,
		     const struct us_resign_opts *o, long long now, json_t **claims_out)
{
	const char *attr = o && o->attr ? o->attr : US_DEFAULT_ATTR;
	json_t *c;
	int rc;

	if (!vd || !vd->accept || !vd->claims || !s || !o || !o->next_uri)
		return CDNI_EINVAL;
	if (is_https(vd->normalized_uri) && !is_https(o->next_uri))
		return CDNI_EDENIED; /* §1.3: HTTPS must be kept */
	if (!(c = json_deep_copy(vd->claims)))
		return CDNI_ENOMEM;
	rc = resign_update(c, s, o, now);
	if (!rc)
		rc = crit_prune(c);
	if (!rc)
		rc = set_container(c, o, attr);
	if (rc) {
		json_decref(c);
		return rc;
	}
	*claims_out = c;
	return 0;
}

int us_resign(const struct us_verdict *vd, const struct us_signer *s,
	      const struct us_resign_opts *o, long long now, char **token, char **signed_uri)
{
	json_t *c = NULL;
	char *tok = NULL;
	int rc = us_resign_claims(vd, s, o, now, &c);

	if (rc)
		return rc;
	rc = us_sign_token(s, c, &tok);
	json_decref(c);
	if (rc)
		return rc;
	return finish(o->next_uri, o->attr ? o->attr : US_DEFAULT_ATTR, o->style, tok, signed_uri,
		      token);
}

/* ---- renewal ---- */

static int renew_claims(const struct us_verdict *vd, const struct us_signer *s, long long now,
			long long *exp, json_t **out)
{
	double ets = json_number_value(json_object_get(vd->claims, "cdniets"));
	json_t *c = json_deep_copy(vd->claims);

	if (!c)
		return CDNI_ENOMEM;
	*exp = vd->verified_at + (long long)ceil(ets);
	if (json_object_set_new(c, "exp", json_integer(*exp)) ||
	    (json_object_get(c, "iat") && json_object_set_new(c, "iat", json_integer(now))) ||
	    (s->issuer && json_object_set_new(c, "iss", json_string(s->issuer)))) {
		json_decref(c);
		return CDNI_ENOMEM;
	}
	*out = c;
	return 0;
}

/* §2.1.14: the first cdnistd segments of the path (token removed); no
 * renewal when the path is shorter. */
static int renew_path(const struct us_verdict *vd, char **path)
{
	const json_t *std = json_object_get(vd->claims, "cdnistd");
	int rc = us_uri_path_prefix(vd->normalized_uri, std ? json_integer_value(std) : 0, path);

	return rc == CDNI_ENOTFOUND ? CDNI_EOVERFLOW : rc;
}

static int renew_cookie(const struct us_verdict *vd, const char *attr, char *path,
			struct us_renewal *r)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "%s=%s; Path=%s%s; HttpOnly", attr, r->token, path,
		   is_https(vd->normalized_uri) ? "; Secure" : "");
	if (b.err) {
		buf_free(&b);
		return CDNI_ENOMEM;
	}
	r->set_cookie = buf_steal(&b, NULL);
	return 0;
}

int us_renew(const struct us_verdict *vd, const struct us_signer *s, long long now,
	     const char *attr, struct us_renewal *out)
{
	const json_t *stt;
	struct us_renewal r;
	char *path = NULL;
	int rc;

	if (!vd || !vd->accept || !vd->claims || !s || !out)
		return CDNI_EINVAL;
	stt = json_object_get(vd->claims, "cdnistt");
	if (!stt || json_integer_value(stt) == 0)
		return CDNI_ENOTFOUND;
	attr = attr ? attr : US_DEFAULT_ATTR;
	memset(&r, 0, sizeof r);
	r.transport = (int)json_integer_value(stt);
	rc = renew_path(vd, &path);
	if (!rc)
		rc = renew_claims(vd, s, now, &r.exp, &r.claims);
	if (!rc)
		rc = us_sign_token(s, r.claims, &r.token);
	if (!rc && r.transport == 1)
		rc = renew_cookie(vd, attr, path, &r);
	else if (!rc)
		rc = us_uri_add_token(vd->stripped_uri, attr, r.token, US_IN_QUERY, &r.uri);
	free(path);
	if (rc) {
		us_renewal_clear(&r);
		return rc;
	}
	*out = r;
	return 0;
}

void us_renewal_clear(struct us_renewal *r)
{
	free(r->token);
	free(r->set_cookie);
	free(r->uri);
	json_decref(r->claims);
	memset(r, 0, sizeof *r);
}
