#include "redirect/route.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/http.h"

static const char *const action_names[] = { "redirect", "proxy", "refuse", NULL };
const char *const route_default_names[] = { "proxy", "refuse", NULL };

const struct conf_item route_rule_table[] = {
	CONF_STR("prefix", struct route_rule_conf, prefix, NULL, CONF_REQUIRED,
		 "path prefix (decoded form, starts with /)"),
	{ .key = "action", .type = CONF_T_ENUM, .offset = offsetof(struct route_rule_conf, action),
	  .flags = CONF_REQUIRED, .choices = action_names,
	  .help = "redirect (3xx to target), proxy (serve from origin) or refuse (4xx)" },
	CONF_INT("status", struct route_rule_conf, status, 0, 599, 0,
		 "redirect: 301/302/307/308 (0: 302); refuse: 4xx (0: 403)"),
	CONF_STR("target", struct route_rule_conf, target, NULL, 0,
		 "redirect: http(s)://host[:port][/path-prefix] of the dCDN"),
	CONF_STR("host", struct route_rule_conf, host, NULL, 0,
		 "match only requests for this Host (\"*.example\" matches subdomains)"),
	CONF_BOOL("sign", struct route_rule_conf, sign, true,
		  "redirect: sign the Location when the program signs URIs (RFC 9246)"),
	CONF_STR("target_cert", struct route_rule_conf, target_cert, NULL, 0,
		 "redirect: PEM certificate of the target; signed tokens are bound to it (cdnicb)"),
	CONF_BOOL("ask", struct route_rule_conf, ask, false,
		  "redirect: ask the dCDNs where to send the client (RFC 7975, the program's "
		  "\"rri\" object); target is the fallback"),
	CONF_END
};

struct rule {
	char *prefix;
	size_t prefix_len;
	int action;
	int status;
	char *base; /* redirect: "scheme://authority[/path]", no trailing slash */
	size_t base_len;
	char *host; /* lower case; for a wildcard, the suffix ".example" */
	size_t host_len;
	bool host_wild;
};

struct route_policy {
	struct rule *rules;
	size_t n;
	int default_action;
	char *cache_control;
};

const char *route_action_name(int action)
{
	return action >= 0 && action <= ROUTE_ACT_REFUSE ? action_names[action] : "?";
}

/* ---- configuration ---------------------------------------------------- */

static int cfail(char *err, size_t errlen, size_t i, const char *key, const char *msg,
		 const char *arg)
{
	snprintf(err, errlen, "rules[%zu].%s: %s%s", i, key, msg, arg ? arg : "");
	return CDNI_ECONFIG;
}

static bool host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.';
}

/* Validate "host" or "[v6]" followed by an optional ":port"; lower-case it. */
static int check_authority(char *a, size_t len)
{
	size_t i = 0, h_end;
	long port = 0;

	if (len && a[0] == '[') {
		while (i < len && a[i] != ']')
			i++;
		if (i == len || i < 3 || strspn(a + 1, "0123456789abcdefABCDEF:.") != i - 1)
			return CDNI_EINVAL;
		h_end = ++i;
	} else {
		while (i < len && host_char((unsigned char)a[i]))
			i++;
		h_end = i;
	}
	if (h_end == 0)
		return CDNI_EINVAL;
	if (i < len) {
		if (a[i] != ':' || i + 1 == len || len - i - 1 > 5)
			return CDNI_EINVAL;
		for (i++; i < len; i++) {
			if (!isdigit((unsigned char)a[i]))
				return CDNI_EINVAL;
			port = port * 10 + (a[i] - '0');
		}
		if (port < 1 || port > 65535)
			return CDNI_EINVAL;
	}
	for (i = 0; i < h_end; i++)
		a[i] = (char)tolower((unsigned char)a[i]);
	return 0;
}

/* True when every byte of s[0..len) is one a URI may carry as it is. */
static bool uri_clean(const char *s, size_t len)
{
	struct buf b;
	bool same;

	buf_init(&b, 0);
	http_uri_escape(&b, s, len);
	same = !b.err && b.len == len && memchr(s, '?', len) == NULL && memchr(s, '#', len) == NULL;
	buf_free(&b);
	return same;
}

/* Parse "http(s)://authority[/path]" into r->base (scheme lower-cased, trailing
 * slashes of the path dropped). */
static int compile_target(struct rule *r, const char *t)
{
	size_t skip, alen, plen;
	const char *auth, *path;

	if (strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else
		return CDNI_EINVAL;
	auth = t + skip;
	alen = strcspn(auth, "/");
	path = auth + alen;
	plen = strlen(path);
	while (plen && path[plen - 1] == '/')
		plen--;
	if (!uri_clean(path, plen))
		return CDNI_EINVAL;
	r->base_len = skip + alen + plen;
	if (!(r->base = strndup(t, r->base_len)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < skip; i++)
		r->base[i] = (char)tolower((unsigned char)r->base[i]);
	return check_authority(r->base + skip, alen);
}

static int compile_host(struct rule *r, const char *h)
{
	bool wild = strncmp(h, "*.", 2) == 0;
	const char *name = wild ? h + 1 : h; /* keep the dot of a wildcard */
	size_t len = strlen(name);

	if (len && name[len - 1] == '.')
		len--;
	if (len < (wild ? 2u : 1u))
		return CDNI_EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!host_char((unsigned char)name[i]))
			return CDNI_EINVAL;
	if (!(r->host = strndup(name, len)))
		return CDNI_ENOMEM;
	for (size_t i = 0; i < len; i++)
		r->host[i] = (char)tolower((unsigned char)r->host[i]);
	r->host_len = len;
	r->host_wild = wild;
	return 0;
}

static int check_status(struct rule *r, const struct route_rule_conf *c, size_t i, char *err,
			size_t errlen)
{
	long long s = c->status;

	if (r->action == ROUTE_ACT_REDIRECT) {
		r->status = s ? (int)s : 302;
		if (r->status != 301 && r->status != 302 && r->status != 307 && r->status != 308)
			return cfail(err, errlen, i, "status",
				     "must be 301, 302, 307 or 308 for a redirect", NULL);
	} else if (r->action == ROUTE_ACT_REFUSE) {
		r->status = s ? (int)s : 403;
		if (r->status < 400 || r->status > 499)
			return cfail(err, errlen, i, "status", "must be a 4xx code for a refusal",
				     NULL);
	} else if (s) {
		return cfail(err, errlen, i, "status", "is not used with action proxy", NULL);
	}
	return 0;
}

static int compile_rule(struct rule *r, const struct route_rule_conf *c, size_t i, char *err,
			size_t errlen)
{
	int rc;

	r->action = c->action;
	if (c->prefix[0] != '/' || !http_header_value_safe(c->prefix))
		return cfail(err, errlen, i, "prefix", "must start with / and hold no control bytes",
			     NULL);
	if (!(r->prefix = strdup(c->prefix)))
		return CDNI_ENOMEM;
	r->prefix_len = strlen(r->prefix);
	if ((rc = check_status(r, c, i, err, errlen)))
		return rc;
	if (r->action == ROUTE_ACT_REDIRECT && !c->target)
		return cfail(err, errlen, i, "target", "is required with action redirect", NULL);
	if (r->action != ROUTE_ACT_REDIRECT && c->target)
		return cfail(err, errlen, i, "target", "is only used with action redirect", NULL);
	if (r->action != ROUTE_ACT_REDIRECT && c->target_cert)
		return cfail(err, errlen, i, "target_cert", "is only used with action redirect",
			     NULL);
	if (r->action != ROUTE_ACT_REDIRECT && !c->sign)
		return cfail(err, errlen, i, "sign", "is only used with action redirect", NULL);
	if (c->target && (rc = compile_target(r, c->target)))
		return rc == CDNI_ENOMEM ? rc
					 : cfail(err, errlen, i, "target",
						 "must be an absolute http:// or https:// URL "
						 "(host[:port][/path], no query), got ",
						 c->target);
	if (c->host && (rc = compile_host(r, c->host)))
		return rc == CDNI_ENOMEM ? rc
					 : cfail(err, errlen, i, "host",
						 "must be a DNS name or *.name without port, got ",
						 c->host);
	return 0;
}

int route_policy_new(struct route_policy **out, const struct route_conf *rc, char *err,
		     size_t errlen)
{
	const struct route_rule_conf *rules = rc->rules.v;
	struct route_policy *p = calloc(1, sizeof *p);
	int ret = CDNI_ENOMEM;

	if (!p || !(p->rules = calloc(rc->rules.n ? rc->rules.n : 1, sizeof *p->rules)))
		goto fail;
	p->default_action = rc->default_action;
	if (rc->cache_control && !http_header_value_safe(rc->cache_control)) {
		snprintf(err, errlen, "redirect_cache_control: must hold no control bytes");
		ret = CDNI_ECONFIG;
		goto fail;
	}
	if (rc->cache_control && *rc->cache_control && !(p->cache_control = strdup(rc->cache_control)))
		goto fail;
	for (; p->n < rc->rules.n; p->n++)
		if ((ret = compile_rule(&p->rules[p->n], &rules[p->n], p->n, err, errlen))) {
			p->n++; /* free the partly compiled rule too */
			goto fail;
		}
	*out = p;
	return 0;
fail:
	if (ret == CDNI_ENOMEM)
		snprintf(err, errlen, "out of memory");
	route_policy_free(p);
	return ret;
}

void route_policy_free(struct route_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->rules && i < p->n; i++) {
		free(p->rules[i].prefix);
		free(p->rules[i].base);
		free(p->rules[i].host);
	}
	free(p->rules);
	free(p->cache_control);
	free(p);
}

bool route_policy_uses_origin(const struct route_policy *p)
{
	if (p->default_action == ROUTE_DEF_PROXY)
		return true;
	for (size_t i = 0; i < p->n; i++)
		if (p->rules[i].action == ROUTE_ACT_PROXY)
			return true;
	return false;
}

/* ---- requests --------------------------------------------------------- */

void route_request_target(struct route_request *rq, const char *raw, size_t len)
{
	const char *q;
	size_t skip = 0, alen;

	if (len > 8 && strncasecmp(raw, "https://", 8) == 0)
		skip = 8;
	else if (len > 7 && strncasecmp(raw, "http://", 7) == 0)
		skip = 7;
	if (skip) { /* absolute-form: its authority replaces Host (RFC 9112 3.2.2) */
		for (alen = 0; skip + alen < len && !strchr("/?#", raw[skip + alen]); alen++)
			;
		rq->host = raw + skip;
		rq->host_len = alen;
		raw += skip + alen;
		len -= skip + alen;
	}
	q = memchr(raw, '?', len);
	rq->path = raw;
	rq->path_len = q ? (size_t)(q - raw) : len;
	rq->query = q ? q + 1 : NULL;
	rq->query_len = q ? len - rq->path_len - 1 : 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The path as rules see it: percent-decoded, runs of '/' merged. Returns the
 * next byte from s[*i..len), -1 at the end, -2 on a malformed %XX. */
static int next_byte(const char *s, size_t len, size_t *i, int prev)
{
	int c;

	for (;;) {
		if (*i >= len)
			return -1;
		c = (unsigned char)s[(*i)++];
		if (c == '%') {
			if (*i + 2 > len || hexval((unsigned char)s[*i]) < 0 ||
			    hexval((unsigned char)s[*i + 1]) < 0)
				return -2;
			c = hexval((unsigned char)s[*i]) * 16 + hexval((unsigned char)s[*i + 1]);
			*i += 2;
		}
		if (!(c == '/' && prev == '/'))
			return c;
	}
}

/* Why the raw path may not be routed, or NULL: it must start with '/', have
 * well-formed %XX, no NUL, and no "." or ".." segment, plain or encoded. */
static const char *path_problem(const char *s, size_t len)
{
	size_t i = 0, seg = 0, dots = 0;
	int c, prev = 0;

	if (len == 0 || s[0] != '/')
		return "request target must start with /";
	do {
		c = next_byte(s, len, &i, prev);
		if (c == -2)
			return "malformed percent-encoding in path";
		if (c == 0)
			return "NUL byte in path";
		if (c == '/' || c == -1) {
			if (seg && seg == dots && dots <= 2)
				return "dot segment in path";
			seg = dots = 0;
		} else {
			seg++;
			dots += c == '.';
		}
		prev = c;
	} while (c != -1);
	return NULL;
}

static bool prefix_match(const struct rule *r, const char *s, size_t len)
{
	size_t i = 0;
	int prev = 0;

	for (size_t k = 0; k < r->prefix_len; k++) {
		int c = next_byte(s, len, &i, prev);
		if (c != (unsigned char)r->prefix[k])
			return false;
		prev = c;
	}
	return true;
}

static bool host_match(const struct rule *r, const char *h, size_t len)
{
	size_t n = 0;

	if (!r->host)
		return true;
	if (!h)
		return false;
	if (len && h[0] == '[') {
		while (n < len && h[n] != ']')
			n++;
		n += n < len;
	} else {
		while (n < len && h[n] != ':')
			n++;
	}
	if (n && h[n - 1] == '.')
		n--;
	if (r->host_wild)
		return n > r->host_len && strncasecmp(h + n - r->host_len, r->host, r->host_len) == 0;
	return n == r->host_len && strncasecmp(h, r->host, n) == 0;
}

static const struct rule *find_rule(const struct route_policy *p, const struct route_request *rq)
{
	for (size_t i = 0; i < p->n; i++)
		if (host_match(&p->rules[i], rq->host, rq->host_len) &&
		    prefix_match(&p->rules[i], rq->path, rq->path_len))
			return &p->rules[i];
	return NULL;
}

static void escape_part(struct buf *b, const char *s, size_t len)
{
	const char *h;

	while ((h = memchr(s, '#', len))) {
		http_uri_escape(b, s, (size_t)(h - s));
		buf_append(b, "%23", 3);
		len -= (size_t)(h - s) + 1;
		s = h + 1;
	}
	http_uri_escape(b, s, len);
}

void route_escape_target(struct buf *b, const char *path, size_t plen, const char *query,
			 size_t qlen)
{
	escape_part(b, path, plen);
	if (query) {
		buf_putc(b, '?');
		escape_part(b, query, qlen);
	}
}

static void refuse(struct route_decision *d, int status, const char *reason)
{
	d->kind = ROUTE_REFUSE;
	d->status = status;
	d->reason = reason;
}

/* The checks every request passes before rules: method, size, shape. */
static bool precheck(const struct route_request *rq, struct route_decision *d)
{
	const char *why;

	if (!rq->method || (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD") &&
			    strcmp(rq->method, "OPTIONS"))) {
		refuse(d, 405, "method not allowed");
		d->allow = ROUTE_ALLOW;
		return false;
	}
	if (!rq->host && rq->version && strcmp(rq->version, "HTTP/1.1") == 0) {
		refuse(d, 400, "HTTP/1.1 request without Host");
		return false;
	}
	if (rq->path_len + (rq->query ? rq->query_len + 1 : 0) > ROUTE_MAX_TARGET) {
		refuse(d, 414, "request target too long");
		return false;
	}
	if (strcmp(rq->method, "OPTIONS") == 0 && rq->path_len == 1 && rq->path[0] == '*')
		why = NULL;
	else if ((why = path_problem(rq->path, rq->path_len)))
		refuse(d, 400, why);
	if (!why && strcmp(rq->method, "OPTIONS") == 0) {
		d->kind = ROUTE_OPTIONS;
		d->status = 204;
		d->allow = ROUTE_ALLOW;
		return false;
	}
	return why == NULL;
}

static void apply_rule(const struct route_policy *p, const struct rule *r,
		       const struct route_request *rq, struct buf *out, struct route_decision *d)
{
	int action = r ? r->action
		       : p->default_action == ROUTE_DEF_PROXY ? ROUTE_ACT_PROXY : ROUTE_ACT_REFUSE;

	d->rule = r ? (int)(r - p->rules) : -1;
	if (action == ROUTE_ACT_REFUSE) {
		refuse(d, r ? r->status : 403, r ? "refused by policy" : "no rule matches this path");
		return;
	}
	d->kind = action == ROUTE_ACT_REDIRECT ? ROUTE_REDIRECT : ROUTE_ORIGIN;
	d->status = action == ROUTE_ACT_REDIRECT ? r->status : 0;
	if (action == ROUTE_ACT_REDIRECT)
		buf_append(out, r->base, r->base_len);
	route_escape_target(out, rq->path, rq->path_len, rq->query, rq->query_len);
}

int route_decide(const struct route_policy *p, const struct route_request *rq, struct buf *out,
		 struct route_decision *d)
{
	struct route_decision r = { .rule = -1, .cache_control = p->cache_control };

	buf_reset(out);
	if (precheck(rq, &r))
		apply_rule(p, find_rule(p, rq), rq, out, &r);
	if (out->err)
		return out->err;
	if (r.kind == ROUTE_REDIRECT || r.kind == ROUTE_ORIGIN) {
		r.location = out->data;
		r.location_len = out->len;
	}
	*d = r;
	return 0;
}
