/* cdni keyless — metrics exposition and audit lines. */
#include "keyless/metrics.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "keyless/proto.h"

const long long ks_hist_bounds_us[KS_HIST_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
	5000000,
};

#define RLX memory_order_relaxed

void ks_metrics_op(struct ks_metrics *m, uint8_t opcode, uint8_t wire_err, long long dur_us)
{
	int b = 0;

	atomic_fetch_add_explicit(&m->ops[opcode][wire_err < KS_RESULTS - 1 ? wire_err
									  : KS_RESULTS - 1],
				  1, RLX);
	while (b < KS_HIST_BUCKETS && dur_us > ks_hist_bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&m->hist[b], 1, RLX);
	atomic_fetch_add_explicit(&m->dur_sum_us, (unsigned long long)(dur_us > 0 ? dur_us : 0),
				  RLX);
	atomic_fetch_add_explicit(&m->dur_count, 1, RLX);
}

static const char *result_name(int r)
{
	return r == 0 ? "ok" : r == KS_RESULTS - 1 ? "other" : ks_wire_err_name((uint8_t)r);
}

static void render_ops(struct ks_metrics *m, struct buf *out)
{
	buf_puts(out, "# HELP cdni_keyserver_ops_total Key-server requests answered, by opcode "
		      "and result.\n# TYPE cdni_keyserver_ops_total counter\n");
	for (int op = 0; op < 256; op++)
		for (int r = 0; r < KS_RESULTS; r++) {
			unsigned long long v = atomic_load_explicit(&m->ops[op][r], RLX);
			if (v)
				buf_printf(out, "cdni_keyserver_ops_total{op=\"%s\",result=\"%s\"} %llu\n",
					   ks_opinfo((uint8_t)op)->name, result_name(r), v);
		}
}

static void render_hist(struct ks_metrics *m, struct buf *out)
{
	unsigned long long cum = 0;

	buf_puts(out, "# HELP cdni_keyserver_op_duration_seconds Time from a request's arrival "
		      "to its answer being queued.\n"
		      "# TYPE cdni_keyserver_op_duration_seconds histogram\n");
	for (int b = 0; b < KS_HIST_BUCKETS; b++) {
		cum += atomic_load_explicit(&m->hist[b], RLX);
		buf_printf(out, "cdni_keyserver_op_duration_seconds_bucket{le=\"%g\"} %llu\n",
			   (double)ks_hist_bounds_us[b] / 1e6, cum);
	}
	cum += atomic_load_explicit(&m->hist[KS_HIST_BUCKETS], RLX);
	buf_printf(out, "cdni_keyserver_op_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	buf_printf(out, "cdni_keyserver_op_duration_seconds_sum %.6f\n",
		   (double)atomic_load_explicit(&m->dur_sum_us, RLX) / 1e6);
	buf_printf(out, "cdni_keyserver_op_duration_seconds_count %llu\n",
		   atomic_load_explicit(&m->dur_count, RLX));
}

static void one(struct buf *out, const char *name, const char *type, const char *help,
		long long v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name, v);
}

void ks_metrics_render(struct ks_metrics *m, struct buf *out)
{
	render_ops(m, out);
	render_hist(m, out);
	one(out, "cdni_keyserver_connections", "gauge", "Client connections open.",
	    atomic_load_explicit(&m->conns_open, RLX));
	one(out, "cdni_keyserver_connections_total", "counter", "Client connections accepted.",
	    (long long)atomic_load_explicit(&m->conns_total, RLX));
	one(out, "cdni_keyserver_connections_refused_total", "counter",
	    "Connections refused at the connection limit.",
	    (long long)atomic_load_explicit(&m->conns_refused, RLX));
	one(out, "cdni_keyserver_handshake_failures_total", "counter",
	    "TLS handshakes that failed (no or bad client certificate, timeouts).",
	    (long long)atomic_load_explicit(&m->handshake_failures, RLX));
	one(out, "cdni_keyserver_idle_closed_total", "counter", "Connections closed when idle.",
	    (long long)atomic_load_explicit(&m->idle_closed, RLX));
	one(out, "cdni_keyserver_pending_requests", "gauge", "Requests being worked on.",
	    atomic_load_explicit(&m->pending, RLX));
	one(out, "cdni_keyserver_keys", "gauge", "Private keys loaded.",
	    atomic_load_explicit(&m->keys, RLX));
	one(out, "cdni_keyserver_reloads_total", "counter", "Key reloads (SIGHUP) done.",
	    (long long)atomic_load_explicit(&m->reloads, RLX));
	one(out, "cdni_keyserver_reload_failures_total", "counter", "Key reloads that failed.",
	    (long long)atomic_load_explicit(&m->reload_failures, RLX));
	one(out, "cdni_keyserver_forwarded_total", "counter",
	    "Requests forwarded upstream (proxy mode).",
	    (long long)atomic_load_explicit(&m->forwarded, RLX));
}

void ks_timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(tv.tv_usec / 1000));
}

void ks_hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A JSON string literal of s: safe runs are copied whole; quotes,
 * backslashes and control bytes are escaped. */
static void json_str(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	buf_putc(out, '"');
	for (const char *p = s;; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f)
			continue;
		buf_append(out, run, (size_t)(p - run));
		if (!ch)
			break;
		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };
			buf_append(out, e, 2);
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
			buf_append(out, e, 6);
		}
		run = p + 1;
	}
	buf_putc(out, '"');
}

/* ,"key":"value" */
static void field(struct buf *out, const char *key, const char *val)
{
	buf_puts(out, ",\"");
	buf_puts(out, key);
	buf_puts(out, "\":");
	json_str(out, val);
}

/* ,"key":N (decimal, no printf) */
static void field_num(struct buf *out, const char *key, unsigned long long v)
{
	char d[24];
	size_t i = sizeof d;

	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	buf_puts(out, ",\"");
	buf_puts(out, key);
	buf_puts(out, "\":");
	buf_append(out, d + i, sizeof d - i);
}

void ks_audit_line(struct buf *out, const char *ts, const struct ks_peer *peer,
		   const struct ks_result *res, const char *via, long long dur_us)
{
	char hex[2 * KS_SKI_LEN + 1];

	buf_puts(out, "{\"ts\":");
	json_str(out, ts);
	field(out, "prog", log_program());
	field(out, "peer", peer->addr);
	field(out, "client", peer->cn);
	field_num(out, "id", res->id);
	if (ks_opinfo(res->opcode)->kind == KS_KIND_UNKNOWN) {
		ks_hex(&res->opcode, 1, hex);
		buf_puts(out, ",\"op\":\"0x");
		buf_puts(out, hex);
		buf_putc(out, '"');
	} else {
		field(out, "op", ks_opinfo(res->opcode)->name);
	}
	if (res->have_ski) {
		ks_hex(res->ski, KS_SKI_LEN, hex);
		field(out, "ski", hex);
	}
	if (res->key[0])
		field(out, "key", res->key);
	field(out, "result", res->wire_err ? ks_wire_err_name(res->wire_err) : "ok");
	if (res->err)
		field(out, "reason", cdni_strerror(res->err));
	if (via)
		field(out, "via", via);
	field_num(out, "dur_us", (unsigned long long)(dur_us > 0 ? dur_us : 0));
	buf_puts(out, "}\n");
}
