#define _POSIX_C_SOURCE 200809L
/* timeline: the aggregate time series of the active test, built interval
 * by interval from the participants' reports. */
#include "ctl_int.h"

#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The participants' summed cumulative counts. */
void ctl_agg_snapshot(struct test *t, struct series_snap *snap)
{
    memset(snap, 0, sizeof *snap);
    for (int i = 0; i < t->n_parts; i++) {
        struct agg_stats st;
        agg_driver_stats(&t->parts[i].agg, &st);
        snap->requests_sent += st.requests_sent;
        snap->responses_received += st.responses_received;
        snap->errors += st.errors;
    }
}

/* The interval a report closes: periodic reports come at the end of their
 * interval (elapsed = (i+1) * iv, give or take jitter), a final one within
 * the interval where the driver finished. */
static int64_t ctl_report_interval(const struct msg_metrics *m, const struct series_snap *cur,
                                   int64_t iv)
{
    int64_t e = m->has_ext && m->elapsed_ms > 0 ? m->elapsed_ms : cur->t_ms;
    int64_t idx = m->final ? e / iv : (e + iv / 2) / iv - 1;
    return idx < 0 ? 0 : idx;
}

static int ctl_part_done(const struct part *p)
{
    return p->agg.final || p->refused || p->dead;
}

/* Make the point of interval t->agg_next from its slot and advance. */
static void ctl_agg_emit(struct ctl *c, struct test *t)
{
    int64_t k = t->agg_next;
    int64_t iv = ctl_interval_ms(t);
    struct agg_slot *sl = &t->slots[k % CTL_SLOTS];
    int has = sl->used && sl->idx == k;
    struct series_snap cur = t->have_agg_prev ? t->agg_snap : (struct series_snap){0};
    cur.t_ms = (k + 1) * iv;
    if (has) {
        cur.requests_sent += sl->sent;
        cur.responses_received += sl->recv;
        cur.errors += sl->errs;
        /* The test's last interval ends when its last driver finished. */
        if (sl->end_ms > k * iv && sl->end_ms < cur.t_ms) {
            int all_done = 1;
            for (int i = 0; i < t->n_parts; i++)
                all_done &= ctl_part_done(&t->parts[i]) && t->parts[i].agg_idx <= k;
            if (all_done)
                cur.t_ms = sl->end_ms;
        }
    }
    struct series_point p;
    hist_reset(c->s.a);
    series_point_make(t->have_agg_prev ? &t->agg_snap : NULL, &cur, NULL,
                      has && sl->h ? sl->h : c->s.a, c->s.b, &p);
    t->agg_snap = cur;
    t->have_agg_prev = 1;
    sl->used = 0;
    t->agg_next = k + 1;
    ctl_store_point(c, t, "", k, &p);
    /* Judged once the caller is done with the scratch histograms (the
     * report's latency window is one of them). */
    if (t->verdict.n > 0) {
        t->judge_due = 1;
        t->judge_at_ms = cur.t_ms;
    }
}

struct ctl_judge_ctx {
    struct ctl *c;
    struct test *t;
    struct agg_driver **ds;
    int64_t elapsed_ms;
};

/* A NAME: threshold's figures: that request's, merged over the fleet. */
static int ctl_req_figures(void *ctx, const char *name, struct thr_figures *out)
{
    struct ctl_judge_ctx *j = ctx;
    const struct test *t = j->t;
    for (int i = 0; i < t->cfg.n_requests; i++) {
        if (strcmp(t->cfg.requests[i].name, name) != 0)
            continue;
        struct agg_req_stats r;
        agg_merge_req(j->ds, t->n_parts, i, j->elapsed_ms, j->c->s.a, j->c->s.b, &r);
        verdict_req_figures(&r, out);
        return 1;
    }
    return 0;
}

/* Judge the test's thresholds on its fleet-wide cumulative aggregate, at
 * at_ms since the start (an aggregate point, or the end when final). A
 * breach that abort_on_fail acts on stops the fleet, as a user's stop
 * does, with the breach as the reason. */
void ctl_judge(struct ctl *c, struct test *t, int64_t at_ms, int final)
{
    struct agg_driver **ds = calloc((size_t)(t->n_parts ? t->n_parts : 1), sizeof *ds);
    if (!ds) {
        log_error("test %s: out of memory to judge its thresholds", t->id);
        return;
    }
    for (int i = 0; i < t->n_parts; i++)
        ds[i] = &t->parts[i].agg;
    struct agg_stats agg;
    int approximate = 0;
    agg_merge(ds, t->n_parts, &c->s, &agg, &approximate);
    struct thr_figures whole;
    verdict_figures(&agg, &whole);
    struct ctl_judge_ctx jc = {.c = c, .t = t, .ds = ds, .elapsed_ms = agg.elapsed_ms};
    int breach =
        verdict_judge(&t->verdict, &whole, t->cfg.n_requests > 0 ? ctl_req_figures : NULL, &jc);
    free(ds);
    t->verdict.final = final;
    if (final || breach < 0 || t->ending || t->stopping || t->state != TS_RUNNING)
        return;
    const struct verdict_item *vi = &t->verdict.it[breach];
    char shown[96];
    threshold_shown(&vi->t, &whole, shown, sizeof shown);
    char when[32];
    if (at_ms % 1000 == 0)
        snprintf(when, sizeof when, "%lld s", (long long)(at_ms / 1000));
    else
        snprintf(when, sizeof when, "%.1f s", (double)at_ms / 1000.0);
    ctl_reason(t, "threshold %s breached: %s = %s at %s", vi->t.text, vi->t.name, shown, when);
    log_warn("test %s: threshold %s breached (%s = %s at %.1f s); stopping the fleet", t->id,
             vi->t.text, vi->t.name, shown, (double)at_ms / 1000.0);
    ctl_stop_running(c, t, clock_wall_ms());
}

/* Add what participant p's report changed (before -> after, with its
 * latency window when it had one) to the interval the report closes. */
void ctl_agg_add(struct ctl *c, struct test *t, struct part *p, const struct msg_metrics *m,
                 const struct series_snap *before, const struct series_snap *after,
                 const struct hist *window, int64_t now)
{
    int64_t iv = ctl_interval_ms(t);
    int64_t idx = ctl_report_interval(m, after, iv);
    if (idx > p->agg_idx)
        p->agg_idx = idx;
    /* A report for an interval already made into a point counts in the
     * next one: totals stay exact, its latencies show a little later. */
    if (idx < t->agg_next)
        idx = t->agg_next;
    while (idx >= t->agg_next + CTL_SLOTS)
        ctl_agg_emit(c, t);
    struct agg_slot *sl = &t->slots[idx % CTL_SLOTS];
    if (!sl->used) {
        sl->used = 1;
        sl->idx = idx;
        sl->sent = sl->recv = sl->errs = sl->end_ms = 0;
        if (sl->h)
            hist_reset(sl->h);
    }
    if (window && hist_count(window) > 0) {
        if (!sl->h && hist_create(&sl->h) < 0)
            log_error("test %s: out of memory for the aggregate time series", t->id);
        if (sl->h)
            hist_merge(sl->h, window);
    }
    sl->sent += after->requests_sent - before->requests_sent;
    sl->recv += after->responses_received - before->responses_received;
    sl->errs += after->errors - before->errors;
    if (m->final && m->elapsed_ms > sl->end_ms)
        sl->end_ms = m->elapsed_ms;
    ctl_agg_advance(c, t, now);
}

/* Make every interval into a point that is complete: every participant
 * has reported past it or is done, or its grace time is over. */
static void ctl_agg_points(struct ctl *c, struct test *t, int64_t now)
{
    if (t->state != TS_RUNNING || t->start_at_ms <= 0)
        return;
    int64_t iv = ctl_interval_ms(t);
    for (;;) {
        int64_t k = t->agg_next;
        int64_t end = t->start_at_ms + (k + 1) * iv;
        int complete = 1;
        for (int i = 0; i < t->n_parts && complete; i++)
            complete = t->parts[i].agg_idx >= k || ctl_part_done(&t->parts[i]);
        if (!complete) {
            /* The grace time counts while the orchestrator can hear: when
             * it cannot (Kafka does not answer, the store refuses the
             * batches), the reports for k are waiting, not late. */
            int64_t heard = ctl_heard_since(c);
            if (heard <= 0 || now < (end > heard ? end : heard) + CTL_POINT_GRACE_MS)
                return;
        }
        if (complete) {
            /* Nothing more will come for k; stop once the open intervals
             * are all behind us (every participant done). */
            int any_open = 0;
            for (int i = 0; i < CTL_SLOTS; i++)
                any_open |= t->slots[i].used;
            int all_done = 1;
            for (int i = 0; i < t->n_parts; i++)
                all_done &= ctl_part_done(&t->parts[i]);
            if (all_done && !any_open)
                return;
        }
        ctl_agg_emit(c, t);
    }
}

/* Then judge the thresholds when a point was made. */
void ctl_agg_advance(struct ctl *c, struct test *t, int64_t now)
{
    ctl_agg_points(c, t, now);
    if (t->judge_due) {
        t->judge_due = 0;
        ctl_judge(c, t, t->judge_at_ms, 0);
    }
}

/* The test ends: make points of every interval that still holds data. */
void ctl_agg_flush(struct ctl *c, struct test *t)
{
    if (t->start_at_ms <= 0)
        return;
    int64_t last = -1;
    for (int i = 0; i < CTL_SLOTS; i++)
        if (t->slots[i].used && t->slots[i].idx > last)
            last = t->slots[i].idx;
    while (t->agg_next <= last)
        ctl_agg_emit(c, t);
}
