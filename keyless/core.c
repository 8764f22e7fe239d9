/* cdni keyless — the request core. */
#include "keyless/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"

struct ks_core {
	pthread_mutex_t lock; /* guards keys (the pointer, not the store) */
	struct ks_keystore *keys;
	atomic_ulong gen;     /* bumped when keys changes */
	struct ks_policy_hook policy;
	int forward;
};

static int open_policy(void *ctx, const struct ks_peer *peer, const uint8_t *ski,
		       const char *key_name, unsigned perm)
{
	return ks_policy_check(ctx, peer, ski, key_name, perm);
}

struct ks_core *ks_core_new(const struct ks_policy_hook *policy, int forward)
{
	struct ks_core *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	ks_mutex_init(&c->lock);
	if (policy)
		c->policy = *policy;
	else
		c->policy.check = open_policy; /* ctx NULL: no rules */
	c->forward = forward;
	return c;
}

void ks_core_free(struct ks_core *core)
{
	if (!core)
		return;
	ks_keystore_unref(core->keys);
	pthread_mutex_destroy(&core->lock);
	free(core);
}

void ks_core_set_keys(struct ks_core *core, struct ks_keystore *ks)
{
	struct ks_keystore *old;

	pthread_mutex_lock(&core->lock);
	old = core->keys;
	core->keys = ks;
	atomic_fetch_add(&core->gen, 1);
	pthread_mutex_unlock(&core->lock);
	ks_keystore_unref(old);
}

struct ks_keystore *ks_keycache_get(struct ks_core *core, struct ks_keycache *kc)
{
	unsigned long gen = atomic_load(&core->gen);

	if (kc->ks && kc->gen == gen)
		return kc->ks;
	ks_keystore_unref(kc->ks);
	pthread_mutex_lock(&core->lock);
	kc->ks = ks_keystore_ref(core->keys);
	kc->gen = atomic_load(&core->gen);
	pthread_mutex_unlock(&core->lock);
	return kc->ks;
}

void ks_keycache_drop(struct ks_keycache *kc)
{
	ks_keystore_unref(kc->ks);
	kc->ks = NULL;
}

struct ks_keystore *ks_core_keys(struct ks_core *core)
{
	struct ks_keystore *ks;

	pthread_mutex_lock(&core->lock);
	ks = ks_keystore_ref(core->keys);
	pthread_mutex_unlock(&core->lock);
	return ks;
}

static int append_frame(struct buf *out, const struct ks_msg *m, uint32_t id)
{
	size_t size = ks_msg_wire_size(m), n = 0;
	int rc;

	if (!size)
		return CDNI_EOVERFLOW;
	if ((rc = buf_reserve(out, size)))
		return rc;
	if ((rc = ks_msg_write(id, m, (uint8_t *)out->data + out->len, size, &n)))
		return rc;
	out->len += n;
	return 0;
}

int ks_core_write_error(struct buf *out, uint32_t id, int err)
{
	uint8_t code = ks_err_to_wire(err);
	struct ks_msg m;

	ks_msg_init(&m, KS_OP_ERROR);
	ks_msg_set_payload(&m, &code, 1);
	return append_frame(out, &m, id);
}

int ks_core_write_response(struct buf *out, uint32_t id, uint8_t opcode, const uint8_t *p,
			   size_t len)
{
	struct ks_msg m;

	ks_msg_init(&m, opcode);
	ks_msg_set_payload(&m, p, len);
	return append_frame(out, &m, id);
}

/* Parse the frame into res; 0 or the CDNI_E* code to answer with. */
static int parse_request(const uint8_t *frame, size_t len, struct ks_result *res)
{
	struct ks_header h;
	int rc;

	if ((rc = ks_header_parse(frame, len, &h)))
		return rc;
	res->id = h.id;
	if ((rc = ks_header_check(&h))) {
		res->close = 1;
		return rc;
	}
	if (len - KS_HEADER_LEN != h.length)
		return CDNI_EPARSE;
	if ((rc = ks_msg_parse(frame + KS_HEADER_LEN, h.length, &res->msg)))
		return rc;
	if (!KS_HAS(&res->msg, KS_F_OPCODE))
		return CDNI_EPARSE;
	res->opcode = res->msg.opcode;
	if (KS_HAS(&res->msg, KS_F_SKI)) {
		res->have_ski = 1;
		memcpy(res->ski, res->msg.ski, KS_SKI_LEN);
	}
	return 0;
}

static const struct ks_key *find_key(const struct ks_keystore *ks, const struct ks_msg *m)
{
	if (KS_HAS(m, KS_F_SKI))
		return ks_keystore_by_ski(ks, m->ski);
	if (KS_HAS(m, KS_F_DIGEST))
		return ks_keystore_by_digest(ks, m->digest);
	return NULL;
}

/* A keyed operation with the store ks. */
static int keyed_op(struct ks_core *core, const struct ks_keystore *ks,
		    const struct ks_peer *peer, const struct ks_opinfo *oi, struct buf *out,
		    struct ks_result *res)
{
	const struct ks_msg *m = &res->msg;
	const struct ks_key *key = find_key(ks, m);
	uint8_t sig[KS_RESULT_MAX];
	size_t siglen = 0;
	int rc;

	if (!key) {
		if (!core->forward || (!KS_HAS(m, KS_F_SKI) && !KS_HAS(m, KS_F_DIGEST)))
			return CDNI_ENOTFOUND;
		rc = core->policy.check(core->policy.ctx, peer, res->have_ski ? res->ski : NULL,
					NULL, ks_perm_of(oi));
		res->forward = rc == 0;
		return rc;
	}
	if (!res->have_ski) {
		res->have_ski = 1;
		memcpy(res->ski, key->ski, KS_SKI_LEN);
	}
	snprintf(res->key, sizeof res->key, "%s", key->name);
	rc = core->policy.check(core->policy.ctx, peer, key->ski, key->name, ks_perm_of(oi));
	if (rc)
		return rc;
	rc = ks_key_op(key, oi, m->payload.p, m->payload.len, sig, &siglen);
	if (!rc)
		rc = ks_core_write_response(out, res->id, KS_OP_RESPONSE, sig, siglen);
	OPENSSL_cleanse(sig, siglen);
	return rc;
}

static int dispatch(struct ks_core *core, struct ks_keycache *kc, const struct ks_peer *peer,
		    struct buf *out, struct ks_result *res)
{
	const struct ks_opinfo *oi = ks_opinfo(res->opcode);
	struct ks_keystore *ks;
	int rc;

	switch (oi->kind) {
	case KS_KIND_UNKNOWN:
	case KS_KIND_NOT_IMPLEMENTED:
		return CDNI_EUNSUPP;
	case KS_KIND_RESPONSE:
		return CDNI_EPROTO;
	case KS_KIND_PING:
		return ks_core_write_response(out, res->id, KS_OP_PONG, res->msg.payload.p,
					      res->msg.payload.len);
	default:
		break;
	}
	if (kc)
		return keyed_op(core, ks_keycache_get(core, kc), peer, oi, out, res);
	ks = ks_core_keys(core);
	rc = keyed_op(core, ks, peer, oi, out, res);
	ks_keystore_unref(ks);
	return rc;
}

int ks_core_handle(struct ks_core *core, const struct ks_peer *peer, const uint8_t *frame,
		   size_t len, struct buf *out, struct ks_result *res)
{
	return ks_core_handle_kc(core, NULL, peer, frame, len, out, res);
}

int ks_core_handle_kc(struct ks_core *core, struct ks_keycache *kc, const struct ks_peer *peer,
		      const uint8_t *frame, size_t len, struct buf *out, struct ks_result *res)
{
	size_t mark = out->len;
	int rc;

	memset(res, 0, sizeof *res);
	rc = parse_request(frame, len, res);
	if (!rc)
		rc = dispatch(core, kc, peer, out, res);
	if (out->err)
		return CDNI_ENOMEM;
	res->err = rc;
	if (!rc || res->forward)
		return 0;
	out->len = mark; /* drop a half-written success, if any */
	res->wire_err = ks_err_to_wire(rc);
	return ks_core_write_error(out, res->id, rc);
}
