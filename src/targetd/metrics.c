#define _POSIX_C_SOURCE 200809L
#include "metrics.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void metrics_init(struct metrics *m, int64_t now_us)
{
    atomic_init(&m->requests, 0);
    atomic_init(&m->responses, 0);
    atomic_init(&m->errors, 0);
    atomic_init(&m->aborted, 0);
    atomic_init(&m->rejected, 0);
    atomic_init(&m->connections, 0);
    m->start_us = now_us;
}

void metrics_snapshot(struct metrics *m, int64_t now_us, struct metrics_snapshot *out)
{
    /* A request is counted before its response or abort, so reading those
     * first and requests last keeps in_flight >= 0 even mid-update. */
    out->aborted = atomic_load(&m->aborted);
    out->responses = atomic_load(&m->responses);
    out->errors = atomic_load(&m->errors);
    out->rejected = atomic_load(&m->rejected);
    out->connections = atomic_load(&m->connections);
    out->requests = atomic_load(&m->requests);
    uint64_t done = out->responses + out->aborted;
    out->in_flight = out->requests > done ? out->requests - done : 0;
    out->uptime_s = (double)(now_us - m->start_us) / 1e6;
}

/* Case-insensitive search for needle in s. */
static int metrics_mentions(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++) {
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    }
    return 0;
}

enum metrics_format metrics_pick_format(const char *format, const char *accept)
{
    if (format) {
        if (strcasecmp(format, "json") == 0)
            return METRICS_JSON;
        if (strcasecmp(format, "prometheus") == 0 || strcasecmp(format, "text") == 0)
            return METRICS_PROMETHEUS;
        return METRICS_BAD_FORMAT;
    }
    if (accept && !metrics_mentions(accept, "application/json") &&
        (metrics_mentions(accept, "text/plain") ||
         metrics_mentions(accept, "application/openmetrics-text")))
        return METRICS_PROMETHEUS;
    return METRICS_JSON;
}

static int metrics_fit(int n, size_t buflen)
{
    return n < 0 || (size_t)n >= buflen ? -1 : n;
}

int metrics_json(const struct metrics_snapshot *s, char *buf, size_t buflen)
{
    int n = snprintf(buf, buflen,
                     "{\"total_requests\": %llu, \"total_responses\": %llu, \"in_flight\": %llu, "
                     "\"uptime_s\": %.3f, \"total_errors\": %llu, \"total_aborted\": %llu, "
                     "\"total_rejected\": %llu, \"connections\": %lld}\n",
                     (unsigned long long)s->requests, (unsigned long long)s->responses,
                     (unsigned long long)s->in_flight, s->uptime_s, (unsigned long long)s->errors,
                     (unsigned long long)s->aborted, (unsigned long long)s->rejected,
                     (long long)s->connections);
    return metrics_fit(n, buflen);
}

int metrics_prometheus(const struct metrics_snapshot *s, char *buf, size_t buflen)
{
    int n = snprintf(
        buf, buflen,
        "# HELP dlt_target_requests_total /ping requests received.\n"
        "# TYPE dlt_target_requests_total counter\n"
        "dlt_target_requests_total %llu\n"
        "# HELP dlt_target_responses_total /ping responses queued (any status).\n"
        "# TYPE dlt_target_responses_total counter\n"
        "dlt_target_responses_total %llu\n"
        "# HELP dlt_target_in_flight /ping requests received and not yet answered.\n"
        "# TYPE dlt_target_in_flight gauge\n"
        "dlt_target_in_flight %llu\n"
        "# HELP dlt_target_errors_total /ping 500 responses injected by --error-rate.\n"
        "# TYPE dlt_target_errors_total counter\n"
        "dlt_target_errors_total %llu\n"
        "# HELP dlt_target_aborted_total /ping requests whose client left before the answer.\n"
        "# TYPE dlt_target_aborted_total counter\n"
        "dlt_target_aborted_total %llu\n"
        "# HELP dlt_target_rejected_total Requests answered 400, 404 or 405.\n"
        "# TYPE dlt_target_rejected_total counter\n"
        "dlt_target_rejected_total %llu\n"
        "# HELP dlt_target_connections Open client connections.\n"
        "# TYPE dlt_target_connections gauge\n"
        "dlt_target_connections %lld\n"
        "# HELP dlt_target_uptime_seconds Seconds since the server started.\n"
        "# TYPE dlt_target_uptime_seconds gauge\n"
        "dlt_target_uptime_seconds %.3f\n",
        (unsigned long long)s->requests, (unsigned long long)s->responses,
        (unsigned long long)s->in_flight, (unsigned long long)s->errors,
        (unsigned long long)s->aborted, (unsigned long long)s->rejected, (long long)s->connections,
        s->uptime_s);
    return metrics_fit(n, buflen);
}
