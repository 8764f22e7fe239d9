/* cdni — logging to stderr.
 * One line per event: time, program, level, context, message.
 *   2026-11-22T07:30:00.123Z cdni-origin info [req=12 peer=127.0.0.1:5555] GET /a 200
 * The level is checked before anything is formatted; errno is preserved. */
#ifndef CDNI_LOG_H
#define CDNI_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_threshold; /* events above this level are dropped */

void log_init(const char *program, int level);
const char *log_program(void);
/* Parse "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *name);

/* ctx may be NULL; it is printed in brackets before the message. */
void log_msg(int level, const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *ctx, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Log whatever the threshold (the readiness line, which runners wait for). */
void log_always(int level, const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG_AT(lvl, ctx, ...) \
	do { if ((lvl) <= log_threshold) log_msg((lvl), (ctx), __VA_ARGS__); } while (0)
#define log_err(ctx, ...)   LOG_AT(LOG_ERR, ctx, __VA_ARGS__)
#define log_warn(ctx, ...)  LOG_AT(LOG_WARN, ctx, __VA_ARGS__)
#define log_info(ctx, ...)  LOG_AT(LOG_INFO, ctx, __VA_ARGS__)
#define log_debug(ctx, ...) LOG_AT(LOG_DEBUG, ctx, __VA_ARGS__)

/* Write one access-log or data line verbatim to stdout-style stream (the
 * access log), serialised across threads. */
void log_line(void *stream, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
