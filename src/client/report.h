/* report: a test's report as JSON, CSV or a self-contained HTML page.
 *
 * Input is what the API has for the test: the test object (GET
 * /api/tests/{id}) and its time series (GET /api/tests/{id}/timeseries).
 * Both are read leniently; neither is modified.
 *
 * JSON: {"test": <test object>, "timeseries": <timeseries>, "generated_ms"}.
 * CSV: a header row, then one row per time-series point, aggregate first,
 *      then each driver, then, for a test with "requests", one row per
 *      request name (series "request", the name in node_id, t_ms the
 *      test's elapsed_ms, the whole test's figures); the columns are
 *      REPORT_CSV_COLUMNS.
 * HTML: one file with inline CSS and inline SVG charts (throughput; p50, p90
 *      and p99 over time for the aggregate and each driver), the summary
 *      table, the per-request table (a test with "requests"), the config
 *      and the drivers. It fetches nothing. */
#ifndef DLT_CLIENT_REPORT_H
#define DLT_CLIENT_REPORT_H

#include <cjson/cJSON.h>
#include <stdio.h>

#define REPORT_CSV_COLUMNS                                                                         \
    "test_id,series,node_id,t_ms,requests_sent,responses_received,errors,rps,p50_ms,p90_ms,"       \
    "p99_ms,mean_ms,max_ms"

enum report_format { REPORT_JSON = 0, REPORT_CSV, REPORT_HTML };

/* "json", "csv" or "html" (any case). Returns 0, or -1 for anything else. */
int report_format_parse(const char *s, enum report_format *out);

/* Write the report. ts may be NULL (no time series). Returns 0, or -1 when
 * out of memory or writing failed. */
int report_write(enum report_format f, const cJSON *test, const cJSON *ts, FILE *out);

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or
 * LF, or starts with a space; quotes doubled. NULL writes nothing. */
void report_csv_field(FILE *out, const char *s);

/* Text escaped for HTML content and attribute values (& < > " '). Control
 * characters other than tab and newline are dropped. NULL writes nothing. */
void report_html_text(FILE *out, const char *s);

#endif
