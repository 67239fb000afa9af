/* verdict: thresholds read from a test request, the figures of the
 * fleet-wide aggregate they are judged on (checks from the status codes,
 * latencies unknown before any response), which breaches stop a test with
 * abort_on_fail, and the verdict's JSON stored and loaded again. */
#include "verdict.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct verdict *from_reqs(const char *json, const struct msg_request *reqs, int n_reqs,
                                 int want_rc, const char *want_err)
{
    static struct verdict v;
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    char err[400] = "";
    int rc = verdict_from_request(o, reqs, n_reqs, &v, err, sizeof err);
    cJSON_Delete(o);
    if (rc != want_rc)
        fail_msg("%s: rc %d (%s)", json, rc, err);
    if (want_err && !strstr(err, want_err))
        fail_msg("%s: '%s' does not say '%s'", json, err, want_err);
    return &v;
}

static struct verdict *from(const char *json, int want_rc, const char *want_err)
{
    return from_reqs(json, NULL, 0, want_rc, want_err);
}

/* A threshold on a request name: one of the test's requests, or refused. */
static void test_request_names(void **state)
{
    (void)state;
    struct msg_request reqs[2];
    memset(reqs, 0, sizeof reqs);
    snprintf(reqs[0].name, sizeof reqs[0].name, "home");
    snprintf(reqs[1].name, sizeof reqs[1].name, "login");
    struct verdict *v =
        from_reqs("{\"thresholds\": [\"home:p95<100ms\", \"login:errors<1%\"]}", reqs, 2, 0, NULL);
    assert_int_equal(v->n, 2);
    assert_string_equal(v->it[1].t.req, "login");
    from_reqs("{\"thresholds\": [\"search:p95<100ms\"]}", reqs, 2, -1, "\"search\"");
    /* A stored definition is not checked again. */
    from_reqs("{\"thresholds\": [\"search:p95<100ms\"]}", NULL, -1, 0, NULL);
    /* Judged on that request's figures. */
    struct agg_req_stats r = {.sent = 10, .responses = 10, .errors = 2};
    r.lat.p95 = 150;
    r.lat.has_ext = 1;
    struct thr_figures f;
    verdict_req_figures(&r, &f);
    struct threshold t;
    char err[200];
    assert_int_equal(threshold_parse("home:errors<1%", &t, err, sizeof err), 0);
    assert_false(threshold_holds(&t, &f));
    assert_int_equal(threshold_parse("home:p95<200ms", &t, err, sizeof err), 0);
    assert_true(threshold_holds(&t, &f));
}

static void test_request(void **state)
{
    (void)state;
    struct verdict *v = from("{}", 0, NULL);
    assert_int_equal(v->n, 0);
    assert_int_equal(v->abort_on_fail, 0);
    v = from("{\"thresholds\": null, \"abort_on_fail\": null}", 0, NULL);
    assert_int_equal(v->n, 0);
    v = from("{\"thresholds\": [\"p99 < 200ms\", \"errors<1%\"], \"abort_on_fail\": true}", 0,
             NULL);
    assert_int_equal(v->n, 2);
    assert_int_equal(v->abort_on_fail, 1);
    assert_string_equal(v->it[0].t.text, "p99<200ms");
    from("{\"thresholds\": [\"p99<\"]}", -1, "\"thresholds\"[0]: threshold 'p99<'");
    from("{\"thresholds\": [\"p99<1s\", 7]}", -1, "\"thresholds\"[1] must be a string");
    from("{\"thresholds\": {\"a\": 1}}", -1, "array of strings");
    from("{\"thresholds\": [\"p99<1s\", \"p99 < 1s\"]}", -1, "twice");
    from("{\"thresholds\": [\"cart:errors<1%\"]}", -1,
         "threshold 'cart:errors<1%' names the request \"cart\"");
    from("{\"abort_on_fail\": 1}", -1, "true or false");
    char big[2048] = "{\"thresholds\": [";
    for (int i = 0; i <= VERDICT_THRESHOLDS_MAX; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"p99<%dms\"", i ? "," : "",
                 i + 1);
    strcat(big, "]}");
    from(big, -1, "over the limit of 32");
}

static void test_figures(void **state)
{
    (void)state;
    struct agg_stats st;
    memset(&st, 0, sizeof st);
    st.has_counts = 1;
    st.lat.has_ext = 1;
    struct thr_figures f;
    verdict_figures(&st, &f);
    assert_false(f.has_lat[LAT_P99]); /* no response yet */
    assert_true(f.has_errors && f.has_checks);
    st.requests_sent = 10;
    st.responses_received = 10;
    st.status[200] = 7;
    st.status[302] = 1;
    st.status[404] = 1;
    st.status[503] = 1;
    st.lat.p99 = 12.5;
    verdict_figures(&st, &f);
    assert_true(f.has_lat[LAT_P99] && f.lat[LAT_P99] == 12.5);
    assert_int_equal(f.checks_passed, 8);
    assert_int_equal(f.checks_failed, 2);
    st.has_counts = 0; /* the original format: no status codes, errors, rps */
    st.lat.has_ext = 0;
    verdict_figures(&st, &f);
    assert_false(f.has_checks || f.has_errors || f.has_rps || f.has_lat[LAT_P99]);
    assert_true(f.has_lat[LAT_MAX]);
}

static void test_judge(void **state)
{
    (void)state;
    struct verdict *v = from("{\"thresholds\": [\"rps>1000\", \"p99<10ms\", \"checks>99%\"],"
                             " \"abort_on_fail\": true}",
                             0, NULL);
    struct thr_figures f;
    memset(&f, 0, sizeof f);
    f.has_rps = f.has_checks = 1;
    /* Nothing known but rps, which does not stop a test. */
    assert_int_equal(verdict_judge(v, &f, NULL, NULL), -1);
    assert_false(verdict_passed(v));
    assert_false(v->it[1].known);
    f.has_lat[LAT_P99] = 1;
    f.lat[LAT_P99] = 20;
    f.checks_passed = 100;
    assert_int_equal(verdict_judge(v, &f, NULL, NULL), 1); /* p99 breaks */
    assert_true(v->it[1].value == 20);
    f.lat[LAT_P99] = 5;
    f.checks_failed = 2;
    assert_int_equal(verdict_judge(v, &f, NULL, NULL), 2); /* checks break */
    f.checks_failed = 0;
    f.rps = 2000;
    assert_int_equal(verdict_judge(v, &f, NULL, NULL), -1);
    assert_true(verdict_passed(v));
    v->abort_on_fail = 0;
    f.lat[LAT_P99] = 50;
    assert_int_equal(verdict_judge(v, &f, NULL, NULL), -1); /* judged, not stopped */
    assert_false(verdict_passed(v));
}

static void test_json(void **state)
{
    (void)state;
    struct verdict none;
    memset(&none, 0, sizeof none);
    cJSON *j = verdict_to_json(&none);
    assert_true(cJSON_IsNull(j));
    cJSON_Delete(j);

    struct verdict *v = from("{\"thresholds\": [\"p99<10ms\", \"errors<1%\"]}", 0, NULL);
    struct thr_figures f;
    memset(&f, 0, sizeof f);
    f.has_lat[LAT_P99] = 1;
    f.lat[LAT_P99] = 4.25;
    verdict_judge(v, &f, NULL, NULL);
    v->final = 1;
    j = verdict_to_json(v);
    char *s = cJSON_PrintUnformatted(j);
    assert_string_equal(s, "{\"passed\":false,\"final\":true,\"thresholds\":["
                           "{\"expr\":\"p99<10ms\",\"holds\":true,\"value\":4.25},"
                           "{\"expr\":\"errors<1%\",\"holds\":false,\"value\":null}]}");
    cJSON *d = verdict_def_to_json(v);
    char *ds = cJSON_PrintUnformatted(d);
    assert_string_equal(ds,
                        "{\"thresholds\":[\"p99<10ms\",\"errors<1%\"],\"abort_on_fail\":false}");
    struct verdict back;
    char err[300];
    assert_int_equal(verdict_load(ds, s, &back, err, sizeof err), 0);
    assert_int_equal(back.n, 2);
    assert_true(back.judged && back.final);
    assert_true(back.it[0].holds && back.it[0].value == 4.25);
    assert_false(back.it[1].holds || back.it[1].known);
    cJSON *j2 = verdict_to_json(&back);
    char *s2 = cJSON_PrintUnformatted(j2);
    assert_string_equal(s, s2);
    assert_int_equal(verdict_load(NULL, NULL, &back, err, sizeof err), 0);
    assert_int_equal(back.n, 0);
    assert_int_equal(verdict_load("[1", NULL, &back, err, sizeof err), -1);
    assert_int_equal(verdict_load(ds, "garbage", &back, err, sizeof err), 0);
    assert_false(back.judged);
    cJSON_free(s);
    cJSON_free(s2);
    cJSON_free(ds);
    cJSON_Delete(j);
    cJSON_Delete(j2);
    cJSON_Delete(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request), cmocka_unit_test(test_request_names),
        cmocka_unit_test(test_figures), cmocka_unit_test(test_judge),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
