/* metrics: counters, snapshot, format choice, JSON and Prometheus text. */
#include "metrics.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_snapshot(void **state)
{
    (void)state;
    struct metrics m;
    metrics_init(&m, 1000000);
    for (int i = 0; i < 7; i++)
        metrics_add(&m.requests);
    for (int i = 0; i < 4; i++)
        metrics_add(&m.responses);
    metrics_add(&m.errors);
    metrics_add(&m.aborted);
    metrics_add(&m.rejected);
    metrics_add(&m.rejected);
    atomic_fetch_add(&m.connections, 3);
    struct metrics_snapshot s;
    metrics_snapshot(&m, 3500000, &s);
    assert_int_equal(s.requests, 7);
    assert_int_equal(s.responses, 4);
    assert_int_equal(s.in_flight, 2); /* 7 - 4 - 1 aborted */
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.aborted, 1);
    assert_int_equal(s.rejected, 2);
    assert_int_equal(s.connections, 3);
    assert_true(s.uptime_s > 2.4999 && s.uptime_s < 2.5001);

    /* Never negative, even if a reader catches counters mid-update. */
    metrics_init(&m, 0);
    metrics_add(&m.responses);
    metrics_snapshot(&m, 0, &s);
    assert_int_equal(s.in_flight, 0);
}

static void test_pick_format(void **state)
{
    (void)state;
    assert_int_equal(metrics_pick_format(NULL, NULL), METRICS_JSON);
    assert_int_equal(metrics_pick_format("json", "text/plain"), METRICS_JSON);
    assert_int_equal(metrics_pick_format("prometheus", NULL), METRICS_PROMETHEUS);
    assert_int_equal(metrics_pick_format("Prometheus", "application/json"), METRICS_PROMETHEUS);
    assert_int_equal(metrics_pick_format("xml", NULL), METRICS_BAD_FORMAT);
    assert_int_equal(metrics_pick_format("", NULL), METRICS_BAD_FORMAT);
    assert_int_equal(metrics_pick_format(NULL, "text/plain"), METRICS_PROMETHEUS);
    assert_int_equal(metrics_pick_format(NULL, "Text/Plain; version=0.0.4"), METRICS_PROMETHEUS);
    /* What Prometheus itself sends. */
    assert_int_equal(metrics_pick_format(NULL, "application/openmetrics-text;version=1.0.0,"
                                               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                     METRICS_PROMETHEUS);
    assert_int_equal(metrics_pick_format(NULL, "application/json, text/plain"), METRICS_JSON);
    assert_int_equal(metrics_pick_format(NULL, "*/*"), METRICS_JSON);
}

static struct metrics_snapshot sample(void)
{
    struct metrics_snapshot s = {.requests = 12345678901ULL,
                                 .responses = 12345678900ULL,
                                 .in_flight = 1,
                                 .errors = 17,
                                 .aborted = 0,
                                 .rejected = 3,
                                 .connections = 64,
                                 .uptime_s = 12.5};
    return s;
}

static void test_json(void **state)
{
    (void)state;
    struct metrics_snapshot s = sample();
    char buf[METRICS_TEXT_MAX];
    int n = metrics_json(&s, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n == strlen(buf));
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_true(cJSON_GetObjectItem(j, "total_requests")->valuedouble == 12345678901.0);
    assert_true(cJSON_GetObjectItem(j, "total_responses")->valuedouble == 12345678900.0);
    assert_int_equal(cJSON_GetObjectItem(j, "in_flight")->valueint, 1);
    assert_true(cJSON_GetObjectItem(j, "uptime_s")->valuedouble == 12.5);
    assert_int_equal(cJSON_GetObjectItem(j, "total_errors")->valueint, 17);
    assert_int_equal(cJSON_GetObjectItem(j, "connections")->valueint, 64);
    cJSON_Delete(j);
    char small[16];
    assert_int_equal(metrics_json(&s, small, sizeof small), -1);
}

static void test_prometheus(void **state)
{
    (void)state;
    struct metrics_snapshot s = sample();
    char buf[METRICS_TEXT_MAX];
    int n = metrics_prometheus(&s, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n == strlen(buf));
    assert_non_null(strstr(buf, "\ndlt_target_requests_total 12345678901\n"));
    assert_non_null(strstr(buf, "\ndlt_target_responses_total 12345678900\n"));
    assert_non_null(strstr(buf, "\ndlt_target_in_flight 1\n"));
    assert_non_null(strstr(buf, "# TYPE dlt_target_in_flight gauge\n"));
    assert_non_null(strstr(buf, "# TYPE dlt_target_requests_total counter\n"));
    assert_non_null(strstr(buf, "\ndlt_target_uptime_seconds 12.500\n"));
    assert_int_equal(buf[n - 1], '\n');
    /* Every sample line is "name value", and every name has HELP and TYPE. */
    int samples = 0;
    for (const char *line = buf; *line;) {
        const char *eol = strchr(line, '\n');
        assert_non_null(eol);
        if (line[0] != '#') {
            const char *sp = memchr(line, ' ', (size_t)(eol - line));
            assert_non_null(sp);
            char want[160];
            snprintf(want, sizeof want, "# HELP %.*s ", (int)(sp - line), line);
            assert_non_null(strstr(buf, want));
            snprintf(want, sizeof want, "# TYPE %.*s ", (int)(sp - line), line);
            assert_non_null(strstr(buf, want));
            samples++;
        }
        line = eol + 1;
    }
    assert_int_equal(samples, 8);
    char small[64];
    assert_int_equal(metrics_prometheus(&s, small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_pick_format),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_prometheus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
