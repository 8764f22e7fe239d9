#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "common/redact.h"

int log_threshold = LOG_INFO;
static const char *prog = "cdni";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *program, int level)
{
	if (program)
		prog = program;
	if (level >= LOG_ERR && level <= LOG_DEBUG)
		log_threshold = level;
}

const char *log_program(void)
{
	return prog;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (name && strcasecmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

static void timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(tv.tv_usec / 1000));
}

static void emit(int level, const char *ctx, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void emit(int level, const char *ctx, const char *fmt, va_list ap)
{
	int saved = errno;
	char ts[40], msg[2048];

	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	timestamp(ts, sizeof ts);
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (strstr(msg, "eyJ")) { /* no replayable token in a log line */
		char full[sizeof msg];

		memcpy(full, msg, sizeof msg);
		redact_tokens(full, msg, sizeof msg, NULL);
	}
	/* never let a peer's bytes forge a log line */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	pthread_mutex_lock(&log_lock);
	if (ctx && *ctx)
		fprintf(stderr, "%s %s %s [%s] %s\n", ts, prog, level_names[level], ctx, msg);
	else
		fprintf(stderr, "%s %s %s %s\n", ts, prog, level_names[level], msg);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

void log_vmsg(int level, const char *ctx, const char *fmt, va_list ap)
{
	if (level <= log_threshold)
		emit(level, ctx, fmt, ap);
}

void log_always(int level, const char *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, ctx, fmt, ap);
	va_end(ap);
}

void log_msg(int level, const char *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, ctx, fmt, ap);
	va_end(ap);
}

void log_line(void *stream, const char *fmt, ...)
{
	FILE *f = stream ? stream : stdout;
	int saved = errno;
	va_list ap;

	pthread_mutex_lock(&log_lock);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}
