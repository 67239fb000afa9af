/* delayspec: "--delay-ms A[-B]" parsing, uniform draws, formatting. */
#include "delayspec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_parse_good(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t lo, hi;
    } good[] = {
        {"0", 0, 0},
        {"20", 20000, 20000},
        {"100-500", 100000, 500000},
        {"0.5", 500, 500},
        {"1.25-2.5", 1250, 2500},
        {"7-7", 7000, 7000},
        {"0-600000", 0, 600000000},
        {"0.0005", 1, 1}, /* rounded to the nearest µs */
        {"3.", 3000, 3000},
    };
    char err[160];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct delayspec d = {-1, -1};
        err[0] = '\0';
        assert_int_equal(delayspec_parse(good[i].s, &d, err, sizeof err), 0);
        assert_int_equal(d.min_us, good[i].lo);
        assert_int_equal(d.max_us, good[i].hi);
    }
}

static void test_parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "-",
                         "-5",
                         "5-",
                         "500-100",
                         "1-2-3",
                         "abc",
                         "10ms",
                         " 10",
                         "10 ",
                         "1e3",
                         "+5",
                         ".",
                         "1..2",
                         "600001",
                         "0-600001",
                         "99999999999999999999999",
                         "nan",
                         "inf",
                         "5--6"};
    char err[160];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct delayspec d = {42, 43};
        err[0] = '\0';
        assert_int_equal(delayspec_parse(bad[i], &d, err, sizeof err), -1);
        assert_int_equal(d.min_us, 42);
        assert_int_equal(d.max_us, 43);
        assert_true(strlen(err) > 0);
    }
    struct delayspec d;
    assert_int_equal(delayspec_parse(NULL, &d, err, sizeof err), -1);
    assert_int_equal(delayspec_parse("500-100", &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "below"));
}

static void test_draw(void **state)
{
    (void)state;
    struct delayspec fixed = {20000, 20000};
    assert_int_equal(delayspec_draw(&fixed, 0), 20000);
    assert_int_equal(delayspec_draw(&fixed, UINT64_MAX), 20000);

    struct delayspec d = {100000, 500000};
    assert_int_equal(delayspec_draw(&d, 0), 100000);
    assert_int_equal(delayspec_draw(&d, UINT64_MAX), 500000);

    /* Uniform: mean near the middle, every tenth of the range visited
     * about equally often (each bin 10% +- 1%, about 6 sigma at this n). */
    enum { N = 200000 };
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    double sum = 0;
    int bins[10] = {0};
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t v = delayspec_draw(&d, x * 0x2545f4914f6cdd1dULL);
        assert_true(v >= d.min_us && v <= d.max_us);
        sum += (double)v;
        int b = (int)((v - d.min_us) * 10 / (d.max_us - d.min_us + 1));
        bins[b]++;
    }
    double mean = sum / N;
    assert_true(mean > 299000 && mean < 301000);
    for (int b = 0; b < 10; b++)
        assert_true(bins[b] > N / 10 - N / 100 && bins[b] < N / 10 + N / 100);

    /* A range of two values gives both. */
    struct delayspec two = {5, 6};
    assert_int_equal(delayspec_draw(&two, 0), 5);
    assert_int_equal(delayspec_draw(&two, UINT64_MAX), 6);
    assert_int_equal(delayspec_draw(&two, UINT64_MAX / 2 + 4096), 6);
}

static void test_format(void **state)
{
    (void)state;
    char buf[64];
    struct delayspec none = {0, 0}, fixed = {20000, 20000}, range = {100000, 500000},
                     frac = {500, 1250};
    delayspec_format(&none, buf, sizeof buf);
    assert_string_equal(buf, "none");
    delayspec_format(&fixed, buf, sizeof buf);
    assert_string_equal(buf, "20ms");
    delayspec_format(&range, buf, sizeof buf);
    assert_string_equal(buf, "100-500ms");
    delayspec_format(&frac, buf, sizeof buf);
    assert_string_equal(buf, "0.500-1.250ms");
    char tiny[4];
    delayspec_format(&range, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_draw),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
