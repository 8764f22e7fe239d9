/* cdni-scenario — one helper for the modules that explain a refusal: format
 * the message into err and return CDNI_ECONFIG. Internal to scenarios/. */
#ifndef CDNI_SCENARIO_ERRMSG_H
#define CDNI_SCENARIO_ERRMSG_H

#include <stdarg.h>
#include <stdio.h>

#include "common/err.h"

static inline int sc_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int sc_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CDNI_ECONFIG;
}

#endif
