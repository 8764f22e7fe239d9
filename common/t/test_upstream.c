/* upstream.h + httpd.h: a real libmicrohttpd listener on port 0 and real
 * libcurl fetches from it: status, headers, body, HEAD, deadlines, refusals,
 * callback aborts, URL joining. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/httpd.h"
#include "common/tap.h"
#include "common/upstream.h"

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **state)
{
	static const char body[] = "hello upstream";
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Test");

	(void)cls; (void)method; (void)version; (void)data; (void)size; (void)state;
	if (strcmp(url, "/missing") == 0)
		return httpd_respond_text(c, 404, "no such thing");
	r = MHD_create_response_from_buffer(sizeof body - 1, (void *)(uintptr_t)body,
					    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "text/plain");
	MHD_add_response_header(r, "X-Echo", hdr ? hdr : "none");
	MHD_add_response_header(r, "ETag", "\"v1\"");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

struct got {
	int status;
	char echo[64], etag[64];
	size_t nh;
	struct buf body;
	int abort_with;
};

static int on_headers(void *cls, int status, const struct upstream_header *h, size_t n)
{
	struct got *g = cls;
	const char *e = upstream_header_get(h, n, "x-echo"), *t = upstream_header_get(h, n, "ETAG");

	g->status = status;
	g->nh = n;
	snprintf(g->echo, sizeof g->echo, "%s", e ? e : "");
	snprintf(g->etag, sizeof g->etag, "%s", t ? t : "");
	return g->abort_with;
}

static int on_data(void *cls, const void *d, size_t len)
{
	struct got *g = cls;
	buf_append(&g->body, d, len);
	return 0;
}

static int fetch(const char *url, const char *method, const char *const *hdrs, long tmo,
		 struct got *g, char *err, size_t errlen)
{
	struct upstream_request r = { .url = url, .method = method, .headers = hdrs,
				      .timeout_ms = tmo, .connect_timeout_ms = tmo };
	struct upstream_callbacks cb = { on_headers, on_data, g };

	buf_reset(&g->body);
	g->status = 0;
	return upstream_fetch(&r, &cb, err, errlen);
}

/* A socket that listens but never accepts or answers. */
static int silent_listener(unsigned short *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void joins(void)
{
	struct buf b;

	buf_init(&b, 0);
	upstream_url(&b, "http://o:1/", "/a?b");
	is_str(b.data, "http://o:1/a?b", "no doubled slash");
	buf_reset(&b);
	upstream_url(&b, "http://o:1/pre", "x");
	is_str(b.data, "http://o:1/pre/x", "slash added");
	buf_free(&b);
}

int main(void)
{
	struct listen_conf lc = { .address = (char *)(uintptr_t)"127.0.0.1", .port = 0 };
	struct httpd_opts o = { .handler = handler, .threads = 2 };
	struct httpd h;
	struct got g = { 0 };
	char err[256] = "", url[128];
	const char *const hdrs[] = { "X-Test: abc", NULL };
	unsigned short silent_port = 0;
	int sfd, rc;
	long long t0;

	upstream_global_init();
	buf_init(&g.body, 0);
	rc = httpd_start(&h, &lc, &o, err, sizeof err);
	is_int(rc, 0, "listener starts on port 0");
	ok(h.port != 0 && strncmp(h.bound, "127.0.0.1:", 10) == 0, "bound port learnt: %s", h.bound);

	snprintf(url, sizeof url, "http://%s/thing", h.bound);
	rc = fetch(url, "GET", hdrs, 2000, &g, err, sizeof err);
	ok(rc == 0 && g.status == 200, "GET 200 (%s)", err);
	is_str(g.body.data, "hello upstream", "body delivered");
	is_str(g.echo, "abc", "request header sent, response header read");
	is_str(g.etag, "\"v1\"", "header lookup is case-insensitive");
	rc = fetch(url, "GET", hdrs, 2000, &g, err, sizeof err);
	ok(rc == 0 && g.status == 200, "second GET on the same thread (reused handle)");

	rc = fetch(url, "HEAD", NULL, 2000, &g, err, sizeof err);
	ok(rc == 0 && g.status == 200 && g.body.len == 0, "HEAD: headers, no body");
	snprintf(url, sizeof url, "http://%s/missing", h.bound);
	rc = fetch(url, "GET", NULL, 2000, &g, err, sizeof err);
	ok(rc == 0 && g.status == 404, "a 404 is an answer, not an error");

	{ /* a pinned address (resolve) applies to its fetch only */
		char pin[64], purl[96];
		struct upstream_request pr = { .url = purl, .resolve = pin, .timeout_ms = 2000 };
		snprintf(pin, sizeof pin, "pinned.invalid:%u:127.0.0.1", h.port);
		snprintf(purl, sizeof purl, "http://pinned.invalid:%u/thing", h.port);
		rc = upstream_fetch(&pr, NULL, err, sizeof err);
		ok(rc == 0, "resolve pins a name to an address (%s)", err);
		pr.resolve = NULL;
		rc = upstream_fetch(&pr, NULL, err, sizeof err);
		ok(rc == CDNI_EUPSTREAM, "the pin does not outlive its fetch (%s)", err);
		pr.resolve = pin;
		rc = upstream_fetch(&pr, NULL, err, sizeof err);
		ok(rc == 0, "and can be set again (%s)", err);
	}
	g.abort_with = CDNI_EDENIED;
	snprintf(url, sizeof url, "http://%s/thing", h.bound);
	rc = fetch(url, "GET", NULL, 2000, &g, err, sizeof err);
	is_int(rc, CDNI_EDENIED, "a callback's error aborts and is returned");
	g.abort_with = 0;
	httpd_stop(&h);

	rc = fetch(url, "GET", NULL, 2000, &g, err, sizeof err);
	ok(rc == CDNI_EUPSTREAM && *err, "connection refused is EUPSTREAM: %s", err);

	sfd = silent_listener(&silent_port);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/slow", silent_port);
	t0 = now_us();
	rc = fetch(url, "GET", NULL, 300, &g, err, sizeof err);
	is_int(rc, CDNI_ETIMEDOUT, "a silent upstream hits the deadline");
	ok(now_us() - t0 < 2000000, "and the deadline is kept (%lld ms)", (now_us() - t0) / 1000);
	{
		atomic_int cancel = 1;
		struct upstream_request r = { .url = url, .timeout_ms = 10000, .cancel = &cancel };
		t0 = now_us();
		rc = upstream_fetch(&r, NULL, err, sizeof err);
		is_int(rc, CDNI_ECLOSED, "a cancelled fetch returns ECLOSED");
		ok(now_us() - t0 < 3000000, "well before its deadline (%lld ms)", (now_us() - t0) / 1000);
	}
	close(sfd);

	rc = fetch("file:///etc/passwd", "GET", NULL, 300, &g, err, sizeof err);
	ok(rc == CDNI_EUPSTREAM, "only http and https: file:// refused (%s)", err);
	joins();
	buf_free(&g.body);
	upstream_global_cleanup();
	return done_testing();
}
