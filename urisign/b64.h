/* cdni — base64url (RFC 4648 §5) as JOSE uses it (RFC 7515 §2): no padding,
 * no whitespace, nothing outside the URL-safe alphabet, and the unused low
 * bits of the last character must be zero (one encoding per byte string). */
#ifndef CDNI_URISIGN_B64_H
#define CDNI_URISIGN_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes (without the terminating NUL). */
size_t b64url_enc_len(size_t n);
/* Largest byte count that n characters can decode to. */
size_t b64url_dec_max(size_t n);

/* Encode n bytes into out, which holds b64url_enc_len(n) + 1 bytes; NUL-terminated. */
void b64url_encode(const void *in, size_t n, char *out);
/* Same into a new string (NULL when out of memory). */
char *b64url_encode_new(const void *in, size_t n);

/* Decode n characters into out (cap bytes). CDNI_EPARSE for padding, a
 * character outside the alphabet, an impossible length or non-zero spare
 * bits; CDNI_EOVERFLOW when cap is too small. */
int b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);
/* Same into a new NUL-terminated buffer (the NUL is not counted). */
int b64url_decode_new(const char *in, size_t n, uint8_t **out, size_t *outlen);

#endif
