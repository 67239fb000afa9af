#define _POSIX_C_SOURCE 200809L
#include "yamljson.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct yj {
    yaml_parser_t p;
    char *err;
    size_t errlen;
};

static cJSON *yj_fail(struct yj *y, const yaml_event_t *ev, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (ev)
        snprintf(y->err, y->errlen, "line %zu, column %zu: %s", ev->start_mark.line + 1,
                 ev->start_mark.column + 1, what);
    else
        snprintf(y->err, y->errlen, "%s", what);
    return NULL;
}

/* The next event; 0 on a syntax error (err set). */
static int yj_next(struct yj *y, yaml_event_t *ev)
{
    if (yaml_parser_parse(&y->p, ev))
        return 1;
    snprintf(y->err, y->errlen, "line %zu, column %zu: %s", y->p.problem_mark.line + 1,
             y->p.problem_mark.column + 1, y->p.problem ? y->p.problem : "not valid YAML");
    return 0;
}

/* A plain scalar as JSON would read it, else a string. */
static cJSON *yj_plain(const char *s, size_t n)
{
    if (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0)
        return cJSON_CreateNull();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return cJSON_CreateTrue();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return cJSON_CreateFalse();
    /* A number spelled as JSON spells one (no hex, no leading +, no inf). */
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p >= '0' && *p <= '9' && !(p[0] == '0' && p[1] >= '0' && p[1] <= '9')) {
        char *end = NULL;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s + n && errno == 0 && isfinite(v) && !strpbrk(s, "xXiInN"))
            return cJSON_CreateNumber(v);
    }
    return cJSON_CreateString(s);
}

static cJSON *yj_value(struct yj *y, yaml_event_t *ev, int depth);

static cJSON *yj_collection(struct yj *y, yaml_event_t *open, int depth)
{
    int map = open->type == YAML_MAPPING_START_EVENT;
    yaml_event_type_t close = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    if (depth >= YAMLJSON_DEPTH_MAX)
        return yj_fail(y, open, "nested over %d levels", YAMLJSON_DEPTH_MAX);
    cJSON *o = map ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!o)
        return yj_fail(y, NULL, "out of memory");
    for (;;) {
        yaml_event_t ev;
        if (!yj_next(y, &ev))
            goto bad;
        if (ev.type == close) {
            yaml_event_delete(&ev);
            return o;
        }
        char *key = NULL;
        if (map) {
            if (ev.type != YAML_SCALAR_EVENT) {
                yj_fail(y, &ev, "a mapping key must be a plain text");
                yaml_event_delete(&ev);
                goto bad;
            }
            key = strdup((const char *)ev.data.scalar.value);
            if (!key) {
                yaml_event_delete(&ev);
                yj_fail(y, NULL, "out of memory");
                goto bad;
            }
            if (cJSON_GetObjectItemCaseSensitive(o, key)) {
                yj_fail(y, &ev, "\"%.60s\" is given twice", key);
                free(key);
                yaml_event_delete(&ev);
                goto bad;
            }
            yaml_event_delete(&ev);
            if (!yj_next(y, &ev)) {
                free(key);
                goto bad;
            }
        }
        cJSON *v = yj_value(y, &ev, depth + 1);
        yaml_event_delete(&ev);
        int ok = v && (map ? cJSON_AddItemToObject(o, key, v) : cJSON_AddItemToArray(o, v));
        free(key);
        if (!ok) {
            if (v) {
                cJSON_Delete(v);
                yj_fail(y, NULL, "out of memory");
            }
            goto bad;
        }
    }
bad:
    cJSON_Delete(o);
    return NULL;
}

/* The value that starts with ev (the caller deletes ev). */
static cJSON *yj_value(struct yj *y, yaml_event_t *ev, int depth)
{
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return yj_fail(y, ev, "anchors and aliases (*name) are not read");
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor)
            return yj_fail(y, ev, "anchors and aliases (&name) are not read");
        if (ev->data.scalar.tag && !ev->data.scalar.plain_implicit &&
            !ev->data.scalar.quoted_implicit)
            return yj_fail(y, ev, "tags (!name) are not read");
        const char *s = (const char *)ev->data.scalar.value;
        size_t n = ev->data.scalar.length;
        if (strlen(s) != n)
            return yj_fail(y, ev, "a NUL character in a string");
        cJSON *v = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? yj_plain(s, n)
                                                                    : cJSON_CreateString(s);
        return v ? v : yj_fail(y, NULL, "out of memory");
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        const yaml_char_t *anchor = ev->type == YAML_SEQUENCE_START_EVENT
                                        ? ev->data.sequence_start.anchor
                                        : ev->data.mapping_start.anchor;
        if (anchor)
            return yj_fail(y, ev, "anchors and aliases (&name) are not read");
        return yj_collection(y, ev, depth);
    }
    default:
        return yj_fail(y, ev, "not a value");
    }
}

cJSON *yamljson_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct yj y = {.err = err, .errlen = errlen};
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "a NUL byte in the file");
        return NULL;
    }
    if (!yaml_parser_initialize(&y.p)) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    cJSON *root = NULL;
    yaml_event_t ev;
    int docs = 0, ok = 1;
    while (ok) {
        if (!yj_next(&y, &ev)) {
            ok = 0;
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            yj_fail(&y, &ev, "more than one document (---)");
            ok = 0;
        } else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_START_EVENT &&
                   t != YAML_DOCUMENT_END_EVENT) {
            root = yj_value(&y, &ev, 0);
            ok = root != NULL;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y.p);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    if (!root)
        snprintf(err, errlen, "the file is empty");
    return root;
}
