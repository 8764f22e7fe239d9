#include "urisign/b64.h"

#include <stdlib.h>

#include "common/err.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64url_enc_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t b64url_dec_max(size_t n)
{
	return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
}

void b64url_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	size_t i = 0, o = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[p[i] >> 2];
		out[o++] = alphabet[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];
		out[o++] = alphabet[v >> 10 & 63];
		out[o++] = alphabet[v >> 4 & 63];
		out[o++] = alphabet[(v & 15) << 2];
	}
	out[o] = '\0';
}

char *b64url_encode_new(const void *in, size_t n)
{
	char *s = malloc(b64url_enc_len(n) + 1);

	if (s)
		b64url_encode(in, n, s);
	return s;
}

static int val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	size_t o = 0, bits = 0;

	if (n % 4 == 1)
		return CDNI_EPARSE;
	if (b64url_dec_max(n) > cap)
		return CDNI_EOVERFLOW;
	for (size_t i = 0; i < n; i++) {
		int v = val((unsigned char)in[i]);
		if (v < 0)
			return CDNI_EPARSE;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1)) /* spare bits must be zero */
		return CDNI_EPARSE;
	*outlen = o;
	return 0;
}

int b64url_decode_new(const char *in, size_t n, uint8_t **out, size_t *outlen)
{
	size_t cap = b64url_dec_max(n), len = 0;
	uint8_t *p = malloc(cap + 1);
	int rc;

	if (!p)
		return CDNI_ENOMEM;
	rc = b64url_decode(in, n, p, cap, &len);
	if (rc) {
		free(p);
		return rc;
	}
	p[len] = 0;
	*out = p;
	*outlen = len;
	return 0;
}
