/* tmpl and reqmix: templates parse, refuse unknown names and expand; a
 * request mix decodes, round-trips and refuses what is malformed with the
 * request and the field; by_request round-trips. */
#include "msg.h"
#include "reqmix.h"
#include "tmpl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void expand_is(const char *src, const struct tmpl_ctx *c, const char *want)
{
    struct tmpl t;
    char err[200];
    const char *cols[] = {"user", "pass"};
    if (tmpl_parse(&t, src, strlen(src), cols, 2, err, sizeof err) < 0)
        fail_msg("%s: %s", src, err);
    struct tbuf b = {0};
    assert_int_equal(tmpl_expand(&t, c, &b), 0);
    if (strcmp(b.p ? b.p : "", want) != 0)
        fail_msg("%s: '%s', wanted '%s'", src, b.p ? b.p : "", want);
    free(b.p);
    tmpl_free(&t);
}

static void test_tmpl(void **state)
{
    (void)state;
    uint64_t rng = tmpl_rng_seed(7);
    const char *row[] = {"alice", "x&y"};
    size_t row_len[] = {5, 3};
    struct tmpl_ctx c = {.seq = 42,
                         .driver = 3,
                         .rng = &rng,
                         .now_ms = 1700000000123LL,
                         .row = row,
                         .row_len = row_len};
    expand_is("plain", &c, "plain");
    expand_is("", &c, "");
    expand_is("/u/{{user}}?s={{ seq }}&d={{driver}}", &c, "/u/alice?s=42&d=3");
    expand_is("{{pass}}{{now_ms}}", &c, "x&y1700000000123");
    expand_is("{{rand:5-5}}", &c, "5");
    expand_is("a { b } {c}", &c, "a { b } {c}");
    /* rand stays within its bounds; uuid is version 4. */
    struct tmpl t;
    char err[200];
    assert_int_equal(tmpl_parse(&t, "{{rand:10-20}} {{uuid}}", 23, NULL, 0, err, sizeof err), 0);
    assert_int_equal(t.vars, 2);
    for (int i = 0; i < 200; i++) {
        struct tbuf b = {0};
        assert_int_equal(tmpl_expand(&t, &c, &b), 0);
        long v = strtol(b.p, NULL, 10);
        assert_true(v >= 10 && v <= 20);
        const char *u = strchr(b.p, ' ') + 1;
        assert_int_equal(strlen(u), 36);
        assert_true(u[8] == '-' && u[14] == '4' && strchr("89ab", u[19]));
        free(b.p);
    }
    tmpl_free(&t);
    static const struct {
        const char *s, *why;
    } bad[] = {{"{{user}}", "unknown variable {{user}}"},
               {"{{seq", "unclosed"},
               {"{{rand:5-1}}", "A <= B"},
               {"{{rand:x-1}}", "rand"},
               {"{{}}", "unknown variable {{}}"},
               {"{{ Seq }}", "unknown variable {{Seq}}"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (tmpl_check(bad[i].s, strlen(bad[i].s), NULL, 0, err, sizeof err) != -1 ||
            !strstr(err, bad[i].why))
            fail_msg("%s: '%s', wanted '%s'", bad[i].s, err, bad[i].why);
    }
}

#define MIX(reqs)                                                                                  \
    "{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":10,"              \
    "\"target_url\":\"http://127.0.0.1:9/\",\"requests\":" reqs "}"

static void test_mix(void **state)
{
    (void)state;
    char err[400];
    struct msg_test_config m, back;
    const char *s = MIX("[{\"name\":\"home\",\"url\":\"http://127.0.0.1:9/p?s={{seq}}\","
                        "\"weight\":3,\"checks\":{\"status\":[200,204],\"body_contains\":\"OK\","
                        "\"json\":{\"path\":\"a.b\",\"equals\":{\"x\":1}}}},"
                        "{\"name\":\"post\",\"method\":\"post\",\"body\":\"id={{uuid}}\","
                        "\"headers\":{\"X-Id\":\"{{driver}}\"}}]");
    assert_int_equal(msg_test_config_decode(s, strlen(s), &m, err, sizeof err), 0);
    assert_int_equal(m.n_requests, 2);
    assert_string_equal(m.requests[0].name, "home");
    assert_int_equal(m.requests[0].weight, 3);
    assert_int_equal(m.requests[0].checks.n_status, 2);
    assert_string_equal(m.requests[0].checks.json_equals, "{\"x\":1}");
    assert_string_equal(m.requests[1].method, "POST");
    assert_int_equal(m.requests[1].weight, 1);
    char *enc = msg_test_config_encode(&m);
    assert_int_equal(msg_test_config_decode(enc, strlen(enc), &back, err, sizeof err), 0);
    assert_int_equal(back.n_requests, 2);
    assert_string_equal(back.requests[1].body, "id={{uuid}}");
    assert_string_equal(back.requests[0].checks.body_contains, "OK");
    struct msg_test_config copy;
    assert_int_equal(msg_test_config_copy(&copy, &back), 0);
    assert_string_equal(copy.requests[1].headers[0].value, "{{driver}}");
    msg_test_config_free(&copy);
    msg_test_config_free(&back);
    free(enc);
    msg_test_config_free(&m);

    static const struct {
        const char *s, *why;
    } bad[] = {
        {MIX("[]"), "1..100"},
        {MIX("{}"), "array"},
        {MIX("[{}]"), "request 1: needs a \"name\""},
        {MIX("[{\"name\":\"a b\"}]"), "name"},
        {MIX("[{\"name\":\"a\"},{\"name\":\"a\"}]"), "given twice"},
        {MIX("[{\"name\":\"a\",\"url\":\"http://127.0.0.1/{{user}}\"}]"),
         "request 1 (\"a\"): \"url\": unknown variable {{user}}"},
        {MIX("[{\"name\":\"a\",\"url\":\"http://{{host}}/\"}]"), "scheme or host"},
        {MIX("[{\"name\":\"a\",\"url\":\"ftp://x/\"}]"), "http://"},
        {MIX("[{\"name\":\"a\",\"body\":\"{{pw}}\",\"method\":\"POST\"}]"), "\"body\": unknown"},
        {MIX("[{\"name\":\"a\",\"headers\":{\"X\":\"{{nope}}\"}}]"), "header \"X\": unknown"},
        {MIX("[{\"name\":\"a\",\"weight\":0}]"), "weight"},
        {MIX("[{\"name\":\"a\",\"weight\":1.5}]"), "weight"},
        {MIX("[{\"name\":\"a\",\"method\":\"GET\",\"body\":\"x\"}]"), "sends no body"},
        {MIX("[{\"name\":\"a\",\"checks\":{\"status\":[99]}}]"), "100..599"},
        {MIX("[{\"name\":\"a\",\"checks\":{\"json\":{\"path\":\"a\"}}}]"), "equals"},
        {MIX("[{\"name\":\"a\",\"checks\":{\"colour\":1}}]"), "unknown field \"colour\""},
        {MIX("[{\"name\":\"a\",\"verb\":\"GET\"}]"), "unknown field \"verb\""},
        {MIX("[{\"name\":\"a\",\"headers\":{\"Content-Length\":\"1\"}}]"), "frames the body"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":1,"
         "\"method\":\"POST\",\"requests\":[{\"name\":\"a\"}]}",
         "per request"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":1,"
         "\"headers\":{\"X\":\"1\"},\"requests\":[{\"name\":\"a\",\"headers\":{\"x\":\"2\"}}]}",
         "for the test and for request \"a\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = msg_test_config_decode(bad[i].s, strlen(bad[i].s), &m, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[i].why))
            fail_msg("case %zu: rc %d '%s', wanted '%s'", i, rc, err, bad[i].why);
    }
}

static void test_by_request(void **state)
{
    (void)state;
    char err[300];
    const char *s =
        "{\"node_id\":\"n\",\"test_id\":\"t\",\"report_id\":\"r\",\"seq\":1,\"final\":false,"
        "\"metrics\":{\"mean_latency\":0.001,\"median_latency\":0.001,\"min_latency\":0.001,"
        "\"max_latency\":0.001},\"requests_sent\":5,\"responses_received\":5,\"errors\":0,"
        "\"checks_passed\":4,\"checks_failed\":1,"
        "\"by_request\":{\"home\":{\"requests_sent\":5,\"responses_received\":5,\"errors\":0,"
        "\"checks_passed\":4,\"checks_failed\":1,\"checks_failed_by\":{\"status\":0,"
        "\"body_contains\":1,\"json\":0},\"histogram\":\"AAAA\"}}}";
    struct msg_metrics m, back;
    assert_int_equal(msg_metrics_decode(s, strlen(s), &m, err, sizeof err), 0);
    assert_true(m.has_checks && m.checks_passed == 4 && m.checks_failed == 1);
    assert_int_equal(m.n_by_request, 1);
    assert_string_equal(m.by_request[0].name, "home");
    assert_int_equal(m.by_request[0].failed_body, 1);
    char *enc = msg_metrics_encode(&m);
    assert_int_equal(msg_metrics_decode(enc, strlen(enc), &back, err, sizeof err), 0);
    assert_int_equal(back.n_by_request, 1);
    assert_int_equal(back.by_request[0].checks_passed, 4);
    assert_string_equal(back.by_request[0].histogram, "AAAA");
    free(enc);
    msg_metrics_free(&back);
    msg_metrics_free(&m);
    const char *bad = "{\"node_id\":\"n\",\"test_id\":\"t\",\"report_id\":\"r\",\"seq\":1,"
                      "\"metrics\":{\"mean_latency\":0,\"median_latency\":0,\"min_latency\":0,"
                      "\"max_latency\":0},\"requests_sent\":1,"
                      "\"by_request\":{\"a b\":{}}}";
    assert_int_equal(msg_metrics_decode(bad, strlen(bad), &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "by_request"));
    bad = "{\"node_id\":\"n\",\"test_id\":\"t\",\"report_id\":\"r\",\"seq\":1,"
          "\"metrics\":{\"mean_latency\":0,\"median_latency\":0,\"min_latency\":0,"
          "\"max_latency\":0},\"requests_sent\":1,"
          "\"by_request\":{\"a\":{\"requests_sent\":1,\"responses_received\":2}}}";
    assert_int_equal(msg_metrics_decode(bad, strlen(bad), &m, err, sizeof err), -1);
    assert_non_null(strstr(err, "more responses"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tmpl),
        cmocka_unit_test(test_mix),
        cmocka_unit_test(test_by_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
