#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_client {
    CURL *curl;
    char base[HTTP_URL_MAX];
    char auth[600]; /* "Authorization: Bearer ..." or "" */
    long timeout_ms;
};

/* The response buffer grows as data arrives, up to HTTP_BODY_MAX. */
struct http_buf {
    char *data;
    size_t len, cap;
    int overflow;
};

int http_base_url(const char *url, char *out, size_t outlen, char *err, size_t errlen)
{
    if (!url || !*url) {
        snprintf(err, errlen, "the orchestrator URL is empty");
        return -1;
    }
    size_t n = strlen(url);
    if (n >= HTTP_URL_MAX || n >= outlen) {
        snprintf(err, errlen, "the orchestrator URL is too long (at most %d characters)",
                 HTTP_URL_MAX - 1);
        return -1;
    }
    const char *rest = NULL;
    if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    if (!rest) {
        snprintf(err, errlen, "'%.80s' is not an http:// or https:// URL", url);
        return -1;
    }
    if (!*rest || *rest == '/' || *rest == ':') {
        snprintf(err, errlen, "'%.80s' has no host", url);
        return -1;
    }
    for (const char *p = url; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#') {
            snprintf(err, errlen, "'%.80s' must be a plain base URL (no spaces, query or fragment)",
                     url);
            return -1;
        }
    }
    memcpy(out, url, n + 1);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

int http_create(const char *base_url, const char *token, long timeout_ms, struct http_client **out,
                char *err, size_t errlen)
{
    *out = NULL;
    struct http_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (http_base_url(base_url, c->base, sizeof c->base, err, errlen) < 0) {
        free(c);
        return -1;
    }
    if (token && *token) {
        for (const char *p = token; *p; p++) {
            if ((unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f) {
                snprintf(err, errlen, "the API token must not hold spaces or control characters");
                free(c);
                return -1;
            }
        }
        if (strlen(token) > 512) {
            snprintf(err, errlen, "the API token is too long (at most 512 characters)");
            free(c);
            return -1;
        }
        snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", token);
    }
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    c->curl = curl_easy_init();
    if (!c->curl) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void http_destroy(struct http_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c);
}

const char *http_base(const struct http_client *c)
{
    return c->base;
}

static size_t http_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct http_buf *b = userdata;
    size_t n = size * nmemb;
    if (n > (size_t)HTTP_BODY_MAX - b->len) {
        b->overflow = 1;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int http_request(struct http_client *c, const char *method, const char *path, const char *body,
                 struct http_response *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char url[HTTP_URL_MAX + 512];
    if (snprintf(url, sizeof url, "%s%s", c->base, path) >= (int)sizeof url) {
        snprintf(err, errlen, "request path too long");
        return -1;
    }
    CURL *h = c->curl;
    curl_easy_reset(h);
    struct http_buf b = {0};
    struct curl_slist *hdrs = NULL;
    struct curl_slist *tmp = curl_slist_append(hdrs, "Accept: application/json");
    if (tmp)
        hdrs = tmp;
    if (body && (tmp = curl_slist_append(hdrs, "Content-Type: application/json")))
        hdrs = tmp;
    if (c->auth[0] && (tmp = curl_slist_append(hdrs, c->auth)))
        hdrs = tmp;
    /* A bare "Expect: 100-continue" would add a round trip on large bodies. */
    if ((tmp = curl_slist_append(hdrs, "Expect:")))
        hdrs = tmp;
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "load-client/" DLT_VERSION);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        if (b.overflow)
            snprintf(err, errlen, "the orchestrator at %s sent an answer over %ld MiB", c->base,
                     HTTP_BODY_MAX / (1024 * 1024));
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf(err, errlen, "the orchestrator at %s did not answer within %.3gs", c->base,
                     (double)c->timeout_ms / 1000.0);
        else
            snprintf(err, errlen, "cannot reach the orchestrator at %s: %s", c->base,
                     curl_err[0] ? curl_err : curl_easy_strerror(rc));
        free(b.data);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (!b.data) {
        b.data = calloc(1, 1);
        if (!b.data) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    out->body = b.data;
    out->len = b.len;
    return 0;
}

void http_response_free(struct http_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Copy s into out for a one-line message: control characters become spaces. */
static void http_oneline(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[k++] = (char)(ch < 0x20 || ch == 0x7f ? ' ' : ch);
    }
    out[k] = '\0';
}

int http_json(struct http_client *c, const char *method, const char *path, const cJSON *body,
              cJSON **out, long *status, char *err, size_t errlen)
{
    *out = NULL;
    if (status)
        *status = 0;
    char *text = NULL;
    if (body) {
        text = cJSON_PrintUnformatted(body);
        if (!text) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    struct http_response r;
    int rc = http_request(c, method, path, text, &r, err, errlen);
    cJSON_free(text);
    if (rc < 0)
        return -1;
    if (status)
        *status = r.status;
    cJSON *doc = r.len ? cJSON_ParseWithLength(r.body, r.len) : NULL;
    if (r.status < 200 || r.status > 299) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
        char why[300];
        if (cJSON_IsString(e) && e->valuestring)
            http_oneline(e->valuestring, strlen(e->valuestring), why, 200);
        else if (r.len)
            http_oneline(r.body, r.len < 120 ? r.len : 120, why, sizeof why);
        else
            snprintf(why, sizeof why, "(no body)");
        snprintf(err, errlen, "the orchestrator answered %ld to %s %s: %s", r.status, method, path,
                 why);
        cJSON_Delete(doc);
        http_response_free(&r);
        return -1;
    }
    if (!doc) {
        snprintf(err, errlen, "the orchestrator's answer to %s %s is not JSON (status %ld)", method,
                 path, r.status);
        http_response_free(&r);
        return -1;
    }
    http_response_free(&r);
    *out = doc;
    return 0;
}
