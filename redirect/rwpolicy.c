/* The rewriting policy: config table, checks (messages name the key path),
 * and the per-URI decision (which CDN, how signed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "common/err.h"
#include "redirect/rwint.h"

static const char *const kind_names[RW_NKINDS + 1] = {
	"segment", "part", "init", "index", "key", "playlist", "data", "steering",
	"base", "link", "asset", "api", NULL
};
const char *const rw_sign_names[] = { "none", "uri", "path", "renew", "cdn", NULL };
static const char *const cdn_sign_names[] = { "none", "uri", "path", "renew", NULL };

const char *rw_kind_name(enum rw_kind k)
{
	return (unsigned)k < RW_NKINDS ? kind_names[k] : "?";
}

const char *rw_format_name(enum rw_format f)
{
	switch (f) {
	case RW_FMT_HLS: return "hls";
	case RW_FMT_DASH: return "dash";
	case RW_FMT_HTML: return "html";
	case RW_FMT_CSS: return "css";
	default: return "none";
	}
}

const char *rw_format_type(enum rw_format f)
{
	switch (f) {
	case RW_FMT_HLS: return "application/vnd.apple.mpegurl";
	case RW_FMT_DASH: return "application/dash+xml";
	case RW_FMT_HTML: return "text/html; charset=utf-8";
	case RW_FMT_CSS: return "text/css; charset=utf-8";
	default: return "application/octet-stream";
	}
}

static const struct conf_item cdn_table[] = {
	CONF_STR("name", struct rw_cdn_conf, name, NULL, CONF_REQUIRED,
		 "name the rules use (letters, digits, . _ -; not \"ucdn\")"),
	CONF_STR("base", struct rw_cdn_conf, base, NULL, CONF_REQUIRED,
		 "http(s)://host[:port][/prefix] the URIs sent there start with"),
	CONF_ENUM("sign", struct rw_cdn_conf, sign, cdn_sign_names, RW_SIGN_NONE,
		  "how URIs sent there are signed: none, uri, path, renew"),
	CONF_END
};

static const struct conf_item rule_table[] = {
	CONF_STRS("kinds", struct rw_rule_conf, kinds, 0,
		  "URI kinds matched (segment part init index key playlist data steering base "
		  "link asset api); empty: all"),
	CONF_STR("prefix", struct rw_rule_conf, prefix, NULL, 0, "path prefix of the URI"),
	CONF_STR("manifest", struct rw_rule_conf, manifest, NULL, 0,
		 "path prefix of the manifest or page holding the URI (HLS rendition)"),
	CONF_STR("representation", struct rw_rule_conf, representation, NULL, 0,
		 "DASH Representation@id the URI belongs to"),
	CONF_INT("mod", struct rw_rule_conf, mod, 0, 1000000, 0,
		 "with rem: segment number % mod == rem (0: any URI)"),
	CONF_INT("rem", struct rw_rule_conf, rem, 0, 999999, 0, "see mod"),
	CONF_STR("cdn", struct rw_rule_conf, cdn, NULL, CONF_REQUIRED,
		 "\"ucdn\" or the name of one of cdns"),
	CONF_ENUM("sign", struct rw_rule_conf, sign, rw_sign_names, RW_SIGN_CDN,
		  "none, uri, path, renew, or cdn (the CDN's sign)"),
	CONF_END
};

static const struct conf_item sign_table[] = {
	CONF_STR("key", struct rw_sign_conf, key, NULL, 0,
		 "private JWK (or JWK set) file; needed when anything is signed"),
	CONF_STR("kid", struct rw_sign_conf, kid, NULL, 0, "key id (picks the key of a set)"),
	CONF_STR("issuer", struct rw_sign_conf, issuer, NULL, 0, "iss of the tokens"),
	CONF_STR("audience", struct rw_sign_conf, audience, NULL, 0, "aud of the tokens"),
	CONF_INT("lifetime", struct rw_sign_conf, lifetime, 1, 31536000, 600,
		 "seconds a token is valid (exp = now + lifetime)"),
	CONF_INT("renew_ets", struct rw_sign_conf, renew_ets, 0, 31536000, 60,
		 "cdniets of renewable tokens (path: cdnistt 1 when > 0; renew: cdnistt 2)"),
	CONF_STR("package_attribute", struct rw_sign_conf, package_attribute, US_DEFAULT_ATTR, 0,
		 "query parameter that carries the token"),
	CONF_END
};

const struct conf_item rw_conf_table[] = {
	CONF_STRS("prefixes", struct rw_conf, prefixes, 0,
		  "request path prefixes whose manifests and pages are rewritten; empty: none"),
	CONF_STRS("formats", struct rw_conf, formats, 0,
		  "formats rewritten: hls, dash, html, css; empty: hls, dash and html"),
	CONF_STR("cache_control", struct rw_conf, cache_control, "no-store", 0,
		 "Cache-Control of rewritten answers (tokens are per client)"),
	CONF_INT("max_line", struct rw_conf, max_line, 256, 16 << 20, 65536,
		 "longest HLS line or HTML tag (bytes); longer: refused (502)"),
	CONF_INT("max_output", struct rw_conf, max_output, 4096, 1LL << 30, 64LL << 20,
		 "largest rewritten body (bytes); larger: 502"),
	CONF_STRS("hosts", struct rw_conf, hosts, 0,
		  "other host[:port] names whose absolute URIs are this CSP's"),
	CONF_LIST("cdns", struct rw_conf, cdns, cdn_table, struct rw_cdn_conf, 0,
		  "dCDNs URIs may be sent to: [{name, base, sign}]"),
	CONF_LIST("rules", struct rw_conf, rules, rule_table, struct rw_rule_conf, 0,
		  "ordered, first match wins: [{kinds, prefix, manifest, representation, mod, rem, "
		  "cdn, sign}]"),
	CONF_STR("default_cdn", struct rw_conf, default_cdn, "ucdn", 0,
		 "where URIs no rule matches go: \"ucdn\" or a cdns name"),
	CONF_ENUM("default_sign", struct rw_conf, default_sign, rw_sign_names, RW_SIGN_CDN,
		  "how URIs no rule matches are signed (cdn: the CDN's sign)"),
	CONF_BOOL("keys_on_ucdn", struct rw_conf, keys_on_ucdn, true,
		  "key URIs (EXT-X-KEY, EXT-X-SESSION-KEY) stay on the uCDN"),
	CONF_OBJ("signing", struct rw_conf, signing, sign_table, 0,
		 "RFC 9246 signing: {key, kid, issuer, audience, lifetime, renew_ets, "
		 "package_attribute}"),
	CONF_END
};

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') && !(*s >= '0' && *s <= '9') &&
		    !strchr("._-", *s))
			return false;
	return true;
}

/* "http(s)://host[:port][/prefix]" -> normalized, no trailing '/'. */
static int cdn_base(struct rw_cdn *c, const char *base)
{
	struct rw_url u;
	struct buf b;
	size_t plen;

	rw_url_split(base, strlen(base), &u);
	if (!rw_url_is_http(&u) || !rw_url_host(&u, &c->host) || u.has_query || u.has_frag ||
	    !rw_uri_clean(base, strlen(base)) || memchr(base, '%', strlen(base)))
		return CDNI_EINVAL;
	buf_init(&b, 0);
	for (size_t i = 0; i < u.scheme_len; i++)
		buf_putc(&b, (char)(base[i] | 0x20));
	buf_append(&b, "://", 3);
	for (size_t i = 0; i < c->host.host_len; i++) {
		char ch = c->host.host[i];
		buf_putc(&b, ch >= 'A' && ch <= 'Z' ? (char)(ch | 0x20) : ch);
	}
	if (c->host.port != (u.scheme_len == 5 ? 443 : 80))
		buf_printf(&b, ":%ld", c->host.port);
	plen = u.path_len;
	while (plen && base[u.path_off + plen - 1] == '/')
		plen--;
	buf_append(&b, base + u.path_off, plen);
	if (b.err)
		return b.err;
	c->base = buf_steal(&b, NULL);
	/* the host span must point into the normalized copy */
	rw_url_split(c->base, strlen(c->base), &u);
	return rw_url_host(&u, &c->host) ? 0 : CDNI_EINVAL;
}

static int load_cdns(struct rw_policy *p, const struct rw_conf *c, char *err, size_t errlen)
{
	const struct rw_cdn_conf *cc = c->cdns.v;

	if (c->cdns.n && !(p->cdns = calloc(c->cdns.n, sizeof *p->cdns)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < c->cdns.n; i++) {
		struct rw_cdn *d = &p->cdns[i];
		if (!name_ok(cc[i].name) || strcmp(cc[i].name, "ucdn") == 0)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.cdns[%zu].name: must be 1-64 letters, digits, "
				    ". _ or -, and not \"ucdn\"", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->cdns[j].name, cc[i].name) == 0)
				return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.cdns[%zu].name: \"%s\" is used twice",
					    i, cc[i].name);
		if (!(d->name = strdup(cc[i].name)))
			return CDNI_ENOMEM;
		p->ncdns++;
		d->sign = cc[i].sign;
		if (cdn_base(d, cc[i].base))
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.cdns[%zu].base: must be http(s)://host[:port]"
				    "[/prefix] without user info, query, fragment or escapes, got %s",
				    i, cc[i].base);
	}
	return 0;
}

/* "ucdn" -> RW_UCDN, a name -> its index, else -2. */
static int cdn_index(const struct rw_policy *p, const char *name)
{
	if (strcmp(name, "ucdn") == 0)
		return RW_UCDN;
	for (size_t i = 0; i < p->ncdns; i++)
		if (strcmp(p->cdns[i].name, name) == 0)
			return (int)i;
	return -2;
}

int rw_kind_parse(const char *name)
{
	for (int k = 0; k < RW_NKINDS; k++)
		if (strcmp(kind_names[k], name) == 0)
			return k;
	return -1;
}

static char *dup_len(const char *s, size_t *len)
{
	char *d = s ? strdup(s) : NULL;

	*len = d ? strlen(d) : 0;
	return d;
}

static int load_rule(struct rw_policy *p, struct rw_rule *r, const struct rw_rule_conf *rc,
		     size_t i, char *err, size_t errlen)
{
	for (size_t k = 0; k < rc->kinds.n; k++) {
		int bit = rw_kind_parse(rc->kinds.v[k]);
		if (bit < 0)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.rules[%zu].kinds[%zu]: unknown kind \"%s\"",
				    i, k, rc->kinds.v[k]);
		r->kinds |= 1u << bit;
	}
	if (!rc->kinds.n)
		r->kinds = (1u << RW_NKINDS) - 1;
	if ((rc->prefix && rc->prefix[0] != '/') || (rc->manifest && rc->manifest[0] != '/'))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.rules[%zu].%s: must start with /", i,
			    rc->prefix && rc->prefix[0] != '/' ? "prefix" : "manifest");
	if ((rc->mod == 0 && rc->rem != 0) || (rc->mod > 0 && rc->rem >= rc->mod))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.rules[%zu].rem: must be below mod (and 0 "
			    "without mod)", i);
	if ((r->cdn = cdn_index(p, rc->cdn)) < RW_UCDN)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.rules[%zu].cdn: no CDN named \"%s\" in "
			    "rewrite.cdns", i, rc->cdn);
	r->mod = rc->mod;
	r->rem = rc->rem;
	r->sign = rc->sign;
	r->prefix = dup_len(rc->prefix, &r->prefix_len);
	r->manifest = dup_len(rc->manifest, &r->manifest_len);
	r->representation = rc->representation ? strdup(rc->representation) : NULL;
	if ((rc->prefix && !r->prefix) || (rc->manifest && !r->manifest) ||
	    (rc->representation && !r->representation))
		return CDNI_ENOMEM;
	return 0;
}

static int load_rules(struct rw_policy *p, const struct rw_conf *c, char *err, size_t errlen)
{
	const struct rw_rule_conf *rc = c->rules.v;
	int rv;

	if (c->rules.n && !(p->rules = calloc(c->rules.n, sizeof *p->rules)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < c->rules.n; i++)
		if (p->nrules++, (rv = load_rule(p, &p->rules[i], &rc[i], i, err, errlen)))
			return rv;
	if ((p->default_cdn = cdn_index(p, c->default_cdn)) < RW_UCDN)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.default_cdn: no CDN named \"%s\" in rewrite.cdns",
			    c->default_cdn);
	p->default_sign = c->default_sign;
	return 0;
}

static int copy_list(char ***out, size_t *n, const struct conf_strlist *l)
{
	if (!l->n)
		return 0;
	if (!(*out = calloc(l->n, sizeof **out)))
		return CDNI_ENOMEM;
	for (*n = 0; *n < l->n; (*n)++)
		if (!((*out)[*n] = strdup(l->v[*n])))
			return CDNI_ENOMEM;
	return 0;
}

static int load_lists(struct rw_policy *p, const struct rw_conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->prefixes.n; i++)
		if (c->prefixes.v[i][0] != '/')
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.prefixes[%zu]: must start with /", i);
	for (size_t i = 0; i < c->formats.n; i++) {
		const char *f = c->formats.v[i];
		unsigned bit = !strcmp(f, "hls") ? RW_FMT_HLS : !strcmp(f, "dash") ? RW_FMT_DASH
			     : !strcmp(f, "html") ? RW_FMT_HTML : !strcmp(f, "css") ? RW_FMT_CSS : 0;
		if (!bit)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.formats[%zu]: must be hls, dash, html or css, "
				    "got \"%s\"", i, f);
		p->formats |= bit;
	}
	if (!c->formats.n)
		p->formats = RW_FMT_HLS | RW_FMT_DASH | RW_FMT_HTML;
	for (size_t i = 0; i < c->hosts.n; i++)
		if (!c->hosts.v[i][0] || strpbrk(c->hosts.v[i], "/?#@ \t"))
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.hosts[%zu]: must be host or host:port", i);
	if (copy_list(&p->prefixes, &p->nprefixes, &c->prefixes) ||
	    copy_list(&p->hosts, &p->nhosts, &c->hosts))
		return CDNI_ENOMEM;
	return 0;
}

static int cdn_sign(const struct rw_policy *p, int cdn)
{
	return cdn == RW_UCDN ? RW_SIGN_NONE : p->cdns[cdn].sign;
}

static bool signs_anything(const struct rw_policy *p)
{
	if ((p->default_sign == RW_SIGN_CDN ? cdn_sign(p, p->default_cdn) : p->default_sign))
		return true;
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].sign == RW_SIGN_CDN ? cdn_sign(p, p->rules[i].cdn) : p->rules[i].sign)
			return true;
	return false;
}

static int load_signing(struct rw_policy *p, const struct rw_sign_conf *s, char *err,
			size_t errlen)
{
	char inner[256];
	const char *why = NULL;

	p->lifetime = s->lifetime;
	p->renew_ets = s->renew_ets;
	if (!(p->attr = strdup(s->package_attribute)) ||
	    (s->audience && !(p->audience = strdup(s->audience))))
		return CDNI_ENOMEM;
	if (!p->attr[0] || strpbrk(p->attr, "=&;?#/ \t\"<>"))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.signing.package_attribute: not a usable name");
	if (!signs_anything(p))
		return 0;
	if (!s->key)
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.signing.key: is required when some URI is signed");
	if (jose_key_load_file(s->key, s->kid, true, &p->key, inner, sizeof inner))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.signing.key: %s", inner);
	if (!jose_key_fits(p->key, jose_key_default_alg(p->key), &why) ||
	    !jose_alg_is_sig(jose_key_default_alg(p->key)))
		return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.signing.key: cannot sign with it (%s)",
			    why ? why : "not a signing key");
	if ((s->issuer && !(p->issuer = strdup(s->issuer))) || (s->kid && !(p->kid = strdup(s->kid))))
		return CDNI_ENOMEM;
	p->signer.key = p->key;
	p->signer.kid = p->kid;
	p->signer.issuer = p->issuer;
	return 0;
}

static int load_all(struct rw_policy *p, const struct rw_conf *c, char *err, size_t errlen)
{
	int rc;

	p->keys_on_ucdn = c->keys_on_ucdn;
	p->max_line = (size_t)c->max_line;
	p->max_output = (size_t)c->max_output;
	if (!(p->cache_control = strdup(c->cache_control)))
		return CDNI_ENOMEM;
	for (const char *q = p->cache_control; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return cdni_fail(err, errlen, CDNI_ECONFIG, "rewrite.cache_control: holds a control byte");
	if ((rc = load_lists(p, c, err, errlen)) || (rc = load_cdns(p, c, err, errlen)) ||
	    (rc = load_rules(p, c, err, errlen)))
		return rc;
	return load_signing(p, &c->signing, err, errlen);
}

int rw_policy_new(struct rw_policy **out, const struct rw_conf *c, char *err, size_t errlen)
{
	struct rw_policy *p = calloc(1, sizeof *p);
	int rc;

	if (!p)
		return CDNI_ENOMEM;
	xmlInitParser(); /* once, before threads rewrite MPDs (idempotent) */
	rc = load_all(p, c, err, errlen);
	if (rc == CDNI_ENOMEM)
		snprintf(err, errlen, "rewrite: out of memory");
	if (rc) {
		rw_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void rw_policy_free(struct rw_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ncdns; i++) {
		free(p->cdns[i].name);
		free(p->cdns[i].base);
	}
	free(p->cdns);
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].prefix);
		free(p->rules[i].manifest);
		free(p->rules[i].representation);
	}
	free(p->rules);
	free_list(p->prefixes, p->nprefixes);
	free_list(p->hosts, p->nhosts);
	free(p->cache_control);
	free(p->attr);
	free(p->audience);
	free(p->issuer);
	free(p->kid);
	jose_key_free(p->key);
	free(p);
}

bool rw_conf_enabled(const struct rw_conf *c)
{
	return c->prefixes.n > 0;
}

bool rw_policy_enabled(const struct rw_policy *p)
{
	return p && p->nprefixes > 0;
}

const char *rw_policy_cache_control(const struct rw_policy *p)
{
	return p->cache_control;
}

size_t rw_policy_max_output(const struct rw_policy *p)
{
	return p->max_output;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

enum rw_format rw_policy_candidate(const struct rw_policy *p, const char *path, size_t len)
{
	enum rw_format f = RW_FMT_NONE;
	bool under = false;

	for (size_t i = 0; p && i < p->nprefixes && !under; i++)
		under = strlen(p->prefixes[i]) <= len &&
			memcmp(path, p->prefixes[i], strlen(p->prefixes[i])) == 0;
	if (!under)
		return RW_FMT_NONE;
	if (ends_with(path, len, ".m3u8") || ends_with(path, len, ".m3u"))
		f = RW_FMT_HLS;
	else if (ends_with(path, len, ".mpd"))
		f = RW_FMT_DASH;
	else if (ends_with(path, len, ".html") || ends_with(path, len, ".htm") ||
		 (len && path[len - 1] == '/'))
		f = RW_FMT_HTML;
	else if (ends_with(path, len, ".css"))
		f = RW_FMT_CSS;
	return p->formats & f ? f : RW_FMT_NONE;
}

static bool type_is(const char *ct, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(ct, want, n) == 0;
}

enum rw_format rw_policy_format(const struct rw_policy *p, const char *ct, enum rw_format cand)
{
	size_t n;
	enum rw_format f = RW_FMT_NONE;

	if (!ct)
		return cand;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (type_is(ct, n, "application/vnd.apple.mpegurl") || type_is(ct, n, "application/x-mpegurl") ||
	    type_is(ct, n, "audio/mpegurl") || type_is(ct, n, "audio/x-mpegurl"))
		f = RW_FMT_HLS;
	else if (type_is(ct, n, "application/dash+xml"))
		f = RW_FMT_DASH;
	else if (type_is(ct, n, "text/html") || type_is(ct, n, "application/xhtml+xml"))
		f = RW_FMT_HTML;
	else if (type_is(ct, n, "text/css"))
		f = RW_FMT_CSS;
	else if (n == 0 || type_is(ct, n, "text/plain") || type_is(ct, n, "application/octet-stream"))
		return cand;
	return p->formats & f ? f : RW_FMT_NONE;
}

static bool rule_matches(const struct rw_rule *r, const struct rw_site *site, const char *path,
			 size_t plen, const char *man, size_t mlen)
{
	if (!(r->kinds & (1u << site->kind)))
		return false;
	if (r->prefix && (plen < r->prefix_len || memcmp(path, r->prefix, r->prefix_len)))
		return false;
	if (r->manifest && (!man || mlen < r->manifest_len || memcmp(man, r->manifest, r->manifest_len)))
		return false;
	if (r->representation &&
	    (!site->representation || strcmp(site->representation, r->representation)))
		return false;
	return !r->mod || (site->number >= 0 && site->number % r->mod == r->rem);
}

void rw_policy_decide(const struct rw_policy *p, const struct rw_site *site, const char *path,
		      size_t plen, const char *man, size_t mlen, struct rw_decision *d)
{
	int sign = p->default_sign;

	d->cdn = p->default_cdn;
	for (size_t i = 0; i < p->nrules; i++) {
		if (rule_matches(&p->rules[i], site, path, plen, man, mlen)) {
			d->cdn = p->rules[i].cdn;
			sign = p->rules[i].sign;
			break;
		}
	}
	d->sign = sign == RW_SIGN_CDN ? cdn_sign(p, d->cdn) : sign;
	if (site->kind == RW_K_KEY && p->keys_on_ucdn && d->cdn != RW_UCDN) {
		d->cdn = RW_UCDN;
		d->sign = RW_SIGN_NONE;
	}
	if (site->kind == RW_K_BASE) /* a token on a BaseURL reaches no URI resolved against it */
		d->sign = RW_SIGN_NONE;
}
