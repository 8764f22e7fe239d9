/* The verifier: trusted keys per issuer, the verification pipeline (token
 * carriage, signature, claims) and the §6.4 log codes. */
#include "urisign/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/daemon.h"
#include "common/err.h"

#define DEFAULT_REPLAY_SLOTS 65536
#define DEFAULT_REPLAY_TTL 86400
#define REGEX_CACHE 64

/* ---- log codes ---- */

static const struct {
	int code;
	const char *text, *desc;
} codes[] = {
	{ 0, "000", "No signed JWT verification performed" },
	{ 200, "200", "Signed JWT verification performed and verified" },
	{ 400, "400", "rejected because of incorrect signature" },
	{ 401, "401", "rejected because of Issuer enforcement" },
	{ 402, "402", "rejected because of Subject enforcement" },
	{ 403, "403", "rejected because of Audience enforcement" },
	{ 404, "404", "rejected because of Expiration Time enforcement" },
	{ 405, "405", "rejected because of Not Before enforcement" },
	{ 406, "406", "rejected because only one of CDNI Signed Token Transport or CDNI "
		      "Expiration Time Setting present" },
	{ 407, "407", "rejected because of JWT ID enforcement" },
	{ 408, "408", "rejected because of Version enforcement" },
	{ 409, "409", "rejected because of Critical Extension enforcement" },
	{ 410, "410", "rejected because of Client IP enforcement" },
	{ 411, "411", "rejected because of URI Container enforcement" },
	{ 500, "500", "Unable to perform signed JWT verification because of malformed URI" },
};

const char *us_code_text(int code)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == code)
			return codes[i].text;
	return "???";
}

const char *us_code_description(int code)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == code)
			return codes[i].desc;
	return "unknown code";
}

/* ---- the verifier ---- */

static char **dup_list(const char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof *out);

	for (size_t i = 0; out && i < n; i++) {
		if (!(out[i] = strdup(v[i]))) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int verifier_init(struct us_verifier *v, const struct us_verifier_opts *o)
{
	const char *attr = o->package_attribute ? o->package_attribute : US_DEFAULT_ATTR;

	if (!(v->attr = strdup(attr)) ||
	    !(v->audience = dup_list(o->audience, o->n_audience)) ||
	    !(v->issuers = dup_list(o->issuers, o->n_issuers)) ||
	    (o->jwt_header && !(v->jwt_header = strdup(o->jwt_header))))
		return CDNI_ENOMEM;
	v->n_audience = o->n_audience;
	v->n_issuers = o->n_issuers;
	v->prefer_uri_token = o->prefer_uri_token;
	v->limits.max_token = o->max_token ? o->max_token : 8192;
	v->limits.max_depth = 8;
	if (us_replay_new(o->replay_slots ? o->replay_slots : DEFAULT_REPLAY_SLOTS,
			  o->replay_ttl > 0 ? o->replay_ttl : DEFAULT_REPLAY_TTL, &v->replay))
		return CDNI_EINVAL;
	return us_regex_cache_new(REGEX_CACHE, &v->re);
}

int us_verifier_new(const struct us_verifier_opts *o, struct us_verifier **out, char *err,
		    size_t errlen)
{
	static const struct us_verifier_opts none;
	struct us_verifier *v = calloc(1, sizeof *v);
	int rc;

	if (!v)
		return CDNI_ENOMEM;
	if (!o)
		o = &none;
	if (o->package_attribute && (!*o->package_attribute ||
				     strpbrk(o->package_attribute, ":/?#[]@!$&'()*+,;= \t"))) {
		snprintf(err, errlen, "package attribute must be a non-empty name without "
				      "reserved characters");
		free(v);
		return CDNI_EINVAL;
	}
	rc = verifier_init(v, o);
	if (rc) {
		snprintf(err, errlen, "cannot create the verifier: %s", cdni_strerror(rc));
		us_verifier_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void us_verifier_free(struct us_verifier *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_iss; i++) {
		free(v->iss[i].name);
		jose_keyset_free(v->iss[i].keys);
	}
	free(v->iss);
	free(v->enc.keys);
	free(v->attr);
	free_list(v->audience, v->n_audience);
	free_list(v->issuers, v->n_issuers);
	free(v->jwt_header);
	us_replay_free(v->replay);
	us_regex_cache_free(v->re);
	free(v);
}

struct us_replay *us_verifier_replay(struct us_verifier *v)
{
	return v->replay;
}

static struct us_issuer *find_issuer(const struct us_verifier *v, const char *name)
{
	for (size_t i = 0; i < v->n_iss; i++) {
		const char *n = v->iss[i].name;
		if ((!n && !name) || (n && name && strcmp(n, name) == 0))
			return &v->iss[i];
	}
	return NULL;
}

static bool enc_capable(const struct jose_key *k)
{
	return k->kty == JOSE_KTY_OCT && k->use != JOSE_USE_SIG &&
	       (k->klen == 16 || k->klen == 24 || k->klen == 32) && !jose_alg_is_sig(k->alg);
}

/* Index the encryption keys of s in v->enc (borrowed pointers). */
static int index_enc(struct us_verifier *v, const struct jose_keyset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!enc_capable(s->keys[i]))
			continue;
		struct jose_key **k = realloc(v->enc.keys, (v->enc.n + 1) * sizeof *k);
		if (!k)
			return CDNI_ENOMEM;
		v->enc.keys = k;
		v->enc.keys[v->enc.n++] = s->keys[i];
	}
	return 0;
}

int us_verifier_add_keys(struct us_verifier *v, const char *issuer, const json_t *jwks,
			 char *err, size_t errlen)
{
	struct jose_keyset *s = NULL;
	struct us_issuer *e;
	char why[256] = "";
	int rc;

	if (find_issuer(v, issuer)) {
		snprintf(err, errlen, "issuer \"%s\": keys given twice", issuer ? issuer : "(none)");
		return CDNI_EEXIST;
	}
	if ((rc = jose_keyset_from_json(jwks, &s, why, sizeof why)) != 0) {
		snprintf(err, errlen, "%s%s%s", issuer ? issuer : "", issuer ? ": " : "", why);
		return rc;
	}
	if (!(e = realloc(v->iss, (v->n_iss + 1) * sizeof *e))) {
		jose_keyset_free(s);
		return CDNI_ENOMEM;
	}
	v->iss = e;
	e = &v->iss[v->n_iss];
	e->keys = s;
	e->name = NULL;
	if ((issuer && !(e->name = strdup(issuer))) || index_enc(v, s)) {
		free(e->name);
		jose_keyset_free(s);
		return CDNI_ENOMEM;
	}
	v->n_iss++;
	return 0;
}

int us_verifier_load_keys(struct us_verifier *v, const json_t *doc, char *err, size_t errlen)
{
	const char *name;
	json_t *val;
	int rc;

	if (!json_is_object(doc)) {
		snprintf(err, errlen, "keys: not a JSON object");
		return CDNI_EPARSE;
	}
	if (json_object_get(doc, "keys"))
		return us_verifier_add_keys(v, NULL, doc, err, errlen);
	if (json_object_size(doc) == 0) {
		snprintf(err, errlen, "keys: neither a JWK set nor an issuer map");
		return CDNI_EPARSE;
	}
	json_object_foreach((json_t *)(uintptr_t)doc, name, val) {
		if ((rc = us_verifier_add_keys(v, name, val, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

int us_verifier_load_keys_file(struct us_verifier *v, const char *path, char *err,
			       size_t errlen)
{
	char why[300] = "";
	json_t *doc = NULL;
	int rc = jose_json_read_file(path, &doc, err, errlen);

	if (rc)
		return rc;
	rc = us_verifier_load_keys(v, doc, why, sizeof why);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, why);
	jose_json_wipe(doc);
	json_decref(doc);
	return rc;
}

/* ---- verification ---- */

struct vstate {
	struct us_verifier *v;
	const struct us_request *rq;
	struct us_verdict *vd;
	struct us_pkg pkg;
	bool pkg_found;
	struct jose_jws jws;
};

/* Find the token in the URI and the cookie; 0 with vd->token set, else a code. */
static int locate(struct vstate *s)
{
	const char *cv = NULL, *uri = s->rq->uri;
	size_t cl = 0;
	int ur = us_uri_find(uri, s->v->attr, &s->pkg);
	int cr = s->rq->cookie ? us_cookie_find(s->rq->cookie, s->v->attr, &cv, &cl)
			       : CDNI_ENOTFOUND;

	s->pkg_found = ur == 0;
	if (ur == CDNI_EEXIST)
		return us_reject(s->vd, US_CODE_MALFORMED_URI,
				 "%s occurs more than once in the URI", s->v->attr);
	if (cr == CDNI_EEXIST)
		return us_reject(s->vd, US_CODE_MALFORMED_URI,
				 "several %s cookies with different values", s->v->attr);
	if (ur == 0 && cr == 0 && !s->v->prefer_uri_token &&
	    (cl != s->pkg.tok_len || memcmp(cv, uri + s->pkg.tok, cl) != 0))
		return us_reject(s->vd, US_CODE_MALFORMED_URI,
				 "different tokens in the URI and in the %s cookie", s->v->attr);
	if (ur == 0) {
		s->vd->where = s->pkg.where;
		s->vd->token = strndup(uri + s->pkg.tok, s->pkg.tok_len);
	} else if (cr == 0) {
		s->vd->where = US_IN_COOKIE;
		s->vd->token = strndup(cv, cl);
	} else {
		return us_reject(s->vd, US_CODE_NONE, "no %s in the URI or cookie", s->v->attr);
	}
	return s->vd->token ? 0 : CDNI_ENOMEM;
}

static int normalize(struct vstate *s)
{
	int rc = us_uri_remove(s->rq->uri, s->pkg_found ? &s->pkg : NULL, &s->vd->stripped_uri);

	if (rc)
		return rc;
	rc = us_uri_normalize(s->vd->stripped_uri, &s->vd->normalized_uri);
	if (rc)
		return rc == CDNI_ENOMEM ? rc : us_reject(s->vd, US_CODE_MALFORMED_URI,
							  "the URI is malformed (not absolute, "
							  "bad percent-encoding or control bytes)");
	return 0;
}

static int parse_token(struct vstate *s)
{
	const char *tok = s->vd->token, *why = NULL;
	char *full = NULL;
	int rc;

	if (s->v->jwt_header && strchr(tok, '.') && !strchr(strchr(tok, '.') + 1, '.')) {
		if (!(full = malloc(strlen(s->v->jwt_header) + strlen(tok) + 2)))
			return CDNI_ENOMEM;
		sprintf(full, "%s.%s", s->v->jwt_header, tok);
		tok = full;
	}
	rc = jose_jws_parse(tok, strlen(tok), &s->v->limits, &s->jws, &why);
	free(full);
	if (rc == CDNI_ENOMEM)
		return rc;
	if (rc)
		return us_reject(s->vd, US_CODE_SIGNATURE, "malformed token: %s", why);
	return 0;
}

static bool issuer_accepted(const struct us_verifier *v, const char *iss)
{
	if (!v->n_issuers)
		return true;
	for (size_t i = 0; iss && i < v->n_issuers; i++)
		if (strcmp(v->issuers[i], iss) == 0)
			return true;
	return false;
}

/* kid present in some other issuer's set? */
static bool kid_elsewhere(const struct us_verifier *v, const char *kid)
{
	for (size_t i = 0; i < v->n_iss; i++)
		if (jose_keyset_find(v->iss[i].keys, kid))
			return true;
	return false;
}

/* Try every fitting key of the candidate sets (no kid in the header). */
static int try_all(struct vstate *s, const struct us_issuer *const sets[2])
{
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; sets[k] && i < sets[k]->keys->n; i++) {
			const struct jose_key *key = sets[k]->keys->keys[i];
			if (jose_key_fits(key, s->jws.alg, NULL) && !jose_jws_verify(&s->jws, key, NULL))
				return 0;
		}
	return us_reject(s->vd, US_CODE_SIGNATURE, "no %s key of the issuer verifies the signature",
			 jose_alg_name(s->jws.alg));
}

static int check_signature(struct vstate *s)
{
	const json_t *iv = json_object_get(s->jws.payload, "iss");
	const char *iss = json_string_value(iv), *kid = s->jws.kid, *why = NULL;
	const struct us_issuer *sets[2];
	const struct jose_key *key = NULL;

	if (iv && !iss)
		return us_reject(s->vd, US_CODE_ISSUER, "iss is not a string");
	if (iss && !issuer_accepted(s->v, iss))
		return us_reject(s->vd, US_CODE_ISSUER, "issuer \"%.64s\" is not accepted", iss);
	sets[0] = iss ? find_issuer(s->v, iss) : NULL;
	sets[1] = find_issuer(s->v, NULL);
	if (!sets[0] && !sets[1])
		return us_reject(s->vd, US_CODE_ISSUER, "no keys for issuer \"%.64s\"",
				 iss ? iss : "(none)");
	if (!kid)
		return try_all(s, sets);
	for (int k = 0; k < 2 && !key; k++)
		key = sets[k] ? jose_keyset_find(sets[k]->keys, kid) : NULL;
	if (!key && kid_elsewhere(s->v, kid))
		return us_reject(s->vd, US_CODE_ISSUER, "key \"%.64s\" belongs to another issuer",
				 kid);
	if (!key)
		return us_reject(s->vd, US_CODE_SIGNATURE, "no key with kid \"%.64s\"", kid);
	if (jose_jws_verify(&s->jws, key, &why))
		return us_reject(s->vd, US_CODE_SIGNATURE, "%s with key \"%.64s\"", why, kid);
	return 0;
}

static int run(struct vstate *s)
{
	struct us_check c = { .v = s->v, .rq = s->rq, .vd = s->vd };
	int rc;

	if ((rc = locate(s)) || (rc = normalize(s)) || (rc = parse_token(s)) ||
	    (rc = check_signature(s)))
		return rc;
	s->vd->claims = json_incref(s->jws.payload);
	if (json_string_value(json_object_get(s->jws.payload, "iss")) &&
	    !(s->vd->issuer = strdup(json_string_value(json_object_get(s->jws.payload, "iss")))))
		return CDNI_ENOMEM;
	c.claims = s->jws.payload;
	if ((rc = us_check_claims(&c)) != 0)
		return rc;
	s->vd->accept = true;
	s->vd->code = US_CODE_OK;
	snprintf(s->vd->reason, sizeof s->vd->reason, "verified");
	return 0;
}

int us_verify(struct us_verifier *v, const struct us_request *rq, struct us_verdict *out)
{
	struct vstate s;
	struct us_verdict vd;
	int rc;

	if (!v || !rq || !rq->uri || !out)
		return CDNI_EINVAL;
	memset(&vd, 0, sizeof vd);
	memset(&s, 0, sizeof s);
	s.v = v;
	s.rq = rq;
	s.vd = &vd;
	vd.verified_at = rq->now;
	rc = run(&s);
	jose_jws_clear(&s.jws);
	if (rc < 0) {
		us_verdict_clear(&vd);
		return rc;
	}
	*out = vd;
	return 0;
}

static void free_secret_str(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void us_verdict_clear(struct us_verdict *vd)
{
	free(vd->token);
	free(vd->stripped_uri);
	free(vd->normalized_uri);
	json_decref(vd->claims);
	free(vd->issuer);
	free_secret_str(vd->subject);
	free_secret_str(vd->client_prefix);
	memset(vd, 0, sizeof *vd);
}

/* ---- config ---- */

/* us_conf_table is US_CONF_ITEMS over a struct whose only member is a us_conf
 * (at offset 0, so the offsets are those of struct us_conf). */
struct us_conf_only {
	struct us_conf c;
};

const struct conf_item us_conf_table[] = {
	US_CONF_ITEMS(struct us_conf_only, c),
	CONF_END
};

int us_verifier_from_conf(const struct us_conf *c, struct us_verifier **out, char *err,
			  size_t errlen)
{
	struct us_verifier_opts o = {
		.package_attribute = c->package_attribute,
		.audience = (const char *const *)c->audience.v,
		.n_audience = c->audience.n,
		.issuers = (const char *const *)c->issuers.v,
		.n_issuers = c->issuers.n,
		.jwt_header = c->jwt_header,
		.replay_slots = (size_t)c->replay_slots,
		.prefer_uri_token = c->prefer_uri_token,
	};
	struct us_verifier *v = NULL;
	char why[400] = "";
	int rc = us_verifier_new(&o, &v, why, sizeof why);

	if (rc)
		snprintf(err, errlen, "%s%s", rc == CDNI_EINVAL ? "package_attribute: " : "", why);
	if (!rc && c->keys && (rc = us_verifier_load_keys_file(v, c->keys, why, sizeof why)) != 0)
		snprintf(err, errlen, "keys: %s", why);
	if (rc) {
		us_verifier_free(v);
		return rc;
	}
	*out = v;
	return 0;
}
