/* cdni — signatures cut from logged URIs (redact.h) */
#include "common/redact.h"

#include <string.h>

struct sink {
	char *b;
	size_t len, cap;
};

static void sink_put(struct sink *o, const char *s, size_t n)
{
	if (o->cap && o->len < o->cap - 1) {
		size_t room = o->cap - 1 - o->len;
		memcpy(o->b + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static int b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* When the run of base64url characters and dots at v is a compact JWS
 * (eyJ... . claims . signature, none empty), the offset of its signature and
 * *n its length; else 0. The run ends at any other byte: in a URI ("&", "#")
 * or in a log line's text around it. */
static size_t jws_sig_at(const char *v, size_t *n)
{
	size_t dot[2], nd = 0, i;

	if (strncmp(v, "eyJ", 3) != 0)
		return 0;
	for (i = 0; v[i] == '.' || b64url_char((unsigned char)v[i]); i++)
		if (v[i] == '.') {
			if (nd == 2)
				return 0; /* a JWE, or no token */
			dot[nd++] = i;
		}
	*n = i;
	return nd == 2 && dot[1] > dot[0] + 1 && dot[1] + 1 < i ? dot[1] + 1 : 0;
}

/* At p, a parameter "name=value" whose value is a JWS: the length up to and
 * including the value's second dot, and *end past the value; else 0. */
static size_t token_param(const char *p, size_t *end)
{
	size_t name = strcspn(p, "=&;/?# "), vlen = 0, sig;

	if (name == 0 || p[name] != '=')
		return 0;
	if (!(sig = jws_sig_at(p + name + 1, &vlen)))
		return 0;
	*end = name + 1 + vlen;
	return name + 1 + sig;
}

size_t redact_tokens(const char *s, char *out, size_t outlen, int *count)
{
	struct sink o = { .b = out, .cap = outlen };
	int cut = 0;

	while (*s) {
		size_t run = strcspn(s, "?&;"), keep, end = 0;

		sink_put(&o, s, run + (s[run] != '\0'));
		if (!s[run])
			break;
		s += run + 1;
		if ((keep = token_param(s, &end))) {
			sink_put(&o, s, keep);
			sink_put(&o, REDACT_MARK, sizeof REDACT_MARK - 1);
			s += end;
			cut++;
		}
	}
	if (outlen)
		out[o.len < outlen ? o.len : outlen - 1] = '\0';
	if (count)
		*count = cut;
	return o.len;
}
