/* b64.c: base64url as JOSE uses it, strictly. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "urisign/b64.h"

static const char *const vec[][2] = {
	{ "", "" },         { "f", "Zg" },         { "fo", "Zm8" },        { "foo", "Zm9v" },
	{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
};

static int dec(const char *s, size_t cap)
{
	uint8_t out[64];
	size_t n = 0;
	return b64url_decode(s, strlen(s), out, cap, &n);
}

int main(void)
{
	char enc[64];
	uint8_t out[64], all[256];
	size_t n = 0;

	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		b64url_encode(vec[i][0], strlen(vec[i][0]), enc);
		is_str(enc, vec[i][1], "encode \"%s\" (RFC 4648 vector, no padding)", vec[i][0]);
		ok(b64url_decode(vec[i][1], strlen(vec[i][1]), out, sizeof out, &n) == 0 &&
			   n == strlen(vec[i][0]) && memcmp(out, vec[i][0], n) == 0,
		   "decode \"%s\"", vec[i][1]);
	}
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	char *e = b64url_encode_new(all, sizeof all);
	uint8_t *back = NULL;
	ok(e && strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
			strlen(e), "every byte encodes into the URL-safe alphabet only");
	ok(e && b64url_decode_new(e, strlen(e), &back, &n) == 0 && n == 256 &&
		   memcmp(back, all, 256) == 0, "every byte value round-trips");
	free(e);
	free(back);
	is_int(dec("Zg==", 64), CDNI_EPARSE, "padding is refused");
	is_int(dec("Zm9v+w", 64), CDNI_EPARSE, "'+' (standard alphabet) is refused");
	is_int(dec("Zm9v/w", 64), CDNI_EPARSE, "'/' (standard alphabet) is refused");
	is_int(dec("Zm9 v", 64), CDNI_EPARSE, "whitespace is refused");
	is_int(dec("Zm9v.", 64), CDNI_EPARSE, "'.' is refused");
	is_int(dec("Z", 64), CDNI_EPARSE, "a length of 4n+1 is refused");
	is_int(dec("Zh", 64), CDNI_EPARSE, "non-zero spare bits are refused (one encoding only)");
	is_int(dec("Zm9", 64), CDNI_EPARSE, "non-zero spare bits in a 3-character tail are refused");
	is_int(dec("Zm9vYmFy", 5), CDNI_EOVERFLOW, "an output buffer too small is reported");
	is_int(b64url_decode("Zm\0v", 4, out, sizeof out, &n), CDNI_EPARSE, "a NUL byte is refused");
	is_int((int)b64url_enc_len(32), 43, "32 bytes take 43 characters");
	is_int((int)b64url_dec_max(43), 32, "43 characters decode to at most 32 bytes");
	return done_testing();
}
