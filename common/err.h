/* cdni — one error convention for every module.
 * Functions return 0 on success and a negative CDNI_E* code on failure.
 * cdni_strerror() names a code; the wire mappings (HTTP status, key-server
 * error byte, DNS RCODE, RFC 9246 log code) each live in one place, in the
 * module that speaks that wire. */
#ifndef CDNI_ERR_H
#define CDNI_ERR_H

enum cdni_err {
	CDNI_OK = 0,
	CDNI_ENOMEM = -1,    /* out of memory */
	CDNI_EINVAL = -2,    /* invalid argument or input */
	CDNI_ETRUNC = -3,    /* input ended early / buffer too small */
	CDNI_EOVERFLOW = -4, /* value or size out of range */
	CDNI_EPARSE = -5,    /* malformed input */
	CDNI_ENOTFOUND = -6, /* no such object */
	CDNI_EEXIST = -7,    /* already exists */
	CDNI_EIO = -8,       /* I/O error (see errno in the log) */
	CDNI_ETIMEDOUT = -9, /* deadline passed */
	CDNI_ETLS = -10,     /* TLS library error */
	CDNI_ECONFIG = -11,  /* configuration error */
	CDNI_EDENIED = -12,  /* refused by policy */
	CDNI_EUPSTREAM = -13,/* upstream failed or answered badly */
	CDNI_EUNSUPP = -14,  /* not supported */
	CDNI_EBUSY = -15,    /* resource busy, try later */
	CDNI_ECLOSED = -16,  /* peer closed the connection */
	CDNI_EVERSION = -17, /* protocol version not supported */
	CDNI_EPROTO = -18,   /* message not valid here (e.g. a response sent as a request) */
	CDNI_ERR_MIN_ = -19
};

const char *cdni_strerror(int code);

#include <stddef.h>

/* Write the message into err (errlen bytes) and return rc: the one way a
 * function both explains and fails ("return cdni_fail(err, errlen,
 * CDNI_ECONFIG, \"delegate.to: ...\", ...)"). */
int cdni_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
