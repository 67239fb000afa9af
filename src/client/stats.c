#include "stats.h"

#include "jget.h"

#include <string.h>

static const char *const stats_lat_keys[LAT_N] = {"min", "mean", "median", "mode", "p90",
                                                  "p95", "p99",  "p999",   "max"};

const char *stats_lat_key(enum stats_lat l)
{
    return l >= 0 && l < LAT_N ? stats_lat_keys[l] : "";
}

void stats_from_json(const cJSON *o, struct stats *s)
{
    memset(s, 0, sizeof *s);
    s->sent = jget_int(o, "requests_sent", 0);
    s->received = jget_int(o, "responses_received", 0);
    s->errors = jget_int(o, "errors", 0);
    const cJSON *k = jget_obj(o, "error_kinds");
    s->err_connect = jget_int(k, "connect", 0);
    s->err_timeout = jget_int(k, "timeout", 0);
    s->err_4xx = jget_int(k, "http_4xx", 0);
    s->err_5xx = jget_int(k, "http_5xx", 0);
    s->err_other = jget_int(k, "other", 0);
    s->elapsed_ms = jget_int(o, "elapsed_ms", 0);
    s->rps = jget_num(o, "rps", 0);
    const cJSON *lat = jget_obj(o, "latency_ms");
    for (int i = 0; i < LAT_N; i++)
        s->lat[i] = jget_num(lat, stats_lat_keys[i], 0);
}

double stats_error_pct(const struct stats *s)
{
    if (s->sent <= 0)
        return 0;
    return 100.0 * (double)s->errors / (double)s->sent;
}

int64_t stats_done(const struct stats *s)
{
    /* responses_received counts every request that got an HTTP response,
     * 4xx and 5xx included; a request that failed without one counts only
     * in its error kind (docs/PROTOCOL.md). */
    return s->received + s->err_connect + s->err_timeout + s->err_other;
}

int stats_state_final(const char *state)
{
    static const char *const fin[] = {"COMPLETED", "PARTIAL", "FAILED", "ABORTED"};
    for (size_t i = 0; state && i < sizeof fin / sizeof fin[0]; i++)
        if (strcmp(state, fin[i]) == 0)
            return 1;
    return 0;
}

int stats_state_failed(const char *state)
{
    return stats_state_final(state) && strcmp(state, "COMPLETED") != 0;
}
