/* cdni-ua — checks of command-line values, so that a bad one is a usage
 * error (exit 2) before anything goes on the wire. */
#include "ua/ua.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/http.h"

static int bad(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return CDNI_EINVAL;
}

void ua_opts_init(struct ua_opts *o)
{
	memset(o, 0, sizeof *o);
	o->method = "GET";
	o->timeout_ms = UA_TIMEOUT_MS_DEFAULT;
	o->max_redirs = UA_MAX_REDIRS_DEFAULT;
}

int ua_method_check(const char *m, char *why, size_t whylen)
{
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return 0;
	return bad(why, whylen, "method must be GET or HEAD");
}

/* RFC 9110 §5.6.2 token character */
static bool tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int ua_header_check(const char *h, char *why, size_t whylen)
{
	const char *colon = strchr(h, ':');

	if (!colon || colon == h)
		return bad(why, whylen, "header must be 'Name: value'");
	for (const char *p = h; p < colon; p++)
		if (!tchar((unsigned char)*p))
			return bad(why, whylen, "header name holds a byte that is not a token character");
	if (!http_header_value_safe(colon + 1))
		return bad(why, whylen, "header value holds a control byte (CR, LF, ...)");
	if (strlen(h) > UA_URL_MAX)
		return bad(why, whylen, "header longer than %d bytes", UA_URL_MAX);
	return 0;
}

/* Digits at s (1 to 18 of them) into *v; returns the end or NULL. */
static const char *digits(const char *s, unsigned long long *v)
{
	size_t n = 0;

	*v = 0;
	while (isdigit((unsigned char)s[n]) && n < 19)
		*v = *v * 10 + (unsigned)(s[n++] - '0');
	return n == 0 || n > 18 ? NULL : s + n;
}

int ua_range_check(const char *r, char *why, size_t whylen)
{
	unsigned long long a, b;
	const char *p = r;

	if (*p == '-') {
		p = digits(p + 1, &b);
		if (!p || *p || b == 0)
			return bad(why, whylen, "range must be a-b, a- or -b (b > 0 for a suffix)");
		return 0;
	}
	p = digits(p, &a);
	if (!p || *p != '-')
		return bad(why, whylen, "range must be a-b, a- or -b");
	if (!p[1])
		return 0;
	p = digits(p + 1, &b);
	if (!p || *p)
		return bad(why, whylen, "range must be a-b, a- or -b");
	if (b < a)
		return bad(why, whylen, "range end %llu is before its start %llu", b, a);
	return 0;
}

static bool ip_literal(const char *s, size_t len)
{
	char tmp[64];
	unsigned char addr[16];

	if (len >= sizeof tmp || len == 0)
		return false;
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return false;
		memcpy(tmp, s + 1, len - 2);
		tmp[len - 2] = '\0';
		return inet_pton(AF_INET6, tmp, addr) == 1;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET, tmp, addr) == 1;
}

int ua_resolve_check(const char *r, char *why, size_t whylen)
{
	const char *c1 = strchr(r, ':'), *c2, *a, *end;
	char *pend;
	long port;

	if (!c1 || c1 == r)
		return bad(why, whylen, "resolve must be host:port:addr[,addr...]");
	for (const char *p = r; p < c1; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			return bad(why, whylen, "resolve host holds a byte that is not in a host name");
	errno = 0;
	port = strtol(c1 + 1, &pend, 10);
	c2 = pend;
	if (errno || c2 == c1 + 1 || *c2 != ':' || port < 1 || port > 65535)
		return bad(why, whylen, "resolve port must be 1..65535");
	for (a = c2 + 1;; a = end + 1) {
		end = strchr(a, ',');
		if (!end)
			end = a + strlen(a);
		if (!ip_literal(a, (size_t)(end - a)))
			return bad(why, whylen, "resolve address must be IPv4 or [IPv6]");
		if (!*end)
			return 0;
	}
}

int ua_timeout_parse(const char *s, long *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
		return CDNI_EINVAL;
	*ms = lround(v * 1000.0);
	if (*ms < 1)
		*ms = 1;
	return 0;
}

int ua_max_redirs_parse(const char *s, int *n)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1000 || !isdigit((unsigned char)*s))
		return CDNI_EINVAL;
	*n = (int)v;
	return 0;
}

int ua_resolver_check(const char *r, char *why, size_t whylen)
{
	const char *at = strchr(r, '@');
	size_t n = at ? (size_t)(at - r) : strlen(r);
	unsigned char addr[16];
	char ip[64], *end;
	long port;

	if (n == 0 || n >= sizeof ip)
		return bad(why, whylen, "want IP or IP@PORT");
	memcpy(ip, r, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
		return bad(why, whylen, "want a numeric IPv4 or IPv6 address, then @PORT");
	if (!at)
		return 0;
	errno = 0;
	port = strtol(at + 1, &end, 10);
	if (errno || end == at + 1 || *end || port < 1 || port > 65535)
		return bad(why, whylen, "port must be 1..65535");
	return 0;
}
