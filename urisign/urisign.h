/* cdni — RFC 9246 URI signing (socket-free): verify a request, sign a URI
 * for the next hop, strip a token for cache keys, renew tokens.
 *
 *   Verify (a dCDN edge, or a uCDN before it redirects):
 *     struct us_verifier *v;
 *     us_verifier_new(&opts, &v, err, sizeof err);
 *     us_verifier_load_keys_file(v, "keys.json", err, sizeof err);
 *     struct us_request rq = { .uri = "https://dcdn.test/a/b.ts?URISigningPackage=...",
 *                              .client_ip = "192.0.2.7", .cookie = hdr, .now = time(NULL) };
 *     struct us_verdict vd;
 *     us_verify(v, &rq, &vd);   // vd.accept, vd.code (RFC 9246 §6.4), vd.reason
 *     ... vd.stripped_uri is the request URI without the token (a cache key)
 *     us_verdict_clear(&vd);
 *
 *   Sign for the next hop (a uCDN redirecting, §4 / Figure 3):
 *     struct us_signer s = { .key = key, .issuer = "ucdn.test" };
 *     us_resign(&vd, &s, &(struct us_resign_opts){ .next_uri = loc }, now, &tok, &signed);
 *   or, with no incoming token (a CSP or a uCDN signing first):
 *     us_sign_uri(&s, claims, uri, NULL, US_IN_QUERY, &signed, &tok);
 *
 *   Renew (§3): after an accepted request whose token has cdnistt 1 or 2:
 *     us_renew(&vd, &s, now, NULL, &rn);  // rn.set_cookie or rn.uri
 *
 * Log codes (§6.4): 000 no verification performed (no token), 200 verified,
 * 400 signature (and every malformed token), 401 issuer, 402 subject, 403
 * audience, 404 expiry, 405 not-before, 406 only one of cdnistt/cdniets
 * (and bad renewal claims), 407 jti, 408 version, 409 critical claims (and
 * the certificate binding extension), 410 client IP, 411 URI container,
 * 500 malformed URI (also: ambiguous carriage, such as two packages). */
#ifndef CDNI_URISIGN_H
#define CDNI_URISIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/conf.h"
#include "urisign/jose.h"
#include "urisign/uri.h"

enum us_code {
	US_CODE_NONE = 0,          /* 000 */
	US_CODE_OK = 200,
	US_CODE_SIGNATURE = 400,
	US_CODE_ISSUER = 401,
	US_CODE_SUBJECT = 402,
	US_CODE_AUDIENCE = 403,
	US_CODE_EXPIRY = 404,
	US_CODE_NOT_BEFORE = 405,
	US_CODE_RENEWAL = 406,
	US_CODE_JTI = 407,
	US_CODE_VERSION = 408,
	US_CODE_CRITICAL = 409,
	US_CODE_CLIENT_IP = 410,
	US_CODE_CONTAINER = 411,
	US_CODE_MALFORMED_URI = 500,
};

/* "000", "200", "400" ... (3 digits, the s-uri-signing log field). */
const char *us_code_text(int code);
/* The registry's description ("rejected because of Expiration Time enforcement"). */
const char *us_code_description(int code);

/* The non-standard certificate-binding claim (the CDNI HTTPS delegation
 * draft's "redirect authentication" idea): base64url SHA-256 of the target
 * surrogate's SubjectPublicKeyInfo. Producers list it in cdnicrit so that
 * verifiers that do not know it refuse the token (409). */
#define US_CLAIM_CERT_BINDING "cdnicb"

struct us_verifier_opts {
	const char *package_attribute;   /* NULL: "URISigningPackage" */
	const char *const *audience;     /* identities this CDN accepts in aud */
	size_t n_audience;
	const char *const *issuers;      /* accepted issuers; none: any issuer with keys */
	size_t n_issuers;
	const char *jwt_header;          /* §2.2: encoded JOSE header for tokens sent without one */
	size_t max_token;                /* bytes; 0: 8192 */
	size_t replay_slots;             /* jti store size; 0: 65536 */
	long long replay_ttl;            /* s, for jti tokens without exp; 0: 86400 */
	bool prefer_uri_token;           /* token in URI and a different one in a cookie:
					    take the URI's instead of refusing (500) */
};

struct us_verifier;

int us_verifier_new(const struct us_verifier_opts *o, struct us_verifier **out, char *err,
		    size_t errlen);
void us_verifier_free(struct us_verifier *v);
/* Trust a JWK set for issuer (NULL: keys bound to no issuer, which verify
 * tokens with any iss or none). Encryption keys (oct keys fit for A*GCM)
 * also decrypt cdniip and sub. */
int us_verifier_add_keys(struct us_verifier *v, const char *issuer, const json_t *jwks,
			 char *err, size_t errlen);
/* A plain JWK set ({"keys": [...]}, keys bound to no issuer) or an issuer
 * map ({"ISSUER": {"keys": [...]}, ...}, the Traffic Server uri_signing
 * format; its renewal_kid, strip_token, id and auth_directives members are
 * ignored). */
int us_verifier_load_keys(struct us_verifier *v, const json_t *doc, char *err, size_t errlen);
int us_verifier_load_keys_file(struct us_verifier *v, const char *path, char *err,
			       size_t errlen);
/* The jti store, for statistics. */
struct us_replay *us_verifier_replay(struct us_verifier *v);

struct us_request {
	const char *uri;          /* absolute URI as requested: scheme://host[:port]/path?query */
	const char *client_ip;    /* the client's address (text), NULL when unknown */
	const char *cookie;       /* Cookie header value(s), joined by "; "; NULL: none */
	long long now;            /* Unix time of the request (the clock is the caller's) */
	const uint8_t *spki_sha256; /* SHA-256 of the SPKI of the certificate this edge
				       presented (32 bytes); NULL over plain HTTP */
	const char *subject;      /* expected subject; NULL: sub is decrypted, not compared */
};

struct us_verdict {
	bool accept;
	int code;                 /* enum us_code */
	char reason[256];         /* why (no secrets, no PII) */
	enum us_where where;      /* where the token was found */
	char *token;
	char *stripped_uri;       /* the request URI without the package: for cache keys
				     and upstream requests */
	char *normalized_uri;     /* what the URI container was compared with */
	json_t *claims;           /* the claims, once the signature verified */
	char *issuer;             /* iss, when present */
	char *subject;            /* decrypted sub (PII: never log) */
	char *client_prefix;      /* decrypted cdniip (PII: never log) */
	long long verified_at;
};

/* Verify a request. Returns 0 with a verdict (accepted or not) in out, or
 * a negative code (CDNI_ENOMEM, CDNI_EINVAL) with nothing in out. */
int us_verify(struct us_verifier *v, const struct us_request *rq, struct us_verdict *out);
void us_verdict_clear(struct us_verdict *vd);

/* ---- signing ---- */

struct us_signer {
	const struct jose_key *key; /* private key (or oct secret) */
	const char *kid;            /* NULL: the key's kid */
	const char *issuer;         /* iss of the tokens made; NULL: none */
	enum jose_alg alg;          /* JOSE_ALG_UNKNOWN: the key's default */
};

/* "regex:" + the normalized URI's directory, escaped, + ".*": a container
 * for every object next to uri (a manifest's segments). */
int us_container_regex(const char *uri, char **out);
/* A signer from a private JWK (or set) file, kid picking a key of a set, alg
 * (NULL: the key's default) checked against the key; *key is the caller's
 * (jose_key_free). Errors start with "key: " or "alg: " (prefix the config
 * path). The issuer is left NULL. */
int us_signer_load(const char *file, const char *kid, const char *alg, struct jose_key **key,
		   struct us_signer *s, char *err, size_t errlen);
/* "hash:sha-256;B64" (RFC 6920 URL segment form) of uri, package removed and normalized. */
int us_container_hash(const char *uri, const char *attr, char **out);
/* Sign claims as they are. */
int us_sign_token(const struct us_signer *s, const json_t *claims, char **token);
/* Sign a token for uri and put it into the URI (style US_IN_QUERY or
 * US_IN_PATH). claims (may be NULL) is completed: iss from the signer when
 * absent, cdniuc as the hash container of uri when absent. Either output
 * may be NULL. */
int us_sign_uri(const struct us_signer *s, const json_t *claims, const char *uri,
		const char *attr, enum us_where style, char **signed_uri, char **token);
/* Set claim ("cdniip" or "sub") to a JWE of plaintext under enc_key. */
int us_claims_set_encrypted(json_t *claims, const char *claim, const char *plaintext,
			    const struct jose_key *enc_key);
/* Set cdnicb to the binding of a certificate's SPKI digest and list it in cdnicrit. */
int us_claims_bind_cert(json_t *claims, const uint8_t spki_sha256[32]);

/* ---- re-signing for redirection (§4.3, Figure 3 step 9; claim rules of §2.1) ----
 *   iss       present: replaced by the signer's issuer (required); absent: added when set
 *   sub, exp, nbf, jti, cdniip, cdniv, cdniets, cdnistt, cdnistd: copied as received,
 *             never added
 *   aud       copied, or replaced/added when opts.audience is set
 *   iat       present: the time of re-signing; absent: added when opts.add_iat
 *   cdniuc    hash: of next_uri (default), or opts.cdniuc, or kept (opts.keep_cdniuc)
 *   cdnicb    dropped, or set for opts.next_spki_sha256 (listed in cdnicrit)
 *   cdnicrit  kept for claims still present, plus cdnicb when set
 *   others    copied
 * An https request is never redirected to an http next_uri (CDNI_EDENIED). */
struct us_resign_opts {
	const char *next_uri;            /* the redirection target, without a token */
	const char *attr;                /* NULL: "URISigningPackage" */
	enum us_where style;             /* US_IN_NONE/US_IN_QUERY: query; US_IN_PATH */
	const char *audience;            /* NULL: keep aud as received */
	const char *cdniuc;              /* explicit container for the next hop */
	bool keep_cdniuc;
	bool add_iat;
	const uint8_t *next_spki_sha256; /* bind to the target's certificate */
};
/* Build (claims_out, may be NULL) and sign the next hop's token from an
 * accepted verdict. Either of token/signed_uri may be NULL. */
int us_resign_claims(const struct us_verdict *vd, const struct us_signer *s,
		     const struct us_resign_opts *o, long long now, json_t **claims_out);
int us_resign(const struct us_verdict *vd, const struct us_signer *s,
	      const struct us_resign_opts *o, long long now, char **token, char **signed_uri);

/* ---- Signed Token Renewal (§3) ---- */

struct us_renewal {
	int transport;     /* 1: cookie, 2: query string */
	long long exp;     /* verification time + cdniets */
	char *token;
	char *set_cookie;  /* transport 1: "NAME=TOKEN; Path=/d1/d2[; Secure]; HttpOnly" */
	char *uri;         /* transport 2: the request URI carrying the new token */
	json_t *claims;
};
/* From an accepted verdict: every claim is carried over, exp = verified_at
 * + cdniets, iat (when present) = now, iss = the signer's issuer when set.
 * CDNI_ENOTFOUND when no renewal is asked for (cdnistt absent or 0);
 * CDNI_EOVERFLOW when the path has fewer segments than
 * cdnistd (§2.1.14: no token is generated). */
int us_renew(const struct us_verdict *vd, const struct us_signer *s, long long now,
	     const char *attr, struct us_renewal *out);
void us_renewal_clear(struct us_renewal *r);

/* ---- config (RFC 9246 §4.4 UriSigning metadata, as a conf table) ---- */

struct us_conf {
	bool enforce;                /* "enforce" (default true) */
	struct conf_strlist issuers; /* "issuers" */
	char *package_attribute;     /* "package_attribute" */
	char *jwt_header;            /* "jwt_header" */
	char *keys;                  /* "keys": file with a JWK set or issuer map */
	struct conf_strlist audience;/* "audience": identities accepted in aud */
	long long replay_slots;      /* "replay_slots" */
	bool prefer_uri_token;       /* "prefer_uri_token" */
};
extern const struct conf_item us_conf_table[];
/* The same keys over a struct us_conf member f of T, for a program that
 * adds keys of its own next to them (us_conf_table is this over T = a
 * struct holding only a struct us_conf). */
#define US_CONF_ITEMS(T, f)                                                                  \
	CONF_BOOL("enforce", T, f.enforce, true,                                               \
		  "require a valid signed token (RFC 9246 §4.4 enforce)"),                     \
	CONF_STRS("issuers", T, f.issuers, 0, "accepted issuers; empty: any issuer that has keys"), \
	CONF_STR("package_attribute", T, f.package_attribute, US_DEFAULT_ATTR, 0,              \
		 "name of the URI Signing Package attribute"),                                 \
	CONF_STR("jwt_header", T, f.jwt_header, NULL, 0,                                       \
		 "encoded JOSE header for tokens sent without one (§2.2)"),                    \
	CONF_STR("keys", T, f.keys, NULL, 0,                                                   \
		 "file: a JWK set, or an issuer map {\"ISSUER\": {\"keys\": [...]}}"),          \
	CONF_STRS("audience", T, f.audience, 0, "identities accepted in aud"),                 \
	CONF_INT("replay_slots", T, f.replay_slots, 8, 1 << 26, 65536,                         \
		 "jti replay store size (32 bytes each)"),                                     \
	CONF_BOOL("prefer_uri_token", T, f.prefer_uri_token, false,                            \
		  "token in the URI and a different one in a cookie: use the URI's (else 500)")
/* A verifier from a loaded us_conf (keys loaded from c->keys). Messages
 * name the key ("keys: k.json: cannot read: ..."), for the caller to put
 * its path in front. */
int us_verifier_from_conf(const struct us_conf *c, struct us_verifier **out, char *err,
			  size_t errlen);

#endif
