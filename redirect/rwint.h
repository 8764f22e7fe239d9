/* cdni — rewriting internals shared by the policy, the URI mapper and the
 * format rewriters (redirect/rw*.c). Not a public interface. */
#ifndef CDNI_RWINT_H
#define CDNI_RWINT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "redirect/rewrite.h"
#include "urisign/urisign.h"

/* ---- URI references (RFC 3986 §3, §5) ---- */

/* Spans of a URI reference; offsets into s. A component is absent when its
 * has_ flag is false (an empty one is present with length 0). */
struct rw_url {
	const char *s;
	size_t len;
	size_t scheme_len;          /* 0: no scheme (a relative reference) */
	bool has_auth;
	size_t auth_off, auth_len;
	size_t path_off, path_len;
	bool has_query;
	size_t query_off, query_len;
	bool has_frag;
	size_t frag_off, frag_len;
};

void rw_url_split(const char *s, size_t len, struct rw_url *u);
/* Append the resolution of ref against base (absolute) to out (§5.2.2,
 * strict: a scheme in ref makes it absolute). */
void rw_url_resolve(struct buf *out, const struct rw_url *base, const struct rw_url *ref);
/* Host (lower case, no brackets kept as written) and port of an authority;
 * port -1 when absent. False when the authority holds user info or a bad
 * port. */
struct rw_host {
	const char *host;
	size_t host_len;
	long port; /* effective: the scheme's default when absent */
};
bool rw_url_host(const struct rw_url *u, struct rw_host *h);
bool rw_host_eq(const struct rw_host *a, const struct rw_host *b);
/* Scheme is http or https (case-insensitive). */
bool rw_url_is_http(const struct rw_url *u);

/* Bytes a URI may hold as written (RFC 3986 characters and '%'). */
bool rw_uri_clean(const char *s, size_t len);

/* ---- the compiled policy ---- */

#define RW_UCDN (-1)

struct rw_cdn {
	char *name;
	char *base;     /* normalized: lower-case scheme and host, no default port, no trailing '/' */
	struct rw_host host;
	int sign;
};

struct rw_rule {
	unsigned kinds; /* bit per enum rw_kind */
	char *prefix;
	size_t prefix_len;
	char *manifest;
	size_t manifest_len;
	char *representation;
	long long mod, rem;
	int cdn;  /* index into cdns, or RW_UCDN */
	int sign; /* enum rw_sign; RW_SIGN_CDN: the CDN's */
};

struct rw_policy {
	struct rw_cdn *cdns;
	size_t ncdns;
	struct rw_rule *rules;
	size_t nrules;
	int default_cdn;
	int default_sign;
	int ucdn_sign;        /* sign of a cdns[] entry named "ucdn", else none */
	char **prefixes;
	size_t nprefixes;
	unsigned formats;     /* enum rw_format bits */
	char **hosts;         /* "host[:port]" */
	size_t nhosts;
	bool keys_on_ucdn;
	size_t max_line;
	size_t max_output;
	char *cache_control;
	struct jose_key *key; /* NULL when nothing is signed */
	struct us_signer signer;
	char *attr;
	char *audience;
	char *issuer;         /* owned copies the signer points to */
	char *kid;
	long long lifetime;
	long long renew_ets;
};

/* What the policy decided for one URI. */
struct rw_decision {
	int cdn;  /* RW_UCDN or an index */
	int sign; /* enum rw_sign, resolved (never RW_SIGN_CDN) */
};

/* Facts about one URI the policy matches on. */
struct rw_site {
	enum rw_kind kind;
	long long number;           /* segment number, -1 when none */
	const char *representation; /* DASH Representation@id, NULL when none */
	bool template;              /* DASH SegmentTemplate: holds $identifiers$ */
};

void rw_policy_decide(const struct rw_policy *p, const struct rw_site *site, const char *path,
		      size_t path_len, const char *manifest, size_t manifest_len,
		      struct rw_decision *d);

/* ---- mapping one reference ---- */

/* The outcome of rw_map. */
struct rw_mapped {
	bool changed;        /* out holds something else than the reference */
	bool foreign;        /* not ours: left alone */
	int cdn;             /* RW_UCDN or an index (ours only) */
	const char *token;   /* the token appended (points into the ctx), or NULL */
	long long expires;
};

/* Map the reference ref[0..len) found in a document whose base URL is base
 * (NULL: the ctx base) into out (appended). absolute (may be NULL) gets the
 * absolute URL the client should end up fetching, unsigned. */
int rw_map(struct rw_ctx *x, const struct rw_site *site, const char *ref, size_t len,
	   const char *base, struct buf *out, struct buf *absolute, struct rw_mapped *m);

/* The ctx base URL and the manifest's path. */
const char *rw_ctx_base(const struct rw_ctx *x);

/* ---- format rewriters (one per format; rw_stream dispatches) ---- */

struct rw_fmt_ops {
	void *(*open)(struct rw_ctx *x, char *err, size_t errlen);
	int (*feed)(void *st, const char *data, size_t len, struct buf *out, char *err,
		    size_t errlen);
	int (*finish)(void *st, struct buf *out, char *err, size_t errlen);
	void (*close)(void *st);
	/* optional: the whole document at once, read in place (no copy) */
	int (*whole)(void *st, const char *data, size_t len, struct buf *out, char *err,
		     size_t errlen);
};

extern const struct rw_fmt_ops rw_hls_ops, rw_dash_ops, rw_html_ops, rw_css_ops;

const struct rw_policy *rw_ctx_policy(const struct rw_ctx *x);

/* Fault in the pages of [p, p + len) at once (one call instead of a trap
 * per page: first touches are what a short-lived rewrite pays most for);
 * a hint, nothing happens below 64 kB or where the kernel cannot. */
void rw_prefault(void *p, size_t len);

/* Append code point cp to b as UTF-8. */
void rw_put_utf8(struct buf *b, unsigned long cp);

/* Append s to b escaped for the format: HTML attribute values (& < > " '),
 * XML is done by libxml2. */
void rw_html_escape(struct buf *b, const char *s, size_t len);

#endif
