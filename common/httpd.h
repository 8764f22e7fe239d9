/* cdni — the thin libmicrohttpd glue every HTTP daemon shares: listener
 * configuration, starting a daemon on it (HTTP or HTTPS through GnuTLS with
 * PEM files), learning the bound address (port 0), and small response helpers.
 * Request handling itself lives in each program's library. */
#ifndef CDNI_HTTPD_H
#define CDNI_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "common/conf.h"

struct listen_conf {
	char *name;    /* label in the readiness line; default "http" or "https" */
	char *address; /* numeric IPv4 or IPv6 address */
	long long port;
	bool tls;
	char *cert; /* PEM certificate chain, with tls */
	char *key;  /* PEM private key, with tls */
};
/* Table for one listener object: name, address, port, tls, cert, key. */
extern const struct conf_item listen_conf_table[];
/* Item for a "listen" array of listeners in a program's table. */
#define CONF_LISTEN(T, f) \
	CONF_LIST("listen", T, f, listen_conf_table, struct listen_conf, CONF_REQUIRED, \
		  "listeners: [{address, port, tls, cert, key, name}]")

/* Any function pointer; cast to and from the real type. */
typedef void (*httpd_cert_fn)(void);

struct httpd_opts {
	MHD_AccessHandlerCallback handler;
	void *handler_cls;
	MHD_RequestCompletedCallback completed; /* may be NULL */
	void *completed_cls;
	unsigned threads;          /* 0: a thread per connection; else an epoll pool */
	unsigned connection_limit; /* 0: libmicrohttpd's default */
	unsigned timeout_s;        /* idle connection timeout; 0: 30 s */
	unsigned flags;            /* more MHD_FLAG bits (e.g. MHD_ALLOW_SUSPEND_RESUME) */
	const struct MHD_OptionItem *extra; /* more options, MHD_OPTION_END-terminated */
	/* For TLS listeners with a cert and no key (keyless): a
	 * gnutls_certificate_retrieve_function3 that hands GnuTLS the chain and
	 * an external private key (libmicrohttpd's HTTPS_CERT_CALLBACK2). */
	httpd_cert_fn cert_callback;
};

struct httpd {
	struct MHD_Daemon *d;
	char name[32];
	char bound[80]; /* "127.0.0.1:8080" or "[::1]:8080" */
	unsigned short port;
	bool tls;
	char *cert_pem, *key_pem; /* kept alive for GnuTLS, wiped on stop */
};

/* Check a listener's values beyond their types (address parses, cert and key
 * given with tls). Returns 0 or CDNI_ECONFIG with a message naming path. */
int listen_conf_check(const struct listen_conf *lc, const char *path, char *err, size_t errlen);
/* The same, where external_key allows a tls listener with a cert and no key
 * (its key operations happen elsewhere: httpd_opts.cert_callback). */
int listen_conf_check_ext(const struct listen_conf *lc, const char *path, bool external_key,
			  char *err, size_t errlen);

int httpd_start(struct httpd *h, const struct listen_conf *lc, const struct httpd_opts *o,
		char *err, size_t errlen);
void httpd_stop(struct httpd *h);

/* Start every listener of a list; on failure the started ones are stopped.
 * *out is an array of n httpd. ready_line gets "name=addr:port ..." appended. */
int httpd_start_all(struct httpd **out, const struct listen_conf *lcs, size_t n,
		    const struct httpd_opts *o, char *ready_line, size_t rlen, char *err,
		    size_t errlen);
void httpd_stop_all(struct httpd *hs, size_t n);

/* "ip:port" of the client. */
const char *httpd_peer(struct MHD_Connection *c, char *buf, size_t len);
/* Queue a small text/plain response (with a trailing newline). */
enum MHD_Result httpd_respond_text(struct MHD_Connection *c, unsigned status, const char *text);

#endif
