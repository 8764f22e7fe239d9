/* cdni keyless — the request core: one request frame in, one response
 * frame out, no sockets.
 *
 * The core parses the frame, finds the key (by SKI, else by the legacy
 * digest), asks the policy whether this client may use it for this
 * operation, performs the operation and writes the response (same id).
 * Every failure becomes an error response through ks_err_to_wire(), the
 * one mapping from CDNI_E* codes to the protocol's error byte.
 *
 * With forwarding on (proxy mode), a request for a key the core does not
 * hold, and which the policy lets this client use, is not answered:
 * res->forward is set and the caller relays res->msg upstream. */
#ifndef CDNI_KEYLESS_CORE_H
#define CDNI_KEYLESS_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "keyless/keys.h"
#include "keyless/policy.h"
#include "keyless/proto.h"

struct ks_core;

/* What happened to one request (for the audit log, metrics, forwarding). */
struct ks_result {
	uint32_t id;
	uint8_t opcode;     /* the request's opcode (0 when it had none) */
	int err;            /* 0 or the CDNI_E* code answered */
	uint8_t wire_err;   /* the error byte sent (0 on success) */
	int have_ski;
	uint8_t ski[KS_SKI_LEN];
	char key[64];       /* key file name ("" when not local) */
	int forward;        /* proxy: relay msg upstream, nothing was written */
	int close;          /* the connection cannot continue (version mismatch) */
	struct ks_msg msg;  /* the parsed request (points into the frame) */
};

/* policy NULL: the open policy (every client signs, nobody decrypts). */
struct ks_core *ks_core_new(const struct ks_policy_hook *policy, int forward);
void ks_core_free(struct ks_core *core);
/* Install a key store (the core takes the caller's reference). Requests in
 * progress finish with the store they started with. */
void ks_core_set_keys(struct ks_core *core, struct ks_keystore *ks);
/* The current store, referenced (release with ks_keystore_unref). */
struct ks_keystore *ks_core_keys(struct ks_core *core);

/* A caller's (one thread's) cached reference to the current key store, so
 * that requests do not contend on the core's lock. Zero-initialise; release
 * with ks_keycache_drop(). */
struct ks_keycache {
	struct ks_keystore *ks;
	unsigned long gen;
};
/* Refresh the cache if the store changed since; returns the store. */
struct ks_keystore *ks_keycache_get(struct ks_core *core, struct ks_keycache *kc);
void ks_keycache_drop(struct ks_keycache *kc);

/* Handle one frame (exactly header + body). On return 0, either a response
 * frame was appended to out or res->forward is set. A negative return means
 * nothing could be answered (out of memory). frame must outlive res->msg. */
int ks_core_handle(struct ks_core *core, const struct ks_peer *peer, const uint8_t *frame,
		   size_t len, struct buf *out, struct ks_result *res);
/* The same with a per-thread key-store cache (kc may be NULL). */
int ks_core_handle_kc(struct ks_core *core, struct ks_keycache *kc, const struct ks_peer *peer,
		      const uint8_t *frame, size_t len, struct buf *out, struct ks_result *res);

/* Append an error response (for the caller's own failures, e.g. upstream). */
int ks_core_write_error(struct buf *out, uint32_t id, int err);
/* Append a response frame with opcode and payload. */
int ks_core_write_response(struct buf *out, uint32_t id, uint8_t opcode, const uint8_t *p,
			   size_t len);

#endif
