#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include "jget.h"
#include "stats.h"
#include "view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int report_format_parse(const char *s, enum report_format *out)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "json") == 0)
        *out = REPORT_JSON;
    else if (strcasecmp(s, "csv") == 0)
        *out = REPORT_CSV;
    else if (strcasecmp(s, "html") == 0)
        *out = REPORT_HTML;
    else
        return -1;
    return 0;
}

void report_csv_field(FILE *out, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ') {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

void report_html_text(FILE *out, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n')
                fputc(*p, out);
        }
    }
}

static long long report_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- JSON ---------------------------------------------------------------- */

static int report_json(const cJSON *test, const cJSON *ts, FILE *out)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return -1;
    /* References: doc borrows test and ts; deleting doc leaves them alone. */
    int ok = cJSON_AddItemReferenceToObject(doc, "test", (cJSON *)test);
    if (ts)
        ok = ok && cJSON_AddItemReferenceToObject(doc, "timeseries", (cJSON *)ts);
    else
        ok = ok && cJSON_AddNullToObject(doc, "timeseries");
    ok = ok && cJSON_AddNumberToObject(doc, "generated_ms", (double)report_now_ms());
    char *text = ok ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (!text)
        return -1;
    fputs(text, out);
    fputc('\n', out);
    cJSON_free(text);
    return ferror(out) ? -1 : 0;
}

/* ---- CSV ----------------------------------------------------------------- */

static void report_csv_num(FILE *out, double v, int integer)
{
    fputc(',', out);
    if (!isfinite(v))
        return;
    if (integer)
        fprintf(out, "%.0f", v);
    else
        fprintf(out, "%.3f", v);
}

static void report_csv_points(FILE *out, const char *test_id, const char *series,
                              const char *node_id, const cJSON *points)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, points)
    {
        report_csv_field(out, test_id);
        fputc(',', out);
        report_csv_field(out, series);
        fputc(',', out);
        report_csv_field(out, node_id);
        report_csv_num(out, jget_num(p, "t_ms", NAN), 1);
        report_csv_num(out, jget_num(p, "requests_sent", NAN), 1);
        report_csv_num(out, jget_num(p, "responses_received", NAN), 1);
        report_csv_num(out, jget_num(p, "errors", NAN), 1);
        report_csv_num(out, jget_num(p, "rps", NAN), 0);
        report_csv_num(out, jget_num(p, "p50", NAN), 0);
        report_csv_num(out, jget_num(p, "p90", NAN), 0);
        report_csv_num(out, jget_num(p, "p99", NAN), 0);
        report_csv_num(out, jget_num(p, "mean", NAN), 0);
        report_csv_num(out, jget_num(p, "max", NAN), 0);
        fputs("\r\n", out);
    }
}

/* A row per request name of aggregate.by_request: series "request", the
 * name in node_id, t_ms the aggregate's elapsed_ms, the whole test's figures. */
static void report_csv_requests(FILE *out, const char *test_id, const cJSON *agg)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, jget_obj(agg, "by_request"))
    {
        if (!cJSON_IsObject(r) || !r->string)
            continue;
        const cJSON *lat = jget_obj(r, "latency_ms");
        report_csv_field(out, test_id);
        fputs(",request,", out);
        report_csv_field(out, r->string);
        report_csv_num(out, jget_num(agg, "elapsed_ms", NAN), 1);
        report_csv_num(out, jget_num(r, "requests_sent", NAN), 1);
        report_csv_num(out, jget_num(r, "responses_received", NAN), 1);
        report_csv_num(out, jget_num(r, "errors", NAN), 1);
        report_csv_num(out, jget_num(r, "rps", NAN), 0);
        report_csv_num(out, jget_num(lat, "median", NAN), 0);
        report_csv_num(out, jget_num(lat, "p90", NAN), 0);
        report_csv_num(out, jget_num(lat, "p99", NAN), 0);
        report_csv_num(out, jget_num(lat, "mean", NAN), 0);
        report_csv_num(out, jget_num(lat, "max", NAN), 0);
        fputs("\r\n", out);
    }
}

static int report_csv(const cJSON *test, const cJSON *ts, FILE *out)
{
    const char *id = jget_str(test, "test_id", jget_str(ts, "test_id", ""));
    fputs(REPORT_CSV_COLUMNS "\r\n", out);
    report_csv_points(out, id, "aggregate", "", jget_arr(ts, "aggregate"));
    const cJSON *d;
    cJSON_ArrayForEach(d, jget_obj(ts, "drivers"))
    {
        if (cJSON_IsArray(d) && d->string)
            report_csv_points(out, id, "driver", d->string, d);
    }
    report_csv_requests(out, id, jget_obj(test, "aggregate"));
    return ferror(out) ? -1 : 0;
}

/* ---- HTML ---------------------------------------------------------------- */

#define CHART_W 760
#define CHART_H 280
#define CHART_L 64
#define CHART_R 16
#define CHART_T 16
#define CHART_B 44

static const char *const report_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLORS (sizeof report_colors / sizeof report_colors[0])

struct chart_series {
    const char *name;
    const cJSON *points; /* array of <point> */
    const char *field;   /* y: a field of each point */
    const char *color;
    int bold;
};

/* A "nice" step (1, 2 or 5 times a power of ten) near span/ticks. */
static double report_nice_step(double span, int ticks)
{
    if (!(span > 0))
        return 1;
    double raw = span / ticks;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nice * mag;
}

static void report_num_label(FILE *out, double v)
{
    if (fabs(v) >= 100 || v == floor(v))
        fprintf(out, "%.0f", v);
    else if (fabs(v) >= 1)
        fprintf(out, "%.1f", v);
    else
        fprintf(out, "%.3g", v);
}

static void report_chart(FILE *out, const char *title, const char *yunit,
                         const struct chart_series *s, int ns)
{
    double xmax = 0, ymax = 0;
    int npoints = 0;
    for (int i = 0; i < ns; i++) {
        const cJSON *p;
        cJSON_ArrayForEach(p, s[i].points)
        {
            double x = jget_num(p, "t_ms", NAN) / 1000.0, y = jget_num(p, s[i].field, NAN);
            if (!isfinite(x) || !isfinite(y))
                continue;
            npoints++;
            if (x > xmax)
                xmax = x;
            if (y > ymax)
                ymax = y;
        }
    }
    fputs("<figure class=\"chart\">\n<figcaption>", out);
    report_html_text(out, title);
    fputs("</figcaption>\n", out);
    if (npoints == 0) {
        fputs("<p class=\"empty\">No time-series points were recorded.</p>\n</figure>\n", out);
        return;
    }
    double xstep = report_nice_step(xmax > 0 ? xmax : 1, 6);
    double ystep = report_nice_step(ymax > 0 ? ymax : 1, 5);
    double xtop = ceil((xmax > 0 ? xmax : 1) / xstep) * xstep;
    double ytop = ceil((ymax > 0 ? ymax * 1.05 : 1) / ystep) * ystep;
    const double pw = CHART_W - CHART_L - CHART_R, ph = CHART_H - CHART_T - CHART_B;
    fprintf(out,
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
            CHART_W, CHART_H, CHART_W, CHART_H);
    report_html_text(out, title);
    fprintf(out, "\" data-points=\"%d\">\n", npoints);
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" class=\"plot\"/>\n",
            CHART_L, CHART_T, pw, ph);
    for (int k = 0; k * ystep <= ytop + 1e-9 && k <= 50; k++) {
        double v = k * ystep, y = CHART_T + ph - v / ytop * ph;
        fprintf(out,
                "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
                "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
                CHART_L, y, CHART_L + pw, y, CHART_L - 6, y + 4);
        report_num_label(out, v);
        fputs("</text>\n", out);
    }
    for (int k = 0; k * xstep <= xtop + 1e-9 && k <= 50; k++) {
        double v = k * xstep, x = CHART_L + v / xtop * pw;
        fprintf(out,
                "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
                "<text class=\"tick\" x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">",
                x, CHART_T, x, CHART_T + ph, x, CHART_T + ph + 16);
        report_num_label(out, v);
        fputs("</text>\n", out);
    }
    fprintf(out,
            "<text class=\"axis\" x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">seconds since "
            "start</text>\n",
            CHART_L + pw / 2, CHART_H - 6);
    fprintf(out,
            "<text class=\"axis\" x=\"14\" y=\"%.0f\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 14 %.0f)\">",
            CHART_T + ph / 2, CHART_T + ph / 2);
    report_html_text(out, yunit);
    fputs("</text>\n", out);
    for (int i = 0; i < ns; i++) {
        fputs("<polyline class=\"series\" data-series=\"", out);
        report_html_text(out, s[i].name);
        fprintf(out, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"", s[i].color,
                s[i].bold ? "2.5" : "1.5");
        const cJSON *p;
        int n = 0;
        double lx = 0, ly = 0;
        cJSON_ArrayForEach(p, s[i].points)
        {
            double x = jget_num(p, "t_ms", NAN) / 1000.0, y = jget_num(p, s[i].field, NAN);
            if (!isfinite(x) || !isfinite(y))
                continue;
            lx = CHART_L + (x < 0 ? 0 : x) / xtop * pw;
            ly = CHART_T + ph - (y < 0 ? 0 : y) / ytop * ph;
            fprintf(out, "%s%.1f,%.1f", n ? " " : "", lx, ly);
            n++;
        }
        fputs("\"><title>", out);
        report_html_text(out, s[i].name);
        fputs("</title></polyline>\n", out);
        if (n == 1)
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", lx, ly,
                    s[i].color);
    }
    fputs("</svg>\n<div class=\"legend\">", out);
    for (int i = 0; i < ns; i++) {
        fprintf(out, "<span><i style=\"background:%s\"></i>", s[i].color);
        report_html_text(out, s[i].name);
        fputs("</span>", out);
    }
    fputs("</div>\n</figure>\n", out);
}

/* A figure's cell: the number, or STATS_UNKNOWN when it is unknown. */
static void report_td_fig(FILE *out, int known, double v, int decimals)
{
    char text[64];
    stats_fmt_num(known, v, decimals, text, sizeof text);
    fprintf(out, "<td class=\"num%s\">%s</td>", known ? "" : " unknown", text);
}

/* Returns how many of the row's figures are unknown. */
static int report_stats_row(FILE *out, const char *name, const cJSON *o, int agg)
{
    struct stats s;
    stats_from_json(o, &s);
    fprintf(out, "<tr%s><th scope=\"row\">", agg ? " class=\"agg\"" : "");
    report_html_text(out, name);
    fputs("</th>", out);
    report_td_fig(out, 1, (double)s.sent, 0);
    report_td_fig(out, 1, (double)s.received, 0);
    report_td_fig(out, s.has_errors, (double)s.errors, 0);
    report_td_fig(out, s.has_rps, s.rps, 1);
    int unknown = !s.has_errors + !s.has_rps;
    for (int i = 0; i < LAT_N; i++) {
        report_td_fig(out, s.has_lat[i], s.lat[i], 3);
        unknown += !s.has_lat[i];
    }
    fputs("</tr>\n", out);
    return unknown;
}

/* The per-request table of aggregate.by_request; nothing without it. */
static void report_html_requests(FILE *out, const cJSON *agg)
{
    const cJSON *by = jget_obj(agg, "by_request"), *r;
    if (!by || !by->child)
        return;
    fputs("<h2>Per request</h2>\n<p class=\"muted\">Every driver's figures for each named "
          "request; latency in milliseconds.</p>\n<div class=\"wide\"><table "
          "class=\"requests\">\n<thead><tr><th>request</th><th>sent</th><th>received</th>"
          "<th>errors</th><th>checks passed</th><th>checks failed</th><th>failed on</th>"
          "<th>rps</th>",
          out);
    for (int i = 0; i < LAT_N; i++)
        fprintf(out, "<th>%s</th>", stats_lat_key((enum stats_lat)i));
    fputs("</tr></thead>\n<tbody>\n", out);
    cJSON_ArrayForEach(r, by)
    {
        if (!cJSON_IsObject(r) || !r->string)
            continue;
        struct stats s;
        stats_from_json(r, &s);
        double cp = jget_num(r, "checks_passed", NAN), cf = jget_num(r, "checks_failed", NAN);
        fputs("<tr><th scope=\"row\">", out);
        report_html_text(out, r->string);
        fputs("</th>", out);
        report_td_fig(out, 1, (double)s.sent, 0);
        report_td_fig(out, 1, (double)s.received, 0);
        report_td_fig(out, s.has_errors, (double)s.errors, 0);
        report_td_fig(out, !isnan(cp), cp, 0);
        report_td_fig(out, !isnan(cf), cf, 0);
        fputs("<td>", out);
        const cJSON *k;
        int first = 1;
        cJSON_ArrayForEach(k, jget_obj(r, "checks_failed_by"))
        {
            if (k->string && cJSON_IsNumber(k) && k->valuedouble > 0) {
                fputs(first ? "" : ", ", out);
                report_html_text(out, k->string);
                fprintf(out, " %.0f", k->valuedouble);
                first = 0;
            }
        }
        fputs("</td>", out);
        report_td_fig(out, s.has_rps, s.rps, 1);
        for (int i = 0; i < LAT_N; i++)
            report_td_fig(out, s.has_lat[i], s.lat[i], 3);
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table></div>\n", out);
    double cp = jget_num(agg, "checks_passed", NAN), cf = jget_num(agg, "checks_failed", NAN);
    if (!isnan(cp) && !isnan(cf))
        fprintf(out, "<p>Checks: %.0f passed, %.0f failed.</p>\n", cp, cf);
}

static void report_value(FILE *out, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        report_html_text(out, v->valuestring);
        return;
    }
    char *t = cJSON_PrintUnformatted(v);
    report_html_text(out, t ? t : "");
    cJSON_free(t);
}

static const char report_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
    "color:#1d2330;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px "
    "solid #d8dce3;padding-bottom:4px}"
    ".state{display:inline-block;padding:2px 8px;border-radius:4px;font-weight:600;"
    "background:#e6e9ef}"
    ".state.COMPLETED{background:#d7f2dd;color:#145a26}.state.FAILED,.state.ABORTED,"
    ".state.PARTIAL{background:#f8d9d9;color:#7c1616}"
    "table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 10px;border-bottom:1px solid "
    "#eceef2;text-align:left}th{white-space:nowrap}td.num{text-align:right;font-variant-numeric:"
    "tabular-nums}"
    "thead th{background:#f4f5f8}tr.agg th,tr.agg td{font-weight:700;border-top:2px solid "
    "#aab}"
    "figure.chart{margin:12px 0 20px}figcaption{font-weight:600;margin-bottom:4px}"
    "svg.chart{max-width:100%;height:auto;font:11px sans-serif}svg .plot{fill:#fbfbfd;"
    "stroke:#c9ced8}svg .grid{stroke:#e3e6ec;stroke-width:1}svg .tick,svg .axis{fill:#59606e}"
    ".legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;"
    "width:12px;height:12px;margin-right:4px;vertical-align:-1px;border-radius:2px}"
    ".wide{overflow-x:auto}.muted{color:#6b7280}.empty{color:#6b7280;font-style:italic}";

static int report_html(const cJSON *test, const cJSON *ts, FILE *out)
{
    const char *id = jget_str(test, "test_id", "?");
    const char *state = jget_str(test, "state", "?");
    const char *reason = jget_str(test, "reason", "");
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
          "Load test ",
          out);
    report_html_text(out, id);
    fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Load test ", report_css);
    report_html_text(out, id);
    fputs("</h1>\n<p><span class=\"state ", out);
    report_html_text(out, state);
    fputs("\">", out);
    report_html_text(out, state);
    fputs("</span>", out);
    if (*reason) {
        fputs(" ", out);
        report_html_text(out, reason);
    }
    char created[32], started[32], ended[32], now[32];
    view_format_time(jget_int(test, "created_ms", 0), created, sizeof created);
    view_format_time(jget_int(test, "start_at_ms", 0), started, sizeof started);
    view_format_time(jget_int(test, "ended_ms", 0), ended, sizeof ended);
    view_format_time(report_now_ms(), now, sizeof now);
    fprintf(out,
            "</p>\n<p class=\"muted\">Created %s, started %s, ended %s (UTC). Report made %s UTC "
            "by load-client " DLT_VERSION ".</p>\n",
            created, started, ended, now);

    /* Summary. */
    fputs("<h2>Summary</h2>\n<p class=\"muted\">Latency in milliseconds", out);
    if (jget_bool(test, "approximate", 0))
        fputs("; aggregate percentiles are approximate (a driver sent no histogram)", out);
    fputs(".</p>\n<div class=\"wide\"><table "
          "class=\"summary\">\n<thead><tr><th>driver</th><th>sent</th>"
          "<th>received</th><th>errors</th><th>rps</th>",
          out);
    for (int i = 0; i < LAT_N; i++)
        fprintf(out, "<th>%s</th>", stats_lat_key((enum stats_lat)i));
    fputs("</tr></thead>\n<tbody>\n", out);
    const cJSON *pd = jget_arr(test, "per_driver"), *d;
    int unknown = 0;
    cJSON_ArrayForEach(d, pd)
    {
        unknown += report_stats_row(out, jget_str(d, "node_id", "?"), d, 0);
    }
    unknown += report_stats_row(out, "all drivers", jget_obj(test, "aggregate"), 1);
    fputs("</tbody>\n</table></div>\n", out);
    if (unknown)
        fputs("<p class=\"muted\">" STATS_UNKNOWN " a figure that is not known: a driver of the "
              "original format does not send it.</p>\n",
              out);

    report_html_requests(out, jget_obj(test, "aggregate"));

    /* Charts. */
    fputs("<h2>Charts</h2>\n", out);
    const cJSON *agg_pts = jget_arr(ts, "aggregate");
    const cJSON *drv = jget_obj(ts, "drivers");
    int nd = 0;
    cJSON_ArrayForEach(d, drv)
    {
        if (cJSON_IsArray(d) && d->string)
            nd++;
    }
    struct chart_series *ser = calloc((size_t)nd + 3, sizeof *ser);
    if (!ser)
        return -1;
    int ns = 0;
    ser[ns++] = (struct chart_series){"all drivers", agg_pts, "rps", "#1d2330", 1};
    cJSON_ArrayForEach(d, drv)
    {
        if (cJSON_IsArray(d) && d->string) {
            ser[ns] =
                (struct chart_series){d->string, d, "rps", report_colors[(ns - 1) % N_COLORS], 0};
            ns++;
        }
    }
    report_chart(out, "Throughput (responses per second)", "responses/s", ser, ns);
    static const char *const pcts[] = {"p50", "p90", "p99"};
    static const char *const pct_colors[] = {"#2ca02c", "#ff7f0e", "#d62728"};
    struct chart_series lat[3];
    for (int i = 0; i < 3; i++)
        lat[i] = (struct chart_series){pcts[i], agg_pts, pcts[i], pct_colors[i], i == 2};
    report_chart(out, "Latency, all drivers (ms)", "ms", lat, 3);
    cJSON_ArrayForEach(d, drv)
    {
        if (!cJSON_IsArray(d) || !d->string)
            continue;
        for (int i = 0; i < 3; i++)
            lat[i].points = d;
        char title[160];
        snprintf(title, sizeof title, "Latency, driver %.100s (ms)", d->string);
        report_chart(out, title, "ms", lat, 3);
    }
    free(ser);

    /* Config. */
    fputs("<h2>Test config</h2>\n<table class=\"config\">\n<tbody>\n", out);
    const cJSON *cfg = jget_obj(test, "config"), *it;
    cJSON_ArrayForEach(it, cfg)
    {
        fputs("<tr><th scope=\"row\">", out);
        report_html_text(out, it->string);
        fputs("</th><td>", out);
        report_value(out, it);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody>\n</table>\n", out);

    /* Drivers. */
    fputs("<h2>Drivers</h2>\n<table class=\"drivers\">\n<thead><tr><th>node_id</th>"
          "<th>liveness</th><th>final report</th><th>sent</th><th>failure</th></tr></thead>\n"
          "<tbody>\n",
          out);
    cJSON_ArrayForEach(d, pd)
    {
        fputs("<tr><td>", out);
        report_html_text(out, jget_str(d, "node_id", "?"));
        fputs("</td><td>", out);
        report_html_text(out, jget_str(d, "liveness", ""));
        fprintf(out, "</td><td>%s</td>", jget_bool(d, "final", 0) ? "yes" : "no");
        report_td_fig(out, 1, (double)jget_int(d, "requests_sent", 0), 0);
        fputs("<td>", out);
        report_html_text(out, jget_str(d, "failure", ""));
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody>\n</table>\n</body>\n</html>\n", out);
    return ferror(out) ? -1 : 0;
}

int report_write(enum report_format f, const cJSON *test, const cJSON *ts, FILE *out)
{
    switch (f) {
    case REPORT_JSON:
        return report_json(test, ts, out);
    case REPORT_CSV:
        return report_csv(test, ts, out);
    case REPORT_HTML:
        return report_html(test, ts, out);
    }
    return -1;
}
