/* cdni — request routing decisions for a uCDN front door (socket-free).
 *
 * A policy is an ordered list of rules loaded from config. A decision is a
 * pure function of the policy and one request:
 *
 *   request (method, scheme, Host, raw path, raw query, client)
 *     -> ROUTE_ORIGIN    serve it from the origin
 *     -> ROUTE_REDIRECT  answer status 301/302/307/308 with a Location on a dCDN
 *     -> ROUTE_REFUSE    answer a 4xx with a reason (policy, 405, 400, 414;
 *                        400 also for HTTP/1.1 without Host, RFC 9112 3.2)
 *     -> ROUTE_OPTIONS   answer OPTIONS with 204 and Allow
 *
 * The path and query are the bytes the client sent, still percent-encoded.
 * Rules match the path's decoded form (so "/%76/a" cannot slip past a rule
 * for "/v/"); a Location carries the raw bytes re-escaped with
 * http_uri_escape, so it never holds CR, LF, spaces, quotes or non-ASCII.
 *
 *   struct route_policy *p;
 *   route_policy_new(&p, &conf, err, sizeof err);   // validates, names key paths
 *   route_request_target(&rq, raw_target, len);      // split "path?query"
 *   route_decide(p, &rq, &buf, &d);                  // d.location points into buf
 */
#ifndef CDNI_ROUTE_H
#define CDNI_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/conf.h"

/* Longest request target (path and query, raw) a decision accepts; longer
 * ones are refused with 414. */
#define ROUTE_MAX_TARGET 8192

enum route_action { ROUTE_ACT_REDIRECT = 0, ROUTE_ACT_PROXY = 1, ROUTE_ACT_REFUSE = 2 };
enum route_default { ROUTE_DEF_PROXY = 0, ROUTE_DEF_REFUSE = 1 };

/* One element of "rules" as loaded by route_rule_table. */
struct route_rule_conf {
	char *prefix;     /* path prefix, decoded form, starts with "/" */
	int action;       /* enum route_action */
	long long status; /* 0: the action's default (302 / 403) */
	char *target;     /* redirect: "https://host[:port][/path-prefix]" */
	char *host;       /* optional: only requests for this Host ("*.x" allowed) */
	bool sign;        /* redirect: sign the Location when the program signs (default true) */
	char *target_cert;/* redirect: PEM certificate of the target, for a token bound to it */
	bool ask;         /* redirect: ask the dCDNs over RFC 7975 first (cdni-ucdn "rri") */
};

struct route_conf {
	struct conf_list rules; /* of struct route_rule_conf */
	int default_action;     /* enum route_default */
	char *cache_control;    /* Cache-Control of redirects and refusals */
};

extern const struct conf_item route_rule_table[];
/* The routing keys of a program's config table, over a struct route_conf
 * member f of T: "rules", "default_action", "redirect_cache_control". */
#define ROUTE_CONF_ITEMS(T, f)                                                              \
	CONF_LIST("rules", T, f.rules, route_rule_table, struct route_rule_conf, 0,          \
		  "ordered rules, first match wins: [{prefix, action, status, target, host}]"), \
	CONF_ENUM("default_action", T, f.default_action, route_default_names, ROUTE_DEF_PROXY, \
		  "what unmatched paths get: proxy (from the origin) or refuse (403)"),         \
	CONF_STR("redirect_cache_control", T, f.cache_control, "no-store", 0,               \
		 "Cache-Control sent with redirects and refusals")
extern const char *const route_default_names[];

struct route_policy;

/* Check a loaded route_conf and compile it. Messages name the key path
 * ("rules[1].status: ..."). Returns 0, CDNI_ECONFIG or CDNI_ENOMEM. */
int route_policy_new(struct route_policy **out, const struct route_conf *rc, char *err,
		     size_t errlen);
void route_policy_free(struct route_policy *p);
/* True when some request may be served from the origin (then an origin is needed). */
bool route_policy_uses_origin(const struct route_policy *p);

struct route_request {
	const char *method; /* as received, case-sensitive */
	const char *version; /* "HTTP/1.1", "HTTP/1.0"; may be NULL */
	const char *scheme; /* "http" or "https": how the client reached us */
	const char *host;   /* Host header (or the authority of an absolute-form target); may be NULL */
	size_t host_len;
	const char *path;   /* raw, percent-encoded as received; "*" for OPTIONS * */
	size_t path_len;
	const char *query;  /* raw, without the '?'; NULL when the target had none */
	size_t query_len;
	const char *client; /* "ip:port" of the client; not used by rules yet */
};

/* Fill rq->path/query (and rq->host for an absolute-form target
 * "http://host/path") from a raw request target of len bytes. Pointers refer
 * into raw. Other fields are left alone. */
void route_request_target(struct route_request *rq, const char *raw, size_t len);

enum route_kind { ROUTE_ORIGIN, ROUTE_REDIRECT, ROUTE_REFUSE, ROUTE_OPTIONS };

struct route_decision {
	enum route_kind kind;
	int status;                /* 3xx redirect, 4xx refuse, 204 options, 0 origin */
	const char *reason;        /* static text: why (refuse), or NULL */
	const char *location;      /* redirect: absolute URL; origin: "/path?query"; in buf */
	size_t location_len;
	const char *allow;         /* Allow header for 405 and OPTIONS, else NULL */
	const char *cache_control; /* for redirects and refusals, from the policy */
	int rule;                  /* index of the matching rule, -1 for none */
};

#define ROUTE_ALLOW "GET, HEAD, OPTIONS"

/* Decide. out is reset and receives the Location (redirect) or the escaped
 * origin target (origin); its storage is reused between calls. Returns 0 with
 * *d filled, or CDNI_ENOMEM (d untouched). */
int route_decide(const struct route_policy *p, const struct route_request *rq, struct buf *out,
		 struct route_decision *d);

/* Append path (and "?query" when query is not NULL) to b, escaped for a
 * Location or an upstream URL: http_uri_escape, plus '#' as %23. */
void route_escape_target(struct buf *b, const char *path, size_t plen, const char *query,
			 size_t qlen);

/* Name of an action ("redirect", "proxy", "refuse"). */
const char *route_action_name(int action);

#endif
