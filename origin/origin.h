/* cdni — the content service provider's origin: static files and HAS streams
 * over HTTP and HTTPS.
 *
 * The request logic is socket-free: origin_route() checks the method and the
 * path, origin_open() opens the file under the content root without letting a
 * path or a symlink escape it, and origin_decide() turns the file's stat and
 * the request headers into a status, headers and a byte range (ranges,
 * validators, conditional requests, Cache-Control, CORS). origin_handle() runs
 * the three. The libmicrohttpd glue (origin_start/origin_stop) only copies the
 * request headers in and the decision out. */
#ifndef CDNI_ORIGIN_H
#define CDNI_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/accesslog.h"
#include "common/conf.h"
#include "common/httpd.h"

/* ---- configuration ---- */

struct origin_rule {
	char *prefix;        /* path prefix, "/live/" */
	char *ext;           /* file extension, "m3u8" (a leading dot is allowed) */
	char *cache_control; /* value sent; "" sends none */
};

enum origin_symlinks {
	ORIGIN_SYMLINKS_BENEATH = 0, /* follow symlinks that stay under root */
	ORIGIN_SYMLINKS_REFUSE = 1,  /* follow no symlink at all */
};

struct origin_conf {
	struct conf_list listen; /* struct listen_conf */
	char *root;
	char *index;         /* file served for a directory path ending in "/"; "" none */
	char *cache_control; /* default; "" sends none */
	struct conf_list rules; /* struct origin_rule, first match wins */
	bool cors;
	char *cors_origin;
	int symlinks; /* enum origin_symlinks */
	char *access_log;
	long long threads, connection_limit, timeout;
};

extern const struct conf_item origin_conf_table[];

/* Load a config file and check it (origin_conf_check). On failure err names
 * the file and the key path and nothing is left allocated. */
int origin_conf_load(const char *file, struct origin_conf *c, char *err, size_t errlen);
/* Checks beyond the table's types: root is a directory, listeners are valid
 * and their TLS files readable, rules are well formed, header values are safe. */
int origin_conf_check(const struct origin_conf *c, char *err, size_t errlen);
void origin_conf_free(struct origin_conf *c);

/* ---- one request, socket-free ---- */

#define ORIGIN_PATH_MAX 4096
#define ORIGIN_MAX_HEADERS 16

struct origin_req {
	const char *method;
	const char *target;  /* request target as received: "/path?query" */
	const char *version; /* "HTTP/1.1"; NULL: not checked */
	const char *host;    /* Host header */
	const char *range;
	const char *if_none_match;
	const char *if_modified_since;
	const char *if_range;
};

struct origin_header {
	const char *name, *value;
};

struct origin_resp {
	int status;
	bool file; /* body: bytes offset..offset+length-1 of the file */
	uint64_t offset, length; /* on a 304: the length a 200 would have */
	const char *text;        /* body of an answer without a file (a reason), or NULL */
	const char *note;        /* why a request was refused, for the access log */
	size_t nh;
	struct origin_header h[ORIGIN_MAX_HEADERS];
	/* storage for computed header values */
	char etag[96], last_modified[32], content_range[80];
};

/* Look up a response header by name (case-insensitive); NULL when absent. */
const char *origin_resp_header(const struct origin_resp *rs, const char *name);

/* Host, method and path. Returns 0 with the decoded path in path when the file must
 * be looked up; otherwise fills rs with the whole answer (400 for an HTTP/1.1
 * request without Host or a refused path, 405, 414, the OPTIONS 204) and
 * returns 1. */
int origin_route(const struct origin_conf *c, const struct origin_req *rq, char *path,
		 size_t pathlen, struct origin_resp *rs);

/* Open the decoded path under the directory rootfd. A directory path ending in
 * "/" opens index inside it (when index is not ""). served gets the path of the
 * file actually opened. Returns 0 with *fd and *st set, or
 *   CDNI_ENOTFOUND  missing, a directory, not a regular file
 *   CDNI_EDENIED    a symlink that escapes root (or any symlink with
 *                   ORIGIN_SYMLINKS_REFUSE), or no permission
 *   CDNI_EOVERFLOW  name too long
 *   CDNI_EBUSY      out of file descriptors
 *   CDNI_EIO        anything else */
int origin_open(int rootfd, const char *path, int symlinks, const char *index, int *fd,
		struct stat *st, char *served, size_t servedlen);

/* True when the kernel offers openat2() with RESOLVE_BENEATH; without it,
 * ORIGIN_SYMLINKS_BENEATH falls back to refusing every symlink. */
bool origin_beneath_available(void);

/* The fallback without openat2(): walk rel (relative to rootfd) one component
 * at a time with O_NOFOLLOW, so that no symlink is followed anywhere.
 * Exposed for tests. */
int origin_open_nofollow(int rootfd, const char *rel, int *fd);

/* Decide the answer for a regular file of stat st at path (the served path,
 * which chooses Content-Type and the Cache-Control rule). */
void origin_decide(const struct origin_conf *c, const struct origin_req *rq, const char *path,
		   const struct stat *st, struct origin_resp *rs);

/* The answer for an error code from origin_open (404, 403, 414, 503, 500). */
void origin_error(const struct origin_conf *c, int code, struct origin_resp *rs);

/* The Cache-Control value for a served path ("" or NULL: none). */
const char *origin_cache_control(const struct origin_conf *c, const char *path);

/* Route, open and decide. *fd is the open file when rs->file, else -1. */
void origin_handle(const struct origin_conf *c, int rootfd, const struct origin_req *rq,
		   struct origin_resp *rs, int *fd);

/* ---- the server (libmicrohttpd glue) ---- */

struct origin {
	const struct origin_conf *conf;
	int rootfd;
	struct access_log log;
	struct httpd *hs;
	size_t nhs;
};

/* Open the root and the access log. */
int origin_new(const struct origin_conf *c, struct origin **out, char *err, size_t errlen);
/* Start every listener; ready gets "name=addr:port ...". */
int origin_start(struct origin *o, char *ready, size_t rlen, char *err, size_t errlen);
void origin_stop(struct origin *o);
void origin_free(struct origin *o);

#endif
