/* The claim rules of RFC 9246 §2.1, each with its §6.4 log code, checked
 * after the signature verified. */
#include "urisign/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "urisign/b64.h"

int us_reject(struct us_verdict *vd, int code, const char *fmt, ...)
{
	va_list ap;

	vd->accept = false;
	vd->code = code;
	va_start(ap, fmt);
	vsnprintf(vd->reason, sizeof vd->reason, fmt, ap);
	va_end(ap);
	return US_REJECTED;
}

static const json_t *claim(const struct us_check *c, const char *name)
{
	return json_object_get(c->claims, name);
}

/* A NumericDate (RFC 7519 §2): a JSON number. */
static bool numeric_date(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

/* §2.1.8 */
static int check_cdniv(struct us_check *c)
{
	const json_t *v = claim(c, "cdniv");

	if (!v)
		return 0;
	if (!json_is_integer(v))
		return us_reject(c->vd, US_CODE_VERSION, "cdniv is not an integer");
	if (json_integer_value(v) != 1)
		return us_reject(c->vd, US_CODE_VERSION, "unsupported cdniv %lld (only 1)",
				 (long long)json_integer_value(v));
	return 0;
}

/* Claim names RFC 9246 and RFC 7519 define: producers must not list them in cdnicrit. */
static bool registered_claim(const char *n, size_t len)
{
	static const char *const names[] = { "iss", "sub", "aud", "exp", "nbf", "iat", "jti",
					     "cdniv", "cdnicrit", "cdniip", "cdniuc",
					     "cdniets", "cdnistt", "cdnistd" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == len && memcmp(names[i], n, len) == 0)
			return true;
	return false;
}

/* Extension claims this implementation understands and processes. */
static bool understood(const char *n, size_t len)
{
	return len == strlen(US_CLAIM_CERT_BINDING) && memcmp(n, US_CLAIM_CERT_BINDING, len) == 0;
}

#define CRIT_MAX 16
#define CRIT_NAME 64

/* One name of the cdnicrit list: trimmed, checked, stored in names[*n]. */
static int crit_name(struct us_check *c, const char *s, size_t len,
		     char names[CRIT_MAX][CRIT_NAME], size_t *n)
{
	char *name = names[*n];

	while (len && *s == ' ')
		s++, len--;
	while (len && s[len - 1] == ' ')
		len--;
	if (len == 0)
		return us_reject(c->vd, US_CODE_CRITICAL, "cdnicrit has an empty name");
	if (len >= CRIT_NAME || *n == CRIT_MAX)
		return us_reject(c->vd, US_CODE_CRITICAL, "cdnicrit is too long");
	memcpy(name, s, len);
	name[len] = '\0';
	for (size_t j = 0; j < *n; j++)
		if (strcmp(names[j], name) == 0)
			return us_reject(c->vd, US_CODE_CRITICAL, "cdnicrit lists %s twice", name);
	if (registered_claim(name, len))
		return us_reject(c->vd, US_CODE_CRITICAL, "cdnicrit lists registered claim %s", name);
	if (!claim(c, name))
		return us_reject(c->vd, US_CODE_CRITICAL, "cdnicrit lists %s, absent from the claims",
				 name);
	if (!understood(name, len))
		return us_reject(c->vd, US_CODE_CRITICAL, "critical claim %s is not understood", name);
	(*n)++;
	return 0;
}

/* §2.1.9 */
static int check_cdnicrit(struct us_check *c)
{
	const json_t *v = claim(c, "cdnicrit");
	char names[CRIT_MAX][CRIT_NAME];
	const char *s, *p;
	size_t n = 0;
	int rc;

	if (!v)
		return 0;
	if (!(s = json_string_value(v)))
		return us_reject(c->vd, US_CODE_CRITICAL, "cdnicrit is not a string");
	if (!*s)
		return us_reject(c->vd, US_CODE_CRITICAL, "cdnicrit is the empty list");
	for (p = s;; p += strcspn(p, ",") + 1) {
		if ((rc = crit_name(c, p, strcspn(p, ","), names, &n)) != 0)
			return rc;
		if (!p[strcspn(p, ",")])
			break;
	}
	return 0;
}

/* §2.1.4, §2.1.5, §2.1.6: no leeway. */
static int check_times(struct us_check *c)
{
	const json_t *exp = claim(c, "exp"), *nbf = claim(c, "nbf"), *iat = claim(c, "iat");
	double t;

	if (exp && !numeric_date(exp, &t))
		return us_reject(c->vd, US_CODE_EXPIRY, "exp is not a NumericDate");
	if (exp && t <= (double)c->rq->now)
		return us_reject(c->vd, US_CODE_EXPIRY, "expired: exp %.0f <= now %lld", t,
				 c->rq->now);
	if (nbf && !numeric_date(nbf, &t))
		return us_reject(c->vd, US_CODE_NOT_BEFORE, "nbf is not a NumericDate");
	if (nbf && t > (double)c->rq->now)
		return us_reject(c->vd, US_CODE_NOT_BEFORE, "not yet valid: nbf %.0f > now %lld",
				 t, c->rq->now);
	if (iat && !numeric_date(iat, &t))
		return us_reject(c->vd, US_CODE_SIGNATURE, "iat is not a NumericDate");
	return 0;
}

static bool our_audience(const struct us_verifier *v, const char *a)
{
	for (size_t i = 0; a && i < v->n_audience; i++)
		if (strcmp(v->audience[i], a) == 0)
			return true;
	return false;
}

/* §2.1.3 */
static int check_aud(struct us_check *c)
{
	const json_t *v = claim(c, "aud"), *e;
	size_t i;

	if (!v)
		return 0;
	if (json_is_string(v)) {
		if (our_audience(c->v, json_string_value(v)))
			return 0;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return us_reject(c->vd, US_CODE_AUDIENCE, "aud holds a non-string");
			if (our_audience(c->v, json_string_value(e)))
				return 0;
		}
	} else {
		return us_reject(c->vd, US_CODE_AUDIENCE, "aud is neither a string nor an array");
	}
	return us_reject(c->vd, US_CODE_AUDIENCE, "%s",
			 c->v->n_audience ? "aud names none of this CDN's identities"
					  : "aud present but this CDN has no audience configured");
}

/* Decrypt a JWE claim into *out (NUL-terminated). */
static int decrypt_claim(struct us_check *c, const char *name, int code, char **out)
{
	const char *s = json_string_value(claim(c, name)), *why = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	int rc;

	if (!s)
		return us_reject(c->vd, code, "%s is not a string", name);
	rc = jose_jwe_decrypt(s, strlen(s), &c->v->enc, &pt, &n, &why);
	if (rc == CDNI_ENOMEM)
		return rc;
	if (rc)
		return us_reject(c->vd, code, "%s: %s", name, why ? why : "cannot decrypt");
	if (strlen((char *)pt) != n) {
		free(pt);
		return us_reject(c->vd, code, "%s: plaintext holds a NUL byte", name);
	}
	*out = (char *)pt;
	return 0;
}

/* §2.1.2 */
static int check_sub(struct us_check *c)
{
	int rc;

	if (!claim(c, "sub"))
		return 0;
	if ((rc = decrypt_claim(c, "sub", US_CODE_SUBJECT, &c->vd->subject)) != 0)
		return rc;
	if (c->rq->subject && strcmp(c->rq->subject, c->vd->subject) != 0)
		return us_reject(c->vd, US_CODE_SUBJECT, "sub does not match the expected subject");
	return 0;
}

/* §2.1.10 */
static int check_cdniip(struct us_check *c)
{
	int rc;

	if (!claim(c, "cdniip"))
		return 0;
	if ((rc = decrypt_claim(c, "cdniip", US_CODE_CLIENT_IP, &c->vd->client_prefix)) != 0)
		return rc;
	rc = us_ip_match(c->vd->client_prefix, c->rq->client_ip);
	if (rc == CDNI_EPARSE)
		return us_reject(c->vd, US_CODE_CLIENT_IP, "cdniip is not an address or prefix");
	if (rc)
		return us_reject(c->vd, US_CODE_CLIENT_IP, "%s",
				 c->rq->client_ip ? "client address outside cdniip"
						  : "cdniip present but the client address is unknown");
	return 0;
}

/* The certificate binding extension (non-standard). */
static int check_cdnicb(struct us_check *c)
{
	const json_t *v = claim(c, US_CLAIM_CERT_BINDING);
	char mine[44];

	if (!v)
		return 0;
	if (!json_is_string(v))
		return us_reject(c->vd, US_CODE_CRITICAL, "cdnicb is not a string");
	if (!c->rq->spki_sha256)
		return us_reject(c->vd, US_CODE_CRITICAL,
				 "cdnicb binds the token to a certificate, none was presented");
	b64url_encode(c->rq->spki_sha256, 32, mine);
	if (strcmp(mine, json_string_value(v)) != 0)
		return us_reject(c->vd, US_CODE_CRITICAL,
				 "cdnicb names another certificate than this edge's");
	return 0;
}

/* §2.1.12–§2.1.14, §3.2.1 */
static int check_renewal(struct us_check *c)
{
	const json_t *stt = claim(c, "cdnistt"), *ets = claim(c, "cdniets");
	const json_t *std = claim(c, "cdnistd");
	double e;

	if (!stt != !ets)
		return us_reject(c->vd, US_CODE_RENEWAL, "only one of cdnistt and cdniets is present");
	if (stt && (!json_is_integer(stt) || json_integer_value(stt) < 0 ||
		    json_integer_value(stt) > 2))
		return us_reject(c->vd, US_CODE_RENEWAL, "cdnistt is not 0, 1 or 2");
	if (ets && (!numeric_date(ets, &e) || e < 0))
		return us_reject(c->vd, US_CODE_RENEWAL, "cdniets is not a non-negative number");
	if (std && (!json_is_integer(std) || json_integer_value(std) < 0))
		return us_reject(c->vd, US_CODE_RENEWAL, "cdnistd is not a non-negative integer");
	return 0;
}

/* §2.1.11, §2.1.15 */
static int check_cdniuc(struct us_check *c)
{
	const json_t *v = claim(c, "cdniuc");
	const char *why = NULL;
	int rc;

	if (!v)
		return us_reject(c->vd, US_CODE_CONTAINER, "cdniuc is missing (mandatory)");
	if (!json_is_string(v))
		return us_reject(c->vd, US_CODE_CONTAINER, "cdniuc is not a string");
	rc = us_container_match(c->v->re, json_string_value(v), c->vd->normalized_uri, &why);
	if (rc)
		return us_reject(c->vd, US_CODE_CONTAINER, "%s", why ? why : "container mismatch");
	return 0;
}

/* §2.1.7: a jti is used once per content (the normalized URI). Checked last,
 * so that a request refused for another reason does not use it up. */
static int check_jti(struct us_check *c)
{
	const json_t *v = claim(c, "jti"), *exp = claim(c, "exp");
	const char *iss = c->vd->issuer ? c->vd->issuer : "";
	const char *jti, *uri = c->vd->normalized_uri;
	double e = 0;
	char *key;
	size_t il, jl, ul;
	int rc;

	if (!v)
		return 0;
	if (!(jti = json_string_value(v)))
		return us_reject(c->vd, US_CODE_JTI, "jti is not a string");
	il = strlen(iss), jl = strlen(jti), ul = strlen(uri);
	if (!(key = malloc(il + jl + ul + 2)))
		return CDNI_ENOMEM;
	memcpy(key, iss, il + 1);
	memcpy(key + il + 1, jti, jl + 1);
	memcpy(key + il + jl + 2, uri, ul);
	if (exp)
		numeric_date(exp, &e);
	rc = us_replay_use(c->v->replay, key, il + jl + ul + 2, (long long)ceil(e), c->rq->now);
	free(key);
	if (rc)
		return us_reject(c->vd, US_CODE_JTI, "jti already used for this content");
	return 0;
}

int us_check_claims(struct us_check *c)
{
	static int (*const checks[])(struct us_check *) = {
		check_cdniv, check_cdnicrit, check_times, check_aud, check_sub, check_cdniip,
		check_cdnicb, check_renewal, check_cdniuc, check_jti,
	};
	int rc;

	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
		if ((rc = checks[i](c)) != 0)
			return rc;
	return 0;
}
