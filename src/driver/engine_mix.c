/* engine_mix: a test's requests as the engine keeps them: which one a send
 * is of (by weight), their templates expanded for a send, and their checks
 * on the answer. Without a mix the test's one request is request 0, sent
 * as given and checked for a status of 200..399. */
#define _GNU_SOURCE
#include "clock.h"
#include "engine_int.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *em_dup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *em_str(const char *s)
{
    return s ? em_dup(s, strlen(s)) : NULL;
}

/* Fill r from what is common to a single request and a mix's. */
static int em_fill(struct engine *e, struct eng_req *r, const struct engine_req *q, char *err,
                   size_t errlen)
{
    const struct engine_conf *c = &e->conf;
    const char *body = q ? q->body : c->body;
    size_t body_len = q ? q->body_len : c->body_len;
    const char *m = q ? q->method : c->method;
    if (!m || !*m)
        m = body ? "POST" : "GET";
    int nh = c->n_headers + (q ? q->n_headers : 0);
    r->name = em_str(q ? q->name : "");
    r->method = em_str(m);
    r->head = strcmp(m, "HEAD") == 0;
    r->url = em_str(q && q->url ? q->url : c->url);
    r->body = body ? em_dup(body, body_len) : NULL;
    r->body_len = body_len;
    r->headers = nh ? calloc((size_t)nh, sizeof *r->headers) : NULL;
    int oom = !r->name || !r->method || !r->url || (body && !r->body) || (nh && !r->headers);
    for (int i = 0; !oom && i < nh; i++) {
        const char *h = i < c->n_headers ? c->header_lines[i] : q->header_lines[i - c->n_headers];
        oom = !(r->headers[i] = em_str(h));
        r->n_headers = i + 1;
    }
    if (oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* s as a template of the request's own, or as fixed text when it is the
 * test's (its target_url and headers are sent as given, docs/TESTS.md). */
static int em_tmpl(struct tmpl *t, const char *s, size_t len, int own, const struct engine_conf *c,
                   char *err, size_t errlen)
{
    if (!own) {
        if (tmpl_literal(t, s, len) == 0)
            return 0;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return tmpl_parse(t, s, len, c->data_cols, c->n_data_rows > 0 ? c->n_data_cols : 0, err,
                      errlen);
}

/* Parse r's templates; a mix's requests (q) only. */
static int em_templates(const struct engine_conf *c, struct eng_req *r, const struct engine_req *q,
                        char *err, size_t errlen)
{
    char e2[200];
    r->templated = 1;
    if (em_tmpl(&r->t_url, r->url, strlen(r->url), q->url != NULL, c, e2, sizeof e2) < 0 ||
        (r->body && em_tmpl(&r->t_body, r->body, r->body_len, 1, c, e2, sizeof e2) < 0))
        goto bad;
    r->t_url.url = 1;
    if (r->n_headers) {
        r->t_headers = calloc((size_t)r->n_headers, sizeof *r->t_headers);
        if (!r->t_headers) {
            snprintf(e2, sizeof e2, "out of memory");
            goto bad;
        }
        /* The test's own headers come first (em_fill). */
        for (int i = 0; i < r->n_headers; i++)
            if (em_tmpl(&r->t_headers[i], r->headers[i], strlen(r->headers[i]), i >= c->n_headers,
                        c, e2, sizeof e2) < 0)
                goto bad;
    }
    return 0;
bad:
    snprintf(err, errlen, "request \"%s\": %s", r->name, e2);
    return -1;
}

static int em_checks(struct eng_req *r, const struct engine_req *q, char *err, size_t errlen)
{
    if (q->n_status > 0) {
        r->status = malloc((size_t)q->n_status * sizeof *r->status);
        if (!r->status)
            goto oom;
        memcpy(r->status, q->status, (size_t)q->n_status * sizeof *r->status);
        r->n_status = q->n_status;
    }
    if (q->body_contains && !(r->body_contains = em_str(q->body_contains)))
        goto oom;
    if (q->json_path) {
        if (!(r->json_path = em_str(q->json_path)))
            goto oom;
        r->json_equals = cJSON_Parse(q->json_equals ? q->json_equals : "null");
        if (!r->json_equals) {
            snprintf(err, errlen, "request \"%s\": the json check's value is not JSON", r->name);
            return -1;
        }
    }
    r->capture = r->body_contains || r->json_path;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int eng_mix_init(struct engine *e, char *err, size_t errlen)
{
    const struct engine_conf *c = &e->conf;
    int n = c->reqs ? c->n_reqs : 1;
    if (c->reqs && (c->n_reqs < 1 || c->n_reqs > 100000)) {
        snprintf(err, errlen, "engine: a mix of %d requests", c->n_reqs);
        return -1;
    }
    e->reqs = calloc((size_t)n, sizeof *e->reqs);
    if (!e->reqs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->n_reqs = n;
    e->mix = c->reqs != NULL;
    int64_t cum = 0;
    for (int i = 0; i < n; i++) {
        struct eng_req *r = &e->reqs[i];
        const struct engine_req *q = c->reqs ? &c->reqs[i] : NULL;
        if (em_fill(e, r, q, err, errlen) < 0)
            return -1;
        if (q) {
            if (q->weight < 1) {
                snprintf(err, errlen, "request \"%s\": a weight below 1", r->name);
                return -1;
            }
            if (em_templates(c, r, q, err, errlen) < 0 || em_checks(r, q, err, errlen) < 0)
                return -1;
        }
        cum += q ? q->weight : 1;
        r->cum = cum;
    }
    return 0;
}

void eng_mix_free(struct engine *e)
{
    for (int i = 0; e->reqs && i < e->n_reqs; i++) {
        struct eng_req *r = &e->reqs[i];
        free(r->name);
        free(r->method);
        free(r->url);
        for (int k = 0; r->headers && k < r->n_headers; k++)
            free(r->headers[k]);
        free(r->headers);
        free(r->body);
        tmpl_free(&r->t_url);
        tmpl_free(&r->t_body);
        for (int k = 0; r->t_headers && k < r->n_headers; k++)
            tmpl_free(&r->t_headers[k]);
        free(r->t_headers);
        free(r->status);
        free(r->body_contains);
        free(r->json_path);
        cJSON_Delete(r->json_equals);
    }
    free(e->reqs);
    e->reqs = NULL;
    e->n_reqs = 0;
}

int eng_mix_thread_init(struct eng_thread *t, char *err, size_t errlen)
{
    struct engine *e = t->e;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->rng = tmpl_rng_seed((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                           ((uint64_t)t->k << 48) ^ ((uint64_t)e->conf.fleet_k << 56));
    if (!e->mix)
        return 0;
    t->rq = calloc((size_t)e->n_reqs, sizeof *t->rq);
    if (!t->rq) {
        snprintf(err, errlen, "out of memory for the requests' figures");
        return -1;
    }
    for (int i = 0; i < e->n_reqs; i++)
        if (hist_create(&t->rq[i].lat)) {
            snprintf(err, errlen, "out of memory for the requests' histograms");
            return -1;
        }
    return 0;
}

void eng_mix_thread_free(struct eng_thread *t)
{
    for (int i = 0; t->rq && i < t->e->n_reqs; i++)
        hist_destroy(t->rq[i].lat);
    free(t->rq);
    t->rq = NULL;
}

int eng_mix_pick(struct eng_thread *t)
{
    const struct engine *e = t->e;
    if (e->n_reqs == 1)
        return 0;
    uint64_t x = tmpl_rng_next(&t->rng) % (uint64_t)e->reqs[e->n_reqs - 1].cum;
    int lo = 0, hi = e->n_reqs - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if ((uint64_t)e->reqs[mid].cum > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int eng_mix_expand(struct eng_thread *t, const struct tmpl *x, struct tbuf *b)
{
    const struct engine_conf *ec = &t->e->conf;
    struct tmpl_ctx c = {.seq = t->cur_seq, .driver = ec->fleet_k, .rng = &t->rng};
    if (ec->n_data_rows > 0) {
        int64_t at = (t->cur_seq % ec->n_data_rows) * ec->n_data_cols;
        c.row = ec->data_cells + at;
        c.row_len = ec->data_lens + at;
    }
    if (x->now_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        c.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    return tmpl_expand(x, &c, b);
}

/* The value at path ("a.b.0.c") in the JSON of the body, or NULL. */
static const cJSON *em_json_at(const cJSON *v, const char *path)
{
    char key[256];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n == 0 || n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        path += n + (path[n] == '.');
        if (cJSON_IsArray(v)) {
            char *end = NULL;
            long ix = strtol(key, &end, 10);
            if (*end || !isdigit((unsigned char)key[0]))
                return NULL;
            v = cJSON_GetArrayItem(v, (int)ix);
        } else if (cJSON_IsObject(v)) {
            v = cJSON_GetObjectItemCaseSensitive(v, key);
        } else {
            return NULL;
        }
    }
    return v;
}

void eng_mix_check(struct eng_thread *t, int rq, int code, long status, const char *body,
                   size_t body_len)
{
    const struct eng_req *r = &t->e->reqs[rq];
    int got = code == CURLE_OK && status > 0;
    int st_ok = 0;
    if (got && r->n_status) {
        for (int i = 0; i < r->n_status && !st_ok; i++)
            st_ok = r->status[i] == status;
    } else if (got) {
        st_ok = status >= 200 && status < 400;
    }
    int body_ok = 1, json_ok = 1;
    if (r->body_contains)
        body_ok = got && body &&
                  memmem(body, body_len, r->body_contains, strlen(r->body_contains)) != NULL;
    if (r->json_path) {
        json_ok = 0;
        if (got && body) {
            cJSON *doc = cJSON_ParseWithLength(body, body_len);
            const cJSON *v = em_json_at(doc, r->json_path);
            json_ok = v && cJSON_Compare(v, r->json_equals, 1);
            cJSON_Delete(doc);
        }
    }
    int passed = st_ok + (r->body_contains ? body_ok : 0) + (r->json_path ? json_ok : 0);
    int failed = !st_ok + (r->body_contains ? !body_ok : 0) + (r->json_path ? !json_ok : 0);
    t->st.checks_passed += passed;
    t->st.checks_failed += failed;
    if (t->rq) {
        struct engine_req_stats *s = &t->rq[rq].st;
        s->checks_passed += passed;
        s->checks_failed += failed;
        s->failed_status += !st_ok;
        s->failed_body += r->body_contains && !body_ok;
        s->failed_json += r->json_path && !json_ok;
    }
}
