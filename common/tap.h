/* cdni — a tiny TAP producer for unit tests (run by prove).
 *   int main(void) { plan(2); ok(1 + 1 == 2, "adds"); is_int(f(), 3, "f"); return done_testing(); }
 * done_testing() prints the plan when none was given, and returns the exit
 * status: 0 when every test passed and the count matches the plan. */
#ifndef CDNI_TAP_H
#define CDNI_TAP_H

#include <stddef.h>

void plan(int n);
int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int is_mem(const void *got, size_t glen, const void *want, size_t wlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int done_testing(void);
/* in with "%D" replaced by dir and "%P" by pki (either may be NULL: kept),
 * into out (len bytes, always terminated; what does not fit is cut). For
 * configs written in tests that name a temporary directory. */
void tap_expand(const char *in, const char *dir, const char *pki, char *out, size_t len);

#endif
