#define _POSIX_C_SOURCE 200809L
/* prometheus: the /metrics text. */
#include "ctl_int.h"

#include "clock.h"

#include <stdio.h>
#include <stdlib.h>

/* Prometheus label values: escape backslash, quote and newline. Ids need
 * none of it, but keep the output valid whatever they hold. */
static void ctl_prom_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

int ctl_prometheus(struct ctl *c, char **text, char *err, size_t errlen)
{
    *text = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    pthread_mutex_lock(&c->mu);
    int64_t now = clock_wall_ms();
    int counts[LIVE_COUNT] = {0};
    int nd = registry_count(c->reg);
    for (int i = 0; i < nd; i++)
        counts[registry_judge(c->reg, registry_at(c->reg, i), now)]++;
    fputs("# HELP dlt_drivers Drivers known to the orchestrator, by liveness.\n"
          "# TYPE dlt_drivers gauge\n",
          f);
    for (int l = 0; l < LIVE_COUNT; l++)
        fprintf(f, "dlt_drivers{liveness=\"%s\"} %d\n", liveness_name((enum liveness)l), counts[l]);
    int64_t tc[TS_COUNT];
    char dberr[256];
    if (ostore_tests_count(c->db, tstate_names, TS_COUNT, tc, dberr, sizeof dberr) == 0) {
        fputs("# HELP dlt_tests Tests in the metrics store, by state.\n"
              "# TYPE dlt_tests gauge\n",
              f);
        for (int s = 0; s < TS_COUNT; s++)
            fprintf(f, "dlt_tests{state=\"%s\"} %lld\n", tstate_names[s], (long long)tc[s]);
    } else {
        ctl_db_error(c, "count tests", dberr);
    }
    struct test *t = c->active;
    fputs("# HELP dlt_test_active 1 while a test is CREATED, CONFIGURED or RUNNING.\n"
          "# TYPE dlt_test_active gauge\n",
          f);
    fprintf(f, "dlt_test_active %d\n", t ? 1 : 0);
    if (t) {
        struct agg_driver **ds = calloc((size_t)(t->n_parts ? t->n_parts : 1), sizeof *ds);
        struct agg_stats st;
        int approx = 0;
        for (int i = 0; ds && i < t->n_parts; i++)
            ds[i] = &t->parts[i].agg;
        agg_merge(ds, ds ? t->n_parts : 0, &c->s, &st, &approx);
        free(ds);
        const struct {
            const char *name, *help;
            double v;
        } g[] = {
            {"dlt_test_requests_sent", "Requests sent in the active test, all drivers.",
             (double)st.requests_sent},
            {"dlt_test_responses_received", "Responses received in the active test.",
             (double)st.responses_received},
            {"dlt_test_errors", "Failed requests in the active test.", (double)st.errors},
            {"dlt_test_rps", "Responses per second over the active test.", st.rps},
            {"dlt_test_participants", "Drivers taking part in the active test.",
             (double)t->n_parts},
        };
        for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
            fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s{test_id=\"", g[i].name, g[i].help,
                    g[i].name, g[i].name);
            ctl_prom_label(f, t->id);
            fprintf(f, "\",state=\"%s\"} %.17g\n", tstate_names[t->state], g[i].v);
        }
        fputs("# HELP dlt_test_latency_ms Latency quantiles of the active test, merged over "
              "all drivers (ms).\n# TYPE dlt_test_latency_ms gauge\n",
              f);
        const struct {
            const char *q;
            double v;
        } qs[] = {{"0", st.lat.min},    {"0.5", st.lat.median}, {"0.9", st.lat.p90},
                  {"0.95", st.lat.p95}, {"0.99", st.lat.p99},   {"0.999", st.lat.p999},
                  {"1", st.lat.max}};
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            fputs("dlt_test_latency_ms{test_id=\"", f);
            ctl_prom_label(f, t->id);
            fprintf(f, "\",quantile=\"%s\"} %.6g\n", qs[i].q, qs[i].v);
        }
        fputs("# HELP dlt_test_latency_mean_ms Mean latency of the active test (ms).\n"
              "# TYPE dlt_test_latency_mean_ms gauge\ndlt_test_latency_mean_ms{test_id=\"",
              f);
        ctl_prom_label(f, t->id);
        fprintf(f, "\"} %.6g\n", st.lat.mean);
    }
    fputs("# HELP dlt_kafka_messages_total Messages consumed, by topic.\n"
          "# TYPE dlt_kafka_messages_total counter\n",
          f);
    for (int i = 0; i < TP_OTHER; i++)
        fprintf(f, "dlt_kafka_messages_total{topic=\"%s\"} %lld\n", topic_names[i],
                (long long)c->msgs[i]);
    fputs("# HELP dlt_kafka_rejected_total Messages skipped because they failed validation.\n"
          "# TYPE dlt_kafka_rejected_total counter\n",
          f);
    for (int i = 0; i < TP_OTHER; i++)
        fprintf(f, "dlt_kafka_rejected_total{topic=\"%s\"} %lld\n", topic_names[i],
                (long long)c->rejected[i]);
    fprintf(f,
            "# HELP dlt_reports_duplicate_total Metrics reports seen before (by report_id).\n"
            "# TYPE dlt_reports_duplicate_total counter\ndlt_reports_duplicate_total %lld\n"
            "# HELP dlt_reports_stray_total Reports for no known test or from a non-participant.\n"
            "# TYPE dlt_reports_stray_total counter\ndlt_reports_stray_total %lld\n"
            "# HELP dlt_store_errors_total Metrics store operations that failed.\n"
            "# TYPE dlt_store_errors_total counter\ndlt_store_errors_total %lld\n"
            "# HELP dlt_kafka_delivery_failed_total Messages the orchestrator could not deliver.\n"
            "# TYPE dlt_kafka_delivery_failed_total counter\n"
            "dlt_kafka_delivery_failed_total %lld\n"
            "# HELP dlt_event_streams Open /api/events streams.\n"
            "# TYPE dlt_event_streams gauge\ndlt_event_streams %d\n"
            "# HELP dlt_registry_evicted_total Never-heartbeated drivers dropped to make room.\n"
            "# TYPE dlt_registry_evicted_total counter\ndlt_registry_evicted_total %lld\n",
            (long long)c->dup_reports, (long long)c->stray_reports, (long long)c->db_errors,
            (long long)bus_producer_failed(c->prod), sse_hub_clients(c->hub),
            (long long)registry_evicted(c->reg));
    pthread_mutex_unlock(&c->mu);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    *text = buf;
    return 200;
}
