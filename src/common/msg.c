#define _POSIX_C_SOURCE 200809L
#include "msg.h"

#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- names ------------------------------------------------------------ */

const char *test_type_name(enum test_type t)
{
    switch (t) {
    case TEST_AVALANCHE:
        return "AVALANCHE";
    case TEST_TSUNAMI:
        return "TSUNAMI";
    }
    return NULL;
}

int test_type_parse(const char *s, enum test_type *out)
{
    if (s && strcasecmp(s, "AVALANCHE") == 0) {
        *out = TEST_AVALANCHE;
        return 0;
    }
    if (s && strcasecmp(s, "TSUNAMI") == 0) {
        *out = TEST_TSUNAMI;
        return 0;
    }
    return -1;
}

const char *node_state_name(enum node_state s)
{
    switch (s) {
    case NODE_STATE_IDLE:
        return "IDLE";
    case NODE_STATE_READY:
        return "READY";
    case NODE_STATE_RUNNING:
        return "RUNNING";
    case NODE_STATE_NONE:
        break;
    }
    return NULL;
}

/* ---- decoding helpers ---------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int msg_fail(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int msg_json_nul_escape(const char *buf, size_t len)
{
    /* In JSON a backslash appears only inside strings, and always starts an
     * escape: skip the escaped character, so that "\\u0000" (an escaped
     * backslash, then u0000) is not taken for one. */
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\\')
            continue;
        if (buf[i + 1] == 'u' && i + 5 < len && memcmp(buf + i + 2, "0000", 4) == 0)
            return 1;
        i++;
    }
    return 0;
}

/* Parse buf as one JSON object within the size cap. */
static cJSON *msg_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    if (!buf || len == 0) {
        msg_fail(err, errlen, "empty message");
        return NULL;
    }
    if (len > MSG_MAX_BYTES) {
        msg_fail(err, errlen, "message of %zu bytes is over the %d byte limit", len, MSG_MAX_BYTES);
        return NULL;
    }
    if (memchr(buf, '\0', len)) {
        msg_fail(err, errlen, "message holds a NUL byte");
        return NULL;
    }
    if (msg_json_nul_escape(buf, len)) {
        msg_fail(err, errlen, "message holds \\u0000 (a NUL character) in a string");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        msg_fail(err, errlen, "not valid JSON (near byte %zu)",
                 end && end >= buf ? (size_t)(end - buf) : (size_t)0);
        return NULL;
    }
    /* Only whitespace may follow the object. */
    for (const char *p = end; p && p < buf + len; p++) {
        if (!isspace((unsigned char)*p)) {
            cJSON_Delete(root);
            msg_fail(err, errlen, "trailing data after the JSON value");
            return NULL;
        }
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        msg_fail(err, errlen, "not a JSON object");
        return NULL;
    }
    return root;
}

/* A number, or a string holding one (the original sent both). Returns 1 when
 * present and valid, 0 when absent (or null), -1 when invalid (err set). */
static int msg_get_num(const cJSON *o, const char *key, double *out, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    double v;
    if (cJSON_IsNumber(it)) {
        v = it->valuedouble;
    } else if (cJSON_IsString(it) && it->valuestring) {
        const char *s = it->valuestring;
        while (isspace((unsigned char)*s))
            s++;
        char *end = NULL;
        errno = 0;
        v = strtod(s, &end);
        while (end && isspace((unsigned char)*end))
            end++;
        if (end == s || (end && *end) || strlen(it->valuestring) > 64)
            return msg_fail(err, errlen, "\"%s\" is not a number", key);
    } else {
        return msg_fail(err, errlen, "\"%s\" must be a number", key);
    }
    if (!isfinite(v))
        return msg_fail(err, errlen, "\"%s\" is not a finite number", key);
    *out = v;
    return 1;
}

/* A whole number within [min, max]; see msg_get_num for the return value. */
static int msg_get_int(const cJSON *o, const char *key, int64_t min, int64_t max, int64_t *out,
                       char *err, size_t errlen)
{
    double v = 0; /* set by msg_get_num when it returns 1; gcc -O3 cannot tell */
    int rc = msg_get_num(o, key, &v, err, errlen);
    if (rc <= 0)
        return rc;
    if (v != floor(v))
        return msg_fail(err, errlen, "\"%s\" must be a whole number", key);
    if (v < (double)min || v > (double)max)
        return msg_fail(err, errlen, "\"%s\" = %.17g is out of range (%lld..%lld)", key, v,
                        (long long)min, (long long)max);
    *out = (int64_t)v;
    return 1;
}

static int msg_get_dbl(const cJSON *o, const char *key, double min, double max, double *out,
                       char *err, size_t errlen)
{
    double v = 0; /* set by msg_get_num when it returns 1; gcc -O3 cannot tell */
    int rc = msg_get_num(o, key, &v, err, errlen);
    if (rc <= 0)
        return rc;
    if (v < min || v > max)
        return msg_fail(err, errlen, "\"%s\" = %.17g is out of range (%g..%g)", key, v, min, max);
    *out = v;
    return 1;
}

/* A string of at most maxlen bytes. Returns 1 present, 0 absent, -1 bad. */
static int msg_get_str(const cJSON *o, const char *key, size_t maxlen, const char **out, char *err,
                       size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsString(it) || !it->valuestring)
        return msg_fail(err, errlen, "\"%s\" must be a string", key);
    size_t n = strlen(it->valuestring);
    if (n > maxlen)
        return msg_fail(err, errlen, "\"%s\" is %zu bytes, over the %zu byte limit", key, n,
                        maxlen);
    *out = it->valuestring;
    return 1;
}

/* Copy a string field into a fixed buffer. */
static int msg_get_strbuf(const cJSON *o, const char *key, char *buf, size_t buflen, char *err,
                          size_t errlen)
{
    const char *s = NULL;
    int rc = msg_get_str(o, key, buflen - 1, &s, err, errlen);
    if (rc == 1)
        snprintf(buf, buflen, "%s", s);
    return rc;
}

/* An id: a string (or a whole JSON number, as an original peer may send)
 * made of [A-Za-z0-9_.:-]. Required. */
static int msg_get_id(const cJSON *o, const char *key, char *buf, char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it))
        return msg_fail(err, errlen, "missing \"%s\"", key);
    if (cJSON_IsNumber(it)) {
        double v = it->valuedouble;
        if (!isfinite(v) || v != floor(v) || v < 0 || v > 9007199254740992.0)
            return msg_fail(err, errlen, "\"%s\" must be a string id", key);
        snprintf(buf, ID_MAX, "%.0f", v);
        return 1;
    }
    if (!cJSON_IsString(it) || !it->valuestring)
        return msg_fail(err, errlen, "\"%s\" must be a string", key);
    if (!id_valid(it->valuestring))
        return msg_fail(err, errlen,
                        "\"%s\" is not a valid id (1..%d characters of A-Z a-z 0-9 _ . : -)", key,
                        ID_MAX - 1);
    snprintf(buf, ID_MAX, "%s", it->valuestring);
    return 1;
}

static int msg_get_enum(const cJSON *o, const char *key, const char *const *names, int n, int *out,
                        char *err, size_t errlen)
{
    const char *s = NULL;
    int rc = msg_get_str(o, key, 64, &s, err, errlen);
    if (rc <= 0)
        return rc;
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 1;
        }
    }
    return msg_fail(err, errlen, "\"%s\" has an unknown value \"%.40s\"", key, s);
}

/* ---- encoding helpers ---------------------------------------------------- */

/* Round to 3 decimals so that encoded latencies stay short (µs precision). */
static double msg_round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static char *msg_print(cJSON *root)
{
    char *s = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return s;
}

/* cJSON_Add* return NULL when out of memory; we check the whole tree once by
 * counting failures. */
struct msg_enc {
    int failed;
};

static void msg_add_num(struct msg_enc *e, cJSON *o, const char *key, double v)
{
    if (!cJSON_AddNumberToObject(o, key, v))
        e->failed = 1;
}

static void msg_add_str(struct msg_enc *e, cJSON *o, const char *key, const char *v)
{
    if (!cJSON_AddStringToObject(o, key, v ? v : ""))
        e->failed = 1;
}

static void msg_add_bool(struct msg_enc *e, cJSON *o, const char *key, int v)
{
    if (!cJSON_AddBoolToObject(o, key, v))
        e->failed = 1;
}

static void msg_add_item(struct msg_enc *e, cJSON *o, const char *key, cJSON *item)
{
    if (!item || !cJSON_AddItemToObject(o, key, item)) {
        cJSON_Delete(item);
        e->failed = 1;
    }
}

static cJSON *msg_finish(struct msg_enc *e, cJSON *root)
{
    if (e->failed) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- register ------------------------------------------------------------ */

int msg_register_decode(const char *buf, size_t len, struct msg_register *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *o = msg_parse(buf, len, err, errlen);
    if (!o)
        return -1;
    static const char *const types[] = {"DRIVER_NODE_REGISTER", "DRIVER_NODE_UNREGISTER"};
    int t = -1, rc;
    const char *ip = NULL;
    int64_t pid = 0;
    if (msg_get_id(o, "node_id", out->node_id, err, errlen) < 0)
        goto bad;
    rc = msg_get_str(o, "node_IP", sizeof out->node_ip - 1, &ip, err, errlen);
    if (rc == 0)
        rc = msg_get_str(o, "node_ip", sizeof out->node_ip - 1, &ip, err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 0) {
        msg_fail(err, errlen, "missing \"node_IP\"");
        goto bad;
    }
    snprintf(out->node_ip, sizeof out->node_ip, "%s", ip);
    rc = msg_get_enum(o, "message_type", types, 2, &t, err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 0) {
        msg_fail(err, errlen, "missing \"message_type\"");
        goto bad;
    }
    out->unregister = t == 1;
    if (msg_get_strbuf(o, "hostname", out->hostname, sizeof out->hostname, err, errlen) < 0 ||
        msg_get_strbuf(o, "version", out->version, sizeof out->version, err, errlen) < 0 ||
        msg_get_int(o, "pid", 0, INT32_MAX, &pid, err, errlen) < 0 ||
        msg_get_dbl(o, "timestamp", 0, 1e11, &out->timestamp, err, errlen) < 0)
        goto bad;
    out->pid = pid;
    cJSON_Delete(o);
    return 0;
bad:
    cJSON_Delete(o);
    memset(out, 0, sizeof *out);
    return -1;
}

char *msg_register_encode(const struct msg_register *m)
{
    struct msg_enc e = {0};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    msg_add_str(&e, o, "node_id", m->node_id);
    msg_add_str(&e, o, "node_IP", m->node_ip);
    msg_add_str(&e, o, "message_type",
                m->unregister ? "DRIVER_NODE_UNREGISTER" : "DRIVER_NODE_REGISTER");
    if (m->hostname[0])
        msg_add_str(&e, o, "hostname", m->hostname);
    if (m->pid)
        msg_add_num(&e, o, "pid", (double)m->pid);
    if (m->version[0])
        msg_add_str(&e, o, "version", m->version);
    if (m->timestamp > 0)
        msg_add_num(&e, o, "timestamp", msg_round3(m->timestamp));
    return msg_print(msg_finish(&e, o));
}

/* ---- test_config ----------------------------------------------------------- */

void msg_test_config_free(struct msg_test_config *m)
{
    if (!m)
        return;
    free(m->target_url);
    for (int i = 0; i < m->n_headers; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m->body);
    free(m->drivers);
    free(m->stages);
    reqmix_free(m->requests, m->n_requests);
    data_free(&m->data);
    memset(m, 0, sizeof *m);
}

static char *msg_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int msg_test_config_copy(struct msg_test_config *dst, const struct msg_test_config *src)
{
    *dst = *src;
    dst->target_url = NULL;
    dst->headers = NULL;
    dst->n_headers = 0;
    dst->body = NULL;
    dst->drivers = NULL;
    dst->stages = NULL;
    dst->requests = NULL;
    memset(&dst->data, 0, sizeof dst->data);
    if (reqmix_copy(&dst->requests, src->requests, src->n_requests) < 0 ||
        data_copy(&dst->data, &src->data) < 0)
        goto oom;
    if (src->stages) {
        dst->stages = calloc((size_t)(src->n_stages ? src->n_stages : 1), sizeof *dst->stages);
        if (!dst->stages)
            goto oom;
        memcpy(dst->stages, src->stages, (size_t)src->n_stages * sizeof *dst->stages);
    }
    if (src->target_url && !(dst->target_url = msg_dup(src->target_url, strlen(src->target_url))))
        goto oom;
    if (src->body && !(dst->body = msg_dup(src->body, src->body_len)))
        goto oom;
    if (src->n_headers > 0) {
        dst->headers = calloc((size_t)src->n_headers, sizeof *dst->headers);
        if (!dst->headers)
            goto oom;
        for (int i = 0; i < src->n_headers; i++) {
            dst->n_headers = i + 1;
            dst->headers[i].name = msg_dup(src->headers[i].name, strlen(src->headers[i].name));
            dst->headers[i].value = msg_dup(src->headers[i].value, strlen(src->headers[i].value));
            if (!dst->headers[i].name || !dst->headers[i].value)
                goto oom;
        }
    }
    if (src->drivers) {
        dst->drivers = calloc((size_t)(src->n_drivers ? src->n_drivers : 1), ID_MAX);
        if (!dst->drivers)
            goto oom;
        memcpy(dst->drivers, src->drivers, (size_t)src->n_drivers * ID_MAX);
    }
    return 0;
oom:
    msg_test_config_free(dst);
    return -1;
}

int msg_test_config_includes(const struct msg_test_config *m, const char *node_id)
{
    if (!m->drivers)
        return 1;
    for (int i = 0; i < m->n_drivers; i++)
        if (strcmp(m->drivers[i], node_id) == 0)
            return 1;
    return 0;
}

static int msg_token_char(char c)
{
    return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int msg_url_valid(const char *u)
{
    if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0)
        return 0;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return 0;
    const char *host = strstr(u, "://") + 3;
    return *host && *host != '/' && *host != ':';
}

/* The stages, and what they replace: the rate of a TSUNAMI, the
 * concurrency of an AVALANCHE. */
static int msg_stages_check(const struct msg_test_config *m, char *err, size_t errlen)
{
    if (m->n_stages < 0 || m->n_stages > MSG_STAGES_MAX || (m->n_stages > 0 && !m->stages))
        return msg_fail(err, errlen, "\"stages\" must hold 1..%d stages", MSG_STAGES_MAX);
    if (m->n_stages == 0) {
        if (m->start_target != 0)
            return msg_fail(err, errlen, "\"start_target\" is given without \"stages\"");
        return 0;
    }
    if (!(m->start_target >= 0 && m->start_target <= MSG_STAGE_TARGET_MAX))
        return msg_fail(err, errlen, "\"start_target\" must be 0..%g", MSG_STAGE_TARGET_MAX);
    double total = 0;
    for (int i = 0; i < m->n_stages; i++) {
        const struct msg_stage *st = &m->stages[i];
        if (!(st->duration_s > 0 && st->duration_s <= MSG_DURATION_MAX_S))
            return msg_fail(err, errlen,
                            "stage %d: \"duration\" must be over 0 and at most %g seconds", i + 1,
                            MSG_DURATION_MAX_S);
        if (!(st->target >= 0 && st->target <= MSG_STAGE_TARGET_MAX))
            return msg_fail(err, errlen, "stage %d: \"target\" must be 0..%g", i + 1,
                            MSG_STAGE_TARGET_MAX);
        total += st->duration_s;
    }
    if (total > MSG_DURATION_MAX_S)
        return msg_fail(err, errlen, "the stages last %g seconds, over the limit of %g", total,
                        MSG_DURATION_MAX_S);
    if (m->test_type == TEST_TSUNAMI && (m->target_throughput > 0 || m->test_message_delay > 0))
        return msg_fail(err, errlen,
                        "the stages set a TSUNAMI's rate: give neither \"target_throughput\" "
                        "nor \"test_message_delay\" with them");
    if (m->test_type == TEST_AVALANCHE && m->concurrency > 0)
        return msg_fail(err, errlen,
                        "the stages set an AVALANCHE's requests in flight: do not give "
                        "\"concurrency\" with them");
    return 0;
}

int msg_test_config_validate(const struct msg_test_config *m, char *err, size_t errlen)
{
    if (m->test_id[0] && !id_valid(m->test_id))
        return msg_fail(err, errlen, "\"test_id\" is not a valid id");
    if (!test_type_name(m->test_type))
        return msg_fail(err, errlen, "\"test_type\" must be AVALANCHE or TSUNAMI");
    if (!(m->test_message_delay >= 0 && m->test_message_delay <= MSG_DELAY_MAX_S))
        return msg_fail(err, errlen, "\"test_message_delay\" must be 0..%g seconds",
                        MSG_DELAY_MAX_S);
    int ends = m->duration_s > 0 || m->n_stages > 0;
    if (m->message_count_per_driver == 0 && !ends)
        return msg_fail(err, errlen,
                        "give \"message_count_per_driver\", \"duration\" or \"stages\": the "
                        "test must end");
    if (m->message_count_per_driver < 0 || m->message_count_per_driver > MSG_COUNT_MAX)
        return msg_fail(err, errlen, "\"message_count_per_driver\" must be 1..%lld", MSG_COUNT_MAX);
    if (!(m->duration_s >= 0 && m->duration_s <= MSG_DURATION_MAX_S))
        return msg_fail(err, errlen, "\"duration\" must be over 0 and at most %g seconds",
                        MSG_DURATION_MAX_S);
    if (msg_stages_check(m, err, errlen) < 0)
        return -1;
    if (m->keep_rate && m->test_type != TEST_TSUNAMI)
        return msg_fail(err, errlen,
                        "\"keep_rate\" is for an open-loop test (TSUNAMI): an AVALANCHE has no "
                        "rate to keep");
    if (m->keep_rate && m->test_message_delay <= 0 && m->target_throughput <= 0 && m->n_stages == 0)
        return msg_fail(err, errlen, "\"keep_rate\" needs a rate: a delay, a throughput or stages");
    if (m->n_requests < 0 || m->n_requests > MSG_REQUESTS_MAX ||
        (m->n_requests > 0 && !m->requests))
        return msg_fail(err, errlen, "\"requests\" must hold 1..%d requests", MSG_REQUESTS_MAX);
    if (m->n_requests > 0 && (m->method[0] || m->body))
        return msg_fail(err, errlen, "with \"requests\", give \"method\" and \"body\" per request");
    if (m->data.mode != DATA_NONE && m->n_requests == 0)
        return msg_fail(err, errlen,
                        "\"data\" is for a request mix: its columns go into \"requests\" as "
                        "{{column}}");
    if (m->data.mode != DATA_NONE &&
        (m->data.n_cols < 1 || m->data.n_cols > DATA_COLS_MAX || !m->data.cols ||
         m->data.n_rows < 1 || m->data.n_rows > DATA_ROWS_MAX))
        return msg_fail(err, errlen, "\"data\" must hold 1..%d columns and 1..%d rows",
                        DATA_COLS_MAX, DATA_ROWS_MAX);
    if (m->data.mode == DATA_SPLIT && m->drivers && m->n_drivers > m->data.n_rows)
        return msg_fail(err, errlen,
                        "\"data\" of %lld row(s) cannot be split among %d drivers: each needs "
                        "one at least (or give \"mode\": \"shared\")",
                        (long long)m->data.n_rows, m->n_drivers);
    for (int i = 0; i < m->n_requests; i++)
        for (int k = 0; k < m->requests[i].n_headers; k++)
            for (int j = 0; j < m->n_headers; j++)
                if (strcasecmp(m->requests[i].headers[k].name, m->headers[j].name) == 0)
                    return msg_fail(err, errlen,
                                    "header \"%.40s\" is given for the test and for request "
                                    "\"%s\"",
                                    m->headers[j].name, m->requests[i].name);
    if (m->target_url && (strlen(m->target_url) > MSG_URL_MAX || !msg_url_valid(m->target_url)))
        return msg_fail(err, errlen,
                        "\"target_url\" must be an http:// or https:// URL with a host");
    if (m->method[0]) {
        static const char *const methods[] = {"GET",   "POST", "PUT",    "DELETE",
                                              "PATCH", "HEAD", "OPTIONS"};
        int ok = 0;
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            ok |= strcmp(m->method, methods[i]) == 0;
        if (!ok)
            return msg_fail(err, errlen,
                            "\"method\" must be GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS");
    }
    if (msg_headers_check(m->headers, m->n_headers, err, errlen) < 0)
        return -1;
    if (m->body && m->body_len > MSG_BODY_MAX)
        return msg_fail(err, errlen, "\"body\" is over %d bytes", MSG_BODY_MAX);
    if (m->concurrency < 0 || m->concurrency > MSG_CONCURRENCY_MAX)
        return msg_fail(err, errlen, "\"concurrency\" must be 1..%d", MSG_CONCURRENCY_MAX);
    if (!(m->target_throughput >= 0 && m->target_throughput <= MSG_THROUGHPUT_MAX))
        return msg_fail(err, errlen, "\"target_throughput\" must be 0..%g requests/s",
                        MSG_THROUGHPUT_MAX);
    if (m->timeout_ms < 0 || m->timeout_ms > MSG_TIMEOUT_MAX_MS)
        return msg_fail(err, errlen, "\"timeout_ms\" must be 1..%d", MSG_TIMEOUT_MAX_MS);
    if (m->report_interval_ms != 0 &&
        (m->report_interval_ms < 100 || m->report_interval_ms > 60000))
        return msg_fail(err, errlen, "\"report_interval_ms\" must be 100..60000");
    if (m->n_drivers < 0 || m->n_drivers > MSG_DRIVERS_MAX)
        return msg_fail(err, errlen, "at most %d drivers", MSG_DRIVERS_MAX);
    for (int i = 0; m->drivers && i < m->n_drivers; i++)
        if (!id_valid(m->drivers[i]))
            return msg_fail(err, errlen, "\"drivers\" holds an invalid node id");
    return 0;
}

int msg_headers_decode(const cJSON *h, struct msg_header **out, int *n_out, char *err,
                       size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    if (!h || cJSON_IsNull(h))
        return 0;
    if (!cJSON_IsObject(h))
        return msg_fail(err, errlen, "\"headers\" must be an object of strings");
    int n = cJSON_GetArraySize(h);
    if (n > MSG_HEADERS_MAX)
        return msg_fail(err, errlen, "\"headers\" has %d entries, over the limit of %d", n,
                        MSG_HEADERS_MAX);
    if (n == 0)
        return 0;
    struct msg_header *hs = calloc((size_t)n, sizeof *hs);
    if (!hs)
        return msg_fail(err, errlen, "out of memory");
    *out = hs;
    const cJSON *it;
    cJSON_ArrayForEach(it, h)
    {
        if (!cJSON_IsString(it) || !it->valuestring || !it->string)
            return msg_fail(err, errlen, "\"headers\" values must be strings");
        if (strlen(it->string) > MSG_HEADER_NAME_MAX ||
            strlen(it->valuestring) > MSG_HEADER_VALUE_MAX)
            return msg_fail(err, errlen, "a header is over the size limit");
        struct msg_header *e = &hs[(*n_out)++];
        e->name = msg_dup(it->string, strlen(it->string));
        e->value = msg_dup(it->valuestring, strlen(it->valuestring));
        if (!e->name || !e->value)
            return msg_fail(err, errlen, "out of memory");
    }
    return 0;
}

void msg_headers_free(struct msg_header *h, int n)
{
    for (int i = 0; h && i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

int msg_headers_check(const struct msg_header *h, int n_headers, char *err, size_t errlen)
{
    if (n_headers < 0 || n_headers > MSG_HEADERS_MAX)
        return msg_fail(err, errlen, "at most %d headers", MSG_HEADERS_MAX);
    for (int i = 0; i < n_headers; i++) {
        const char *n = h[i].name, *v = h[i].value;
        size_t nl = strlen(n);
        if (nl == 0 || nl > MSG_HEADER_NAME_MAX)
            return msg_fail(err, errlen, "header name must be 1..%d characters",
                            MSG_HEADER_NAME_MAX);
        for (size_t k = 0; k < nl; k++)
            if (!msg_token_char(n[k]))
                return msg_fail(err, errlen, "header name \"%.40s\" has an invalid character", n);
        if (strlen(v) > MSG_HEADER_VALUE_MAX)
            return msg_fail(err, errlen, "header \"%.40s\" value is over %d bytes", n,
                            MSG_HEADER_VALUE_MAX);
        for (const char *p = v; *p; p++)
            if (*p == '\r' || *p == '\n')
                return msg_fail(err, errlen, "header \"%.40s\" value has a line break", n);
    }
    return 0;
}

static int msg_decode_headers(const cJSON *o, struct msg_test_config *m, char *err, size_t errlen)
{
    return msg_headers_decode(cJSON_GetObjectItemCaseSensitive(o, "headers"), &m->headers,
                              &m->n_headers, err, errlen);
}

static int msg_decode_drivers(const cJSON *o, struct msg_test_config *m, char *err, size_t errlen)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "drivers");
    if (!d || cJSON_IsNull(d))
        return 0;
    if (!cJSON_IsArray(d))
        return msg_fail(err, errlen, "\"drivers\" must be an array of node ids");
    int n = cJSON_GetArraySize(d);
    if (n > MSG_DRIVERS_MAX)
        return msg_fail(err, errlen, "\"drivers\" has %d entries, over the limit of %d", n,
                        MSG_DRIVERS_MAX);
    m->drivers = calloc((size_t)(n ? n : 1), ID_MAX);
    if (!m->drivers)
        return msg_fail(err, errlen, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, d)
    {
        if (!cJSON_IsString(it) || !id_valid(it->valuestring))
            return msg_fail(err, errlen, "\"drivers\" must hold valid node id strings");
        snprintf(m->drivers[m->n_drivers++], ID_MAX, "%s", it->valuestring);
    }
    return 0;
}

/* Seconds: a number, or a string with a unit ("30s", "2m", "1500ms"; a bare
 * number is seconds), over 0 and at most max. Returns 1 present, 0 absent,
 * -1 bad. */
static int msg_get_seconds(const cJSON *o, const char *key, double max, double *out, char *err,
                           size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    double v = 0;
    if (cJSON_IsString(it) && it->valuestring) {
        int64_t us = 0;
        char perr[160];
        if (strlen(it->valuestring) > 64 ||
            opt_parse_duration_us(it->valuestring, 1000000, (int64_t)(max * 1e6), &us, perr,
                                  sizeof perr) < 0)
            return msg_fail(err, errlen, "\"%s\": %s", key,
                            strlen(it->valuestring) > 64 ? "too long" : perr);
        v = (double)us / 1e6;
    } else if (cJSON_IsNumber(it)) {
        v = it->valuedouble;
    } else {
        return msg_fail(err, errlen,
                        "\"%s\" must be seconds, as a number or a string such as \"30s\"", key);
    }
    if (!(v > 0 && v <= max))
        return msg_fail(err, errlen, "\"%s\" must be over 0 and at most %g seconds", key, max);
    *out = v;
    return 1;
}

static int msg_decode_stages(const cJSON *o, struct msg_test_config *m, char *err, size_t errlen)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "stages");
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a))
        return msg_fail(err, errlen, "\"stages\" must be an array of {\"duration\", \"target\"}");
    int n = cJSON_GetArraySize(a);
    if (n < 1 || n > MSG_STAGES_MAX)
        return msg_fail(err, errlen, "\"stages\" has %d entries: give 1..%d", n, MSG_STAGES_MAX);
    m->stages = calloc((size_t)n, sizeof *m->stages);
    if (!m->stages)
        return msg_fail(err, errlen, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        struct msg_stage *st = &m->stages[m->n_stages];
        char what[32];
        snprintf(what, sizeof what, "stage %d", m->n_stages + 1);
        if (!cJSON_IsObject(it))
            return msg_fail(err, errlen, "%s must be an object {\"duration\", \"target\"}", what);
        for (const cJSON *f = it->child; f; f = f->next)
            if (!f->string ||
                (strcmp(f->string, "duration") != 0 && strcmp(f->string, "target") != 0))
                return msg_fail(err, errlen, "%s: unknown field \"%.40s\" (duration, target)", what,
                                f->string ? f->string : "");
        char e2[200];
        int rc =
            msg_get_seconds(it, "duration", MSG_DURATION_MAX_S, &st->duration_s, e2, sizeof e2);
        if (rc == 0)
            snprintf(e2, sizeof e2, "missing \"duration\"");
        if (rc <= 0)
            return msg_fail(err, errlen, "%s: %s", what, e2);
        rc = msg_get_dbl(it, "target", 0, MSG_STAGE_TARGET_MAX, &st->target, e2, sizeof e2);
        if (rc == 0)
            snprintf(e2, sizeof e2, "missing \"target\"");
        if (rc <= 0)
            return msg_fail(err, errlen, "%s: %s", what, e2);
        m->n_stages++;
    }
    return 0;
}

int msg_test_config_from_json(const cJSON *o, int need_id, struct msg_test_config *m, char *err,
                              size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (!cJSON_IsObject(o))
        return msg_fail(err, errlen, "not a JSON object");
    static const char *const types[] = {"AVALANCHE", "TSUNAMI"};
    int t = -1, rc;
    const char *s = NULL;
    const cJSON *it;
    if (need_id || cJSON_GetObjectItemCaseSensitive(o, "test_id")) {
        if (msg_get_id(o, "test_id", m->test_id, err, errlen) < 0)
            goto bad;
    }
    rc = msg_get_enum(o, "test_type", types, 2, &t, err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 0) {
        msg_fail(err, errlen, "missing \"test_type\" (AVALANCHE or TSUNAMI)");
        goto bad;
    }
    m->test_type = t == 0 ? TEST_AVALANCHE : TEST_TSUNAMI;
    rc = msg_get_dbl(o, "test_message_delay", 0, MSG_DELAY_MAX_S, &m->test_message_delay, err,
                     errlen);
    if (rc < 0)
        goto bad;
    int has_delay = rc;
    if (msg_get_seconds(o, "duration", MSG_DURATION_MAX_S, &m->duration_s, err, errlen) < 0 ||
        msg_decode_stages(o, m, err, errlen) < 0 ||
        msg_get_dbl(o, "start_target", 0, MSG_STAGE_TARGET_MAX, &m->start_target, err, errlen) < 0)
        goto bad;
    int ends = m->duration_s > 0 || m->n_stages > 0;
    if (!has_delay && !ends && m->test_type == TEST_TSUNAMI &&
        !cJSON_GetObjectItemCaseSensitive(o, "target_throughput")) {
        msg_fail(err, errlen, "missing \"test_message_delay\" (seconds between requests)");
        goto bad;
    }
    rc = msg_get_int(o, "message_count_per_driver", 1, MSG_COUNT_MAX, &m->message_count_per_driver,
                     err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 0 && !ends) {
        msg_fail(err, errlen,
                 "missing \"message_count_per_driver\" (or a \"duration\" or \"stages\")");
        goto bad;
    }
    rc = msg_get_str(o, "target_url", MSG_URL_MAX, &s, err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 1 && *s && !(m->target_url = msg_dup(s, strlen(s)))) {
        msg_fail(err, errlen, "out of memory");
        goto bad;
    }
    if (msg_get_strbuf(o, "method", m->method, sizeof m->method, err, errlen) < 0)
        goto bad;
    for (char *p = m->method; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (msg_decode_headers(o, m, err, errlen) < 0)
        goto bad;
    it = cJSON_GetObjectItemCaseSensitive(o, "body");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsString(it) || !it->valuestring) {
            msg_fail(err, errlen, "\"body\" must be a string");
            goto bad;
        }
        size_t bl = strlen(it->valuestring);
        if (bl > MSG_BODY_MAX) {
            msg_fail(err, errlen, "\"body\" is %zu bytes, over the %d byte limit", bl,
                     MSG_BODY_MAX);
            goto bad;
        }
        if (!(m->body = msg_dup(it->valuestring, bl))) {
            msg_fail(err, errlen, "out of memory");
            goto bad;
        }
        m->body_len = bl;
    }
    if (msg_get_int(o, "concurrency", 1, MSG_CONCURRENCY_MAX, &m->concurrency, err, errlen) < 0 ||
        msg_get_dbl(o, "target_throughput", 0, MSG_THROUGHPUT_MAX, &m->target_throughput, err,
                    errlen) < 0 ||
        msg_get_int(o, "timeout_ms", 1, MSG_TIMEOUT_MAX_MS, &m->timeout_ms, err, errlen) < 0 ||
        msg_get_int(o, "report_interval_ms", 100, 60000, &m->report_interval_ms, err, errlen) < 0)
        goto bad;
    if (msg_decode_drivers(o, m, err, errlen) < 0)
        goto bad;
    if (data_decode(cJSON_GetObjectItemCaseSensitive(o, "data"), &m->data, err, errlen) < 0)
        goto bad;
    it = cJSON_GetObjectItemCaseSensitive(o, "requests");
    if (it && !cJSON_IsNull(it) &&
        reqmix_decode(it, (const char *const *)m->data.cols, m->data.n_cols, &m->requests,
                      &m->n_requests, err, errlen) < 0)
        goto bad;
    it = cJSON_GetObjectItemCaseSensitive(o, "http2");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsBool(it)) {
            msg_fail(err, errlen, "\"http2\" must be true or false");
            goto bad;
        }
        m->http2 = cJSON_IsTrue(it);
    }
    it = cJSON_GetObjectItemCaseSensitive(o, "keep_rate");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsBool(it)) {
            msg_fail(err, errlen, "\"keep_rate\" must be true or false");
            goto bad;
        }
        m->keep_rate = cJSON_IsTrue(it);
    }
    if (msg_test_config_validate(m, err, errlen) < 0)
        goto bad;
    return 0;
bad:
    msg_test_config_free(m);
    return -1;
}

int msg_test_config_decode(const char *buf, size_t len, struct msg_test_config *out, char *err,
                           size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *o = msg_parse(buf, len, err, errlen);
    if (!o)
        return -1;
    int rc = msg_test_config_from_json(o, 1, out, err, errlen);
    cJSON_Delete(o);
    return rc;
}

cJSON *msg_test_config_to_json(const struct msg_test_config *m)
{
    struct msg_enc e = {0};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (m->test_id[0])
        msg_add_str(&e, o, "test_id", m->test_id);
    msg_add_str(&e, o, "test_type", test_type_name(m->test_type));
    msg_add_num(&e, o, "test_message_delay", m->test_message_delay);
    if (m->message_count_per_driver > 0)
        msg_add_num(&e, o, "message_count_per_driver", (double)m->message_count_per_driver);
    if (m->duration_s > 0)
        msg_add_num(&e, o, "duration", m->duration_s);
    if (m->n_stages > 0) {
        cJSON *a = cJSON_AddArrayToObject(o, "stages");
        if (!a)
            e.failed = 1;
        for (int i = 0; a && i < m->n_stages; i++) {
            cJSON *st = cJSON_CreateObject();
            if (!st || !cJSON_AddItemToArray(a, st)) {
                cJSON_Delete(st);
                e.failed = 1;
                break;
            }
            msg_add_num(&e, st, "duration", m->stages[i].duration_s);
            msg_add_num(&e, st, "target", m->stages[i].target);
        }
        if (m->start_target > 0)
            msg_add_num(&e, o, "start_target", m->start_target);
    }
    if (m->target_url)
        msg_add_str(&e, o, "target_url", m->target_url);
    if (m->method[0])
        msg_add_str(&e, o, "method", m->method);
    if (m->n_headers > 0) {
        cJSON *h = cJSON_AddObjectToObject(o, "headers");
        if (!h)
            e.failed = 1;
        for (int i = 0; h && i < m->n_headers; i++)
            msg_add_str(&e, h, m->headers[i].name, m->headers[i].value);
    }
    if (m->body)
        msg_add_str(&e, o, "body", m->body);
    if (m->concurrency)
        msg_add_num(&e, o, "concurrency", (double)m->concurrency);
    if (m->target_throughput > 0)
        msg_add_num(&e, o, "target_throughput", m->target_throughput);
    if (m->timeout_ms)
        msg_add_num(&e, o, "timeout_ms", (double)m->timeout_ms);
    if (m->drivers) {
        cJSON *d = cJSON_AddArrayToObject(o, "drivers");
        if (!d)
            e.failed = 1;
        for (int i = 0; d && i < m->n_drivers; i++) {
            cJSON *s = cJSON_CreateString(m->drivers[i]);
            if (!s || !cJSON_AddItemToArray(d, s)) {
                cJSON_Delete(s);
                e.failed = 1;
            }
        }
    }
    if (m->report_interval_ms)
        msg_add_num(&e, o, "report_interval_ms", (double)m->report_interval_ms);
    if (m->http2)
        msg_add_bool(&e, o, "http2", 1);
    if (m->n_requests > 0)
        msg_add_item(&e, o, "requests", reqmix_to_json(m->requests, m->n_requests));
    if (m->keep_rate)
        msg_add_bool(&e, o, "keep_rate", 1);
    if (m->data.mode != DATA_NONE)
        msg_add_item(&e, o, "data", data_to_json(&m->data));
    return msg_finish(&e, o);
}

char *msg_test_config_encode(const struct msg_test_config *m)
{
    return msg_print(msg_test_config_to_json(m));
}

/* ---- trigger ------------------------------------------------------------- */

int msg_trigger_decode(const char *buf, size_t len, struct msg_trigger *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *o = msg_parse(buf, len, err, errlen);
    if (!o)
        return -1;
    static const char *const kinds[] = {"YES", "ABORT", "RESHARE"};
    int k = -1, rc;
    if (msg_get_id(o, "test_id", out->test_id, err, errlen) < 0)
        goto bad;
    rc = msg_get_enum(o, "trigger", kinds, 3, &k, err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 0) {
        msg_fail(err, errlen, "missing \"trigger\"");
        goto bad;
    }
    out->abort = k == 1;
    out->reshare = k == 2;
    if (msg_get_int(o, "start_at", 0, 32503680000000LL, &out->start_at_ms, err, errlen) < 0)
        goto bad;
    if (out->reshare) {
        struct msg_test_config tmp;
        memset(&tmp, 0, sizeof tmp);
        rc = msg_get_int(o, "at", 1, 32503680000000LL, &out->at_ms, err, errlen);
        if (rc == 0)
            msg_fail(err, errlen, "a RESHARE needs \"at\" (epoch ms)");
        if (rc <= 0 || msg_decode_drivers(o, &tmp, err, errlen) < 0) {
            free(tmp.drivers);
            goto bad;
        }
        if (!tmp.drivers || tmp.n_drivers < 1) {
            free(tmp.drivers);
            msg_fail(err, errlen, "a RESHARE needs \"drivers\": the drivers that share the rate");
            goto bad;
        }
        out->drivers = tmp.drivers;
        out->n_drivers = tmp.n_drivers;
    }
    cJSON_Delete(o);
    return 0;
bad:
    cJSON_Delete(o);
    msg_trigger_free(out);
    return -1;
}

void msg_trigger_free(struct msg_trigger *m)
{
    if (!m)
        return;
    free(m->drivers);
    memset(m, 0, sizeof *m);
}

char *msg_trigger_encode(const struct msg_trigger *m)
{
    struct msg_enc e = {0};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    msg_add_str(&e, o, "test_id", m->test_id);
    msg_add_str(&e, o, "trigger", m->reshare ? "RESHARE" : m->abort ? "ABORT" : "YES");
    if (m->start_at_ms > 0)
        msg_add_num(&e, o, "start_at", (double)m->start_at_ms);
    if (m->reshare) {
        msg_add_num(&e, o, "at", (double)m->at_ms);
        cJSON *d = cJSON_AddArrayToObject(o, "drivers");
        if (!d)
            e.failed = 1;
        for (int i = 0; d && i < m->n_drivers; i++) {
            cJSON *id = cJSON_CreateString(m->drivers[i]);
            if (!id || !cJSON_AddItemToArray(d, id)) {
                cJSON_Delete(id);
                e.failed = 1;
            }
        }
    }
    return msg_print(msg_finish(&e, o));
}

/* ---- metrics ------------------------------------------------------------- */

void msg_metrics_free(struct msg_metrics *m)
{
    if (!m)
        return;
    free(m->histogram);
    free(m->service_histogram);
    reqmix_stats_free(m->by_request, m->n_by_request);
    memset(m, 0, sizeof *m);
}

/* Latencies are seconds on the wire (as the original's time.time()
 * differences are) and milliseconds in memory. */
#define LAT_MAX_S 3600.0

static int msg_decode_latency(const cJSON *o, const char *key, int required, struct msg_latency *l,
                              char *err, size_t errlen)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!m || cJSON_IsNull(m)) {
        if (required)
            return msg_fail(err, errlen, "missing \"%s\"", key);
        return 0;
    }
    if (!cJSON_IsObject(m))
        return msg_fail(err, errlen, "\"%s\" must be an object", key);
    static const char *const req[] = {"mean_latency", "median_latency", "min_latency",
                                      "max_latency"};
    double *reqv[] = {&l->mean, &l->median, &l->min, &l->max};
    for (int i = 0; i < 4; i++) {
        int rc = msg_get_dbl(m, req[i], 0, LAT_MAX_S, reqv[i], err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return msg_fail(err, errlen, "missing \"%s\".\"%s\"", key, req[i]);
        *reqv[i] *= 1000.0;
    }
    static const char *const opt[] = {"mode_latency", "p90_latency", "p95_latency", "p99_latency",
                                      "p999_latency"};
    double *optv[] = {&l->mode, &l->p90, &l->p95, &l->p99, &l->p999};
    l->has_ext = 1;
    for (int i = 0; i < 5; i++) {
        int rc = msg_get_dbl(m, opt[i], 0, LAT_MAX_S, optv[i], err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            l->has_ext = 0;
        *optv[i] *= 1000.0;
    }
    if (l->min > l->max)
        return msg_fail(err, errlen, "\"%s\": min_latency is above max_latency", key);
    return 1;
}

static int msg_decode_hist_text(const cJSON *o, const char *key, char **out, char *err,
                                size_t errlen)
{
    const char *s = NULL;
    int rc = msg_get_str(o, key, 512 * 1024, &s, err, errlen);
    if (rc == 1 && !(*out = msg_dup(s, strlen(s))))
        return msg_fail(err, errlen, "out of memory");
    return rc;
}

/* A status_codes key: "100".."599". */
static int msg_status_key(const char *k, int64_t *code)
{
    if (!k || strlen(k) != 3 || !isdigit((unsigned char)k[0]) || !isdigit((unsigned char)k[1]) ||
        !isdigit((unsigned char)k[2]))
        return -1;
    *code = strtol(k, NULL, 10);
    return (*code >= 100 && *code <= 599) ? 0 : -1;
}

int msg_metrics_decode(const char *buf, size_t len, struct msg_metrics *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *o = msg_parse(buf, len, err, errlen);
    if (!o)
        return -1;
    const int64_t CMAX = 1000000000000LL;
    const cJSON *it;
    if (msg_get_id(o, "node_id", out->node_id, err, errlen) < 0 ||
        msg_get_id(o, "test_id", out->test_id, err, errlen) < 0 ||
        msg_get_id(o, "report_id", out->report_id, err, errlen) < 0)
        goto bad;
    if (msg_decode_latency(o, "metrics", 1, &out->lat, err, errlen) < 0)
        goto bad;
    int rc = msg_get_int(o, "seq", 0, CMAX, &out->seq, err, errlen);
    if (rc < 0)
        goto bad;
    out->has_ext = rc == 1;
    it = cJSON_GetObjectItemCaseSensitive(o, "final");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsBool(it)) {
            msg_fail(err, errlen, "\"final\" must be true or false");
            goto bad;
        }
        out->final = cJSON_IsTrue(it);
    }
    if (!out->has_ext)
        out->final = 1; /* an original driver sends one report: its last */
    if (msg_get_int(o, "requests_sent", 0, CMAX, &out->requests_sent, err, errlen) < 0 ||
        msg_get_int(o, "responses_received", 0, CMAX, &out->responses_received, err, errlen) < 0 ||
        msg_get_int(o, "errors", 0, CMAX, &out->errors, err, errlen) < 0 ||
        msg_get_int(o, "elapsed_ms", 0, CMAX, &out->elapsed_ms, err, errlen) < 0 ||
        msg_get_int(o, "late", 0, CMAX, &out->late, err, errlen) < 0 ||
        msg_get_int(o, "first_send_ms", 0, 32503680000000LL, &out->first_send_ms, err, errlen) <
            0 ||
        msg_get_strbuf(o, "engine", out->engine, sizeof out->engine, err, errlen) < 0)
        goto bad;
    for (const char *p = out->engine; *p; p++) {
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_') {
            msg_fail(err, errlen, "\"engine\" must be a lower-case name");
            goto bad;
        }
    }
    {
        int rp = msg_get_int(o, "checks_passed", 0, CMAX, &out->checks_passed, err, errlen);
        int rf = rp < 0
                     ? -1
                     : msg_get_int(o, "checks_failed", 0, CMAX, &out->checks_failed, err, errlen);
        if (rp < 0 || rf < 0)
            goto bad;
        out->has_checks = rp == 1 || rf == 1;
    }
    if (reqmix_stats_decode(cJSON_GetObjectItemCaseSensitive(o, "by_request"), &out->by_request,
                            &out->n_by_request, err, errlen) < 0)
        goto bad;
    it = cJSON_GetObjectItemCaseSensitive(o, "error_kinds");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsObject(it)) {
            msg_fail(err, errlen, "\"error_kinds\" must be an object");
            goto bad;
        }
        if (msg_get_int(it, "connect", 0, CMAX, &out->err_connect, err, errlen) < 0 ||
            msg_get_int(it, "timeout", 0, CMAX, &out->err_timeout, err, errlen) < 0 ||
            msg_get_int(it, "http_4xx", 0, CMAX, &out->err_4xx, err, errlen) < 0 ||
            msg_get_int(it, "http_5xx", 0, CMAX, &out->err_5xx, err, errlen) < 0 ||
            msg_get_int(it, "other", 0, CMAX, &out->err_other, err, errlen) < 0)
            goto bad;
    }
    it = cJSON_GetObjectItemCaseSensitive(o, "status_codes");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) > MSG_STATUS_MAX) {
            msg_fail(err, errlen, "\"status_codes\" must be an object of at most %d codes",
                     MSG_STATUS_MAX);
            goto bad;
        }
        const cJSON *sc;
        cJSON_ArrayForEach(sc, it)
        {
            int64_t code = 0, cnt = 0;
            if (msg_status_key(sc->string, &code) < 0) {
                msg_fail(err, errlen, "\"status_codes\" key \"%.20s\" is not an HTTP status",
                         sc->string ? sc->string : "");
                goto bad;
            }
            if (msg_get_int(it, sc->string, 0, CMAX, &cnt, err, errlen) < 0)
                goto bad;
            out->status[out->n_status].code = (int)code;
            out->status[out->n_status].count = cnt;
            out->n_status++;
        }
    }
    if (msg_decode_hist_text(o, "histogram", &out->histogram, err, errlen) < 0)
        goto bad;
    rc = msg_decode_latency(o, "service_metrics", 0, &out->service, err, errlen);
    if (rc < 0)
        goto bad;
    out->has_service = rc == 1;
    if (msg_decode_hist_text(o, "service_histogram", &out->service_histogram, err, errlen) < 0)
        goto bad;
    if (msg_get_strbuf(o, "failure", out->failure, sizeof out->failure, err, errlen) < 0)
        goto bad;
    if (out->responses_received > out->requests_sent) {
        msg_fail(err, errlen, "\"responses_received\" exceeds \"requests_sent\"");
        goto bad;
    }
    cJSON_Delete(o);
    return 0;
bad:
    cJSON_Delete(o);
    msg_metrics_free(out);
    return -1;
}

/* Milliseconds in memory to seconds on the wire, to the microsecond. */
static double msg_ms_to_s(double ms)
{
    return round(ms * 1000.0) / 1e6;
}

cJSON *msg_latency_to_json(const struct msg_latency *l)
{
    struct msg_enc e = {0};
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return NULL;
    const char *const names[] = {"mean_latency", "median_latency", "min_latency",
                                 "max_latency",  "mode_latency",   "p90_latency",
                                 "p95_latency",  "p99_latency",    "p999_latency"};
    const double v[] = {l->mean, l->median, l->min, l->max, l->mode,
                        l->p90,  l->p95,    l->p99, l->p999};
    for (int i = 0; i < (l->has_ext ? 9 : 4); i++)
        msg_add_num(&e, m, names[i], msg_ms_to_s(v[i]));
    return msg_finish(&e, m);
}

void msg_latency_from_hist(const struct hist *h, struct msg_latency *l)
{
    memset(l, 0, sizeof *l);
    l->has_ext = 1;
    if (!h || hist_count(h) == 0)
        return;
    l->min = (double)hist_min(h) / 1000.0;
    l->max = (double)hist_max(h) / 1000.0;
    l->mean = hist_mean(h) / 1000.0;
    l->median = (double)hist_percentile(h, 50) / 1000.0;
    l->mode = (double)hist_mode(h) / 1000.0;
    l->p90 = (double)hist_percentile(h, 90) / 1000.0;
    l->p95 = (double)hist_percentile(h, 95) / 1000.0;
    l->p99 = (double)hist_percentile(h, 99) / 1000.0;
    l->p999 = (double)hist_percentile(h, 99.9) / 1000.0;
}

cJSON *msg_metrics_to_json(const struct msg_metrics *m)
{
    struct msg_enc e = {0};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    msg_add_str(&e, o, "node_id", m->node_id);
    msg_add_str(&e, o, "test_id", m->test_id);
    msg_add_str(&e, o, "report_id", m->report_id);
    msg_add_item(&e, o, "metrics", msg_latency_to_json(&m->lat));
    if (m->has_ext) {
        msg_add_num(&e, o, "seq", (double)m->seq);
        msg_add_bool(&e, o, "final", m->final);
        msg_add_num(&e, o, "requests_sent", (double)m->requests_sent);
        msg_add_num(&e, o, "responses_received", (double)m->responses_received);
        msg_add_num(&e, o, "errors", (double)m->errors);
        cJSON *k = cJSON_AddObjectToObject(o, "error_kinds");
        if (!k) {
            e.failed = 1;
        } else {
            msg_add_num(&e, k, "connect", (double)m->err_connect);
            msg_add_num(&e, k, "timeout", (double)m->err_timeout);
            msg_add_num(&e, k, "http_4xx", (double)m->err_4xx);
            msg_add_num(&e, k, "http_5xx", (double)m->err_5xx);
            msg_add_num(&e, k, "other", (double)m->err_other);
        }
        cJSON *sc = cJSON_AddObjectToObject(o, "status_codes");
        if (!sc)
            e.failed = 1;
        for (int i = 0; sc && i < m->n_status; i++) {
            char code[8];
            snprintf(code, sizeof code, "%d", m->status[i].code);
            msg_add_num(&e, sc, code, (double)m->status[i].count);
        }
        msg_add_num(&e, o, "elapsed_ms", (double)m->elapsed_ms);
        msg_add_num(&e, o, "late", (double)m->late);
        if (m->first_send_ms > 0)
            msg_add_num(&e, o, "first_send_ms", (double)m->first_send_ms);
        if (m->engine[0])
            msg_add_str(&e, o, "engine", m->engine);
        if (m->has_checks) {
            msg_add_num(&e, o, "checks_passed", (double)m->checks_passed);
            msg_add_num(&e, o, "checks_failed", (double)m->checks_failed);
        }
        if (m->n_by_request > 0)
            msg_add_item(&e, o, "by_request", reqmix_stats_to_json(m->by_request, m->n_by_request));
        if (m->histogram)
            msg_add_str(&e, o, "histogram", m->histogram);
        if (m->has_service)
            msg_add_item(&e, o, "service_metrics", msg_latency_to_json(&m->service));
        if (m->service_histogram)
            msg_add_str(&e, o, "service_histogram", m->service_histogram);
        if (m->failure[0])
            msg_add_str(&e, o, "failure", m->failure);
    }
    return msg_finish(&e, o);
}

char *msg_metrics_encode(const struct msg_metrics *m)
{
    return msg_print(msg_metrics_to_json(m));
}

/* ---- heartbeat ------------------------------------------------------------- */

int msg_heartbeat_decode(const char *buf, size_t len, struct msg_heartbeat *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    cJSON *o = msg_parse(buf, len, err, errlen);
    if (!o)
        return -1;
    static const char *const yes[] = {"YES"};
    static const char *const states[] = {"IDLE", "READY", "RUNNING"};
    int k = -1, st = -1, rc;
    const cJSON *it;
    if (msg_get_id(o, "node_id", out->node_id, err, errlen) < 0)
        goto bad;
    rc = msg_get_enum(o, "heartbeat", yes, 1, &k, err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 0) {
        msg_fail(err, errlen, "missing \"heartbeat\"");
        goto bad;
    }
    /* The original sends the string "time.time()" here: a timestamp that
     * is absent, or a string that is not a number, leaves it unknown (0),
     * and the receiver takes the time it arrived. It is still a heartbeat.
     * A number out of range is an error. */
    it = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
    if (it && !cJSON_IsNull(it)) {
        char ignored[8];
        int numeric = !cJSON_IsString(it) ||
                      msg_get_num(o, "timestamp", &out->timestamp, ignored, sizeof ignored) == 1;
        if (numeric && msg_get_dbl(o, "timestamp", 0, 1e11, &out->timestamp, err, errlen) < 0)
            goto bad;
        if (!numeric)
            out->timestamp = 0;
    }
    rc = msg_get_enum(o, "state", states, 3, &st, err, errlen);
    if (rc < 0)
        goto bad;
    if (rc == 1)
        out->state = (enum node_state)(st + 1);
    it = cJSON_GetObjectItemCaseSensitive(o, "test_id");
    if (it && !cJSON_IsNull(it) && !(cJSON_IsString(it) && it->valuestring[0] == '\0')) {
        if (msg_get_id(o, "test_id", out->test_id, err, errlen) < 0)
            goto bad;
    }
    if (msg_get_int(o, "requests_sent", 0, 1000000000000LL, &out->requests_sent, err, errlen) < 0)
        goto bad;
    it = cJSON_GetObjectItemCaseSensitive(o, "listening");
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsBool(it)) {
            msg_fail(err, errlen, "\"listening\" is not a boolean");
            goto bad;
        }
        out->listening = cJSON_IsTrue(it) ? MSG_LISTENING_YES : MSG_LISTENING_NO;
    }
    cJSON_Delete(o);
    return 0;
bad:
    cJSON_Delete(o);
    memset(out, 0, sizeof *out);
    return -1;
}

char *msg_heartbeat_encode(const struct msg_heartbeat *m)
{
    struct msg_enc e = {0};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    msg_add_str(&e, o, "node_id", m->node_id);
    msg_add_str(&e, o, "heartbeat", "YES");
    msg_add_num(&e, o, "timestamp", msg_round3(m->timestamp));
    if (m->state != NODE_STATE_NONE) {
        msg_add_str(&e, o, "state", node_state_name(m->state));
        if (m->test_id[0])
            msg_add_str(&e, o, "test_id", m->test_id);
        msg_add_num(&e, o, "requests_sent", (double)m->requests_sent);
        if (m->listening != MSG_LISTENING_UNKNOWN)
            msg_add_bool(&e, o, "listening", m->listening == MSG_LISTENING_YES);
    }
    return msg_print(msg_finish(&e, o));
}
