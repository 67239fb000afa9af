/* ramp: levels, due times and reach times of linear stages. */
#include "ramp.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static void test_init(void **state)
{
    (void)state;
    struct ramp r;
    double d[] = {1, 2}, t[] = {10, 20}, bad_d[] = {0}, neg[] = {-1};
    assert_int_equal(ramp_init(&r, 0, d, t, 2), 0);
    assert_int_equal(ramp_end_us(&r), 3000000);
    assert_true(ramp_peak(&r) == 20);
    assert_int_equal(ramp_init(&r, 0, d, t, 0), -1);
    assert_int_equal(ramp_init(&r, 0, d, t, RAMP_STAGES_MAX + 1), -1);
    assert_int_equal(ramp_init(&r, 0, bad_d, t, 1), -1);
    assert_int_equal(ramp_init(&r, 0, d, neg, 1), -1);
    assert_int_equal(ramp_init(&r, -1, d, t, 1), -1);
    assert_int_equal(ramp_init(&r, NAN, d, t, 1), -1);
}

static void test_level(void **state)
{
    (void)state;
    struct ramp r;
    double d[] = {2, 2, 1}, t[] = {100, 100, 0};
    assert_int_equal(ramp_init(&r, 0, d, t, 3), 0);
    assert_true(ramp_level(&r, -5) == 0);
    assert_true(fabs(ramp_level(&r, 1000000) - 50) < 1e-9);
    assert_true(ramp_level(&r, 3000000) == 100);
    assert_true(fabs(ramp_level(&r, 4500000) - 50) < 1e-9);
    assert_true(ramp_level(&r, 9000000) == 0); /* past the end: the last target */
}

/* The number of due times in [a, b): what a server counts in that second. */
static int64_t due_between(const struct ramp *r, int64_t a, int64_t b)
{
    int64_t n = 0;
    for (int64_t i = 0;; i++) {
        int64_t t = ramp_time_of(r, (double)i);
        if (t >= b)
            break;
        n += t >= a;
    }
    return n;
}

static void test_time_of(void **state)
{
    (void)state;
    struct ramp r;
    /* A constant rate: request i is due at i / rate, as a fixed gap. */
    double d1[] = {10}, t1[] = {100};
    assert_int_equal(ramp_init(&r, 100, d1, t1, 1), 0);
    assert_int_equal(ramp_time_of(&r, 0), 0);
    assert_int_equal(ramp_time_of(&r, 1), 10000);
    assert_int_equal(ramp_time_of(&r, 999), 9990000);
    /* Past the end the last rate goes on. */
    assert_int_equal(ramp_time_of(&r, 1001), 10010000);

    /* A ramp 0 -> 200/s over 2 s, then 200/s: 200 requests in the ramp,
     * 400 after; each second holds the area under the curve, +-1. */
    double d2[] = {2, 2}, t2[] = {200, 200};
    assert_int_equal(ramp_init(&r, 0, d2, t2, 2), 0);
    assert_int_equal(due_between(&r, 0, 2000000), 200);
    assert_int_equal(due_between(&r, 0, 4000000), 600);
    int64_t s0 = due_between(&r, 0, 1000000), s1 = due_between(&r, 1000000, 2000000);
    assert_true(llabs(s0 - 50) <= 1 && llabs(s1 - 150) <= 1);
    /* Due times never go back. */
    int64_t prev = -1;
    for (int i = 0; i < 700; i++) {
        int64_t t = ramp_time_of(&r, i);
        assert_true(t >= prev);
        prev = t;
    }

    /* A pause: no request is due while the level is 0. */
    double d3[] = {1, 1, 1}, t3[] = {100, 0, 0};
    assert_int_equal(ramp_init(&r, 100, d3, t3, 3), 0);
    assert_int_equal(due_between(&r, 0, 2000000), 150); /* the area: 100 + 50 */
    assert_int_equal(due_between(&r, 2000001, 3000000), 0);
    assert_int_equal(ramp_time_of(&r, 1e6), RAMP_NEVER);
    /* A level of 0 throughout sends nothing, not even a first request. */
    double d4[] = {1}, t4[] = {0};
    assert_int_equal(ramp_init(&r, 0, d4, t4, 1), 0);
    assert_int_equal(ramp_time_of(&r, 0), RAMP_NEVER);
}

static void test_reach(void **state)
{
    (void)state;
    struct ramp r;
    double d[] = {10, 5, 10}, t[] = {100, 100, 0};
    assert_int_equal(ramp_init(&r, 0, d, t, 3), 0);
    assert_int_equal(ramp_reach(&r, 0, 0), 0);
    /* 50 is half way up the first stage. */
    int64_t at = ramp_reach(&r, 0, 50);
    assert_true(llabs(at - 5000000) <= 1);
    assert_true(ramp_level(&r, at) >= 50 - 1e-9);
    assert_int_equal(ramp_reach(&r, 12000000, 50), 12000000); /* already there */
    assert_int_equal(ramp_reach(&r, 0, 101), RAMP_NEVER);
    assert_int_equal(ramp_reach(&r, 16000000, 100), RAMP_NEVER); /* only down from there */
    /* A rise after a fall. */
    double d2[] = {1, 1}, t2[] = {0, 10};
    assert_int_equal(ramp_init(&r, 10, d2, t2, 2), 0);
    assert_int_equal(ramp_reach(&r, 500000, 5), 500000); /* 5 on the way down */
    at = ramp_reach(&r, 500000, 6);
    assert_true(llabs(at - 1600000) <= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_level),
        cmocka_unit_test(test_time_of),
        cmocka_unit_test(test_reach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
