/* Mapping one URI reference: resolve it against its document's base, tell
 * whether it is ours, ask the policy, write the result (the reference as it
 * was, or an absolute URL on the chosen CDN) and sign it (RFC 9246). Also
 * the per-document context, the API answer and the format dispatch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "common/err.h"
#include "common/http.h"
#include "redirect/rwint.h"

#define RW_PATH_TOKENS 32

struct path_token {
	char *dir; /* "https://edge/v/hls/" (normalized) + the mode */
	int mode;
	char *token;
};

struct rw_ctx {
	const struct rw_policy *p;
	char *base;
	struct rw_url bu;
	struct rw_host self;
	bool self_ok;
	size_t self_len; /* "scheme://authority" of base */
	char *origin;
	struct rw_url ou;
	struct rw_host oh;
	bool origin_ok;
	size_t origin_plen; /* origin path prefix, no trailing '/' */
	long long now;
	struct buf abs, alt, out2; /* scratch */
	char *token;               /* the last token made */
	struct path_token ptok[RW_PATH_TOKENS];
	size_t nptok;
	struct rw_stats st;
};

int rw_ctx_new(struct rw_ctx **out, const struct rw_policy *p, const char *base,
	       const char *origin, long long now)
{
	struct rw_ctx *x = calloc(1, sizeof *x);

	if (!x)
		return CDNI_ENOMEM;
	x->p = p;
	x->now = now;
	buf_init(&x->abs, 0);
	buf_init(&x->alt, 0);
	buf_init(&x->out2, 0);
	if (!(x->base = strdup(base)) || (origin && !(x->origin = strdup(origin)))) {
		rw_ctx_free(x);
		return CDNI_ENOMEM;
	}
	rw_url_split(x->base, strlen(x->base), &x->bu);
	/* the base's scheme and authority may be written into documents: URI characters only */
	x->self_ok = rw_uri_clean(x->base, strlen(x->base)) && rw_url_is_http(&x->bu) &&
		     rw_url_host(&x->bu, &x->self);
	if (!x->self_ok) {
		rw_ctx_free(x);
		return CDNI_EINVAL;
	}
	x->self_len = x->bu.auth_off + x->bu.auth_len;
	if (x->origin) {
		rw_url_split(x->origin, strlen(x->origin), &x->ou);
		x->origin_ok = rw_url_is_http(&x->ou) && rw_url_host(&x->ou, &x->oh);
		x->origin_plen = x->ou.path_len;
		while (x->origin_plen && x->origin[x->ou.path_off + x->origin_plen - 1] == '/')
			x->origin_plen--;
	}
	*out = x;
	return 0;
}

void rw_ctx_free(struct rw_ctx *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nptok; i++) {
		free(x->ptok[i].dir);
		free(x->ptok[i].token);
	}
	free(x->token);
	buf_free(&x->abs);
	buf_free(&x->alt);
	buf_free(&x->out2);
	free(x->base);
	free(x->origin);
	free(x);
}

void rw_ctx_stats(const struct rw_ctx *x, struct rw_stats *st)
{
	*st = x->st;
}

const char *rw_ctx_base(const struct rw_ctx *x)
{
	return x->base;
}

const struct rw_policy *rw_ctx_policy(const struct rw_ctx *x)
{
	return x->p;
}

/* ---- is it ours? ---- */

static bool listed_host(const struct rw_policy *p, const struct rw_host *h)
{
	for (size_t i = 0; i < p->nhosts; i++) {
		const char *e = p->hosts[i], *colon = strrchr(e, ':');
		size_t n = colon && !strchr(colon, ']') ? (size_t)(colon - e) : strlen(e);
		if (n == h->host_len && strncasecmp(e, h->host, n) == 0 &&
		    (n == strlen(e) || atol(e + n + 1) == h->port))
			return true;
	}
	return false;
}

/* Where the uCDN-space path starts in u, or false for a foreign URI. */
static bool ours(const struct rw_ctx *x, const struct rw_url *u, size_t *path_off)
{
	struct rw_host h;

	if (!rw_url_is_http(u) || !rw_url_host(u, &h))
		return false;
	*path_off = u->path_off;
	if (rw_host_eq(&h, &x->self) || listed_host(x->p, &h))
		return true;
	if (!x->origin_ok || !rw_host_eq(&h, &x->oh))
		return false;
	if (x->origin_plen == 0)
		return true;
	if (u->path_len <= x->origin_plen ||
	    memcmp(u->s + u->path_off, x->origin + x->ou.path_off, x->origin_plen) ||
	    u->s[u->path_off + x->origin_plen] != '/')
		return false;
	*path_off += x->origin_plen;
	return true;
}

/* ---- signing ---- */

static void regex_escape(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr(".[]{}()\\*+?^$|", s[i]))
			buf_putc(b, '\\');
		buf_putc(b, s[i]);
	}
}

static int hexv(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

/* A literal piece of a template, normalized like RFC 3986 §6.2.2 (upper-case
 * escapes, unreserved characters decoded), then escaped for a regex. */
static void literal_regex(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		int h1, h2;
		char c = s[i];
		if (c == '%' && i + 2 < n && (h1 = hexv((unsigned char)s[i + 1])) >= 0 &&
		    (h2 = hexv((unsigned char)s[i + 2])) >= 0) {
			char d = (char)(h1 * 16 + h2);
			if (((d | 0x20) >= 'a' && (d | 0x20) <= 'z') || (d >= '0' && d <= '9') ||
			    strchr("-._~", d)) {
				regex_escape(b, &d, 1);
			} else {
				char e[3] = { '%', hex[h1], hex[h2] };
				buf_append(b, e, 3);
			}
			i += 2;
			continue;
		}
		regex_escape(b, &c, 1);
	}
}

/* $Identifier[%fmt]$ -> its regex. */
static void ident_regex(struct buf *b, const char *id, size_t n, const char *rep)
{
	size_t name = strcspn(id, "%$");

	if (name > n)
		name = n;
	if (n == 0)
		buf_append(b, "\\$", 2);
	else if (name == 16 && memcmp(id, "RepresentationID", 16) == 0 && rep)
		literal_regex(b, rep, strlen(rep));
	else if (name == 16 && memcmp(id, "RepresentationID", 16) == 0)
		buf_puts(b, "[^/?#]*");
	else
		buf_puts(b, "[0-9]+");
}

/* "regex:" for every expansion of the template URL a (absolute). */
static int template_regex(const char *a, const char *rep, struct buf *b)
{
	const char *d = strchr(a, '$');
	char *head = d ? strndup(a, (size_t)(d - a)) : strdup(a), *norm = NULL;
	int rc;

	if (!head)
		return CDNI_ENOMEM;
	rc = us_uri_normalize(head, &norm);
	free(head);
	if (rc)
		return rc;
	buf_puts(b, "regex:");
	regex_escape(b, norm, strlen(norm));
	free(norm);
	while (d && *d) {
		const char *e = strchr(d + 1, '$');
		if (!e) { /* a lone '$': literal */
			literal_regex(b, d, strlen(d));
			break;
		}
		ident_regex(b, d + 1, (size_t)(e - d - 1), rep);
		d = e + 1;
		e = strchr(d, '$');
		literal_regex(b, d, e ? (size_t)(e - d) : strlen(d));
		d = e;
	}
	return b->err;
}

/* The directory a path-scoped token covers: up to the last '/' of the path
 * (before any '$' of a template). */
static size_t dir_len(const char *a)
{
	struct rw_url u;
	size_t end;

	rw_url_split(a, strlen(a), &u);
	end = u.path_off + u.path_len;
	if (memchr(a + u.path_off, '$', u.path_len))
		end = (size_t)((const char *)memchr(a + u.path_off, '$', u.path_len) - a);
	while (end > u.path_off && a[end - 1] != '/')
		end--;
	return end > u.path_off ? end : u.path_off;
}

static int path_depth(const char *dir)
{
	struct rw_url u;
	int n = 0;

	rw_url_split(dir, strlen(dir), &u);
	for (size_t i = 1; i < u.path_len; i++)
		if (dir[u.path_off + i] == '/')
			n++;
	return n;
}

static json_t *base_claims(const struct rw_ctx *x)
{
	const struct rw_policy *p = x->p;
	json_t *c = json_object();

	if (!c)
		return NULL;
	if ((p->signer.issuer && json_object_set_new(c, "iss", json_string(p->signer.issuer))) ||
	    (p->audience && json_object_set_new(c, "aud", json_string(p->audience))) ||
	    json_object_set_new(c, "exp", json_integer(x->now + p->lifetime))) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static int sign_claims(struct rw_ctx *x, json_t *c, const char *container, char **tok)
{
	int rc = CDNI_ENOMEM;

	if (c && !json_object_set_new(c, "cdniuc", json_string(container)))
		rc = us_sign_token(&x->p->signer, c, tok);
	json_decref(c);
	if (!rc)
		x->st.tokens++;
	return rc;
}

static int add_renewal(const struct rw_ctx *x, json_t *c, int mode, int depth)
{
	long long ets = x->p->renew_ets;

	if (!c)
		return CDNI_ENOMEM;
	if (mode == RW_SIGN_PATH && json_object_set_new(c, "cdnistd", json_integer(depth)))
		return CDNI_ENOMEM;
	if ((mode == RW_SIGN_RENEW || ets > 0) &&
	    (json_object_set_new(c, "cdnistt", json_integer(mode == RW_SIGN_RENEW ? 2 : 1)) ||
	     json_object_set_new(c, "cdniets", json_integer(ets))))
		return CDNI_ENOMEM;
	return 0;
}

/* One token per directory (and mode) per document. */
static int path_token(struct rw_ctx *x, const char *a, int mode, const char **out)
{
	char *dir = strndup(a, dir_len(a)), *norm = NULL, *tok = NULL;
	struct buf re;
	json_t *c;
	int rc;

	if (!dir)
		return CDNI_ENOMEM;
	for (size_t i = 0; i < x->nptok; i++)
		if (x->ptok[i].mode == mode && strcmp(x->ptok[i].dir, dir) == 0) {
			free(dir);
			*out = x->ptok[i].token;
			return 0;
		}
	buf_init(&re, 0);
	if ((rc = us_uri_normalize(dir, &norm)) == 0) {
		buf_puts(&re, "regex:");
		regex_escape(&re, norm, strlen(norm));
		buf_puts(&re, ".*");
		c = base_claims(x);
		rc = re.err ? re.err : add_renewal(x, c, mode, path_depth(norm));
		rc = rc ? (json_decref(c), rc) : sign_claims(x, c, re.data, &tok);
	}
	buf_free(&re);
	free(norm);
	if (rc || x->nptok == RW_PATH_TOKENS) {
		free(dir);
		free(x->token);
		x->token = tok;
		*out = tok;
		return rc;
	}
	x->ptok[x->nptok++] = (struct path_token){ dir, mode, tok };
	*out = tok;
	return 0;
}

/* A token for the absolute URL a (no token in it yet). */
static int make_token(struct rw_ctx *x, const struct rw_site *site, const char *a, int mode,
		      const char **out)
{
	char *tok = NULL, *container = NULL;
	struct buf re;
	int rc;

	if (mode == RW_SIGN_PATH || mode == RW_SIGN_RENEW)
		return path_token(x, a, mode, out);
	buf_init(&re, 0);
	if (site->template)
		rc = template_regex(a, site->representation, &re);
	else
		rc = us_container_hash(a, x->p->attr, &container);
	if (!rc)
		rc = sign_claims(x, base_claims(x), site->template ? re.data : container, &tok);
	buf_free(&re);
	free(container);
	free(x->token);
	x->token = tok;
	*out = tok;
	return rc;
}

/* ---- writing the result ---- */

static void put_uri(struct buf *b, const char *s, size_t n)
{
	if (rw_uri_clean(s, n))
		buf_append(b, s, n);
	else
		http_uri_escape(b, s, n);
}

/* d (no fragment) + token, then the fragment. */
static void put_token(struct buf *out, const struct rw_ctx *x, const char *d, size_t n,
		      const char *tok, const char *frag, size_t flen)
{
	const char *q = memchr(d, '?', n);

	buf_append(out, d, n);
	if (tok) {
		buf_putc(out, q ? '&' : '?');
		buf_puts(out, x->p->attr);
		buf_putc(out, '=');
		buf_puts(out, tok);
	}
	if (frag) {
		buf_putc(out, '#');
		buf_append(out, frag, flen);
	}
}

struct target {
	const struct rw_url *ref, *u; /* the reference, its resolution */
	size_t local;                 /* offset of the uCDN-space path in u */
	struct rw_decision d;
};

/* The absolute URL on the chosen CDN (unsigned, no fragment) into x->alt. */
static void target_url(struct rw_ctx *x, const struct target *t)
{
	const struct rw_url *u = t->u;
	size_t end = u->has_query ? u->query_off + u->query_len : u->path_off + u->path_len;

	buf_reset(&x->alt);
	if (t->d.cdn == RW_UCDN)
		buf_append(&x->alt, x->base, x->self_len);
	else
		buf_puts(&x->alt, x->p->cdns[t->d.cdn].base);
	put_uri(&x->alt, u->s + t->local, end - t->local);
}

static bool keep_reference(const struct rw_ctx *x, const struct target *t)
{
	struct rw_host h;
	const struct rw_url *r = t->ref;

	if (t->d.cdn != RW_UCDN)
		return false;
	if (!r->scheme_len && !r->has_auth)
		return true; /* relative: stays on whatever serves the document */
	return rw_url_host(t->u, &h) && rw_host_eq(&h, &x->self) &&
	       t->u->scheme_len == x->bu.scheme_len;
}

static int emit(struct rw_ctx *x, const struct rw_site *site, const struct target *t,
		struct buf *out, struct buf *absolute, struct rw_mapped *m)
{
	const struct rw_url *r = t->ref;
	const char *tok = NULL, *frag = r->has_frag ? r->s + r->frag_off : NULL;
	bool keep = keep_reference(x, t);
	int rc = 0;

	target_url(x, t);
	if (t->d.sign != RW_SIGN_NONE && (rc = make_token(x, site, x->alt.data, t->d.sign, &tok)))
		return rc;
	if (keep && !tok) {
		buf_append(out, r->s, r->len);
	} else if (keep) { /* a relative reference, signed */
		size_t n = r->has_frag ? r->frag_off - 1 : r->len;
		put_token(out, x, r->s, n, tok, frag, r->frag_len);
	} else {
		put_token(out, x, x->alt.data, x->alt.len, tok, frag, r->frag_len);
	}
	if (absolute)
		buf_append(absolute, x->alt.data, x->alt.len);
	m->changed = !keep || tok;
	m->cdn = t->d.cdn;
	m->token = tok;
	m->expires = tok ? x->now + x->p->lifetime : 0;
	x->st.changed += m->changed;
	if (t->d.cdn == RW_UCDN)
		x->st.to_ucdn++;
	else
		x->st.to_dcdn++;
	return x->alt.err ? x->alt.err : out->err;
}

static bool never_ours(const struct rw_url *r)
{
	if (r->len == 0 || (r->len && r->s[0] == '#'))
		return true; /* the document itself */
	return r->scheme_len && !rw_url_is_http(r);
}

int rw_map(struct rw_ctx *x, const struct rw_site *site, const char *ref, size_t len,
	   const char *base, struct buf *out, struct buf *absolute, struct rw_mapped *m)
{
	struct rw_url r, b, u;
	struct target t = { .ref = &r, .u = &u };

	memset(m, 0, sizeof *m);
	x->st.uris++;
	rw_url_split(ref, len, &r);
	if (base)
		rw_url_split(base, strlen(base), &b);
	buf_reset(&x->abs);
	if (!never_ours(&r))
		rw_url_resolve(&x->abs, base ? &b : &x->bu, &r);
	if (x->abs.err)
		return x->abs.err;
	if (!never_ours(&r))
		rw_url_split(x->abs.data, x->abs.len, &u);
	if (never_ours(&r) || !ours(x, &u, &t.local)) {
		m->foreign = true;
		x->st.foreign++;
		buf_append(out, ref, len);
		if (absolute && x->abs.len)
			buf_append(absolute, x->abs.data, x->abs.len);
		return out->err;
	}
	rw_policy_decide(x->p, site, u.s + t.local, u.path_off + u.path_len - t.local,
			 x->base + x->bu.path_off, x->bu.path_len, &t.d);
	return emit(x, site, &t, out, absolute, m);
}

/* ---- API mode ---- */

int rw_ctx_answer(struct rw_ctx *x, const char *ref, enum rw_kind kind, struct rw_answer *a)
{
	struct rw_site site = { .kind = kind, .number = -1 };
	struct rw_mapped m;
	struct rw_url b, r;
	int rc;

	memset(a, 0, sizeof *a);
	buf_reset(&x->out2);
	if ((rc = rw_map(x, &site, ref, strlen(ref), NULL, &x->out2, NULL, &m)))
		return rc;
	/* the answer is always absolute */
	rw_url_split(x->base, strlen(x->base), &b);
	rw_url_split(x->out2.data, x->out2.len, &r);
	buf_reset(&x->abs);
	rw_url_resolve(&x->abs, &b, &r);
	if (x->abs.err)
		return x->abs.err;
	a->url = strdup(x->abs.data);
	a->cdn = m.foreign ? NULL : m.cdn == RW_UCDN ? "ucdn" : x->p->cdns[m.cdn].name;
	a->token = m.token ? strdup(m.token) : NULL;
	a->expires = m.expires;
	if (!a->url || (m.token && !a->token)) {
		rw_answer_clear(a);
		return CDNI_ENOMEM;
	}
	return 0;
}

void rw_answer_clear(struct rw_answer *a)
{
	free(a->url);
	free(a->token);
	memset(a, 0, sizeof *a);
}

void rw_prefault(void *p, size_t len)
{
	uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)p + len) & ~(uintptr_t)4095;

#ifdef MADV_POPULATE_WRITE
	if (len >= 65536 && e > a)
		(void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
	(void)a; (void)e;
#endif
}

/* ---- streams ---- */

struct rw_stream {
	const struct rw_fmt_ops *ops;
	void *st;
	size_t max;
	int rc;
	char err[256];
};

int rw_stream_new(struct rw_stream **out, enum rw_format f, struct rw_ctx *x)
{
	struct rw_stream *s = calloc(1, sizeof *s);

	if (!s)
		return CDNI_ENOMEM;
	s->ops = f == RW_FMT_HLS ? &rw_hls_ops : f == RW_FMT_DASH ? &rw_dash_ops
	       : f == RW_FMT_HTML ? &rw_html_ops : f == RW_FMT_CSS ? &rw_css_ops : NULL;
	s->max = x->p->max_output;
	if (!s->ops) {
		free(s);
		return CDNI_EINVAL;
	}
	if (!(s->st = s->ops->open(x, s->err, sizeof s->err))) {
		free(s);
		return CDNI_ENOMEM;
	}
	*out = s;
	return 0;
}

static int checked(struct rw_stream *s, int rc, struct buf *out)
{
	size_t max = s->max;

	if (!rc && out->err)
		rc = out->err;
	if (!rc && max && out->len > max)
		rc = CDNI_EOVERFLOW;
	if (rc && !s->err[0])
		snprintf(s->err, sizeof s->err, "%s",
			 rc == CDNI_EOVERFLOW ? "rewritten body over max_output" : cdni_strerror(rc));
	return s->rc = rc;
}

int rw_stream_feed(struct rw_stream *s, const void *data, size_t len, struct buf *out)
{
	if (s->rc)
		return s->rc;
	return checked(s, s->ops->feed(s->st, data, len, out, s->err, sizeof s->err), out);
}

int rw_stream_finish(struct rw_stream *s, struct buf *out)
{
	if (s->rc)
		return s->rc;
	return checked(s, s->ops->finish(s->st, out, s->err, sizeof s->err), out);
}

const char *rw_stream_error(const struct rw_stream *s)
{
	return s->err[0] ? s->err : "no error";
}

void rw_stream_free(struct rw_stream *s)
{
	if (!s)
		return;
	s->ops->close(s->st);
	free(s);
}

int rw_rewrite(struct rw_ctx *x, enum rw_format f, const void *in, size_t len, struct buf *out,
	       char *err, size_t errlen)
{
	struct rw_stream *s = NULL;
	int rc = rw_stream_new(&s, f, x);

	if (rc) {
		snprintf(err, errlen, "cannot start a %s rewriter", rw_format_name(f));
		return rc;
	}
	if (s->ops->whole) { /* sizes its output itself */
		rc = checked(s, s->ops->whole(s->st, in, len, out, s->err, sizeof s->err), out);
	} else {
		/* room for the usual growth (absolute URLs, tokens) at once: no
		 * chain of reallocations and copies, no trap per page */
		size_t room = len * 2 + 4096 < x->p->max_output ? len * 2 + 4096 : x->p->max_output;
		char *was = out->data;
		if (buf_reserve(out, room) == 0 && out->data != was) /* new memory */
			rw_prefault(out->data + out->len, room);
		rc = out->err ? out->err : rw_stream_feed(s, in, len, out);
		if (!rc)
			rc = rw_stream_finish(s, out);
	}
	if (rc)
		snprintf(err, errlen, "%s", rw_stream_error(s));
	rw_stream_free(s);
	return rc;
}
