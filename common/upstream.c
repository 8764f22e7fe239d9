#include "common/upstream.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/err.h"

#define HDR_SPACE 16384

struct fetch {
	const struct upstream_callbacks *cb;
	struct upstream_header h[UPSTREAM_MAX_HEADERS];
	size_t nh;
	char space[HDR_SPACE];
	size_t used;
	int headers_done;
	int status;
	int cb_err;
	const char *why; /* our own reason for aborting */
	const atomic_int *cancel;
	int cancelled;
	CURL *h_curl;
};

static pthread_key_t handle_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
/* CURLOPT_RESOLVE entries stay in a handle's DNS cache for good: the
 * "host:port" this thread's handle has pinned, removed when a later fetch
 * does not ask for it (else that fetch would silently go to the same address). */
static _Thread_local char pinned[256];

static void handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void make_key(void)
{
	pthread_key_create(&handle_key, handle_free);
}

int upstream_global_init(void)
{
	pthread_once(&key_once, make_key);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : CDNI_EIO;
}

void upstream_global_cleanup(void)
{
	CURL *h = pthread_getspecific(handle_key);

	if (h) {
		curl_easy_cleanup(h);
		pthread_setspecific(handle_key, NULL);
	}
	pinned[0] = '\0';
	curl_global_cleanup();
}

static CURL *thread_handle(void)
{
	CURL *h;

	pthread_once(&key_once, make_key);
	h = pthread_getspecific(handle_key);
	if (h) {
		curl_easy_reset(h);
		return h;
	}
	h = curl_easy_init();
	if (h && pthread_setspecific(handle_key, h) != 0) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

static char *store(struct fetch *f, const char *s, size_t len)
{
	char *p;

	if (len + 1 > HDR_SPACE - f->used)
		return NULL;
	p = f->space + f->used;
	memcpy(p, s, len);
	p[len] = '\0';
	f->used += len + 1;
	return p;
}

static int add_header(struct fetch *f, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *v, *end = line + len;

	if (!colon || colon == line)
		return 0; /* not a field line: ignore, as curl does */
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	if (f->nh == UPSTREAM_MAX_HEADERS)
		return CDNI_EOVERFLOW;
	f->h[f->nh].name = store(f, line, (size_t)(colon - line));
	f->h[f->nh].value = store(f, v, (size_t)(end - v));
	if (!f->h[f->nh].name || !f->h[f->nh].value)
		return CDNI_EOVERFLOW;
	f->nh++;
	return 0;
}

static int deliver_headers(struct fetch *f)
{
	long code = 0;

	if (f->headers_done)
		return f->cb_err;
	f->headers_done = 1;
	curl_easy_getinfo(f->h_curl, CURLINFO_RESPONSE_CODE, &code);
	f->status = (int)code;
	if (f->cb && f->cb->on_headers)
		f->cb_err = f->cb->on_headers(f->cb->cls, f->status, f->h, f->nh);
	return f->cb_err;
}

static size_t on_header_line(char *line, size_t size, size_t n, void *cls)
{
	struct fetch *f = cls;
	size_t len = size * n;
	long code = 0;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after 1xx) */
		f->nh = 0;
		f->used = 0;
		return len;
	}
	if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) { /* end of a header block */
		curl_easy_getinfo(f->h_curl, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && deliver_headers(f))
			return 0;
		return len;
	}
	if (add_header(f, line, len)) {
		f->why = "too many or too large response headers";
		return 0;
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *cls)
{
	struct fetch *f = cls;
	size_t len = size * n;

	if (deliver_headers(f))
		return 0;
	if (len && f->cb && f->cb->on_data && (f->cb_err = f->cb->on_data(f->cb->cls, data, len)))
		return 0;
	return len;
}

static int on_progress(void *cls, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct fetch *f = cls;

	(void)dlt; (void)dln; (void)ult; (void)uln;
	if (f->cancel && atomic_load(f->cancel)) {
		f->cancelled = 1;
		return 1;
	}
	return 0;
}

static struct curl_slist *request_headers(const struct upstream_request *r)
{
	struct curl_slist *list = NULL, *next;

	/* no "Expect: 100-continue", no Accept we did not ask for */
	list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; list && r->headers && r->headers[i]; i++) {
		next = curl_slist_append(list, r->headers[i]);
		if (!next) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = next;
	}
	return list;
}

/* "host:port" of a "host:port:addr" resolve entry. */
static void resolve_key(const char *entry, char *out, size_t outlen)
{
	const char *c1 = strchr(entry, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t n = c2 ? (size_t)(c2 - entry) : strlen(entry);

	snprintf(out, outlen, "%.*s", (int)n, entry);
}

/* The CURLOPT_RESOLVE list for this fetch: drop the previous pin unless it is
 * the one wanted again, then add the wanted one. *key gets its host:port. */
static int resolve_list(const struct upstream_request *r, struct curl_slist **out, char *key,
			size_t keylen)
{
	struct curl_slist *l = NULL, *next;
	char rm[sizeof pinned + 1];

	key[0] = '\0';
	if (r->resolve)
		resolve_key(r->resolve, key, keylen);
	if (pinned[0] && strcmp(pinned, key) != 0) {
		snprintf(rm, sizeof rm, "-%s", pinned);
		if (!(l = curl_slist_append(NULL, rm)))
			return CDNI_ENOMEM;
	}
	if (r->resolve) {
		if (!(next = curl_slist_append(l, r->resolve))) {
			curl_slist_free_all(l);
			return CDNI_ENOMEM;
		}
		l = next;
	}
	*out = l;
	return 0;
}

static void setup(CURL *h, const struct upstream_request *r, struct fetch *f,
		  struct curl_slist *hdrs, struct curl_slist *resolve, char *curl_err)
{
	curl_easy_setopt(h, CURLOPT_URL, r->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms ? r->connect_timeout_ms : 2000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : 10000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_line);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "cdni");
	if (r->method && strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	if (r->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
	}
	if (r->cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, r->cert_file);
	if (r->key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, r->key_file);
	if (r->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
	if (resolve)
		curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	if (r->cancel) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, f);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
}

static int map_result(CURLcode rc, struct fetch *f, const char *curl_err, char *err, size_t errlen)
{
	if (rc == CURLE_OK)
		return 0;
	if (f->cb_err)
		return f->cb_err;
	if (f->cancelled) {
		snprintf(err, errlen, "cancelled");
		return CDNI_ECLOSED;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "deadline passed: %s", *curl_err ? curl_err : curl_easy_strerror(rc));
		return CDNI_ETIMEDOUT;
	}
	snprintf(err, errlen, "%s", f->why ? f->why : *curl_err ? curl_err : curl_easy_strerror(rc));
	return CDNI_EUPSTREAM;
}

int upstream_fetch(const struct upstream_request *r, const struct upstream_callbacks *cb,
		   char *err, size_t errlen)
{
	char curl_err[CURL_ERROR_SIZE] = "", key[sizeof pinned];
	struct curl_slist *hdrs = NULL, *resolve = NULL;
	struct fetch *f = NULL;
	CURL *h = thread_handle();
	int ret = CDNI_ENOMEM;

	if (!h || !(f = calloc(1, sizeof *f)) || !(hdrs = request_headers(r)) ||
	    resolve_list(r, &resolve, key, sizeof key)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(pinned, key, sizeof pinned);
	f->cb = cb;
	f->h_curl = h;
	f->cancel = r->cancel;
	setup(h, r, f, hdrs, resolve, curl_err);
	ret = map_result(curl_easy_perform(h), f, curl_err, err, errlen);
	if (ret == 0)
		ret = deliver_headers(f); /* an empty body: headers not yet delivered */
out:
	if (h) { /* drop pointers into this call's lists before freeing them */
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(h, CURLOPT_RESOLVE, NULL);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	}
	curl_slist_free_all(hdrs);
	curl_slist_free_all(resolve);
	free(f);
	return ret;
}

const char *upstream_header_get(const struct upstream_header *h, size_t n, const char *name)
{
	for (size_t i = n; i-- > 0;)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

void upstream_url(struct buf *out, const char *base, const char *target)
{
	size_t blen = strlen(base);

	while (blen && base[blen - 1] == '/')
		blen--;
	buf_append(out, base, blen);
	if (target[0] != '/')
		buf_putc(out, '/');
	buf_puts(out, target);
}
