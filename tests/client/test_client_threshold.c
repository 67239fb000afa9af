/* threshold: parsing of every metric, operator and unit, the errors for bad
 * expressions, and judging against an aggregate. */
#include "stats.h"
#include "threshold.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The client judges an answer's <stats> through stats_figures. */
static int holds(const struct threshold *t, const struct stats *s)
{
    struct thr_figures f;
    stats_figures(s, &f);
    return threshold_holds(t, &f);
}

static int known(const struct threshold *t, const struct stats *s)
{
    struct thr_figures f;
    stats_figures(s, &f);
    return threshold_known(t, &f);
}

static double actual(const struct threshold *t, const struct stats *s)
{
    struct thr_figures f;
    stats_figures(s, &f);
    return threshold_actual(t, &f);
}

static void verdict(const struct threshold *t, const struct stats *s, char *buf, size_t n)
{
    struct thr_figures f;
    stats_figures(s, &f);
    threshold_verdict(t, &f, buf, n);
}

static struct threshold parse_ok(const char *s)
{
    struct threshold t;
    char err[300] = "";
    int rc = threshold_parse(s, &t, err, sizeof err);
    if (rc != 0)
        fail_msg("'%s' did not parse: %s", s, err);
    return t;
}

static void test_parse_latency(void **state)
{
    (void)state;
    struct threshold t = parse_ok("p99<200ms");
    assert_int_equal(t.metric, THR_LATENCY);
    assert_int_equal(t.lat, LAT_P99);
    assert_int_equal(t.op, THR_LT);
    assert_true(t.value == 200.0);
    assert_string_equal(t.text, "p99<200ms");

    t = parse_ok(" p50 <= 1.5s ");
    assert_int_equal(t.lat, LAT_MEDIAN);
    assert_int_equal(t.op, THR_LE);
    assert_true(t.value == 1500.0);
    assert_string_equal(t.text, "p50<=1.5s");

    t = parse_ok("median>=250us");
    assert_int_equal(t.lat, LAT_MEDIAN);
    assert_int_equal(t.op, THR_GE);
    assert_true(t.value == 0.25);

    t = parse_ok("MAX>3"); /* bare numbers are ms; names are case-insensitive */
    assert_int_equal(t.lat, LAT_MAX);
    assert_int_equal(t.op, THR_GT);
    assert_true(t.value == 3.0);

    static const struct {
        const char *name;
        enum stats_lat lat;
    } names[] = {{"min", LAT_MIN}, {"mean", LAT_MEAN}, {"mode", LAT_MODE}, {"p90", LAT_P90},
                 {"p95", LAT_P95}, {"p999", LAT_P999}, {"avg", LAT_MEAN},  {"p99.9", LAT_P999}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char expr[64];
        snprintf(expr, sizeof expr, "%s<10ms", names[i].name);
        t = parse_ok(expr);
        assert_int_equal(t.metric, THR_LATENCY);
        assert_int_equal(t.lat, names[i].lat);
    }
}

static void test_parse_counts_and_rates(void **state)
{
    (void)state;
    struct threshold t = parse_ok("errors<1%");
    assert_int_equal(t.metric, THR_ERRORS);
    assert_int_equal(t.percent, 1);
    assert_true(t.value == 1.0);

    t = parse_ok("errors<=5");
    assert_int_equal(t.metric, THR_ERRORS);
    assert_int_equal(t.percent, 0);
    assert_true(t.value == 5.0);

    t = parse_ok("error_rate<0.01");
    assert_int_equal(t.metric, THR_ERROR_RATE);
    assert_true(t.value == 0.01);
    t = parse_ok("error_rate < 2.5%");
    assert_true(t.value > 0.02499 && t.value < 0.02501);

    t = parse_ok("rps>1000");
    assert_int_equal(t.metric, THR_RPS);
    assert_true(t.value == 1000.0);
    t = parse_ok("sent>=2000");
    assert_int_equal(t.metric, THR_SENT);
    t = parse_ok("received>1");
    assert_int_equal(t.metric, THR_RECEIVED);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "p99",
        "p99<",
        "<200ms",
        "p98<200ms",
        "p99<200xs",
        "p99=200ms",
        "p99==200ms",
        "p99<<200",
        "p99<>200",
        "p99!200",
        "p99<200ms<",
        "p99<-5ms",
        "errors<abc",
        "errors<101%",
        "error_rate<2",
        "rps>10%",
        "p99<10%",
        "rps>nan",
        "rps>inf",
        "sent>1e400",
        "p99<200ms extra words that make this far too long for any threshold to be "
        "accepted by the parser at all because it is over the limit"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct threshold t;
        char err[300] = "";
        if (threshold_parse(bad[i], &t, err, sizeof err) == 0)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strlen(err) > 0);
        assert_null(strchr(err, '\n'));
    }
    struct threshold t;
    char err[300];
    assert_int_equal(threshold_parse(NULL, &t, err, sizeof err), -1);
    assert_int_equal(threshold_parse("p98<1", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown metric"));
}

/* Figures that are all known, all 0. */
static void stats_known(struct stats *s)
{
    memset(s, 0, sizeof *s);
    s->has_errors = s->has_kinds = s->has_elapsed = s->has_rps = 1;
    for (int i = 0; i < LAT_N; i++)
        s->has_lat[i] = 1;
}

static void test_judge(void **state)
{
    (void)state;
    struct stats s;
    stats_known(&s);
    s.sent = 1000;
    s.received = 990;
    s.errors = 10;
    s.rps = 1200;
    s.lat[LAT_P99] = 150.0;
    s.lat[LAT_MEDIAN] = 20.0;

    struct threshold t = parse_ok("p99<200ms");
    assert_true(holds(&t, &s));
    t = parse_ok("p99<150ms"); /* strict */
    assert_false(holds(&t, &s));
    t = parse_ok("p99<=150ms");
    assert_true(holds(&t, &s));
    t = parse_ok("p50>0.02s");
    assert_false(holds(&t, &s));
    t = parse_ok("p50>=0.02s");
    assert_true(holds(&t, &s));

    t = parse_ok("errors<1%"); /* exactly 1% */
    assert_true(actual(&t, &s) == 1.0);
    assert_false(holds(&t, &s));
    t = parse_ok("errors<=1%");
    assert_true(holds(&t, &s));
    t = parse_ok("errors<11");
    assert_true(holds(&t, &s));
    t = parse_ok("error_rate<0.02");
    assert_true(holds(&t, &s));
    t = parse_ok("rps>1000");
    assert_true(holds(&t, &s));
    t = parse_ok("rps>2000");
    assert_false(holds(&t, &s));
    t = parse_ok("sent>=1000");
    assert_true(holds(&t, &s));
    t = parse_ok("received>=1000");
    assert_false(holds(&t, &s));

    char line[200];
    t = parse_ok("p99 < 100ms");
    verdict(&t, &s, line, sizeof line);
    assert_string_equal(line, "p99<100ms: FAIL (p99 = 150.000ms)");
    t = parse_ok("errors<2%");
    verdict(&t, &s, line, sizeof line);
    assert_string_equal(line, "errors<2%: PASS (errors = 1.000% (10 of 1000))");

    /* Nothing sent: the error percentage is 0, not a division by zero. */
    stats_known(&s);
    t = parse_ok("errors<1%");
    assert_true(holds(&t, &s));
    char tiny[8];
    verdict(&t, &s, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 7);
}

/* What the orchestrator reports for drivers of the original format. */
static const char original_agg[] =
    "{\"requests_sent\":1000,\"responses_received\":1000,\"errors\":null,"
    "\"error_kinds\":null,\"status_codes\":null,\"late\":null,\"elapsed_ms\":null,"
    "\"rps\":null,\"latency_ms\":{\"min\":0.5,\"mean\":2.5,\"median\":2,\"mode\":null,"
    "\"p90\":null,\"p95\":null,\"p99\":null,\"p999\":null,\"max\":9}}";

static void test_unknown_figures(void **state)
{
    (void)state;
    cJSON *o = cJSON_Parse(original_agg);
    assert_non_null(o);
    struct stats s;
    stats_from_json(o, &s);
    cJSON_Delete(o);
    assert_int_equal(s.sent, 1000);
    assert_false(s.has_errors);
    assert_false(s.has_kinds);
    assert_false(s.has_rps);
    assert_false(s.has_elapsed);
    assert_true(s.has_lat[LAT_MIN] && s.has_lat[LAT_MEAN] && s.has_lat[LAT_MEDIAN] &&
                s.has_lat[LAT_MAX]);
    assert_false(s.has_lat[LAT_MODE] || s.has_lat[LAT_P90] || s.has_lat[LAT_P95] ||
                 s.has_lat[LAT_P99] || s.has_lat[LAT_P999]);
    assert_true(isnan(stats_error_pct(&s)));
    assert_int_equal(stats_done(&s), 1000);

    /* Unknown cannot be shown to hold, whichever way the comparison goes. */
    static const struct {
        const char *expr, *line;
    } unknown[] = {
        {"p99<200ms", "p99<200ms: unknown (no participant sent p99)"},
        {"p99>0", "p99>0: unknown (no participant sent p99)"},
        {"p90<=1s", "p90<=1s: unknown (no participant sent p90)"},
        {"p95<1s", "p95<1s: unknown (no participant sent p95)"},
        {"p99.9<1s", "p99.9<1s: unknown (no participant sent p999)"},
        {"mode>=0", "mode>=0: unknown (no participant sent mode)"},
        {"errors<1%", "errors<1%: unknown (no participant sent errors)"},
        {"errors>=0", "errors>=0: unknown (no participant sent errors)"},
        {"error_rate<1", "error_rate<1: unknown (no participant sent errors)"},
        {"rps>0", "rps>0: unknown (no participant sent rps)"},
        {"rps<1e9", "rps<1e9: unknown (no participant sent rps)"},
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        struct threshold t = parse_ok(unknown[i].expr);
        char line[200];
        assert_false(known(&t, &s));
        assert_false(holds(&t, &s));
        assert_true(isnan(actual(&t, &s)));
        verdict(&t, &s, line, sizeof line);
        assert_string_equal(line, unknown[i].line);
    }
    /* What is known is judged as before. */
    static const struct {
        const char *expr, *line;
        int holds;
    } known_[] = {
        {"p50<10ms", "p50<10ms: PASS (p50 = 2.000ms)", 1},
        {"max<5ms", "max<5ms: FAIL (max = 9.000ms)", 0},
        {"min>0", "min>0: PASS (min = 0.500ms)", 1},
        {"sent>=1000", "sent>=1000: PASS (sent = 1000)", 1},
        {"received<10", "received<10: FAIL (received = 1000)", 0},
    };
    for (size_t i = 0; i < sizeof known_ / sizeof known_[0]; i++) {
        struct threshold t = parse_ok(known_[i].expr);
        char line[200];
        assert_true(known(&t, &s));
        assert_int_equal(holds(&t, &s), known_[i].holds);
        verdict(&t, &s, line, sizeof line);
        assert_string_equal(line, known_[i].line);
    }
    /* A missing figure is unknown too; a figure of 0 is known. */
    o = cJSON_Parse("{\"requests_sent\":5,\"responses_received\":5,\"errors\":0,"
                    "\"latency_ms\":{\"p99\":0}}");
    stats_from_json(o, &s);
    cJSON_Delete(o);
    assert_true(s.has_errors && s.has_lat[LAT_P99]);
    assert_false(s.has_rps || s.has_lat[LAT_P90] || s.has_kinds);
    struct threshold t = parse_ok("errors<1");
    assert_true(holds(&t, &s));
    t = parse_ok("p99<=0");
    assert_true(holds(&t, &s));
    t = parse_ok("p90<=0");
    assert_false(holds(&t, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_latency),   cmocka_unit_test(test_parse_counts_and_rates),
        cmocka_unit_test(test_parse_errors),    cmocka_unit_test(test_judge),
        cmocka_unit_test(test_unknown_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
