#include "common/accesslog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/redact.h"

/* A line is built in one buffer and written with one write(2): whole lines
 * from many threads never interleave (O_APPEND files, pipes below PIPE_BUF
 * for short lines), there is no lock and no allocation per request. */
#define LINE_MAX_ 4096

int access_log_open(struct access_log *al, const char *path)
{
	al->owned = 0;
	al->f = stdout;
	if (!path || strcmp(path, "-") == 0)
		return 0;
	if (strcmp(path, "off") == 0) {
		al->f = NULL; /* writes do nothing */
		return 0;
	}
	al->f = fopen(path, "a");
	if (!al->f)
		return CDNI_EIO;
	al->owned = 1;
	return 0;
}

void access_log_close(struct access_log *al)
{
	if (al->owned && al->f)
		fclose(al->f);
	al->f = NULL;
	al->owned = 0;
}

struct line {
	char b[LINE_MAX_];
	size_t n;
	int full;
};

static void put_raw(struct line *l, const char *s, size_t len)
{
	if (l->full || len > sizeof l->b - 3 - l->n) { /* keep room for "}\n" */
		l->full = 1;
		return;
	}
	memcpy(l->b + l->n, s, len);
	l->n += len;
}

/* Valid UTF-8 sequence length at s (at most left bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf8 || n == 0 || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Length of the run of printable ASCII at s that JSON takes as it is. */
static size_t plain_run(const unsigned char *s, size_t left)
{
	size_t n = 0;

	while (n < left && s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' && s[n] != '\\')
		n++;
	return n;
}

/* One byte or UTF-8 sequence that is not plain: escaped, or copied when it
 * is valid UTF-8. Returns the bytes consumed. */
static size_t put_special(struct line *l, const unsigned char *p, size_t left)
{
	static const char hex[] = "0123456789abcdef";
	size_t u = p[0] >= 0x80 ? utf8_len(p, left) : 1;

	if (p[0] == '"' || p[0] == '\\') {
		char e[2] = { '\\', (char)p[0] };
		put_raw(l, e, 2);
	} else if (p[0] < 0x20 || p[0] == 0x7f || u == 0) {
		char e[6] = { '\\', 'u', '0', '0', hex[p[0] >> 4], hex[p[0] & 15] };
		put_raw(l, e, 6);
		u = 1;
	} else {
		put_raw(l, (const char *)p, u);
	}
	return u;
}

/* JSON string body: quotes, backslashes and controls escaped; bytes that
 * are not UTF-8 become \u00XX of the byte so the line stays valid JSON.
 * Runs of plain ASCII are copied at once. */
static void put_escaped(struct line *l, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	while (left) {
		size_t u = plain_run(p, left);

		if (u)
			put_raw(l, (const char *)p, u);
		else
			u = put_special(l, p, left);
		p += u;
		left -= u;
	}
}

static void put_str(struct line *l, const char *k, const char *v)
{
	if (!v)
		return;
	put_raw(l, l->n > 1 ? ",\"" : "\"", l->n > 1 ? 2 : 1);
	put_raw(l, k, strlen(k));
	put_raw(l, "\":\"", 3);
	put_escaped(l, v);
	put_raw(l, "\"", 1);
}

/* A URI-bearing field, its tokens' signatures cut (see accesslog.h). */
static void put_uri(struct line *l, const char *k, const char *v)
{
	char cut[LINE_MAX_];

	if (v && strstr(v, "eyJ")) {
		redact_tokens(v, cut, sizeof cut, NULL);
		v = cut;
	}
	put_str(l, k, v);
}

static void put_int(struct line *l, const char *k, long long v)
{
	char num[32];
	int n;

	if (v < 0)
		return;
	n = snprintf(num, sizeof num, "%lld", v);
	put_raw(l, ",\"", 2);
	put_raw(l, k, strlen(k));
	put_raw(l, "\":", 2);
	put_raw(l, num, (size_t)n);
}

static void timestamp(char *ts, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

static void write_line(FILE *f, const char *b, size_t n)
{
	int fd = fileno(f);

	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a full disk or a closed pipe loses log lines, not requests */
		b += w;
		n -= (size_t)w;
	}
}

void access_log_write(struct access_log *al, const struct access_entry *e)
{
	struct line l = { .n = 1, .full = 0 };
	int saved = errno;
	char ts[40];

	if (!al || !al->f)
		return;
	l.b[0] = '{';
	timestamp(ts, sizeof ts);
	put_str(&l, "ts", ts);
	put_str(&l, "prog", log_program());
	put_str(&l, "peer", e->peer);
	put_str(&l, "method", e->method);
	put_str(&l, "host", e->host);
	put_uri(&l, "uri", e->uri);
	put_int(&l, "status", e->status);
	put_int(&l, "bytes", e->bytes);
	put_int(&l, "dur_us", e->dur_us);
	put_str(&l, "cache", e->cache);
	put_uri(&l, "location", e->location);
	put_uri(&l, "upstream", e->upstream);
	put_str(&l, "tls", e->tls);
	put_str(&l, "uri_signing", e->urisigning);
	put_str(&l, "uri_signing_reason", e->urisigning_reason);
	put_uri(&l, "note", e->note);
	if (l.full) { /* an over-long entry: keep what identifies it */
		l = (struct line){ .n = 1, .full = 0 };
		l.b[0] = '{';
		put_str(&l, "ts", ts);
		put_str(&l, "prog", log_program());
		put_str(&l, "peer", e->peer);
		put_str(&l, "method", e->method);
		put_int(&l, "status", e->status);
		put_str(&l, "uri_signing", e->urisigning);
		put_str(&l, "note", "entry too long for one line; fields dropped");
	}
	memcpy(l.b + l.n, "}\n", 2);
	write_line(al->f, l.b, l.n + 2);
	errno = saved;
}
