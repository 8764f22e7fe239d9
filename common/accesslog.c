#include "common/accesslog.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"

int access_log_open(struct access_log *al, const char *path)
{
	al->owned = 0;
	al->f = stdout;
	if (!path || strcmp(path, "-") == 0)
		return 0;
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

static void put_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static void put_int(json_t *o, const char *k, long long v)
{
	if (v >= 0)
		json_object_set_new(o, k, json_integer(v));
}

void access_log_write(struct access_log *al, const struct access_entry *e)
{
	struct timeval tv;
	struct tm tm;
	char ts[40], *line;
	json_t *o;

	if (!al || !al->f)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(tv.tv_usec / 1000));
	o = json_object();
	if (!o)
		return;
	put_str(o, "ts", ts);
	put_str(o, "prog", log_program());
	put_str(o, "peer", e->peer);
	put_str(o, "method", e->method);
	put_str(o, "host", e->host);
	put_str(o, "uri", e->uri);
	put_int(o, "status", e->status);
	put_int(o, "bytes", e->bytes);
	put_int(o, "dur_us", e->dur_us);
	put_str(o, "cache", e->cache);
	put_str(o, "location", e->location);
	put_str(o, "upstream", e->upstream);
	put_str(o, "tls", e->tls);
	put_str(o, "note", e->note);
	/* json_string() refuses invalid UTF-8: such a URI is logged escaped */
	if (e->uri && !json_object_get(o, "uri"))
		put_str(o, "uri", "(not UTF-8)");
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line)
		log_line(al->f, "%s", line);
	free(line);
	json_decref(o);
}
