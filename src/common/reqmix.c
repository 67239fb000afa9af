#define _POSIX_C_SOURCE 200809L
#include "reqmix.h"

#include "msg.h"
#include "tmpl.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int rm_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static char *rm_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int reqmix_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= MSG_REQ_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return 0;
    return 1;
}

/* A string field of at most max bytes: 1 present, 0 absent, -1 bad. */
static int rm_str(const cJSON *o, const char *key, size_t max, const char **out, char *err,
                  size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsString(it) || !it->valuestring)
        return rm_fail(err, errlen, "\"%s\" must be a string", key);
    if (strlen(it->valuestring) > max)
        return rm_fail(err, errlen, "\"%s\" is over %zu bytes", key, max);
    *out = it->valuestring;
    return 1;
}

static int rm_only(const cJSON *o, const char *const *keys, int n, char *err, size_t errlen)
{
    for (const cJSON *f = o->child; f; f = f->next) {
        int ok = 0;
        for (int i = 0; i < n && !ok; i++)
            ok = f->string && strcmp(f->string, keys[i]) == 0;
        if (!ok)
            return rm_fail(err, errlen, "unknown field \"%.40s\"", f->string ? f->string : "");
    }
    return 0;
}

static int rm_checks(const cJSON *o, struct msg_checks *c, char *err, size_t errlen)
{
    if (!o || cJSON_IsNull(o))
        return 0;
    if (!cJSON_IsObject(o))
        return rm_fail(err, errlen, "\"checks\" must be an object");
    static const char *const keys[] = {"status", "body_contains", "json"};
    if (rm_only(o, keys, 3, err, errlen) < 0)
        return -1;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (st && !cJSON_IsNull(st)) {
        if (!cJSON_IsArray(st) || cJSON_GetArraySize(st) < 1 ||
            cJSON_GetArraySize(st) > MSG_CHECK_STATUS_MAX)
            return rm_fail(err, errlen, "checks \"status\" must be an array of 1..%d codes",
                           MSG_CHECK_STATUS_MAX);
        const cJSON *v;
        cJSON_ArrayForEach(v, st)
        {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 100 || v->valuedouble > 599)
                return rm_fail(err, errlen, "checks \"status\" holds a code outside 100..599");
            c->status[c->n_status++] = (int)v->valuedouble;
        }
    }
    const char *s = NULL;
    int rc = rm_str(o, "body_contains", MSG_CHECK_TEXT_MAX, &s, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (!*s)
            return rm_fail(err, errlen, "checks \"body_contains\" is empty");
        if (!(c->body_contains = rm_dup(s, strlen(s))))
            return rm_fail(err, errlen, "out of memory");
    }
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "json");
    if (j && !cJSON_IsNull(j)) {
        static const char *const jkeys[] = {"path", "equals"};
        if (!cJSON_IsObject(j) || rm_only(j, jkeys, 2, err, errlen) < 0)
            return rm_fail(err, errlen,
                           "checks \"json\" must be {\"path\": \"a.b\", \"equals\": value}");
        rc = rm_str(j, "path", MSG_CHECK_TEXT_MAX, &s, err, errlen);
        if (rc <= 0 || !*s)
            return rm_fail(err, errlen, "checks \"json\" needs a \"path\" such as \"user.id\"");
        const cJSON *eq = cJSON_GetObjectItemCaseSensitive(j, "equals");
        if (!eq)
            return rm_fail(err, errlen, "checks \"json\" needs \"equals\" (the expected value)");
        char *text = cJSON_PrintUnformatted(eq);
        if (!text || !(c->json_path = rm_dup(s, strlen(s)))) {
            free(text);
            return rm_fail(err, errlen, "out of memory");
        }
        if (strlen(text) > MSG_CHECK_TEXT_MAX) {
            free(text);
            return rm_fail(err, errlen, "checks \"json\" \"equals\" is over %d bytes",
                           MSG_CHECK_TEXT_MAX);
        }
        c->json_equals = text;
    }
    return 0;
}

/* A URL template: the scheme and host must be plain text, so that the
 * driver can check the host before it sends. */
static int rm_url(const char *u, const char *const *cols, int n_col, char *err, size_t errlen)
{
    if (strlen(u) > MSG_URL_MAX || !msg_url_valid(u))
        return rm_fail(err, errlen, "\"url\" must be an http:// or https:// URL with a host");
    const char *auth = strstr(u, "://") + 3;
    const char *path = auth + strcspn(auth, "/?#");
    const char *var = strstr(u, "{{");
    if (var && var < path)
        return rm_fail(err, errlen,
                       "\"url\": a variable in the scheme or host (only the path "
                       "and query may hold them)");
    char e2[200];
    if (tmpl_check(u, strlen(u), cols, n_col, e2, sizeof e2) < 0)
        return rm_fail(err, errlen, "\"url\": %s", e2);
    return 0;
}

static int rm_one(const cJSON *o, const char *const *cols, int n_col, struct msg_request *r,
                  char *err, size_t errlen)
{
    static const char *const keys[] = {"name", "method", "url",   "headers",
                                       "body", "weight", "checks"};
    if (!cJSON_IsObject(o))
        return rm_fail(err, errlen, "must be an object");
    if (rm_only(o, keys, 7, err, errlen) < 0)
        return -1;
    const char *s = NULL;
    if (rm_str(o, "name", MSG_REQ_NAME_MAX, &s, err, errlen) <= 0 || !reqmix_name_ok(s))
        return rm_fail(err, errlen, "needs a \"name\" of 1..%d characters of A-Z a-z 0-9 _ . -",
                       MSG_REQ_NAME_MAX - 1);
    snprintf(r->name, sizeof r->name, "%s", s);
    int rc = rm_str(o, "method", 15, &s, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        static const char *const methods[] = {"GET",   "POST", "PUT",    "DELETE",
                                              "PATCH", "HEAD", "OPTIONS"};
        int ok = 0;
        for (size_t i = 0; i < sizeof methods / sizeof methods[0] && !ok; i++)
            ok = strcasecmp(s, methods[i]) == 0;
        if (!ok)
            return rm_fail(err, errlen,
                           "\"method\" must be GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS");
        for (size_t i = 0; s[i]; i++)
            r->method[i] = (char)toupper((unsigned char)s[i]);
    }
    rc = rm_str(o, "url", MSG_URL_MAX, &s, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (rm_url(s, cols, n_col, err, errlen) < 0)
            return -1;
        if (!(r->url = rm_dup(s, strlen(s))))
            return rm_fail(err, errlen, "out of memory");
    }
    char e2[200];
    if (msg_headers_decode(cJSON_GetObjectItemCaseSensitive(o, "headers"), &r->headers,
                           &r->n_headers, e2, sizeof e2) < 0 ||
        msg_headers_check(r->headers, r->n_headers, e2, sizeof e2) < 0)
        return rm_fail(err, errlen, "%s", e2);
    for (int i = 0; i < r->n_headers; i++) {
        const char *n = r->headers[i].name;
        if (strcasecmp(n, "Content-Length") == 0 || strcasecmp(n, "Transfer-Encoding") == 0)
            return rm_fail(err, errlen, "header \"%s\": the driver frames the body itself", n);
        if (tmpl_check(n, strlen(n), NULL, 0, e2, sizeof e2) < 0 || strstr(n, "{{"))
            return rm_fail(err, errlen, "header name \"%.40s\" holds a variable", n);
        const char *v = r->headers[i].value;
        if (tmpl_check(v, strlen(v), cols, n_col, e2, sizeof e2) < 0)
            return rm_fail(err, errlen, "header \"%.40s\": %s", n, e2);
    }
    rc = rm_str(o, "body", MSG_BODY_MAX, &s, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        if (tmpl_check(s, strlen(s), cols, n_col, e2, sizeof e2) < 0)
            return rm_fail(err, errlen, "\"body\": %s", e2);
        if (!(r->body = rm_dup(s, strlen(s))))
            return rm_fail(err, errlen, "out of memory");
        r->body_len = strlen(s);
        if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
            return rm_fail(err, errlen, "\"method\" %s sends no body", r->method);
    }
    r->weight = 1;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "weight");
    if (w && !cJSON_IsNull(w)) {
        if (!cJSON_IsNumber(w) || w->valuedouble != floor(w->valuedouble) || w->valuedouble < 1 ||
            w->valuedouble > MSG_REQ_WEIGHT_MAX)
            return rm_fail(err, errlen, "\"weight\" must be a whole number 1..%d",
                           MSG_REQ_WEIGHT_MAX);
        r->weight = (int64_t)w->valuedouble;
    }
    return rm_checks(cJSON_GetObjectItemCaseSensitive(o, "checks"), &r->checks, err, errlen);
}

int reqmix_decode(const cJSON *a, const char *const *cols, int n_col, struct msg_request **out,
                  int *n_out, char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    if (!cJSON_IsArray(a))
        return rm_fail(err, errlen, "\"requests\" must be an array of requests");
    int n = cJSON_GetArraySize(a);
    if (n < 1 || n > MSG_REQUESTS_MAX)
        return rm_fail(err, errlen, "\"requests\" has %d entries: give 1..%d", n, MSG_REQUESTS_MAX);
    struct msg_request *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return rm_fail(err, errlen, "out of memory");
    int k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a)
    {
        char e2[400];
        int rc = rm_one(it, cols, n_col, &r[k], e2, sizeof e2);
        k++;
        if (rc < 0) {
            rm_fail(err, errlen, "request %d%s%s%s: %s", k, r[k - 1].name[0] ? " (\"" : "",
                    r[k - 1].name, r[k - 1].name[0] ? "\")" : "", e2);
            reqmix_free(r, k);
            return -1;
        }
        for (int i = 0; i < k - 1; i++)
            if (strcmp(r[i].name, r[k - 1].name) == 0) {
                rm_fail(err, errlen, "request %d: the name \"%s\" is given twice", k,
                        r[k - 1].name);
                reqmix_free(r, k);
                return -1;
            }
    }
    *out = r;
    *n_out = k;
    return 0;
}

static int rm_add(cJSON *o, const char *key, cJSON *v)
{
    if (!v)
        return 0;
    if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        return 0;
    }
    return 1;
}

cJSON *reqmix_to_json(const struct msg_request *r, int n)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int i = 0; ok && i < n; i++) {
        const struct msg_request *q = &r[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(a, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "name", q->name) != NULL;
        if (ok && q->method[0])
            ok = cJSON_AddStringToObject(o, "method", q->method) != NULL;
        if (ok && q->url)
            ok = cJSON_AddStringToObject(o, "url", q->url) != NULL;
        if (ok && q->n_headers > 0) {
            cJSON *h = cJSON_AddObjectToObject(o, "headers");
            ok = h != NULL;
            for (int k = 0; ok && k < q->n_headers; k++)
                ok = cJSON_AddStringToObject(h, q->headers[k].name, q->headers[k].value) != NULL;
        }
        if (ok && q->body)
            ok = cJSON_AddStringToObject(o, "body", q->body) != NULL;
        if (ok && q->weight != 1)
            ok = cJSON_AddNumberToObject(o, "weight", (double)q->weight) != NULL;
        const struct msg_checks *c = &q->checks;
        if (ok && (c->n_status || c->body_contains || c->json_path)) {
            cJSON *co = cJSON_AddObjectToObject(o, "checks");
            ok = co != NULL;
            if (ok && c->n_status)
                ok = rm_add(co, "status", cJSON_CreateIntArray(c->status, c->n_status));
            if (ok && c->body_contains)
                ok = cJSON_AddStringToObject(co, "body_contains", c->body_contains) != NULL;
            if (ok && c->json_path) {
                cJSON *j = cJSON_AddObjectToObject(co, "json");
                ok = j && cJSON_AddStringToObject(j, "path", c->json_path) &&
                     rm_add(j, "equals", cJSON_Parse(c->json_equals));
            }
        }
    }
    if (!ok) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

static void rm_free_one(struct msg_request *r)
{
    free(r->url);
    msg_headers_free(r->headers, r->n_headers);
    free(r->body);
    free(r->checks.body_contains);
    free(r->checks.json_path);
    free(r->checks.json_equals);
}

void reqmix_free(struct msg_request *r, int n)
{
    for (int i = 0; r && i < n; i++)
        rm_free_one(&r[i]);
    free(r);
}

static int rm_dup_opt(char **dst, const char *src, size_t n)
{
    *dst = NULL;
    return !src || (*dst = rm_dup(src, n)) != NULL;
}

int reqmix_copy(struct msg_request **dst, const struct msg_request *src, int n)
{
    *dst = NULL;
    if (!src || n <= 0)
        return 0;
    struct msg_request *r = calloc((size_t)n, sizeof *r);
    if (!r)
        return -1;
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const struct msg_request *s = &src[i];
        struct msg_request *d = &r[i];
        *d = *s;
        d->headers = NULL;
        d->n_headers = 0;
        ok = rm_dup_opt(&d->url, s->url, s->url ? strlen(s->url) : 0) &&
             rm_dup_opt(&d->body, s->body, s->body_len) &&
             rm_dup_opt(&d->checks.body_contains, s->checks.body_contains,
                        s->checks.body_contains ? strlen(s->checks.body_contains) : 0) &&
             rm_dup_opt(&d->checks.json_path, s->checks.json_path,
                        s->checks.json_path ? strlen(s->checks.json_path) : 0) &&
             rm_dup_opt(&d->checks.json_equals, s->checks.json_equals,
                        s->checks.json_equals ? strlen(s->checks.json_equals) : 0);
        if (ok && s->n_headers > 0) {
            d->headers = calloc((size_t)s->n_headers, sizeof *d->headers);
            ok = d->headers != NULL;
            for (int k = 0; ok && k < s->n_headers; k++) {
                d->n_headers = k + 1;
                d->headers[k].name = rm_dup(s->headers[k].name, strlen(s->headers[k].name));
                d->headers[k].value = rm_dup(s->headers[k].value, strlen(s->headers[k].value));
                ok = d->headers[k].name && d->headers[k].value;
            }
        }
    }
    if (!ok) {
        reqmix_free(r, n);
        return -1;
    }
    *dst = r;
    return 0;
}

/* ---- by_request ------------------------------------------------------------- */

static int rm_count(const cJSON *o, const char *key, int64_t *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15 ||
        v->valuedouble != floor(v->valuedouble))
        return rm_fail(err, errlen, "\"%s\" must be a count", key);
    *out = (int64_t)v->valuedouble;
    return 0;
}

int reqmix_stats_decode(const cJSON *o, struct msg_req_stats **out, int *n_out, char *err,
                        size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    if (!o || cJSON_IsNull(o))
        return 0;
    if (!cJSON_IsObject(o))
        return rm_fail(err, errlen, "\"by_request\" must be an object of request names");
    int n = cJSON_GetArraySize(o);
    if (n > MSG_REQUESTS_MAX)
        return rm_fail(err, errlen, "\"by_request\" has %d names, over the limit of %d", n,
                       MSG_REQUESTS_MAX);
    if (n == 0)
        return 0;
    struct msg_req_stats *s = calloc((size_t)n, sizeof *s);
    if (!s)
        return rm_fail(err, errlen, "out of memory");
    int k = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        struct msg_req_stats *r = &s[k++];
        char e2[200] = "";
        const cJSON *fb = cJSON_GetObjectItemCaseSensitive(it, "checks_failed_by");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(it, "histogram");
        int bad = !it->string || !reqmix_name_ok(it->string) || !cJSON_IsObject(it);
        if (!bad) {
            snprintf(r->name, sizeof r->name, "%s", it->string);
            bad = rm_count(it, "requests_sent", &r->sent, e2, sizeof e2) < 0 ||
                  rm_count(it, "responses_received", &r->responses, e2, sizeof e2) < 0 ||
                  rm_count(it, "errors", &r->errors, e2, sizeof e2) < 0 ||
                  rm_count(it, "checks_passed", &r->checks_passed, e2, sizeof e2) < 0 ||
                  rm_count(it, "checks_failed", &r->checks_failed, e2, sizeof e2) < 0 ||
                  (fb && (!cJSON_IsObject(fb) ||
                          rm_count(fb, "status", &r->failed_status, e2, sizeof e2) < 0 ||
                          rm_count(fb, "body_contains", &r->failed_body, e2, sizeof e2) < 0 ||
                          rm_count(fb, "json", &r->failed_json, e2, sizeof e2) < 0));
            if (!bad && (r->responses > r->sent || r->errors > r->sent))
                bad = snprintf(e2, sizeof e2, "more responses or errors than requests sent") > 0;
            if (!bad && h && !cJSON_IsNull(h)) {
                if (!cJSON_IsString(h) || strlen(h->valuestring) > MSG_MAX_BYTES)
                    bad = snprintf(e2, sizeof e2, "\"histogram\" must be a string") > 0;
                else if (!(r->histogram = rm_dup(h->valuestring, strlen(h->valuestring))))
                    bad = snprintf(e2, sizeof e2, "out of memory") > 0;
            }
        }
        if (bad) {
            rm_fail(err, errlen, "\"by_request\" \"%.40s\": %s", it->string ? it->string : "",
                    e2[0] ? e2 : "not a valid request name or not an object");
            reqmix_stats_free(s, k);
            return -1;
        }
    }
    *out = s;
    *n_out = k;
    return 0;
}

cJSON *reqmix_stats_to_json(const struct msg_req_stats *s, int n)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    for (int i = 0; ok && i < n; i++) {
        const struct msg_req_stats *r = &s[i];
        cJSON *x = cJSON_AddObjectToObject(o, r->name);
        cJSON *fb = x ? cJSON_AddObjectToObject(x, "checks_failed_by") : NULL;
        ok = x && fb && cJSON_AddNumberToObject(x, "requests_sent", (double)r->sent) &&
             cJSON_AddNumberToObject(x, "responses_received", (double)r->responses) &&
             cJSON_AddNumberToObject(x, "errors", (double)r->errors) &&
             cJSON_AddNumberToObject(x, "checks_passed", (double)r->checks_passed) &&
             cJSON_AddNumberToObject(x, "checks_failed", (double)r->checks_failed) &&
             cJSON_AddNumberToObject(fb, "status", (double)r->failed_status) &&
             cJSON_AddNumberToObject(fb, "body_contains", (double)r->failed_body) &&
             cJSON_AddNumberToObject(fb, "json", (double)r->failed_json);
        if (ok && r->histogram)
            ok = cJSON_AddStringToObject(x, "histogram", r->histogram) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void reqmix_stats_free(struct msg_req_stats *s, int n)
{
    for (int i = 0; s && i < n; i++)
        free(s[i].histogram);
    free(s);
}
