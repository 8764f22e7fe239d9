#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const msgs[] = {
	[0] = "success",
	[1] = "out of memory",
	[2] = "invalid argument",
	[3] = "input truncated or buffer too small",
	[4] = "value out of range",
	[5] = "malformed input",
	[6] = "not found",
	[7] = "already exists",
	[8] = "input/output error",
	[9] = "deadline passed",
	[10] = "TLS error",
	[11] = "configuration error",
	[12] = "denied by policy",
	[13] = "upstream error",
	[14] = "not supported",
	[15] = "busy",
	[16] = "connection closed by peer",
	[17] = "protocol version not supported",
	[18] = "unexpected message",
};

const char *cdni_strerror(int code)
{
	if (code > 0 || code <= CDNI_ERR_MIN_)
		return "unknown error";
	return msgs[-code];
}

int cdni_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
