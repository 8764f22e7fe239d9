/* cdni — URL rewriting of HAS manifests and web pages (draft §3.2, §3.2.1,
 * §3.3), socket-free: bytes in, bytes out.
 *
 * A policy (loaded from config) decides, for every URI a manifest or page
 * refers to, which CDN serves it — the uCDN itself, one dCDN, or several
 * (the draft's mixed case: by segment number, by rendition, by path
 * prefix) — and how it is signed (RFC 9246, through liburisign): a token
 * per URI, a token per directory (path-scoped, with cdnistd), or a token
 * asking for renewal (cdnistt 2).
 *
 *   struct rw_policy *p;
 *   rw_policy_new(&p, &conf, err, sizeof err);              // checks, loads the key
 *   struct rw_ctx *x;
 *   rw_ctx_new(&x, p, "https://www.csp.test/v/a.m3u8", "http://origin:8081", time(NULL));
 *   struct rw_stream *s;
 *   rw_stream_new(&s, RW_FMT_HLS, x);
 *   rw_stream_feed(s, chunk, n, &out);  ...                 // as the bytes arrive
 *   rw_stream_finish(s, &out);                              // or an error: rw_stream_error(s)
 *
 * Formats:
 *   HLS   (RFC 8216 and its LL-HLS additions) streamed line by line: media
 *         segments, EXT-X-KEY, EXT-X-SESSION-KEY, EXT-X-MAP, EXT-X-MEDIA,
 *         EXT-X-STREAM-INF and EXT-X-I-FRAME-STREAM-INF variants,
 *         EXT-X-SESSION-DATA, EXT-X-PART, EXT-X-PRELOAD-HINT,
 *         EXT-X-RENDITION-REPORT, EXT-X-CONTENT-STEERING, EXT-X-DATERANGE
 *         X-ASSET-URI and X-ASSET-LIST (interstitials); every other byte
 *         (byte ranges, comments, line ends, other X- attributes) is kept as
 *         it was.
 *   DASH  (MPD, libxml2's SAX2 push parser: no tree, no network, no DTD, no
 *         entities; the input's bytes spliced, only URI values replaced):
 *         BaseURL at every level, SegmentTemplate media/initialization
 *         (identifiers and format tags kept), SegmentList SegmentURL
 *         media/index, Initialization and RepresentationIndex sourceURL,
 *         Location, PatchLocation, xlink:href.
 *   HTML  (a bounded tokenizer, the page kept byte for byte elsewhere):
 *         src, href, srcset and poster attributes; CSS url() and @import in
 *         <style> elements and style attributes.
 *   CSS   (text/css, only when "css" is among the formats): url() and
 *         @import strings, the rest byte for byte.
 *
 * Relative references are resolved (RFC 3986 §5) against the manifest URL
 * as the client asked for it (or a DASH BaseURL chain, or an HTML <base>)
 * before the policy sees them. URIs on other hosts are left alone. */
#ifndef CDNI_REWRITE_H
#define CDNI_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/conf.h"

/* What a URI is, for the policy's "kinds". */
enum rw_kind {
	RW_K_SEGMENT = 0, /* HLS media segment, DASH media segment or template */
	RW_K_PART,        /* LL-HLS EXT-X-PART, EXT-X-PRELOAD-HINT TYPE=PART */
	RW_K_INIT,        /* EXT-X-MAP, DASH initialization */
	RW_K_INDEX,       /* DASH index segments (SegmentURL@index, RepresentationIndex) */
	RW_K_KEY,         /* EXT-X-KEY, EXT-X-SESSION-KEY */
	RW_K_PLAYLIST,    /* HLS variant and rendition playlists, DASH Location/PatchLocation */
	RW_K_DATA,        /* EXT-X-SESSION-DATA */
	RW_K_STEERING,    /* EXT-X-CONTENT-STEERING SERVER-URI */
	RW_K_BASE,        /* DASH BaseURL */
	RW_K_LINK,        /* HTML a/area href */
	RW_K_ASSET,       /* HTML src, srcset, poster, other href */
	RW_K_API,         /* API mode answers */
	RW_NKINDS
};
const char *rw_kind_name(enum rw_kind k);
/* "segment" -> RW_K_SEGMENT ...; -1 for an unknown name. */
int rw_kind_parse(const char *name);

enum rw_sign { RW_SIGN_NONE = 0, RW_SIGN_URI, RW_SIGN_PATH, RW_SIGN_RENEW, RW_SIGN_CDN };
enum rw_format { RW_FMT_NONE = 0, RW_FMT_HLS = 1, RW_FMT_DASH = 2, RW_FMT_HTML = 4, RW_FMT_CSS = 8 };
const char *rw_format_name(enum rw_format f);

/* ---- config ---- */

struct rw_cdn_conf {
	char *name;  /* referred to by rules; "ucdn" is the uCDN itself */
	char *base;  /* "https://edge.dcdn.test[:port][/prefix]" */
	int sign;    /* enum rw_sign, not RW_SIGN_CDN: default for URIs sent there */
};

struct rw_rule_conf {
	struct conf_strlist kinds; /* empty: every kind */
	char *prefix;              /* path prefix of the URI (uCDN path space) */
	char *manifest;            /* path prefix of the manifest or page that refers to it */
	char *representation;      /* DASH Representation@id */
	long long mod, rem;        /* segment number % mod == rem (mod 0: any) */
	char *cdn;                 /* "ucdn" or a cdns[].name; required */
	int sign;                  /* enum rw_sign; RW_SIGN_CDN: the CDN's */
};

struct rw_sign_conf {
	char *key;               /* private JWK (or JWK set) file */
	char *kid;               /* picks the key of a set; also the token's kid */
	char *issuer;            /* iss */
	char *audience;          /* aud, when set */
	long long lifetime;      /* exp = now + lifetime */
	long long renew_ets;     /* cdniets for path (cdnistt 1, when > 0) and renew (cdnistt 2) */
	char *package_attribute; /* query parameter name */
};

struct rw_conf {
	struct conf_strlist prefixes; /* request paths whose answers are rewritten */
	struct conf_strlist formats;  /* "hls", "dash", "html", "css" */
	char *cache_control;          /* of rewritten answers */
	long long max_line;           /* longest HLS line / HTML tag */
	long long max_output;         /* largest rewritten body */
	struct conf_strlist hosts;    /* more authorities that mean "this CSP" */
	struct conf_list cdns;        /* of struct rw_cdn_conf */
	struct conf_list rules;       /* of struct rw_rule_conf */
	char *default_cdn;            /* URIs no rule matches */
	int default_sign;             /* enum rw_sign; RW_SIGN_CDN: the CDN's */
	bool keys_on_ucdn;            /* key URIs never leave the uCDN */
	struct rw_sign_conf signing;
};

extern const struct conf_item rw_conf_table[];
extern const char *const rw_sign_names[];     /* "none", "uri", "path", "renew", "cdn" */

/* A config that rewrites something (has prefixes). */
bool rw_conf_enabled(const struct rw_conf *c);

/* ---- policy ---- */

struct rw_policy;

/* Check a loaded rw_conf (messages name the key path under "rewrite.")
 * and compile it; loads the signing key when some URI may be signed. */
int rw_policy_new(struct rw_policy **out, const struct rw_conf *c, char *err, size_t errlen);
void rw_policy_free(struct rw_policy *p);
/* Some path is rewritten. */
bool rw_policy_enabled(const struct rw_policy *p);
/* The format a request path would be rewritten as (by its extension, or
 * "/" for a page), or RW_FMT_NONE when the path is not under a prefix or
 * its format is not configured. */
enum rw_format rw_policy_candidate(const struct rw_policy *p, const char *path, size_t len);
/* The format of an answer: by Content-Type when it names one, else the
 * candidate format from the path. RW_FMT_NONE: leave the answer alone. */
enum rw_format rw_policy_format(const struct rw_policy *p, const char *content_type,
				enum rw_format candidate);
const char *rw_policy_cache_control(const struct rw_policy *p);
size_t rw_policy_max_output(const struct rw_policy *p);
/* Content-Type to send for a rewritten format. */
const char *rw_format_type(enum rw_format f);

/* ---- one manifest or page ---- */

struct rw_ctx;

/* base: the manifest's absolute URL as the client asked for it (the uCDN's
 * name; URI characters only, else CDNI_EINVAL); origin: the origin base URL
 * (absolute URIs naming it are ours too), may be NULL; now: Unix time for
 * exp. */
int rw_ctx_new(struct rw_ctx **out, const struct rw_policy *p, const char *base,
	       const char *origin, long long now);
void rw_ctx_free(struct rw_ctx *x);

struct rw_stats {
	unsigned long uris;     /* URIs seen */
	unsigned long changed;  /* URIs written differently */
	unsigned long tokens;   /* tokens signed */
	unsigned long to_ucdn;  /* ours, left on (or sent to) the uCDN */
	unsigned long to_dcdn;  /* sent to some dCDN */
	unsigned long foreign;  /* other hosts and schemes, left alone */
};
void rw_ctx_stats(const struct rw_ctx *x, struct rw_stats *st);

/* What the policy made of one URI (the API mode). */
struct rw_answer {
	char *url;         /* the URL to use (absolute) */
	const char *cdn;   /* "ucdn", a dCDN's name, or NULL for a foreign URI */
	char *token;       /* the token in url, or NULL */
	long long expires; /* exp of the token, 0 without one */
};
/* Decide for one reference (resolved against the ctx base) as kind. */
int rw_ctx_answer(struct rw_ctx *x, const char *ref, enum rw_kind kind, struct rw_answer *a);
void rw_answer_clear(struct rw_answer *a);

/* ---- streams ---- */

struct rw_stream;

int rw_stream_new(struct rw_stream **out, enum rw_format f, struct rw_ctx *x);
/* Append the rewritten bytes of what can be rewritten so far to out (HLS:
 * every complete line; DASH and HTML collect and rewrite at the end).
 * A negative code means the input is refused: rw_stream_error says why,
 * and out must be thrown away. */
int rw_stream_feed(struct rw_stream *s, const void *data, size_t len, struct buf *out);
int rw_stream_finish(struct rw_stream *s, struct buf *out);
const char *rw_stream_error(const struct rw_stream *s);
void rw_stream_free(struct rw_stream *s);

/* One call: rewrite in[0..len) as format f into out (DASH reads in where it
 * lies and sizes out exactly). err gets why on failure. */
int rw_rewrite(struct rw_ctx *x, enum rw_format f, const void *in, size_t len, struct buf *out,
	       char *err, size_t errlen);

#endif
