#include "apibody.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int api_parse_test(const char *body, size_t len, int original, struct msg_test_config *cfg,
                   int64_t *min_drivers, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
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
        double v = cJSON_IsNumber(md) ? md->valuedouble : -1;
        /* Range first: casting a double outside int64_t is undefined. */
        if (!cJSON_IsNumber(md) || !(v >= 1 && v <= MSG_DRIVERS_MAX) || v != (double)(int64_t)v) {
            snprintf(err, errlen, "\"min_drivers\" must be a whole number 1..%d", MSG_DRIVERS_MAX);
            goto out;
        }
        *min_drivers = (int64_t)v;
    }
    if (msg_test_config_from_json(o, 0, cfg, err, errlen) < 0)
        goto out;
    if (cfg->drivers && cfg->n_drivers == 0) {
        snprintf(err, errlen, "\"drivers\" is empty: leave it out to use every alive driver");
        msg_test_config_free(cfg);
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}
