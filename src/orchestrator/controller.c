#define _POSIX_C_SOURCE 200809L
#include "controller.h"

#include "aggregate.h"
#include "clock.h"
#include "ids.h"
#include "liveness.h"
#include "log.h"
#include "registry.h"
#include "series.h"
#include "topics.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTL_BATCH 64      /* Kafka records stored per transaction */
#define CTL_RETRY_MS 1000 /* pause before a batch the store refused is read again */
#define CTL_TICK_MS 100   /* ticker period */
/* A gap this long between two runs of the ticker or the consumer means the
 * process did not run (SIGSTOP, starvation): that silence counts for nobody. */
#define CTL_STALL_MS 1000
#define CTL_DBLOG_MS 10000 /* at most one store error line per this */
/* Reports a driver may be ahead of one per report interval since the start
 * (clock skew, a report sent at the start). */
#define CTL_SEQ_MARGIN 20
#define CTL_EVENT_MS 1000         /* live views are refreshed at least this often */
#define CTL_SAVE_MS 2000          /* heartbeat times are saved this often */
#define CTL_POINT_GRACE_MS 1000   /* longest wait for late reports of an interval */
#define CTL_SLOTS 8               /* aggregate intervals open at once */
#define CTL_DEFAULT_REPORT_MS 500 /* report_interval_ms asked of drivers when not given */
#define CTL_FORGET_MIN_MS 600000  /* a dead driver is shown for at least 10 minutes */
#define CTL_PROBE_MS 500          /* how often (and how long) Kafka is asked whether it answers */
#define CTL_REASON_MAX 1024
#define ORCH_STR2(x) #x
#define ORCH_STR(x) ORCH_STR2(x)

enum tstate {
    TS_CREATED = 0,
    TS_CONFIGURED,
    TS_RUNNING,
    TS_COMPLETED,
    TS_PARTIAL,
    TS_FAILED,
    TS_ABORTED,
    TS_COUNT
};

static const char *const tstate_names[TS_COUNT] = {"CREATED", "CONFIGURED", "RUNNING", "COMPLETED",
                                                   "PARTIAL", "FAILED",     "ABORTED"};

enum topic_ix { TP_REGISTER = 0, TP_HEARTBEAT, TP_METRICS, TP_OTHER, TP_COUNT };
static const char *const topic_names[TP_COUNT] = {TOPIC_REGISTER, TOPIC_HEARTBEAT, TOPIC_METRICS,
                                                  "other"};

/* One participant of the active test. */
struct part {
    struct agg_driver agg;
    int64_t agg_idx; /* the aggregate interval its latest report closed; -1 none */
    int ready;       /* said READY (or RUNNING) for this test */
    int refused;     /* sent a final report before the trigger */
    int dead;        /* declared dead during the test (sticky) */
    int lost;        /* alive but not running the test, without a final report */
    int original;    /* of the original format: no READY, no heartbeats to judge by */
    int64_t last_seen_ms;
    int64_t not_running_since_ms;
};

/* One open interval of the aggregate time series. */
struct agg_slot {
    int used; /* holds data for interval idx */
    int64_t idx;
    struct hist *h;           /* merged latency windows; NULL until first needed */
    int64_t sent, recv, errs; /* what the interval added */
    int64_t end_ms;           /* latest elapsed_ms of a final report in it; 0 none */
};

/* The active test (CREATED, CONFIGURED or RUNNING), in memory. */
struct test {
    char id[ID_MAX];
    enum tstate state;
    char reason[CTL_REASON_MAX];
    struct msg_test_config cfg; /* as sent; drivers = participants once configured */
    int64_t min_drivers;
    int named; /* the user named the drivers */
    int64_t created_ms, start_at_ms, ended_ms;
    int64_t configured_ms; /* when test_config was sent; 0 not yet */
    int64_t deadline_ms;   /* of the current wait */
    int stopping;
    struct part *parts;
    int n_parts;
    /* Aggregate time series: the cumulative state at the latest point, and
     * the intervals still open. Each participant's report adds what changed
     * since its previous report to the interval the report closes; an
     * interval becomes a point once every participant has reported past it
     * (or finished, or died), or CTL_POINT_GRACE_MS after it ended. */
    int have_agg_prev;
    struct series_snap agg_snap;
    int64_t agg_next; /* index of the next aggregate point */
    struct agg_slot slots[CTL_SLOTS];
    int64_t last_event_ms;
};

struct ctl {
    pthread_mutex_t mu;
    struct ctl_conf conf;
    struct ostore *db;
    struct bus_producer *prod;
    struct bus_consumer *cons;
    const struct bus_conf *bconf;
    struct sse_hub *hub;
    struct registry *reg;
    struct test *active;
    struct agg_scratch s;
    pthread_t consumer_thr, ticker_thr;
    int threads;
    atomic_int stop;
    int drivers_changed;
    int64_t last_drivers_event_ms, last_save_ms;
    /* The consumer has its partitions since this time (0: not now). While
     * it has none the orchestrator hears nothing, so nobody is declared
     * dead for that silence. */
    int64_t listening_since_ms;
    int store_refusing;  /* a store operation failed; cleared by the next stored batch */
    int64_t last_run_us; /* monotonic time the ticker or the consumer last ran */
    int64_t dblog_ms, dblog_suppressed;
    int64_t evicted_logged, evicted_log_ms;
    /* Counters for /metrics. */
    int64_t msgs[TP_COUNT], rejected[TP_COUNT], dup_reports, stray_reports, db_errors;
    /* Rate limit for logging rejected messages. */
    int64_t badlog_window_ms;
    int badlog_n;
    int64_t badlog_suppressed;
};

/* ---- small helpers ------------------------------------------------------ */

__attribute__((format(printf, 3, 4))) static int ctl_err(char *err, size_t errlen, const char *fmt,
                                                         ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 0;
}

__attribute__((format(printf, 2, 3))) static void ctl_reason(struct test *t, const char *fmt, ...)
{
    char add[CTL_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(add, sizeof add, fmt, ap);
    va_end(ap);
    size_t n = strlen(t->reason);
    if (n > 0 && n + 2 < sizeof t->reason) {
        memcpy(t->reason + n, "; ", 2);
        n += 2;
    }
    size_t room = sizeof t->reason - 1 - n, k = strlen(add);
    if (k > room)
        k = room;
    memcpy(t->reason + n, add, k);
    t->reason[n + k] = '\0';
}

static int64_t ctl_interval_ms(const struct test *t)
{
    return t->cfg.report_interval_ms > 0 ? t->cfg.report_interval_ms : MSG_DEFAULT_REPORT_MS;
}

static struct part *ctl_part(struct test *t, const char *node_id)
{
    for (int i = 0; i < t->n_parts; i++)
        if (strcmp(t->parts[i].agg.node_id, node_id) == 0)
            return &t->parts[i];
    return NULL;
}

/* Since when the orchestrator hears and keeps what it hears, or 0: nobody is
 * judged by a silence it could not hear (no partitions, Kafka silent) or
 * could not record (the store refusing writes). */
static int64_t ctl_heard_since(const struct ctl *c)
{
    return c->store_refusing ? 0 : c->listening_since_ms;
}

/* When a participant that sends no heartbeats to judge by (the original
 * format) is given up: the longest its run can take, one request at a time
 * (count x (gap + request timeout)), plus grace_ms, from the config (it
 * starts on the config). */
static int64_t ctl_report_deadline(const struct test *t, int64_t grace_ms)
{
    int64_t base = t->configured_ms ? t->configured_ms
                   : t->start_at_ms ? t->start_at_ms
                                    : t->created_ms;
    int64_t gap =
        t->cfg.test_type == TEST_TSUNAMI ? (int64_t)(t->cfg.test_message_delay * 1000.0) : 0;
    int64_t timeout = t->cfg.timeout_ms > 0 ? t->cfg.timeout_ms : MSG_DEFAULT_TIMEOUT_MS;
    return base + t->cfg.message_count_per_driver * (gap + timeout) + grace_ms;
}

static enum liveness ctl_part_liveness(struct ctl *c, const struct test *t, const struct part *p,
                                       int64_t now)
{
    if (p->dead)
        return LIVE_DEAD;
    const struct reg_driver *d = registry_find(c->reg, p->agg.node_id);
    if (p->original) {
        if (!p->agg.final && now >= ctl_report_deadline(t, c->conf.report_grace_ms))
            return LIVE_DEAD;
        return d && registry_judge(c->reg, d, now) == LIVE_ALIVE ? LIVE_ALIVE : LIVE_QUIET;
    }
    /* A participant is judged as ctl_part_gone does: the time the
     * orchestrator could not hear counts for nobody. */
    int64_t since = ctl_heard_since(c);
    if (since > 0) {
        int64_t last = p->last_seen_ms;
        if (d && d->last_rx_ms > last)
            last = d->last_rx_ms;
        if (since > last)
            last = since;
        return liveness_judge(now, last, c->conf.hb_interval_ms, c->conf.hb_timeout_ms);
    }
    /* Deaf: a silence may be the orchestrator's own, so it makes a
     * participant suspect at most. */
    enum liveness l =
        d ? registry_judge(c->reg, d, now)
          : liveness_judge(now, p->last_seen_ms, c->conf.hb_interval_ms, c->conf.hb_timeout_ms);
    return l == LIVE_DEAD ? LIVE_SUSPECT : l;
}

/* 1 when p is to be declared dead: no sign of life for the heartbeat
 * timeout while the orchestrator was listening (for the original format,
 * no final report by ctl_report_deadline). */
static int ctl_part_gone(struct ctl *c, const struct test *t, const struct part *p, int64_t now)
{
    int64_t since = ctl_heard_since(c);
    if (since <= 0)
        return 0;
    if (p->original)
        return now >= ctl_report_deadline(t, c->conf.report_grace_ms) &&
               now >= since + c->conf.report_grace_ms;
    int64_t last = p->last_seen_ms;
    const struct reg_driver *d = registry_find(c->reg, p->agg.node_id);
    if (d && d->last_rx_ms > last)
        last = d->last_rx_ms;
    if (since > last)
        last = since;
    return liveness_judge(now, last, c->conf.hb_interval_ms, c->conf.hb_timeout_ms) == LIVE_DEAD;
}

static void ctl_test_free(struct test *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_parts; i++)
        agg_driver_close(&t->parts[i].agg);
    free(t->parts);
    for (int i = 0; i < CTL_SLOTS; i++)
        hist_destroy(t->slots[i].h);
    msg_test_config_free(&t->cfg);
    free(t);
}

/* Append up to a few node ids to buf: "d-1, d-2 and 3 more". */
static void ctl_list_ids(char *buf, size_t len, const char *const *ids, int n)
{
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < n && i < 4; i++) {
        int k = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", ids[i]);
        if (k < 0 || (size_t)k >= len - used)
            return;
        used += (size_t)k;
    }
    if (n > 4)
        snprintf(buf + used, len - used, " and %d more", n - 4);
}

/* ---- JSON views ------------------------------------------------------------ */

static int ctl_add_opt_ms(cJSON *o, const char *k, int64_t v)
{
    if (v > 0)
        return cJSON_AddNumberToObject(o, k, (double)v) != NULL;
    return cJSON_AddNullToObject(o, k) != NULL;
}

/* Move every member of src to the end of dst; src is left empty. */
static void ctl_move_members(cJSON *dst, cJSON *src)
{
    while (src->child) {
        cJSON *it = cJSON_DetachItemViaPointer(src, src->child);
        cJSON_AddItemToObject(dst, it->string, it);
    }
}

static cJSON *ctl_per_driver_json(struct ctl *c, struct test *t, int64_t now)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < t->n_parts; i++) {
        struct part *p = &t->parts[i];
        struct agg_stats st;
        agg_driver_stats(&p->agg, &st);
        cJSON *stats = agg_stats_to_json(&st);
        cJSON *e = cJSON_CreateObject();
        int ok = stats && e && cJSON_AddStringToObject(e, "node_id", p->agg.node_id) &&
                 cJSON_AddStringToObject(e, "liveness",
                                         liveness_name(ctl_part_liveness(c, t, p, now))) &&
                 cJSON_AddBoolToObject(e, "final", p->agg.final) &&
                 cJSON_AddStringToObject(e, "failure", p->agg.failure) &&
                 cJSON_AddBoolToObject(e, "ready", p->ready) &&
                 cJSON_AddBoolToObject(e, "approximate", agg_driver_approximate(&p->agg)) &&
                 ctl_add_opt_ms(e, "first_send_ms", p->agg.first_send_ms);
        if (ok)
            ctl_move_members(e, stats);
        cJSON_Delete(stats);
        if (!ok || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

/* The test object (API.md) of the active test; per_driver when asked. */
static cJSON *ctl_test_json(struct ctl *c, struct test *t, int64_t now, int per_driver)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    struct agg_driver **ds = calloc((size_t)(t->n_parts ? t->n_parts : 1), sizeof *ds);
    if (!ds) {
        cJSON_Delete(o);
        return NULL;
    }
    for (int i = 0; i < t->n_parts; i++)
        ds[i] = &t->parts[i].agg;
    struct agg_stats agg;
    int approximate = 0;
    agg_merge(ds, t->n_parts, &c->s, &agg, &approximate);
    free(ds);

    int64_t lo = 0, hi = 0;
    for (int i = 0; i < t->n_parts; i++) {
        int64_t f = t->parts[i].agg.first_send_ms;
        if (f <= 0)
            continue;
        if (lo == 0 || f < lo)
            lo = f;
        if (f > hi)
            hi = f;
    }
    int ok = cJSON_AddStringToObject(o, "test_id", t->id) &&
             cJSON_AddStringToObject(o, "state", tstate_names[t->state]) &&
             cJSON_AddStringToObject(o, "reason", t->reason) &&
             agg_json_add(o, "config", msg_test_config_to_json(&t->cfg)) &&
             cJSON_AddNumberToObject(o, "created_ms", (double)t->created_ms) &&
             ctl_add_opt_ms(o, "start_at_ms", t->start_at_ms) &&
             ctl_add_opt_ms(o, "ended_ms", t->ended_ms);
    cJSON *drv = cJSON_CreateArray();
    for (int i = 0; drv && i < t->n_parts; i++) {
        cJSON *s = cJSON_CreateString(t->parts[i].agg.node_id);
        if (!s || !cJSON_AddItemToArray(drv, s)) {
            cJSON_Delete(s);
            ok = 0;
        }
    }
    ok = ok && agg_json_add(o, "drivers", drv);
    ok = ok && cJSON_AddNumberToObject(o, "min_drivers", (double)t->min_drivers) &&
         cJSON_AddBoolToObject(o, "approximate", approximate);
    if (lo > 0)
        ok = ok && cJSON_AddNumberToObject(o, "start_skew_ms", (double)(hi - lo));
    else
        ok = ok && cJSON_AddNullToObject(o, "start_skew_ms");
    ok = ok && agg_json_add(o, "aggregate", agg_stats_to_json(&agg));
    if (per_driver)
        ok = ok && agg_json_add(o, "per_driver", ctl_per_driver_json(c, t, now));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static char *ctl_print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    return s;
}

/* ---- persistence and events --------------------------------------------- */

static void ctl_db_error(struct ctl *c, const char *what, const char *err)
{
    c->db_errors++;
    c->store_refusing = 1;
    /* A store that refuses (disk full) refuses every write: one line per
     * CTL_DBLOG_MS says so, with how many were not logged. */
    int64_t now = clock_wall_ms();
    if (now - c->dblog_ms < CTL_DBLOG_MS) {
        c->dblog_suppressed++;
        return;
    }
    if (c->dblog_suppressed > 0)
        log_error("store: %s: %s (and %lld more store error(s) in the last %lld s)", what, err,
                  (long long)c->dblog_suppressed, (long long)(now - c->dblog_ms) / 1000);
    else
        log_error("store: %s: %s", what, err);
    c->dblog_ms = now;
    c->dblog_suppressed = 0;
}

/* Called by the ticker and the consumer with mu held, each time they run. */
static void ctl_check_stall(struct ctl *c, int64_t now)
{
    int64_t mono = clock_mono_us();
    int64_t gap = c->last_run_us > 0 ? mono - c->last_run_us : 0;
    c->last_run_us = mono;
    if (gap <= CTL_STALL_MS * 1000LL)
        return;
    if (c->listening_since_ms > 0) {
        c->listening_since_ms = now;
        log_warn("the orchestrator did not run for %.1fs (stopped or starved); liveness is "
                 "judged again from now",
                 (double)gap / 1e6);
    }
}

/* Save the active test's row: config, state and results so far. */
static void ctl_persist(struct ctl *c, struct test *t, int64_t now)
{
    cJSON *summary = ctl_test_json(c, t, now, 0);
    cJSON *perd = ctl_per_driver_json(c, t, now);
    cJSON *cfg = msg_test_config_to_json(&t->cfg);
    cJSON *parts = cJSON_CreateArray();
    for (int i = 0; parts && i < t->n_parts; i++)
        cJSON_AddItemToArray(parts, cJSON_CreateString(t->parts[i].agg.node_id));
    struct ostore_test row;
    memset(&row, 0, sizeof row);
    snprintf(row.test_id, sizeof row.test_id, "%s", t->id);
    row.created_ms = t->created_ms;
    snprintf(row.state, sizeof row.state, "%s", tstate_names[t->state]);
    row.reason = t->reason;
    row.config = ctl_print(cfg);
    row.min_drivers = t->min_drivers;
    row.participants = ctl_print(parts);
    row.start_at_ms = t->start_at_ms;
    row.ended_ms = t->ended_ms;
    row.summary = ctl_print(summary);
    row.per_driver = ctl_print(perd);
    char err[256];
    if (!row.config || !row.participants || !row.summary || !row.per_driver)
        ctl_db_error(c, "save test", "out of memory");
    else if (ostore_test_put(c->db, &row, err, sizeof err) < 0)
        ctl_db_error(c, "save test", err);
    cJSON_free(row.config);
    cJSON_free(row.participants);
    cJSON_free(row.summary);
    cJSON_free(row.per_driver);
    cJSON_Delete(summary);
    cJSON_Delete(perd);
    cJSON_Delete(cfg);
    cJSON_Delete(parts);
}

static void ctl_publish_test(struct ctl *c, struct test *t, int64_t now)
{
    t->last_event_ms = now;
    if (sse_hub_clients(c->hub) == 0)
        return;
    cJSON *o = ctl_test_json(c, t, now, 1);
    char *s = ctl_print(o);
    if (s)
        sse_hub_publish(c->hub, "test", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void ctl_publish_drivers(struct ctl *c, int64_t now)
{
    c->last_drivers_event_ms = now;
    c->drivers_changed = 0;
    if (sse_hub_clients(c->hub) == 0)
        return;
    cJSON *o = registry_to_json(c->reg, now);
    char *s = ctl_print(o);
    if (s)
        sse_hub_publish(c->hub, "drivers", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void ctl_publish_point(struct ctl *c, const char *test_id, const char *node_id,
                              const struct series_point *p)
{
    if (sse_hub_clients(c->hub) == 0)
        return;
    /* {"test_id", "node_id", <point fields>} */
    cJSON *pt = series_point_to_json(p);
    cJSON *o = cJSON_CreateObject();
    if (pt && o && cJSON_AddStringToObject(o, "test_id", test_id) &&
        cJSON_AddStringToObject(o, "node_id", node_id)) {
        ctl_move_members(o, pt);
        char *s = ctl_print(o);
        if (s)
            sse_hub_publish(c->hub, "point", s);
        cJSON_free(s);
    }
    cJSON_Delete(pt);
    cJSON_Delete(o);
}

static void ctl_store_point(struct ctl *c, struct test *t, const char *node_id, int64_t idx,
                            const struct series_point *p)
{
    char err[256];
    if (ostore_point_put(c->db, t->id, node_id, idx, p, err, sizeof err) < 0)
        ctl_db_error(c, "save point", err);
    ctl_publish_point(c, t->id, node_id, p);
}

/* ---- Kafka output ---------------------------------------------------------- */

static int ctl_send_trigger(struct ctl *c, struct test *t, int abort, int64_t start_at_ms,
                            char *err, size_t errlen)
{
    struct msg_trigger tr;
    memset(&tr, 0, sizeof tr);
    snprintf(tr.test_id, sizeof tr.test_id, "%s", t->id);
    tr.abort = abort;
    tr.start_at_ms = start_at_ms;
    char *payload = msg_trigger_encode(&tr);
    if (!payload) {
        ctl_err(err, errlen, "out of memory");
        return -1;
    }
    /* Both trigger topics: the original programs' code reads test_trigger. */
    int rc = bus_produce(c->prod, TOPIC_TRIGGER, t->id, payload, strlen(payload), err, errlen);
    if (rc == 0)
        rc = bus_produce(c->prod, TOPIC_TEST_TRIGGER, t->id, payload, strlen(payload), err, errlen);
    free(payload);
    return rc;
}

/* ---- aggregate time series ------------------------------------------------- */

/* The participants' summed cumulative counts. */
static void ctl_agg_snapshot(struct test *t, struct series_snap *snap)
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

static void ctl_agg_advance(struct ctl *c, struct test *t, int64_t now);

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
}

/* Add what participant p's report changed (before -> after, with its
 * latency window when it had one) to the interval the report closes. */
static void ctl_agg_add(struct ctl *c, struct test *t, struct part *p, const struct msg_metrics *m,
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
static void ctl_agg_advance(struct ctl *c, struct test *t, int64_t now)
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

/* The test ends: make points of every interval that still holds data. */
static void ctl_agg_flush(struct ctl *c, struct test *t)
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

/* ---- lifecycle ---------------------------------------------------------------- */

static void ctl_finish(struct ctl *c, struct test *t, enum tstate state, int64_t now)
{
    if (t->state == TS_RUNNING)
        ctl_agg_flush(c, t);
    if (state == TS_PARTIAL || (state == TS_FAILED && t->state == TS_RUNNING)) {
        /* A frozen driver that resumes must find its test over. */
        char err[256];
        if (ctl_send_trigger(c, t, 1, 0, err, sizeof err) < 0)
            log_error("test %s: cannot send trigger ABORT: %s", t->id, err);
    }
    t->state = state;
    t->ended_ms = now;
    ctl_persist(c, t, now);
    ctl_publish_test(c, t, now);
    if (state == TS_COMPLETED)
        log_info("test %s COMPLETED%s%s", t->id, t->reason[0] ? ": " : "", t->reason);
    else
        log_warn("test %s %s: %s", t->id, tstate_names[state], t->reason);
    if (c->active == t)
        c->active = NULL;
    ctl_test_free(t);
}

static void ctl_configure(struct ctl *c, struct test *t, const char *const *ids, int n, int64_t now)
{
    char(*drv)[ID_MAX] = calloc((size_t)n, ID_MAX);
    struct part *parts = calloc((size_t)n, sizeof *parts);
    if (!drv || !parts) {
        free(drv);
        free(parts);
        ctl_reason(t, "out of memory");
        ctl_finish(c, t, TS_FAILED, now);
        return;
    }
    for (int i = 0; i < n; i++) {
        snprintf(drv[i], ID_MAX, "%s", ids[i]);
        agg_driver_init(&parts[i].agg, ids[i]);
        parts[i].last_seen_ms = now;
        /* A driver of the original format starts on the config and never
         * says READY: nothing to wait for. */
        const struct reg_driver *d = registry_find(c->reg, ids[i]);
        parts[i].original = parts[i].ready = d && registry_original(d);
    }
    free(t->cfg.drivers);
    t->cfg.drivers = drv;
    t->cfg.n_drivers = n;
    t->parts = parts;
    t->n_parts = n;
    char *payload = msg_test_config_encode(&t->cfg);
    char err[256] = "out of memory";
    if (!payload || bus_produce(c->prod, TOPIC_TEST_CONFIG, t->id, payload, strlen(payload), err,
                                sizeof err) < 0) {
        free(payload);
        ctl_reason(t, "cannot send test_config: %s", err);
        ctl_finish(c, t, TS_FAILED, now);
        return;
    }
    free(payload);
    t->state = TS_CONFIGURED;
    t->configured_ms = now;
    t->deadline_ms = now + c->conf.ready_timeout_ms;
    log_info("test %s CONFIGURED on %d driver(s)", t->id, n);
    ctl_persist(c, t, now);
    ctl_publish_test(c, t, now);
}

static void ctl_trigger(struct ctl *c, struct test *t, int64_t now)
{
    int64_t start_at = now + c->conf.start_delay_ms;
    char err[256];
    if (ctl_send_trigger(c, t, 0, start_at, err, sizeof err) < 0) {
        ctl_reason(t, "cannot send trigger: %s", err);
        ctl_finish(c, t, TS_FAILED, now);
        return;
    }
    t->state = TS_RUNNING;
    t->start_at_ms = start_at;
    t->agg_next = 0;
    t->have_agg_prev = 0;
    for (int i = 0; i < t->n_parts; i++)
        t->parts[i].agg_idx = -1;
    /* A driver of the original format may be done already: its result
     * counts from the start. */
    for (int i = 0; i < t->n_parts; i++) {
        struct part *p = &t->parts[i];
        if (p->agg.final && !p->refused && p->agg.reports > 0) {
            struct msg_metrics done;
            memset(&done, 0, sizeof done);
            done.final = 1;
            struct series_snap zero = {0};
            ctl_agg_add(c, t, p, &done, &zero, &p->agg.snap, NULL, now);
        }
    }
    log_info("test %s RUNNING: start_at %lld", t->id, (long long)start_at);
    ctl_persist(c, t, now);
    ctl_publish_test(c, t, now);
}

/* A driver that can take a test now: alive, and not saying that it cannot
 * read test configs. */
static int ctl_eligible(struct ctl *c, const struct reg_driver *d, int64_t now)
{
    enum liveness l = registry_judge(c->reg, d, now);
    return (l == LIVE_ALIVE || l == LIVE_QUIET) && d->listening != MSG_LISTENING_NO;
}

/* CREATED: wait (bounded) for enough alive drivers, then configure. */
static void ctl_step_created(struct ctl *c, struct test *t, int64_t now)
{
    int n = registry_count(c->reg);
    /* Room for every known driver and every named one. */
    const char **alive = calloc((size_t)n + (size_t)t->cfg.n_drivers + 1, sizeof *alive);
    if (!alive)
        return;
    int na = 0, deaf = 0;
    const char *deaf_ids[MSG_DRIVERS_MAX];
    if (t->named) {
        int missing = 0;
        const char *miss[MSG_DRIVERS_MAX];
        for (int i = 0; i < t->cfg.n_drivers; i++) {
            struct reg_driver *d = registry_find(c->reg, t->cfg.drivers[i]);
            int twice = 0;
            for (int k = 0; k < i && !twice; k++)
                twice = strcmp(t->cfg.drivers[k], t->cfg.drivers[i]) == 0;
            if (twice)
                continue; /* the API refuses such a list; a stored one may hold it */
            if (d && ctl_eligible(c, d, now))
                alive[na++] = d->node_id;
            else if (d && d->listening == MSG_LISTENING_NO &&
                     registry_judge(c->reg, d, now) == LIVE_ALIVE)
                deaf_ids[deaf++] = d->node_id;
            else
                miss[missing++] = t->cfg.drivers[i];
        }
        if (missing == 0 && deaf == 0) {
            ctl_configure(c, t, alive, na, now);
        } else if (now >= t->deadline_ms) {
            char list[256];
            if (missing > 0) {
                ctl_list_ids(list, sizeof list, miss, missing);
                ctl_reason(t, "named driver(s) not alive after %.1fs: %s",
                           (double)c->conf.ready_timeout_ms / 1000.0, list);
            }
            if (deaf > 0) {
                ctl_list_ids(list, sizeof list, deaf_ids, deaf);
                ctl_reason(t, "named driver(s) alive but not reading test configs: %s", list);
            }
            ctl_finish(c, t, TS_FAILED, now);
        }
        free(alive);
        return;
    }
    for (int i = 0; i < n && na < MSG_DRIVERS_MAX; i++) {
        struct reg_driver *d = registry_at(c->reg, i);
        if (ctl_eligible(c, d, now))
            alive[na++] = d->node_id;
        else if (d->listening == MSG_LISTENING_NO && deaf < MSG_DRIVERS_MAX &&
                 registry_judge(c->reg, d, now) == LIVE_ALIVE)
            deaf_ids[deaf++] = d->node_id;
    }
    if (na >= t->min_drivers && na > 0) {
        ctl_configure(c, t, alive, na, now);
    } else if (now >= t->deadline_ms) {
        ctl_reason(t, "only %d of the %lld driver(s) needed were alive after %.1fs", na,
                   (long long)t->min_drivers, (double)c->conf.ready_timeout_ms / 1000.0);
        if (deaf > 0) {
            char list[256];
            ctl_list_ids(list, sizeof list, deaf_ids, deaf);
            ctl_reason(t, "alive but not reading test configs: %s", list);
        }
        ctl_finish(c, t, TS_FAILED, now);
    }
    free(alive);
}

/* Mark participants that died or stopped running the test. */
static void ctl_check_parts(struct ctl *c, struct test *t, int64_t now)
{
    for (int i = 0; i < t->n_parts; i++) {
        struct part *p = &t->parts[i];
        if (p->agg.final || p->dead)
            continue;
        if (ctl_part_gone(c, t, p, now)) {
            p->dead = 1;
            if (p->original) {
                ctl_reason(
                    t,
                    "driver %s (original format) sent no final report within %.0fs of "
                    "the config (count x (delay + timeout) + %.0fs)",
                    p->agg.node_id,
                    (double)(ctl_report_deadline(t, c->conf.report_grace_ms) - t->configured_ms) /
                        1e3,
                    (double)c->conf.report_grace_ms / 1e3);
                struct reg_driver *d = registry_find(c->reg, p->agg.node_id);
                if (d)
                    registry_missed(c->reg, d);
            } else {
                ctl_reason(t, "driver %s declared dead (no heartbeat for %.1fs)", p->agg.node_id,
                           (double)c->conf.hb_timeout_ms / 1000.0);
            }
            log_warn("test %s: driver %s declared dead", t->id, p->agg.node_id);
            ctl_publish_test(c, t, now);
            continue;
        }
        if (t->state == TS_RUNNING && !p->lost && p->not_running_since_ms > 0 &&
            now - p->not_running_since_ms >= c->conf.hb_timeout_ms) {
            p->lost = 1;
            ctl_reason(t, "driver %s stopped running the test without a final report",
                       p->agg.node_id);
            log_warn("test %s: driver %s is not running it", t->id, p->agg.node_id);
            ctl_publish_test(c, t, now);
        }
    }
}

static void ctl_step_configured(struct ctl *c, struct test *t, int64_t now)
{
    int usable = 0, open = 0;
    const char *waiting[MSG_DRIVERS_MAX];
    for (int i = 0; i < t->n_parts; i++) {
        struct part *p = &t->parts[i];
        if (p->refused || p->dead || p->lost)
            continue;
        usable++;
        if (!p->ready)
            waiting[open++] = p->agg.node_id;
    }
    if (open > 0 && now < t->deadline_ms)
        return;
    if (open > 0) {
        char list[256];
        ctl_list_ids(list, sizeof list, waiting, open);
        ctl_reason(t, "ready wait timed out for %s", list);
    }
    if (usable == 0) {
        ctl_reason(t, "no driver could take the test");
        ctl_finish(c, t, TS_FAILED, now);
        return;
    }
    ctl_trigger(c, t, now);
}

/* 1 when p's final report says it stopped before the end of its run:
 * with a failure (aborted, shutting down) or short of its count. */
static int ctl_part_cut_short(const struct test *t, const struct part *p)
{
    int64_t want = t->cfg.message_count_per_driver;
    return p->agg.failure[0] || (want > 0 && p->agg.requests_sent < want);
}

static void ctl_step_running(struct ctl *c, struct test *t, int64_t now)
{
    int pending = 0, gone = 0, ran = 0, reported = 0, short_ = 0, aborted = 0;
    const char *abort_ids[MSG_DRIVERS_MAX];
    for (int i = 0; i < t->n_parts; i++) {
        struct part *p = &t->parts[i];
        if (p->agg.reports > 0)
            reported++;
        if (p->agg.final) {
            int ran_it = !(p->agg.failure[0] && p->agg.responses_received == 0);
            ran += ran_it;
            if (ran_it && ctl_part_cut_short(t, p))
                short_++;
            if (strcmp(p->agg.failure, "aborted") == 0)
                abort_ids[aborted++] = p->agg.node_id;
        } else if (p->dead || p->lost) {
            gone++;
        } else {
            pending++;
        }
    }
    if (t->stopping) {
        if (pending == 0 || now >= t->deadline_ms) {
            if (pending > 0)
                ctl_reason(t, "%d driver(s) sent no final report after the stop", pending);
            ctl_finish(c, t, TS_ABORTED, now);
        }
        return;
    }
    if (pending > 0)
        return;
    if (aborted > 0) {
        /* An ABORT this orchestrator did not send (it sends one only for a
         * stop, which sets stopping). */
        char list[256];
        ctl_list_ids(list, sizeof list, abort_ids, aborted);
        ctl_reason(t, "stopped by an ABORT trigger that this orchestrator did not send (%s)", list);
        ctl_finish(c, t, TS_ABORTED, now);
        return;
    }
    if (short_ > 0 && ran > 0) {
        for (int i = 0; i < t->n_parts; i++) {
            const struct part *p = &t->parts[i];
            if (p->agg.final && ctl_part_cut_short(t, p) &&
                !(p->agg.failure[0] && p->agg.responses_received == 0) && !p->refused)
                ctl_reason(t, "driver %s stopped after %lld of %lld requests%s%s", p->agg.node_id,
                           (long long)p->agg.requests_sent,
                           (long long)t->cfg.message_count_per_driver,
                           p->agg.failure[0] ? ": " : "", p->agg.failure);
        }
        ctl_finish(c, t, TS_PARTIAL, now);
        return;
    }
    if (gone > 0) {
        ctl_finish(c, t, ran > 0 || reported > 0 ? TS_PARTIAL : TS_FAILED, now);
    } else if (ran == 0) {
        for (int i = 0; i < t->n_parts; i++)
            if (t->parts[i].agg.failure[0])
                ctl_reason(t, "%s: %s", t->parts[i].agg.node_id, t->parts[i].agg.failure);
        if (!t->reason[0])
            ctl_reason(t, "no driver could run the test");
        ctl_finish(c, t, TS_FAILED, now);
    } else {
        ctl_finish(c, t, TS_COMPLETED, now);
    }
}

/* Advance the active test as far as it can go at now. */
static void ctl_step(struct ctl *c, int64_t now)
{
    struct test *t = c->active;
    if (!t)
        return;
    switch (t->state) {
    case TS_CREATED:
        ctl_step_created(c, t, now);
        break;
    case TS_CONFIGURED:
        ctl_check_parts(c, t, now);
        ctl_step_configured(c, t, now);
        break;
    case TS_RUNNING:
        ctl_check_parts(c, t, now);
        ctl_agg_advance(c, t, now);
        ctl_step_running(c, t, now);
        break;
    default:
        break;
    }
}

/* ---- message handling ------------------------------------------------------ */

static void ctl_reject(struct ctl *c, enum topic_ix tp, const struct bus_record *rec,
                       const char *why, int64_t now)
{
    c->rejected[tp]++;
    if (now - c->badlog_window_ms >= 60000) {
        if (c->badlog_suppressed > 0)
            log_warn("%lld more rejected message(s) were not logged",
                     (long long)c->badlog_suppressed);
        c->badlog_window_ms = now;
        c->badlog_n = 0;
        c->badlog_suppressed = 0;
    }
    if (c->badlog_n++ < 20)
        log_warn("skipped a message on %s (partition %d, offset %lld, %zu bytes): %s",
                 topic_names[tp], (int)rec->partition, (long long)rec->offset, rec->len, why);
    else
        c->badlog_suppressed++;
}

static void ctl_save_driver(struct ctl *c, struct reg_driver *d)
{
    char err[256];
    if (ostore_driver_put(c->db, d, err, sizeof err) < 0)
        ctl_db_error(c, "save driver", err);
    else
        d->dirty = 0;
}

static void ctl_on_register(struct ctl *c, const struct bus_record *rec, int64_t now)
{
    struct msg_register m;
    char err[256];
    if (msg_register_decode(rec->payload, rec->len, &m, err, sizeof err) < 0) {
        ctl_reject(c, TP_REGISTER, rec, err, now);
        return;
    }
    int64_t sent = m.timestamp > 0 ? (int64_t)(m.timestamp * 1000.0) : rec->timestamp_ms;
    int rc = registry_register(c->reg, &m, now, sent);
    if (rc < 0) {
        ctl_reject(c, TP_REGISTER, rec,
                   rc == -ENOSPC ? "the registry is full (" ORCH_STR(REGISTRY_MAX) " drivers)"
                                 : "out of memory",
                   now);
        return;
    }
    if (rc == REG_REMOVED) {
        log_info("driver %s unregistered", m.node_id);
        if (ostore_driver_delete(c->db, m.node_id, err, sizeof err) < 0)
            ctl_db_error(c, "delete driver", err);
        c->drivers_changed = 1;
    } else if (rc == REG_ADDED || rc == REG_CHANGED) {
        if (rc == REG_ADDED)
            log_info("driver %s registered (%s)", m.node_id, m.node_ip);
        int64_t ev = registry_evicted(c->reg);
        if (ev > c->evicted_logged && now - c->evicted_log_ms >= CTL_DBLOG_MS) {
            log_warn("registry: %lld driver(s) that never heartbeated were dropped to make room "
                     "(a storm of registrations?)",
                     (long long)(ev - c->evicted_logged));
            c->evicted_logged = ev;
            c->evicted_log_ms = now;
        }
        struct reg_driver *d = registry_find(c->reg, m.node_id);
        if (d)
            ctl_save_driver(c, d);
        c->drivers_changed = 1;
    }
}

static void ctl_on_heartbeat(struct ctl *c, const struct bus_record *rec, int64_t now)
{
    struct msg_heartbeat m;
    char err[256];
    if (msg_heartbeat_decode(rec->payload, rec->len, &m, err, sizeof err) < 0) {
        ctl_reject(c, TP_HEARTBEAT, rec, err, now);
        return;
    }
    int rc = registry_heartbeat(c->reg, &m, now);
    if (rc < 0) {
        ctl_reject(c, TP_HEARTBEAT, rec,
                   rc == -ENOSPC ? "the registry is full (" ORCH_STR(REGISTRY_MAX) " drivers)"
                                 : "out of memory",
                   now);
        return;
    }
    if (rc == REG_ADDED) {
        log_info("driver %s learnt from its heartbeat", m.node_id);
        struct reg_driver *d = registry_find(c->reg, m.node_id);
        if (d)
            ctl_save_driver(c, d);
    }
    if (rc != REG_NONE)
        c->drivers_changed = 1;
    struct test *t = c->active;
    int64_t sent = m.timestamp > 0 ? (int64_t)(m.timestamp * 1000.0) : now;
    if (!t || !liveness_fresh(now, sent, c->conf.hb_timeout_ms))
        return;
    struct part *p = ctl_part(t, m.node_id);
    if (!p)
        return;
    p->last_seen_ms = now;
    if (m.state == NODE_STATE_NONE)
        return; /* an original-format driver says nothing more */
    int ours = strcmp(m.test_id, t->id) == 0 &&
               (m.state == NODE_STATE_READY || m.state == NODE_STATE_RUNNING);
    /* A participant that says, well after the config went out, that it is
     * not preparing this test, and does not say that it reads test_config
     * up to date (a slow one does), did not read the config: waiting for
     * it until the ready timeout would only hide that. */
    int64_t deaf_ms = c->conf.ready_timeout_ms / 2 > 1000 ? c->conf.ready_timeout_ms / 2 : 1000;
    if (!ours && !p->ready && !p->lost && !p->refused && t->state == TS_CONFIGURED &&
        m.listening != MSG_LISTENING_YES && t->configured_ms > 0 &&
        sent >= t->configured_ms + deaf_ms) {
        p->lost = 1;
        ctl_reason(t,
                   "driver %s heartbeats but had not read the test config %.1fs after it was "
                   "sent (it does not hear test_config); left out",
                   p->agg.node_id, (double)deaf_ms / 1000.0);
        log_warn("test %s: driver %s heartbeats %s but did not read the test config", t->id,
                 p->agg.node_id, node_state_name(m.state));
        ctl_publish_test(c, t, now);
        ctl_step(c, now);
        return;
    }
    if (ours && !p->ready) {
        p->ready = 1;
        if (t->state == TS_CONFIGURED)
            ctl_step(c, now);
        t = c->active;
        if (!t)
            return;
    }
    if (t->state != TS_RUNNING)
        return;
    if (ours) {
        p->not_running_since_ms = 0;
        if (m.state == NODE_STATE_RUNNING)
            agg_driver_heartbeat(&p->agg, m.requests_sent, now);
    } else if (now >= t->start_at_ms && p->not_running_since_ms == 0 && !p->agg.final) {
        p->not_running_since_ms = now;
    }
}

static void ctl_on_metrics(struct ctl *c, const struct bus_record *rec, int64_t now)
{
    struct msg_metrics m;
    char err[256];
    if (msg_metrics_decode(rec->payload, rec->len, &m, err, sizeof err) < 0) {
        ctl_reject(c, TP_METRICS, rec, err, now);
        return;
    }
    struct test *t = c->active;
    int64_t seq = m.has_ext ? m.seq : -1;
    if (!t || strcmp(t->id, m.test_id) != 0) {
        /* Keep what belongs to a known test (a late final); drop the rest. */
        int known = ostore_test_exists(c->db, m.test_id, err, sizeof err);
        if (known == 1) {
            if (ostore_report_put(c->db, m.report_id, m.test_id, m.node_id, seq, m.final, now,
                                  rec->payload, rec->len, err, sizeof err) < 0)
                ctl_db_error(c, "save report", err);
        } else {
            if (known < 0)
                ctl_db_error(c, "find test", err);
            c->stray_reports++;
            log_debug("report %s for unknown test %s skipped", m.report_id, m.test_id);
        }
        msg_metrics_free(&m);
        return;
    }
    struct part *p = ctl_part(t, m.node_id);
    /* Believed only within what the test allows: the count, the sequence
     * its elapsed time allows (one report per interval, with a margin),
     * cumulative counts. Checked before it is stored, so that a restart
     * never rebuilds a driver from a report that was refused. */
    int64_t ival =
        t->cfg.report_interval_ms > 0 ? t->cfg.report_interval_ms : MSG_DEFAULT_REPORT_MS;
    int64_t max_seq = CTL_SEQ_MARGIN;
    if (t->start_at_ms > 0 && now > t->start_at_ms)
        max_seq += (now - t->start_at_ms) / ival;
    if (p && agg_report_check(&p->agg, &m, t->cfg.message_count_per_driver, max_seq, err,
                              sizeof err) < 0) {
        ctl_reject(c, TP_METRICS, rec, err, now);
        msg_metrics_free(&m);
        return;
    }
    int rc = ostore_report_put(c->db, m.report_id, m.test_id, m.node_id, seq, m.final, now,
                               rec->payload, rec->len, err, sizeof err);
    if (rc <= 0) {
        if (rc < 0)
            ctl_db_error(c, "save report", err);
        else
            c->dup_reports++;
        msg_metrics_free(&m);
        return;
    }
    if (!p) {
        c->stray_reports++;
        log_warn("test %s: report from %s, which does not take part, kept but not counted", t->id,
                 m.node_id);
        msg_metrics_free(&m);
        return;
    }
    if (liveness_fresh(now, rec->timestamp_ms, c->conf.hb_timeout_ms))
        p->last_seen_ms = now;
    struct series_point pt;
    char warn[256];
    struct series_snap before = p->agg.reports ? p->agg.snap : (struct series_snap){0};
    rc = agg_driver_apply(&p->agg, &m, t->cfg.message_count_per_driver, t->start_at_ms, now, &c->s,
                          &pt, warn, sizeof warn);
    if (rc == 1 && t->state == TS_RUNNING) {
        /* agg_driver_apply leaves the report's latency window in c->s.c. */
        ctl_agg_add(c, t, p, &m, &before, &p->agg.snap, c->s.c, now);
    }
    if (warn[0])
        log_warn("test %s: report %s from %s: %s; its latencies become approximate", t->id,
                 m.report_id, m.node_id, warn);
    if (rc < 0) {
        log_error("test %s: out of memory applying a report", t->id);
    } else if (rc == 1) {
        ctl_store_point(c, t, m.node_id, p->agg.seq, &pt);
        /* A final report before the trigger is a refusal, except one of the
         * original format without a failure: that driver ran the test on
         * the config, and this is its result. */
        if (m.final && t->state != TS_RUNNING && (m.has_ext || m.failure[0])) {
            p->refused = 1;
            if (m.failure[0]) {
                ctl_reason(t, "%s refused: %s", m.node_id, m.failure);
                log_warn("test %s: driver %s refused: %s", t->id, m.node_id, m.failure);
            }
        } else if (m.final && m.failure[0]) {
            log_warn("test %s: driver %s failed: %s", t->id, m.node_id, m.failure);
        }
        if (m.final)
            ctl_publish_test(c, t, now);
        ctl_step(c, now);
    }
    msg_metrics_free(&m);
}

static void ctl_on_record(struct ctl *c, const struct bus_record *rec, int64_t now)
{
    enum topic_ix tp = TP_OTHER;
    for (int i = 0; i < TP_OTHER; i++)
        if (rec->topic && strcmp(rec->topic, topic_names[i]) == 0)
            tp = (enum topic_ix)i;
    c->msgs[tp]++;
    switch (tp) {
    case TP_REGISTER:
        ctl_on_register(c, rec, now);
        break;
    case TP_HEARTBEAT:
        ctl_on_heartbeat(c, rec, now);
        break;
    case TP_METRICS:
        ctl_on_metrics(c, rec, now);
        break;
    default:
        break;
    }
}

/* ---- threads ------------------------------------------------------------------- */

static void ctl_reload_test(struct ctl *c, const char *id, int64_t now);

static void *ctl_consumer_main(void *arg)
{
    struct ctl *c = arg;
    static const char *const out_topics[] = {TOPIC_TEST_CONFIG, TOPIC_TRIGGER, TOPIC_TEST_TRIGGER};
    char err[512];
    /* Both calls block while Kafka is unreachable: keep them short, so a
     * stop is never held up for long. The topics as the drivers make them
     * (topics.c: partitions and replicas). */
    if (c->bconf && topics_ensure(c->bconf, 2000, err, sizeof err) < 0)
        log_warn("could not check the topics: %s", err);
    struct bus_record recs[CTL_BATCH];
    memset(recs, 0, sizeof recs);
    int64_t last_err_log = 0, warm_at = 0, next_probe_us = 0;
    int warm = 0, reachable = 1;
    while (!atomic_load(&c->stop)) {
        /* The orchestrator hears the drivers only while it has its
         * partitions and a broker answers: a broker that is down keeps
         * the assignment in place but delivers nothing. */
        if (clock_mono_us() >= next_probe_us) {
            int was = reachable;
            reachable = bus_consumer_reachable(c->cons, CTL_PROBE_MS);
            next_probe_us = clock_mono_us() + CTL_PROBE_MS * 1000;
            if (was && !reachable)
                log_warn("kafka does not answer; liveness judgements wait until it does");
        }
        /* A restarted, empty load-broker is a new cluster: its consumer
         * group has to be joined anew. */
        if (bus_consumer_maintain(c->cons, err, sizeof err) < 0)
            log_error("%s", err);
        int assigned = bus_consumer_assigned(c->cons);
        int hearing = assigned && reachable;
        if (hearing != (c->listening_since_ms > 0)) {
            pthread_mutex_lock(&c->mu);
            c->listening_since_ms = hearing ? clock_wall_ms() : 0;
            pthread_mutex_unlock(&c->mu);
            if (hearing)
                log_info("consuming register, heartbeat and metrics");
            else if (!assigned)
                log_warn("lost the Kafka partitions; liveness judgements wait until they return");
        }
        /* Learn where test_config and trigger go before the first test
         * needs them: the first message would otherwise wait a second. */
        if (!warm && clock_wall_ms() >= warm_at) {
            warm = bus_producer_warm(c->prod, out_topics, 3, 500, err, sizeof err) == 0;
            if (!warm) {
                log_warn("%s (retrying in 10s)", err);
                warm_at = clock_wall_ms() + 10000;
            }
        }
        int rc = bus_consumer_poll(c->cons, 100, &recs[0], err, sizeof err);
        if (rc < 0) {
            int64_t now = clock_wall_ms();
            if (now - last_err_log >= 10000) {
                log_warn("%s", err);
                last_err_log = now;
            }
            continue;
        }
        if (rc == 0)
            continue;
        int n = 1;
        while (n < CTL_BATCH && bus_consumer_poll(c->cons, 0, &recs[n], err, sizeof err) == 1)
            n++;
        pthread_mutex_lock(&c->mu);
        int64_t now = clock_wall_ms();
        ctl_check_stall(c, now);
        /* The batch is applied in one transaction or not at all. */
        int stored = ostore_begin(c->db, err, sizeof err) == 0;
        if (!stored) {
            ctl_db_error(c, "begin", err);
        } else {
            if (c->store_refusing) {
                /* The silence while the store refused counts for nobody;
                 * a failure in this batch makes it refuse again. */
                c->store_refusing = 0;
                if (c->listening_since_ms > 0)
                    c->listening_since_ms = now;
                log_info("the store takes writes again");
            }
            char active_id[ID_MAX] = "";
            if (c->active)
                snprintf(active_id, sizeof active_id, "%s", c->active->id);
            int64_t errors_before = c->db_errors;
            for (int i = 0; i < n; i++)
                ctl_on_record(c, &recs[i], now);
            if (c->db_errors != errors_before) {
                stored = 0;
            } else if (ostore_commit(c->db, err, sizeof err) < 0) {
                ctl_db_error(c, "commit", err);
                stored = 0;
            }
            if (!stored) {
                ostore_rollback(c->db);
                ctl_reload_test(c, active_id, now);
            }
        }
        pthread_mutex_unlock(&c->mu);
        /* Mark offsets only for what is stored. What is not is read again
         * (applying a report twice has no effect), after a pause, until the
         * store takes it: nothing behind it is committed meanwhile. */
        if (!stored) {
            if (bus_consumer_redeliver(c->cons, recs, n, err, sizeof err) < 0)
                log_error("%s", err);
            log_warn("store failed; %d message(s) will be read again in %d ms", n, CTL_RETRY_MS);
        }
        for (int i = 0; i < n; i++) {
            if (stored)
                bus_consumer_commit(c->cons, &recs[i]);
            bus_record_release(&recs[i]);
        }
        for (int slept = 0; !stored && slept < CTL_RETRY_MS && !atomic_load(&c->stop);
             slept += 100) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < CTL_BATCH; i++)
        bus_record_release(&recs[i]);
    return NULL;
}

static void ctl_save_drivers(struct ctl *c)
{
    char err[256];
    int n = registry_count(c->reg), dirty = 0;
    for (int i = 0; i < n; i++)
        dirty += registry_at(c->reg, i)->dirty;
    if (dirty == 0)
        return;
    int in_tx = ostore_begin(c->db, err, sizeof err) == 0;
    for (int i = 0; i < n; i++) {
        struct reg_driver *d = registry_at(c->reg, i);
        if (d->dirty)
            ctl_save_driver(c, d);
    }
    if (in_tx && ostore_commit(c->db, err, sizeof err) < 0) {
        ctl_db_error(c, "commit", err);
        ostore_rollback(c->db);
    }
}

static void ctl_tick(struct ctl *c, int64_t now)
{
    if (registry_tick(c->reg, now) > 0)
        c->drivers_changed = 1;
    ctl_step(c, now);
    if (c->drivers_changed || now - c->last_drivers_event_ms >= CTL_EVENT_MS)
        ctl_publish_drivers(c, now);
    if (c->active && now - c->active->last_event_ms >= CTL_EVENT_MS)
        ctl_publish_test(c, c->active, now);
    if (now - c->last_save_ms >= CTL_SAVE_MS) {
        ctl_save_drivers(c);
        c->last_save_ms = now;
    }
}

static void *ctl_ticker_main(void *arg)
{
    struct ctl *c = arg;
    while (!atomic_load(&c->stop)) {
        struct timespec ts = {0, CTL_TICK_MS * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&c->mu);
        ctl_check_stall(c, clock_wall_ms());
        ctl_tick(c, clock_wall_ms());
        pthread_mutex_unlock(&c->mu);
        bus_producer_poll(c->prod, 0);
    }
    return NULL;
}

/* ---- creation and restart ------------------------------------------------------ */

static void ctl_restore_driver(void *ctx, const struct reg_driver *d)
{
    struct ctl *c = ctx;
    int rc = registry_restore(c->reg, d);
    if (rc == -ENOMEM || rc == -ENOSPC)
        log_error("registry: cannot restore driver %s: %s", d->node_id,
                  rc == -ENOSPC ? "the registry is full" : "out of memory");
}

/* Rebuild a participant from its newest stored report. */
static void ctl_rebuild_part(struct ctl *c, struct test *t, struct part *p, int64_t now)
{
    char *json = NULL;
    char err[256];
    int rc = ostore_report_latest(c->db, t->id, p->agg.node_id, &json, err, sizeof err);
    if (rc < 0)
        ctl_db_error(c, "load report", err);
    if (rc != 1)
        return;
    struct msg_metrics m;
    if (msg_metrics_decode(json, strlen(json), &m, err, sizeof err) == 0) {
        struct series_point pt;
        char warn[256];
        agg_driver_apply(&p->agg, &m, t->cfg.message_count_per_driver, t->start_at_ms, now, &c->s,
                         &pt, warn, sizeof warn);
        if (m.final && t->state != TS_RUNNING)
            p->refused = 1;
        msg_metrics_free(&m);
    } else {
        log_warn("test %s: stored report of %s unreadable: %s", t->id, p->agg.node_id, err);
    }
    free(json);
}

/* The test as stored, or NULL with why filled. */
static struct test *ctl_load_test(struct ctl *c, const char *id, int64_t now, char *why,
                                  size_t whylen)
{
    struct ostore_test row;
    char err[256];
    int got = ostore_test_get(c->db, id, &row, err, sizeof err);
    if (got != 1) {
        snprintf(why, whylen, "%s", got < 0 ? err : "not in the store");
        return NULL;
    }
    struct test *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(why, whylen, "out of memory");
        ostore_test_free(&row);
        return NULL;
    }
    snprintf(t->id, sizeof t->id, "%s", row.test_id);
    snprintf(t->reason, sizeof t->reason, "%s", row.reason ? row.reason : "");
    for (int i = 0; i < TS_COUNT; i++)
        if (strcmp(row.state, tstate_names[i]) == 0)
            t->state = (enum tstate)i;
    t->created_ms = row.created_ms;
    t->start_at_ms = row.start_at_ms;
    t->min_drivers = row.min_drivers > 0 ? row.min_drivers : 1;
    t->deadline_ms = now + c->conf.ready_timeout_ms;
    const char *cfg = row.config ? row.config : "";
    if (msg_test_config_decode(cfg, strlen(cfg), &t->cfg, err, sizeof err) < 0) {
        snprintf(why, whylen, "its stored config is unreadable: %s", err);
        ostore_test_free(&row);
        free(t);
        return NULL;
    }
    t->named = t->state == TS_CREATED && t->cfg.drivers != NULL;
    cJSON *parts = row.participants ? cJSON_Parse(row.participants) : NULL;
    int n = cJSON_IsArray(parts) ? cJSON_GetArraySize(parts) : 0;
    if (n > MSG_DRIVERS_MAX)
        n = MSG_DRIVERS_MAX;
    if (n > 0) {
        t->parts = calloc((size_t)n, sizeof *t->parts);
        for (int i = 0; t->parts && i < n; i++) {
            cJSON *it = cJSON_GetArrayItem(parts, i);
            const char *nid = cJSON_IsString(it) ? it->valuestring : NULL;
            if (!nid || !id_valid(nid) || ctl_part(t, nid))
                continue;
            struct part *p = &t->parts[t->n_parts++];
            agg_driver_init(&p->agg, nid);
            p->agg_idx = -1;
            p->last_seen_ms = now;
            const struct reg_driver *d = registry_find(c->reg, nid);
            p->original = d && registry_original(d);
            p->ready = p->ready || (p->original && t->state != TS_CREATED);
            ctl_rebuild_part(c, t, p, now);
        }
    }
    cJSON_Delete(parts);
    ostore_test_free(&row);
    if (t->state == TS_RUNNING) {
        /* Points already stored stay; what the rebuilt reports hold counts
         * as reported up to the next point. */
        int64_t last = ostore_point_last(c->db, t->id, "");
        t->agg_next = last + 1;
        ctl_agg_snapshot(t, &t->agg_snap);
        t->agg_snap.t_ms = t->agg_next * ctl_interval_ms(t);
        t->have_agg_prev = 1;
        for (int i = 0; i < t->n_parts; i++)
            t->parts[i].agg_idx = last;
    }
    return t;
}

/* A batch was rolled back: undo in memory what it did to the test that was
 * active by loading that test again from the store, as a restart would; the
 * batch's messages are then applied again. */
static void ctl_reload_test(struct ctl *c, const char *id, int64_t now)
{
    if (!id[0])
        return;
    char why[512];
    struct test *t = ctl_load_test(c, id, now, why, sizeof why);
    if (!t) {
        log_error("test %s: cannot be reloaded from the store (%s); it goes on as held in memory",
                  id, why);
        return;
    }
    if (c->active)
        ctl_test_free(c->active);
    c->active = NULL;
    if (t->state == TS_CREATED || t->state == TS_CONFIGURED || t->state == TS_RUNNING) {
        c->active = t;
        log_warn("test %s reloaded from the store in state %s", t->id, tstate_names[t->state]);
        ctl_publish_test(c, t, now);
    } else {
        ctl_test_free(t);
    }
}

/* End a stored test that cannot be loaded: FAILED, with the reason, so
 * that it is not tried again at every start. Its stored config stays as it
 * was; its view shows that config as stored (null when it is not JSON). */
static void ctl_fail_stored(struct ctl *c, const char *id, const char *why, int64_t now)
{
    struct ostore_test row;
    char err[256];
    if (ostore_test_get(c->db, id, &row, err, sizeof err) != 1)
        return;
    struct test *t = calloc(1, sizeof *t);
    cJSON *view = NULL;
    if (t) {
        memcpy(t->id, row.test_id, sizeof t->id);
        t->state = TS_FAILED;
        t->created_ms = row.created_ms;
        t->start_at_ms = row.start_at_ms;
        t->ended_ms = now;
        t->min_drivers = row.min_drivers > 0 ? row.min_drivers : 1;
        ctl_reason(t, "cannot be resumed after a restart: %s", why);
        view = ctl_test_json(c, t, now, 0);
    }
    cJSON *cfg = row.config ? cJSON_Parse(row.config) : NULL;
    char *summary = NULL, *old_reason = row.reason, *old_summary = row.summary,
         *old_per_driver = row.per_driver;
    if (view &&
        cJSON_ReplaceItemInObjectCaseSensitive(view, "config", cfg ? cfg : cJSON_CreateNull()))
        summary = cJSON_PrintUnformatted(view);
    else
        cJSON_Delete(cfg);
    if (!summary) {
        ctl_db_error(c, "save test", "out of memory");
    } else {
        snprintf(row.state, sizeof row.state, "%s", tstate_names[TS_FAILED]);
        row.reason = t->reason;
        row.ended_ms = now;
        row.summary = summary;
        row.per_driver = "[]";
        if (ostore_test_put(c->db, &row, err, sizeof err) < 0)
            ctl_db_error(c, "save test", err);
    }
    row.reason = old_reason;
    row.summary = old_summary;
    row.per_driver = old_per_driver;
    cJSON_free(summary);
    cJSON_Delete(view);
    if (t)
        ctl_test_free(t);
    ostore_test_free(&row);
}

/* Bring back the unfinished test, if any; older unfinished ones failed. */
static int ctl_restore_tests(struct ctl *c, int64_t now, char *err, size_t errlen)
{
    char ids[64][ID_MAX];
    char newest[ID_MAX] = "";
    int64_t newest_ms = -1;
    static const enum tstate open_states[] = {TS_CREATED, TS_CONFIGURED, TS_RUNNING};
    char all[192][ID_MAX];
    int nall = 0;
    for (size_t s = 0; s < 3; s++) {
        int n = ostore_tests_in_state(c->db, tstate_names[open_states[s]], ids, 64, err, errlen);
        if (n < 0)
            return -1;
        for (int i = 0; i < n; i++)
            memcpy(all[nall++], ids[i], ID_MAX);
    }
    for (int i = 0; i < nall; i++) {
        struct ostore_test row;
        if (ostore_test_get(c->db, all[i], &row, err, errlen) == 1 && row.created_ms > newest_ms) {
            newest_ms = row.created_ms;
            memcpy(newest, all[i], ID_MAX);
        }
        ostore_test_free(&row);
    }
    for (int i = 0; i < nall; i++) {
        char why[512];
        struct test *t = ctl_load_test(c, all[i], now, why, sizeof why);
        if (!t) {
            log_error("test %s cannot be resumed: %s; it ends FAILED", all[i], why);
            ctl_fail_stored(c, all[i], why, now);
            continue;
        }
        if (strcmp(all[i], newest) == 0 && !c->active) {
            c->active = t;
            log_info("test %s resumes in state %s with %d participant(s)", t->id,
                     tstate_names[t->state], t->n_parts);
            if (t->state == TS_CONFIGURED)
                ctl_reason(t, "the orchestrator restarted while waiting for READY");
        } else {
            ctl_reason(t, "the orchestrator restarted and a newer test took over");
            ctl_finish(c, t, TS_FAILED, now);
        }
    }
    return 0;
}

int ctl_create(const struct ctl_conf *conf, struct ostore *db, struct bus_producer *prod,
               struct sse_hub *hub, struct ctl **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ctl *c = calloc(1, sizeof *c);
    if (!c) {
        ctl_err(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->conf = *conf;
    c->db = db;
    c->prod = prod;
    c->hub = hub;
    int64_t forget = 10 * conf->hb_timeout_ms;
    if (forget < CTL_FORGET_MIN_MS)
        forget = CTL_FORGET_MIN_MS;
    if (registry_create(conf->hb_interval_ms, conf->hb_timeout_ms, forget, &c->reg) ||
        agg_scratch_init(&c->s)) {
        ctl_err(err, errlen, "out of memory");
        ctl_destroy(c);
        return -1;
    }
    int64_t now = clock_wall_ms();
    if (ostore_drivers_load(db, now - forget, ctl_restore_driver, c, err, errlen) < 0 ||
        ctl_restore_tests(c, now, err, errlen) < 0) {
        ctl_destroy(c);
        return -1;
    }
    registry_tick(c->reg, now);
    c->last_save_ms = now;
    *out = c;
    return 0;
}

int ctl_start(struct ctl *c, struct bus_consumer *cons, const struct bus_conf *bconf, char *err,
              size_t errlen)
{
    c->cons = cons;
    c->bconf = bconf;
    atomic_store(&c->stop, 0);
    if (pthread_create(&c->consumer_thr, NULL, ctl_consumer_main, c) != 0) {
        ctl_err(err, errlen, "cannot start the consumer thread");
        return -1;
    }
    if (pthread_create(&c->ticker_thr, NULL, ctl_ticker_main, c) != 0) {
        atomic_store(&c->stop, 1);
        pthread_join(c->consumer_thr, NULL);
        ctl_err(err, errlen, "cannot start the ticker thread");
        return -1;
    }
    c->threads = 1;
    return 0;
}

void ctl_stop(struct ctl *c)
{
    if (!c)
        return;
    if (c->threads) {
        atomic_store(&c->stop, 1);
        pthread_join(c->consumer_thr, NULL);
        pthread_join(c->ticker_thr, NULL);
        c->threads = 0;
    }
    pthread_mutex_lock(&c->mu);
    ctl_save_drivers(c);
    if (c->active) {
        ctl_persist(c, c->active, clock_wall_ms());
        log_info("test %s stays %s; it resumes when the orchestrator starts again", c->active->id,
                 tstate_names[c->active->state]);
    }
    pthread_mutex_unlock(&c->mu);
}

void ctl_destroy(struct ctl *c)
{
    if (!c)
        return;
    ctl_test_free(c->active);
    registry_destroy(c->reg);
    agg_scratch_close(&c->s);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* ---- REST ---------------------------------------------------------------------- */

int ctl_test_create(struct ctl *c, const struct msg_test_config *cfg, int64_t min_drivers,
                    cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    int64_t now = clock_wall_ms();
    int status = 201;
    struct test *t = NULL;
    if (c->active) {
        ctl_err(err, errlen, "test %s is %s; one test runs at a time (stop it or wait)",
                c->active->id, tstate_names[c->active->state]);
        status = 409;
        goto out;
    }
    for (int i = 0; cfg->drivers && i < cfg->n_drivers; i++) {
        if (!registry_find(c->reg, cfg->drivers[i])) {
            ctl_err(err, errlen, "unknown driver \"%s\" in \"drivers\"", cfg->drivers[i]);
            status = 400;
            goto out;
        }
    }
    t = calloc(1, sizeof *t);
    if (!t || msg_test_config_copy(&t->cfg, cfg) < 0 || id_new("t-", t->id, sizeof t->id) < 0) {
        ctl_test_free(t);
        t = NULL;
        ctl_err(err, errlen, "out of memory");
        status = 500;
        goto out;
    }
    /* Figures shown while a test runs must be under a second old: with
     * reports every second plus their transit they would not be. */
    if (t->cfg.report_interval_ms == 0)
        t->cfg.report_interval_ms = CTL_DEFAULT_REPORT_MS;
    snprintf(t->cfg.test_id, sizeof t->cfg.test_id, "%s", t->id);
    t->state = TS_CREATED;
    t->named = cfg->drivers != NULL;
    t->min_drivers = t->named ? cfg->n_drivers : min_drivers;
    t->created_ms = now;
    t->deadline_ms = now + c->conf.ready_timeout_ms;
    c->active = t;
    ctl_persist(c, t, now);
    *out = ctl_test_json(c, t, now, 1);
    if (!*out) {
        ctl_err(err, errlen, "out of memory");
        status = 500;
    }
    log_info("test %s CREATED (%s, %lld per driver, delay %gs)", t->id,
             test_type_name(t->cfg.test_type), (long long)t->cfg.message_count_per_driver,
             t->cfg.test_message_delay);
    ctl_publish_test(c, t, now);
    ctl_step(c, now);
out:
    pthread_mutex_unlock(&c->mu);
    return status;
}

static int ctl_stored_test(struct ctl *c, const char *test_id, int per_driver, cJSON **out,
                           char *err, size_t errlen)
{
    struct ostore_test row;
    char dberr[256];
    int rc = ostore_test_get(c->db, test_id, &row, dberr, sizeof dberr);
    if (rc < 0) {
        ctl_db_error(c, "load test", dberr);
        ctl_err(err, errlen, "the metrics store failed: %s", dberr);
        return 500;
    }
    if (rc == 0) {
        ctl_err(err, errlen, "no test with id %s", test_id);
        return 404;
    }
    cJSON *o = row.summary ? cJSON_Parse(row.summary) : NULL;
    if (o && per_driver) {
        cJSON *pd = row.per_driver ? cJSON_Parse(row.per_driver) : NULL;
        if (!pd)
            pd = cJSON_CreateArray();
        if (!agg_json_add(o, "per_driver", pd)) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    ostore_test_free(&row);
    if (!o) {
        ctl_err(err, errlen, "stored test %s is unreadable", test_id);
        return 500;
    }
    *out = o;
    return 200;
}

int ctl_test_get(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    int status;
    if (c->active && strcmp(c->active->id, test_id) == 0) {
        *out = ctl_test_json(c, c->active, clock_wall_ms(), 1);
        status = *out ? 200 : 500;
        if (!*out)
            ctl_err(err, errlen, "out of memory");
    } else {
        status = ctl_stored_test(c, test_id, 1, out, err, errlen);
    }
    pthread_mutex_unlock(&c->mu);
    return status;
}

struct ctl_list_ctx {
    struct ctl *c;
    cJSON *arr;
    int64_t now;
    int failed;
};

static void ctl_list_row(void *ctx, const char *test_id, const char *summary)
{
    struct ctl_list_ctx *lc = ctx;
    cJSON *o = NULL;
    if (lc->c->active && strcmp(lc->c->active->id, test_id) == 0)
        o = ctl_test_json(lc->c, lc->c->active, lc->now, 0);
    else if (summary)
        o = cJSON_Parse(summary);
    if (!o)
        return;
    if (!cJSON_AddItemToArray(lc->arr, o)) {
        cJSON_Delete(o);
        lc->failed = 1;
    }
}

int ctl_tests_list(struct ctl *c, int limit, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "tests") : NULL;
    if (!arr) {
        cJSON_Delete(root);
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    pthread_mutex_lock(&c->mu);
    struct ctl_list_ctx lc = {c, arr, clock_wall_ms(), 0};
    char dberr[256];
    int rc = ostore_tests_list(c->db, limit, ctl_list_row, &lc, dberr, sizeof dberr);
    if (rc < 0)
        ctl_db_error(c, "list tests", dberr);
    pthread_mutex_unlock(&c->mu);
    if (rc < 0 || lc.failed) {
        cJSON_Delete(root);
        ctl_err(err, errlen, "the metrics store failed: %s", rc < 0 ? dberr : "out of memory");
        return 500;
    }
    *out = root;
    return 200;
}

struct ctl_series_ctx {
    cJSON *agg, *drivers;
    int failed;
};

static void ctl_series_row(void *ctx, const char *node_id, const struct series_point *p)
{
    struct ctl_series_ctx *sc = ctx;
    cJSON *arr = sc->agg;
    if (node_id[0]) {
        arr = cJSON_GetObjectItemCaseSensitive(sc->drivers, node_id);
        if (!arr) {
            arr = cJSON_AddArrayToObject(sc->drivers, node_id);
            if (!arr) {
                sc->failed = 1;
                return;
            }
        }
    }
    cJSON *o = series_point_to_json(p);
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        sc->failed = 1;
    }
}

int ctl_test_timeseries(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    struct ctl_series_ctx sc = {NULL, NULL, 0};
    if (root) {
        cJSON_AddStringToObject(root, "test_id", test_id);
        sc.agg = cJSON_AddArrayToObject(root, "aggregate");
        sc.drivers = cJSON_AddObjectToObject(root, "drivers");
    }
    if (!sc.agg || !sc.drivers) {
        cJSON_Delete(root);
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    pthread_mutex_lock(&c->mu);
    char dberr[256];
    int status = 200;
    int known = (c->active && strcmp(c->active->id, test_id) == 0)
                    ? 1
                    : ostore_test_exists(c->db, test_id, dberr, sizeof dberr);
    if (known == 0) {
        ctl_err(err, errlen, "no test with id %s", test_id);
        status = 404;
    } else if (known < 0 ||
               ostore_points_each(c->db, test_id, ctl_series_row, &sc, dberr, sizeof dberr) < 0) {
        ctl_db_error(c, "load points", dberr);
        ctl_err(err, errlen, "the metrics store failed: %s", dberr);
        status = 500;
    } else if (sc.failed) {
        ctl_err(err, errlen, "out of memory");
        status = 500;
    }
    pthread_mutex_unlock(&c->mu);
    if (status != 200) {
        cJSON_Delete(root);
        return status;
    }
    *out = root;
    return 200;
}

int ctl_test_stop(struct ctl *c, const char *test_id, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    int64_t now = clock_wall_ms();
    int status = 200;
    struct test *t = c->active;
    if (!t || strcmp(t->id, test_id) != 0) {
        char dberr[256];
        int known = ostore_test_exists(c->db, test_id, dberr, sizeof dberr);
        if (known == 1) {
            struct ostore_test row;
            if (ostore_test_get(c->db, test_id, &row, dberr, sizeof dberr) == 1)
                ctl_err(err, errlen, "test %s is not running (it is %s)", test_id, row.state);
            else
                ctl_err(err, errlen, "test %s is not running", test_id);
            ostore_test_free(&row);
            status = 409;
        } else if (known == 0) {
            ctl_err(err, errlen, "no test with id %s", test_id);
            status = 404;
        } else {
            ctl_err(err, errlen, "the metrics store failed: %s", dberr);
            status = 500;
        }
        pthread_mutex_unlock(&c->mu);
        return status;
    }
    if (!t->stopping) {
        char kerr[256];
        int sent = t->state == TS_CREATED || ctl_send_trigger(c, t, 1, 0, kerr, sizeof kerr) == 0;
        if (!sent)
            log_error("test %s: cannot send trigger ABORT: %s", t->id, kerr);
        log_info("test %s: stop requested", t->id);
        if (t->state == TS_RUNNING) {
            t->stopping = 1;
            ctl_reason(t, "stopped on request");
            int64_t wait = c->conf.hb_timeout_ms;
            if (wait < 2 * ctl_interval_ms(t))
                wait = 2 * ctl_interval_ms(t);
            t->deadline_ms = now + wait;
            ctl_persist(c, t, now);
            ctl_publish_test(c, t, now);
            *out = ctl_test_json(c, t, now, 1);
        } else {
            ctl_reason(t, "stopped on request before it started");
            /* Answer with the final object: ctl_finish frees the test. */
            t->state = TS_ABORTED;
            t->ended_ms = now;
            *out = ctl_test_json(c, t, now, 1);
            ctl_finish(c, t, TS_ABORTED, now);
        }
    } else {
        *out = ctl_test_json(c, t, now, 1);
    }
    if (!*out) {
        ctl_err(err, errlen, "out of memory");
        status = 500;
    }
    pthread_mutex_unlock(&c->mu);
    return status;
}

int ctl_drivers(struct ctl *c, cJSON **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->mu);
    *out = registry_to_json(c->reg, clock_wall_ms());
    pthread_mutex_unlock(&c->mu);
    if (!*out) {
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    return 200;
}

void ctl_sse_hello(struct ctl *c, struct sse_client *cl)
{
    pthread_mutex_lock(&c->mu);
    int64_t now = clock_wall_ms();
    cJSON *d = registry_to_json(c->reg, now);
    cJSON *t = c->active ? ctl_test_json(c, c->active, now, 1) : NULL;
    pthread_mutex_unlock(&c->mu);
    char *ds = ctl_print(d);
    char *ts = ctl_print(t);
    if (ds)
        sse_client_push(cl, "drivers", ds);
    if (ts)
        sse_client_push(cl, "test", ts);
    cJSON_free(ds);
    cJSON_free(ts);
    cJSON_Delete(d);
    cJSON_Delete(t);
}

/* Prometheus label values: escape backslash, quote and newline. Ids need
 * none of it, but keep the output valid whatever they hold. */
static void ctl_prom_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

int ctl_prometheus(struct ctl *c, char **text, char *err, size_t errlen)
{
    *text = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    pthread_mutex_lock(&c->mu);
    int64_t now = clock_wall_ms();
    int counts[LIVE_COUNT] = {0};
    int nd = registry_count(c->reg);
    for (int i = 0; i < nd; i++)
        counts[registry_judge(c->reg, registry_at(c->reg, i), now)]++;
    fputs("# HELP dlt_drivers Drivers known to the orchestrator, by liveness.\n"
          "# TYPE dlt_drivers gauge\n",
          f);
    for (int l = 0; l < LIVE_COUNT; l++)
        fprintf(f, "dlt_drivers{liveness=\"%s\"} %d\n", liveness_name((enum liveness)l), counts[l]);
    int64_t tc[TS_COUNT];
    char dberr[256];
    if (ostore_tests_count(c->db, tstate_names, TS_COUNT, tc, dberr, sizeof dberr) == 0) {
        fputs("# HELP dlt_tests Tests in the metrics store, by state.\n"
              "# TYPE dlt_tests gauge\n",
              f);
        for (int s = 0; s < TS_COUNT; s++)
            fprintf(f, "dlt_tests{state=\"%s\"} %lld\n", tstate_names[s], (long long)tc[s]);
    } else {
        ctl_db_error(c, "count tests", dberr);
    }
    struct test *t = c->active;
    fputs("# HELP dlt_test_active 1 while a test is CREATED, CONFIGURED or RUNNING.\n"
          "# TYPE dlt_test_active gauge\n",
          f);
    fprintf(f, "dlt_test_active %d\n", t ? 1 : 0);
    if (t) {
        struct agg_driver **ds = calloc((size_t)(t->n_parts ? t->n_parts : 1), sizeof *ds);
        struct agg_stats st;
        int approx = 0;
        for (int i = 0; ds && i < t->n_parts; i++)
            ds[i] = &t->parts[i].agg;
        agg_merge(ds, ds ? t->n_parts : 0, &c->s, &st, &approx);
        free(ds);
        const struct {
            const char *name, *help;
            double v;
        } g[] = {
            {"dlt_test_requests_sent", "Requests sent in the active test, all drivers.",
             (double)st.requests_sent},
            {"dlt_test_responses_received", "Responses received in the active test.",
             (double)st.responses_received},
            {"dlt_test_errors", "Failed requests in the active test.", (double)st.errors},
            {"dlt_test_rps", "Responses per second over the active test.", st.rps},
            {"dlt_test_participants", "Drivers taking part in the active test.",
             (double)t->n_parts},
        };
        for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
            fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s{test_id=\"", g[i].name, g[i].help,
                    g[i].name, g[i].name);
            ctl_prom_label(f, t->id);
            fprintf(f, "\",state=\"%s\"} %.17g\n", tstate_names[t->state], g[i].v);
        }
        fputs("# HELP dlt_test_latency_ms Latency quantiles of the active test, merged over "
              "all drivers (ms).\n# TYPE dlt_test_latency_ms gauge\n",
              f);
        const struct {
            const char *q;
            double v;
        } qs[] = {{"0", st.lat.min},    {"0.5", st.lat.median}, {"0.9", st.lat.p90},
                  {"0.95", st.lat.p95}, {"0.99", st.lat.p99},   {"0.999", st.lat.p999},
                  {"1", st.lat.max}};
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            fputs("dlt_test_latency_ms{test_id=\"", f);
            ctl_prom_label(f, t->id);
            fprintf(f, "\",quantile=\"%s\"} %.6g\n", qs[i].q, qs[i].v);
        }
        fputs("# HELP dlt_test_latency_mean_ms Mean latency of the active test (ms).\n"
              "# TYPE dlt_test_latency_mean_ms gauge\ndlt_test_latency_mean_ms{test_id=\"",
              f);
        ctl_prom_label(f, t->id);
        fprintf(f, "\"} %.6g\n", st.lat.mean);
    }
    fputs("# HELP dlt_kafka_messages_total Messages consumed, by topic.\n"
          "# TYPE dlt_kafka_messages_total counter\n",
          f);
    for (int i = 0; i < TP_OTHER; i++)
        fprintf(f, "dlt_kafka_messages_total{topic=\"%s\"} %lld\n", topic_names[i],
                (long long)c->msgs[i]);
    fputs("# HELP dlt_kafka_rejected_total Messages skipped because they failed validation.\n"
          "# TYPE dlt_kafka_rejected_total counter\n",
          f);
    for (int i = 0; i < TP_OTHER; i++)
        fprintf(f, "dlt_kafka_rejected_total{topic=\"%s\"} %lld\n", topic_names[i],
                (long long)c->rejected[i]);
    fprintf(f,
            "# HELP dlt_reports_duplicate_total Metrics reports seen before (by report_id).\n"
            "# TYPE dlt_reports_duplicate_total counter\ndlt_reports_duplicate_total %lld\n"
            "# HELP dlt_reports_stray_total Reports for no known test or from a non-participant.\n"
            "# TYPE dlt_reports_stray_total counter\ndlt_reports_stray_total %lld\n"
            "# HELP dlt_store_errors_total Metrics store operations that failed.\n"
            "# TYPE dlt_store_errors_total counter\ndlt_store_errors_total %lld\n"
            "# HELP dlt_kafka_delivery_failed_total Messages the orchestrator could not deliver.\n"
            "# TYPE dlt_kafka_delivery_failed_total counter\n"
            "dlt_kafka_delivery_failed_total %lld\n"
            "# HELP dlt_event_streams Open /api/events streams.\n"
            "# TYPE dlt_event_streams gauge\ndlt_event_streams %d\n"
            "# HELP dlt_registry_evicted_total Never-heartbeated drivers dropped to make room.\n"
            "# TYPE dlt_registry_evicted_total counter\ndlt_registry_evicted_total %lld\n",
            (long long)c->dup_reports, (long long)c->stray_reports, (long long)c->db_errors,
            (long long)bus_producer_failed(c->prod), sse_hub_clients(c->hub),
            (long long)registry_evicted(c->reg));
    pthread_mutex_unlock(&c->mu);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        ctl_err(err, errlen, "out of memory");
        return 500;
    }
    *text = buf;
    return 200;
}
