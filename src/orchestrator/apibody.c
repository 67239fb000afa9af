#include "apibody.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void api_body_init(struct api_body *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

int api_body_feed(struct api_body *b, const char *data, size_t n)
{
    if (b->too_big || n == 0)
        return 0;
    if (n > b->max || b->len > b->max - n) {
        b->too_big = 1;
        free(b->data);
        b->data = NULL;
        b->len = 0;
        return 0;
    }
    char *nb = realloc(b->data, b->len + n + 1);
    if (!nb)
        return -1;
    memcpy(nb + b->len, data, n);
    b->data = nb;
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void api_body_close(struct api_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static int api_cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The name of an item of o that another item has too, or NULL (also when
 * out of memory: cJSON then uses the first, as before). Sorting keeps a
 * body of many keys from costing n^2. */
static const char *api_dup_key(const cJSON *o)
{
    int n = o ? cJSON_GetArraySize(o) : 0;
    if (n < 2)
        return NULL;
    const char **keys = malloc((size_t)n * sizeof *keys);
    if (!keys)
        return NULL;
    int k = 0;
    for (const cJSON *a = o->child; a && k < n; a = a->next)
        if (a->string)
            keys[k++] = a->string;
    qsort(keys, (size_t)k, sizeof *keys, api_cmp_key);
    const char *dup = NULL;
    for (int i = 1; i < k && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            dup = keys[i];
    free(keys);
    return dup;
}

/* The authority of an http(s) URL that msg_url_ok accepted: a host name or
 * IPv4 address, or an [IPv6] address, with an optional port 1..65535. */
static int api_url_authority_ok(const char *url)
{
    const char *a = strstr(url, "://") + 3;
    size_t n = strcspn(a, "/?#");
    const char *at = memchr(a, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    if (n == 0)
        return 0;
    const char *port = NULL;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (!rb || rb == a + 1)
            return 0;
        for (const char *p = a + 1; p < rb; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return 0;
        if (rb + 1 < a + n) {
            if (rb[1] != ':')
                return 0;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(a, ':', n);
        const char *hend = colon ? colon : a + n;
        if (hend == a)
            return 0;
        for (const char *p = a; p < hend; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
                return 0;
        if (colon)
            port = colon + 1;
    }
    if (port) {
        size_t pl = (size_t)(a + n - port);
        if (pl == 0 || pl > 5)
            return 0;
        long v = 0;
        for (size_t i = 0; i < pl; i++) {
            if (!isdigit((unsigned char)port[i]))
                return 0;
            v = v * 10 + (port[i] - '0');
        }
        if (v < 1 || v > 65535)
            return 0;
    }
    return 1;
}

/* What msg_test_config_from_json lets through but no driver could run as
 * asked: checked on the REST side before anything is stored. */
static int api_check_test(const cJSON *o, const struct msg_test_config *cfg, int64_t min_drivers,
                          int has_min, char *err, size_t errlen)
{
    const char *dup = api_dup_key(o);
    if (dup) {
        snprintf(err, errlen, "\"%.60s\" is given twice in the body", dup);
        return -1;
    }
    dup = api_dup_key(cJSON_GetObjectItemCaseSensitive(o, "headers"));
    if (dup) {
        snprintf(err, errlen, "header \"%.60s\" is given twice in \"headers\"", dup);
        return -1;
    }
    if (cfg->drivers && cfg->n_drivers == 0) {
        snprintf(err, errlen, "\"drivers\" is empty: leave it out to use every alive driver");
        return -1;
    }
    for (int i = 0; cfg->drivers && i < cfg->n_drivers; i++) {
        for (int j = i + 1; j < cfg->n_drivers; j++) {
            if (strcmp(cfg->drivers[i], cfg->drivers[j]) == 0) {
                snprintf(err, errlen, "\"drivers\" names \"%s\" more than once", cfg->drivers[i]);
                return -1;
            }
        }
    }
    if (has_min && cfg->drivers && min_drivers > cfg->n_drivers) {
        snprintf(err, errlen,
                 "\"min_drivers\" (%lld) is more than the %d driver(s) named in \"drivers\"",
                 (long long)min_drivers, cfg->n_drivers);
        return -1;
    }
    if (cfg->target_url && !api_url_authority_ok(cfg->target_url)) {
        snprintf(err, errlen,
                 "\"target_url\" has a malformed host or port (a port must be 1..65535)");
        return -1;
    }
    if (cfg->body && strcmp(cfg->method, "HEAD") == 0) {
        snprintf(err, errlen, "a HEAD request carries no \"body\": leave one of them out");
        return -1;
    }
    for (int i = 0; i < cfg->n_headers; i++) {
        const char *n = cfg->headers[i].name, *v = cfg->headers[i].value;
        if (strcasecmp(n, "Content-Length") == 0 || strcasecmp(n, "Transfer-Encoding") == 0) {
            snprintf(err, errlen, "header \"%s\" is set by the driver from \"body\"; leave it out",
                     n);
            return -1;
        }
        for (const char *p = v; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                snprintf(err, errlen, "header \"%.40s\" value holds a control character (0x%02x)",
                         n, c);
                return -1;
            }
        }
    }
    return 0;
}

int api_parse_test(const char *body, size_t len, int original, struct msg_test_config *cfg,
                   int64_t *min_drivers, struct verdict *v, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (v)
        memset(v, 0, sizeof *v);
    *min_drivers = 1;
    if (len == 0 || !body) {
        snprintf(err, errlen,
                 "empty body: send a JSON object with test_type, message_count_per_driver and "
                 "test_message_delay (seconds)");
        return -1;
    }
    if (memchr(body, '\0', len)) {
        snprintf(err, errlen, "body is not valid JSON (it holds a NUL byte)");
        return -1;
    }
    if (msg_json_nul_escape(body, len)) {
        snprintf(err, errlen,
                 "body holds \\u0000 (a NUL character) in a string, which is not allowed");
        return -1;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!o) {
        snprintf(err, errlen, "body is not valid JSON (near byte %zu)",
                 end && end >= body ? (size_t)(end - body) : (size_t)0);
        return -1;
    }
    for (const char *p = end; p && p < body + len; p++) {
        if (!isspace((unsigned char)*p)) {
            snprintf(err, errlen, "body is not valid JSON (trailing data after the object)");
            cJSON_Delete(o);
            return -1;
        }
    }
    int rc = -1;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "body must be a JSON object");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(o, "test_id")) {
        snprintf(err, errlen, "\"test_id\" is chosen by the orchestrator; leave it out");
        goto out;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "min_drivers");
    if (md && !cJSON_IsNull(md)) {
        if (original) {
            snprintf(err, errlen, "\"min_drivers\" is not part of /startLoadTest; use /api/tests");
            goto out;
        }
        double n = cJSON_IsNumber(md) ? md->valuedouble : -1;
        /* Range first: casting a double outside int64_t is undefined. */
        if (!cJSON_IsNumber(md) || !(n >= 1 && n <= MSG_DRIVERS_MAX) || n != (double)(int64_t)n) {
            snprintf(err, errlen, "\"min_drivers\" must be a whole number 1..%d", MSG_DRIVERS_MAX);
            goto out;
        }
        *min_drivers = (int64_t)n;
    }
    if (original) {
        static const char *const ours[] = {"thresholds", "abort_on_fail"};
        for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
            const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, ours[i]);
            if (it && !cJSON_IsNull(it)) {
                snprintf(err, errlen, "\"%s\" is not part of /startLoadTest; use /api/tests",
                         ours[i]);
                goto out;
            }
        }
    }
    if (msg_test_config_from_json(o, 0, cfg, err, errlen) < 0)
        goto out;
    if (!original) {
        struct verdict scratch;
        if (verdict_from_request(o, cfg->requests, cfg->n_requests, v ? v : &scratch, err, errlen) <
            0) {
            msg_test_config_free(cfg);
            goto out;
        }
    }
    if (api_check_test(o, cfg, *min_drivers, md && !cJSON_IsNull(md), err, errlen) < 0) {
        msg_test_config_free(cfg);
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}
