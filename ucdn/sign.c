/* cdni-ucdn — RFC 9246 URI signing at the front door: verify the CSP's
 * token, sign (or re-sign) the Location of every redirect. */
#include "ucdn/sign.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/tls.h"
#include "urisign/b64.h"

const char *const ucdn_container_names[] = { "hash", "regex", NULL };
const char *const ucdn_carriage_names[] = { "query", "path", NULL };

const struct conf_item ucdn_sign_table[] = {
	CONF_STR("key", struct ucdn_sign_conf, key, NULL, 0,
		 "private JWK (or JWK set) file that signs every redirect's Location; "
		 "absent: Locations are not signed"),
	CONF_STR("kid", struct ucdn_sign_conf, kid, NULL, 0,
		 "kid of the key to use when key holds a set"),
	CONF_STR("alg", struct ucdn_sign_conf, alg, NULL, 0,
		 "JWS algorithm (ES256, RS256, PS256, EdDSA, HS256, ...); default: the key's"),
	CONF_STR("issuer", struct ucdn_sign_conf, issuer, NULL, 0,
		 "iss of the tokens made (required to re-sign verified tokens)"),
	CONF_STR("audience", struct ucdn_sign_conf, audience, NULL, 0,
		 "aud of the tokens made: the dCDN's identity"),
	CONF_JSONV("claims", struct ucdn_sign_conf, claims, 0,
		   "object: more claims for fresh tokens (nbf, cdniv, cdnistt, cdniets, cdnistd, ...)"),
	CONF_INT("lifetime", struct ucdn_sign_conf, lifetime, 0, 31536000, 300,
		 "fresh tokens: exp = now + lifetime seconds; 0: no exp"),
	CONF_BOOL("iat", struct ucdn_sign_conf, iat, false, "add iat (the signing time)"),
	CONF_BOOL("jti", struct ucdn_sign_conf, jti, false, "fresh tokens: add a random jti"),
	CONF_ENUM("container", struct ucdn_sign_conf, container, ucdn_container_names,
		  UCDN_CONTAINER_HASH,
		  "cdniuc: hash (this Location only) or regex (every URI under its directory)"),
	CONF_ENUM("carriage", struct ucdn_sign_conf, carriage, ucdn_carriage_names, UCDN_CARRY_QUERY,
		  "where the token goes: query (?NAME=TOKEN) or path (;NAME=TOKEN)"),
	CONF_STR("package_attribute", struct ucdn_sign_conf, package_attribute, US_DEFAULT_ATTR, 0,
		 "the token's attribute name in the Locations made"),
	CONF_OBJ("verify", struct ucdn_sign_conf, verify, us_conf_table, 0,
		 "incoming tokens (RFC 9246 §4.4 UriSigning); verified when keys is set"),
	CONF_END
};

struct rule_sign {
	bool sign;
	bool bound;
	uint8_t spki[32];
	char *prefix;   /* bound rules: the payload's start with cdnicb (below) */
};

struct ucdn_sign {
	struct jose_key *key;
	struct us_signer signer;
	char *issuer;
	char *audience;
	json_t *claims;
	char *prefix;              /* fresh tokens' payload up to the per-request claims:
				      '{' + template, iss, aud + ',' (or "{" alone) */
	long long lifetime;
	bool iat, jti, regex;
	enum us_where style;
	char *attr;                /* in the Locations made */
	char *in_attr;             /* of incoming tokens */
	struct us_verifier *verifier;
	struct rule_sign *rules;
	size_t nrules;
};

/* ---- configuration ---- */

/* Claims the template may not hold: other keys set them. */
static const struct {
	const char *claim, *by;
} template_owned[] = {
	{ "iss", "uri_signing.issuer" },     { "aud", "uri_signing.audience" },
	{ "exp", "uri_signing.lifetime" },   { "iat", "uri_signing.iat" },
	{ "jti", "uri_signing.jti" },        { "cdniuc", "uri_signing.container" },
	{ US_CLAIM_CERT_BINDING, "a rule's target_cert" },
};

static int check_template(const json_t *t, char *err, size_t errlen)
{
	if (!t)
		return 0;
	if (!json_is_object(t))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.claims: must be a JSON object");
	for (size_t i = 0; i < sizeof template_owned / sizeof template_owned[0]; i++)
		if (json_object_get(t, template_owned[i].claim))
			return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.claims.%s: is set by %s",
				    template_owned[i].claim, template_owned[i].by);
	if (!json_object_get(t, "cdnistt") != !json_object_get(t, "cdniets"))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.claims: cdnistt and cdniets "
			    "go together (RFC 9246 §3.2.1)");
	return 0;
}

static int check_attr(const char *a, const char *path, char *err, size_t errlen)
{
	if (!*a || strpbrk(a, ":/?#[]@!$&'()*+,;= \t\r\n"))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "%s: must be a non-empty name without "
			    "reserved characters, got \"%s\"", path, a);
	return 0;
}

static int load_signer(struct ucdn_sign *s, const struct ucdn_sign_conf *c, char *err,
		       size_t errlen)
{
	char why[512] = "";

	if (us_signer_load(c->key, c->kid, c->alg, &s->key, &s->signer, why, sizeof why))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.%s", why);
	s->signer.issuer = s->issuer;
	return 0;
}

static int load_verifier(struct ucdn_sign *s, const struct ucdn_sign_conf *c, char *err,
			 size_t errlen)
{
	char why[512] = "";

	if (!c->verify.keys || !c->verify.enforce)
		return 0;
	if (us_verifier_from_conf(&c->verify, &s->verifier, why, sizeof why))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.verify.%s", why);
	if (c->key && !c->issuer)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.issuer: is required to re-sign "
			    "verified tokens (RFC 9246 §2.1.1: iss is updated)");
	return 0;
}

static int load_rules(struct ucdn_sign *s, const struct ucdn_sign_conf *c,
		      const struct route_conf *rc, char *err, size_t errlen)
{
	const struct route_rule_conf *r = rc->rules.v;
	char why[512] = "";
	X509 *x;

	if (!(s->rules = calloc(rc->rules.n + 1, sizeof *s->rules)))
		return CDNI_ENOMEM;
	s->nrules = rc->rules.n;
	for (size_t i = 0; i < rc->rules.n; i++) {
		s->rules[i].sign = r[i].sign;
		if (!r[i].target_cert)
			continue;
		if (!c->key)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rules[%zu].target_cert: needs "
				    "uri_signing.key (tokens bound to a certificate are signed)", i);
		if (!(x = tls_load_cert(r[i].target_cert, why, sizeof why)))
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rules[%zu].target_cert: %s", i, why);
		s->rules[i].bound = tls_spki_sha256(x, s->rules[i].spki) == 0;
		X509_free(x);
		if (!s->rules[i].bound)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rules[%zu].target_cert: %s: no public "
				    "key digest", i, r[i].target_cert);
	}
	return 0;
}

/* The constant start of a fresh token's payload: the template, iss, aud and
 * (for a bound rule) cdnicb with cdnicrit, as "{...," ("{" when empty). */
static int make_prefix(const struct ucdn_sign *s, const uint8_t *spki, char **out)
{
	json_t *c = s->claims ? json_deep_copy(s->claims) : json_object();
	char *text = NULL;
	size_t n;
	int rc = CDNI_ENOMEM;

	if (!c || (s->issuer && json_object_set_new(c, "iss", json_string(s->issuer))) ||
	    (s->audience && json_object_set_new(c, "aud", json_string(s->audience))) ||
	    (spki && us_claims_bind_cert(c, spki)) || !(text = jose_json_dump(c)))
		goto done;
	n = strlen(text); /* "{...}" -> "{...," ; "{}" -> "{" */
	text[n - 1] = n > 2 ? ',' : '\0';
	*out = text;
	rc = 0;
done:
	json_decref(c);
	return rc;
}

static int make_prefixes(struct ucdn_sign *s)
{
	if (!s->key)
		return 0;
	if (make_prefix(s, NULL, &s->prefix))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < s->nrules; i++)
		if (s->rules[i].bound && make_prefix(s, s->rules[i].spki, &s->rules[i].prefix))
			return CDNI_ENOMEM;
	return 0;
}

static int sign_init(struct ucdn_sign *s, const struct ucdn_sign_conf *c,
		     const struct route_conf *rc, char *err, size_t errlen)
{
	int rc2;

	if ((rc2 = check_template(c->claims, err, errlen)) ||
	    (rc2 = check_attr(c->package_attribute, "uri_signing.package_attribute", err, errlen)))
		return rc2;
	if ((c->issuer && !(s->issuer = strdup(c->issuer))) ||
	    (c->audience && !(s->audience = strdup(c->audience))) ||
	    !(s->attr = strdup(c->package_attribute)) ||
	    !(s->in_attr = strdup(c->verify.package_attribute ? c->verify.package_attribute
								  : US_DEFAULT_ATTR)))
		return CDNI_ENOMEM;
	s->claims = json_incref(c->claims);
	s->lifetime = c->lifetime;
	s->iat = c->iat;
	s->jti = c->jti;
	s->regex = c->container == UCDN_CONTAINER_REGEX;
	s->style = c->carriage == UCDN_CARRY_PATH ? US_IN_PATH : US_IN_QUERY;
	if (c->key && (rc2 = load_signer(s, c, err, errlen)))
		return rc2;
	if ((rc2 = load_verifier(s, c, err, errlen)) || (rc2 = load_rules(s, c, rc, err, errlen)))
		return rc2;
	return make_prefixes(s);
}

int ucdn_sign_new(const struct ucdn_sign_conf *c, const struct route_conf *rc,
		  struct ucdn_sign **out, char *err, size_t errlen)
{
	struct ucdn_sign *s;
	int rc2;

	*out = NULL;
	if (!c->key && !(c->verify.keys && c->verify.enforce)) {
		for (size_t i = 0; i < rc->rules.n; i++)
			if (((const struct route_rule_conf *)rc->rules.v)[i].target_cert)
				return cdni_fail(err, errlen, CDNI_ECONFIG, "rules[%zu].target_cert: needs "
					    "uri_signing.key", i);
		if (c->issuer || c->audience || c->claims || c->kid || c->alg)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "uri_signing.key: is required to "
				    "sign (issuer, audience, claims, kid and alg are for signing)");
		return 0;
	}
	if (!(s = calloc(1, sizeof *s)))
		return cdni_fail(err, errlen, CDNI_ENOMEM, "out of memory");
	if ((rc2 = sign_init(s, c, rc, err, errlen)) != 0) {
		if (rc2 == CDNI_ENOMEM)
			snprintf(err, errlen, "out of memory");
		ucdn_sign_free(s);
		return rc2;
	}
	*out = s;
	return 0;
}

void ucdn_sign_free(struct ucdn_sign *s)
{
	if (!s)
		return;
	jose_key_free(s->key);
	us_verifier_free(s->verifier);
	json_decref(s->claims);
	for (size_t i = 0; s->rules && i < s->nrules; i++)
		free(s->rules[i].prefix);
	free(s->prefix);
	free(s->issuer);
	free(s->audience);
	free(s->attr);
	free(s->in_attr);
	free(s->rules);
	free(s);
}

bool ucdn_sign_verifies(const struct ucdn_sign *s)
{
	return s && s->verifier;
}

bool ucdn_sign_signs(const struct ucdn_sign *s)
{
	return s && s->key;
}

/* ---- containers ---- */

/* ---- requests ---- */

static int request_uri(const struct ucdn_sign_req *rq, char **out)
{
	struct buf b;

	buf_init(&b, 0);
	if (strncasecmp(rq->target, "http://", 7) == 0 || strncasecmp(rq->target, "https://", 8) == 0)
		buf_printf(&b, "%s", rq->target);
	else
		buf_printf(&b, "%s://%s%s", rq->scheme, rq->host ? rq->host : "", rq->target);
	if (b.err) {
		buf_free(&b);
		return CDNI_ENOMEM;
	}
	*out = buf_steal(&b, NULL);
	return 0;
}

static void refuse(struct ucdn_sign_res *out, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct ucdn_sign_res *out, int status, const char *fmt, ...)
{
	va_list ap;

	out->status = status;
	va_start(ap, fmt);
	vsnprintf(out->note, sizeof out->note, fmt, ap);
	va_end(ap);
}

/* Verify the incoming token (when configured). 0 with vd filled (accepted)
 * or left empty (not verified); 0 with out->status 403 when refused. */
static int verify_incoming(struct ucdn_sign *s, const struct ucdn_sign_req *rq,
			   struct us_verdict *vd, struct ucdn_sign_res *out)
{
	struct us_request r = { .client_ip = rq->client_ip, .cookie = rq->cookie, .now = rq->now };
	char *uri = NULL;
	int rc;

	memset(vd, 0, sizeof *vd);
	if (!s->verifier)
		return 0;
	if ((rc = request_uri(rq, &uri)))
		return rc;
	r.uri = uri;
	rc = us_verify(s->verifier, &r, vd);
	free(uri);
	if (rc)
		return rc;
	snprintf(out->code, sizeof out->code, "%s", us_code_text(vd->code));
	if (!vd->accept) {
		snprintf(out->reason, sizeof out->reason, "%s", vd->reason);
		refuse(out, 403, "uri signing %s: %s", out->code, vd->reason);
		us_verdict_clear(vd);
	}
	return 0;
}

/* loc without the incoming and the outgoing package attributes. */
static int strip_tokens(const struct ucdn_sign *s, const char *loc, char **out)
{
	char *a = NULL, *b = NULL;
	int rc = us_uri_strip(loc, s->in_attr, &a);

	if (!rc && strcmp(s->in_attr, s->attr) != 0) {
		rc = us_uri_strip(a, s->attr, &b);
		free(a);
		a = b;
	}
	if (rc)
		return rc;
	*out = a;
	return 0;
}

/* A JSON string's body: quotes, backslashes and controls escaped. */
static void put_json_chars(struct buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	static const char special[] = "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e"
				      "\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";

	for (const char *p = str; *p; p++) {
		size_t n = strcspn(p, special);
		unsigned char c;

		buf_append(b, p, n);
		if (!*(p += n))
			break;
		c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			buf_append(b, e, sizeof e);
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_append(b, e, sizeof e);
		}
	}
}

static int put_jti(struct buf *b)
{
	uint8_t r[16];
	char b64[32];

	if (RAND_bytes(r, sizeof r) != 1)
		return CDNI_ETLS;
	b64url_encode(r, sizeof r, b64);
	buf_printf(b, ",\"jti\":\"%s\"", b64);
	return 0;
}

/* The payload of a fresh token for next, as text: the rule's prefix (the
 * template, iss, aud, cdnicb) then exp, iat, jti and cdniuc. No JSON object
 * is built per request. */
static int fresh_payload(const struct ucdn_sign *s, const struct rule_sign *r, const char *next,
			 long long now, struct buf *b)
{
	char *container = NULL;
	int rc = s->regex ? us_container_regex(next, &container)
			  : us_container_hash(next, s->attr, &container);

	if (rc)
		return rc;
	buf_puts(b, r && r->prefix ? r->prefix : s->prefix);
	buf_puts(b, "\"cdniuc\":\"");
	put_json_chars(b, container);
	buf_putc(b, '"');
	free(container);
	if (s->lifetime)
		buf_printf(b, ",\"exp\":%lld", now + s->lifetime);
	if (s->iat)
		buf_printf(b, ",\"iat\":%lld", now);
	if (s->jti && (rc = put_jti(b)))
		return rc;
	buf_putc(b, '}');
	return b->err;
}

static int sign_fresh(struct ucdn_sign *s, const struct rule_sign *r, const char *next,
		      long long now, char **signed_uri)
{
	struct buf b;
	char *tok = NULL;
	int rc;

	buf_init(&b, 0);
	rc = fresh_payload(s, r, next, now, &b);
	if (!rc)
		rc = jose_jws_sign_raw(s->key, s->signer.alg, NULL, b.data, b.len, &tok);
	buf_free(&b);
	if (!rc)
		rc = us_uri_add_token(next, s->attr, tok, s->style, signed_uri);
	free(tok);
	return rc;
}

static int sign_again(struct ucdn_sign *s, const struct rule_sign *r, const struct us_verdict *vd,
		      const char *next, long long now, char **signed_uri)
{
	struct us_resign_opts o = { .next_uri = next, .attr = s->attr, .style = s->style,
				    .audience = s->audience, .add_iat = s->iat,
				    .next_spki_sha256 = r && r->bound ? r->spki : NULL };
	char *re = NULL;
	int rc = s->regex ? us_container_regex(next, &re) : 0;

	if (rc)
		return rc;
	o.cdniuc = re;
	rc = us_resign(vd, &s->signer, &o, now, NULL, signed_uri);
	free(re);
	return rc;
}

static void sign_failed(struct ucdn_sign_res *out, int rc)
{
	if (rc == CDNI_EDENIED)
		refuse(out, 500, "uri signing: an https request is not redirected to an http "
		       "Location (RFC 9246 §1.3)");
	else
		refuse(out, 500, "uri signing: cannot sign the Location (%s)", cdni_strerror(rc));
}

int ucdn_sign_redirect(struct ucdn_sign *s, const struct ucdn_sign_req *rq, int rule,
		       const char *location, struct ucdn_sign_res *out)
{
	const struct rule_sign *r = rule >= 0 && (size_t)rule < s->nrules ? &s->rules[rule] : NULL;
	struct us_verdict vd;
	char *next = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = verify_incoming(s, rq, &vd, out)) || out->status)
		return rc;
	if (!s->key || (r && !r->sign))
		goto done;
	rc = strip_tokens(s, location, &next);
	if (rc == CDNI_EEXIST) {
		refuse(out, 400, "uri signing: the package attribute occurs more than once");
		rc = 0;
		goto done;
	}
	if (!rc)
		rc = vd.accept ? sign_again(s, r, &vd, next, rq->now, &out->location)
			       : sign_fresh(s, r, next, rq->now, &out->location);
	if (rc && rc != CDNI_ENOMEM) {
		sign_failed(out, rc);
		rc = 0;
	}
done:
	free(next);
	us_verdict_clear(&vd);
	return rc;
}

int ucdn_sign_origin(struct ucdn_sign *s, const struct ucdn_sign_req *rq, const char *target,
		     struct ucdn_sign_res *out)
{
	struct us_verdict vd;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = verify_incoming(s, rq, &vd, out)) || out->status)
		return rc;
	us_verdict_clear(&vd);
	if (!s->verifier)
		return 0;
	rc = us_uri_strip(target, s->in_attr, &out->target);
	return rc == CDNI_ENOMEM ? rc : 0; /* two packages were refused by the verifier */
}

void ucdn_sign_res_clear(struct ucdn_sign_res *r)
{
	free(r->location);
	free(r->target);
	memset(r, 0, sizeof *r);
}
