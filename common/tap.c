#include "common/tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int planned = -1;
static int run;
static int failed;

void plan(int n)
{
	planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static int report(int cond, const char *fmt, va_list ap)
{
	run++;
	if (!cond)
		failed++;
	printf("%sok %d - ", cond ? "" : "not ", run);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	return cond;
}

void diag(const char *fmt, ...)
{
	va_list ap;
	char line[4096];

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *s = line, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		nl = strchr(s, '\n');
		printf("# %.*s\n", nl ? (int)(nl - s) : (int)strlen(s), s);
	}
	fflush(stdout);
}

int is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("     got: %lld\n    want: %lld", got, want);
	return cond;
}

int is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int cond = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("     got: %s%s%s\n    want: %s%s%s", got ? "'" : "", got ? got : "NULL",
		     got ? "'" : "", want ? "'" : "", want ? want : "NULL", want ? "'" : "");
	return cond;
}

int is_mem(const void *got, size_t glen, const void *want, size_t wlen, const char *fmt, ...)
{
	va_list ap;
	int cond = glen == wlen && (glen == 0 || (got && want && memcmp(got, want, glen) == 0));

	va_start(ap, fmt);
	report(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		diag("    got %zu bytes, want %zu bytes (contents differ)", glen, wlen);
	return cond;
}

int done_testing(void)
{
	if (planned < 0) {
		printf("1..%d\n", run);
		planned = run;
	}
	fflush(stdout);
	return (failed == 0 && run == planned) ? 0 : 1;
}

void tap_expand(const char *in, const char *dir, const char *pki, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (const char *p = in; *p && o + 1 < len; p++) {
		const char *sub = p[0] == '%' && p[1] == 'D' ? dir : p[0] == '%' && p[1] == 'P' ? pki
											  : NULL;
		if (sub) {
			int n = snprintf(out + o, len - o, "%s", sub);
			o = n < 0 ? o : o + (size_t)n < len ? o + (size_t)n : len - 1;
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}
