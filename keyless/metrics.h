/* cdni keyless — key-server metrics (Prometheus text format) and the audit
 * log line. Counters are relaxed atomics: written by the I/O thread, read by
 * the metrics listener. */
#ifndef CDNI_KEYLESS_METRICS_H
#define CDNI_KEYLESS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"
#include "keyless/core.h"
#include "keyless/policy.h"

#define KS_RESULTS 13      /* wire error 0..11, and 12 for anything else */
#define KS_HIST_BUCKETS 14 /* op latency buckets, +Inf excluded */

struct ks_metrics {
	atomic_ullong ops[256][KS_RESULTS];
	atomic_ullong hist[KS_HIST_BUCKETS + 1];
	atomic_ullong dur_sum_us, dur_count;
	atomic_llong conns_open, pending, keys;
	atomic_ullong conns_total, conns_refused, handshake_failures, idle_closed;
	atomic_ullong reloads, reload_failures, forwarded;
};

/* Upper bounds of the latency buckets, in microseconds. */
extern const long long ks_hist_bounds_us[KS_HIST_BUCKETS];

void ks_metrics_op(struct ks_metrics *m, uint8_t opcode, uint8_t wire_err, long long dur_us);
/* Append the whole exposition to out. */
void ks_metrics_render(struct ks_metrics *m, struct buf *out);

/* Append one audit line (JSON, ending in '\n') for an answered request:
 *   {"ts":..,"prog":..,"peer":..,"client":..,"id":..,"op":..,"ski":..,"key":..,
 *    "result":"ok"|"<wire error>","reason":..,"via":..,"dur_us":..}
 * ts is formatted by the caller (one per batch). */
void ks_audit_line(struct buf *out, const char *ts, const struct ks_peer *peer,
		   const struct ks_result *res, const char *via, long long dur_us);
/* "2026-11-22T07:30:00.123Z" for now. */
void ks_timestamp(char *buf, size_t len);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void ks_hex(const uint8_t *p, size_t n, char *out);

#endif
