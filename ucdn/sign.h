/* cdni-ucdn — RFC 9246 URI signing at the front door (socket-free).
 *
 * Two jobs, each optional:
 *   verify  an incoming token (the CSP's, RFC 9246 Figure 3 step 7) when
 *           uri_signing.verify.keys is set; a rejected request gets 403 and
 *           its §6.4 log code;
 *   sign    the Location of every redirect when uri_signing.key is set
 *           (step 9): re-signed from the verified token with us_resign
 *           (claims copied or updated as §2.1 says), else a fresh token
 *           from the claims template.
 * The glue (front.c) calls ucdn_sign_redirect for a redirect decision and
 * ucdn_sign_origin for a request served from the origin.
 *
 *   struct ucdn_sign *s;            // NULL when nothing is configured
 *   ucdn_sign_new(&cf->uri_signing, &cf->route, &s, err, sizeof err);
 *   ucdn_sign_redirect(s, &rq, d.rule, d.location, &res);
 *   ... res.status (0 or 403/500), res.location (signed), res.code ("200")
 *   ucdn_sign_result_clear(&res); */
#ifndef CDNI_UCDN_SIGN_H
#define CDNI_UCDN_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/conf.h"
#include "redirect/route.h"
#include "urisign/urisign.h"

enum ucdn_container { UCDN_CONTAINER_HASH = 0, UCDN_CONTAINER_REGEX = 1 };
enum ucdn_carriage { UCDN_CARRY_QUERY = 0, UCDN_CARRY_PATH = 1 };

struct ucdn_sign_conf {
	char *key;               /* private JWK or JWK set file; NULL: Locations not signed */
	char *kid;               /* picks the key of a set */
	char *alg;               /* JWS algorithm; NULL: the key's */
	char *issuer;            /* iss of the tokens made */
	char *audience;          /* aud of the tokens made (next hop) */
	json_t *claims;          /* template: more claims for fresh tokens */
	long long lifetime;      /* fresh tokens: exp = now + lifetime; 0: no exp */
	bool iat;                /* add iat */
	bool jti;                /* fresh tokens: a random jti */
	int container;           /* enum ucdn_container */
	int carriage;            /* enum ucdn_carriage */
	char *package_attribute; /* attribute in the Locations made */
	struct us_conf verify;   /* incoming tokens; verified when verify.keys is set
				    and verify.enforce is true */
};

extern const struct conf_item ucdn_sign_table[];
extern const char *const ucdn_container_names[];
extern const char *const ucdn_carriage_names[];

struct ucdn_sign;

/* Build from the config (rc gives each rule's sign and target_cert). *out
 * is NULL when nothing is configured. Messages name the key path
 * ("uri_signing.key: k.jwk: cannot read: ...", "rules[1].target_cert: ..."). */
int ucdn_sign_new(const struct ucdn_sign_conf *c, const struct route_conf *rc,
		  struct ucdn_sign **out, char *err, size_t errlen);
void ucdn_sign_free(struct ucdn_sign *s);
/* Does it verify incoming tokens? Does it sign Locations? */
bool ucdn_sign_verifies(const struct ucdn_sign *s);
bool ucdn_sign_signs(const struct ucdn_sign *s);

struct ucdn_sign_req {
	const char *scheme;    /* "http" or "https": how the client reached us */
	const char *host;      /* Host header; NULL when none */
	const char *target;    /* request target as received (origin- or absolute-form) */
	const char *client_ip; /* the client's address, no port */
	const char *cookie;    /* Cookie header, or NULL */
	long long now;         /* Unix time */
};

struct ucdn_sign_res {
	int status;          /* 0: go on; else answer this status with reason */
	char code[4];        /* s-uri-signing of the incoming token, "" when not verified */
	char reason[256];    /* why the token was refused (s-uri-signing-deny-reason) */
	char note[320];      /* the refusal's text for the answer and the log */
	char *location;      /* redirect: the Location to send (NULL: the unsigned one) */
	char *target;        /* origin: the target without the token (NULL: unchanged) */
};

/* A redirect decision for rule (index into rules) with the unsigned
 * location. 0 with *out filled (status may be non-zero: refuse), or
 * CDNI_ENOMEM. */
int ucdn_sign_redirect(struct ucdn_sign *s, const struct ucdn_sign_req *rq, int rule,
		       const char *location, struct ucdn_sign_res *out);
/* A request served from the origin: verified, and the token removed from
 * the origin target. */
int ucdn_sign_origin(struct ucdn_sign *s, const struct ucdn_sign_req *rq, const char *target,
		     struct ucdn_sign_res *out);
void ucdn_sign_res_clear(struct ucdn_sign_res *r);

#endif
