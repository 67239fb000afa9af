/* aggregate: merged percentiles equal those of one histogram holding every
 * driver's samples (never averaged percentiles); counts, error kinds and
 * status codes add up; reports apply in seq order only (older, duplicate
 * and post-final ones are ignored); an original-format report (no seq, no
 * histogram) counts the test's message count, makes the aggregate
 * approximate with exact min/max and a count-weighted mean; a corrupt
 * histogram is left out with a warning. Per request name (by_request):
 * the latest report's figures replace the previous ones, merged
 * percentiles are the union's, checks add up, a name the test does not
 * have is a stray, a bad histogram keeps the counts. */
#define _POSIX_C_SOURCE 200809L
#include "aggregate.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* An extended report of cumulative state: h encoded, counts given. */
static void make_report(struct msg_metrics *m, const char *node, int64_t seq, int final,
                        const struct hist *h, int64_t sent, int64_t errors)
{
    memset(m, 0, sizeof *m);
    snprintf(m->node_id, sizeof m->node_id, "%s", node);
    snprintf(m->test_id, sizeof m->test_id, "t-1");
    snprintf(m->report_id, sizeof m->report_id, "r-%s-%lld", node, (long long)seq);
    m->has_ext = 1;
    m->seq = seq;
    m->final = final;
    m->requests_sent = sent;
    m->responses_received = hist_count(h);
    m->errors = errors;
    m->err_timeout = errors;
    m->n_status = 2;
    m->status[0].code = 200;
    m->status[0].count = hist_count(h) - errors;
    m->status[1].code = 504;
    m->status[1].count = errors;
    m->elapsed_ms = 1000 * (seq + 1);
    m->first_send_ms = 1700000000000 + seq;
    assert_int_equal(hist_encode(h, &m->histogram), 0);
    m->lat.median = (double)hist_percentile(h, 50) / 1000.0;
}

static void test_merge_is_union(void **state)
{
    (void)state;
    struct agg_scratch s;
    assert_int_equal(agg_scratch_init(&s), 0);
    struct hist *h1, *h2, *all;
    assert_int_equal(hist_create(&h1), 0);
    assert_int_equal(hist_create(&h2), 0);
    assert_int_equal(hist_create(&all), 0);
    /* Two very different drivers: the mean of their medians is nowhere
     * near the median of the union. */
    for (int i = 0; i < 20000; i++) {
        int64_t v1 = 800 + (int64_t)(rng() % 400);
        int64_t v2 = 40000 + (int64_t)(rng() % 20000);
        hist_record(h1, v1);
        hist_record(all, v1);
        if (i < 5000) {
            hist_record(h2, v2);
            hist_record(all, v2);
        }
    }
    struct agg_driver d1, d2;
    agg_driver_init(&d1, "d-1");
    agg_driver_init(&d2, "d-2");
    struct msg_metrics m;
    struct series_point pt;
    char warn[128];
    make_report(&m, "d-1", 0, 1, h1, 20000, 0);
    assert_int_equal(agg_driver_apply(&d1, &m, 20000, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_string_equal(warn, "");
    msg_metrics_free(&m);
    make_report(&m, "d-2", 0, 1, h2, 5007, 7);
    assert_int_equal(agg_driver_apply(&d2, &m, 20000, 0, 0, &s, &pt, warn, sizeof warn), 1);
    msg_metrics_free(&m);

    struct agg_driver *ds[] = {&d1, &d2};
    struct agg_stats st;
    int approx = -1;
    agg_merge(ds, 2, &s, &st, &approx);
    assert_int_equal(approx, 0);
    assert_int_equal(st.requests_sent, 25007);
    assert_int_equal(st.responses_received, 25000);
    assert_int_equal(st.errors, 7);
    assert_int_equal(st.err_timeout, 7);
    assert_int_equal(st.status[200], 25000 - 7);
    assert_int_equal(st.status[504], 7);
    assert_int_equal(st.elapsed_ms, 1000);
    const double ps[] = {50, 90, 95, 99, 99.9};
    const double got[] = {st.lat.median, st.lat.p90, st.lat.p95, st.lat.p99, st.lat.p999};
    for (int i = 0; i < 5; i++)
        assert_true(got[i] == (double)hist_percentile(all, ps[i]) / 1000.0);
    assert_true(st.lat.min == (double)hist_min(all) / 1000.0);
    assert_true(st.lat.max == (double)hist_max(all) / 1000.0);
    assert_true(fabs(st.lat.mean - hist_mean(all) / 1000.0) < 1e-9);
    assert_true(st.lat.mode == (double)hist_mode(all) / 1000.0);
    /* Averaging the medians would give about 25 ms; the union's is ~1 ms. */
    assert_true(st.lat.median < 1.3);

    /* The merged histogram for the time series is the same union. */
    struct hist *merged;
    assert_int_equal(hist_create(&merged), 0);
    agg_merge_hist(ds, 2, s.c, merged);
    assert_int_equal(hist_count(merged), hist_count(all));
    assert_int_equal(hist_percentile(merged, 99), hist_percentile(all, 99));

    cJSON *j = agg_stats_to_json(&st);
    assert_non_null(j);
    cJSON *lat = cJSON_GetObjectItemCaseSensitive(j, "latency_ms");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(lat, "p999"));
    cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "status_codes");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(sc, "504")->valuedouble, 7);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "service_ms")));
    cJSON_Delete(j);

    hist_destroy(merged);
    agg_driver_close(&d1);
    agg_driver_close(&d2);
    hist_destroy(h1);
    hist_destroy(h2);
    hist_destroy(all);
    agg_scratch_close(&s);
}

static void test_seq_order(void **state)
{
    (void)state;
    struct agg_scratch s;
    assert_int_equal(agg_scratch_init(&s), 0);
    struct hist *h;
    assert_int_equal(hist_create(&h), 0);
    struct agg_driver d;
    agg_driver_init(&d, "d-1");
    struct msg_metrics m;
    struct series_point pt;
    char warn[128];

    hist_record_n(h, 1000, 100);
    make_report(&m, "d-1", 0, 0, h, 100, 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_int_equal(pt.responses_received, 100);
    msg_metrics_free(&m);

    hist_record_n(h, 3000, 100);
    make_report(&m, "d-1", 2, 0, h, 200, 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 1);
    /* The point is the interval: 100 samples at 3 ms (to the precision of
     * a bucket), while the cumulative median is 1 ms. */
    assert_true(pt.p50 >= 3.0 && pt.p50 < 3.0 + (double)hist_bucket_width(3000) / 1000.0);
    assert_true(hist_percentile(h, 50) == 1000);
    msg_metrics_free(&m);

    /* An older report, and the same one again: no effect. */
    make_report(&m, "d-1", 1, 0, h, 150, 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 0);
    msg_metrics_free(&m);
    make_report(&m, "d-1", 2, 0, h, 200, 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 0);
    msg_metrics_free(&m);
    assert_int_equal(d.requests_sent, 200);

    /* A heartbeat's newer count shows at once; a report then catches up. */
    agg_driver_heartbeat(&d, 260, 5);
    struct agg_stats st;
    agg_driver_stats(&d, &st);
    assert_int_equal(st.requests_sent, 260);
    assert_int_equal(st.updated_ms, 5);

    hist_record_n(h, 1000, 100);
    make_report(&m, "d-1", 3, 1, h, 300, 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 1);
    msg_metrics_free(&m);
    assert_true(d.final);
    /* Nothing after the final report. */
    hist_record_n(h, 1000, 100);
    make_report(&m, "d-1", 4, 1, h, 400, 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 0);
    msg_metrics_free(&m);
    agg_driver_stats(&d, &st);
    assert_int_equal(st.requests_sent, 300);
    assert_int_equal(st.responses_received, 300);
    agg_driver_close(&d);
    hist_destroy(h);
    agg_scratch_close(&s);
}

static void test_original_format(void **state)
{
    (void)state;
    struct agg_scratch s;
    assert_int_equal(agg_scratch_init(&s), 0);
    struct hist *h;
    assert_int_equal(hist_create(&h), 0);
    hist_record_n(h, 2000, 300); /* 2 ms */
    struct agg_driver d1, d2;
    agg_driver_init(&d1, "d-new");
    agg_driver_init(&d2, "d-orig");
    struct msg_metrics m;
    struct series_point pt;
    char warn[128];
    make_report(&m, "d-new", 0, 1, h, 300, 0);
    assert_int_equal(agg_driver_apply(&d1, &m, 300, 0, 0, &s, &pt, warn, sizeof warn), 1);
    msg_metrics_free(&m);

    /* The original format: four figures, nothing else. */
    memset(&m, 0, sizeof m);
    snprintf(m.node_id, sizeof m.node_id, "d-orig");
    snprintf(m.test_id, sizeof m.test_id, "t-1");
    snprintf(m.report_id, sizeof m.report_id, "r-o");
    m.final = 1;
    m.lat.min = 5.0;
    m.lat.median = 10.0;
    m.lat.mean = 11.0;
    m.lat.max = 40.0;
    assert_int_equal(agg_driver_apply(&d2, &m, 300, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_int_equal(d2.requests_sent, 300);
    assert_int_equal(d2.responses_received, 300);
    assert_true(d2.final);
    assert_true(agg_driver_approximate(&d2));
    assert_true(pt.has_lat && pt.p50 == 10.0);

    struct agg_driver *ds[] = {&d1, &d2};
    struct agg_stats st;
    int approx = 0;
    agg_merge(ds, 2, &s, &st, &approx);
    assert_int_equal(approx, 1);
    assert_int_equal(st.requests_sent, 600);
    assert_int_equal(st.responses_received, 600);
    assert_true(st.lat.min == 2.0);
    assert_true(st.lat.max == 40.0);
    assert_true(fabs(st.lat.mean - (2.0 * 300 + 11.0 * 300) / 600) < 1e-9);
    /* Half the samples at 2 ms, half spread from 5 to 40 ms around 10. */
    assert_true(st.lat.median >= 2.0 && st.lat.median <= 5.1);
    assert_true(st.lat.p90 > 10.0 && st.lat.p90 < 40.0);

    /* The synthesised histogram holds the count and follows the figures. */
    agg_synth_hist(&d2.lat, 1000001, s.d);
    assert_int_equal(hist_count(s.d), 1000001);
    int64_t med = hist_percentile(s.d, 50);
    assert_true(med > 9900 && med < 10100);
    agg_driver_close(&d1);
    agg_driver_close(&d2);
    hist_destroy(h);
    agg_scratch_close(&s);
}

static void test_bad_histogram(void **state)
{
    (void)state;
    struct agg_scratch s;
    assert_int_equal(agg_scratch_init(&s), 0);
    struct agg_driver d;
    agg_driver_init(&d, "d-1");
    struct hist *h;
    assert_int_equal(hist_create(&h), 0);
    hist_record_n(h, 1000, 10);
    struct msg_metrics m;
    make_report(&m, "d-1", 0, 1, h, 10, 0);
    free(m.histogram);
    m.histogram = strdup("!!!not base64!!!");
    m.lat.min = m.lat.median = m.lat.mean = m.lat.max = 1.0;
    struct series_point pt;
    char warn[128];
    assert_int_equal(agg_driver_apply(&d, &m, 10, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_true(strstr(warn, "histogram") != NULL);
    assert_null(d.hist);
    assert_true(agg_driver_approximate(&d));
    msg_metrics_free(&m);
    agg_driver_close(&d);
    hist_destroy(h);
    agg_scratch_close(&s);
}

/* make_report, with min, mean and max as one would send them. */
static void make_full_report(struct msg_metrics *m, int64_t seq, const struct hist *h, int64_t sent)
{
    make_report(m, "d-1", seq, 0, h, sent, 0);
    m->lat.min = (double)hist_min(h) / 1000.0;
    m->lat.max = (double)hist_max(h) / 1000.0;
    m->lat.mean = hist_mean(h) / 1000.0;
}

/* Reports are believed only within what the test allows. */
static void test_report_check(void **state)
{
    (void)state;
    struct agg_scratch s;
    assert_int_equal(agg_scratch_init(&s), 0);
    struct hist *h;
    assert_int_equal(hist_create(&h), 0);
    struct agg_driver d;
    agg_driver_init(&d, "d-1");
    struct msg_metrics m;
    struct series_point pt;
    char why[256], warn[128];

    hist_record_n(h, 1000, 100);
    make_full_report(&m, 0, h, 100);
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 1);
    msg_metrics_free(&m);

    make_full_report(&m, 1, h, 1000000000000LL); /* past the count */
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), -1);
    assert_non_null(strstr(why, "message_count_per_driver"));
    msg_metrics_free(&m);
    make_full_report(&m, 1, h, 50); /* fewer sent than answered, and back */
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), -1);
    msg_metrics_free(&m);
    make_full_report(&m, 11, h, 100); /* further ahead than time allows */
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), -1);
    assert_non_null(strstr(why, "seq"));
    msg_metrics_free(&m);
    make_full_report(&m, 1, h, 100);
    m.lat.mean = m.lat.min / 2; /* a mean below the min */
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), -1);
    assert_non_null(strstr(why, "latency"));
    msg_metrics_free(&m);
    /* An older report than the newest applied is no contradiction (a
     * replay); a newer one with lower cumulative counts is. */
    hist_record_n(h, 1000, 100);
    make_full_report(&m, 2, h, 200);
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), 0);
    assert_int_equal(agg_driver_apply(&d, &m, 1000, 0, 0, &s, &pt, warn, sizeof warn), 1);
    msg_metrics_free(&m);
    hist_reset(h);
    hist_record_n(h, 1000, 100);
    make_full_report(&m, 0, h, 100);
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), 0);
    msg_metrics_free(&m);
    make_full_report(&m, 3, h, 100);
    assert_int_equal(agg_report_check(&d, &m, 1000, 10, why, sizeof why), -1);
    assert_non_null(strstr(why, "cumulative"));
    msg_metrics_free(&m);
    agg_driver_close(&d);
    hist_destroy(h);
    agg_scratch_close(&s);
}

/* by_request of two names (a, b) with the given histograms, plus a stray. */
static void add_by_request(struct msg_metrics *m, const struct hist *ha, const struct hist *hb,
                           int64_t passed, int64_t failed, const char *stray)
{
    int n = stray ? 3 : 2;
    m->by_request = calloc((size_t)n, sizeof *m->by_request);
    assert_non_null(m->by_request);
    m->n_by_request = n;
    const struct hist *hs[] = {ha, hb, ha};
    const char *names[] = {"b", "a", stray};
    for (int i = 0; i < n; i++) {
        struct msg_req_stats *r = &m->by_request[i];
        snprintf(r->name, sizeof r->name, "%s", names[i]);
        const struct hist *h = strcmp(names[i], "a") == 0 ? hs[0] : hs[1];
        r->sent = r->responses = hist_count(h);
        r->checks_passed = passed;
        r->checks_failed = failed;
        r->failed_json = failed;
        assert_int_equal(hist_encode(h, &r->histogram), 0);
    }
    m->has_checks = 1;
    m->checks_passed = 2 * passed;
    m->checks_failed = 2 * failed;
}

static void test_by_request(void **state)
{
    (void)state;
    struct agg_scratch s;
    assert_int_equal(agg_scratch_init(&s), 0);
    struct hist *a1, *a2, *b1, *b2, *a_all, *old;
    assert_int_equal(hist_create(&a1) | hist_create(&a2) | hist_create(&b1) | hist_create(&b2) |
                         hist_create(&a_all) | hist_create(&old),
                     0);
    for (int i = 0; i < 3000; i++) {
        int64_t v1 = 500 + (int64_t)(rng() % 300), v2 = 9000 + (int64_t)(rng() % 9000);
        hist_record(a1, v1);
        hist_record(a2, v2);
        hist_record(a_all, v1);
        hist_record(a_all, v2);
        hist_record(b1, 100000 + i);
        if (i < 100)
            hist_record(b2, 200);
        if (i < 10)
            hist_record(old, 5);
    }
    struct msg_request reqs[2];
    memset(reqs, 0, sizeof reqs);
    snprintf(reqs[0].name, sizeof reqs[0].name, "a");
    snprintf(reqs[1].name, sizeof reqs[1].name, "b");
    struct agg_driver d1, d2;
    agg_driver_init(&d1, "d-1");
    agg_driver_init(&d2, "d-2");
    struct msg_metrics m;
    struct series_point pt;
    char warn[160], stray[MSG_REQ_NAME_MAX];
    int strays = -1;
    /* d-1: an early report, then the later one that replaces it. */
    make_report(&m, "d-1", 0, 0, old, 20, 0);
    add_by_request(&m, old, old, 1, 1, NULL);
    assert_int_equal(agg_driver_apply(&d1, &m, 0, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_int_equal(agg_driver_apply_req(&d1, &m, reqs, 2, s.d, &strays, stray, sizeof stray, warn,
                                          sizeof warn),
                     0);
    assert_int_equal(strays, 0);
    msg_metrics_free(&m);
    make_report(&m, "d-1", 1, 1, a1, 6000, 0);
    add_by_request(&m, a1, b1, 2900, 100, "ghost");
    assert_int_equal(agg_driver_apply(&d1, &m, 0, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_int_equal(agg_driver_apply_req(&d1, &m, reqs, 2, s.d, &strays, stray, sizeof stray, warn,
                                          sizeof warn),
                     0);
    assert_int_equal(strays, 1);
    assert_string_equal(stray, "ghost");
    assert_string_equal(warn, "");
    msg_metrics_free(&m);
    /* An older report that comes late changes nothing. */
    make_report(&m, "d-2", 0, 1, a2, 3100, 0);
    add_by_request(&m, a2, b2, 3000, 0, NULL);
    assert_int_equal(agg_driver_apply(&d2, &m, 0, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_int_equal(agg_driver_apply_req(&d2, &m, reqs, 2, s.d, &strays, NULL, 0, NULL, 0), 0);
    msg_metrics_free(&m);
    make_report(&m, "d-2", 0, 0, old, 20, 0);
    add_by_request(&m, old, old, 1, 1, NULL);
    assert_int_equal(agg_driver_apply(&d2, &m, 0, 0, 0, &s, &pt, warn, sizeof warn), 0);
    msg_metrics_free(&m);

    struct agg_driver *ds[] = {&d1, &d2};
    struct agg_req_stats r;
    struct hist *merged;
    assert_int_equal(hist_create(&merged), 0);
    agg_merge_req(ds, 2, 0, 2000, merged, s.c, &r);
    assert_int_equal(r.sent, 6000);
    assert_int_equal(r.responses, 6000);
    assert_int_equal(r.checks_passed, 5900);
    assert_int_equal(r.checks_failed, 100);
    assert_int_equal(r.failed_json, 100);
    assert_true(fabs(r.rps - 3000.0) < 1e-9);
    const double ps[] = {50, 90, 95, 99, 99.9};
    const double got[] = {r.lat.median, r.lat.p90, r.lat.p95, r.lat.p99, r.lat.p999};
    for (int i = 0; i < 5; i++)
        assert_true(got[i] == (double)hist_percentile(a_all, ps[i]) / 1000.0);
    assert_true(r.lat.min == (double)hist_min(a_all) / 1000.0);
    assert_true(r.lat.max == (double)hist_max(a_all) / 1000.0);
    /* One driver's own: from the latest report, the early one replaced. */
    agg_merge_req(ds, 1, 0, 2000, merged, s.c, &r);
    assert_int_equal(r.sent, 3000);
    assert_true(r.lat.p99 == (double)hist_percentile(a1, 99) / 1000.0);
    assert_true(r.lat.min == (double)hist_min(a1) / 1000.0);
    assert_true(r.lat.max == (double)hist_max(a1) / 1000.0);
    agg_merge_req(ds, 2, 1, 2000, merged, s.c, &r);
    assert_int_equal(r.sent, 3100);
    assert_true(r.lat.min == 0.2 && r.lat.max == (100000 + 2999) / 1000.0);

    /* The fleet's checks: the sum of the latest reports. */
    struct agg_stats st;
    int approx;
    agg_merge(ds, 2, &s, &st, &approx);
    assert_int_equal(st.has_checks, 1);
    assert_int_equal(st.checks_passed, 2 * 2900 + 2 * 3000);
    assert_int_equal(st.checks_failed, 2 * 100);

    /* The JSON object: both names in the test's order, the stray absent. */
    cJSON *j = agg_by_request_json(ds, 2, reqs, 2, 2000, merged, s.c);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    assert_string_equal(j->child->string, "a");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "ghost"));
    cJSON *ja = cJSON_GetObjectItemCaseSensitive(j, "a");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(ja, "checks_failed")->valuedouble, 100);
    cJSON *fb = cJSON_GetObjectItemCaseSensitive(ja, "checks_failed_by");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(fb, "json")->valuedouble, 100);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(ja, "latency_ms"));
    cJSON_Delete(j);

    /* A histogram that does not decode: counts kept, latencies left out. */
    struct agg_driver d3;
    agg_driver_init(&d3, "d-3");
    make_report(&m, "d-3", 0, 1, a1, 3000, 0);
    add_by_request(&m, a1, b1, 1, 0, NULL);
    free(m.by_request[1].histogram);
    m.by_request[1].histogram = strdup("!!not base64!!");
    assert_int_equal(agg_driver_apply(&d3, &m, 0, 0, 0, &s, &pt, warn, sizeof warn), 1);
    assert_int_equal(
        agg_driver_apply_req(&d3, &m, reqs, 2, s.d, &strays, NULL, 0, warn, sizeof warn), 0);
    assert_non_null(strstr(warn, "by_request \"a\" histogram"));
    msg_metrics_free(&m);
    struct agg_driver *one = &d3;
    agg_merge_req(&one, 1, 0, 1000, merged, s.c, &r);
    assert_int_equal(r.sent, 3000);
    assert_true(r.lat.max == 0);
    /* A test without requests keeps nothing. */
    struct agg_driver d4;
    agg_driver_init(&d4, "d-4");
    make_report(&m, "d-4", 0, 1, a1, 3000, 0);
    add_by_request(&m, a1, b1, 1, 0, NULL);
    assert_int_equal(agg_driver_apply_req(&d4, &m, NULL, 0, s.d, &strays, NULL, 0, NULL, 0), 0);
    assert_int_equal(strays, 2);
    assert_null(d4.req);
    msg_metrics_free(&m);

    agg_driver_close(&d1);
    agg_driver_close(&d2);
    agg_driver_close(&d3);
    agg_driver_close(&d4);
    hist_destroy(merged);
    hist_destroy(a1);
    hist_destroy(a2);
    hist_destroy(b1);
    hist_destroy(b2);
    hist_destroy(a_all);
    hist_destroy(old);
    agg_scratch_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_is_union),  cmocka_unit_test(test_seq_order),
        cmocka_unit_test(test_original_format), cmocka_unit_test(test_bad_histogram),
        cmocka_unit_test(test_report_check),    cmocka_unit_test(test_by_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
