/* startcfg: every start flag, the unit conversions (--delay to seconds,
 * --timeout and --report-interval to ms), and the checks that keep a config
 * the drivers would refuse from being sent. */
#define _POSIX_C_SOURCE 200809L
#include "startcfg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void set_ok(struct startcfg *c, const char *flag, const char *v)
{
    char err[300] = "";
    if (startcfg_set(c, flag, v, err, sizeof err) != 0)
        fail_msg("--%s %s: %s", flag, v ? v : "", err);
}

static void set_bad(struct startcfg *c, const char *flag, const char *v, const char *why)
{
    char err[300] = "";
    if (startcfg_set(c, flag, v, err, sizeof err) == 0)
        fail_msg("--%s %s was accepted", flag, v ? v : "");
    if (!strstr(err, why))
        fail_msg("--%s %s: '%s' does not say '%s'", flag, v ? v : "", err, why);
    char prefix[40];
    snprintf(prefix, sizeof prefix, "--%s: ", flag);
    assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
}

static cJSON *finish_ok(const struct startcfg *c)
{
    cJSON *o = NULL;
    char err[300] = "";
    if (startcfg_finish(c, &o, err, sizeof err) != 0)
        fail_msg("finish: %s", err);
    return o;
}

static void finish_bad(const struct startcfg *c, const char *why)
{
    cJSON *o = NULL;
    char err[300] = "";
    assert_int_equal(startcfg_finish(c, &o, err, sizeof err), -1);
    assert_null(o);
    if (!strstr(err, why))
        fail_msg("'%s' does not say '%s'", err, why);
}

static void test_thresholds(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    set_ok(&c, "abort-on-fail", NULL);
    finish_bad(&c, "add --threshold");
    set_ok(&c, "threshold", " p99 < 200 ms");
    set_ok(&c, "threshold", "checks>99%");
    set_ok(&c, "threshold", "home:p95<1s"); /* the orchestrator knows the names */
    set_bad(&c, "threshold", "p98<1s", "unknown metric");
    set_bad(&c, "threshold", "checks>2", "fraction");
    cJSON *o = finish_ok(&c);
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "thresholds"));
    assert_string_equal(s, "[\"p99<200ms\",\"checks>99%\",\"home:p95<1s\"]");
    cJSON_free(s);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "abort_on_fail")));
    cJSON_Delete(o);
    startcfg_close(&c);
    startcfg_init(&c);
    for (int i = 0; i < STARTCFG_THRESHOLDS_MAX; i++)
        set_ok(&c, "threshold", "p99<1s");
    set_bad(&c, "threshold", "p99<1s", "at most 32");
    startcfg_close(&c);
}

static char *file_with(const char *text)
{
    static char path[] = "/tmp/dlt-startcfg-XXXXXX";
    strcpy(path, "/tmp/dlt-startcfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void load_bad(const char *text, const char *why)
{
    struct startcfg c;
    startcfg_init(&c);
    char *path = file_with(text);
    char err[800] = "";
    assert_int_equal(startcfg_load_file(&c, path, err, sizeof err), -1);
    unlink(path);
    if (!strstr(err, why))
        fail_msg("%s: '%s' does not say '%s'", text, err, why);
    assert_true(strncmp(err, "-f", 2) == 0);
    startcfg_close(&c);
}

static void test_file(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    char *path = file_with(
        "{\"test_type\": \"TSUNAMI\", \"test_message_delay\": 0.01,"
        " \"message_count_per_driver\": 500, \"target_url\": \"http://127.0.0.1:8081/ping\","
        " \"method\": \"POST\", \"headers\": {\"X-A\": \"1\"}, \"body\": \"hi\","
        " \"concurrency\": 8, \"timeout_ms\": 1500, \"drivers\": [\"d-1\", \"d-2\"],"
        " \"min_drivers\": 2, \"report_interval_ms\": 250, \"http2\": false,"
        " \"thresholds\": [\"p99<200ms\", \"checks>99%\"], \"abort_on_fail\": true}\n");
    char err[800] = "";
    if (startcfg_load_file(&c, path, err, sizeof err) != 0)
        fail_msg("load: %s", err);
    unlink(path);
    set_ok(&c, "count", "600"); /* a flag after the file overrides it */
    set_ok(&c, "threshold", "errors<1%");
    cJSON *o = finish_ok(&c);
    char *s = cJSON_PrintUnformatted(o);
    assert_string_equal(
        s, "{\"test_type\":\"TSUNAMI\",\"test_message_delay\":0.01,"
           "\"message_count_per_driver\":600,\"target_url\":\"http://127.0.0.1:8081/ping\","
           "\"method\":\"POST\",\"headers\":{\"X-A\":\"1\"},\"body\":\"hi\",\"concurrency\":8,"
           "\"timeout_ms\":1500,\"drivers\":[\"d-1\",\"d-2\"],\"report_interval_ms\":250,"
           "\"min_drivers\":2,\"thresholds\":[\"p99<200ms\",\"checks>99%\",\"errors<1%\"],"
           "\"abort_on_fail\":true}");
    cJSON_free(s);
    cJSON_Delete(o);
    startcfg_close(&c);

    load_bad("{\"thresholds\": [\"p98<1s\"]}", "\"thresholds\": threshold 'p98<1s'");
    load_bad("{\"thresholds\": \"p99<1s\"}", "array of strings");
    load_bad("{\"abort_on_fail\": \"yes\"}", "\"abort_on_fail\" must be true or false");
    load_bad("{\"message_count_per_driver\": 1.5}", "whole number");
    load_bad("{\"message_count_per_driver\": 0}", "\"message_count_per_driver\": ");
    load_bad("{\"test_type\": \"FLOOD\"}", "unknown test type");
    load_bad("{\"stagez\": []}", "unknown field \"stagez\"");
    load_bad("{\"concurrency\": 1, \"concurrency\": 2}", "given twice");
    load_bad("[1, 2]", "a JSON object");
    load_bad("{\"test_type\": ", "not valid JSON");
    load_bad("{} {}", "data after");
    char err2[800];
    startcfg_init(&c);
    assert_int_equal(startcfg_load_file(&c, "/nonexistent/dlt.json", err2, sizeof err2), -1);
    assert_non_null(strstr(err2, "cannot open"));
    startcfg_close(&c);
}

static void test_yaml(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    char *path = file_with("# a ramp with a mix\n"
                           "test_type: TSUNAMI\n"
                           "duration: 2m\n"
                           "stages:\n"
                           "  - {duration: 10s, target: 500}\n"
                           "  - duration: 20\n"
                           "    target: 2000\n"
                           "thresholds: [p99<200ms]\n"
                           "abort_on_fail: true\n"
                           "requests:\n"
                           "  - name: home\n"
                           "    url: \"http://127.0.0.1:8081/ping?s={{seq}}\"\n"
                           "    weight: 3\n"
                           "    checks: {status: [200], body_contains: OK}\n"
                           "  - name: api\n"
                           "    method: POST\n"
                           "    body: |\n"
                           "      {\"id\": \"{{uuid}}\"}\n");
    char err[800] = "";
    if (startcfg_load_file(&c, path, err, sizeof err) != 0)
        fail_msg("load: %s", err);
    unlink(path);
    cJSON *o = finish_ok(&c);
    assert_true(cJSON_GetObjectItem(o, "duration")->valuedouble == 120);
    const cJSON *st = cJSON_GetObjectItem(o, "stages");
    assert_int_equal(cJSON_GetArraySize(st), 2);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 1), "target")->valuedouble == 2000);
    const cJSON *r = cJSON_GetObjectItem(o, "requests");
    assert_int_equal(cJSON_GetArraySize(r), 2);
    const cJSON *home = cJSON_GetArrayItem(r, 0);
    assert_true(cJSON_GetObjectItem(home, "weight")->valuedouble == 3);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(home, "checks"), "body_contains")->valuestring,
        "OK");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 1), "body")->valuestring,
                        "{\"id\": \"{{uuid}}\"}\n");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "abort_on_fail")));
    cJSON_Delete(o);
    startcfg_close(&c);

    /* A quoted scalar stays a string: the drivers' validation names it. */
    load_bad("test_type: AVALANCHE\nmessage_count_per_driver: \"5\"\n", "whole number");
    load_bad("test_type: AVALANCHE\nduration: 5\nduration: 6\n", "given twice");
    load_bad("a: &x 1\nb: *x\n", "anchors");
    load_bad("test_type: AVALANCHE\n---\ntest_type: TSUNAMI\n", "more than one document");
    load_bad("test_type: [AVALANCHE\n", "line ");
    /* The mix is checked with the rest of the test, before anything is sent. */
    startcfg_init(&c);
    path = file_with("test_type: AVALANCHE\nduration: 1\nrequests:\n  - name: x\n"
                     "    url: \"http://h/{{nope}}\"\n");
    assert_int_equal(startcfg_load_file(&c, path, err, sizeof err), 0);
    unlink(path);
    finish_bad(&c, "request 1 (\"x\"): \"url\": unknown variable {{nope}}");
    startcfg_close(&c);
    load_bad("test_type: AVALANCHE\nstages: [{duration: 1}]\n", "stage 1 must be");
    load_bad("- 1\n- 2\n", "a JSON object");
}

/* --data and --data-mode; a file's data: {file, csv, mode}, its file
 * found beside the test file; the data is checked with the rest. */
static void test_data(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    char csv[64];
    snprintf(csv, sizeof csv, "%s", file_with("user,pass\nann,x\nbo,\"y,z\"\n"));
    set_ok(&c, "data", csv);
    set_ok(&c, "data-mode", "shared");
    set_ok(&c, "duration", "5");
    char err[300];
    cJSON *ro =
        cJSON_Parse("{\"requests\": [{\"name\": \"l\", \"url\": \"http://h/?u={{user}}\"}]}");
    assert_int_equal(startcfg_from_json(&c, ro, err, sizeof err), 0);
    cJSON_Delete(ro);
    cJSON *o = finish_ok(&c);
    const cJSON *d = cJSON_GetObjectItem(o, "data");
    assert_string_equal(cJSON_GetObjectItem(d, "csv")->valuestring,
                        "user,pass\nann,x\nbo,\"y,z\"\n");
    assert_string_equal(cJSON_GetObjectItem(d, "mode")->valuestring, "shared");
    cJSON_Delete(o);
    /* A later --data replaces the first; a bad row is refused with its line. */
    char bad[64];
    snprintf(bad, sizeof bad, "%s", file_with("user,pass\nann\n"));
    set_ok(&c, "data", bad);
    finish_bad(&c, "line 2: 1 value(s)");
    unlink(bad);
    startcfg_close(&c);
    set_bad(&c, "data-mode", "both", "split or shared");
    set_bad(&c, "data", "/nonexistent/users.csv", "cannot open");
    /* Data without a mix. */
    set_ok(&c, "data", csv);
    finish_bad(&c, "for a request mix");
    startcfg_close(&c);

    /* In a file: data.file is found beside it. */
    char dir[] = "/tmp/dlt-startcfg-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], users[128];
    snprintf(users, sizeof users, "%s/users.csv", dir);
    FILE *f = fopen(users, "w");
    assert_non_null(f);
    fputs("user\ncarol\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/t.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("test_type: AVALANCHE\nduration: 1\ndata: {file: users.csv}\nrequests:\n"
          "  - {name: x, url: \"http://h/{{user}}\"}\n",
          f);
    fclose(f);
    startcfg_init(&c);
    if (startcfg_load_file(&c, path, err, sizeof err) != 0)
        fail_msg("data.file: %s", err);
    o = finish_ok(&c);
    d = cJSON_GetObjectItem(o, "data");
    assert_string_equal(cJSON_GetObjectItem(d, "csv")->valuestring, "user\ncarol\n");
    assert_null(cJSON_GetObjectItem(d, "mode"));
    cJSON_Delete(o);
    startcfg_close(&c);
    unlink(users);
    unlink(path);
    rmdir(dir);
    unlink(csv);
    load_bad("test_type: AVALANCHE\ndata: {file: nope.csv}\n", "\"data.file\": cannot open");
    load_bad("test_type: AVALANCHE\ndata: {csv: \"a\\n1\\n\", file: x}\n", "one of \"file\"");
    load_bad("test_type: AVALANCHE\ndata: {csv: x, sep: \";\"}\n", "unknown field \"sep\"");
    load_bad("test_type: AVALANCHE\ndata: {csv: x, mode: all}\n", "\"data.mode\": split or shared");
    load_bad("test_type: AVALANCHE\ndata: users.csv\n", "\"data\" must be an object");
}

/* Every file in examples/ is a test definition the drivers accept. */
static void test_examples(void **state)
{
    (void)state;
    static const char *const files[] = {"original-tsunami.json", "soak.yaml", "ramp-to-break.yaml",
                                        "browse-mix.yaml", "fleet-rate.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024], err[800] = "";
        snprintf(path, sizeof path, "%s/examples/%s", DLT_SOURCE_DIR, files[i]);
        struct startcfg c;
        startcfg_init(&c);
        if (startcfg_load_file(&c, path, err, sizeof err) != 0)
            fail_msg("%s: %s", files[i], err);
        cJSON *o = NULL;
        if (startcfg_finish(&c, &o, err, sizeof err) != 0)
            fail_msg("%s: %s", files[i], err);
        cJSON_Delete(o);
        startcfg_close(&c);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    cJSON *o = finish_ok(&c);
    char *s = cJSON_PrintUnformatted(o);
    assert_string_equal(s, "{\"test_type\":\"AVALANCHE\",\"test_message_delay\":0,"
                           "\"message_count_per_driver\":100}");
    cJSON_free(s);
    cJSON_Delete(o);
    startcfg_close(&c);
}

static void test_every_flag(void **state)
{
    (void)state;
    char path[] = "/tmp/test_client_startcfg_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"k\": \"v\"}\n", 11), 11);
    close(fd);

    struct startcfg c;
    startcfg_init(&c);
    set_ok(&c, "type", "Tsunami");
    set_ok(&c, "count", "2500");
    set_ok(&c, "delay", "10ms");
    set_ok(&c, "url", "http://127.0.0.1:8081/ping");
    set_ok(&c, "method", "post");
    set_ok(&c, "header", "X-Trace:  abc ");
    set_ok(&c, "header", "Content-Type: application/json");
    set_ok(&c, "body-file", path);
    set_ok(&c, "concurrency", "16");
    set_ok(&c, "timeout", "2.5s");
    set_ok(&c, "drivers", "d-1, d-2");
    set_ok(&c, "min-drivers", "2");
    set_ok(&c, "report-interval", "500");
    set_ok(&c, "http2", NULL);
    cJSON *o = finish_ok(&c);
    char *s = cJSON_PrintUnformatted(o);
    assert_string_equal(
        s, "{\"test_type\":\"TSUNAMI\",\"test_message_delay\":0.01,"
           "\"message_count_per_driver\":2500,\"target_url\":\"http://127.0.0.1:8081/ping\","
           "\"method\":\"POST\",\"headers\":{\"X-Trace\":\"abc\",\"Content-Type\":"
           "\"application/json\"},\"body\":\"{\\\"k\\\": \\\"v\\\"}\\n\",\"concurrency\":16,"
           "\"timeout_ms\":2500,\"drivers\":[\"d-1\",\"d-2\"],\"report_interval_ms\":500,"
           "\"http2\":true,\"min_drivers\":2}");
    cJSON_free(s);
    cJSON_Delete(o);
    startcfg_close(&c);
    unlink(path);

    /* --delay: a bare number is seconds; a rate alone is enough for tsunami. */
    startcfg_init(&c);
    set_ok(&c, "type", "tsunami");
    set_ok(&c, "delay", "2");
    o = finish_ok(&c);
    assert_true(cJSON_GetObjectItem(o, "test_message_delay")->valuedouble == 2.0);
    cJSON_Delete(o);
    startcfg_close(&c);
    startcfg_init(&c);
    set_ok(&c, "type", "tsunami");
    set_ok(&c, "rate", "250.5");
    o = finish_ok(&c);
    assert_null(cJSON_GetObjectItem(o, "test_message_delay"));
    assert_true(cJSON_GetObjectItem(o, "target_throughput")->valuedouble == 250.5);
    cJSON_Delete(o);
    startcfg_close(&c);
}

static void test_bad_values(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    set_bad(&c, "type", "flood", "unknown test type 'flood'");
    set_bad(&c, "count", "0", "out of range");
    set_bad(&c, "count", "12x", "not a whole number");
    set_bad(&c, "delay", "-1", "negative");
    set_bad(&c, "delay", "5 parsecs", "unknown unit");
    set_bad(&c, "delay", "2h", "too long");
    set_bad(&c, "url", "ftp://x", "not an http:// or https:// URL");
    set_bad(&c, "method", "TRACE", "unknown method");
    set_bad(&c, "header", "NoColon", "'Name: value'");
    set_bad(&c, "header", ": v", "'Name: value'");
    set_bad(&c, "header", "Bad Name: v", "not a valid header name");
    set_ok(&c, "header", "X-A: 1");
    set_bad(&c, "header", "x-a: 2", "given twice");
    set_bad(&c, "body-file", "/nonexistent/body", "cannot open");
    set_bad(&c, "concurrency", "0", "out of range");
    set_bad(&c, "concurrency", "100001", "out of range");
    set_bad(&c, "rate", "-5", "out of range");
    set_bad(&c, "rate", "nan", "not a finite number");
    set_bad(&c, "timeout", "500us", "at least 1ms");
    set_bad(&c, "timeout", "2h", "too long");
    set_bad(&c, "drivers", "d-1,,d-2", "not a comma-separated list");
    set_bad(&c, "drivers", "d 1", "not a node id");
    set_bad(&c, "drivers", "d-1,d-1", "listed twice");
    set_bad(&c, "min-drivers", "0", "out of range");
    set_bad(&c, "report-interval", "50ms", "100ms..60s");
    set_bad(&c, "report-interval", "2m", "too long");
    set_bad(&c, "count", NULL, "needs a value");
    set_ok(&c, "body", "x");
    set_bad(&c, "body", "y", "give one body");
    startcfg_close(&c);

    char *big = malloc(MSG_BODY_MAX + 2);
    memset(big, 'b', MSG_BODY_MAX + 1);
    big[MSG_BODY_MAX + 1] = '\0';
    startcfg_init(&c);
    set_bad(&c, "body", big, "over the limit");
    startcfg_close(&c);
    free(big);
}

static void test_duration_and_stages(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    set_ok(&c, "type", "tsunami");
    set_ok(&c, "stage", "10s:500");
    set_ok(&c, "stage", "1m:2000");
    set_ok(&c, "start-target", "50");
    set_ok(&c, "duration", "2m");
    cJSON *o = finish_ok(&c);
    /* No count, no delay: the stages give the rate, the duration the end. */
    assert_null(cJSON_GetObjectItem(o, "message_count_per_driver"));
    assert_null(cJSON_GetObjectItem(o, "test_message_delay"));
    assert_true(cJSON_GetObjectItem(o, "duration")->valuedouble == 120);
    const cJSON *st = cJSON_GetObjectItem(o, "stages");
    assert_int_equal(cJSON_GetArraySize(st), 2);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 1), "duration")->valuedouble == 60);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 1), "target")->valuedouble == 2000);
    assert_true(cJSON_GetObjectItem(o, "start_target")->valuedouble == 50);
    cJSON_Delete(o);
    set_ok(&c, "keep-rate", NULL);
    o = finish_ok(&c);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "keep_rate")));
    cJSON_Delete(o);
    set_ok(&c, "rate", "5");
    finish_bad(&c, "drop --delay and --rate");
    startcfg_close(&c);

    /* An avalanche for a duration, with a count: both are sent. */
    set_ok(&c, "duration", "30");
    set_ok(&c, "count", "10");
    o = finish_ok(&c);
    assert_true(cJSON_GetObjectItem(o, "duration")->valuedouble == 30);
    assert_true(cJSON_GetObjectItem(o, "message_count_per_driver")->valuedouble == 10);
    cJSON_Delete(o);
    startcfg_close(&c);

    set_ok(&c, "stage", "1s:10");
    set_ok(&c, "concurrency", "4");
    finish_bad(&c, "drop --concurrency");
    startcfg_close(&c);
    set_ok(&c, "start-target", "3");
    finish_bad(&c, "add --stage");
    startcfg_close(&c);

    set_bad(&c, "stage", "10s", "DURATION:TARGET");
    set_bad(&c, "stage", ":5", "DURATION:TARGET");
    set_bad(&c, "stage", "0s:5", "above 0");
    set_bad(&c, "stage", "10s:-1", "-1");
    set_bad(&c, "stage", "10x:1", "10x");
    set_bad(&c, "duration", "0", "above 0");
    set_bad(&c, "duration", "8d", "8d");
    set_bad(&c, "start-target", "x", "x");
    for (int i = 0; i < MSG_STAGES_MAX; i++)
        set_ok(&c, "stage", "1s:1");
    set_bad(&c, "stage", "1s:1", "at most 100 stages");
    startcfg_close(&c);
}

static void test_cross_checks(void **state)
{
    (void)state;
    struct startcfg c;
    startcfg_init(&c);
    set_ok(&c, "delay", "1s");
    finish_bad(&c, "--delay applies to --type tsunami only");
    startcfg_close(&c);

    startcfg_init(&c);
    set_ok(&c, "type", "tsunami");
    finish_bad(&c, "needs --delay");
    set_ok(&c, "rate", "0");
    finish_bad(&c, "--rate must be above 0");
    set_ok(&c, "delay", "0.1");
    finish_bad(&c, "give one");
    startcfg_close(&c);

    startcfg_init(&c);
    set_ok(&c, "drivers", "d-1");
    set_ok(&c, "min-drivers", "2");
    finish_bad(&c, "--min-drivers 2 is more than the 1 drivers");
    startcfg_close(&c);

    startcfg_init(&c);
    set_ok(&c, "method", "GET");
    set_ok(&c, "body", "x");
    finish_bad(&c, "sends no body");
    startcfg_close(&c);

    /* The drivers' own validation runs too: a URL without a host. */
    startcfg_init(&c);
    set_ok(&c, "url", "http://");
    finish_bad(&c, "target_url");
    startcfg_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),   cmocka_unit_test(test_every_flag),
        cmocka_unit_test(test_bad_values), cmocka_unit_test(test_cross_checks),
        cmocka_unit_test(test_thresholds), cmocka_unit_test(test_duration_and_stages),
        cmocka_unit_test(test_file),       cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_examples),   cmocka_unit_test(test_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
