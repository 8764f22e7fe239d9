/* cdni — RFC 7975 redirection interface codec (see rri.h). */
#include "redirect/rri.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

#define IJSON_MAX_INT 9007199254740991LL /* 2^53 - 1, RFC 7493 §2.2 */

/* ---- small owned containers ---- */

int rri_strs_push(struct rri_strs *s, const char *v)
{
	char **nv;
	char *c = strdup(v);

	if (!c)
		return CDNI_ENOMEM;
	nv = realloc(s->v, (s->n + 1) * sizeof *nv);
	if (!nv) {
		free(c);
		return CDNI_ENOMEM;
	}
	nv[s->n++] = c;
	s->v = nv;
	return 0;
}

void rri_strs_clear(struct rri_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

bool rri_strs_has(const struct rri_strs *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

int rri_strs_append(struct rri_strs *dst, const struct rri_strs *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (rri_strs_push(dst, src->v[i]))
			return CDNI_ENOMEM;
	return 0;
}

static char *lower_dup(const char *s)
{
	char *c = strdup(s);

	for (char *p = c; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return c;
}

int rri_headers_set(struct rri_headers *h, const char *name, const char *value)
{
	char *n = lower_dup(name), *v = strdup(value);
	struct rri_header *nv;

	if (!n || !v)
		goto fail;
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].name, n) == 0) {
			free(n);
			free(h->v[i].value);
			h->v[i].value = v;
			return 0;
		}
	nv = realloc(h->v, (h->n + 1) * sizeof *nv);
	if (!nv)
		goto fail;
	nv[h->n].name = n;
	nv[h->n++].value = v;
	h->v = nv;
	return 0;
fail:
	free(n);
	free(v);
	return CDNI_ENOMEM;
}

const char *rri_headers_get(const struct rri_headers *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	return NULL;
}

void rri_headers_clear(struct rri_headers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

void rri_request_clear(struct rri_request *rq)
{
	free(rq->dns.resolver_ip);
	free(rq->dns.qtype);
	free(rq->dns.qclass);
	free(rq->dns.qname);
	free(rq->dns.c_subnet);
	free(rq->http.c_ip);
	free(rq->http.cs_uri);
	free(rq->http.cs_method);
	free(rq->http.cs_version);
	rri_headers_clear(&rq->http.headers);
	rri_strs_clear(&rq->cdn_path);
	memset(rq, 0, sizeof *rq);
	rq->max_hops = -1;
}

static void error_clear(struct rri_error *e)
{
	free(e->reason);
	free(e->cdn);
	memset(e, 0, sizeof *e);
}

void rri_response_clear(struct rri_response *rs)
{
	free(rs->dns.name);
	rri_strs_clear(&rs->dns.a);
	rri_strs_clear(&rs->dns.aaaa);
	rri_strs_clear(&rs->dns.cname);
	free(rs->http.sc_version);
	free(rs->http.sc_reason);
	free(rs->http.cs_uri);
	free(rs->http.location);
	rri_headers_clear(&rs->http.headers);
	rri_strs_clear(&rs->scope);
	rri_strs_clear(&rs->cdn_path);
	error_clear(&rs->error);
	memset(rs, 0, sizeof *rs);
}

int rri_response_set_error(struct rri_response *rs, int code, const char *reason,
			   const char *cdn)
{
	struct rri_error e = { .code = code };

	e.reason = strdup(reason ? reason : rri_error_reason(code));
	e.cdn = cdn ? strdup(cdn) : NULL;
	if (!e.reason || (cdn && !e.cdn)) {
		error_clear(&e);
		return CDNI_ENOMEM;
	}
	error_clear(&rs->error);
	rs->error = e;
	return 0;
}

/* ---- codes, media types, syntax checks ---- */

const char *rri_error_reason(int code)
{
	switch (code) {
	case RRI_E_NO_METADATA: return "Unable to retrieve metadata";
	case RRI_E_LOOP: return "Loop detected";
	case RRI_E_MAX_HOPS: return "Maximum hops exceeded";
	case RRI_E_CAPACITY: return "Out of capacity";
	case RRI_E_DELIVERY: return "Delivery protocol not supported";
	case RRI_E_REDIRECTION: return "Redirection protocol not supported";
	default: break;
	}
	if (code >= 100 && code < 200)
		return "Informational";
	if (code >= 400 && code < 500)
		return "uCDN error";
	return "dCDN error";
}

int rri_error_http_status(int code)
{
	if (code >= 100 && code < 200)
		return 200;
	if (code >= 400 && code < 500)
		return 400;
	return 500;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One ";name=value" parameter at p; returns the text after it. */
static const char *media_param(const char *p, const char **name, size_t *nlen,
			       const char **val, size_t *vlen)
{
	p = skip_ws(p);
	*name = p;
	while (*p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
		p++;
	*nlen = (size_t)(p - *name);
	p = skip_ws(p);
	*val = p;
	*vlen = 0;
	if (*p != '=')
		return p;
	p = skip_ws(p + 1);
	if (*p == '"') {
		*val = ++p;
		while (*p && *p != '"')
			p++;
		*vlen = (size_t)(p - *val);
		return *p ? p + 1 : p;
	}
	*val = p;
	while (*p && *p != ';' && *p != ' ' && *p != '\t')
		p++;
	*vlen = (size_t)(p - *val);
	return p;
}

bool rri_media_type_is(const char *ct, const char *ptype)
{
	static const char type[] = "application/cdni";
	const char *p, *name, *val;
	size_t nlen, vlen;
	bool found = false;

	if (!ct)
		return false;
	p = skip_ws(ct);
	if (strncasecmp(p, type, sizeof type - 1) != 0)
		return false;
	p = skip_ws(p + sizeof type - 1);
	while (*p == ';') {
		p = media_param(p + 1, &name, &nlen, &val, &vlen);
		if (nlen == 5 && strncasecmp(name, "ptype", 5) == 0)
			found = vlen == strlen(ptype) && strncmp(val, ptype, vlen) == 0;
		p = skip_ws(p);
	}
	return *p == '\0' && found;
}

bool rri_provider_id_valid(const char *id)
{
	const char *p = id;
	size_t len = strlen(id);

	if (len < 4 || len > 64 || strncmp(p, "AS", 2) != 0 || !isdigit((unsigned char)p[2]))
		return false;
	for (p += 2; isdigit((unsigned char)*p); p++)
		;
	if (*p++ != ':' || !*p)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			return false;
	return true;
}

int rri_ip_parse(const char *s, char *canon)
{
	unsigned char a[16];
	int fam = strchr(s, ':') ? AF_INET6 : AF_INET;

	if (strlen(s) > 45 || inet_pton(fam, s, a) != 1)
		return 0;
	if (canon)
		inet_ntop(fam, a, canon, 46);
	return fam == AF_INET ? 4 : 6;
}

int rri_cidr_parse(const char *s, unsigned char addr[16], int *bits)
{
	char tmp[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int fam, max;
	char *end;
	long b;

	if (alen == 0 || alen >= sizeof tmp)
		return 0;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	fam = strchr(tmp, ':') ? 6 : 4;
	memset(addr, 0, 16);
	if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, tmp, addr) != 1)
		return 0;
	max = fam == 6 ? 128 : 32;
	if (!slash) {
		*bits = max;
		return fam;
	}
	if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
		return 0;
	b = strtol(slash + 1, &end, 10);
	if (*end || b > max)
		return 0;
	*bits = (int)b;
	return fam;
}

static bool is_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool token_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

static bool header_value_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

/* A domain name in A-labels: labels of 1..63 letters, digits, '-' or '_',
 * at most 253 characters, one optional trailing dot. */
static bool domain_ok(const char *s)
{
	size_t n = strlen(s), lab = 0;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++lab > 63)
				return false;
		} else {
			return false;
		}
	}
	return lab > 0;
}

bool rri_domain_valid(const char *name)
{
	return domain_ok(name);
}

/* Characters a URI may hold as written (RFC 3986 §2, plus '%'). */
static bool uri_chars_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c))
			return false;
	}
	return true;
}

static bool abs_uri_ok(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':' && p[1] && uri_chars_ok(s);
}

static bool http_uri_ok(const char *s)
{
	size_t skip = strncasecmp(s, "http://", 7) == 0 ? 7 : strncasecmp(s, "https://", 8) == 0 ? 8 : 0;

	return skip && s[skip] && s[skip] != '/' && s[skip] != '?' && uri_chars_ok(s);
}

static bool version_ok(const char *s)
{
	if (strncmp(s, "HTTP/", 5) != 0 || !isdigit((unsigned char)s[5]))
		return false;
	if (s[6] == '\0')
		return true;
	return s[6] == '.' && isdigit((unsigned char)s[7]) && s[8] == '\0';
}

static bool ip_ok(const char *s) { return rri_ip_parse(s, NULL) != 0; }
static bool ip4_ok(const char *s) { return rri_ip_parse(s, NULL) == 4; }
static bool ip6_ok(const char *s) { return rri_ip_parse(s, NULL) == 6; }
static bool qtype_ok(const char *s) { return !strcmp(s, "A") || !strcmp(s, "AAAA"); }
static bool method_ok(const char *s) { return token_ok(s, 32); }
static bool any_ok(const char *s) { (void)s; return true; }

static bool cidr_ok(const char *s)
{
	unsigned char a[16];
	int b;

	return rri_cidr_parse(s, a, &b) != 0;
}

static bool qclass_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 16)
		return false;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

/* ---- decoding ---- */

struct dec {
	char *err;
	size_t errlen;
};

static int dfail(struct dec *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int dfail(struct dec *d, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (d->errlen)
		vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return code;
}

bool rri_json_depth_ok(const char *s, size_t len, int max_depth)
{
	int depth = 0;
	bool str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max_depth)
				return false;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return true;
}

/* Size and nesting depth of the text, refused before any parser recursion. */
static int prescan(struct dec *d, const char *s, size_t len)
{
	if (len > RRI_MAX_BODY)
		return dfail(d, CDNI_EOVERFLOW, "body: %zu bytes, more than %d", len, RRI_MAX_BODY);
	if (!rri_json_depth_ok(s, len, RRI_MAX_DEPTH))
		return dfail(d, CDNI_EOVERFLOW, "body: nested deeper than %d", RRI_MAX_DEPTH);
	return 0;
}

static int parse(struct dec *d, const char *body, size_t len, json_t **out)
{
	json_error_t je;
	json_t *j;
	int rc = prescan(d, body, len);

	if (rc)
		return rc;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return dfail(d, CDNI_EPARSE, "body: not I-JSON: %s (line %d column %d)", je.text,
			     je.line, je.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return dfail(d, CDNI_EPARSE, "body: not a JSON object");
	}
	*out = j;
	return 0;
}

/* A value quoted in a message: at most 64 bytes, controls and non-ASCII as '?'. */
static const char *shown(const char *v, char *out, size_t n)
{
	size_t i = 0;

	for (; v[i] && i + 1 < n && i < 64; i++)
		out[i] = (unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f ? '?' : v[i];
	out[i] = '\0';
	return out;
}

/* The key path of a message, made only when one is written. */
static const char *keypath(char *p, size_t n, const char *pre, const char *key)
{
	snprintf(p, n, "%s%s%s", pre ? pre : "", pre ? "." : "", key);
	return p;
}
#define KP keypath(kp, sizeof kp, pre, key)

static int get_str(struct dec *d, json_t *o, const char *pre, const char *key, bool mand,
		   bool (*ok)(const char *), char **out)
{
	json_t *v = json_object_get(o, key);
	char kp[96], sh[72];

	if (!v)
		return mand ? dfail(d, CDNI_EINVAL, "%s: missing", KP) : 0;
	if (!json_is_string(v))
		return dfail(d, CDNI_EINVAL, "%s: not a string", KP);
	if (json_string_length(v) > RRI_MAX_STR)
		return dfail(d, CDNI_EOVERFLOW, "%s: longer than %d bytes", KP, RRI_MAX_STR);
	if (!ok(json_string_value(v)))
		return dfail(d, CDNI_EINVAL, "%s: '%s' is not valid here", KP,
			     shown(json_string_value(v), sh, sizeof sh));
	*out = strdup(json_string_value(v));
	return *out ? 0 : dfail(d, CDNI_ENOMEM, "out of memory");
}

static int get_int(struct dec *d, json_t *o, const char *pre, const char *key, bool mand,
		   long long lo, long long hi, long long *out)
{
	json_t *v = json_object_get(o, key);
	char kp[96];

	if (!v)
		return mand ? dfail(d, CDNI_EINVAL, "%s: missing", KP) : 0;
	if (!json_is_integer(v))
		return dfail(d, CDNI_EINVAL, "%s: not an integer", KP);
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return dfail(d, CDNI_EINVAL, "%s: %lld is not in %lld..%lld", KP,
			     (long long)json_integer_value(v), lo, hi);
	*out = json_integer_value(v);
	return 0;
}

static int get_strs(struct dec *d, json_t *o, const char *pre, const char *key, size_t max,
		    bool (*ok)(const char *), struct rri_strs *out, bool *present)
{
	json_t *v = json_object_get(o, key), *e;
	char kp[96], sh[72];
	size_t i;

	if (!v)
		return 0;
	if (!json_is_array(v))
		return dfail(d, CDNI_EINVAL, "%s: not a list", KP);
	if (json_array_size(v) > max)
		return dfail(d, CDNI_EOVERFLOW, "%s: %zu elements, more than %zu", KP,
			     json_array_size(v), max);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return dfail(d, CDNI_EINVAL, "%s[%zu]: not a string", KP, i);
		if (json_string_length(e) > RRI_MAX_STR || !ok(json_string_value(e)))
			return dfail(d, CDNI_EINVAL, "%s[%zu]: '%s' is not valid here", KP, i,
				     shown(json_string_value(e), sh, sizeof sh));
		if (rri_strs_push(out, json_string_value(e)))
			return dfail(d, CDNI_ENOMEM, "out of memory");
	}
	if (present)
		*present = true;
	return 0;
}

static bool has_upper(const char *s)
{
	for (; *s; s++)
		if (isupper((unsigned char)*s))
			return true;
	return false;
}

/* The "cs-(name)" / "sc-(name)" keys of o (lowercase names only; others are
 * unknown keys and ignored). skip: a name kept elsewhere. */
static int get_headers(struct dec *d, json_t *o, const char *pre, const char *prefix,
		       const char *skip, struct rri_headers *h)
{
	size_t plen = strlen(prefix), klen;
	const char *key;
	json_t *v;
	char name[128];

	json_object_foreach(o, key, v) {
		klen = strlen(key);
		if (klen <= plen + 1 || strncmp(key, prefix, plen) != 0 || key[klen - 1] != ')' ||
		    klen - plen - 1 >= sizeof name)
			continue;
		memcpy(name, key + plen, klen - plen - 1);
		name[klen - plen - 1] = '\0';
		if (!token_ok(name, sizeof name) || (skip && !strcmp(name, skip)))
			continue;
		if (has_upper(name))
			continue;
		if (h->n >= RRI_MAX_HEADERS)
			return dfail(d, CDNI_EOVERFLOW, "%s: more than %d %s...) keys", pre,
				     RRI_MAX_HEADERS, prefix);
		if (!json_is_string(v) || json_string_length(v) > RRI_MAX_STR ||
		    !header_value_ok(json_string_value(v)))
			return dfail(d, CDNI_EINVAL, "%s.%s: not a header value", pre, key);
		if (rri_headers_set(h, name, json_string_value(v)))
			return dfail(d, CDNI_ENOMEM, "out of memory");
	}
	return 0;
}

static int get_bool(struct dec *d, json_t *o, const char *pre, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return dfail(d, CDNI_EINVAL, "%s.%s: not a boolean", pre, key);
	*out = json_is_true(v);
	return 0;
}

static int get_path(struct dec *d, json_t *j, bool mand, struct rri_strs *p, bool *present)
{
	if (!json_object_get(j, "cdn-path"))
		return mand ? dfail(d, CDNI_EINVAL, "cdn-path: missing") : 0;
	return get_strs(d, j, NULL, "cdn-path", RRI_MAX_PATH, rri_provider_id_valid, p, present);
}

/* The one of "dns" and "http" a message holds. */
static int get_kind(struct dec *d, json_t *j, bool need, json_t **o, enum rri_kind *k)
{
	json_t *dns = json_object_get(j, "dns"), *http = json_object_get(j, "http");

	if (dns && http)
		return dfail(d, CDNI_EINVAL, "dns, http: a message holds only one of them");
	*o = dns ? dns : http;
	*k = dns ? RRI_DNS : http ? RRI_HTTP : RRI_NONE;
	if (!*o)
		return need ? dfail(d, CDNI_EINVAL, "dns, http: missing (one is needed)") : 0;
	if (!json_is_object(*o))
		return dfail(d, CDNI_EINVAL, "%s: not an object", dns ? "dns" : "http");
	return 0;
}

static int dec_dns_request(struct dec *d, json_t *o, struct rri_dns_request *r)
{
	int rc = get_str(d, o, "dns", "resolver-ip", true, ip_ok, &r->resolver_ip);

	if (!rc)
		rc = get_str(d, o, "dns", "qtype", true, qtype_ok, &r->qtype);
	if (!rc)
		rc = get_str(d, o, "dns", "qclass", true, qclass_ok, &r->qclass);
	if (!rc)
		rc = get_str(d, o, "dns", "qname", true, domain_ok, &r->qname);
	if (!rc)
		rc = get_str(d, o, "dns", "c-subnet", false, cidr_ok, &r->c_subnet);
	if (!rc)
		rc = get_bool(d, o, "dns", "dns-only", &r->dns_only);
	return rc;
}

static int dec_http_request(struct dec *d, json_t *o, struct rri_http_request *r)
{
	int rc = get_str(d, o, "http", "c-ip", true, ip_ok, &r->c_ip);

	if (!rc)
		rc = get_str(d, o, "http", "cs-uri", true, http_uri_ok, &r->cs_uri);
	if (!rc)
		rc = get_str(d, o, "http", "cs-method", true, method_ok, &r->cs_method);
	if (!rc)
		rc = get_str(d, o, "http", "cs-version", true, version_ok, &r->cs_version);
	if (!rc)
		rc = get_headers(d, o, "http", "cs-(", NULL, &r->headers);
	return rc;
}

static int dec_request(struct dec *d, json_t *j, struct rri_request *rq)
{
	json_t *o;
	int rc = get_kind(d, j, true, &o, &rq->kind);

	if (!rc)
		rc = rq->kind == RRI_DNS ? dec_dns_request(d, o, &rq->dns)
					 : dec_http_request(d, o, &rq->http);
	if (!rc)
		rc = get_path(d, j, true, &rq->cdn_path, NULL);
	if (!rc)
		rc = get_int(d, j, NULL, "max-hops", false, 0, RRI_MAX_HOPS, &rq->max_hops);
	return rc;
}

int rri_request_decode(const char *body, size_t len, struct rri_request *rq, char *err,
		       size_t errlen)
{
	struct dec d = { err, errlen };
	json_t *j = NULL;
	int rc;

	memset(rq, 0, sizeof *rq);
	rq->max_hops = -1;
	rc = parse(&d, body, len, &j);
	if (!rc)
		rc = dec_request(&d, j, rq);
	json_decref(j);
	if (rc)
		rri_request_clear(rq);
	return rc;
}

static int dec_dns_response(struct dec *d, json_t *o, struct rri_dns_response *r)
{
	int rc = get_int(d, o, "dns", "rcode", true, 0, 4095, &r->rcode);

	if (!rc)
		rc = get_str(d, o, "dns", "name", true, domain_ok, &r->name);
	if (!rc)
		rc = get_strs(d, o, "dns", "a", RRI_MAX_ARRAY, ip4_ok, &r->a, NULL);
	if (!rc)
		rc = get_strs(d, o, "dns", "aaaa", RRI_MAX_ARRAY, ip6_ok, &r->aaaa, NULL);
	if (!rc)
		rc = get_strs(d, o, "dns", "cname", RRI_MAX_ARRAY, domain_ok, &r->cname, NULL);
	if (!rc)
		rc = get_int(d, o, "dns", "ttl", false, 0, 2147483647, &r->ttl);
	if (rc)
		return rc;
	if (!r->a.n && !r->aaaa.n && !r->cname.n)
		return dfail(d, CDNI_EINVAL, "dns: needs a, aaaa or cname (not empty)");
	if (r->cname.n && (r->a.n || r->aaaa.n))
		return dfail(d, CDNI_EINVAL, "dns.cname: may not come with a or aaaa");
	return 0;
}

static bool reason_ok(const char *s) { return header_value_ok(s); }

static int dec_http_response(struct dec *d, json_t *o, struct rri_http_response *r)
{
	int rc = get_int(d, o, "http", "sc-status", true, 100, 599, &r->sc_status);

	if (!rc)
		rc = get_str(d, o, "http", "sc-version", true, version_ok, &r->sc_version);
	if (!rc)
		rc = get_str(d, o, "http", "sc-reason", true, reason_ok, &r->sc_reason);
	if (!rc)
		rc = get_str(d, o, "http", "cs-uri", true, http_uri_ok, &r->cs_uri);
	if (!rc)
		rc = get_str(d, o, "http", "sc-(location)", true, abs_uri_ok, &r->location);
	if (!rc)
		rc = get_headers(d, o, "http", "sc-(", "location", &r->headers);
	return rc;
}

static int dec_error(struct dec *d, json_t *j, struct rri_error *e)
{
	json_t *o = json_object_get(j, "error");
	long long code = 0;
	int rc;

	if (!o)
		return 0;
	if (!json_is_object(o))
		return dfail(d, CDNI_EINVAL, "error: not an object");
	rc = get_int(d, o, "error", "error-code", true, 100, 599, &code);
	if (!rc)
		rc = get_str(d, o, "error", "reason", false, any_ok, &e->reason);
	if (!rc)
		rc = get_str(d, o, "error", "cdn", false, any_ok, &e->cdn);
	e->code = (int)code;
	return rc;
}

static int dec_scope(struct dec *d, json_t *j, struct rri_response *rs)
{
	json_t *o = json_object_get(j, "scope");

	if (!o)
		return 0;
	if (!json_is_object(o))
		return dfail(d, CDNI_EINVAL, "scope: not an object");
	rs->has_scope = true;
	return get_strs(d, o, "scope", "iprange", RRI_MAX_ARRAY, cidr_ok, &rs->scope, NULL);
}

static int dec_response(struct dec *d, json_t *j, struct rri_response *rs)
{
	json_t *o;
	int rc = get_kind(d, j, false, &o, &rs->kind);

	if (!rc && rs->kind == RRI_DNS)
		rc = dec_dns_response(d, o, &rs->dns);
	else if (!rc && rs->kind == RRI_HTTP)
		rc = dec_http_response(d, o, &rs->http);
	if (!rc)
		rc = dec_error(d, j, &rs->error);
	if (!rc)
		rc = dec_scope(d, j, rs);
	if (!rc)
		rc = get_path(d, j, false, &rs->cdn_path, &rs->has_cdn_path);
	if (!rc && rs->kind == RRI_NONE && !rs->error.code)
		rc = dfail(d, CDNI_EINVAL, "dns, http, error: missing (one is needed)");
	return rc;
}

int rri_response_decode(const char *body, size_t len, struct rri_response *rs, char *err,
			size_t errlen)
{
	struct dec d = { err, errlen };
	json_t *j = NULL;
	int rc;

	memset(rs, 0, sizeof *rs);
	rc = parse(&d, body, len, &j);
	if (!rc)
		rc = dec_response(&d, j, rs);
	json_decref(j);
	if (rc)
		rri_response_clear(rs);
	return rc;
}

/* ---- encoding ---- */

/* Builders note a failure (a NULL value, invalid UTF-8) in *bad. */
static void put(json_t *o, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(o, key, v))
		*bad = true;
}

static void put_str(json_t *o, const char *key, const char *s, bool *bad)
{
	if (s)
		put(o, key, json_string(s), bad);
}

/* An address in RFC 5952 form (or as given when it is not one: the
 * check after encoding names it). */
static void put_ip(json_t *o, const char *key, const char *s, bool *bad)
{
	char canon[64];

	if (s)
		put(o, key, json_string(rri_ip_parse(s, canon) ? canon : s), bad);
}

static json_t *str_array(const struct rri_strs *s, bool ip)
{
	json_t *a = json_array();
	char canon[64];

	for (size_t i = 0; a && i < s->n; i++) {
		const char *v = ip && rri_ip_parse(s->v[i], canon) ? canon : s->v[i];
		if (json_array_append_new(a, json_string(v))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static void put_headers(json_t *o, const char *prefix, const struct rri_headers *h, bool *bad)
{
	char key[160];

	for (size_t i = 0; i < h->n; i++) {
		snprintf(key, sizeof key, "%s(%s)", prefix, h->v[i].name);
		put_str(o, key, h->v[i].value, bad);
	}
}

static json_t *enc_dns_request(const struct rri_dns_request *r, bool *bad)
{
	json_t *o = json_object();

	put_ip(o, "resolver-ip", r->resolver_ip, bad);
	put_str(o, "qtype", r->qtype, bad);
	put_str(o, "qclass", r->qclass, bad);
	put_str(o, "qname", r->qname, bad);
	put_str(o, "c-subnet", r->c_subnet, bad);
	if (r->dns_only)
		put(o, "dns-only", json_true(), bad);
	return o;
}

static json_t *enc_http_request(const struct rri_http_request *r, bool *bad)
{
	json_t *o = json_object();

	put_ip(o, "c-ip", r->c_ip, bad);
	put_str(o, "cs-uri", r->cs_uri, bad);
	put_str(o, "cs-method", r->cs_method, bad);
	put_str(o, "cs-version", r->cs_version, bad);
	put_headers(o, "cs-", &r->headers, bad);
	return o;
}

static json_t *enc_request(const struct rri_request *rq, bool *bad)
{
	json_t *j = json_object();

	if (rq->kind == RRI_DNS)
		put(j, "dns", enc_dns_request(&rq->dns, bad), bad);
	else if (rq->kind == RRI_HTTP)
		put(j, "http", enc_http_request(&rq->http, bad), bad);
	put(j, "cdn-path", str_array(&rq->cdn_path, false), bad);
	if (rq->max_hops >= 0)
		put(j, "max-hops", json_integer(rq->max_hops), bad);
	return j;
}

static json_t *enc_dns_response(const struct rri_dns_response *r, bool *bad)
{
	json_t *o = json_object();

	put(o, "rcode", json_integer(r->rcode), bad);
	put_str(o, "name", r->name, bad);
	if (r->a.n)
		put(o, "a", str_array(&r->a, true), bad);
	if (r->aaaa.n)
		put(o, "aaaa", str_array(&r->aaaa, true), bad);
	if (r->cname.n)
		put(o, "cname", str_array(&r->cname, false), bad);
	put(o, "ttl", json_integer(r->ttl), bad);
	return o;
}

static json_t *enc_http_response(const struct rri_http_response *r, bool *bad)
{
	json_t *o = json_object();

	put(o, "sc-status", json_integer(r->sc_status), bad);
	put_str(o, "sc-version", r->sc_version, bad);
	put_str(o, "sc-reason", r->sc_reason, bad);
	put_str(o, "cs-uri", r->cs_uri, bad);
	put_str(o, "sc-(location)", r->location, bad);
	put_headers(o, "sc-", &r->headers, bad);
	return o;
}

static json_t *enc_response(const struct rri_response *rs, bool *bad)
{
	json_t *j = json_object(), *o;

	if (rs->kind == RRI_DNS)
		put(j, "dns", enc_dns_response(&rs->dns, bad), bad);
	else if (rs->kind == RRI_HTTP)
		put(j, "http", enc_http_response(&rs->http, bad), bad);
	if (rs->has_scope || rs->scope.n) {
		o = json_object();
		put(o, "iprange", str_array(&rs->scope, false), bad);
		put(j, "scope", o, bad);
	}
	if (rs->has_cdn_path || rs->cdn_path.n)
		put(j, "cdn-path", str_array(&rs->cdn_path, false), bad);
	if (rs->error.code) {
		o = json_object();
		put(o, "error-code", json_integer(rs->error.code), bad);
		put_str(o, "reason", rs->error.reason, bad);
		put_str(o, "cdn", rs->error.cdn, bad);
		put(j, "error", o, bad);
	}
	return j;
}

/* Serialize j (consumed), check it decodes as a request or response, and
 * append it to out. */
static int finish(json_t *j, bool bad, int request, struct buf *out, char *err, size_t errlen)
{
	struct rri_request rq;
	struct rri_response rs;
	char *text = NULL;
	int rc;

	if (!j || bad || !(text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS))) {
		json_decref(j);
		snprintf(err, errlen, "cannot encode (out of memory or a string not UTF-8)");
		return CDNI_EINVAL;
	}
	json_decref(j);
	rc = request == 1 ? rri_request_decode(text, strlen(text), &rq, err, errlen)
	   : request == 0 ? rri_response_decode(text, strlen(text), &rs, err, errlen) : 0;
	if (!rc) {
		if (request == 1)
			rri_request_clear(&rq);
		else if (request == 0)
			rri_response_clear(&rs);
		buf_puts(out, text);
		rc = out->err;
	}
	free(text);
	return rc;
}

int rri_request_encode(const struct rri_request *rq, struct buf *out, char *err, size_t errlen)
{
	bool bad = false;
	json_t *j = enc_request(rq, &bad);

	return finish(j, bad, 1, out, err, errlen);
}

int rri_response_encode(const struct rri_response *rs, struct buf *out, char *err,
			size_t errlen)
{
	bool bad = false;
	json_t *j = enc_response(rs, &bad);

	return finish(j, bad, 0, out, err, errlen);
}

int rri_response_encode_trusted(const struct rri_response *rs, struct buf *out)
{
	char err[8];
	bool bad = false;
	json_t *j = enc_response(rs, &bad);

	return finish(j, bad, -1, out, err, sizeof err);
}

bool rri_path_has_duplicate(const struct rri_strs *p)
{
	for (size_t i = 0; i < p->n; i++)
		for (size_t k = i + 1; k < p->n; k++)
			if (strcmp(p->v[i], p->v[k]) == 0)
				return true;
	return false;
}
