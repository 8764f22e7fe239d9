/* keyless/proto: byte vectors for the v1.0 framing — header, items, padding
 * to 1024 bytes, parsing rules (unknown tags, duplicates, overruns, sizes),
 * a stream of out-of-order responses, and the one error mapping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/tap.h"
#include "keyless/proto.h"

static uint8_t frame[KS_FRAME_MAX];

static size_t write_msg(uint32_t id, const struct ks_msg *m)
{
	size_t n = 0;
	int rc = ks_msg_write(id, m, frame, sizeof frame, &n);
	return rc ? 0 : n;
}

static void test_ping_vector(void)
{
	static const uint8_t head[] = {
		0x01, 0x00, 0x03, 0xf8, 0x01, 0x02, 0x03, 0x04, /* v1.0, body 1016, id */
		0x11, 0x00, 0x01, 0xf1,                         /* opcode ping */
		0x12, 0x00, 0x04, 'a', 'b', 'c', 'd',           /* payload */
		0x20, 0x03, 0xea,                               /* padding, 1002 zeros */
	};
	struct ks_msg m;
	size_t n, zeros = 0;

	ks_msg_init(&m, KS_OP_PING);
	ks_msg_set_payload(&m, "abcd", 4);
	n = write_msg(0x01020304, &m);
	is_int((long long)n, 1024, "a small message is padded to exactly 1024 bytes");
	is_int((long long)ks_msg_wire_size(&m), 1024, "wire size says so beforehand");
	is_mem(frame, sizeof head, head, sizeof head, "ping header and items, byte for byte");
	for (size_t i = sizeof head; i < n; i++)
		zeros += frame[i] == 0;
	is_int((long long)zeros, 1002, "padding value is zeros");
}

/* A message whose unpadded body is len bytes (one payload item). */
static size_t padded_size(size_t body)
{
	static uint8_t big[2048];
	struct ks_msg m;

	ks_msg_init(&m, KS_OP_RESPONSE); /* 4 bytes of body */
	ks_msg_set_payload(&m, big, body - 4 - 3);
	return write_msg(7, &m);
}

static void test_padding_edges(void)
{
	is_int((long long)padded_size(1013), 1024, "body 1013: empty padding item, 1024 bytes");
	is_int((long long)padded_size(1014), 1025, "body 1014: no room, 1025 bytes (as gokeyless)");
	is_int((long long)padded_size(1015), 1026, "body 1015: 1026 bytes (as gokeyless)");
	is_int((long long)padded_size(1016), 1024, "body 1016: exactly 1024, no padding item");
	is_int((long long)padded_size(1500), 1508, "big messages are not padded");
	is_int(frame[8 + 1500 - 1], 0, "last payload byte is the end of the frame");
}

static void test_all_fields_roundtrip(void)
{
	uint8_t ski[20], dig[32], v4[4] = { 192, 0, 2, 1 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct ks_msg m, p;
	size_t n;

	for (int i = 0; i < 20; i++)
		ski[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		dig[i] = (uint8_t)(0xa0 + i);
	ks_msg_init(&m, KS_OP_RSA_SIGN_SHA256);
	ks_msg_set_payload(&m, "0123456789abcdef0123456789abcdef", 32);
	ks_msg_set_ski(&m, ski);
	ks_msg_set_digest(&m, dig);
	ks_msg_set_sni(&m, "www.csp.test");
	m.client_ip = (struct ks_bytes){ v4, 4 };
	m.server_ip = (struct ks_bytes){ v6, 16 };
	m.cert_id = (struct ks_bytes){ (const uint8_t *)"cert-1", 6 };
	m.extra = (struct ks_bytes){ (const uint8_t *)"x", 1 };
	m.compliance = 1;
	m.present |= 1u << KS_F_CLIENT_IP | 1u << KS_F_SERVER_IP | 1u << KS_F_CERT_ID |
		     1u << KS_F_EXTRA | 1u << KS_F_COMPLIANCE;
	n = write_msg(99, &m);
	ok(n == 1024, "a request with every field is padded to 1024");
	is_int(ks_msg_parse(frame + 8, n - 8, &p), 0, "and parses back");
	ok(p.opcode == KS_OP_RSA_SIGN_SHA256 && p.payload.len == 32 &&
	   !memcmp(p.ski, ski, 20) && !memcmp(p.digest, dig, 32) && p.sni.len == 12 &&
	   p.client_ip.len == 4 && p.server_ip.len == 16 && p.cert_id.len == 6 &&
	   p.extra.len == 1 && p.compliance == 1 && KS_HAS(&p, KS_F_PADDING),
	   "every field survives, padding seen");
	/* gokeyless's field order: opcode, payload, extra, SKI, digest, ... */
	ok(frame[8] == 0x11 && frame[12] == 0x12 && frame[12 + 3 + 32] == 0x14 &&
	   frame[12 + 3 + 32 + 4] == 0x04, "items are written in gokeyless's order");
}

static int parse_hex_body(const char *hex, struct ks_msg *m)
{
	uint8_t body[256];
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		body[i] = (uint8_t)v;
	}
	return ks_msg_parse(body, n, m);
}

static void test_parse_rules(void)
{
	struct ks_msg m;

	is_int(parse_hex_body("1100010599000301020312000100", &m), 0, "unknown tag 0x99 is skipped");
	ok(m.opcode == 0x05 && m.payload.len == 1, "known items around it are kept");
	is_int(parse_hex_body("110001051100010f", &m), CDNI_EPARSE, "opcode twice is malformed");
	is_int(parse_hex_body("20000020000100", &m), CDNI_EPARSE, "padding twice is malformed");
	is_int(parse_hex_body("99000099000100", &m), 0, "an unknown tag twice is not");
	is_int(parse_hex_body("1100010512000501", &m), CDNI_ETRUNC, "an item past the body is an overrun");
	is_int(parse_hex_body("11000105120", &m), CDNI_ETRUNC, "a body ending inside an item header");
	is_int(parse_hex_body("1100010512", &m), CDNI_ETRUNC, "a lone tag byte at the end");
	is_int(parse_hex_body("11000205f1", &m), CDNI_EPARSE, "opcode item of 2 bytes");
	is_int(parse_hex_body("1100010504000301020a", &m), CDNI_EPARSE, "SKI of 3 bytes");
	is_int(parse_hex_body("110001050100020102", &m), CDNI_EPARSE, "digest of 2 bytes");
	is_int(parse_hex_body("11000105030005c000020102", &m), CDNI_EPARSE, "client IP of 5 bytes");
	is_int(parse_hex_body("110001051700020101", &m), CDNI_EPARSE, "compliance region of 2 bytes");
	ok(m.present == 0 && m.opcode == 0, "a failed parse leaves the message empty");
	is_int(parse_hex_body("", &m), 0, "an empty body parses (the core then wants an opcode)");
	ok(!KS_HAS(&m, KS_F_OPCODE), "and has no opcode");
	is_int(parse_hex_body("1200001100010a", &m), 0, "an empty payload is present, length 0");
	ok(KS_HAS(&m, KS_F_PAYLOAD) && m.payload.len == 0, "payload flagged present");
}

static void test_header(void)
{
	static const uint8_t h1[] = { 1, 0, 0x04, 0x00, 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t h2[] = { 2, 0, 0x00, 0x00, 0, 0, 0, 1 };
	struct ks_header h;

	is_int(ks_header_parse(h1, sizeof h1, &h), 0, "header parses");
	ok(h.major == 1 && h.minor == 0 && h.length == 1024 && h.id == 0xdeadbeef,
	   "major, minor, length and id big-endian");
	is_int(ks_header_check(&h), 0, "version 1.0 accepted");
	is_int(ks_header_parse(h1, 7, &h), CDNI_ETRUNC, "7 bytes are a short header");
	is_int(ks_header_parse(h2, sizeof h2, &h), 0, "another major version still parses");
	is_int(ks_header_check(&h), CDNI_EVERSION, "but is refused as a version mismatch");
}

/* Responses to ids 1, 2, 3 arriving as 3, 1, 2 in one byte stream, split by
 * ks_frame_len the way a receiver does, including partial arrivals. */
static void test_out_of_order_stream(void)
{
	static uint8_t stream[4096];
	size_t total = 0, off = 0, got = 0;
	uint32_t order[3] = { 3, 1, 2 }, ids[3];
	char payload[3][8];

	for (int i = 0; i < 3; i++) {
		snprintf(payload[i], sizeof payload[i], "sig-%u", order[i]);
		ks_write_response(order[i], KS_OP_RESPONSE, payload[i], strlen(payload[i]),
				  stream + total, sizeof stream - total, &(size_t){ 0 });
		total += 1024;
	}
	is_int((long long)ks_frame_len(stream, 7), 0, "7 bytes: no frame yet");
	is_int((long long)ks_frame_len(stream, 1023), 0, "1023 bytes: no frame yet");
	is_int((long long)ks_frame_len(stream, 1500), 1024, "1500 bytes: a 1024-byte frame");
	while (got < 3) {
		size_t n = ks_frame_len(stream + off, total - off);
		struct ks_header h;
		struct ks_msg m;
		if (!n || ks_header_parse(stream + off, n, &h) ||
		    ks_msg_parse(stream + off + 8, n - 8, &m))
			break;
		ids[got] = h.id;
		ok(m.payload.len == 5 && m.payload.p[4] == '0' + h.id,
		   "frame %zu carries the answer for id %u", got + 1, h.id);
		got++;
		off += n;
	}
	ok(got == 3 && ids[0] == 3 && ids[1] == 1 && ids[2] == 2,
	   "three frames come out, in arrival order 3, 1, 2");
}

static void test_errors(void)
{
	static const struct { int err; uint8_t wire; } map[] = {
		{ 0, KS_ERR_NONE }, { CDNI_EPARSE, KS_ERR_FORMAT }, { CDNI_ETRUNC, KS_ERR_FORMAT },
		{ CDNI_EINVAL, KS_ERR_FORMAT }, { CDNI_ENOTFOUND, KS_ERR_KEY_NOT_FOUND },
		{ CDNI_EDENIED, KS_ERR_KEY_NOT_FOUND }, { CDNI_ETLS, KS_ERR_CRYPTO },
		{ CDNI_EUNSUPP, KS_ERR_BAD_OPCODE }, { CDNI_EPROTO, KS_ERR_UNEXPECTED_OPCODE },
		{ CDNI_EVERSION, KS_ERR_VERSION_MISMATCH }, { CDNI_EIO, KS_ERR_READ },
		{ CDNI_ECONFIG, KS_ERR_REMOTE_CONFIG }, { CDNI_ENOMEM, KS_ERR_INTERNAL },
		{ CDNI_ETIMEDOUT, KS_ERR_INTERNAL }, { CDNI_EUPSTREAM, KS_ERR_INTERNAL },
	};
	int all = 1, back = 1;

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (ks_err_to_wire(map[i].err) != map[i].wire)
			all = 0, diag("%s -> %u", cdni_strerror(map[i].err), ks_err_to_wire(map[i].err));
	ok(all, "CDNI_E* codes map to the protocol's error bytes");
	for (uint8_t w = 1; w <= KS_ERR_REMOTE_CONFIG; w++)
		if (w != KS_ERR_INTERNAL && w != KS_ERR_CERT_NOT_FOUND && w != KS_ERR_EXPIRED &&
		    ks_err_to_wire(ks_err_from_wire(w)) != w)
			back = 0, diag("wire %u does not come back", w);
	ok(back, "the client's reverse mapping round-trips");
	is_int(ks_err_from_wire(0x42), CDNI_EUPSTREAM, "unknown error bytes are upstream errors");
	is_str(ks_wire_err_name(KS_ERR_FORMAT), "format", "error names");
	is_str(ks_wire_err_name(200), "unknown-error", "unknown error name");
	is_int(ks_write_error(5, KS_ERR_CRYPTO, frame, sizeof frame, &(size_t){ 0 }), 0,
	       "error response written");
	ok(frame[8] == 0x11 && frame[11] == 0xff && frame[12] == 0x12 && frame[15] == 0x01,
	   "error response: opcode 0xff, payload the code");
}

static void test_ops(void)
{
	const struct ks_opinfo *oi = ks_opinfo(KS_OP_RSA_PSS_SIGN_SHA384);

	ok(oi->kind == KS_KIND_RSA_PSS && oi->hash == KS_HASH_SHA384, "0x36 is RSA-PSS SHA-384");
	ok(ks_opinfo(KS_OP_RSA_SIGN_MD5SHA1)->hash == KS_HASH_MD5SHA1 &&
	   ks_hash_len(KS_HASH_MD5SHA1) == 36, "MD5SHA1 is 36 bytes");
	ok(ks_opinfo(KS_OP_ECDSA_SIGN_SHA512)->kind == KS_KIND_ECDSA, "0x17 is ECDSA");
	ok(ks_opinfo(KS_OP_ED25519_SIGN)->kind == KS_KIND_ED25519, "0x18 is Ed25519");
	ok(ks_opinfo(KS_OP_PONG)->kind == KS_KIND_RESPONSE &&
	   ks_opinfo(KS_OP_ERROR)->kind == KS_KIND_RESPONSE, "responses are responses");
	ok(ks_opinfo(0x99)->kind == KS_KIND_UNKNOWN, "0x99 is unknown");
	ok(ks_opinfo(KS_OP_SEAL)->kind == KS_KIND_NOT_IMPLEMENTED, "seal is not implemented");
	is_int(ks_op_by_name("rsa-pss-sign-sha512"), KS_OP_RSA_PSS_SIGN_SHA512, "by name");
	is_int(ks_op_by_name("nope"), -1, "unknown name");
	is_int((long long)ks_hash_len(KS_HASH_SHA224), 28, "SHA-224 length");
	{
		int good = 1, known = 0;
		for (int op = 0; op < 256; op++) {
			const struct ks_opinfo *o = ks_opinfo((uint8_t)op);
			if (o->kind != KS_KIND_UNKNOWN) {
				known++;
				good &= o->op == op && ks_op_by_name(o->name) == op;
			}
		}
		ok(good && known == 26, "the opcode index agrees with the table (26 opcodes)");
	}
}

static void test_too_big(void)
{
	static uint8_t big[KS_BODY_MAX];
	struct ks_msg m;
	size_t n;

	ks_msg_init(&m, KS_OP_PING);
	ks_msg_set_payload(&m, big, KS_BODY_MAX - 4 - 3);
	is_int((long long)ks_msg_wire_size(&m), KS_FRAME_MAX, "largest body fits");
	ks_msg_set_payload(&m, big, KS_BODY_MAX - 4 - 2);
	is_int((long long)ks_msg_wire_size(&m), 0, "one more byte does not");
	is_int(ks_msg_write(1, &m, frame, sizeof frame, &n), CDNI_EOVERFLOW, "and is not written");
	ks_msg_set_payload(&m, "x", 1);
	is_int(ks_msg_write(1, &m, frame, 100, &n), CDNI_EOVERFLOW, "a small buffer is refused");
}

int main(void)
{
	test_ping_vector();
	test_padding_edges();
	test_all_fields_roundtrip();
	test_parse_rules();
	test_header();
	test_out_of_order_stream();
	test_errors();
	test_ops();
	test_too_big();
	return done_testing();
}
