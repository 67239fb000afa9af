/* hist: percentiles, min, max and mean against the exact answers from sorted
 * raw samples; merge equals recording into one; encoding is lossless. */
#include "hist.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static double unif(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

enum shape { UNIFORM, LONGTAIL, BIMODAL };

static int64_t sample(enum shape s)
{
    switch (s) {
    case UNIFORM:
        return 100 + (int64_t)(unif() * 50000);
    case LONGTAIL: {
        /* Pareto-like: most near 1 ms, a tail out to seconds. */
        double v = 1000.0 / pow(1.0 - unif() * 0.999999, 0.8);
        return (int64_t)fmin(v, 3.0e9);
    }
    case BIMODAL:
        return (rng() & 1) ? 2000 + (int64_t)(unif() * 200) : 90000 + (int64_t)(unif() * 5000);
    }
    return 0;
}

static void check_against_exact(const struct hist *h, int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp64);
    assert_int_equal(hist_count(h), (int64_t)n);
    assert_int_equal(hist_min(h), v[0]);
    assert_int_equal(hist_max(h), v[n - 1]);
    long double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double mean = (double)(sum / n);
    assert_true(fabs(hist_mean(h) - mean) <= 1e-6 * mean + 1e-9);
    static const double ps[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        size_t rank = (size_t)ceil(ps[k] / 100.0 * (double)n - 1e-9);
        if (rank < 1)
            rank = 1;
        int64_t exact = v[rank - 1];
        int64_t got = hist_percentile(h, ps[k]);
        int64_t tol = hist_bucket_width(exact);
        if (llabs(got - exact) > tol)
            fail_msg("p%g: histogram %lld, exact %lld, resolution %lld (n=%zu)", ps[k],
                     (long long)got, (long long)exact, (long long)tol, n);
    }
}

static void run_shape(enum shape s, size_t n)
{
    int64_t *v = malloc(n * sizeof *v);
    struct hist *h;
    assert_int_equal(hist_create(&h), 0);
    for (size_t i = 0; i < n; i++) {
        v[i] = sample(s);
        hist_record(h, v[i]);
    }
    check_against_exact(h, v, n);
    hist_destroy(h);
    free(v);
}

static void test_percentiles_match_sorted(void **state)
{
    (void)state;
    static const size_t sizes[] = {10, 11, 100, 1000, 10000, 1000000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        run_shape(UNIFORM, sizes[i]);
        run_shape(LONGTAIL, sizes[i]);
        run_shape(BIMODAL, sizes[i]);
    }
}

static void test_merge_equals_single(void **state)
{
    (void)state;
    struct hist *a, *b, *all;
    assert_int_equal(hist_create(&a), 0);
    assert_int_equal(hist_create(&b), 0);
    assert_int_equal(hist_create(&all), 0);
    for (int i = 0; i < 200000; i++) {
        int64_t x = sample(i % 3 == 0 ? LONGTAIL : BIMODAL);
        hist_record(i % 2 ? a : b, x);
        hist_record(all, x);
    }
    hist_merge(a, b);
    assert_int_equal(hist_count(a), hist_count(all));
    assert_int_equal(hist_min(a), hist_min(all));
    assert_int_equal(hist_max(a), hist_max(all));
    assert_true(hist_mean(a) == hist_mean(all));
    for (double p = 0.5; p <= 100; p += 0.5)
        assert_int_equal(hist_percentile(a, p), hist_percentile(all, p));
    assert_int_equal(hist_mode(a), hist_mode(all));
    hist_destroy(a);
    hist_destroy(b);
    hist_destroy(all);
}

static void test_subtract_window(void **state)
{
    (void)state;
    struct hist *cum, *snap, *win;
    assert_int_equal(hist_create(&cum), 0);
    assert_int_equal(hist_create(&snap), 0);
    assert_int_equal(hist_create(&win), 0);
    for (int i = 0; i < 5000; i++)
        hist_record(cum, 1000 + i % 100);
    hist_copy(snap, cum);
    for (int i = 0; i < 3000; i++) {
        hist_record(cum, 50000 + i);
        hist_record(win, 50000 + i);
    }
    struct hist *d;
    assert_int_equal(hist_create(&d), 0);
    hist_copy(d, cum);
    assert_int_equal(hist_subtract(d, snap), 0);
    assert_int_equal(hist_count(d), 3000);
    assert_true(hist_mean(d) == hist_mean(win));
    for (double p = 1; p < 100; p += 1)
        assert_int_equal(hist_percentile(d, p), hist_percentile(win, p));
    assert_true(hist_min(d) <= 50000 && hist_min(d) > 50000 - hist_bucket_width(50000));
    assert_true(hist_max(d) >= 52999 && hist_max(d) < 52999 + hist_bucket_width(52999));
    /* A snapshot not contained in dst is refused and dst is untouched. */
    assert_int_equal(hist_subtract(snap, cum), -EINVAL);
    assert_int_equal(hist_count(snap), 5000);
    hist_copy(d, cum);
    assert_int_equal(hist_subtract(d, cum), 0);
    assert_int_equal(hist_count(d), 0);
    assert_int_equal(hist_max(d), 0);
    hist_destroy(cum);
    hist_destroy(snap);
    hist_destroy(win);
    hist_destroy(d);
}

static void test_encode_roundtrip(void **state)
{
    (void)state;
    struct hist *h, *d;
    assert_int_equal(hist_create(&h), 0);
    assert_int_equal(hist_create(&d), 0);
    char err[128];
    /* Empty first. */
    char *txt = NULL;
    assert_int_equal(hist_encode(h, &txt), 0);
    assert_int_equal(hist_decode(d, txt, strlen(txt), err, sizeof err), 0);
    assert_int_equal(hist_count(d), 0);
    free(txt);
    for (int i = 0; i < 100000; i++)
        hist_record(h, sample(LONGTAIL));
    hist_record(h, 0);
    hist_record(h, HIST_MAX_US);
    assert_int_equal(hist_encode(h, &txt), 0);
    assert_true(strlen(txt) < 20000); /* compact: run-length + varints */
    assert_int_equal(hist_decode(d, txt, strlen(txt), err, sizeof err), 0);
    assert_int_equal(hist_count(d), hist_count(h));
    assert_int_equal(hist_min(d), hist_min(h));
    assert_int_equal(hist_max(d), hist_max(h));
    assert_true(hist_mean(d) == hist_mean(h));
    for (double p = 0.1; p <= 100; p += 0.1)
        assert_int_equal(hist_percentile(d, p), hist_percentile(h, p));
    char *txt2 = NULL;
    assert_int_equal(hist_encode(d, &txt2), 0);
    assert_string_equal(txt, txt2);
    free(txt);
    free(txt2);
    hist_destroy(h);
    hist_destroy(d);
}

static void test_decode_rejects_garbage(void **state)
{
    (void)state;
    struct hist *d;
    assert_int_equal(hist_create(&d), 0);
    char err[128];
    const char *bad[] = {"",
                         "!!!!",
                         "AAA",
                         "AQ==",     /* version only */
                         "AgAAAA==", /* version 2 */
                         "AQEBAQH/////////////AQ==",
                         "AQoFMgE=",
                         "////////"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(hist_decode(d, bad[i], strlen(bad[i]), err, sizeof err), -EINVAL);
        assert_true(err[0] != '\0');
        assert_int_equal(hist_count(d), 0);
    }
    /* A valid encoding with its min changed no longer decodes. */
    struct hist *h;
    assert_int_equal(hist_create(&h), 0);
    hist_record(h, 5000);
    char *txt;
    assert_int_equal(hist_encode(h, &txt), 0);
    assert_int_equal(hist_decode(d, txt, strlen(txt), err, sizeof err), 0);
    txt[2] = txt[2] == 'A' ? 'B' : 'A';
    assert_int_equal(hist_decode(d, txt, strlen(txt), err, sizeof err), -EINVAL);
    free(txt);
    /* Over the size cap. */
    size_t big = HIST_ENCODED_MAX + 4;
    char *huge = malloc(big + 1);
    memset(huge, 'A', big);
    huge[big] = '\0';
    assert_int_equal(hist_decode(d, huge, big, err, sizeof err), -EINVAL);
    free(huge);
    hist_destroy(h);
    hist_destroy(d);
}

static void test_mode_and_clamp(void **state)
{
    (void)state;
    struct hist *h;
    assert_int_equal(hist_create(&h), 0);
    assert_int_equal(hist_percentile(h, 50), 0);
    assert_int_equal(hist_mode(h), 0);
    for (int i = 0; i < 100; i++)
        hist_record(h, 20150 + i % 40); /* 20.15 .. 20.19 ms */
    for (int i = 0; i < 60; i++)
        hist_record(h, 35000 + i);
    assert_int_equal(hist_mode(h), 20100);
    hist_record(h, -5);
    assert_int_equal(hist_min(h), 0);
    hist_record(h, HIST_MAX_US * 10);
    assert_int_equal(hist_max(h), HIST_MAX_US);
    assert_int_equal(hist_count(h), 162);
    hist_reset(h);
    assert_int_equal(hist_count(h), 0);
    /* Absurd counts: p100 is still the exact max, and counts saturate. */
    hist_record_n(h, 20000, (int64_t)1 << 61);
    hist_record_n(h, 20499, 3);
    assert_int_equal(hist_percentile(h, 100), 20499);
    hist_record_n(h, 1000, INT64_MAX);
    assert_int_equal(hist_count(h), INT64_MAX);
    hist_destroy(h);
    hist_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_match_sorted), cmocka_unit_test(test_merge_equals_single),
        cmocka_unit_test(test_subtract_window),          cmocka_unit_test(test_encode_roundtrip),
        cmocka_unit_test(test_decode_rejects_garbage),   cmocka_unit_test(test_mode_and_clamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
