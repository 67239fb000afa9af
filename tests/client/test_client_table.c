/* table: column widths, alignment, rules, no trailing spaces; view: the
 * summary table and the progress formats built from an API test object. */
#define _POSIX_C_SOURCE 200809L
#include "stats.h"
#include "table.h"
#include "view.h"
#include "watch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *capture_table(const struct table *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(table_print(t, f), 0);
    fclose(f);
    return buf;
}

static void test_layout(void **state)
{
    (void)state;
    const char *head[] = {"driver", "sent", "p99"};
    struct table *t = table_create(3, head);
    assert_non_null(t);
    table_align_right(t, 1);
    table_align_right(t, 2);
    table_align_right(t, 7); /* out of range: ignored */
    const char *r1[] = {"d-1", "1000", "4.50"};
    const char *r2[] = {"driver-long", "5", "123.4"};
    const char *agg[] = {"all", "1005", NULL};
    assert_int_equal(table_add(t, r1), 0);
    assert_int_equal(table_add(t, r2), 0);
    table_rule(t);
    assert_int_equal(table_add(t, agg), 0);
    char *out = capture_table(t);
    assert_string_equal(out, "driver       sent    p99\n"
                             "-----------  ----  -----\n"
                             "d-1          1000   4.50\n"
                             "driver-long     5  123.4\n"
                             "-----------  ----  -----\n"
                             "all          1005\n");
    free(out);
    table_destroy(t);
    table_destroy(NULL);
    assert_null(table_create(0, head));
    assert_null(table_create(TABLE_MAX_COLS + 1, head));
}

static void test_left_last_column_has_no_trailing_space(void **state)
{
    (void)state;
    const char *head[] = {"a", "b"};
    struct table *t = table_create(2, head);
    const char *r[] = {"x", "long value"};
    const char *r2[] = {"yyyy", "z"};
    table_add(t, r);
    table_add(t, r2);
    char *out = capture_table(t);
    assert_string_equal(out, "a     b\n"
                             "----  ----------\n"
                             "x     long value\n"
                             "yyyy  z\n");
    free(out);
    table_destroy(t);
}

#define DASH "\xe2\x80\x93" /* the en dash of an unknown figure */

static const char test_json[] =
    "{\"test_id\":\"t-1\",\"state\":\"COMPLETED\",\"reason\":\"\","
    "\"config\":{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":500},"
    "\"drivers\":[\"d-a\",\"d-b\"],"
    "\"aggregate\":{\"requests_sent\":1000,\"responses_received\":990,\"errors\":12,"
    "\"error_kinds\":{\"connect\":0,\"timeout\":10,\"http_4xx\":0,\"http_5xx\":2,\"other\":0},"
    "\"rps\":495.5,\"latency_ms\":{\"min\":0.5,\"mean\":2.25,\"median\":2,\"mode\":1.9,"
    "\"p90\":3,\"p95\":3.5,\"p99\":9.75,\"p999\":20,\"max\":1234.4}},"
    "\"per_driver\":[{\"node_id\":\"d-a\",\"liveness\":\"alive\",\"final\":true,"
    "\"requests_sent\":500,\"responses_received\":500,\"errors\":0,\"rps\":250,"
    "\"latency_ms\":{\"min\":0.5,\"p99\":5}},"
    "{\"node_id\":\"d-b\",\"liveness\":\"dead\",\"failure\":\"target refused\","
    "\"requests_sent\":\"500\",\"responses_received\":490,\"errors\":12}]}";

static void test_summary_view(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(test_json);
    assert_non_null(t);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(view_summary(t, f), 0);
    fclose(f);
    /* A row per driver, a rule, the aggregate row; latencies in ms. */
    assert_non_null(strstr(buf, "driver  sent  received  errors    rps   min  mean  median  mode   "
                                "p90   p99   max\n"));
    /* A figure the answer does not hold is unknown, never 0. */
    assert_non_null(strstr(buf, "\nd-a      500       500       0  250.0  0.50     " DASH
                                "       " DASH "     " DASH "     " DASH "  5.00     " DASH "\n"));
    assert_non_null(strstr(buf, "\nd-b      500       490      12      " DASH "     " DASH));
    assert_non_null(strstr(buf, "\nall     1000       990      12  495.5  0.50  2.25    2.00  "
                                "1.90  3.00  9.75  1234\n"));
    assert_non_null(strstr(buf, "  d-b: dead, target refused\n"));
    assert_non_null(strstr(buf, "Errors by kind: timeout 10 http_5xx 2\n"));
    assert_non_null(strstr(buf, "State: COMPLETED\n"));
    assert_null(strstr(buf, "Reason:"));
    free(buf);

    assert_int_equal(view_total_requests(t), 1000);
    struct stats s;
    stats_from_json(cJSON_GetObjectItem(t, "aggregate"), &s);
    assert_int_equal(stats_done(&s), 1000); /* 990 responses + 10 timeouts */

    char line[300];
    watch_format_line(t, 2.0, line, sizeof line);
    assert_string_equal(line, "t=2.0s state=COMPLETED done=1000/1000 (100.0%) rps=495.5 "
                              "p50=2.00ms p99=9.75ms errors=12");
    watch_format_bar(t, 2.0, 0, line, sizeof line);
    assert_string_equal(line, "COMPLETED [##############################] 100.0%  1000/1000  "
                              "496 req/s  p50 2.00ms  p99 9.75ms  errors 12  2.0s");
    /* On an 80-column terminal the bar narrows so that the line fits. */
    watch_format_bar(t, 2.0, 80, line, sizeof line);
    assert_true(strlen(line) <= 79);
    assert_string_equal(line, "COMPLETED [########] 100.0% 1000/1000 496 req/s p50 2.00ms "
                              "p99 9.75ms errors 12");
    /* Narrower still: no bar at all. */
    watch_format_bar(t, 2.0, 72, line, sizeof line);
    assert_string_equal(line, "COMPLETED 100.0% 1000/1000 496 req/s p50 2.00ms p99 9.75ms "
                              "errors 12");
    watch_format_bar(t, 2.0, 100, line, sizeof line);
    assert_int_equal(strlen(line), 99);
    cJSON_Delete(t);

    /* A document of another shape never crashes a view. */
    cJSON *odd = cJSON_Parse("{\"per_driver\":{\"x\":1},\"aggregate\":[1],\"state\":5}");
    f = open_memstream(&buf, &len);
    assert_int_equal(view_summary(odd, f), 0);
    assert_int_equal(view_status(odd, f), 0);
    assert_int_equal(view_list(odd, f), 0);
    assert_int_equal(view_drivers(odd, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "State: ?"));
    free(buf);
    watch_format_bar(odd, 0, 0, line, sizeof line);
    assert_int_equal(view_total_requests(odd), 0);
    cJSON_Delete(odd);
}

static void test_dash_takes_one_column(void **state)
{
    (void)state;
    const char *head[] = {"name", "p99", "x"};
    struct table *t = table_create(3, head);
    table_align_right(t, 1);
    const char *r1[] = {DASH, DASH, "y"};
    const char *r2[] = {"abc", "12.50", DASH};
    table_add(t, r1);
    table_add(t, r2);
    char *out = capture_table(t);
    assert_string_equal(out, "name    p99  x\n"
                             "----  -----  -\n" DASH "         " DASH "  y\n"
                             "abc   12.50  " DASH "\n");
    free(out);
    table_destroy(t);
}

/* A test of two drivers of the original format, as the orchestrator
 * reports it: what they never send is null. */
static const char original_json[] =
    "{\"test_id\":\"t-2\",\"state\":\"RUNNING\",\"reason\":\"\",\"created_ms\":1732425600000,"
    "\"config\":{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":100},"
    "\"drivers\":[\"d-a\",\"d-b\"],\"approximate\":true,\"start_skew_ms\":null,"
    "\"aggregate\":{\"requests_sent\":100,\"responses_received\":100,\"errors\":null,"
    "\"error_kinds\":null,\"status_codes\":null,\"late\":null,\"elapsed_ms\":null,"
    "\"rps\":null,\"latency_ms\":{\"min\":0.5,\"mean\":2.25,\"median\":2,\"mode\":null,"
    "\"p90\":null,\"p95\":null,\"p99\":null,\"p999\":null,\"max\":12}},"
    "\"per_driver\":[{\"node_id\":\"d-a\",\"liveness\":\"alive\",\"final\":true,"
    "\"requests_sent\":100,\"responses_received\":100,\"errors\":null,\"error_kinds\":null,"
    "\"elapsed_ms\":null,\"rps\":null,\"latency_ms\":{\"min\":0.5,\"mean\":2.25,"
    "\"median\":2,\"mode\":null,\"p90\":null,\"p95\":null,\"p99\":null,\"p999\":null,"
    "\"max\":12}},"
    "{\"node_id\":\"d-b\",\"liveness\":\"quiet\",\"final\":false,\"requests_sent\":0,"
    "\"responses_received\":0,\"errors\":null,\"error_kinds\":null,\"elapsed_ms\":null,"
    "\"rps\":null,\"latency_ms\":{\"min\":0,\"mean\":0,\"median\":0,\"mode\":null,"
    "\"p90\":null,\"p95\":null,\"p99\":null,\"p999\":null,\"max\":0}}]}";

static char *capture_view(int (*view)(const cJSON *, FILE *), const cJSON *doc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(view(doc, f), 0);
    fclose(f);
    return buf;
}

static void test_unknown_views(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(original_json);
    assert_non_null(t);
    char *out = capture_view(view_summary, t);
    /* errors, rps, mode, p90, p99: a dash; the rest: numbers. */
    assert_non_null(strstr(out, "driver  sent  received  errors  rps   min  mean  median  mode  "
                                "p90  p99    max\n"
                                "------  ----  --------  ------  ---  ----  ----  ------  ----  "
                                "---  ---  -----\n"
                                "d-a      100       100       " DASH "    " DASH "  0.50  2.25    "
                                "2.00     " DASH "    " DASH "    " DASH "  12.00\n"
                                "d-b        0         0       " DASH "    " DASH "  0.00  0.00    "
                                "0.00     " DASH "    " DASH "    " DASH "   0.00\n"
                                "------  ----  --------  ------  ---  ----  ----  ------  ----  "
                                "---  ---  -----\n"
                                "all      100       100       " DASH "    " DASH "  0.50  2.25    "
                                "2.00     " DASH "    " DASH "    " DASH "  12.00\n"));
    assert_non_null(strstr(out, "  d-b: quiet\n"));
    assert_null(strstr(out, "Errors by kind"));
    free(out);

    out = capture_view(view_status, t);
    assert_non_null(strstr(out, "Test t-2: RUNNING\n"));
    assert_null(strstr(out, "start skew"));
    assert_non_null(strstr(out, "\nall      100       100       " DASH "    " DASH "  0.50"));
    free(out);

    /* The progress: rps, p99 and errors unknown, p50 known. */
    char line[300];
    watch_format_line(t, 1.5, line, sizeof line);
    assert_string_equal(line, "t=1.5s state=RUNNING done=100/200 (50.0%) rps=" DASH
                              " p50=2.00ms p99=" DASH " errors=" DASH);
    watch_format_bar(t, 1.5, 0, line, sizeof line);
    assert_string_equal(line, "RUNNING [###############---------------]  50.0%  100/200  " DASH
                              " req/s  p50 2.00ms  p99 " DASH "  errors " DASH "  1.5s");
    /* Fitted to the terminal by columns, not bytes: 79 columns on 80. */
    watch_format_bar(t, 1.5, 80, line, sizeof line);
    assert_int_equal(table_width(line), 79);
    assert_int_equal(strlen(line), 79 + 3 * 2);

    /* The list: errors, rps and p99 unknown. */
    cJSON *list = cJSON_CreateObject();
    cJSON *tests = cJSON_AddArrayToObject(list, "tests");
    cJSON_AddItemReferenceToArray(tests, t);
    out = capture_view(view_list, list);
    assert_non_null(strstr(out, "t-2      RUNNING  AVALANCHE         100        2   100       " DASH
                                "    " DASH "       " DASH "  2024-11-24 05:20:00\n"));
    free(out);
    cJSON_Delete(list);
    cJSON_Delete(t);

    /* Drivers: a quiet driver of the original format says no state and has
     * never heartbeated. */
    cJSON *drv = cJSON_Parse(
        "{\"drivers\":[{\"node_id\":\"d-a\",\"node_ip\":\"10.0.0.1\",\"hostname\":\"h\","
        "\"liveness\":\"quiet\",\"state\":\"\",\"last_heartbeat_ms\":null,"
        "\"since_heartbeat_ms\":null,\"listening\":null,\"test_id\":\"t-2\","
        "\"requests_sent\":0},"
        "{\"node_id\":\"d-b\",\"node_ip\":\"10.0.0.2\",\"hostname\":\"h\","
        "\"liveness\":\"alive\",\"state\":\"IDLE\",\"since_heartbeat_ms\":1500,"
        "\"test_id\":\"t-2\",\"requests_sent\":7}]}");
    out = capture_view(view_drivers, drv);
    assert_string_equal(out, "node_id  ip        hostname  liveness  state  heartbeat_age  "
                             "test_id  sent\n"
                             "-------  --------  --------  --------  -----  -------------  "
                             "-------  ----\n"
                             "d-a      10.0.0.1  h         quiet     " DASH
                             "                  " DASH "  t-2         0\n"
                             "d-b      10.0.0.2  h         alive     IDLE            1.5s  "
                             "t-2         7\n");
    free(out);
    cJSON_Delete(drv);
}

static void test_state_helpers(void **state)
{
    (void)state;
    assert_true(stats_state_final("COMPLETED"));
    assert_false(stats_state_failed("COMPLETED"));
    assert_true(stats_state_failed("PARTIAL"));
    assert_true(stats_state_failed("FAILED"));
    assert_true(stats_state_failed("ABORTED"));
    assert_false(stats_state_final("RUNNING"));
    assert_false(stats_state_final(NULL));
    char buf[32];
    view_format_time(0, buf, sizeof buf);
    assert_string_equal(buf, "-");
    view_format_time(1732425600123LL, buf, sizeof buf);
    assert_string_equal(buf, "2024-11-24 05:20:00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_left_last_column_has_no_trailing_space),
        cmocka_unit_test(test_summary_view),
        cmocka_unit_test(test_dash_takes_one_column),
        cmocka_unit_test(test_unknown_views),
        cmocka_unit_test(test_state_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
