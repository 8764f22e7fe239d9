/* cdni keyless — the key-server wire codec (gokeyless v1.0 framing).
 *
 *   header, 8 bytes: u8 major 0x01 | u8 minor 0x00 | u16 body length | u32 id
 *   body: items, each u8 tag | u16 len | len bytes
 *
 * Parsing is bounds-checked (common/wire.h) and never copies: a parsed
 * message points into the body it was parsed from. Unknown tags are skipped;
 * a known tag twice, an item running past the body, or a known item with a
 * wrong size is malformed (CDNI_EPARSE / CDNI_ETRUNC). Messages are written
 * field by field and padded with one 0x20 item to 1024 bytes on the wire.
 *
 * The one mapping between CDNI_E* codes and the protocol's error byte is
 * ks_err_to_wire() (and its inverse for clients, ks_err_from_wire()). */
#ifndef CDNI_KEYLESS_PROTO_H
#define CDNI_KEYLESS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KS_VERSION_MAJOR 0x01
#define KS_VERSION_MINOR 0x00
#define KS_HEADER_LEN 8
#define KS_PAD_TO 1024         /* messages shorter than this on the wire get padded */
#define KS_BODY_MAX 65535      /* the header's u16 */
#define KS_FRAME_MAX (KS_HEADER_LEN + KS_BODY_MAX)
#define KS_SKI_LEN 20
#define KS_DIGEST_LEN 32

enum ks_tag {
	KS_TAG_DIGEST = 0x01,      /* SHA-256 of the upper-case hex RSA modulus */
	KS_TAG_SNI = 0x02,
	KS_TAG_CLIENT_IP = 0x03,
	KS_TAG_SKI = 0x04,
	KS_TAG_SERVER_IP = 0x05,
	KS_TAG_CERT_ID = 0x06,
	KS_TAG_OPCODE = 0x11,
	KS_TAG_PAYLOAD = 0x12,
	KS_TAG_CUSTOM_FUNC = 0x13,
	KS_TAG_EXTRA = 0x14,
	KS_TAG_SPAN = 0x15,
	KS_TAG_REQ_CONTEXT = 0x16,
	KS_TAG_COMPLIANCE = 0x17,
	KS_TAG_PADDING = 0x20,
};

enum ks_op {
	KS_OP_RSA_DECRYPT = 0x01,
	KS_OP_RSA_SIGN_MD5SHA1 = 0x02,
	KS_OP_RSA_SIGN_SHA1 = 0x03,
	KS_OP_RSA_SIGN_SHA224 = 0x04,
	KS_OP_RSA_SIGN_SHA256 = 0x05,
	KS_OP_RSA_SIGN_SHA384 = 0x06,
	KS_OP_RSA_SIGN_SHA512 = 0x07,
	KS_OP_RSA_DECRYPT_RAW = 0x08,
	KS_OP_ECDSA_SIGN_MD5SHA1 = 0x12,
	KS_OP_ECDSA_SIGN_SHA1 = 0x13,
	KS_OP_ECDSA_SIGN_SHA224 = 0x14,
	KS_OP_ECDSA_SIGN_SHA256 = 0x15,
	KS_OP_ECDSA_SIGN_SHA384 = 0x16,
	KS_OP_ECDSA_SIGN_SHA512 = 0x17,
	KS_OP_ED25519_SIGN = 0x18,
	KS_OP_SEAL = 0x21,
	KS_OP_UNSEAL = 0x22,
	KS_OP_RPC = 0x23,
	KS_OP_CUSTOM = 0x24,
	KS_OP_RSA_PSS_SIGN_SHA256 = 0x35,
	KS_OP_RSA_PSS_SIGN_SHA384 = 0x36,
	KS_OP_RSA_PSS_SIGN_SHA512 = 0x37,
	KS_OP_RESPONSE = 0xF0,
	KS_OP_PING = 0xF1,
	KS_OP_PONG = 0xF2,
	KS_OP_ERROR = 0xFF,
};

/* The protocol's one-byte error codes (payload of an 0xFF response). */
enum ks_wire_err {
	KS_ERR_NONE = 0x00,
	KS_ERR_CRYPTO = 0x01,
	KS_ERR_KEY_NOT_FOUND = 0x02,
	KS_ERR_READ = 0x03,
	KS_ERR_VERSION_MISMATCH = 0x04,
	KS_ERR_BAD_OPCODE = 0x05,
	KS_ERR_UNEXPECTED_OPCODE = 0x06,
	KS_ERR_FORMAT = 0x07,
	KS_ERR_INTERNAL = 0x08,
	KS_ERR_CERT_NOT_FOUND = 0x09,
	KS_ERR_EXPIRED = 0x0A,
	KS_ERR_REMOTE_CONFIG = 0x0B,
};

/* What an operation does (the core dispatches on this). */
enum ks_kind {
	KS_KIND_UNKNOWN = 0,
	KS_KIND_RSA_PKCS1,   /* PKCS#1 v1.5 signature of a digest */
	KS_KIND_RSA_PSS,     /* RSASSA-PSS, salt length = hash length */
	KS_KIND_ECDSA,       /* ECDSA of a digest, DER output */
	KS_KIND_ED25519,     /* Ed25519 of the whole message */
	KS_KIND_RSA_DECRYPT, /* PKCS#1 v1.5 decryption, padding removed */
	KS_KIND_RSA_RAW,     /* raw RSA (m = c^d mod n) */
	KS_KIND_PING,
	KS_KIND_NOT_IMPLEMENTED, /* seal, unseal, rpc, custom */
	KS_KIND_RESPONSE,        /* a response opcode (never a valid request) */
};

/* Hashes of the signing opcodes (payload is a digest of this length). */
enum ks_hash {
	KS_HASH_NONE = 0,
	KS_HASH_MD5SHA1, /* 36 bytes, TLS 1.0/1.1, no DigestInfo */
	KS_HASH_SHA1,
	KS_HASH_SHA224,
	KS_HASH_SHA256,
	KS_HASH_SHA384,
	KS_HASH_SHA512,
};

struct ks_opinfo {
	uint8_t op;
	const char *name; /* "rsa-sign-sha256", for logs and metrics */
	enum ks_kind kind;
	enum ks_hash hash;
};

/* The table entry for an opcode; an entry with kind KS_KIND_UNKNOWN (and
 * name "unknown") for an opcode nobody defined. Never NULL. */
const struct ks_opinfo *ks_opinfo(uint8_t op);
/* The opcode whose name is name ("rsa-sign-sha256", "ping", ...); -1 if none. */
int ks_op_by_name(const char *name);
size_t ks_hash_len(enum ks_hash h);
/* OpenSSL digest name ("SHA256"), NULL for MD5SHA1 and NONE. */
const char *ks_hash_ossl_name(enum ks_hash h);

/* Names of the error byte ("key-not-found"), and of a tag. */
const char *ks_wire_err_name(uint8_t code);
const char *ks_tag_name(uint8_t tag);

/* The one place CDNI_E* codes meet the wire:
 *   EPARSE ETRUNC EINVAL EOVERFLOW -> format      ENOTFOUND EDENIED -> key not found
 *   ETLS -> crypto        EUNSUPP -> bad opcode   EPROTO -> unexpected opcode
 *   EVERSION -> version mismatch  EIO ECLOSED -> read  ECONFIG -> remote configuration
 *   anything else (ENOMEM, ETIMEDOUT, EUPSTREAM, EBUSY, ...) -> internal */
uint8_t ks_err_to_wire(int err);
/* For clients: the CDNI_E* code of a received error byte. */
int ks_err_from_wire(uint8_t code);

struct ks_header {
	uint8_t major, minor;
	uint16_t length;
	uint32_t id;
};

struct ks_bytes {
	const uint8_t *p;
	size_t len;
};

/* Bit (1u << KS_F_x) in ks_msg.present for each known tag. */
enum ks_field {
	KS_F_DIGEST, KS_F_SNI, KS_F_CLIENT_IP, KS_F_SKI, KS_F_SERVER_IP, KS_F_CERT_ID,
	KS_F_OPCODE, KS_F_PAYLOAD, KS_F_CUSTOM_FUNC, KS_F_EXTRA, KS_F_SPAN, KS_F_REQ_CONTEXT,
	KS_F_COMPLIANCE, KS_F_PADDING, KS_F_COUNT_
};
#define KS_HAS(m, f) (((m)->present >> (f)) & 1u)

struct ks_msg {
	uint32_t present; /* KS_HAS(m, KS_F_x) */
	uint8_t opcode;
	uint8_t compliance;
	uint8_t ski[KS_SKI_LEN];
	uint8_t digest[KS_DIGEST_LEN];
	struct ks_bytes payload, extra, sni, cert_id, custom_func, span, req_context;
	struct ks_bytes client_ip, server_ip; /* 4 or 16 bytes */
};

/* Parse the 8-byte header at the start of buf (len >= 8 or CDNI_ETRUNC).
 * Any version is returned as is: the caller decides (ks_header_check). */
int ks_header_parse(const uint8_t *buf, size_t len, struct ks_header *h);
/* Length of the whole frame at the start of a byte stream (header + body),
 * or 0 while fewer bytes than that have arrived. */
size_t ks_frame_len(const uint8_t *buf, size_t len);
/* 0 for major version 1, CDNI_EVERSION otherwise. */
int ks_header_check(const struct ks_header *h);
/* Parse a body. On failure *m is zeroed and CDNI_EPARSE (duplicate tag,
 * bad item size) or CDNI_ETRUNC (item past the end) is returned. */
int ks_msg_parse(const uint8_t *body, size_t len, struct ks_msg *m);

/* Setters for building messages (they mark the field present). */
void ks_msg_init(struct ks_msg *m, uint8_t opcode);
void ks_msg_set_payload(struct ks_msg *m, const void *p, size_t len);
void ks_msg_set_ski(struct ks_msg *m, const uint8_t ski[KS_SKI_LEN]);
void ks_msg_set_digest(struct ks_msg *m, const uint8_t digest[KS_DIGEST_LEN]);
void ks_msg_set_sni(struct ks_msg *m, const char *sni);

/* Size on the wire (header included) of m, padding included. 0 when the
 * body would not fit the u16 length. */
size_t ks_msg_wire_size(const struct ks_msg *m);
/* Write header and body of m with id into out (cap bytes); *outlen set on
 * success. CDNI_EOVERFLOW when cap is too small or the body too big. */
int ks_msg_write(uint32_t id, const struct ks_msg *m, uint8_t *out, size_t cap,
		 size_t *outlen);
/* Convenience for responses: an error (0xFF, one byte) and a success
 * (0xF0 with payload). */
int ks_write_error(uint32_t id, uint8_t code, uint8_t *out, size_t cap, size_t *outlen);
int ks_write_response(uint32_t id, uint8_t opcode, const void *payload, size_t len,
		      uint8_t *out, size_t cap, size_t *outlen);

#endif
