/* Hostile input to the orchestrator's pure REST side: route_unescape keeps
 * %00 from cutting a path short, and api_parse_test refuses what no driver
 * could run as asked (duplicate drivers, keys given twice, \u0000 in a
 * string, a bad port, a HEAD with a body, framing headers). */
#include "apibody.h"
#include "route.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void expect_unescape(const char *in, const char *out, int want_nul)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", in);
    int nul = -1;
    size_t n = route_unescape(buf, &nul);
    assert_int_equal(n, strlen(out));
    assert_string_equal(buf, out);
    assert_int_equal(nul, want_nul);
}

static void test_unescape(void **state)
{
    (void)state;
    expect_unescape("/api/drivers", "/api/drivers", 0);
    expect_unescape("/api/%64rivers", "/api/drivers", 0);
    expect_unescape("/api/drivers%00.js", "/api/drivers%00.js", 1);
    expect_unescape("%00", "%00", 1);
    expect_unescape("%2500", "%00", 0);
    expect_unescape("a%4", "a%4", 0);
    expect_unescape("a%zz%", "a%zz%", 0);
    expect_unescape("%41%42%4a%4A", "ABJJ", 0);
    expect_unescape("x%01y", "x\001y", 0);
    struct route_match m;
    char buf[64] = "/api/drivers%00.js";
    int nul = 0;
    route_unescape(buf, &nul);
    assert_int_equal(route_match("GET", buf, &m), 404);
}

static void expect_refused(const char *body, const char *words)
{
    struct msg_test_config cfg;
    int64_t md = 0;
    char err[512] = "";
    assert_int_equal(api_parse_test(body, strlen(body), 0, &cfg, &md, NULL, err, sizeof err), -1);
    if (!strstr(err, words))
        fail_msg("error \"%s\" does not mention \"%s\" (body %s)", err, words, body);
}

#define T "{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":5,"

static void test_bodies(void **state)
{
    (void)state;
    expect_refused(T "\"drivers\":[\"d-1\",\"d-2\",\"d-1\"]}", "\"d-1\" more than once");
    expect_refused(T "\"drivers\":[\"d-1\",\"d-1\"]}", "\"d-1\" more than once");
    expect_refused(T "\"message_count_per_driver\":6}", "given twice");
    expect_refused(T "\"headers\":{\"A\":\"1\",\"A\":\"2\"}}", "given twice");
    expect_refused(T "\"drivers\":[\"d-1\"],\"min_drivers\":2}", "min_drivers");
    expect_refused(T "\"target_url\":\"http://h:65536/\"}", "target_url");
    expect_refused(T "\"target_url\":\"http://[::1/\"}", "target_url");
    expect_refused(T "\"method\":\"HEAD\",\"body\":\"x\"}", "HEAD");
    expect_refused(T "\"headers\":{\"content-length\":\"3\"}}", "content-length");
    expect_refused(T "\"headers\":{\"X\":\"a\\u0007b\"}}", "control character");
    expect_refused(T "\"headers\":{\"X\":\"a\\u0000b\"}}", "\\u0000");
    expect_refused(T "\"body\":\"a\\u0000b\"}", "\\u0000");
    struct msg_test_config cfg;
    int64_t md = 0;
    char err[512] = "";
    const char *ok = T "\"drivers\":[\"d-1\",\"d-2\"],\"min_drivers\":2,"
                       "\"target_url\":\"http://[::1]:8081/ping\","
                       "\"headers\":{\"X\":\"a\\\\u0000b\\tc\"}}";
    assert_int_equal(api_parse_test(ok, strlen(ok), 0, &cfg, &md, NULL, err, sizeof err), 0);
    assert_int_equal(md, 2);
    assert_string_equal(cfg.headers[0].value, "a\\u0000b\tc");
    msg_test_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
