/* cdni keyless — wire codec: opcode table, error mapping, parse, write. */
#include "keyless/proto.h"

#include <string.h>

#include "common/err.h"
#include "common/wire.h"

#define OP(o, n, k, h) { (o), (n), (k), (h) }
static const struct ks_opinfo ops[] = {
	OP(KS_OP_RSA_DECRYPT, "rsa-decrypt", KS_KIND_RSA_DECRYPT, KS_HASH_NONE),
	OP(KS_OP_RSA_SIGN_MD5SHA1, "rsa-sign-md5sha1", KS_KIND_RSA_PKCS1, KS_HASH_MD5SHA1),
	OP(KS_OP_RSA_SIGN_SHA1, "rsa-sign-sha1", KS_KIND_RSA_PKCS1, KS_HASH_SHA1),
	OP(KS_OP_RSA_SIGN_SHA224, "rsa-sign-sha224", KS_KIND_RSA_PKCS1, KS_HASH_SHA224),
	OP(KS_OP_RSA_SIGN_SHA256, "rsa-sign-sha256", KS_KIND_RSA_PKCS1, KS_HASH_SHA256),
	OP(KS_OP_RSA_SIGN_SHA384, "rsa-sign-sha384", KS_KIND_RSA_PKCS1, KS_HASH_SHA384),
	OP(KS_OP_RSA_SIGN_SHA512, "rsa-sign-sha512", KS_KIND_RSA_PKCS1, KS_HASH_SHA512),
	OP(KS_OP_RSA_DECRYPT_RAW, "rsa-raw-decrypt", KS_KIND_RSA_RAW, KS_HASH_NONE),
	OP(KS_OP_ECDSA_SIGN_MD5SHA1, "ecdsa-sign-md5sha1", KS_KIND_ECDSA, KS_HASH_MD5SHA1),
	OP(KS_OP_ECDSA_SIGN_SHA1, "ecdsa-sign-sha1", KS_KIND_ECDSA, KS_HASH_SHA1),
	OP(KS_OP_ECDSA_SIGN_SHA224, "ecdsa-sign-sha224", KS_KIND_ECDSA, KS_HASH_SHA224),
	OP(KS_OP_ECDSA_SIGN_SHA256, "ecdsa-sign-sha256", KS_KIND_ECDSA, KS_HASH_SHA256),
	OP(KS_OP_ECDSA_SIGN_SHA384, "ecdsa-sign-sha384", KS_KIND_ECDSA, KS_HASH_SHA384),
	OP(KS_OP_ECDSA_SIGN_SHA512, "ecdsa-sign-sha512", KS_KIND_ECDSA, KS_HASH_SHA512),
	OP(KS_OP_ED25519_SIGN, "ed25519-sign", KS_KIND_ED25519, KS_HASH_NONE),
	OP(KS_OP_SEAL, "seal", KS_KIND_NOT_IMPLEMENTED, KS_HASH_NONE),
	OP(KS_OP_UNSEAL, "unseal", KS_KIND_NOT_IMPLEMENTED, KS_HASH_NONE),
	OP(KS_OP_RPC, "rpc", KS_KIND_NOT_IMPLEMENTED, KS_HASH_NONE),
	OP(KS_OP_CUSTOM, "custom", KS_KIND_NOT_IMPLEMENTED, KS_HASH_NONE),
	OP(KS_OP_RSA_PSS_SIGN_SHA256, "rsa-pss-sign-sha256", KS_KIND_RSA_PSS, KS_HASH_SHA256),
	OP(KS_OP_RSA_PSS_SIGN_SHA384, "rsa-pss-sign-sha384", KS_KIND_RSA_PSS, KS_HASH_SHA384),
	OP(KS_OP_RSA_PSS_SIGN_SHA512, "rsa-pss-sign-sha512", KS_KIND_RSA_PSS, KS_HASH_SHA512),
	OP(KS_OP_RESPONSE, "response", KS_KIND_RESPONSE, KS_HASH_NONE),
	OP(KS_OP_PING, "ping", KS_KIND_PING, KS_HASH_NONE),
	OP(KS_OP_PONG, "pong", KS_KIND_RESPONSE, KS_HASH_NONE),
	OP(KS_OP_ERROR, "error", KS_KIND_RESPONSE, KS_HASH_NONE),
};
static const struct ks_opinfo op_unknown = OP(0, "unknown", KS_KIND_UNKNOWN, KS_HASH_NONE);

/* ops[] position + 1 by opcode (0: not an opcode) */
static const uint8_t op_index[256] = {
	[KS_OP_RSA_DECRYPT] = 1, [KS_OP_RSA_SIGN_MD5SHA1] = 2, [KS_OP_RSA_SIGN_SHA1] = 3,
	[KS_OP_RSA_SIGN_SHA224] = 4, [KS_OP_RSA_SIGN_SHA256] = 5, [KS_OP_RSA_SIGN_SHA384] = 6,
	[KS_OP_RSA_SIGN_SHA512] = 7, [KS_OP_RSA_DECRYPT_RAW] = 8, [KS_OP_ECDSA_SIGN_MD5SHA1] = 9,
	[KS_OP_ECDSA_SIGN_SHA1] = 10, [KS_OP_ECDSA_SIGN_SHA224] = 11,
	[KS_OP_ECDSA_SIGN_SHA256] = 12, [KS_OP_ECDSA_SIGN_SHA384] = 13,
	[KS_OP_ECDSA_SIGN_SHA512] = 14, [KS_OP_ED25519_SIGN] = 15, [KS_OP_SEAL] = 16,
	[KS_OP_UNSEAL] = 17, [KS_OP_RPC] = 18, [KS_OP_CUSTOM] = 19,
	[KS_OP_RSA_PSS_SIGN_SHA256] = 20, [KS_OP_RSA_PSS_SIGN_SHA384] = 21,
	[KS_OP_RSA_PSS_SIGN_SHA512] = 22, [KS_OP_RESPONSE] = 23, [KS_OP_PING] = 24,
	[KS_OP_PONG] = 25, [KS_OP_ERROR] = 26,
};

const struct ks_opinfo *ks_opinfo(uint8_t op)
{
	return op_index[op] ? &ops[op_index[op] - 1] : &op_unknown;
}

int ks_op_by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(ops[i].name, name) == 0)
			return ops[i].op;
	return -1;
}

size_t ks_hash_len(enum ks_hash h)
{
	static const size_t len[] = { 0, 36, 20, 28, 32, 48, 64 };
	return (unsigned)h < sizeof len / sizeof len[0] ? len[h] : 0;
}

const char *ks_hash_ossl_name(enum ks_hash h)
{
	static const char *const names[] = { NULL, NULL, "SHA1", "SHA224", "SHA256", "SHA384",
					     "SHA512" };
	return (unsigned)h < sizeof names / sizeof names[0] ? names[h] : NULL;
}

const char *ks_wire_err_name(uint8_t code)
{
	static const char *const names[] = {
		"none", "crypto", "key-not-found", "read", "version-mismatch", "bad-opcode",
		"unexpected-opcode", "format", "internal", "cert-not-found", "expired",
		"remote-configuration",
	};
	return code < sizeof names / sizeof names[0] ? names[code] : "unknown-error";
}

const char *ks_tag_name(uint8_t tag)
{
	switch (tag) {
	case KS_TAG_DIGEST: return "digest";
	case KS_TAG_SNI: return "sni";
	case KS_TAG_CLIENT_IP: return "client-ip";
	case KS_TAG_SKI: return "ski";
	case KS_TAG_SERVER_IP: return "server-ip";
	case KS_TAG_CERT_ID: return "cert-id";
	case KS_TAG_OPCODE: return "opcode";
	case KS_TAG_PAYLOAD: return "payload";
	case KS_TAG_CUSTOM_FUNC: return "custom-func";
	case KS_TAG_EXTRA: return "extra";
	case KS_TAG_SPAN: return "span";
	case KS_TAG_REQ_CONTEXT: return "request-context";
	case KS_TAG_COMPLIANCE: return "compliance-region";
	case KS_TAG_PADDING: return "padding";
	default: return "unknown";
	}
}

uint8_t ks_err_to_wire(int err)
{
	switch (err) {
	case 0: return KS_ERR_NONE;
	case CDNI_EPARSE:
	case CDNI_ETRUNC:
	case CDNI_EINVAL:
	case CDNI_EOVERFLOW: return KS_ERR_FORMAT;
	case CDNI_ENOTFOUND:
	case CDNI_EDENIED: return KS_ERR_KEY_NOT_FOUND;
	case CDNI_ETLS: return KS_ERR_CRYPTO;
	case CDNI_EUNSUPP: return KS_ERR_BAD_OPCODE;
	case CDNI_EPROTO: return KS_ERR_UNEXPECTED_OPCODE;
	case CDNI_EVERSION: return KS_ERR_VERSION_MISMATCH;
	case CDNI_EIO:
	case CDNI_ECLOSED: return KS_ERR_READ;
	case CDNI_ECONFIG: return KS_ERR_REMOTE_CONFIG;
	default: return KS_ERR_INTERNAL;
	}
}

int ks_err_from_wire(uint8_t code)
{
	switch (code) {
	case KS_ERR_NONE: return 0;
	case KS_ERR_CRYPTO: return CDNI_ETLS;
	case KS_ERR_KEY_NOT_FOUND:
	case KS_ERR_CERT_NOT_FOUND: return CDNI_ENOTFOUND;
	case KS_ERR_READ: return CDNI_EIO;
	case KS_ERR_VERSION_MISMATCH: return CDNI_EVERSION;
	case KS_ERR_BAD_OPCODE: return CDNI_EUNSUPP;
	case KS_ERR_UNEXPECTED_OPCODE: return CDNI_EPROTO;
	case KS_ERR_FORMAT: return CDNI_EPARSE;
	case KS_ERR_REMOTE_CONFIG: return CDNI_ECONFIG;
	default: return CDNI_EUPSTREAM;
	}
}

int ks_header_parse(const uint8_t *buf, size_t len, struct ks_header *h)
{
	struct wire w = wire_reader(buf, len);
	struct ks_header t;

	t.major = wire_u8(&w);
	t.minor = wire_u8(&w);
	t.length = wire_u16(&w);
	t.id = wire_u32(&w);
	if (w.err)
		return w.err;
	*h = t;
	return 0;
}

size_t ks_frame_len(const uint8_t *buf, size_t len)
{
	size_t need;

	if (len < KS_HEADER_LEN)
		return 0;
	need = KS_HEADER_LEN + ((size_t)buf[2] << 8 | buf[3]);
	return len >= need ? need : 0;
}

int ks_header_check(const struct ks_header *h)
{
	return h->major == KS_VERSION_MAJOR ? 0 : CDNI_EVERSION;
}

/* Known tags: their field bit, and the exact size they must have (0: any). */
static int tag_field(uint8_t tag, size_t *exact)
{
	*exact = 0;
	switch (tag) {
	case KS_TAG_DIGEST: *exact = KS_DIGEST_LEN; return KS_F_DIGEST;
	case KS_TAG_SNI: return KS_F_SNI;
	case KS_TAG_CLIENT_IP: return KS_F_CLIENT_IP;
	case KS_TAG_SKI: *exact = KS_SKI_LEN; return KS_F_SKI;
	case KS_TAG_SERVER_IP: return KS_F_SERVER_IP;
	case KS_TAG_CERT_ID: return KS_F_CERT_ID;
	case KS_TAG_OPCODE: *exact = 1; return KS_F_OPCODE;
	case KS_TAG_PAYLOAD: return KS_F_PAYLOAD;
	case KS_TAG_CUSTOM_FUNC: return KS_F_CUSTOM_FUNC;
	case KS_TAG_EXTRA: return KS_F_EXTRA;
	case KS_TAG_SPAN: return KS_F_SPAN;
	case KS_TAG_REQ_CONTEXT: return KS_F_REQ_CONTEXT;
	case KS_TAG_COMPLIANCE: *exact = 1; return KS_F_COMPLIANCE;
	case KS_TAG_PADDING: return KS_F_PADDING;
	default: return -1;
	}
}

/* Store one known item's value into m (sizes already checked). */
static int store_item(struct ks_msg *m, int field, struct wire *v, size_t len)
{
	struct ks_bytes b = { len ? wire_take(v, len) : NULL, len };

	switch (field) {
	case KS_F_OPCODE: m->opcode = b.p[0]; break;
	case KS_F_COMPLIANCE: m->compliance = b.p[0]; break;
	case KS_F_SKI: memcpy(m->ski, b.p, KS_SKI_LEN); break;
	case KS_F_DIGEST: memcpy(m->digest, b.p, KS_DIGEST_LEN); break;
	case KS_F_CLIENT_IP:
	case KS_F_SERVER_IP:
		if (len != 4 && len != 16)
			return CDNI_EPARSE;
		*(field == KS_F_CLIENT_IP ? &m->client_ip : &m->server_ip) = b;
		break;
	case KS_F_PAYLOAD: m->payload = b; break;
	case KS_F_EXTRA: m->extra = b; break;
	case KS_F_SNI: m->sni = b; break;
	case KS_F_CERT_ID: m->cert_id = b; break;
	case KS_F_CUSTOM_FUNC: m->custom_func = b; break;
	case KS_F_SPAN: m->span = b; break;
	case KS_F_REQ_CONTEXT: m->req_context = b; break;
	default: break; /* padding */
	}
	return 0;
}

static int parse_item(struct wire *w, struct ks_msg *m)
{
	uint8_t tag = wire_u8(w);
	size_t len = wire_u16(w), exact;
	struct wire v = wire_sub(w, len);
	int field;

	if (w->err)
		return w->err;
	field = tag_field(tag, &exact);
	if (field < 0)
		return 0; /* unknown tags are skipped */
	if (KS_HAS(m, field) || (exact && len != exact))
		return CDNI_EPARSE;
	m->present |= 1u << field;
	return store_item(m, field, &v, len);
}

int ks_msg_parse(const uint8_t *body, size_t len, struct ks_msg *m)
{
	struct wire w = wire_reader(body, len);
	int rc = 0;

	memset(m, 0, sizeof *m);
	while (!rc && wire_left(&w) > 0)
		rc = parse_item(&w, m);
	if (rc)
		memset(m, 0, sizeof *m);
	return rc;
}

void ks_msg_init(struct ks_msg *m, uint8_t opcode)
{
	memset(m, 0, sizeof *m);
	m->opcode = opcode;
	m->present = 1u << KS_F_OPCODE;
}

void ks_msg_set_payload(struct ks_msg *m, const void *p, size_t len)
{
	m->payload.p = p;
	m->payload.len = len;
	m->present |= 1u << KS_F_PAYLOAD;
}

void ks_msg_set_ski(struct ks_msg *m, const uint8_t ski[KS_SKI_LEN])
{
	memcpy(m->ski, ski, KS_SKI_LEN);
	m->present |= 1u << KS_F_SKI;
}

void ks_msg_set_digest(struct ks_msg *m, const uint8_t digest[KS_DIGEST_LEN])
{
	memcpy(m->digest, digest, KS_DIGEST_LEN);
	m->present |= 1u << KS_F_DIGEST;
}

void ks_msg_set_sni(struct ks_msg *m, const char *sni)
{
	m->sni.p = (const uint8_t *)sni;
	m->sni.len = strlen(sni);
	m->present |= 1u << KS_F_SNI;
}

/* The items of m in the order they are written: tag, field, value. */
struct item {
	uint8_t tag;
	int field;
	struct ks_bytes v;
};

static size_t msg_items(const struct ks_msg *m, struct item *it)
{
	const struct item all[] = {
		{ KS_TAG_OPCODE, KS_F_OPCODE, { &m->opcode, 1 } },
		{ KS_TAG_PAYLOAD, KS_F_PAYLOAD, m->payload },
		{ KS_TAG_EXTRA, KS_F_EXTRA, m->extra },
		{ KS_TAG_SKI, KS_F_SKI, { m->ski, KS_SKI_LEN } },
		{ KS_TAG_DIGEST, KS_F_DIGEST, { m->digest, KS_DIGEST_LEN } },
		{ KS_TAG_CLIENT_IP, KS_F_CLIENT_IP, m->client_ip },
		{ KS_TAG_SERVER_IP, KS_F_SERVER_IP, m->server_ip },
		{ KS_TAG_SNI, KS_F_SNI, m->sni },
		{ KS_TAG_CERT_ID, KS_F_CERT_ID, m->cert_id },
		{ KS_TAG_CUSTOM_FUNC, KS_F_CUSTOM_FUNC, m->custom_func },
		{ KS_TAG_SPAN, KS_F_SPAN, m->span },
		{ KS_TAG_REQ_CONTEXT, KS_F_REQ_CONTEXT, m->req_context },
		{ KS_TAG_COMPLIANCE, KS_F_COMPLIANCE, { &m->compliance, 1 } },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (KS_HAS(m, all[i].field))
			it[n++] = all[i];
	return n;
}

/* Body size without padding; 0 when an item or the sum is too big. */
static size_t body_size(const struct item *it, size_t n)
{
	size_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		if (it[i].v.len > KS_BODY_MAX - 3)
			return 0;
		sum += 3 + it[i].v.len;
	}
	return sum <= KS_BODY_MAX ? sum : 0;
}

/* Padding value length for a body of len bytes, or -1 for no padding item.
 * Within 1 or 2 bytes of 1024 the item is empty and the message ends up at
 * 1025 or 1026 bytes, as gokeyless does. */
static long pad_len(size_t len)
{
	long left;

	if (KS_HEADER_LEN + len >= KS_PAD_TO)
		return -1;
	left = (long)KS_PAD_TO - (long)(KS_HEADER_LEN + len + 3);
	return left < 0 ? 0 : left;
}

size_t ks_msg_wire_size(const struct ks_msg *m)
{
	struct item it[KS_F_COUNT_];
	size_t n = msg_items(m, it), len = body_size(it, n);
	long pad;

	if (!len && n)
		return 0;
	pad = pad_len(len);
	return KS_HEADER_LEN + len + (pad >= 0 ? 3 + (size_t)pad : 0);
}

int ks_msg_write(uint32_t id, const struct ks_msg *m, uint8_t *out, size_t cap,
		 size_t *outlen)
{
	struct item it[KS_F_COUNT_];
	size_t n = msg_items(m, it), len = body_size(it, n);
	struct wire w = wire_writer(out, cap);
	long pad = pad_len(len);

	if (!len && n)
		return CDNI_EOVERFLOW;
	wire_put_u8(&w, KS_VERSION_MAJOR);
	wire_put_u8(&w, KS_VERSION_MINOR);
	wire_put_u16(&w, (uint16_t)(len + (pad >= 0 ? 3 + (size_t)pad : 0)));
	wire_put_u32(&w, id);
	for (size_t i = 0; i < n; i++) {
		wire_put_u8(&w, it[i].tag);
		wire_put_u16(&w, (uint16_t)it[i].v.len);
		wire_write(&w, it[i].v.p, it[i].v.len);
	}
	if (pad >= 0) {
		wire_put_u8(&w, KS_TAG_PADDING);
		wire_put_u16(&w, (uint16_t)pad);
		wire_put_zeros(&w, (size_t)pad);
	}
	if (w.err)
		return w.err;
	*outlen = wire_offset(&w);
	return 0;
}

int ks_write_error(uint32_t id, uint8_t code, uint8_t *out, size_t cap, size_t *outlen)
{
	struct ks_msg m;

	ks_msg_init(&m, KS_OP_ERROR);
	ks_msg_set_payload(&m, &code, 1);
	return ks_msg_write(id, &m, out, cap, outlen);
}

int ks_write_response(uint32_t id, uint8_t opcode, const void *payload, size_t len,
		      uint8_t *out, size_t cap, size_t *outlen)
{
	struct ks_msg m;

	ks_msg_init(&m, opcode);
	ks_msg_set_payload(&m, payload, len);
	return ks_msg_write(id, &m, out, cap, outlen);
}
