/* report: CSV and HTML escaping, the CSV layout (a header and the same
 * number of columns on every row), the JSON document, and an HTML page that
 * holds its charts and nothing fetched from elsewhere; the per-request
 * figures (aggregate.by_request) in each format and in the summary table,
 * and nothing of them for a test without requests. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"
#include "view.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef void (*writer)(FILE *, const char *);

static char *capture(writer w, const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    w(f, s);
    fclose(f);
    return buf;
}

static void test_csv_field(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"plain", "plain"},
        {"", ""},
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {"two\nlines", "\"two\nlines\""},
        {"cr\r", "\"cr\r\""},
        {" lead", "\" lead\""},
        {"d-1:x.y", "d-1:x.y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = capture(report_csv_field, cases[i][0]);
        assert_string_equal(out, cases[i][1]);
        free(out);
    }
    char *out = capture(report_csv_field, NULL);
    assert_string_equal(out, "");
    free(out);
}

static void test_html_text(void **state)
{
    (void)state;
    char *out = capture(report_html_text, "<script>alert('x' & \"y\")</script>\x01\tok");
    assert_string_equal(out, "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
                             "\tok");
    free(out);
}

static const char test_doc[] =
    "{\"test_id\":\"t-9\",\"state\":\"COMPLETED\",\"reason\":\"\",\"created_ms\":1732425600000,"
    "\"config\":{\"test_type\":\"TSUNAMI\",\"test_message_delay\":0.01,"
    "\"message_count_per_driver\":300,\"headers\":{\"X-A\":\"<b>\"}},"
    "\"drivers\":[\"d-1\",\"d,2\"],"
    "\"aggregate\":{\"requests_sent\":600,\"responses_received\":600,\"errors\":0,\"rps\":200,"
    "\"latency_ms\":{\"min\":1,\"mean\":2,\"median\":2,\"p90\":3,\"p99\":4,\"max\":5}},"
    "\"per_driver\":[{\"node_id\":\"d-1\",\"liveness\":\"alive\",\"final\":true},"
    "{\"node_id\":\"d,2\",\"liveness\":\"alive\",\"final\":true,\"failure\":\"<none>\"}]}";

static const char test_ts[] =
    "{\"test_id\":\"t-9\","
    "\"aggregate\":[{\"t_ms\":1000,\"requests_sent\":200,\"responses_received\":199,\"errors\":0,"
    "\"rps\":199,\"p50\":2,\"p90\":3,\"p99\":4,\"mean\":2.1,\"max\":5},"
    "{\"t_ms\":2000,\"requests_sent\":400,\"responses_received\":400,\"errors\":0,\"rps\":201,"
    "\"p50\":2.5,\"p90\":3.5,\"p99\":4.5,\"mean\":2.6,\"max\":6}],"
    "\"drivers\":{\"d-1\":[{\"t_ms\":1000,\"requests_sent\":100,\"responses_received\":100,"
    "\"errors\":0,\"rps\":100,\"p50\":2,\"p90\":3,\"p99\":4,\"mean\":2,\"max\":5}],"
    "\"d,2\":[{\"t_ms\":1000,\"requests_sent\":100,\"responses_received\":99,\"errors\":1,"
    "\"rps\":99,\"p50\":2,\"p90\":3,\"p99\":4}]}}";

static char *write_report(enum report_format f, const cJSON *t, const cJSON *ts)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(report_write(f, t, ts, out), 0);
    fclose(out);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_csv_report(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(test_doc), *ts = cJSON_Parse(test_ts);
    assert_non_null(t);
    assert_non_null(ts);
    char *csv = write_report(REPORT_CSV, t, ts);
    assert_true(strncmp(csv, REPORT_CSV_COLUMNS "\r\n", strlen(REPORT_CSV_COLUMNS) + 2) == 0);
    assert_int_equal(count(csv, "\r\n"), 5); /* header + 2 aggregate + 2 driver rows */
    assert_non_null(strstr(csv, "\r\nt-9,aggregate,,1000,200,199,0,199.000,2.000,3.000,4.000,"
                                "2.100,5.000\r\n"));
    /* A missing figure is an empty field; a node id with a comma is quoted. */
    assert_non_null(strstr(csv, "\r\nt-9,driver,\"d,2\",1000,100,99,1,99.000,2.000,3.000,4.000,,"
                                "\r\n"));
    /* Every row has as many fields as the header (no field here holds a
     * quoted comma except the one counted). */
    int header_fields = count(REPORT_CSV_COLUMNS, ",") + 1;
    char *save = NULL;
    for (char *line = strtok_r(csv, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        int fields = count(line, ",") + 1 - count(line, "\"d,2\"");
        assert_int_equal(fields, header_fields);
    }
    free(csv);
    /* No time series: the header alone. */
    csv = write_report(REPORT_CSV, t, NULL);
    assert_string_equal(csv, REPORT_CSV_COLUMNS "\r\n");
    free(csv);
    cJSON_Delete(t);
    cJSON_Delete(ts);
}

static void test_json_report(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(test_doc), *ts = cJSON_Parse(test_ts);
    char *js = write_report(REPORT_JSON, t, ts);
    cJSON *doc = cJSON_Parse(js);
    assert_non_null(doc);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(doc, "test"), t, 1));
    assert_true(cJSON_Compare(cJSON_GetObjectItem(doc, "timeseries"), ts, 1));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(doc, "generated_ms")));
    cJSON_Delete(doc);
    free(js);
    cJSON_Delete(t);
    cJSON_Delete(ts);
}

static void test_html_report(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(test_doc), *ts = cJSON_Parse(test_ts);
    char *html = write_report(REPORT_HTML, t, ts);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(html, "</html>\n"));
    /* Throughput, aggregate latency, and one latency chart per driver. */
    assert_int_equal(count(html, "<svg class=\"chart\""), 4);
    assert_int_equal(count(html, "</svg>"), 4);
    /* Throughput: all drivers + 2; latency: 3 percentiles x 3 charts. */
    assert_int_equal(count(html, "<polyline class=\"series\""), 3 + 9);
    assert_non_null(strstr(html, "data-series=\"p99\""));
    assert_non_null(strstr(html, "Latency, driver d,2 (ms)"));
    /* Strings from the API are escaped; nothing is fetched from elsewhere. */
    assert_non_null(strstr(html, "&lt;none&gt;"));
    assert_null(strstr(html, "<none>"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "@import"));
    free(html);

    /* Without points the charts say so instead of drawing empty axes. */
    html = write_report(REPORT_HTML, t, NULL);
    assert_int_equal(count(html, "<svg"), 0);
    assert_non_null(strstr(html, "No time-series points were recorded."));
    free(html);

    /* Odd shapes never crash. */
    cJSON *odd = cJSON_Parse("{\"aggregate\":[{\"t_ms\":\"x\"}],\"drivers\":{\"a\":5,\"b\":[1]}}");
    html = write_report(REPORT_HTML, odd, odd);
    free(html);
    char *csv = write_report(REPORT_CSV, odd, odd);
    free(csv);
    cJSON_Delete(odd);
    cJSON_Delete(t);
    cJSON_Delete(ts);
}

/* Drivers of the original format: what they never send is null. */
static const char original_doc[] =
    "{\"test_id\":\"t-3\",\"state\":\"COMPLETED\",\"reason\":\"\",\"approximate\":true,"
    "\"config\":{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":50},"
    "\"drivers\":[\"d-o\"],"
    "\"aggregate\":{\"requests_sent\":50,\"responses_received\":50,\"errors\":null,"
    "\"error_kinds\":null,\"elapsed_ms\":null,\"rps\":null,\"latency_ms\":{\"min\":1.5,"
    "\"mean\":2,\"median\":2,\"mode\":null,\"p90\":null,\"p95\":null,\"p99\":null,"
    "\"p999\":null,\"max\":7}},"
    "\"per_driver\":[{\"node_id\":\"d-o\",\"liveness\":\"quiet\",\"final\":true,"
    "\"requests_sent\":50,\"responses_received\":50,\"errors\":null,\"rps\":null,"
    "\"latency_ms\":{\"min\":1.5,\"mean\":2,\"median\":2,\"mode\":null,\"p90\":null,"
    "\"p95\":null,\"p99\":null,\"p999\":null,\"max\":7}}]}";

static const char original_ts[] =
    "{\"test_id\":\"t-3\",\"aggregate\":[{\"t_ms\":500,\"requests_sent\":0,"
    "\"responses_received\":0,\"errors\":0,\"rps\":0,\"p50\":null,\"p90\":null,\"p99\":null,"
    "\"mean\":null,\"max\":null}],\"drivers\":{}}";

static void test_unknown_in_reports(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(original_doc), *ts = cJSON_Parse(original_ts);
    assert_non_null(t);
    assert_non_null(ts);
    char *html = write_report(REPORT_HTML, t, ts);
    /* sent, received, errors, rps, then min mean median mode p90 p95 p99
     * p999 max: the unknown ones a dash, never 0. */
#define NUM(v) "<td class=\"num\">" v "</td>"
#define UNK "<td class=\"num unknown\">\xe2\x80\x93</td>"
    assert_non_null(strstr(html,
                           "<th scope=\"row\">d-o</th>" NUM("50") NUM("50") UNK UNK NUM("1.500")
                               NUM("2.000") NUM("2.000") UNK UNK UNK UNK UNK NUM("7.000") "</tr>"));
    assert_non_null(strstr(html, "<th scope=\"row\">all drivers</th>" NUM("50") NUM("50")
                                     UNK UNK NUM("1.500") NUM("2.000") NUM("2.000")
                                         UNK UNK UNK UNK UNK NUM("7.000") "</tr>"));
#undef NUM
#undef UNK
    assert_non_null(strstr(html, "a figure that is not known"));
    assert_null(strstr(html, "<td class=\"num\">0.000</td>"));
    /* No point with a latency: no latency line is drawn at 0. */
    assert_non_null(strstr(html, "Latency, all drivers (ms)</figcaption>\n<p class=\"empty\">"));
    free(html);
    /* Every figure known: no word on unknown ones. */
    cJSON *known = cJSON_Parse(
        "{\"test_id\":\"t-4\",\"state\":\"COMPLETED\",\"aggregate\":{\"requests_sent\":1,"
        "\"responses_received\":1,\"errors\":0,\"rps\":1,\"latency_ms\":{\"min\":1,\"mean\":1,"
        "\"median\":1,\"mode\":1,\"p90\":1,\"p95\":1,\"p99\":1,\"p999\":1,\"max\":1}}}");
    html = write_report(REPORT_HTML, known, NULL);
    assert_null(strstr(html, "not known"));
    assert_null(strstr(html, "unknown"));
    assert_non_null(strstr(html, "<td class=\"num\">0</td><td class=\"num\">1.0</td>"));
    free(html);
    cJSON_Delete(known);

    /* CSV: an unknown latency is an empty field. */
    char *csv = write_report(REPORT_CSV, t, ts);
    assert_string_equal(csv, REPORT_CSV_COLUMNS "\r\nt-3,aggregate,,500,0,0,0,0.000,,,,,\r\n");
    free(csv);
    /* JSON: the nulls stay null. */
    char *js = write_report(REPORT_JSON, t, ts);
    cJSON *doc = cJSON_Parse(js);
    const cJSON *agg = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "test"), "aggregate");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(agg, "errors")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(agg, "rps")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(agg, "latency_ms"), "p99")));
    assert_true(cJSON_Compare(cJSON_GetObjectItem(doc, "test"), t, 1));
    cJSON_Delete(doc);
    free(js);
    cJSON_Delete(t);
    cJSON_Delete(ts);
}

/* A test with requests: aggregate.by_request. */
static const char byreq_doc[] =
    "{\"test_id\":\"t-5\",\"state\":\"COMPLETED\",\"reason\":\"\","
    "\"config\":{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":30},"
    "\"drivers\":[\"d-1\"],"
    "\"aggregate\":{\"requests_sent\":30,\"responses_received\":29,\"errors\":1,\"rps\":10,"
    "\"elapsed_ms\":3000,\"latency_ms\":{\"min\":1,\"mean\":2,\"median\":2,\"p90\":3,"
    "\"p99\":4,\"max\":5},\"checks_passed\":25,\"checks_failed\":5,"
    "\"by_request\":{\"home\":{\"requests_sent\":20,\"responses_received\":20,\"errors\":0,"
    "\"rps\":6.67,\"latency_ms\":{\"min\":1,\"mean\":1.5,\"median\":1.25,\"mode\":1.2,"
    "\"p90\":2.5,\"p95\":2.75,\"p99\":3.125,\"p999\":3.5,\"max\":3.5},\"checks_passed\":20,"
    "\"checks_failed\":0,\"checks_failed_by\":{\"status\":0,\"body_contains\":0,\"json\":0}},"
    "\"<login>\":{\"requests_sent\":10,\"responses_received\":9,\"errors\":1,\"rps\":3,"
    "\"latency_ms\":{\"min\":2,\"mean\":3,\"median\":3,\"mode\":3,\"p90\":4,\"p95\":4,"
    "\"p99\":5,\"p999\":5,\"max\":5},\"checks_passed\":5,\"checks_failed\":5,"
    "\"checks_failed_by\":{\"status\":1,\"body_contains\":0,\"json\":4}}}},"
    "\"per_driver\":[{\"node_id\":\"d-1\",\"liveness\":\"alive\",\"final\":true}]}";

static char *write_summary(const cJSON *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(view_summary(t, out), 0);
    fclose(out);
    return buf;
}

static void test_by_request(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(byreq_doc), *ts = cJSON_Parse(test_ts);
    assert_non_null(t);
    /* CSV: a row per request after the points. */
    char *csv = write_report(REPORT_CSV, t, ts);
    assert_non_null(strstr(csv, "\r\nt-5,request,home,3000,20,20,0,6.670,1.250,2.500,3.125,1.500,"
                                "3.500\r\n"));
    assert_non_null(strstr(csv, "\r\nt-5,request,<login>,3000,10,9,1,3.000,3.000,4.000,5.000,"
                                "3.000,5.000\r\n"));
    assert_int_equal(count(csv, "\r\n"), 1 + 4 + 2);
    free(csv);
    /* HTML: the per-request table, names escaped, checks failed by kind. */
    char *html = write_report(REPORT_HTML, t, ts);
    assert_non_null(strstr(html, "<h2>Per request</h2>"));
    assert_non_null(strstr(html, "<th scope=\"row\">&lt;login&gt;</th>"));
    assert_null(strstr(html, "<login>"));
    assert_non_null(strstr(html, "<td>status 1, json 4</td>"));
    assert_non_null(strstr(html, "Checks: 25 passed, 5 failed."));
    assert_int_equal(count(html, "<table class=\"requests\">"), 1);
    free(html);
    /* JSON: the test object as it is, by_request included. */
    char *js = write_report(REPORT_JSON, t, ts);
    cJSON *doc = cJSON_Parse(js);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(doc, "test"), t, 1));
    cJSON_Delete(doc);
    free(js);
    /* The summary: a per-request table after the drivers' rows. */
    char *sum = write_summary(t);
    const char *all = strstr(sum, "\nall ");
    const char *per = strstr(sum, "Per request");
    assert_non_null(all);
    assert_non_null(per);
    assert_true(per > all);
    assert_non_null(strstr(per, "request  sent  received  errors  passed  failed  rps"));
    assert_non_null(strstr(per,
                           "\nhome       20        20       0      20       0  6.7  1.50  1.25  "
                           "2.50  3.12  3.50\n"));
    assert_non_null(strstr(per,
                           "\n<login>    10         9       1       5       5  3.0  3.00  3.00  "
                           "4.00  5.00  5.00\n"));
    assert_non_null(strstr(per, "  <login>: checks failed on status 1 json 4\n"));
    assert_non_null(strstr(sum, "Checks: 25 passed, 5 failed\n"));
    free(sum);
    cJSON_Delete(t);

    /* Without requests: none of it. */
    t = cJSON_Parse(test_doc);
    sum = write_summary(t);
    assert_null(strstr(sum, "Per request"));
    assert_null(strstr(sum, "Checks:"));
    free(sum);
    html = write_report(REPORT_HTML, t, ts);
    assert_null(strstr(html, "Per request"));
    free(html);
    csv = write_report(REPORT_CSV, t, ts);
    assert_null(strstr(csv, ",request,"));
    free(csv);
    /* Odd shapes never crash. */
    cJSON *odd = cJSON_Parse("{\"aggregate\":{\"by_request\":{\"a\":5,\"b\":{\"latency_ms\":[]},"
                             "\"c\":{\"checks_failed\":2,\"checks_failed_by\":[1]}}}}");
    sum = write_summary(odd);
    free(sum);
    html = write_report(REPORT_HTML, odd, NULL);
    free(html);
    csv = write_report(REPORT_CSV, odd, NULL);
    free(csv);
    cJSON_Delete(odd);
    cJSON_Delete(t);
    cJSON_Delete(ts);
}

static void test_format_parse(void **state)
{
    (void)state;
    enum report_format f;
    assert_int_equal(report_format_parse("HTML", &f), 0);
    assert_int_equal(f, REPORT_HTML);
    assert_int_equal(report_format_parse("csv", &f), 0);
    assert_int_equal(f, REPORT_CSV);
    assert_int_equal(report_format_parse("json", &f), 0);
    assert_int_equal(f, REPORT_JSON);
    assert_int_equal(report_format_parse("pdf", &f), -1);
    assert_int_equal(report_format_parse(NULL, &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_field),    cmocka_unit_test(test_html_text),
        cmocka_unit_test(test_csv_report),   cmocka_unit_test(test_json_report),
        cmocka_unit_test(test_html_report),  cmocka_unit_test(test_unknown_in_reports),
        cmocka_unit_test(test_format_parse), cmocka_unit_test(test_by_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
