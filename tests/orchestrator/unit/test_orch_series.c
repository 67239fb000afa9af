/* series: a point's latencies are those of its interval only (the later
 * cumulative histogram minus the earlier), so a stall shows as a spike;
 * rps is over the interval; an interval without responses has null
 * latencies; a histogram that is not a later snapshot falls back to the
 * whole. */
#include "series.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* a and b (ms) are the same value at the histogram's precision. */
static int same_bucket(double a_ms, double b_ms)
{
    double w = (double)hist_bucket_width((int64_t)(b_ms * 1000.0)) / 1000.0;
    return a_ms >= b_ms - w && a_ms <= b_ms + w;
}

static void test_window_spike(void **state)
{
    (void)state;
    struct hist *prev, *cur, *scratch, *only;
    assert_int_equal(hist_create(&prev), 0);
    assert_int_equal(hist_create(&cur), 0);
    assert_int_equal(hist_create(&scratch), 0);
    assert_int_equal(hist_create(&only), 0);
    /* Nine seconds of 1 ms responses, then one second in which a stalled
     * server answers 50 requests after 2 s. */
    hist_record_n(prev, 1000, 9000);
    hist_copy(cur, prev);
    hist_record_n(cur, 2000000, 50);
    hist_record_n(only, 2000000, 50);
    struct series_snap a = {9000, 9000, 9000, 0}, b = {10000, 9100, 9050, 0};
    struct series_point p;
    assert_int_equal(series_point_make(&a, &b, prev, cur, scratch, &p), 0);
    assert_int_equal(p.t_ms, 10000);
    assert_int_equal(p.responses_received, 9050);
    assert_true(p.has_lat);
    /* The cumulative median would still be 1 ms; the window's is 2 s. */
    assert_int_equal(hist_percentile(cur, 50), 1000);
    assert_true(p.p50 > 1990.0 && p.p50 <= 2002.0);
    /* A window's edges are bucket edges (hist_subtract), so its figures
     * equal the interval's own samples' to the histogram's precision. */
    assert_true(same_bucket(p.p50, (double)hist_percentile(only, 50) / 1000.0));
    assert_true(same_bucket(p.p99, (double)hist_percentile(only, 99) / 1000.0));
    assert_true(p.mean > 1990.0);
    assert_true(p.rps > 49.99 && p.rps < 50.01); /* 50 responses in 1 s */

    /* The first point has no earlier snapshot: it covers everything. */
    struct series_snap b0 = {1000, 1000, 1000, 0};
    assert_int_equal(series_point_make(NULL, &b0, NULL, prev, scratch, &p), 0);
    assert_true(p.p50 == 1.0);
    assert_true(p.rps > 999.9 && p.rps < 1000.1);

    /* Not a later snapshot (a bucket would go negative): the whole. */
    assert_int_equal(series_point_make(&a, &b, only, prev, scratch, &p), 1);
    assert_true(p.p50 == 1.0);
    hist_destroy(prev);
    hist_destroy(cur);
    hist_destroy(scratch);
    hist_destroy(only);
}

static void test_empty_interval(void **state)
{
    (void)state;
    struct hist *h, *scratch;
    assert_int_equal(hist_create(&h), 0);
    assert_int_equal(hist_create(&scratch), 0);
    hist_record_n(h, 5000, 10);
    struct series_snap a = {1000, 10, 10, 0}, b = {2000, 20, 10, 2};
    struct series_point p;
    series_point_make(&a, &b, h, h, scratch, &p);
    assert_false(p.has_lat);
    assert_true(p.rps == 0.0);
    assert_int_equal(p.errors, 2);
    cJSON *j = series_point_to_json(&p);
    assert_non_null(j);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "p50")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "max")));
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "requests_sent")->valuedouble, 20);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(j, "t_ms")->valuedouble, 2000);
    cJSON_Delete(j);

    /* Summary figures only (no histogram). */
    series_point_from_summary(&a, &b, 1.5, 2.5, 3.5, 1.7, 9.0, &p);
    assert_true(p.has_lat);
    j = series_point_to_json(&p);
    assert_true(cJSON_GetObjectItemCaseSensitive(j, "p90")->valuedouble == 2.5);
    cJSON_Delete(j);
    hist_destroy(h);
    hist_destroy(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_spike),
        cmocka_unit_test(test_empty_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
