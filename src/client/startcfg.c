#define _POSIX_C_SOURCE 200809L
#include "startcfg.h"

#include "opts.h"
#include "yamljson.h"

#include <math.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void startcfg_init(struct startcfg *c)
{
    memset(c, 0, sizeof *c);
    c->type = TEST_AVALANCHE;
    c->count = STARTCFG_DEFAULT_COUNT;
}

void startcfg_close(struct startcfg *c)
{
    free(c->url);
    free(c->body);
    for (int i = 0; i < c->n_headers; i++) {
        free(c->headers[i].name);
        free(c->headers[i].value);
    }
    free(c->drivers);
    cJSON_Delete(c->requests);
    free(c->data_csv);
    startcfg_init(c);
}

static char *sc_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int sc_fail(char *err, size_t errlen, const char *flag, const char *why)
{
    snprintf(err, errlen, "--%s: %s", flag, why);
    return -1;
}

static int sc_header(struct startcfg *c, const char *v, char *err, size_t errlen)
{
    const char *colon = strchr(v, ':');
    if (!colon || colon == v)
        return sc_fail(err, errlen, "header", "give it as 'Name: value'");
    size_t nl = (size_t)(colon - v);
    while (nl > 0 && isspace((unsigned char)v[nl - 1]))
        nl--;
    if (nl == 0 || nl > MSG_HEADER_NAME_MAX)
        return sc_fail(err, errlen, "header", "the name must be 1..128 characters");
    for (size_t i = 0; i < nl; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch <= ' ' || ch >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", ch)) {
            char why[200];
            snprintf(why, sizeof why, "'%.*s' is not a valid header name", (int)(nl > 60 ? 60 : nl),
                     v);
            return sc_fail(err, errlen, "header", why);
        }
    }
    const char *val = colon + 1;
    while (*val == ' ' || *val == '\t')
        val++;
    size_t vl = strlen(val);
    while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
        vl--;
    if (vl > MSG_HEADER_VALUE_MAX)
        return sc_fail(err, errlen, "header", "the value is over 8192 bytes");
    for (size_t i = 0; i < vl; i++)
        if (val[i] == '\r' || val[i] == '\n')
            return sc_fail(err, errlen, "header", "the value holds a line break");
    for (int i = 0; i < c->n_headers; i++) {
        if (strlen(c->headers[i].name) == nl && strncasecmp(c->headers[i].name, v, nl) == 0) {
            char why[200];
            snprintf(why, sizeof why, "'%.*s' is given twice", (int)(nl > 60 ? 60 : nl), v);
            return sc_fail(err, errlen, "header", why);
        }
    }
    if (c->n_headers >= MSG_HEADERS_MAX)
        return sc_fail(err, errlen, "header", "at most 64 headers");
    char *n = sc_strndup(v, nl), *vv = sc_strndup(val, vl);
    if (!n || !vv) {
        free(n);
        free(vv);
        return sc_fail(err, errlen, "header", "out of memory");
    }
    c->headers[c->n_headers].name = n;
    c->headers[c->n_headers].value = vv;
    c->n_headers++;
    return 0;
}

static int sc_set_body(struct startcfg *c, const char *flag, const char *data, size_t len,
                       char *err, size_t errlen)
{
    if (len > MSG_BODY_MAX) {
        char why[100];
        snprintf(why, sizeof why, "the body is %zu bytes, over the limit of %d", len, MSG_BODY_MAX);
        return sc_fail(err, errlen, flag, why);
    }
    if (memchr(data, '\0', len))
        return sc_fail(err, errlen, flag, "the body holds a NUL byte (only text bodies are sent)");
    if (c->body)
        return sc_fail(err, errlen, flag, "give one body: --body or --body-file, once");
    c->body = sc_strndup(data, len);
    if (!c->body)
        return sc_fail(err, errlen, flag, "out of memory");
    return 0;
}

/* Read the file at path, at most max bytes, into *out (malloc'd, with a
 * NUL after its *n bytes). Returns 0, or -1 with why. */
static int sc_read_file(const char *path, size_t max, char **out, size_t *n, char *why,
                        size_t whylen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "cannot open '%.200s': %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(max + 2);
    if (!buf) {
        fclose(f);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    *n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || *n > max) {
        free(buf);
        if (bad)
            snprintf(why, whylen, "cannot read '%.200s'", path);
        else
            snprintf(why, whylen, "'%.200s' is over the %zu byte limit", path, max);
        return -1;
    }
    buf[*n] = '\0';
    *out = buf;
    return 0;
}

static int sc_body_file(struct startcfg *c, const char *path, char *err, size_t errlen)
{
    char why[300], *buf;
    size_t n;
    if (sc_read_file(path, MSG_BODY_MAX, &buf, &n, why, sizeof why) < 0)
        return sc_fail(err, errlen, "body-file", why);
    int rc = sc_set_body(c, "body-file", buf, n, err, errlen);
    free(buf);
    return rc;
}

/* The test's data from a CSV file (checked with the rest in
 * startcfg_finish, as the orchestrator will); a later one replaces it. */
static int sc_data_file(struct startcfg *c, const char *flag, const char *path, char *err,
                        size_t errlen)
{
    char why[300], *buf;
    size_t n;
    if (sc_read_file(path, DATA_BYTES_MAX, &buf, &n, why, sizeof why) < 0)
        return sc_fail(err, errlen, flag, why);
    if (memchr(buf, '\0', n)) {
        free(buf);
        snprintf(why, sizeof why, "'%.200s' holds a NUL byte: not a CSV text file", path);
        return sc_fail(err, errlen, flag, why);
    }
    free(c->data_csv);
    c->data_csv = buf;
    return 0;
}

static int sc_drivers(struct startcfg *c, const char *v, char *err, size_t errlen)
{
    if (c->drivers)
        return sc_fail(err, errlen, "drivers", "give the list once, comma-separated");
    size_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == ',';
    if (n > MSG_DRIVERS_MAX)
        return sc_fail(err, errlen, "drivers", "at most 1024 drivers");
    char(*ids)[ID_MAX] = calloc(n, sizeof *ids);
    if (!ids)
        return sc_fail(err, errlen, "drivers", "out of memory");
    int k = 0;
    const char *p = v;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        char why[200];
        if (len == 0 || len >= ID_MAX) {
            free(ids);
            snprintf(why, sizeof why, "'%.60s' is not a comma-separated list of node ids", v);
            return sc_fail(err, errlen, "drivers", why);
        }
        memcpy(ids[k], p, len);
        ids[k][len] = '\0';
        if (!id_valid(ids[k])) {
            snprintf(why, sizeof why, "'%.60s' is not a node id", ids[k]);
            free(ids);
            return sc_fail(err, errlen, "drivers", why);
        }
        for (int i = 0; i < k; i++) {
            if (strcmp(ids[i], ids[k]) == 0) {
                snprintf(why, sizeof why, "'%.60s' is listed twice", ids[k]);
                free(ids);
                return sc_fail(err, errlen, "drivers", why);
            }
        }
        k++;
        if (!end)
            break;
        p = end + 1;
    }
    c->drivers = ids;
    c->n_drivers = k;
    return 0;
}

int startcfg_set(struct startcfg *c, const char *flag, const char *v, char *err, size_t errlen)
{
    char why[400];
    int64_t us;
    if (strcmp(flag, "http2") == 0) {
        c->http2 = 1;
        return 0;
    }
    if (strcmp(flag, "keep-rate") == 0) {
        c->keep_rate = 1;
        return 0;
    }
    if (strcmp(flag, "abort-on-fail") == 0) {
        c->abort_on_fail = 1;
        return 0;
    }
    if (!v)
        return sc_fail(err, errlen, flag, "needs a value");
    if (strcmp(flag, "type") == 0) {
        if (test_type_parse(v, &c->type) < 0) {
            snprintf(why, sizeof why, "unknown test type '%.40s' (use avalanche or tsunami)", v);
            return sc_fail(err, errlen, flag, why);
        }
    } else if (strcmp(flag, "count") == 0) {
        if (opt_parse_int64(v, 1, MSG_COUNT_MAX, &c->count, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        c->has_count = 1;
    } else if (strcmp(flag, "duration") == 0) {
        if (opt_parse_duration_us(v, 1000000, (int64_t)(MSG_DURATION_MAX_S * 1e6), &us, why,
                                  sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        if (us <= 0)
            return sc_fail(err, errlen, flag, "the duration must be above 0");
        c->duration_s = (double)us / 1e6;
    } else if (strcmp(flag, "stage") == 0) {
        const char *colon = strrchr(v, ':');
        char dur[64];
        double target;
        if (!colon || colon == v || (size_t)(colon - v) >= sizeof dur) {
            snprintf(why, sizeof why, "'%.40s' is not DURATION:TARGET (e.g. 30s:500)", v);
            return sc_fail(err, errlen, flag, why);
        }
        if (c->n_stages >= MSG_STAGES_MAX) {
            snprintf(why, sizeof why, "at most %d stages", MSG_STAGES_MAX);
            return sc_fail(err, errlen, flag, why);
        }
        memcpy(dur, v, (size_t)(colon - v));
        dur[colon - v] = '\0';
        if (opt_parse_duration_us(dur, 1000000, (int64_t)(MSG_DURATION_MAX_S * 1e6), &us, why,
                                  sizeof why) < 0 ||
            opt_parse_double(colon + 1, 0, MSG_STAGE_TARGET_MAX, &target, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        if (us <= 0)
            return sc_fail(err, errlen, flag, "a stage's duration must be above 0");
        c->stages[c->n_stages].duration_s = (double)us / 1e6;
        c->stages[c->n_stages].target = target;
        c->n_stages++;
    } else if (strcmp(flag, "start-target") == 0) {
        if (opt_parse_double(v, 0, MSG_STAGE_TARGET_MAX, &c->start_target, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        c->has_start_target = 1;
    } else if (strcmp(flag, "delay") == 0) {
        if (opt_parse_duration_us(v, 1000000, (int64_t)(MSG_DELAY_MAX_S * 1e6), &us, why,
                                  sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        c->delay_s = (double)us / 1e6;
        c->has_delay = 1;
    } else if (strcmp(flag, "url") == 0) {
        if (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0) {
            snprintf(why, sizeof why, "'%.60s' is not an http:// or https:// URL", v);
            return sc_fail(err, errlen, flag, why);
        }
        if (strlen(v) > MSG_URL_MAX)
            return sc_fail(err, errlen, flag, "the URL is over 2048 characters");
        free(c->url);
        c->url = sc_strndup(v, strlen(v));
        if (!c->url)
            return sc_fail(err, errlen, flag, "out of memory");
    } else if (strcmp(flag, "method") == 0) {
        static const char *const methods[] = {"GET",   "POST", "PUT",    "DELETE",
                                              "PATCH", "HEAD", "OPTIONS"};
        int ok = 0;
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            if (strcasecmp(v, methods[i]) == 0) {
                snprintf(c->method, sizeof c->method, "%s", methods[i]);
                ok = 1;
            }
        if (!ok) {
            snprintf(why, sizeof why,
                     "unknown method '%.20s' (GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS)", v);
            return sc_fail(err, errlen, flag, why);
        }
    } else if (strcmp(flag, "header") == 0) {
        return sc_header(c, v, err, errlen);
    } else if (strcmp(flag, "body") == 0) {
        return sc_set_body(c, flag, v, strlen(v), err, errlen);
    } else if (strcmp(flag, "body-file") == 0) {
        return sc_body_file(c, v, err, errlen);
    } else if (strcmp(flag, "data") == 0) {
        return sc_data_file(c, flag, v, err, errlen);
    } else if (strcmp(flag, "data-mode") == 0) {
        if (strcmp(v, "split") == 0)
            c->data_mode = DATA_SPLIT;
        else if (strcmp(v, "shared") == 0)
            c->data_mode = DATA_SHARED;
        else
            return sc_fail(err, errlen, flag, "split or shared");
    } else if (strcmp(flag, "concurrency") == 0) {
        if (opt_parse_int64(v, 1, MSG_CONCURRENCY_MAX, &c->concurrency, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
    } else if (strcmp(flag, "rate") == 0) {
        if (opt_parse_double(v, 0, MSG_THROUGHPUT_MAX, &c->rate, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        c->has_rate = 1;
    } else if (strcmp(flag, "timeout") == 0) {
        if (opt_parse_duration_us(v, 1000, (int64_t)MSG_TIMEOUT_MAX_MS * 1000, &us, why,
                                  sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        if (us < 1000)
            return sc_fail(err, errlen, flag, "the request timeout must be at least 1ms");
        c->timeout_ms = (us + 500) / 1000;
    } else if (strcmp(flag, "drivers") == 0) {
        return sc_drivers(c, v, err, errlen);
    } else if (strcmp(flag, "min-drivers") == 0) {
        if (opt_parse_int64(v, 1, MSG_DRIVERS_MAX, &c->min_drivers, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
    } else if (strcmp(flag, "report-interval") == 0) {
        if (opt_parse_duration_us(v, 1000, 60000000, &us, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        if (us < 100000)
            return sc_fail(err, errlen, flag, "the report interval must be 100ms..60s");
        c->report_ms = (us + 500) / 1000;
    } else if (strcmp(flag, "threshold") == 0) {
        struct threshold t;
        if (c->n_thresholds >= STARTCFG_THRESHOLDS_MAX) {
            snprintf(why, sizeof why, "at most %d thresholds", STARTCFG_THRESHOLDS_MAX);
            return sc_fail(err, errlen, flag, why);
        }
        if (threshold_parse(v, &t, why, sizeof why) < 0)
            return sc_fail(err, errlen, flag, why);
        snprintf(c->thresholds[c->n_thresholds++], THRESHOLD_TEXT_MAX, "%s", t.text);
    } else {
        return sc_fail(err, errlen, flag, "not a start option");
    }
    return 0;
}

int startcfg_finish(const struct startcfg *c, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    if (c->type == TEST_AVALANCHE && c->has_delay) {
        snprintf(err, errlen,
                 "--delay applies to --type tsunami only (an avalanche test is a "
                 "closed loop; --rate caps it)");
        return -1;
    }
    int ends = c->duration_s > 0 || c->n_stages > 0;
    if (c->type == TEST_TSUNAMI && !c->has_delay && !c->has_rate && !ends) {
        snprintf(err, errlen,
                 "--type tsunami needs --delay (seconds between requests), --rate, or --stage");
        return -1;
    }
    if (c->n_stages > 0 && (c->has_delay || c->has_rate) && c->type == TEST_TSUNAMI) {
        snprintf(err, errlen,
                 "--stage sets a tsunami's rate (fleet-wide requests/s): drop --delay and --rate");
        return -1;
    }
    if (c->n_stages > 0 && c->concurrency && c->type == TEST_AVALANCHE) {
        snprintf(err, errlen,
                 "--stage sets an avalanche's requests in flight (fleet-wide): drop --concurrency");
        return -1;
    }
    if (c->has_start_target && c->n_stages == 0) {
        snprintf(err, errlen, "--start-target is where the first --stage starts: add --stage");
        return -1;
    }
    if (c->type == TEST_TSUNAMI && c->has_delay && c->has_rate) {
        snprintf(err, errlen,
                 "--delay and --rate say the same for tsunami (a rate X is a delay "
                 "of 1/X): give one");
        return -1;
    }
    if (c->type == TEST_TSUNAMI && c->has_rate && !c->has_delay && c->rate <= 0) {
        snprintf(err, errlen, "--rate must be above 0 for a tsunami test without --delay");
        return -1;
    }
    if (c->min_drivers > 0 && c->drivers && c->min_drivers > c->n_drivers) {
        snprintf(err, errlen, "--min-drivers %lld is more than the %d drivers listed in --drivers",
                 (long long)c->min_drivers, c->n_drivers);
        return -1;
    }
    if (c->abort_on_fail && c->n_thresholds == 0) {
        snprintf(err, errlen,
                 "--abort-on-fail stops a test whose threshold breaks: add --threshold");
        return -1;
    }
    if (c->body && c->method[0] &&
        (strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0)) {
        snprintf(err, errlen, "--method %s sends no body: drop --body/--body-file or use POST",
                 c->method);
        return -1;
    }
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    ok = ok && cJSON_AddStringToObject(o, "test_type", test_type_name(c->type));
    if ((c->type == TEST_AVALANCHE && c->n_stages == 0) || c->has_delay)
        ok = ok && cJSON_AddNumberToObject(o, "test_message_delay", c->delay_s);
    if (c->has_count || !ends)
        ok = ok && cJSON_AddNumberToObject(o, "message_count_per_driver", (double)c->count);
    if (c->duration_s > 0)
        ok = ok && cJSON_AddNumberToObject(o, "duration", c->duration_s);
    if (c->n_stages > 0) {
        cJSON *a = ok ? cJSON_AddArrayToObject(o, "stages") : NULL;
        ok = a != NULL;
        for (int i = 0; ok && i < c->n_stages; i++) {
            cJSON *st = cJSON_CreateObject();
            ok = st && cJSON_AddItemToArray(a, st);
            if (!ok)
                cJSON_Delete(st);
            ok = ok && cJSON_AddNumberToObject(st, "duration", c->stages[i].duration_s) &&
                 cJSON_AddNumberToObject(st, "target", c->stages[i].target);
        }
    }
    if (c->has_start_target)
        ok = ok && cJSON_AddNumberToObject(o, "start_target", c->start_target);
    if (c->requests) {
        cJSON *r = ok ? cJSON_Duplicate(c->requests, 1) : NULL;
        ok = r && cJSON_AddItemToObject(o, "requests", r);
        if (!ok)
            cJSON_Delete(r);
    }
    if (c->url)
        ok = ok && cJSON_AddStringToObject(o, "target_url", c->url);
    if (c->method[0])
        ok = ok && cJSON_AddStringToObject(o, "method", c->method);
    if (c->n_headers > 0) {
        cJSON *h = ok ? cJSON_AddObjectToObject(o, "headers") : NULL;
        ok = h != NULL;
        for (int i = 0; ok && i < c->n_headers; i++)
            ok = cJSON_AddStringToObject(h, c->headers[i].name, c->headers[i].value) != NULL;
    }
    if (c->body)
        ok = ok && cJSON_AddStringToObject(o, "body", c->body);
    if (c->concurrency)
        ok = ok && cJSON_AddNumberToObject(o, "concurrency", (double)c->concurrency);
    if (c->has_rate)
        ok = ok && cJSON_AddNumberToObject(o, "target_throughput", c->rate);
    if (c->timeout_ms)
        ok = ok && cJSON_AddNumberToObject(o, "timeout_ms", (double)c->timeout_ms);
    if (c->drivers) {
        cJSON *d = ok ? cJSON_AddArrayToObject(o, "drivers") : NULL;
        ok = d != NULL;
        for (int i = 0; ok && i < c->n_drivers; i++) {
            cJSON *s = cJSON_CreateString(c->drivers[i]);
            ok = s && cJSON_AddItemToArray(d, s);
            if (!ok)
                cJSON_Delete(s);
        }
    }
    if (c->report_ms)
        ok = ok && cJSON_AddNumberToObject(o, "report_interval_ms", (double)c->report_ms);
    if (c->http2)
        ok = ok && cJSON_AddBoolToObject(o, "http2", 1);
    if (c->min_drivers)
        ok = ok && cJSON_AddNumberToObject(o, "min_drivers", (double)c->min_drivers);
    if (c->n_thresholds > 0) {
        cJSON *a = ok ? cJSON_AddArrayToObject(o, "thresholds") : NULL;
        ok = a != NULL;
        for (int i = 0; ok && i < c->n_thresholds; i++) {
            cJSON *s = cJSON_CreateString(c->thresholds[i]);
            ok = s && cJSON_AddItemToArray(a, s);
            if (!ok)
                cJSON_Delete(s);
        }
    }
    if (c->abort_on_fail)
        ok = ok && cJSON_AddBoolToObject(o, "abort_on_fail", 1);
    if (c->keep_rate)
        ok = ok && cJSON_AddBoolToObject(o, "keep_rate", 1);
    if (c->data_csv || c->data_mode != DATA_NONE) {
        cJSON *d = ok ? cJSON_AddObjectToObject(o, "data") : NULL;
        ok = d && (!c->data_csv || cJSON_AddStringToObject(d, "csv", c->data_csv)) &&
             (c->data_mode == DATA_NONE ||
              cJSON_AddStringToObject(d, "mode", data_mode_name(c->data_mode)));
    }
    if (!ok) {
        cJSON_Delete(o);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* The drivers' own validation, so that nothing they would refuse is sent. */
    struct msg_test_config m;
    char why[256];
    if (msg_test_config_from_json(o, 0, &m, why, sizeof why) < 0) {
        cJSON_Delete(o);
        snprintf(err, errlen, "the test config is not valid: %s", why);
        return -1;
    }
    msg_test_config_free(&m);
    *out = o;
    return 0;
}

/* ---- a test definition in a file ---------------------------------------- */

/* A field and the flag it stands for. */
enum sc_kind {
    SC_STR,
    SC_INT,
    SC_NUM,
    SC_BOOL,
    SC_HEADERS,
    SC_DRIVERS,
    SC_THRESHOLDS,
    SC_DURATION, /* seconds, or a string with a unit */
    SC_STAGES,
    SC_REQUESTS, /* kept as given; checked with the rest in startcfg_finish */
    SC_DATA      /* {"file" or "csv", "mode"} */
};

static const struct {
    const char *field, *flag;
    enum sc_kind kind;
} sc_fields[] = {
    {"test_type", "type", SC_STR},
    {"message_count_per_driver", "count", SC_INT},
    {"test_message_delay", "delay", SC_NUM}, /* seconds, as --delay takes a bare number */
    {"target_url", "url", SC_STR},
    {"method", "method", SC_STR},
    {"headers", "header", SC_HEADERS},
    {"body", "body", SC_STR},
    {"concurrency", "concurrency", SC_INT},
    {"target_throughput", "rate", SC_NUM},
    {"timeout_ms", "timeout", SC_INT}, /* a bare number is ms */
    {"drivers", "drivers", SC_DRIVERS},
    {"min_drivers", "min-drivers", SC_INT},
    {"report_interval_ms", "report-interval", SC_INT}, /* a bare number is ms */
    {"http2", "http2", SC_BOOL},
    {"thresholds", "threshold", SC_THRESHOLDS},
    {"abort_on_fail", "abort-on-fail", SC_BOOL},
    {"duration", "duration", SC_DURATION},
    {"stages", "stage", SC_STAGES},
    {"start_target", "start-target", SC_NUM},
    {"requests", NULL, SC_REQUESTS},
    {"keep_rate", "keep-rate", SC_BOOL},
    {"data", "data", SC_DATA},
};

/* err holds "--flag: why" from startcfg_set: say it of the field. */
static int sc_field_fail(char *err, size_t errlen, const char *field)
{
    char why[600];
    const char *colon = strstr(err, ": ");
    snprintf(why, sizeof why, "%s", colon ? colon + 2 : err);
    snprintf(err, errlen, "\"%s\": %s", field, why);
    return -1;
}

/* "data": {"file": PATH (from the test file's folder) or "csv": TEXT,
 * "mode": "split" | "shared"}. */
static int sc_data_field(struct startcfg *c, const cJSON *v, char *err, size_t errlen)
{
    if (!cJSON_IsObject(v)) {
        snprintf(err, errlen, "\"data\" must be an object: {file or csv, mode}");
        return -1;
    }
    const cJSON *file = NULL, *csv = NULL, *mode = NULL, *it;
    cJSON_ArrayForEach(it, v)
    {
        if (strcmp(it->string, "file") == 0)
            file = it;
        else if (strcmp(it->string, "csv") == 0)
            csv = it;
        else if (strcmp(it->string, "mode") == 0)
            mode = it;
        else {
            snprintf(err, errlen, "\"data\": unknown field \"%.60s\" (file, csv, mode)",
                     it->string);
            return -1;
        }
    }
    if (!file == !csv) {
        snprintf(err, errlen, "\"data\" needs one of \"file\" (a CSV file) or \"csv\" (its text)");
        return -1;
    }
    if ((file && !cJSON_IsString(file)) || (csv && !cJSON_IsString(csv)) ||
        (mode && !cJSON_IsString(mode))) {
        snprintf(err, errlen, "\"data\": \"%s\" must be a string",
                 file && !cJSON_IsString(file) ? "file"
                 : csv && !cJSON_IsString(csv) ? "csv"
                                               : "mode");
        return -1;
    }
    if (mode && startcfg_set(c, "data-mode", mode->valuestring, err, errlen) < 0)
        return sc_field_fail(err, errlen, "data.mode");
    if (csv) {
        char *d = strdup(csv->valuestring);
        if (!d) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(c->data_csv);
        c->data_csv = d;
        return 0;
    }
    char path[4096];
    const char *p = file->valuestring;
    if (p[0] != '/' && c->base_dir)
        snprintf(path, sizeof path, "%s/%s", c->base_dir, p);
    else
        snprintf(path, sizeof path, "%s", p);
    if (sc_data_file(c, "data", path, err, errlen) < 0)
        return sc_field_fail(err, errlen, "data.file");
    return 0;
}

static int sc_field(struct startcfg *c, const char *field, const char *flag, enum sc_kind kind,
                    const cJSON *v, char *err, size_t errlen)
{
    char buf[64];
    switch (kind) {
    case SC_STR:
        if (!cJSON_IsString(v) || !v->valuestring) {
            snprintf(err, errlen, "\"%s\" must be a string", field);
            return -1;
        }
        if (startcfg_set(c, flag, v->valuestring, err, errlen) < 0)
            return sc_field_fail(err, errlen, field);
        return 0;
    case SC_INT:
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
            fabs(v->valuedouble) > 1e15) {
            snprintf(err, errlen, "\"%s\" must be a whole number", field);
            return -1;
        }
        snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
        break;
    case SC_NUM:
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            snprintf(err, errlen, "\"%s\" must be a number", field);
            return -1;
        }
        snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
        break;
    case SC_BOOL:
        if (!cJSON_IsBool(v)) {
            snprintf(err, errlen, "\"%s\" must be true or false", field);
            return -1;
        }
        if (!cJSON_IsTrue(v)) {
            if (strcmp(flag, "http2") == 0)
                c->http2 = 0;
            else if (strcmp(flag, "keep-rate") == 0)
                c->keep_rate = 0;
            else
                c->abort_on_fail = 0;
            return 0;
        }
        if (startcfg_set(c, flag, NULL, err, errlen) < 0)
            return sc_field_fail(err, errlen, field);
        return 0;
    case SC_HEADERS: {
        if (!cJSON_IsObject(v)) {
            snprintf(err, errlen, "\"%s\" must be an object of names and values", field);
            return -1;
        }
        const cJSON *h;
        cJSON_ArrayForEach(h, v)
        {
            if (!cJSON_IsString(h) || !h->valuestring) {
                snprintf(err, errlen, "\"%s\": the value of \"%.60s\" must be a string", field,
                         h->string ? h->string : "");
                return -1;
            }
            size_t n = strlen(h->string) + strlen(h->valuestring) + 3;
            char *line = malloc(n);
            if (!line) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            snprintf(line, n, "%s: %s", h->string, h->valuestring);
            int rc = startcfg_set(c, flag, line, err, errlen);
            free(line);
            if (rc < 0)
                return sc_field_fail(err, errlen, field);
        }
        return 0;
    }
    case SC_DURATION:
        if (cJSON_IsString(v) && v->valuestring && strlen(v->valuestring) < sizeof buf) {
            snprintf(buf, sizeof buf, "%s", v->valuestring);
        } else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
            snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
        } else {
            snprintf(err, errlen, "\"%s\" must be seconds, or a string such as \"30s\"", field);
            return -1;
        }
        break;
    case SC_STAGES: {
        if (!cJSON_IsArray(v)) {
            snprintf(err, errlen, "\"%s\" must be an array of {duration, target}", field);
            return -1;
        }
        const cJSON *st;
        int i = 0;
        cJSON_ArrayForEach(st, v)
        {
            i++;
            const cJSON *d = cJSON_GetObjectItemCaseSensitive(st, "duration");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(st, "target");
            char dur[48], line[112];
            if (d && cJSON_IsString(d) && d->valuestring && strlen(d->valuestring) < sizeof dur)
                snprintf(dur, sizeof dur, "%s", d->valuestring);
            else if (d && cJSON_IsNumber(d) && isfinite(d->valuedouble))
                snprintf(dur, sizeof dur, "%.17g", d->valuedouble);
            else
                dur[0] = '\0';
            if (!cJSON_IsObject(st) || !dur[0] || !t || !cJSON_IsNumber(t) ||
                cJSON_GetArraySize(st) != 2) {
                snprintf(err, errlen,
                         "\"%s\": stage %d must be {\"duration\": seconds or \"10s\", "
                         "\"target\": number}",
                         field, i);
                return -1;
            }
            snprintf(line, sizeof line, "%s:%.17g", dur, t->valuedouble);
            if (startcfg_set(c, flag, line, err, errlen) < 0)
                return sc_field_fail(err, errlen, field);
        }
        return 0;
    }
    case SC_DATA:
        return sc_data_field(c, v, err, errlen);
    case SC_REQUESTS:
        cJSON_Delete(c->requests);
        if (!(c->requests = cJSON_Duplicate(v, 1))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    case SC_DRIVERS:
    case SC_THRESHOLDS: {
        if (!cJSON_IsArray(v)) {
            snprintf(err, errlen, "\"%s\" must be an array of strings", field);
            return -1;
        }
        size_t cap = 1, used = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsString(it) || !it->valuestring) {
                snprintf(err, errlen, "\"%s\" must be an array of strings", field);
                return -1;
            }
            cap += strlen(it->valuestring) + 1;
        }
        if (kind == SC_THRESHOLDS) {
            cJSON_ArrayForEach(it, v)
            {
                if (startcfg_set(c, flag, it->valuestring, err, errlen) < 0)
                    return sc_field_fail(err, errlen, field);
            }
            return 0;
        }
        char *list = malloc(cap);
        if (!list) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        list[0] = '\0';
        cJSON_ArrayForEach(it, v)
        {
            size_t k = strlen(it->valuestring);
            if (used)
                list[used++] = ',';
            memcpy(list + used, it->valuestring, k + 1);
            used += k;
        }
        int rc = startcfg_set(c, flag, list, err, errlen);
        free(list);
        return rc < 0 ? sc_field_fail(err, errlen, field) : 0;
    }
    }
    if (startcfg_set(c, flag, buf, err, errlen) < 0)
        return sc_field_fail(err, errlen, field);
    return 0;
}

int startcfg_from_json(struct startcfg *c, const cJSON *o, char *err, size_t errlen)
{
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "a test definition is a JSON object");
        return -1;
    }
    const cJSON *v;
    int seen[sizeof sc_fields / sizeof sc_fields[0]] = {0};
    cJSON_ArrayForEach(v, o)
    {
        size_t i = 0, n = sizeof sc_fields / sizeof sc_fields[0];
        while (i < n && strcmp(sc_fields[i].field, v->string) != 0)
            i++;
        if (i == n) {
            snprintf(err, errlen, "unknown field \"%.60s\" (see docs/TESTS.md)", v->string);
            return -1;
        }
        if (seen[i]++) {
            snprintf(err, errlen, "\"%s\" is given twice", v->string);
            return -1;
        }
        if (cJSON_IsNull(v))
            continue;
        if (sc_field(c, sc_fields[i].field, sc_fields[i].flag, sc_fields[i].kind, v, err, errlen) <
            0)
            return -1;
    }
    return 0;
}

static int sc_load_file(struct startcfg *c, const char *path, char *err, size_t errlen);

/* A test file's "data.file" is found beside the test file. */
int startcfg_load_file(struct startcfg *c, const char *path, char *err, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    c->base_dir = slash ? (slash == dir ? "/" : dir) : NULL;
    int rc = sc_load_file(c, path, err, errlen);
    c->base_dir = NULL;
    return rc;
}

static int sc_load_file(struct startcfg *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "-f: cannot open '%.200s': %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(STARTCFG_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "-f: out of memory");
        return -1;
    }
    size_t n = fread(buf, 1, STARTCFG_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > STARTCFG_FILE_MAX) {
        free(buf);
        snprintf(err, errlen, bad ? "-f: cannot read '%.200s'" : "-f: '%.200s' is over 1 MiB",
                 path);
        return -1;
    }
    buf[n] = '\0';
    /* YAML by its name, or by not starting as a JSON object does. */
    size_t pl = strlen(path);
    const char *first = buf + strspn(buf, " \t\r\n");
    int yaml = (pl > 5 && strcmp(path + pl - 5, ".yaml") == 0) ||
               (pl > 4 && strcmp(path + pl - 4, ".yml") == 0) || (*first && *first != '{');
    if (yaml) {
        char yerr[300];
        cJSON *y = yamljson_parse(buf, n, yerr, sizeof yerr);
        free(buf);
        if (!y) {
            snprintf(err, errlen, "-f: '%.200s' is not a valid YAML test definition: %s", path,
                     yerr);
            return -1;
        }
        char why[700];
        int rc = startcfg_from_json(c, y, why, sizeof why);
        cJSON_Delete(y);
        if (rc < 0)
            snprintf(err, errlen, "-f %.200s: %s", path, why);
        return rc;
    }
    const char *end = NULL;
    cJSON *o = memchr(buf, '\0', n) ? NULL : cJSON_ParseWithLengthOpts(buf, n, &end, 0);
    if (!o) {
        size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
        free(buf);
        snprintf(err, errlen, "-f: '%.200s' is not valid JSON (near byte %zu)", path, at);
        return -1;
    }
    for (const char *p = end; p && p < buf + n; p++) {
        if (!isspace((unsigned char)*p)) {
            cJSON_Delete(o);
            free(buf);
            snprintf(err, errlen, "-f: '%.200s' is not valid JSON (data after the object)", path);
            return -1;
        }
    }
    free(buf);
    char why[700];
    int rc = startcfg_from_json(c, o, why, sizeof why);
    cJSON_Delete(o);
    if (rc < 0)
        snprintf(err, errlen, "-f %.200s: %s", path, why);
    return rc;
}
