/* cdni — growable byte buffer with a sticky error.
 * Appends after a failed allocation do nothing; check ->err (CDNI_ENOMEM,
 * or CDNI_EOVERFLOW past ->limit when one is set) once at the end. The data is
 * always NUL-terminated when ->err is 0. */
#ifndef CDNI_BUF_H
#define CDNI_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0: no limit */
	int err;
};

void buf_init(struct buf *b, size_t limit);
int buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
/* Hand the data to the caller (who frees it); the buffer is left empty. */
char *buf_steal(struct buf *b, size_t *len);
void buf_free(struct buf *b);
/* Wipe the contents before freeing (for secrets). */
void buf_free_secure(struct buf *b);

#endif
