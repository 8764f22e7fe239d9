/* cdni — urisign internals shared by its files (not for other folders). */
#ifndef CDNI_URISIGN_INTERNAL_H
#define CDNI_URISIGN_INTERNAL_H

#include <pthread.h>

#include "urisign/replay.h"
#include "urisign/urisign.h"

/* URI containers (RFC 9246 §2.1.15). */
struct us_regex_cache;
int us_regex_cache_new(size_t n, struct us_regex_cache **out);
void us_regex_cache_free(struct us_regex_cache *c);
/* 0 when the container matches the normalized URI, CDNI_EDENIED when not;
 * other negative codes with why for containers that cannot be evaluated. */
int us_container_match(struct us_regex_cache *c, const char *container, const char *uri,
		       const char **why);

/* cdniip: does the client address fall in the prefix text ("[2001:db8::1/32]",
 * "192.0.2.0/24", "192.0.2.7")? 0 yes, CDNI_EDENIED no, CDNI_EPARSE bad text. */
int us_ip_match(const char *prefix, const char *client);

struct us_issuer {
	char *name; /* NULL: keys bound to no issuer */
	struct jose_keyset *keys;
};

struct us_verifier {
	char *attr;
	char **audience;
	size_t n_audience;
	char **issuers;
	size_t n_issuers;
	char *jwt_header;
	bool prefer_uri_token;
	struct jose_limits limits;
	struct us_issuer *iss;
	size_t n_iss;
	struct jose_keyset enc; /* borrowed pointers to every encryption-capable key */
	struct us_replay *replay;
	struct us_regex_cache *re;
};

/* Steps of the verification return 0 to go on, US_REJECTED once the
 * verdict (code and reason) is set, or a negative CDNI_E* code. */
#define US_REJECTED 1

/* Claim checks after the signature verified. */
struct us_check {
	struct us_verifier *v;
	const struct us_request *rq;
	struct us_verdict *vd;
	const json_t *claims;
};
int us_check_claims(struct us_check *c);

/* Set vd's code and reason; returns US_REJECTED. */
int us_reject(struct us_verdict *vd, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
