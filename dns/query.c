/* cdni-dns — query parsing with a bounds-checked reader. */
#include "dns/query.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/wire.h"

#define OPT_ECS 8

/* The question's name: plain labels only (a compression pointer in a
 * query's question can point nowhere valid), at most 255 bytes. */
static int read_qname(struct wire *w, struct dnsq *q)
{
	size_t len = 0;
	int labels = 0;

	for (;;) {
		uint8_t l = wire_u8(w);
		const uint8_t *p;
		if (w->err)
			return -1;
		if (l & 0xc0)
			return -1; /* pointer or extended label type */
		if (len + 1 + l > DNS_NAME_MAX)
			return -1;
		q->qname[len++] = l;
		if (l == 0)
			break;
		p = wire_take(w, l);
		if (!p)
			return -1;
		for (size_t i = 0; i < l; i++)
			q->qname[len++] = (uint8_t)tolower(p[i]);
		labels++;
	}
	q->qname_len = len;
	q->qlabels = labels;
	return 0;
}

/* Skip a name in another section: labels, ended by a root label or by one
 * pointer (which is not followed, so a loop cannot hold us). */
static int skip_name(struct wire *w, size_t *out_len, bool *root)
{
	size_t len = 0;

	*root = false;
	for (;;) {
		uint8_t l = wire_u8(w);
		if (w->err)
			return -1;
		if ((l & 0xc0) == 0xc0) {
			wire_u8(w);
			return w->err ? -1 : 0;
		}
		if (l & 0xc0)
			return -1;
		len += 1u + l;
		if (len > DNS_NAME_MAX)
			return -1;
		if (l == 0) {
			*root = len == 1;
			*out_len = len;
			return 0;
		}
		wire_skip(w, l);
	}
}

static int parse_ecs(struct wire *o, struct dnsq *q)
{
	struct dnsq_ecs e = { 0 };
	size_t n, max;

	e.family = wire_u16(o);
	e.source = wire_u8(o);
	e.scope = wire_u8(o);
	if (o->err || (e.family != 1 && e.family != 2))
		return -1;
	max = e.family == 1 ? 32 : 128;
	if (e.source > max)
		return -1;
	n = (e.source + 7u) / 8u;
	if (wire_left(o) != n)
		return -1; /* RFC 7871 §6: exactly the bytes the prefix needs */
	wire_read(o, e.addr, n);
	if (n && (e.source % 8) && (e.addr[n - 1] & (0xff >> (e.source % 8))))
		return -1; /* bits beyond the prefix must be zero */
	if (q->has_ecs)
		return -1;
	q->has_ecs = true;
	q->ecs = e;
	return 0;
}

static int parse_opt(struct wire *w, struct dnsq *q, bool root)
{
	uint16_t payload = wire_u16(w), rdlen;
	uint32_t ttl = wire_u32(w);
	struct wire o;

	rdlen = wire_u16(w);
	o = wire_sub(w, rdlen);
	if (w->err || !root || q->edns)
		return -1; /* one OPT, owned by the root */
	q->edns = true;
	q->payload = payload < 512 ? 512 : payload;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->do_bit = (ttl & 0x8000) != 0;
	while (wire_left(&o) > 0) {
		uint16_t code = wire_u16(&o), olen = wire_u16(&o);
		struct wire v = wire_sub(&o, olen);
		if (o.err)
			return -1;
		if (code == OPT_ECS && parse_ecs(&v, q))
			return -1;
	}
	return o.err ? -1 : 0;
}

/* Resource records of the other sections: skipped, except an OPT. */
static int parse_rrs(struct wire *w, struct dnsq *q, unsigned count, bool additional)
{
	for (unsigned i = 0; i < count; i++) {
		size_t nlen = 0;
		bool root;
		uint16_t type;

		if (skip_name(w, &nlen, &root))
			return -1;
		type = wire_u16(w);
		if (w->err)
			return -1;
		if (additional && type == T_OPT) {
			if (parse_opt(w, q, root))
				return -1;
			continue;
		}
		wire_skip(w, 6); /* class, ttl */
		wire_skip(w, wire_u16(w));
		if (w->err)
			return -1;
	}
	return 0;
}

enum dnsq_verdict dnsq_parse(const uint8_t *msg, size_t len, struct dnsq *q)
{
	struct wire w = wire_reader(msg, len);
	unsigned qd, an, ns, ar;

	memset(q, 0, sizeof *q);
	if (len < DNS_HDR || len > DNS_MSG_MAX)
		return DNSQ_DROP;
	q->id = wire_u16(&w);
	q->flags = wire_u16(&w);
	qd = wire_u16(&w);
	an = wire_u16(&w);
	ns = wire_u16(&w);
	ar = wire_u16(&w);
	if (q->flags & 0x8000)
		return DNSQ_DROP; /* a response: never answer one */
	if (((q->flags >> 11) & 0xf) != 0)
		return DNSQ_NOTIMP;
	if (qd != 1 || read_qname(&w, q))
		return DNSQ_FORMERR;
	q->qtype = wire_u16(&w);
	q->qclass = wire_u16(&w);
	if (w.err)
		return DNSQ_FORMERR;
	q->qend = wire_offset(&w);
	if (parse_rrs(&w, q, an, false) || parse_rrs(&w, q, ns, false) ||
	    parse_rrs(&w, q, ar, true) || wire_left(&w) != 0)
		return DNSQ_FORMERR;
	if (q->edns && q->edns_version > 0)
		return DNSQ_BADVERS;
	return DNSQ_OK;
}

/* ---- names ------------------------------------------------------------------ */

int dns_name_labels(const uint8_t *name)
{
	int n = 0;

	for (size_t p = 0; name[p]; p += 1u + name[p])
		n++;
	return n;
}

/* Offsets of the labels of name (at most 128). */
static int label_offsets(const uint8_t *name, uint8_t off[128])
{
	int n = 0;

	for (size_t p = 0; name[p] && n < 128; p += 1u + name[p])
		off[n++] = (uint8_t)p;
	return n;
}

int dns_name_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[128], ob[128];
	int na = label_offsets(a, oa), nb = label_offsets(b, ob);

	while (na > 0 && nb > 0) {
		const uint8_t *la = a + oa[--na], *lb = b + ob[--nb];
		size_t m = la[0] < lb[0] ? la[0] : lb[0];
		int c = memcmp(la + 1, lb + 1, m);
		if (c)
			return c;
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	return na - nb;
}

bool dns_name_under(const uint8_t *name, size_t len, const uint8_t *zone, size_t zlen)
{
	size_t p = 0;

	if (zlen > len)
		return false;
	while (len - p > zlen)
		p += 1u + name[p];
	return len - p == zlen && memcmp(name + p, zone, zlen) == 0;
}

void dns_name_text(const uint8_t *name, char *buf, size_t len)
{
	size_t w = 0;

	if (len == 0)
		return;
	if (!name[0] && len > 1)
		buf[w++] = '.';
	for (size_t p = 0; name[p]; p += 1u + name[p]) {
		for (size_t i = 1; i <= name[p] && w + 5 < len; i++) {
			uint8_t c = name[p + i];
			if (c == '.' || c == '\\')
				w += (size_t)snprintf(buf + w, len - w, "\\%c", c);
			else if (c <= ' ' || c >= 0x7f)
				w += (size_t)snprintf(buf + w, len - w, "\\%03u", c);
			else
				buf[w++] = (char)c;
		}
		if (w + 1 < len)
			buf[w++] = '.';
	}
	buf[w < len ? w : len - 1] = '\0';
}
