/* plan: share splitting, schedules, error classification, target checks. */
#include "plan.h"

#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_share(void **state)
{
    (void)state;
    /* Shares add up to the total and differ by at most one. */
    for (int parts = 1; parts <= 7; parts++) {
        for (int64_t total = 0; total <= 50; total++) {
            int64_t sum = 0, lo = INT64_MAX, hi = 0;
            for (int k = 0; k < parts; k++) {
                int64_t s = plan_share(total, parts, k);
                sum += s;
                lo = s < lo ? s : lo;
                hi = s > hi ? s : hi;
            }
            assert_int_equal(sum, total);
            assert_true(hi - lo <= 1);
        }
    }
    assert_int_equal(plan_share(10, 3, 0), 4);
    assert_int_equal(plan_share(10, 3, 1), 3);
    assert_int_equal(plan_share(10, 3, 2), 3);
    assert_int_equal(plan_share(10, 3, 3), 0);
    assert_int_equal(plan_share(10, 0, 0), 0);
    assert_int_equal(plan_share(10, 2, -1), 0);
    /* The interleaved indices of thread k number exactly its share. */
    int64_t seen[23] = {0};
    for (int k = 0; k < 4; k++)
        for (int64_t j = 0; j < plan_share(23, 4, k); j++)
            seen[plan_index(k, 4, j)]++;
    for (int i = 0; i < 23; i++)
        assert_int_equal(seen[i], 1);
}

static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(plan_threads(4, 1000, 64), 4);
    assert_int_equal(plan_threads(4, 2, 64), 2);   /* fewer requests than threads */
    assert_int_equal(plan_threads(4, 1000, 3), 3); /* fewer slots than threads */
    assert_int_equal(plan_threads(0, 1000, 64), 1);
    assert_int_equal(plan_threads(1, 1, 1), 1);
}

static void test_schedule(void **state)
{
    (void)state;
    /* TSUNAMI: the gap is the delay; a throughput overrides it. */
    assert_true(plan_gap_us(1, 0.02, 0) == 20000.0);
    assert_true(plan_gap_us(1, 0.02, 100) == 10000.0);
    assert_true(plan_gap_us(0, 0.02, 0) == 0.0); /* AVALANCHE ignores the delay */
    assert_true(plan_gap_us(0, 0, 4) == 250000.0);
    assert_true(plan_gap_us(1, 0, 0) == 0.0);
    /* Request i is due at start + i * gap, fractions included. */
    assert_int_equal(plan_due_us(1000, 20000, 0), 1000);
    assert_int_equal(plan_due_us(1000, 20000, 49), 1000 + 49 * 20000);
    assert_int_equal(plan_due_us(0, 333.5, 2), 667);
    /* No drift over a long run: 10^9 requests at 1 µs. */
    assert_int_equal(plan_due_us(0, 1.0, 1000000000LL), 1000000000LL);
    /* Two threads interleave: together they keep the 20 ms gaps. */
    int64_t due[10];
    for (int k = 0; k < 2; k++)
        for (int64_t j = 0; j < 5; j++)
            due[plan_index(k, 2, j)] = plan_due_us(0, 20000, plan_index(k, 2, j));
    for (int i = 1; i < 10; i++)
        assert_int_equal(due[i] - due[i - 1], 20000);
    /* start_at: epoch ms converted to the monotonic base once. */
    assert_int_equal(plan_start_mono(0, 5000, 777), 777);
    assert_int_equal(plan_start_mono(4000, 5000, 777), 777); /* in the past: at once */
    assert_int_equal(plan_start_mono(5250, 5000, 777), 777 + 250000);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(plan_classify(CURLE_OK, 200), PLAN_OK);
    assert_int_equal(plan_classify(CURLE_OK, 204), PLAN_OK);
    assert_int_equal(plan_classify(CURLE_OK, 301), PLAN_OK);
    assert_int_equal(plan_classify(CURLE_OK, 404), PLAN_ERR_4XX);
    assert_int_equal(plan_classify(CURLE_OK, 429), PLAN_ERR_4XX);
    assert_int_equal(plan_classify(CURLE_OK, 500), PLAN_ERR_5XX);
    assert_int_equal(plan_classify(CURLE_OK, 503), PLAN_ERR_5XX);
    assert_int_equal(plan_classify(CURLE_OK, 0), PLAN_ERR_OTHER);
    assert_int_equal(plan_classify(CURLE_OK, 101), PLAN_ERR_OTHER);
    assert_int_equal(plan_classify(CURLE_OK, 999), PLAN_ERR_OTHER);
    assert_int_equal(plan_classify(CURLE_COULDNT_CONNECT, 0), PLAN_ERR_CONNECT);
    assert_int_equal(plan_classify(CURLE_COULDNT_RESOLVE_HOST, 0), PLAN_ERR_CONNECT);
    assert_int_equal(plan_classify(CURLE_OPERATION_TIMEDOUT, 0), PLAN_ERR_TIMEOUT);
    /* A timeout after the status line arrived is still a timeout. */
    assert_int_equal(plan_classify(CURLE_OPERATION_TIMEDOUT, 200), PLAN_ERR_TIMEOUT);
    assert_int_equal(plan_classify(CURLE_GOT_NOTHING, 0), PLAN_ERR_OTHER);
    assert_int_equal(plan_classify(CURLE_RECV_ERROR, 0), PLAN_ERR_OTHER);
    assert_int_equal(plan_classify(CURLE_WEIRD_SERVER_REPLY, 0), PLAN_ERR_OTHER);
    assert_string_equal(plan_kind_name(PLAN_ERR_5XX), "http_5xx");
    assert_string_equal(plan_kind_name(PLAN_ERR_CONNECT), "connect");
    assert_string_equal(plan_kind_name(PLAN_ERR_OTHER), "other");
}

static void test_url_host(void **state)
{
    (void)state;
    char host[256], err[256];
    assert_int_equal(
        plan_url_host("http://127.0.0.1:8081/ping", host, sizeof host, err, sizeof err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(plan_url_host("HTTPS://Example.COM/x?y=1", host, sizeof host, err, sizeof err),
                     0);
    assert_string_equal(host, "example.com");
    assert_int_equal(plan_url_host("http://[::1]:80/", host, sizeof host, err, sizeof err), 0);
    assert_string_equal(host, "::1");
    /* User info does not fool the check: the host is what follows '@'. */
    assert_int_equal(
        plan_url_host("http://127.0.0.1@evil.example/", host, sizeof host, err, sizeof err), 0);
    assert_string_equal(host, "evil.example");
    const char *bad[] = {"",          "ftp://127.0.0.1/",   "127.0.0.1:80",         "http://",
                         "http:///x", "file:///etc/passwd", "http://exa mple.com/", "gopher://x/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(plan_url_host(bad[i], host, sizeof host, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        assert_string_equal(host, "");
    }
}

static void test_allowed(void **state)
{
    (void)state;
    assert_true(plan_host_loopback("127.0.0.1"));
    assert_true(plan_host_loopback("127.8.9.10"));
    assert_true(plan_host_loopback("::1"));
    assert_true(plan_host_loopback("::ffff:127.0.0.1"));
    assert_true(plan_host_loopback("localhost"));
    assert_false(plan_host_loopback("128.0.0.1"));
    assert_false(plan_host_loopback("10.0.0.1"));
    assert_false(plan_host_loopback("::2"));
    assert_false(plan_host_loopback("localhost.example"));

    const char *def[] = {"target.example"};
    /* Default: the --target host plus loopback. */
    assert_true(plan_host_allowed("target.example", def, 1, 1));
    assert_true(plan_host_allowed("TARGET.example", def, 1, 1));
    assert_true(plan_host_allowed("127.0.0.1", def, 1, 1));
    assert_false(plan_host_allowed("other.example", def, 1, 1));
    assert_false(plan_host_allowed("10.1.2.3", def, 1, 1));
    /* An explicit list is exactly that list. */
    const char *list[] = {"127.0.0.2", "[::1]"};
    assert_true(plan_host_allowed("127.0.0.2", list, 2, 0));
    assert_true(plan_host_allowed("::1", list, 2, 0));
    assert_false(plan_host_allowed("127.0.0.1", list, 2, 0));
    const char *lo[] = {"loopback"};
    assert_true(plan_host_allowed("127.0.0.1", lo, 1, 0));
    assert_false(plan_host_allowed("192.168.1.1", lo, 1, 0));
    const char *any[] = {"*"};
    assert_true(plan_host_allowed("192.168.1.1", any, 1, 0));
    assert_false(plan_host_allowed("", any, 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share),    cmocka_unit_test(test_threads),
        cmocka_unit_test(test_schedule), cmocka_unit_test(test_classify),
        cmocka_unit_test(test_url_host), cmocka_unit_test(test_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
