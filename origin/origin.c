/* cdni-origin: configuration and the socket-free request logic. */
#include "origin/origin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/err.h"
#include "common/http.h"

#define ALLOW "GET, HEAD, OPTIONS"
#define CORS_ALLOW_HEADERS "Range, If-None-Match, If-Modified-Since, If-Range"
#define CORS_EXPOSE_HEADERS "Content-Length, Content-Range, ETag, Last-Modified, Accept-Ranges"
#define CORS_MAX_AGE "86400"

/* ---- configuration ---- */

static const char *const symlink_modes[] = { "beneath", "refuse", NULL };

static const struct conf_item rule_table[] = {
	CONF_STR("prefix", struct origin_rule, prefix, NULL, 0,
		 "path prefix the rule applies to, e.g. \"/live/\""),
	CONF_STR("ext", struct origin_rule, ext, NULL, 0,
		 "file extension the rule applies to, e.g. \"m3u8\""),
	CONF_STR("cache_control", struct origin_rule, cache_control, NULL, CONF_REQUIRED,
		 "Cache-Control value for matching files (\"\": none)"),
	CONF_END
};

const struct conf_item origin_conf_table[] = {
	CONF_LISTEN(struct origin_conf, listen),
	CONF_STR("root", struct origin_conf, root, NULL, CONF_REQUIRED, "content directory"),
	CONF_STR("index", struct origin_conf, index, "index.html", 0,
		 "file served for a directory path ending in /; \"\": none (404)"),
	CONF_STR("cache_control", struct origin_conf, cache_control, "public, max-age=60", 0,
		 "Cache-Control when no rule matches (\"\": none)"),
	CONF_LIST("rules", struct origin_conf, rules, rule_table, struct origin_rule, 0,
		  "Cache-Control rules, first match wins: [{prefix, ext, cache_control}]"),
	CONF_BOOL("cors", struct origin_conf, cors, false,
		  "send CORS headers and answer preflight requests"),
	CONF_STR("cors_origin", struct origin_conf, cors_origin, "*", 0,
		 "Access-Control-Allow-Origin value"),
	CONF_ENUM("symlinks", struct origin_conf, symlinks, symlink_modes, ORIGIN_SYMLINKS_BENEATH,
		  "beneath: follow symlinks that stay under root; refuse: follow none"),
	CONF_STR("access_log", struct origin_conf, access_log, "-", 0,
		 "access log file (JSON lines); \"-\": stdout; \"off\": none"),
	CONF_INT("threads", struct origin_conf, threads, 0, 1024, 4,
		 "0: a thread per connection; N: an epoll pool of N threads"),
	CONF_INT("connection_limit", struct origin_conf, connection_limit, 0, 1000000, 0,
		 "concurrent connections per listener; 0: libmicrohttpd's default"),
	CONF_INT("timeout", struct origin_conf, timeout, 1, 86400, 30,
		 "idle connection timeout, seconds"),
	CONF_END
};

static int conf_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conf_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CDNI_ECONFIG;
}

static int check_root(const char *root, char *err, size_t errlen)
{
	struct stat st;

	if (stat(root, &st) != 0)
		return conf_fail(err, errlen, "root: '%s': %s", root, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return conf_fail(err, errlen, "root: '%s' is not a directory", root);
	return 0;
}

static int check_listeners(const struct origin_conf *c, char *err, size_t errlen)
{
	const struct listen_conf *lcs = c->listen.v;
	char path[64];

	if (c->listen.n == 0)
		return conf_fail(err, errlen, "listen: needs at least one listener");
	for (size_t i = 0; i < c->listen.n; i++) {
		snprintf(path, sizeof path, "listen[%zu]", i);
		if (listen_conf_check(&lcs[i], path, err, errlen))
			return CDNI_ECONFIG;
		if (!lcs[i].tls)
			continue;
		if (access(lcs[i].cert, R_OK) != 0)
			return conf_fail(err, errlen, "%s.cert: '%s': %s", path, lcs[i].cert,
					 strerror(errno));
		if (access(lcs[i].key, R_OK) != 0)
			return conf_fail(err, errlen, "%s.key: '%s': %s", path, lcs[i].key,
					 strerror(errno));
	}
	return 0;
}

static int check_value(const char *key, const char *v, char *err, size_t errlen)
{
	if (v && !http_header_value_safe(v))
		return conf_fail(err, errlen, "%s: control characters are not allowed in a header value",
				 key);
	return 0;
}

static int check_rule(const struct origin_rule *r, size_t i, char *err, size_t errlen)
{
	char key[64];

	if (!r->prefix && !r->ext)
		return conf_fail(err, errlen, "rules[%zu]: needs a prefix, an ext, or both", i);
	if (r->prefix && r->prefix[0] != '/')
		return conf_fail(err, errlen, "rules[%zu].prefix: must start with '/', got '%s'", i,
				 r->prefix);
	if (r->ext && (!r->ext[0] || strchr(r->ext, '/') || (r->ext[0] == '.' && !r->ext[1])))
		return conf_fail(err, errlen, "rules[%zu].ext: must be an extension like \"m3u8\"",
				 i);
	snprintf(key, sizeof key, "rules[%zu].cache_control", i);
	return check_value(key, r->cache_control, err, errlen);
}

int origin_conf_check(const struct origin_conf *c, char *err, size_t errlen)
{
	const struct origin_rule *rules = c->rules.v;

	if (check_root(c->root, err, errlen) || check_listeners(c, err, errlen))
		return CDNI_ECONFIG;
	if (strchr(c->index, '/') || !strcmp(c->index, ".") || !strcmp(c->index, ".."))
		return conf_fail(err, errlen, "index: must be a file name, got '%s'", c->index);
	if (check_value("cache_control", c->cache_control, err, errlen) ||
	    check_value("cors_origin", c->cors_origin, err, errlen))
		return CDNI_ECONFIG;
	for (size_t i = 0; i < c->rules.n; i++)
		if (check_rule(&rules[i], i, err, errlen))
			return CDNI_ECONFIG;
	return 0;
}

int origin_conf_load(const char *file, struct origin_conf *c, char *err, size_t errlen)
{
	char inner[512];

	memset(c, 0, sizeof *c);
	if (conf_load_file(origin_conf_table, c, file, err, errlen))
		return CDNI_ECONFIG;
	if (origin_conf_check(c, inner, sizeof inner)) {
		snprintf(err, errlen, "%s: %s", file, inner);
		origin_conf_free(c);
		return CDNI_ECONFIG;
	}
	return 0;
}

void origin_conf_free(struct origin_conf *c)
{
	conf_free(origin_conf_table, c);
}

/* ---- responses ---- */

static void resp_init(struct origin_resp *rs, int status)
{
	memset(rs, 0, sizeof *rs);
	rs->status = status;
}

static void resp_add(struct origin_resp *rs, const char *name, const char *value)
{
	if (value && *value && rs->nh < ORIGIN_MAX_HEADERS)
		rs->h[rs->nh++] = (struct origin_header){ name, value };
}

const char *origin_resp_header(const struct origin_resp *rs, const char *name)
{
	for (size_t i = 0; i < rs->nh; i++)
		if (strcasecmp(rs->h[i].name, name) == 0)
			return rs->h[i].value;
	return NULL;
}

static void add_cors(const struct origin_conf *c, struct origin_resp *rs)
{
	if (!c->cors)
		return;
	resp_add(rs, "Access-Control-Allow-Origin", c->cors_origin);
	resp_add(rs, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

/* An answer without a file: a status, its reason as the body, and a note. */
static void resp_refuse(const struct origin_conf *c, struct origin_resp *rs, int status,
			const char *note)
{
	resp_init(rs, status);
	rs->text = http_reason(status);
	rs->note = note;
	if (status == 405)
		resp_add(rs, "Allow", ALLOW);
	add_cors(c, rs);
}

static void resp_options(const struct origin_conf *c, struct origin_resp *rs)
{
	resp_init(rs, 204);
	resp_add(rs, "Allow", ALLOW);
	if (!c->cors)
		return;
	resp_add(rs, "Access-Control-Allow-Origin", c->cors_origin);
	resp_add(rs, "Access-Control-Allow-Methods", ALLOW);
	resp_add(rs, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	resp_add(rs, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
	resp_add(rs, "Access-Control-Max-Age", CORS_MAX_AGE);
}

void origin_error(const struct origin_conf *c, int code, struct origin_resp *rs)
{
	switch (code) {
	case CDNI_ENOTFOUND: resp_refuse(c, rs, 404, "not found"); break;
	case CDNI_EDENIED: resp_refuse(c, rs, 403, "symlink or permission"); break;
	case CDNI_EOVERFLOW: resp_refuse(c, rs, 414, "path too long"); break;
	case CDNI_EBUSY: resp_refuse(c, rs, 503, "out of file descriptors"); break;
	default: resp_refuse(c, rs, 500, "cannot open file"); break;
	}
}

/* ---- route: method and path ---- */

static bool method_is(const char *m, const char *name)
{
	return m && strcmp(m, name) == 0;
}

/* The path part of a request target: origin-form as is, absolute-form
 * ("http://host/p") from its first slash after the authority. */
static const char *target_path(const char *t, size_t *len)
{
	if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
		const char *p = strstr(t, "//") + 2;
		p += strcspn(p, "/?#");
		if (*p != '/') {
			*len = 1;
			return "/";
		}
		t = p;
	}
	*len = strcspn(t, "?#");
	return t;
}

int origin_route(const struct origin_conf *c, const struct origin_req *rq, char *path,
		 size_t pathlen, struct origin_resp *rs)
{
	char raw[ORIGIN_PATH_MAX];
	const char *t = rq->target ? rq->target : "";
	size_t n;
	int rc;

	if (!rq->host && rq->version && strcmp(rq->version, "HTTP/1.1") == 0) {
		resp_refuse(c, rs, 400, "HTTP/1.1 request without Host"); /* RFC 9112 §3.2 */
		return 1;
	}
	if (!method_is(rq->method, "GET") && !method_is(rq->method, "HEAD") &&
	    !method_is(rq->method, "OPTIONS")) {
		resp_refuse(c, rs, 405, "method not allowed");
		return 1;
	}
	if (method_is(rq->method, "OPTIONS") && strcmp(t, "*") == 0) {
		resp_options(c, rs);
		return 1;
	}
	t = target_path(t, &n);
	if (n >= sizeof raw) {
		resp_refuse(c, rs, 414, "path too long");
		return 1;
	}
	memcpy(raw, t, n);
	raw[n] = '\0';
	rc = http_path_decode(raw, path, pathlen);
	if (rc) {
		resp_refuse(c, rs, rc == CDNI_EOVERFLOW ? 414 : 400,
			    rc == CDNI_EOVERFLOW ? "path too long" : "path refused");
		return 1;
	}
	if (method_is(rq->method, "OPTIONS")) {
		resp_options(c, rs);
		return 1;
	}
	return 0;
}

/* ---- open: the file under root, nothing outside it ---- */

static int errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR: return CDNI_ENOTFOUND;
	case ELOOP:
	case EXDEV:
	case EACCES:
	case EPERM: return CDNI_EDENIED;
	case ENAMETOOLONG: return CDNI_EOVERFLOW;
	case EMFILE:
	case ENFILE: return CDNI_EBUSY;
	default: return CDNI_EIO;
	}
}

static long sys_openat2(int dfd, const char *path, unsigned long long resolve)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
		.resolve = resolve,
	};

	return syscall(SYS_openat2, dfd, path, &how, sizeof how);
}

bool origin_beneath_available(void)
{
	long fd = sys_openat2(AT_FDCWD, "/", RESOLVE_BENEATH);

	if (fd >= 0)
		close((int)fd);
	return fd >= 0 || errno != ENOSYS;
}

/* One component under dfd, never following a symlink. */
static int open_step(int dfd, const char *name, size_t n, int flags, int *out)
{
	char comp[NAME_MAX + 1];
	int fd;

	if (n > NAME_MAX)
		return CDNI_EOVERFLOW;
	memcpy(comp, name, n);
	comp[n] = '\0';
	if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
		return CDNI_EDENIED;
	fd = openat(dfd, comp, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOTDIR && (flags & O_DIRECTORY)) {
		/* O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR, not ELOOP */
		struct stat st;
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return CDNI_EDENIED;
		errno = ENOTDIR;
	}
	if (fd < 0)
		return errno_code(errno);
	*out = fd;
	return 0;
}

int origin_open_nofollow(int rootfd, const char *rel, int *out)
{
	const char *p = rel;
	int dfd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1, rc = 0;

	if (dfd < 0)
		return errno_code(errno);
	for (;;) {
		size_t n, skip;
		bool last;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		skip = strspn(p + n, "/");
		last = p[n + skip] == '\0';
		rc = open_step(dfd, p, n,
			       last ? O_RDONLY | O_NONBLOCK | (skip ? O_DIRECTORY : 0)
				    : O_RDONLY | O_DIRECTORY,
			       &fd);
		if (rc)
			break;
		close(dfd);
		dfd = fd;
		p += n;
	}
	if (rc) {
		close(dfd);
		return rc;
	}
	*out = dfd;
	return 0;
}

static int open_under(int rootfd, const char *path, int symlinks, int *out)
{
	const char *rel = path + strspn(path, "/");
	unsigned long long resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	long fd = -1;

	if (symlinks == ORIGIN_SYMLINKS_REFUSE)
		resolve |= RESOLVE_NO_SYMLINKS;
	for (int i = 0; i < 3; i++) { /* EAGAIN: a rename raced the lookup */
		fd = sys_openat2(rootfd, *rel ? rel : ".", resolve);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	if (fd >= 0) {
		*out = (int)fd;
		return 0;
	}
	if (errno == ENOSYS)
		return origin_open_nofollow(rootfd, rel, out);
	return errno_code(errno);
}

int origin_open(int rootfd, const char *path, int symlinks, const char *index, int *fd,
		struct stat *st, char *served, size_t servedlen)
{
	size_t len = strlen(path);
	struct stat s;
	int f = -1, rc;

	if (len >= servedlen)
		return CDNI_EOVERFLOW;
	rc = open_under(rootfd, path, symlinks, &f);
	if (rc)
		return rc;
	if (fstat(f, &s) != 0) {
		rc = CDNI_EIO;
		goto fail;
	}
	if (S_ISDIR(s.st_mode) && len && path[len - 1] == '/' && index && *index) {
		close(f);
		if (len + strlen(index) >= servedlen)
			return CDNI_EOVERFLOW;
		snprintf(served, servedlen, "%s%s", path, index);
		return origin_open(rootfd, served, symlinks, NULL, fd, st, served, servedlen);
	}
	if (!S_ISREG(s.st_mode)) {
		rc = CDNI_ENOTFOUND;
		goto fail;
	}
	memmove(served, path, len + 1);
	*fd = f;
	*st = s;
	return 0;
fail:
	close(f);
	return rc;
}

/* ---- decide: validators, conditionals, ranges, headers ---- */

static void make_validators(const struct stat *st, struct origin_resp *rs)
{
	unsigned long long mtime_ns = (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
				      (unsigned long long)st->st_mtim.tv_nsec;

	snprintf(rs->etag, sizeof rs->etag, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
		 (unsigned long long)st->st_size, mtime_ns);
	http_date(st->st_mtime, rs->last_modified, sizeof rs->last_modified);
}

/* RFC 9110 §13.2.2: If-None-Match, when present, decides alone. */
static bool not_modified(const struct origin_req *rq, const struct stat *st, const char *etag)
{
	time_t ims;

	if (rq->if_none_match)
		return http_etag_match(rq->if_none_match, etag);
	if (!rq->if_modified_since)
		return false;
	ims = http_date_parse(rq->if_modified_since);
	return ims != (time_t)-1 && st->st_mtime <= ims;
}

/* If-Range (RFC 9110 §13.1.5): an entity-tag by strong comparison, or the
 * exact Last-Modified date. */
static bool if_range_holds(const char *ir, const struct stat *st, const char *etag)
{
	time_t t;

	if (!ir)
		return true;
	if (ir[0] == '"')
		return strcmp(ir, etag) == 0;
	if (strncmp(ir, "W/", 2) == 0)
		return false;
	t = http_date_parse(ir);
	return t != (time_t)-1 && t == st->st_mtime;
}

static bool ext_matches(const char *path, const char *ext)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (ext[0] == '.')
		ext++;
	return dot && strcasecmp(dot + 1, ext) == 0;
}

const char *origin_cache_control(const struct origin_conf *c, const char *path)
{
	const struct origin_rule *rules = c->rules.v;

	for (size_t i = 0; i < c->rules.n; i++) {
		const struct origin_rule *r = &rules[i];
		if (r->prefix && strncmp(path, r->prefix, strlen(r->prefix)) != 0)
			continue;
		if (r->ext && !ext_matches(path, r->ext))
			continue;
		return r->cache_control;
	}
	return c->cache_control;
}

static void add_validators(const struct origin_conf *c, const char *path,
			   struct origin_resp *rs)
{
	resp_add(rs, "ETag", rs->etag);
	resp_add(rs, "Last-Modified", rs->last_modified);
	resp_add(rs, "Cache-Control", origin_cache_control(c, path));
}

/* Apply a Range header to a 200 answer: 206, 416, or leave it (ignored). */
static void apply_range(const struct origin_req *rq, const struct stat *st,
			struct origin_resp *rs)
{
	uint64_t size = (uint64_t)st->st_size, first, last;
	int rc;

	if (!rq->range || !if_range_holds(rq->if_range, st, rs->etag))
		return;
	rc = http_range_parse(rq->range, size, &first, &last);
	if (rc == 0) {
		rs->status = 206;
		rs->offset = first;
		rs->length = last - first + 1;
		snprintf(rs->content_range, sizeof rs->content_range, "bytes %llu-%llu/%llu",
			 (unsigned long long)first, (unsigned long long)last,
			 (unsigned long long)size);
	} else if (rc == CDNI_EOVERFLOW) {
		rs->status = 416;
		rs->length = 0;
		rs->text = http_reason(416);
		rs->note = "range not satisfiable";
		snprintf(rs->content_range, sizeof rs->content_range, "bytes */%llu",
			 (unsigned long long)size);
	}
}

void origin_decide(const struct origin_conf *c, const struct origin_req *rq, const char *path,
		   const struct stat *st, struct origin_resp *rs)
{
	resp_init(rs, 200);
	make_validators(st, rs);
	if (not_modified(rq, st, rs->etag)) {
		rs->status = 304;
		rs->length = (uint64_t)st->st_size; /* the Content-Length of a 200 */
		add_validators(c, path, rs);
		add_cors(c, rs);
		return;
	}
	rs->length = (uint64_t)st->st_size;
	apply_range(rq, st, rs);
	if (rs->status != 416)
		resp_add(rs, "Content-Type", http_content_type(path));
	resp_add(rs, "Accept-Ranges", "bytes");
	resp_add(rs, "Content-Range", rs->content_range);
	add_validators(c, path, rs);
	add_cors(c, rs);
	rs->file = rs->status != 416 && rs->length > 0;
}

void origin_handle(const struct origin_conf *c, int rootfd, const struct origin_req *rq,
		   struct origin_resp *rs, int *fd)
{
	char path[ORIGIN_PATH_MAX], served[ORIGIN_PATH_MAX];
	struct stat st;
	int rc;

	*fd = -1;
	if (origin_route(c, rq, path, sizeof path, rs))
		return;
	rc = origin_open(rootfd, path, c->symlinks, c->index, fd, &st, served, sizeof served);
	if (rc) {
		origin_error(c, rc, rs);
		return;
	}
	origin_decide(c, rq, served, &st, rs);
	if (!rs->file) {
		close(*fd);
		*fd = -1;
	}
}
