/* keyless/metrics: the Prometheus exposition (counters by opcode and result,
 * cumulative latency histogram) and the audit line (valid JSON whatever the
 * client certificate's CN holds). */
#include <jansson.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/tap.h"
#include "keyless/metrics.h"

static struct ks_metrics m;

static void test_render(void)
{
	struct buf b;

	ks_metrics_op(&m, KS_OP_ECDSA_SIGN_SHA256, 0, 40);
	ks_metrics_op(&m, KS_OP_ECDSA_SIGN_SHA256, 0, 700);
	ks_metrics_op(&m, KS_OP_RSA_SIGN_SHA256, KS_ERR_KEY_NOT_FOUND, 30);
	ks_metrics_op(&m, 0x99, KS_ERR_BAD_OPCODE, 20);
	ks_metrics_op(&m, KS_OP_PING, 0x42, 9000000);
	atomic_store(&m.keys, 3);
	buf_init(&b, 0);
	ks_metrics_render(&m, &b);
	ok(!b.err && strstr(b.data, "cdni_keyserver_ops_total{op=\"ecdsa-sign-sha256\",result=\"ok\"} 2\n"),
	   "ops by opcode and result");
	ok(strstr(b.data, "{op=\"rsa-sign-sha256\",result=\"key-not-found\"} 1\n") != NULL,
	   "errors by their wire name");
	ok(strstr(b.data, "{op=\"unknown\",result=\"bad-opcode\"} 1\n") != NULL, "unknown opcodes");
	ok(strstr(b.data, "{op=\"ping\",result=\"other\"} 1\n") != NULL,
	   "error codes beyond the protocol's are 'other'");
	ok(strstr(b.data, "_bucket{le=\"5e-05\"} 3\n") != NULL, "bucket 50 us: 3 (cumulative)");
	ok(strstr(b.data, "_bucket{le=\"0.001\"} 4\n") != NULL, "bucket 1 ms: 4");
	ok(strstr(b.data, "_bucket{le=\"5\"} 4\n") != NULL, "bucket 5 s: 4");
	ok(strstr(b.data, "_bucket{le=\"+Inf\"} 5\n") != NULL, "+Inf counts everything");
	ok(strstr(b.data, "cdni_keyserver_op_duration_seconds_count 5\n") != NULL, "count");
	ok(strstr(b.data, "cdni_keyserver_op_duration_seconds_sum 9.000790\n") != NULL, "sum");
	ok(strstr(b.data, "# TYPE cdni_keyserver_keys gauge\ncdni_keyserver_keys 3\n") != NULL,
	   "gauges with HELP/TYPE");
	buf_free(&b);
}

static void test_audit(void)
{
	struct ks_peer peer = { .cn = "evil\"cn\\\n\x7f", .addr = "127.0.0.1:9" };
	struct ks_result res = { .id = 4000000000u, .opcode = KS_OP_RSA_DECRYPT, .err = CDNI_EDENIED,
				 .wire_err = KS_ERR_KEY_NOT_FOUND, .have_ski = 1 };
	json_t *o;
	struct buf b;

	memset(res.ski, 0xab, sizeof res.ski);
	strcpy(res.key, "csp-rsa.key");
	buf_init(&b, 0);
	ks_audit_line(&b, "2026-11-22T07:30:00.123Z", &peer, &res, "upstream", 1234);
	ok(b.len && b.data[b.len - 1] == '\n' && !memchr(b.data, '\n', b.len - 1),
	   "one line, whatever the CN holds");
	o = json_loads(b.data, 0, NULL);
	ok(o != NULL, "the line is JSON");
	is_str(json_string_value(json_object_get(o, "client")), peer.cn, "the CN comes back intact");
	is_int(json_integer_value(json_object_get(o, "id")), 4000000000LL, "id");
	is_str(json_string_value(json_object_get(o, "op")), "rsa-decrypt", "op name");
	is_str(json_string_value(json_object_get(o, "ski")), "abababababababababababababababababababab",
	       "SKI in hex");
	is_str(json_string_value(json_object_get(o, "result")), "key-not-found", "wire result");
	is_str(json_string_value(json_object_get(o, "reason")), "denied by policy", "reason");
	is_str(json_string_value(json_object_get(o, "via")), "upstream", "via");
	is_int(json_integer_value(json_object_get(o, "dur_us")), 1234, "duration");
	json_decref(o);
	buf_reset(&b);
	res = (struct ks_result){ .id = 7, .opcode = 0x99 };
	ks_audit_line(&b, "t", &peer, &res, NULL, 0);
	o = json_loads(b.data, 0, NULL);
	is_str(json_string_value(json_object_get(o, "op")), "0x99", "unknown opcodes in hex");
	is_str(json_string_value(json_object_get(o, "result")), "ok", "result ok");
	ok(!json_object_get(o, "ski") && !json_object_get(o, "reason") && !json_object_get(o, "via"),
	   "absent fields are left out");
	json_decref(o);
	buf_free(&b);
}

int main(void)
{
	log_init("cdni-keyserver", LOG_ERR);
	test_render();
	test_audit();
	return done_testing();
}
