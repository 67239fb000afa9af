/* route: every endpoint of docs/API.md by method and path; 405 with the
 * Allow list; 404 for unknown paths, malformed test ids and file paths that
 * would leave the web folder. */
#include "route.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void expect_route(const char *method, const char *path, int status, enum route_id id,
                         const char *arg)
{
    struct route_match m;
    int rc = route_match(method, path, &m);
    assert_int_equal(rc, status);
    if (status != 404) {
        assert_int_equal(m.id, id);
        assert_string_equal(m.arg, arg);
    }
}

static void test_endpoints(void **state)
{
    (void)state;
    expect_route("POST", "/startLoadTest", 200, ROUTE_START_ORIGINAL, "");
    expect_route("POST", "/api/tests", 200, ROUTE_TESTS, "");
    expect_route("GET", "/api/tests", 200, ROUTE_TESTS, "");
    expect_route("GET", "/api/tests/t-abc_1.2:3", 200, ROUTE_TEST, "t-abc_1.2:3");
    expect_route("GET", "/api/tests/t-1/timeseries", 200, ROUTE_TIMESERIES, "t-1");
    expect_route("POST", "/api/tests/t-1/stop", 200, ROUTE_STOP, "t-1");
    expect_route("GET", "/api/drivers", 200, ROUTE_DRIVERS, "");
    expect_route("GET", "/api/events", 200, ROUTE_EVENTS, "");
    expect_route("GET", "/metrics", 200, ROUTE_METRICS, "");
    expect_route("GET", "/", 200, ROUTE_INDEX, "");
    expect_route("GET", "/index.html", 200, ROUTE_INDEX, "");
    expect_route("GET", "/static/app.js", 200, ROUTE_STATIC, "app.js");
    expect_route("GET", "/static/lib/chart-4.1.min.js", 200, ROUTE_STATIC, "lib/chart-4.1.min.js");
    /* HEAD goes wherever GET goes. */
    expect_route("HEAD", "/api/drivers", 200, ROUTE_DRIVERS, "");
}

static void test_methods(void **state)
{
    (void)state;
    struct route_match m;
    assert_int_equal(route_match("GET", "/startLoadTest", &m), 405);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(route_match("DELETE", "/api/tests", &m), 405);
    assert_string_equal(m.allow, "GET, POST");
    assert_int_equal(route_match("GET", "/api/tests/t-1/stop", &m), 405);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(route_match("POST", "/api/tests/t-1", &m), 405);
    assert_string_equal(m.allow, "GET");
    assert_int_equal(route_match("PUT", "/metrics", &m), 405);
    assert_int_equal(route_match("POST", "/", &m), 405);
}

static void test_not_found(void **state)
{
    (void)state;
    const char *paths[] = {
        "/api/test",
        "/api/tests/",
        "/api/tests//stop",
        "/api/tests/t-1/",
        "/api/tests/t-1/stats",
        "/api/tests/t 1",
        "/api/tests/t%201",
        "/api/tests/"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "/api/drivers/x",
        "/static/",
        "/static/../main.c",
        "/static/a/../../x",
        "/static/.hidden",
        "/static/a//b",
        "/static/a/",
        "/static//etc/passwd",
        "/static/a\\b",
        "/startloadtest",
        "",
        "metrics"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct route_match m;
        int rc = route_match("GET", paths[i], &m);
        if (rc != 404)
            fail_msg("GET '%s' -> %d, want 404", paths[i], rc);
    }
    struct route_match m;
    assert_int_equal(route_match(NULL, "/", &m), 404);
    assert_int_equal(route_match("GET", NULL, &m), 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_not_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
