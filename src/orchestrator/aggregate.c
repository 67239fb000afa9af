#include "aggregate.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int agg_scratch_init(struct agg_scratch *s)
{
    memset(s, 0, sizeof *s);
    if (hist_create(&s->a) || hist_create(&s->b) || hist_create(&s->c) || hist_create(&s->d)) {
        agg_scratch_close(s);
        return -ENOMEM;
    }
    return 0;
}

void agg_scratch_close(struct agg_scratch *s)
{
    if (!s)
        return;
    hist_destroy(s->a);
    hist_destroy(s->b);
    hist_destroy(s->c);
    hist_destroy(s->d);
    memset(s, 0, sizeof *s);
}

void agg_driver_init(struct agg_driver *d, const char *node_id)
{
    memset(d, 0, sizeof *d);
    snprintf(d->node_id, sizeof d->node_id, "%s", node_id);
    d->seq = -1;
}

void agg_driver_close(struct agg_driver *d)
{
    if (!d)
        return;
    hist_destroy(d->hist);
    hist_destroy(d->service_hist);
    d->hist = d->service_hist = NULL;
    for (int i = 0; d->req && i < d->n_req; i++)
        free(d->req[i].histogram);
    free(d->req);
    d->req = NULL;
    d->n_req = 0;
}

/* Decode text into h; on failure note why in warn (when it is still empty). */
static int agg_decode(const char *text, struct hist *h, const char *what, char *warn,
                      size_t warnlen)
{
    if (!text)
        return 0;
    char err[160];
    if (hist_decode(h, text, strlen(text), err, sizeof err) == 0)
        return 1;
    if (warn && warnlen && !warn[0])
        snprintf(warn, warnlen, "%s: %s", what, err);
    return 0;
}

/* Keep *slot as a copy of src when have, else drop it. *slot is allocated
 * beforehand by the caller when needed. */
static void agg_keep(struct hist **slot, struct hist *spare, int have, const struct hist *src)
{
    if (have) {
        if (!*slot)
            *slot = spare;
        else
            hist_destroy(spare);
        hist_copy(*slot, src);
    } else {
        hist_destroy(spare);
        hist_destroy(*slot);
        *slot = NULL;
    }
}

/* a <= b, allowing for the rounding of figures sent with 3 decimals. */
static int agg_le(double a, double b)
{
    return a <= b + 0.002 + 1e-9 * (b < 0 ? -b : b);
}

static int agg_lat_ok(const struct msg_latency *l)
{
    return agg_le(l->min, l->median) && agg_le(l->median, l->max) && agg_le(l->min, l->mean) &&
           agg_le(l->mean, l->max) && (l->p99 == 0 || agg_le(l->p99, l->max));
}

int agg_report_check(const struct agg_driver *d, const struct msg_metrics *m,
                     int64_t expected_count, int64_t max_seq, char *why, size_t whylen)
{
    const char *bad = NULL;
    if (m->has_ext) {
        int64_t kinds = m->err_connect + m->err_timeout + m->err_4xx + m->err_5xx + m->err_other;
        int64_t codes = 0;
        for (int i = 0; i < m->n_status; i++)
            codes += m->status[i].count;
        if (expected_count > 0 && m->requests_sent > expected_count)
            bad = "more requests sent than the test's message_count_per_driver";
        else if (m->responses_received > m->requests_sent)
            bad = "more responses than requests sent";
        else if (m->errors > m->requests_sent || kinds > m->requests_sent)
            bad = "more errors than requests sent";
        else if (codes > m->responses_received)
            bad = "more status codes than responses";
        else if (m->seq > max_seq)
            bad = "a seq further ahead than the test's elapsed time allows";
        else if (d->reports > 0 && d->has_ext && m->seq > d->seq &&
                 (m->requests_sent < d->requests_sent ||
                  m->responses_received < d->responses_received))
            bad = "counts lower than the driver's previous report (they are cumulative)";
        else if (m->responses_received > 0 && !agg_lat_ok(&m->lat))
            bad = "latency figures that contradict each other (min, median, mean, max)";
    } else if (!agg_lat_ok(&m->lat)) {
        bad = "latency figures that contradict each other (min, median, mean, max)";
    }
    if (!bad)
        return 0;
    snprintf(why, whylen, "implausible report %s from %s: %s", m->report_id, m->node_id, bad);
    return -1;
}

int agg_driver_apply(struct agg_driver *d, const struct msg_metrics *m, int64_t expected_count,
                     int64_t start_at_ms, int64_t now_ms, struct agg_scratch *s,
                     struct series_point *point, char *warn, size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = '\0';
    if (d->final)
        return 0;
    if (m->has_ext && d->reports > 0 && m->seq <= d->seq)
        return 0;
    /* Allocate first, so that nothing changes when memory runs out. */
    struct hist *spare = NULL, *spare_svc = NULL;
    if ((!d->hist && hist_create(&spare)) || (!d->service_hist && hist_create(&spare_svc))) {
        hist_destroy(spare);
        return -ENOMEM;
    }
    int have_h = agg_decode(m->histogram, s->a, "histogram", warn, warnlen);
    int have_sh = agg_decode(m->service_histogram, s->b, "service_histogram", warn, warnlen);

    struct series_snap cur = {0};
    if (m->has_ext && m->elapsed_ms > 0)
        cur.t_ms = m->elapsed_ms;
    else if (start_at_ms > 0 && now_ms > start_at_ms)
        cur.t_ms = now_ms - start_at_ms;
    int64_t sent = m->requests_sent, recv = m->responses_received, errs = m->errors;
    if (!m->has_ext && sent == 0 && recv == 0 && !m->failure[0]) {
        /* The original format has no counts: its one report covers every
         * request of the test. */
        sent = recv = expected_count;
        errs = 0;
    }
    cur.requests_sent = sent;
    cur.responses_received = recv;
    cur.errors = errs;

    const struct series_snap *prev = d->reports ? &d->snap : NULL;
    if (have_h)
        series_point_make(prev, &cur, d->hist, s->a, s->c, point);
    else {
        series_point_from_summary(prev, &cur, m->lat.median, m->lat.p90, m->lat.p99, m->lat.mean,
                                  m->lat.max, point);
        hist_reset(s->c); /* no window known */
    }
    if (!have_h && recv == 0)
        point->has_lat = 0;

    agg_keep(&d->hist, spare, have_h, s->a);
    agg_keep(&d->service_hist, spare_svc, have_sh, s->b);
    d->hist_missing = !have_h && recv > 0;
    d->seq = m->has_ext ? m->seq : d->seq + 1;
    d->reports++;
    d->final = m->final;
    d->has_ext = m->has_ext;
    snprintf(d->failure, sizeof d->failure, "%s", m->failure);
    d->lat = m->lat;
    d->service = m->service;
    d->has_service = m->has_service;
    d->requests_sent = sent;
    d->responses_received = recv;
    d->errors = errs;
    d->err_connect = m->err_connect;
    d->err_timeout = m->err_timeout;
    d->err_4xx = m->err_4xx;
    d->err_5xx = m->err_5xx;
    d->err_other = m->err_other;
    d->n_status = m->n_status;
    memcpy(d->status, m->status, sizeof d->status);
    d->elapsed_ms = m->elapsed_ms;
    d->late = m->late;
    if (m->first_send_ms > 0)
        d->first_send_ms = m->first_send_ms;
    if (m->engine[0])
        memcpy(d->engine, m->engine, sizeof d->engine);
    d->updated_ms = now_ms;
    d->snap = cur;
    if (m->has_checks) {
        d->has_checks = 1;
        d->checks_passed = m->checks_passed;
        d->checks_failed = m->checks_failed;
    }
    return 1;
}

int agg_driver_apply_req(struct agg_driver *d, const struct msg_metrics *m,
                         const struct msg_request *reqs, int n, struct hist *scratch, int *strays,
                         char *stray, size_t straylen, char *warn, size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = '\0';
    *strays = 0;
    if (m->n_by_request <= 0 || !m->by_request)
        return 0;
    if (n > MSG_REQUESTS_MAX)
        n = MSG_REQUESTS_MAX;
    /* Where each of m's names goes (-1: a stray), and copies of the
     * histograms that decode, all made before d changes. */
    int at[MSG_REQUESTS_MAX];
    char *text[MSG_REQUESTS_MAX];
    struct msg_latency lat[MSG_REQUESTS_MAX];
    int k = m->n_by_request < MSG_REQUESTS_MAX ? m->n_by_request : MSG_REQUESTS_MAX;
    int oom = 0;
    for (int j = 0; j < k; j++) {
        const struct msg_req_stats *r = &m->by_request[j];
        at[j] = -1;
        text[j] = NULL;
        for (int i = 0; i < n; i++)
            if (strcmp(reqs[i].name, r->name) == 0) {
                at[j] = i;
                break;
            }
        if (at[j] < 0 || !r->histogram || oom)
            continue;
        char err[160];
        if (hist_decode(scratch, r->histogram, strlen(r->histogram), err, sizeof err) < 0) {
            if (warn && warnlen && !warn[0])
                snprintf(warn, warnlen, "by_request \"%s\" histogram: %s", r->name, err);
            continue;
        }
        msg_latency_from_hist(scratch, &lat[j]);
        size_t len = strlen(r->histogram);
        text[j] = malloc(len + 1);
        if (!text[j])
            oom = 1;
        else
            memcpy(text[j], r->histogram, len + 1);
    }
    struct agg_req *req = d->req;
    if (!oom && !req && n > 0 && !(req = calloc((size_t)n, sizeof *req)))
        oom = 1;
    if (oom) {
        for (int j = 0; j < k; j++)
            free(text[j]);
        return -ENOMEM;
    }
    if (!d->req) {
        d->req = req;
        d->n_req = n;
    }
    for (int j = 0; j < k; j++) {
        const struct msg_req_stats *r = &m->by_request[j];
        if (at[j] < 0 || at[j] >= d->n_req) {
            if ((*strays)++ == 0 && stray && straylen)
                snprintf(stray, straylen, "%s", r->name);
            free(text[j]);
            continue;
        }
        struct agg_req *q = &d->req[at[j]];
        free(q->histogram);
        q->histogram = text[j];
        if (text[j])
            q->lat = lat[j];
        else
            msg_latency_from_hist(NULL, &q->lat);
        q->seen = 1;
        q->sent = r->sent;
        q->responses = r->responses;
        q->errors = r->errors;
        q->checks_passed = r->checks_passed;
        q->checks_failed = r->checks_failed;
        q->failed_status = r->failed_status;
        q->failed_body = r->failed_body;
        q->failed_json = r->failed_json;
    }
    return 0;
}

void agg_merge_req(struct agg_driver *const *ds, int n, int i, int64_t elapsed_ms,
                   struct hist *merged, struct hist *tmp, struct agg_req_stats *out)
{
    memset(out, 0, sizeof *out);
    hist_reset(merged);
    for (int k = 0; k < n; k++) {
        const struct agg_driver *d = ds[k];
        if (!d->req || i < 0 || i >= d->n_req || !d->req[i].seen)
            continue;
        const struct agg_req *q = &d->req[i];
        out->sent += q->sent;
        out->responses += q->responses;
        out->errors += q->errors;
        out->checks_passed += q->checks_passed;
        out->checks_failed += q->checks_failed;
        out->failed_status += q->failed_status;
        out->failed_body += q->failed_body;
        out->failed_json += q->failed_json;
        char err[160];
        /* Checked when it was kept: it decodes. */
        if (n > 1 && q->histogram &&
            hist_decode(tmp, q->histogram, strlen(q->histogram), err, sizeof err) == 0)
            hist_merge(merged, tmp);
    }
    if (n == 1 && ds[0]->req && i >= 0 && i < ds[0]->n_req && ds[0]->req[i].seen)
        out->lat = ds[0]->req[i].lat;
    else
        msg_latency_from_hist(merged, &out->lat);
    if (elapsed_ms > 0)
        out->rps = (double)out->responses * 1000.0 / (double)elapsed_ms;
}

void agg_driver_heartbeat(struct agg_driver *d, int64_t requests_sent, int64_t now_ms)
{
    if (requests_sent > d->hb_requests_sent)
        d->hb_requests_sent = requests_sent;
    if (now_ms > d->updated_ms)
        d->updated_ms = now_ms;
}

void agg_driver_stats(const struct agg_driver *d, struct agg_stats *out)
{
    memset(out, 0, sizeof *out);
    out->requests_sent =
        d->requests_sent > d->hb_requests_sent ? d->requests_sent : d->hb_requests_sent;
    out->responses_received = d->responses_received;
    out->errors = d->errors;
    out->err_connect = d->err_connect;
    out->err_timeout = d->err_timeout;
    out->err_4xx = d->err_4xx;
    out->err_5xx = d->err_5xx;
    out->err_other = d->err_other;
    for (int i = 0; i < d->n_status; i++)
        if (d->status[i].code >= 100 && d->status[i].code < AGG_STATUS_CODES)
            out->status[d->status[i].code] += d->status[i].count;
    out->late = d->late;
    out->elapsed_ms = d->elapsed_ms;
    if (d->elapsed_ms > 0)
        out->rps = (double)d->responses_received * 1000.0 / (double)d->elapsed_ms;
    if (d->hist && hist_count(d->hist) > 0)
        msg_latency_from_hist(d->hist, &out->lat);
    else
        out->lat = d->lat;
    out->has_service = d->has_service || d->service_hist != NULL;
    if (d->service_hist && hist_count(d->service_hist) > 0)
        msg_latency_from_hist(d->service_hist, &out->service);
    else
        out->service = d->service;
    out->updated_ms = d->updated_ms;
    out->has_checks = d->has_checks;
    out->checks_passed = d->checks_passed;
    out->checks_failed = d->checks_failed;
    out->has_counts = d->has_ext || d->reports == 0;
    if (d->reports == 0)
        out->lat.has_ext = 1; /* nothing yet: zeros, not unknowns */
}

int agg_driver_approximate(const struct agg_driver *d)
{
    return d->reports > 0 && d->hist_missing;
}

/* Linear interpolation of the quantile function through known points. */
static double agg_quantile(const double *q, const double *v, int n, double x)
{
    for (int i = 1; i < n; i++) {
        if (x <= q[i]) {
            double span = q[i] - q[i - 1];
            double f = span > 0 ? (x - q[i - 1]) / span : 1.0;
            return v[i - 1] + f * (v[i] - v[i - 1]);
        }
    }
    return v[n - 1];
}

void agg_synth_hist(const struct msg_latency *l, int64_t count, struct hist *out)
{
    hist_reset(out);
    if (count <= 0)
        return;
    double q[7], v[7];
    int n = 0;
    q[n] = 0.0;
    v[n++] = l->min;
    const double known_q[] = {0.5, 0.9, 0.95, 0.99, 0.999};
    const double known_v[] = {l->median, l->p90, l->p95, l->p99, l->p999};
    for (int i = 0; i < 5; i++) {
        /* Skip absent extensions and anything out of order. */
        if ((i == 0 || known_v[i] > 0) && known_v[i] >= v[n - 1] && known_v[i] <= l->max) {
            q[n] = known_q[i];
            v[n++] = known_v[i];
        }
    }
    q[n] = 1.0;
    v[n++] = l->max;
    int64_t steps = count < 1000 ? count : 1000;
    for (int64_t i = 0; i < steps; i++) {
        int64_t k = count / steps * i + (count % steps) * i / steps;
        int64_t k1 = count / steps * (i + 1) + (count % steps) * (i + 1) / steps;
        double x = ((double)i + 0.5) / (double)steps;
        double ms = agg_quantile(q, v, n, x);
        hist_record_n(out, (int64_t)llround(ms * 1000.0), k1 - k);
    }
}

/* Accumulates one latency family (latency or service time) over drivers. */
struct agg_acc {
    struct hist *merged;
    int64_t samples;
    double sum_us;
    double min_ms, max_ms;
    int synthesised;
};

static void agg_acc_add(struct agg_acc *a, const struct hist *h, const struct msg_latency *l,
                        int64_t count, struct hist *synth)
{
    if (h && hist_count(h) > 0) {
        hist_merge(a->merged, h);
        int64_t n = hist_count(h);
        double mn = (double)hist_min(h) / 1000.0, mx = (double)hist_max(h) / 1000.0;
        a->sum_us += hist_mean(h) * (double)n;
        a->samples += n;
        if (a->min_ms < 0 || mn < a->min_ms)
            a->min_ms = mn;
        if (mx > a->max_ms)
            a->max_ms = mx;
        return;
    }
    if (count <= 0 || !(l->max > 0 || l->mean > 0))
        return;
    agg_synth_hist(l, count, synth);
    hist_merge(a->merged, synth);
    a->synthesised = 1;
    a->sum_us += l->mean * 1000.0 * (double)count;
    a->samples += count;
    if (a->min_ms < 0 || l->min < a->min_ms)
        a->min_ms = l->min;
    if (l->max > a->max_ms)
        a->max_ms = l->max;
}

static void agg_acc_result(const struct agg_acc *a, struct msg_latency *l)
{
    memset(l, 0, sizeof *l);
    if (a->samples == 0 || hist_count(a->merged) == 0)
        return;
    msg_latency_from_hist(a->merged, l);
    if (a->synthesised) {
        /* Exact where the figures allow: min, max, count-weighted mean. */
        l->min = a->min_ms;
        l->max = a->max_ms;
        l->mean = a->sum_us / (double)a->samples / 1000.0;
    }
}

void agg_merge(struct agg_driver *const *ds, int n, struct agg_scratch *s, struct agg_stats *out,
               int *approximate)
{
    memset(out, 0, sizeof *out);
    hist_reset(s->a);
    hist_reset(s->b);
    struct agg_acc lat = {.merged = s->a, .min_ms = -1};
    struct agg_acc svc = {.merged = s->b, .min_ms = -1};
    struct agg_stats one;
    int ext = 0, orig = 0, ext_lat = 0;
    for (int i = 0; i < n; i++) {
        const struct agg_driver *d = ds[i];
        agg_driver_stats(d, &one);
        if (d->reports > 0) {
            ext += d->has_ext;
            orig += !d->has_ext;
            ext_lat += one.lat.has_ext;
        }
        out->requests_sent += one.requests_sent;
        out->responses_received += one.responses_received;
        out->errors += one.errors;
        out->err_connect += one.err_connect;
        out->err_timeout += one.err_timeout;
        out->err_4xx += one.err_4xx;
        out->err_5xx += one.err_5xx;
        out->err_other += one.err_other;
        for (int c = 100; c < AGG_STATUS_CODES; c++)
            out->status[c] += one.status[c];
        out->late += one.late;
        if (one.elapsed_ms > out->elapsed_ms)
            out->elapsed_ms = one.elapsed_ms;
        if (one.updated_ms > out->updated_ms)
            out->updated_ms = one.updated_ms;
        if (one.has_checks) {
            out->has_checks = 1;
            out->checks_passed += one.checks_passed;
            out->checks_failed += one.checks_failed;
        }
        if (d->reports == 0)
            continue;
        agg_acc_add(&lat, d->hist, &d->lat, d->responses_received, s->c);
        if (one.has_service) {
            out->has_service = 1;
            agg_acc_add(&svc, d->service_hist, &d->service, d->responses_received, s->c);
        }
    }
    if (out->elapsed_ms > 0)
        out->rps = (double)out->responses_received * 1000.0 / (double)out->elapsed_ms;
    agg_acc_result(&lat, &out->lat);
    agg_acc_result(&svc, &out->service);
    *approximate = lat.synthesised;
    /* Figures nobody sent stay unknown; some sent make a known (and, with
     * approximate set, partial) aggregate. */
    out->has_counts = ext > 0 || orig == 0;
    out->lat.has_ext = ext_lat > 0 || orig == 0;
}

void agg_merge_hist(struct agg_driver *const *ds, int n, struct hist *synth, struct hist *out)
{
    hist_reset(out);
    for (int i = 0; i < n; i++) {
        const struct agg_driver *d = ds[i];
        if (d->hist) {
            hist_merge(out, d->hist);
        } else if (d->reports > 0 && d->responses_received > 0) {
            agg_synth_hist(&d->lat, d->responses_received, synth);
            hist_merge(out, synth);
        }
    }
}

static double agg_r3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static cJSON *agg_lat_json(const struct msg_latency *l)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const char *k[] = {"min", "mean", "median", "mode", "p90", "p95", "p99", "p999", "max"};
    double v[] = {l->min, l->mean, l->median, l->mode, l->p90, l->p95, l->p99, l->p999, l->max};
    /* mode ... p999: unknown (null) for figures of the original format. */
    const int ext[] = {0, 0, 0, 1, 1, 1, 1, 1, 0};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (ext[i] && !l->has_ext) {
            if (!cJSON_AddNullToObject(o, k[i])) {
                cJSON_Delete(o);
                return NULL;
            }
        } else if (!cJSON_AddNumberToObject(o, k[i], agg_r3(v[i]))) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

int agg_json_add(cJSON *o, const char *k, cJSON *item)
{
    if (!item)
        return 0;
    if (!cJSON_AddItemToObject(o, k, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return 1;
}

cJSON *agg_stats_to_json(const struct agg_stats *st)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = cJSON_AddNumberToObject(o, "requests_sent", (double)st->requests_sent) &&
             cJSON_AddNumberToObject(o, "responses_received", (double)st->responses_received);
    if (!st->has_counts) {
        /* The original format says none of these. */
        static const char *const unknown[] = {"errors", "error_kinds", "status_codes",
                                              "late",   "elapsed_ms",  "rps"};
        for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
            ok &= cJSON_AddNullToObject(o, unknown[i]) != NULL;
        ok &= agg_json_add(o, "latency_ms", agg_lat_json(&st->lat));
        ok &= cJSON_AddNullToObject(o, "service_ms") != NULL &&
              cJSON_AddNumberToObject(o, "updated_ms", (double)st->updated_ms) != NULL;
        if (!ok) {
            cJSON_Delete(o);
            return NULL;
        }
        return o;
    }
    ok &= cJSON_AddNumberToObject(o, "errors", (double)st->errors) != NULL;
    cJSON *k = cJSON_CreateObject();
    if (k) {
        ok &= cJSON_AddNumberToObject(k, "connect", (double)st->err_connect) &&
              cJSON_AddNumberToObject(k, "timeout", (double)st->err_timeout) &&
              cJSON_AddNumberToObject(k, "http_4xx", (double)st->err_4xx) &&
              cJSON_AddNumberToObject(k, "http_5xx", (double)st->err_5xx) &&
              cJSON_AddNumberToObject(k, "other", (double)st->err_other);
    }
    ok &= agg_json_add(o, "error_kinds", k);
    cJSON *sc = cJSON_CreateObject();
    for (int c = 100; sc && c < AGG_STATUS_CODES; c++) {
        if (st->status[c] > 0) {
            char code[8];
            snprintf(code, sizeof code, "%d", c);
            ok &= cJSON_AddNumberToObject(sc, code, (double)st->status[c]) != NULL;
        }
    }
    ok &= agg_json_add(o, "status_codes", sc);
    ok &= cJSON_AddNumberToObject(o, "late", (double)st->late) &&
          cJSON_AddNumberToObject(o, "elapsed_ms", (double)st->elapsed_ms) &&
          cJSON_AddNumberToObject(o, "rps", round(st->rps * 100.0) / 100.0);
    ok &= agg_json_add(o, "latency_ms", agg_lat_json(&st->lat));
    if (st->has_service)
        ok &= agg_json_add(o, "service_ms", agg_lat_json(&st->service));
    else
        ok &= cJSON_AddNullToObject(o, "service_ms") != NULL;
    ok &= cJSON_AddNumberToObject(o, "updated_ms", (double)st->updated_ms) != NULL;
    if (st->has_checks)
        ok &= cJSON_AddNumberToObject(o, "checks_passed", (double)st->checks_passed) &&
              cJSON_AddNumberToObject(o, "checks_failed", (double)st->checks_failed);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *agg_req_json(const struct agg_req_stats *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = cJSON_AddNumberToObject(o, "requests_sent", (double)r->sent) &&
             cJSON_AddNumberToObject(o, "responses_received", (double)r->responses) &&
             cJSON_AddNumberToObject(o, "errors", (double)r->errors) &&
             cJSON_AddNumberToObject(o, "rps", round(r->rps * 100.0) / 100.0) &&
             agg_json_add(o, "latency_ms", agg_lat_json(&r->lat)) &&
             cJSON_AddNumberToObject(o, "checks_passed", (double)r->checks_passed) &&
             cJSON_AddNumberToObject(o, "checks_failed", (double)r->checks_failed);
    cJSON *fb = ok ? cJSON_AddObjectToObject(o, "checks_failed_by") : NULL;
    ok = fb && cJSON_AddNumberToObject(fb, "status", (double)r->failed_status) &&
         cJSON_AddNumberToObject(fb, "body_contains", (double)r->failed_body) &&
         cJSON_AddNumberToObject(fb, "json", (double)r->failed_json);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *agg_by_request_json(struct agg_driver *const *ds, int n, const struct msg_request *reqs,
                           int n_reqs, int64_t elapsed_ms, struct hist *merged, struct hist *tmp)
{
    cJSON *o = cJSON_CreateObject();
    if (n_reqs > MSG_REQUESTS_MAX)
        n_reqs = MSG_REQUESTS_MAX;
    for (int i = 0; o && i < n_reqs; i++) {
        struct agg_req_stats r;
        agg_merge_req(ds, n, i, elapsed_ms, merged, tmp, &r);
        if (!agg_json_add(o, reqs[i].name, agg_req_json(&r))) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}
