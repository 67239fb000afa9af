/* threshold: the grammar beyond the client's (checks, NAME: for one
 * request), the status check, the figures a threshold is judged on and the
 * figure as shown in a breach. */
#include "threshold.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct threshold parse_ok(const char *s)
{
    struct threshold t;
    char err[300] = "";
    if (threshold_parse(s, &t, err, sizeof err) != 0)
        fail_msg("'%s' did not parse: %s", s, err);
    return t;
}

static void parse_bad(const char *s, const char *want)
{
    struct threshold t;
    char err[300] = "";
    if (threshold_parse(s, &t, err, sizeof err) == 0)
        fail_msg("'%s' was accepted", s);
    assert_null(strchr(err, '\n'));
    if (want && !strstr(err, want))
        fail_msg("'%s': error '%s' does not say '%s'", s, err, want);
}

static void test_parse_checks(void **state)
{
    (void)state;
    struct threshold t = parse_ok("checks>99%");
    assert_int_equal(t.metric, THR_CHECKS);
    assert_int_equal(t.op, THR_GT);
    assert_true(fabs(t.value - 0.99) < 1e-12);
    assert_int_equal(t.percent, 1);
    assert_string_equal(t.name, "checks");
    assert_string_equal(t.req, "");
    t = parse_ok("CHECKS >= 0.5");
    assert_int_equal(t.metric, THR_CHECKS);
    assert_int_equal(t.percent, 0);
    assert_true(t.value == 0.5);
    parse_bad("checks>101%", "checks");
    parse_bad("checks>2", "fraction");
    parse_bad("checks>-1%", NULL);
    parse_bad("checks>10ms", NULL);
}

static void test_parse_request_name(void **state)
{
    (void)state;
    struct threshold t = parse_ok("home:p95<100ms");
    assert_string_equal(t.req, "home");
    assert_int_equal(t.metric, THR_LATENCY);
    assert_int_equal(t.lat, LAT_P95);
    assert_true(t.value == 100.0);
    assert_string_equal(t.text, "home:p95<100ms");
    t = parse_ok(" log-in.v2 : errors < 1% ");
    assert_string_equal(t.req, "log-in.v2");
    assert_string_equal(t.text, "log-in.v2:errors<1%");
    assert_int_equal(t.metric, THR_ERRORS);
    t = parse_ok("Home:checks>=99%");
    assert_string_equal(t.req, "Home"); /* names keep their case */
    parse_bad(":p95<100ms", "empty request name");
    parse_bad("ho#me:p95<100ms", "request name");
    parse_bad("a/b:p95<100ms", "request name");
    parse_bad("home:p98<100ms", "unknown metric");
    parse_bad("home:", NULL);
    parse_bad("home:p95", "no operator");
    parse_bad("p95<100:ms", NULL);
    parse_bad("a:b:p95<1", NULL);
    parse_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:p95<1",
              "request name");
}

static void test_status_check(void **state)
{
    (void)state;
    assert_false(threshold_status_check(100));
    assert_false(threshold_status_check(199));
    assert_true(threshold_status_check(200));
    assert_true(threshold_status_check(204));
    assert_true(threshold_status_check(302));
    assert_true(threshold_status_check(399));
    assert_false(threshold_status_check(400));
    assert_false(threshold_status_check(404));
    assert_false(threshold_status_check(500));
    assert_false(threshold_status_check(0));
}

static void test_judge_checks(void **state)
{
    (void)state;
    struct thr_figures f;
    memset(&f, 0, sizeof f);
    f.has_checks = 1;
    struct threshold t = parse_ok("checks>99%");
    /* Nothing checked yet: unknown, never a breach to act on. */
    assert_false(threshold_known(&t, &f));
    assert_true(isnan(threshold_actual(&t, &f)));
    char line[200];
    threshold_verdict(&t, &f, line, sizeof line);
    assert_string_equal(line, "checks>99%: unknown (no response was checked)");
    f.checks_passed = 990;
    f.checks_failed = 10;
    assert_true(threshold_known(&t, &f));
    assert_true(fabs(threshold_actual(&t, &f) - 99.0) < 1e-9);
    assert_false(threshold_holds(&t, &f)); /* exactly 99% */
    t = parse_ok("checks>=99%");
    assert_true(threshold_holds(&t, &f));
    t = parse_ok("checks>0.98");
    assert_true(fabs(threshold_actual(&t, &f) - 0.99) < 1e-9);
    assert_true(threshold_holds(&t, &f));
    t = parse_ok("checks>99%");
    threshold_verdict(&t, &f, line, sizeof line);
    assert_string_equal(line, "checks>99%: FAIL (checks = 99.000% (990 of 1000))");
    f.has_checks = 0; /* no status codes at all: unknown */
    assert_false(threshold_known(&t, &f));
    threshold_verdict(&t, &f, line, sizeof line);
    assert_string_equal(line, "checks>99%: unknown (no participant sent status codes)");
}

static void test_shown(void **state)
{
    (void)state;
    struct thr_figures f;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < LAT_N; i++)
        f.has_lat[i] = 1;
    f.lat[LAT_P99] = 312.44;
    f.has_errors = 1;
    f.sent = 200;
    f.errors = 7;
    char buf[64];
    struct threshold t = parse_ok("p99<200ms");
    threshold_shown(&t, &f, buf, sizeof buf);
    assert_string_equal(buf, "312.4 ms");
    t = parse_ok("errors<1%");
    threshold_shown(&t, &f, buf, sizeof buf);
    assert_string_equal(buf, "3.500% (7 of 200)");
    t = parse_ok("rps>1");
    threshold_shown(&t, &f, buf, sizeof buf);
    assert_string_equal(buf, "unknown");
    char tiny[4];
    t = parse_ok("p99<200ms");
    threshold_shown(&t, &f, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 3);
}

static int lookup_home(void *ctx, const char *name, struct thr_figures *out)
{
    const struct thr_figures *home = ctx;
    if (strcmp(name, "home") != 0)
        return 0;
    *out = *home;
    return 1;
}

static void test_figures_by_name(void **state)
{
    (void)state;
    struct thr_figures whole, home, got;
    memset(&whole, 0, sizeof whole);
    memset(&home, 0, sizeof home);
    whole.has_lat[LAT_P95] = home.has_lat[LAT_P95] = 1;
    whole.lat[LAT_P95] = 50;
    home.lat[LAT_P95] = 150;
    struct threshold t = parse_ok("p95<100ms");
    assert_int_equal(threshold_figures(&t, &whole, lookup_home, &home, &got), 1);
    assert_true(threshold_holds(&t, &got));
    t = parse_ok("home:p95<100ms");
    assert_int_equal(threshold_figures(&t, &whole, lookup_home, &home, &got), 1);
    assert_false(threshold_holds(&t, &got));
    assert_true(threshold_actual(&t, &got) == 150);
    t = parse_ok("cart:p95<100ms");
    assert_int_equal(threshold_figures(&t, &whole, lookup_home, &home, &got), 0);
    assert_false(threshold_known(&t, &got));
    /* No request has a name yet. */
    t = parse_ok("home:p95<100ms");
    assert_int_equal(threshold_figures(&t, &whole, NULL, NULL, &got), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_checks), cmocka_unit_test(test_parse_request_name),
        cmocka_unit_test(test_status_check), cmocka_unit_test(test_judge_checks),
        cmocka_unit_test(test_shown),        cmocka_unit_test(test_figures_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
