/* opts and ids: option value parsing and unique ids. */
#include "ids.h"
#include "opts.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_durations(void **state)
{
    (void)state;
    char err[128];
    int64_t v = -1;
    const int64_t MAX = 3600LL * 1000000;
    assert_int_equal(opt_parse_duration_us("250ms", 1000, MAX, &v, err, sizeof err), 0);
    assert_int_equal(v, 250000);
    assert_int_equal(opt_parse_duration_us("1.5s", 1000, MAX, &v, err, sizeof err), 0);
    assert_int_equal(v, 1500000);
    assert_int_equal(opt_parse_duration_us("10", 1000, MAX, &v, err, sizeof err), 0);
    assert_int_equal(v, 10000);
    assert_int_equal(opt_parse_duration_us("0.5", 1000000, MAX, &v, err, sizeof err), 0);
    assert_int_equal(v, 500000);
    assert_int_equal(opt_parse_duration_us("2m", 1000, MAX, &v, err, sizeof err), 0);
    assert_int_equal(v, 120000000);
    assert_int_equal(opt_parse_duration_us("750us", 1000, MAX, &v, err, sizeof err), 0);
    assert_int_equal(v, 750);
    const char *bad[] = {"", "ms", "10x", "-1s", "nan", "inf", "1e400", " 5ms", "5 ms", "2h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        err[0] = '\0';
        assert_int_equal(opt_parse_duration_us(bad[i], 1000, MAX, &v, err, sizeof err), -1);
        assert_int_equal(v, 42);
        assert_true(strlen(err) > 0);
    }
}

static void test_numbers_and_hostport(void **state)
{
    (void)state;
    char err[128], host[64];
    int64_t i = 0;
    double d = 0;
    int port = 0;
    assert_int_equal(opt_parse_int64("64", 1, 100, &i, err, sizeof err), 0);
    assert_int_equal(i, 64);
    assert_int_equal(opt_parse_int64("0", 1, 100, &i, err, sizeof err), -1);
    assert_int_equal(opt_parse_int64("12abc", 1, 100, &i, err, sizeof err), -1);
    assert_int_equal(opt_parse_int64("99999999999999999999", 1, 100, &i, err, sizeof err), -1);
    assert_int_equal(opt_parse_double("0.25", 0, 1, &d, err, sizeof err), 0);
    assert_true(d == 0.25);
    assert_int_equal(opt_parse_double("1.5", 0, 1, &d, err, sizeof err), -1);
    assert_int_equal(opt_parse_double("nan", 0, 1, &d, err, sizeof err), -1);
    assert_int_equal(
        opt_parse_hostport("127.0.0.1:8080", host, sizeof host, &port, err, sizeof err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(opt_parse_hostport("[::1]:9092", host, sizeof host, &port, err, sizeof err),
                     0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9092);
    const char *bad[] = {
        "", "localhost", ":80", "host:", "host:70000", "host:-1", "::1:80", "[::1]80"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_int_equal(opt_parse_hostport(bad[k], host, sizeof host, &port, err, sizeof err), -1);
}

static void test_ids_unique(void **state)
{
    (void)state;
    enum { N = 20000 };
    char(*ids)[ID_MAX] = calloc(N, ID_MAX);
    for (int i = 0; i < N; i++) {
        assert_int_equal(id_new("t", ids[i], ID_MAX), 0);
        assert_true(id_valid(ids[i]));
    }
    /* All made within a few milliseconds, none equal. */
    qsort(ids, N, ID_MAX, (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
    char small[8];
    assert_int_equal(id_new("t", small, sizeof small), -1);
    assert_string_equal(small, "");
    assert_false(id_valid(""));
    assert_false(id_valid("a b"));
    assert_false(id_valid("x/y"));
    char longid[ID_MAX + 1];
    memset(longid, 'a', ID_MAX);
    longid[ID_MAX] = '\0';
    assert_false(id_valid(longid));
    assert_true(id_valid("1712345678901"));
    assert_true(id_valid("550e8400-e29b-41d4-a716-446655440000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_numbers_and_hostport),
        cmocka_unit_test(test_ids_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
