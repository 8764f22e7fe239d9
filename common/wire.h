/* cdni — bounds-checked wire reader/writer with a sticky error.
 *
 * Every read or write checks the space left. After the first failure the
 * context is poisoned: reads return zeros, writes do nothing, and the caller
 * checks ->err once at the end (CDNI_ETRUNC or CDNI_EOVERFLOW).
 * Multi-byte integers are big-endian (network order). */
#ifndef CDNI_WIRE_H
#define CDNI_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

struct wire {
	const uint8_t *start;
	uint8_t *wstart; /* non-NULL for a writer */
	size_t len;
	size_t pos;
	int err;
};

static inline struct wire wire_reader(const void *buf, size_t len)
{
	struct wire w = { .start = buf, .wstart = NULL, .len = len, .pos = 0, .err = 0 };
	return w;
}

static inline struct wire wire_writer(void *buf, size_t len)
{
	struct wire w = { .start = buf, .wstart = buf, .len = len, .pos = 0, .err = 0 };
	return w;
}

static inline size_t wire_left(const struct wire *w)
{
	return w->err ? 0 : w->len - w->pos;
}

static inline size_t wire_offset(const struct wire *w)
{
	return w->pos;
}

static inline void wire_fail(struct wire *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Reserve n bytes; returns NULL (and poisons) when they are not there. */
static inline const uint8_t *wire_take(struct wire *w, size_t n)
{
	const uint8_t *p;

	if (w->err)
		return NULL;
	if (n > w->len - w->pos) {
		w->err = CDNI_ETRUNC;
		return NULL;
	}
	p = w->start + w->pos;
	w->pos += n;
	return p;
}

static inline uint8_t wire_u8(struct wire *w)
{
	const uint8_t *p = wire_take(w, 1);
	return p ? p[0] : 0;
}

static inline uint16_t wire_u16(struct wire *w)
{
	const uint8_t *p = wire_take(w, 2);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static inline uint32_t wire_u32(struct wire *w)
{
	const uint8_t *p = wire_take(w, 4);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
		   ((uint32_t)p[2] << 8) | p[3] : 0;
}

static inline uint64_t wire_u64(struct wire *w)
{
	uint64_t hi = wire_u32(w);
	return (hi << 32) | wire_u32(w);
}

/* Copy n bytes out; on failure dst is zeroed. */
static inline void wire_read(struct wire *w, void *dst, size_t n)
{
	const uint8_t *p = wire_take(w, n);
	if (p)
		memcpy(dst, p, n);
	else if (n)
		memset(dst, 0, n);
}

static inline void wire_skip(struct wire *w, size_t n)
{
	(void)wire_take(w, n);
}

/* A sub-reader over the next n bytes (for length-prefixed items). */
static inline struct wire wire_sub(struct wire *w, size_t n)
{
	const uint8_t *p = wire_take(w, n);
	struct wire sub = wire_reader(p, p ? n : 0);
	if (!p)
		sub.err = CDNI_ETRUNC;
	return sub;
}

static inline uint8_t *wire_wtake(struct wire *w, size_t n)
{
	if (!w->wstart) {
		wire_fail(w, CDNI_EINVAL);
		return NULL;
	}
	if (w->err)
		return NULL;
	if (n > w->len - w->pos) {
		w->err = CDNI_EOVERFLOW;
		return NULL;
	}
	w->pos += n;
	return w->wstart + w->pos - n;
}

static inline void wire_put_u8(struct wire *w, uint8_t v)
{
	uint8_t *p = wire_wtake(w, 1);
	if (p)
		p[0] = v;
}

static inline void wire_put_u16(struct wire *w, uint16_t v)
{
	uint8_t *p = wire_wtake(w, 2);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void wire_put_u32(struct wire *w, uint32_t v)
{
	uint8_t *p = wire_wtake(w, 4);
	if (p) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

static inline void wire_put_u64(struct wire *w, uint64_t v)
{
	wire_put_u32(w, (uint32_t)(v >> 32));
	wire_put_u32(w, (uint32_t)v);
}

static inline void wire_write(struct wire *w, const void *src, size_t n)
{
	uint8_t *p = wire_wtake(w, n);
	if (p && n)
		memcpy(p, src, n);
}

static inline void wire_put_zeros(struct wire *w, size_t n)
{
	uint8_t *p = wire_wtake(w, n);
	if (p && n)
		memset(p, 0, n);
}

/* Overwrite a big-endian u16 at an earlier offset (length back-patching). */
static inline void wire_patch_u16(struct wire *w, size_t off, uint16_t v)
{
	if (w->err || !w->wstart || off + 2 > w->pos) {
		wire_fail(w, CDNI_EINVAL);
		return;
	}
	w->wstart[off] = (uint8_t)(v >> 8);
	w->wstart[off + 1] = (uint8_t)v;
}

#endif
