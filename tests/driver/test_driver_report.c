/* report and dstore: metrics built from a snapshot, and the driver's store. */
#define _POSIX_C_SOURCE 200809L
#include "dstore.h"
#include "hist.h"
#include "report.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_report(void **state)
{
    (void)state;
    struct hist *lat, *svc, *back;
    assert_int_equal(hist_create(&lat), 0);
    assert_int_equal(hist_create(&svc), 0);
    assert_int_equal(hist_create(&back), 0);
    for (int i = 1; i <= 100; i++) {
        hist_record(lat, 20000 + i); /* 20.001 .. 20.100 ms */
        hist_record(svc, 1000);
    }
    struct engine_stats st = {0};
    st.sent = 120;
    st.completed = 110;
    st.responses = 100;
    st.kinds[PLAN_ERR_CONNECT] = 3;
    st.kinds[PLAN_ERR_TIMEOUT] = 7;
    st.kinds[PLAN_ERR_5XX] = 10;
    st.status[200] = 90;
    st.status[503] = 10;
    st.late = 4;
    struct report_in in = {.node_id = "d-1",
                           .test_id = "t-1",
                           .seq = 3,
                           .final = 0,
                           .st = &st,
                           .lat = lat,
                           .svc = svc,
                           .elapsed_ms = 1500,
                           .first_send_ms = 1732425601000LL};
    struct msg_metrics m, m2;
    assert_int_equal(report_build(&in, &m), 0);
    assert_string_equal(m.node_id, "d-1");
    assert_string_equal(m.test_id, "t-1");
    assert_true(strlen(m.report_id) > 0);
    assert_int_equal(m.has_ext, 1);
    assert_int_equal(m.seq, 3);
    assert_int_equal(m.requests_sent, 120);
    assert_int_equal(m.responses_received, 100); /* with an HTTP status */
    assert_int_equal(m.errors, 20); /* 3 + 7 + 10: every kind */
    assert_int_equal(m.err_5xx, 10);
    assert_int_equal(m.n_status, 2);
    assert_int_equal(m.status[0].code, 200);
    assert_int_equal(m.status[0].count, 90);
    assert_int_equal(m.status[1].code, 503);
    assert_int_equal(m.late, 4);
    assert_int_equal(m.elapsed_ms, 1500);
    /* Milliseconds, from the histogram. */
    assert_true(m.lat.min > 20.0 && m.lat.min < 20.01);
    assert_true(m.lat.median > 20.04 && m.lat.median < 20.07);
    assert_true(m.lat.max > 20.09 && m.lat.max < 20.11);
    assert_true(m.lat.p99 >= m.lat.p95 && m.lat.p95 >= m.lat.p90 && m.lat.p90 >= m.lat.median);
    assert_true(m.lat.mean > 20.04 && m.lat.mean < 20.06);
    assert_int_equal(m.has_service, 1);
    assert_true(m.service.median > 0.99 && m.service.median < 1.01);
    /* The histogram travels and decodes back to the same samples. */
    char err[256];
    assert_non_null(m.histogram);
    assert_int_equal(hist_decode(back, m.histogram, strlen(m.histogram), err, sizeof err), 0);
    assert_int_equal(hist_count(back), 100);
    assert_int_equal(hist_min(back), 20001);
    assert_int_equal(hist_max(back), 20100);
    /* The encoded message decodes with the project's decoder. */
    char *json = msg_metrics_encode(&m);
    assert_non_null(json);
    assert_int_equal(msg_metrics_decode(json, strlen(json), &m2, err, sizeof err), 0);
    assert_int_equal(m2.errors, 20);
    assert_int_equal(m2.first_send_ms, 1732425601000LL);
    /* Report ids are unique. */
    struct msg_metrics m3;
    assert_int_equal(report_build(&in, &m3), 0);
    assert_string_not_equal(m.report_id, m3.report_id);
    msg_metrics_free(&m3);
    msg_metrics_free(&m2);
    free(json);
    msg_metrics_free(&m);

    /* A refusal: zero counts, a reason, empty histograms. */
    hist_reset(lat);
    hist_reset(svc);
    struct report_in ref = {.node_id = "d-1",
                            .test_id = "t-2",
                            .final = 1,
                            .lat = lat,
                            .svc = svc,
                            .failure = "busy: running test t-1"};
    assert_int_equal(report_build(&ref, &m), 0);
    assert_int_equal(m.final, 1);
    assert_int_equal(m.requests_sent, 0);
    assert_int_equal(m.errors, 0);
    assert_string_equal(m.failure, "busy: running test t-1");
    assert_true(m.lat.median == 0 && m.lat.max == 0);
    msg_metrics_free(&m);
    hist_destroy(lat);
    hist_destroy(svc);
    hist_destroy(back);
}

static void test_dstore(void **state)
{
    (void)state;
    char path[] = "/tmp/test_driver_dstore_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[256];
    struct dstore *s = NULL;
    assert_int_equal(dstore_open(path, &s, err, sizeof err), 0);
    struct msg_metrics m = {0};
    snprintf(m.node_id, sizeof m.node_id, "d-1");
    snprintf(m.test_id, sizeof m.test_id, "t-1");
    m.requests_sent = 10;
    struct dstore_test t = {.test_type = "TSUNAMI", .target_url = "http://x/", .ended_ms = 5};
    assert_int_equal(dstore_save(s, &t, &m, "{\"a\":1}", err, sizeof err), 0);
    /* The same (test, node) replaces; another test adds a row. */
    m.requests_sent = 11;
    assert_int_equal(dstore_save(s, &t, &m, "{\"a\":2}", err, sizeof err), 0);
    snprintf(m.test_id, sizeof m.test_id, "t-2");
    assert_int_equal(dstore_save(s, &t, &m, "{\"a\":3}", err, sizeof err), 0);
    assert_int_equal(dstore_count(s), 2);
    dstore_close(s);
    /* It survives a reopen. */
    assert_int_equal(dstore_open(path, &s, err, sizeof err), 0);
    assert_int_equal(dstore_count(s), 2);
    dstore_close(s);
    dstore_close(NULL);
    /* A path that cannot be opened fails with a reason. */
    err[0] = '\0';
    assert_int_equal(dstore_open("/nonexistent-dir/x/y.db", &s, err, sizeof err), -1);
    assert_null(s);
    assert_true(strlen(err) > 0);
    char side[300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_dstore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
