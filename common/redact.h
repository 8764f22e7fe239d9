/* cdni — signatures cut from logged text.
 *
 * A signed URI is a key to its content until the token expires, and logs are
 * read by more people than the content's owner chose. Before a URI reaches
 * an access log or a log line, the signature of every URI Signing Package
 * (RFC 9246) in it is cut: a parameter value that is a JWS in compact form
 * keeps its header and claims, which people and `cdni-urisign inspect` still
 * read, and its signature becomes REDACT_MARK, so it verifies nowhere. */
#ifndef CDNI_REDACT_H
#define CDNI_REDACT_H

#include <stddef.h>

#define REDACT_MARK "REDACTED"

/* s with the signature of each parameter value ("?", "&" or ";" then
 * name=value) that is a compact JWS (three base64url parts, the first
 * "eyJ...") replaced by REDACT_MARK, written to out as snprintf does
 * (truncated to outlen, NUL-terminated when outlen > 0). Returns the length
 * of the whole result; *count (when not NULL) gets the signatures cut. */
size_t redact_tokens(const char *s, char *out, size_t outlen, int *count);

#endif
