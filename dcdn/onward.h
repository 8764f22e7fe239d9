/* cdni-dcdn — delegating onwards: a dCDN (dCDN1 of a cascade uCDN -> dCDN1
 * -> dCDN2) that answers some requests with a redirect to the next dCDN's
 * edge instead of serving them, a policy hook of the request pipeline
 * (socket-free).
 *
 * A request is delegated when its client is in `clients` (none: every
 * client) and its Host in `hosts` (none: every host). The answer is a 3xx
 * whose Location is `to` + the request's path and query, the incoming token
 * removed. When URI signing accepted a token (dcdn/usign.c runs first), the
 * Location carries a new token this dCDN signs from it, as RFC 9246 §4 and
 * the claim rules of §2.1 say (us_resign): iss replaced by `issuer`, aud set
 * to `audience`, iat updated, cdniuc recomputed for the new URI (hash, or
 * regex of its directory), exp, nbf, sub, jti, cdniip and the renewal claims
 * copied as received, cdnicb bound to `target_cert` when set. An https
 * request is never delegated to an http Location (500). The access log's
 * note says "delegated to <to>".
 *
 *   struct onward *o;   // NULL when onward.to is not set
 *   onward_new(&conf->onward, &o, err, sizeof err);
 *   edge_add_hook(e, &(struct req_hook){ "onward", onward_hook, o }); */
#ifndef CDNI_DCDN_ONWARD_H
#define CDNI_DCDN_ONWARD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "dcdn/req.h"

enum { ONWARD_HASH = 0, ONWARD_REGEX = 1 };
enum { ONWARD_QUERY = 0, ONWARD_PATH = 1 };

struct dcdn_onward_conf {
	char *to;                     /* the next dCDN's edge, "https://edge.dcdn2.test[:port]" */
	long long status;             /* 301, 302, 303, 307, 308 */
	struct conf_strlist clients;  /* CIDRs delegated; none: every client */
	struct conf_strlist hosts;    /* Host names delegated (no port); none: every host */
	char *key;                    /* private JWK (or set) that signs the next hop's tokens */
	char *kid;
	char *alg;
	char *issuer;                 /* iss of the tokens made (this dCDN) */
	char *audience;               /* aud of the tokens made (the next dCDN) */
	bool iat;                     /* add iat when the token had none */
	int container;                /* ONWARD_HASH or ONWARD_REGEX */
	int carriage;                 /* ONWARD_QUERY or ONWARD_PATH */
	char *package_attribute;      /* in the Locations made */
	char *target_cert;            /* PEM of the next dCDN's certificate: bind the token */
};

extern const struct conf_item dcdn_onward_table[];

struct onward;

/* *out is NULL when onward.to is not set. Messages name the key
 * ("onward.key: ...", "onward.clients[1]: ..."). */
int onward_new(const struct dcdn_onward_conf *c, struct onward **out, char *err, size_t errlen);
void onward_free(struct onward *o);

/* The policy hook (req_hook_fn): needs ri's scheme, host, target,
 * client_ip, now, and usign_vd when a token was accepted. */
int onward_hook(void *cls, struct req_info *ri, struct req_verdict *v);

#endif
