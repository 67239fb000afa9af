/* metrics: target-server's counters and their two renderings.
 *
 * Counters are atomics, exact under any number of threads. What they count
 * (only /ping requests; /metrics itself is never counted):
 *   requests   /ping GET, POST or HEAD requests received (headers complete)
 *   responses  /ping responses queued (200 or 500, after any delay; also 413)
 *   errors     of those responses, the 500s injected by --error-rate
 *   aborted    /ping requests whose connection ended before a response was
 *              queued (the client left during the delay, or mid-body)
 *   rejected   requests answered 404, 405 or 400 (not /ping, not counted above)
 *   connections  open client connections (a gauge)
 * in_flight = requests - responses - aborted: the requests being delayed or
 * read right now. aborted is 0 unless clients hang up mid-request, so
 * in_flight is requests - responses in normal runs. */
#ifndef DLT_TARGET_METRICS_H
#define DLT_TARGET_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct metrics {
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t responses;
    atomic_uint_fast64_t errors;
    atomic_uint_fast64_t aborted;
    atomic_uint_fast64_t rejected;
    atomic_int_fast64_t connections;
    int64_t start_us; /* CLOCK_MONOTONIC µs at metrics_init */
};

/* A consistent-enough copy for rendering: in_flight is never negative. */
struct metrics_snapshot {
    uint64_t requests;
    uint64_t responses;
    uint64_t in_flight;
    uint64_t errors;
    uint64_t aborted;
    uint64_t rejected;
    int64_t connections;
    double uptime_s;
};

enum metrics_format { METRICS_JSON, METRICS_PROMETHEUS, METRICS_BAD_FORMAT };

/* Zero every counter; uptime counts from now_us. Can't fail. */
void metrics_init(struct metrics *m, int64_t now_us);

static inline void metrics_add(atomic_uint_fast64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* Read every counter into *out. Can't fail. */
void metrics_snapshot(struct metrics *m, int64_t now_us, struct metrics_snapshot *out);

/* Choose the rendering: the query argument format ("json", "prometheus" or
 * NULL when absent) wins; otherwise an Accept header naming text/plain (or
 * OpenMetrics) without application/json asks for Prometheus. Unknown
 * format values give METRICS_BAD_FORMAT. Either argument may be NULL. */
enum metrics_format metrics_pick_format(const char *format, const char *accept);

/* Render into buf (NUL-terminated). Returns the length, or -1 when buf is
 * too small; METRICS_TEXT_MAX bytes always suffice. */
#define METRICS_TEXT_MAX 2048
int metrics_json(const struct metrics_snapshot *s, char *buf, size_t buflen);
int metrics_prometheus(const struct metrics_snapshot *s, char *buf, size_t buflen);

#endif
