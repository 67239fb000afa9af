#define _POSIX_C_SOURCE 200809L
/* lifecycle: the test state machine (CREATED -> CONFIGURED -> RUNNING ->
 * COMPLETED | PARTIAL | FAILED | ABORTED), the participants' liveness, the
 * triggers, and the REST calls that start and stop a test. */
#include "ctl_int.h"

#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* A run with a duration or stages lasts that long at most, and then
     * waits for what is in flight. */
    double len_s = t->cfg.duration_s;
    if (len_s <= 0)
        for (int i = 0; i < t->cfg.n_stages; i++)
            len_s += t->cfg.stages[i].duration_s;
    int64_t run = len_s > 0 ? (int64_t)(len_s * 1000.0) + timeout
                            : t->cfg.message_count_per_driver * (gap + timeout);
    return base + run + grace_ms;
}

enum liveness ctl_part_liveness(struct ctl *c, const struct test *t, const struct part *p,
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

void ctl_finish(struct ctl *c, struct test *t, enum tstate state, int64_t now)
{
    t->ending = 1;
    if (t->state == TS_RUNNING)
        ctl_agg_flush(c, t);
    if (t->verdict.n > 0) {
        int64_t at = t->start_at_ms > 0 && now > t->start_at_ms ? now - t->start_at_ms : 0;
        ctl_judge(c, t, at, 1);
    }
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

/* Send the test's data rows on test_data: split, each participant its
 * slice; shared, one copy for all. The rows are then dropped (the shape
 * stays): the drivers hold them. Returns 0, or -1 with the reason. */
static int ctl_send_data(struct ctl *c, struct test *t, char *err, size_t errlen)
{
    struct msg_data *d = &t->cfg.data;
    if (!d->cells) {
        snprintf(err, errlen,
                 "the test's data rows were not kept over a restart of the orchestrator; "
                 "create the test again");
        return -1;
    }
    int n = t->n_parts, split = d->mode == DATA_SPLIT;
    if (split && d->n_rows < n) {
        snprintf(err, errlen,
                 "the data's %lld row(s) cannot be split among %d drivers: each needs one at "
                 "least (or give \"mode\": \"shared\")",
                 (long long)d->n_rows, n);
        return -1;
    }
    int64_t chunks = 0;
    for (int i = 0; i < (split ? n : 1); i++) {
        int64_t first = 0, count = d->n_rows;
        if (split)
            data_slice(d->n_rows, n, i, &first, &count);
        int nm = 0;
        char **msgs =
            data_chunks_encode(d, t->id, split ? t->parts[i].agg.node_id : NULL, first, count, &nm);
        if (!msgs) {
            snprintf(err, errlen, "out of memory encoding the data");
            return -1;
        }
        int rc = 0;
        for (int k = 0; k < nm; k++) {
            char e2[256];
            if (rc == 0 && bus_produce(c->prod, TOPIC_TEST_DATA, t->id, msgs[k], strlen(msgs[k]),
                                       e2, sizeof e2) < 0) {
                snprintf(err, errlen, "cannot send the test's data: %.200s", e2);
                rc = -1;
            }
            free(msgs[k]);
        }
        free(msgs);
        if (rc < 0)
            return -1;
        chunks += nm;
    }
    log_info("test %s: %lld data row(s), %s, sent in %lld chunk(s)", t->id, (long long)d->n_rows,
             data_mode_name(d->mode), (long long)chunks);
    data_drop_rows(d);
    return 0;
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
    if (!payload || bus_produce_tracked(c->prod, TOPIC_TEST_CONFIG, t->id, payload, strlen(payload),
                                        &t->config_ticket, err, sizeof err) < 0) {
        free(payload);
        ctl_reason(t, "cannot send test_config: %s", err);
        ctl_finish(c, t, TS_FAILED, now);
        return;
    }
    free(payload);
    if (t->cfg.data.mode != DATA_NONE && ctl_send_data(c, t, err, sizeof err) < 0) {
        ctl_reason(t, "%s", err);
        if (ctl_send_trigger(c, t, 1, 0, err, sizeof err) < 0)
            log_error("test %s: cannot send trigger ABORT: %s", t->id, err);
        ctl_finish(c, t, TS_FAILED, now);
        return;
    }
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

/* keep_rate: a participant died; the survivors (alive, still running) share
 * the fleet's rate from now on. Sent on the trigger topic only: the original
 * programs read test_trigger, and know no RESHARE. */
static void ctl_reshare(struct ctl *c, struct test *t, const struct part *dead, int64_t now)
{
    struct msg_trigger tr;
    memset(&tr, 0, sizeof tr);
    snprintf(tr.test_id, sizeof tr.test_id, "%s", t->id);
    tr.reshare = 1;
    tr.at_ms = now;
    tr.drivers = calloc((size_t)(t->n_parts ? t->n_parts : 1), ID_MAX);
    if (!tr.drivers) {
        log_error("test %s: out of memory for a RESHARE", t->id);
        return;
    }
    for (int i = 0; i < t->n_parts; i++) {
        const struct part *p = &t->parts[i];
        if (!p->dead && !p->lost && !p->refused && !p->agg.final && !p->original)
            snprintf(tr.drivers[tr.n_drivers++], ID_MAX, "%s", p->agg.node_id);
    }
    char err[256] = "";
    char *payload = tr.n_drivers > 0 ? msg_trigger_encode(&tr) : NULL;
    int rc = payload ? bus_produce(c->prod, TOPIC_TRIGGER, t->id, payload, strlen(payload), err,
                                   sizeof err)
                     : -1;
    if (rc == 0) {
        t->reshares++;
        double at_s = t->start_at_ms > 0 && now > t->start_at_ms
                          ? (double)(now - t->start_at_ms) / 1000.0
                          : 0;
        ctl_reason(t, "keep_rate: the %d surviving driver(s) took over the share of %s from %.1f s",
                   tr.n_drivers, dead->agg.node_id, at_s);
        log_info("test %s: keep_rate: %d driver(s) share the rate from now", t->id, tr.n_drivers);
    } else if (tr.n_drivers > 0) {
        log_error("test %s: the RESHARE could not be sent: %s", t->id,
                  payload ? err : "out of memory");
    }
    free(payload);
    msg_trigger_free(&tr);
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
            if (t->cfg.keep_rate && t->state == TS_RUNNING)
                ctl_reshare(c, t, p, now);
            ctl_publish_test(c, t, now);
            continue;
        }
        /* A driver that says it no longer runs the test has its final
         * report on the way (on metrics, which Kafka does not order with
         * heartbeat): it is given the heartbeat timeout of time heard, so a
         * rejoin of the orchestrator's consumer group does not eat it. */
        int64_t heard = ctl_heard_since(c);
        int64_t from = p->not_running_since_ms > heard ? p->not_running_since_ms : heard;
        if (t->state == TS_RUNNING && !p->lost && p->not_running_since_ms > 0 && heard > 0 &&
            now - from >= c->conf.hb_timeout_ms) {
            p->lost = 1;
            ctl_reason(t, "driver %s stopped running the test without a final report",
                       p->agg.node_id);
            log_warn("test %s: driver %s is not running it", t->id, p->agg.node_id);
            ctl_publish_test(c, t, now);
        }
    }
}

/* The ready wait counts from the moment Kafka acknowledged test_config:
 * no driver can read it before. That takes long when a replica of its
 * partition is in sync but does not answer (a frozen broker, or one just
 * started), until the controller fences it (broker.session.timeout.ms, 9 s
 * by default) or the leader drops it (replica.lag.time.max.ms, 30 s).
 * Returns 1 while the config is on its way (the test waits, at most
 * CTL_CONFIG_ACK_MS), 0 once it is known delivered, -1 when the test was
 * ended for it. */
static int ctl_config_on_its_way(struct ctl *c, struct test *t, int64_t now)
{
    if (!t->config_ticket)
        return 0;
    int64_t at = 0;
    enum bus_delivery d = bus_delivery(c->prod, t->config_ticket, &at);
    int64_t bound =
        c->conf.ready_timeout_ms > CTL_CONFIG_ACK_MS ? c->conf.ready_timeout_ms : CTL_CONFIG_ACK_MS;
    if (d == BUS_PENDING && now - t->configured_ms < bound) {
        t->deadline_ms = now + c->conf.ready_timeout_ms;
        return 1;
    }
    t->config_ticket = 0;
    if (d == BUS_DELIVERED || d == BUS_UNKNOWN) {
        if (d == BUS_DELIVERED && at - t->configured_ms >= 1000)
            log_warn("test %s: Kafka acknowledged its test_config %.1f s after it was sent (a "
                     "replica of the partition in sync but not answering); the ready wait "
                     "counts from then",
                     t->id, (double)(at - t->configured_ms) / 1000.0);
        if (d == BUS_DELIVERED && at > t->configured_ms) {
            t->deadline_ms = at + c->conf.ready_timeout_ms;
            t->configured_ms = at; /* the drivers could read it from then */
        }
        return 0;
    }
    if (d == BUS_PENDING)
        ctl_reason(t, "Kafka did not acknowledge test_config within %.0fs", (double)bound / 1e3);
    else
        ctl_reason(t, "test_config could not be delivered to Kafka");
    /* Drivers may still get the config later: they must find the test
     * over. */
    char err[256];
    if (ctl_send_trigger(c, t, 1, 0, err, sizeof err) < 0)
        log_error("test %s: cannot send trigger ABORT: %s", t->id, err);
    ctl_finish(c, t, TS_FAILED, now);
    return -1;
}

static void ctl_step_configured(struct ctl *c, struct test *t, int64_t now)
{
    if (ctl_config_on_its_way(c, t, now))
        return;
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
 * with a failure (aborted, shutting down) or short of its count. A run
 * with a duration or stages may end before its count. */
static int ctl_part_cut_short(const struct test *t, const struct part *p)
{
    int64_t want =
        t->cfg.duration_s > 0 || t->cfg.n_stages > 0 ? 0 : t->cfg.message_count_per_driver;
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
void ctl_step(struct ctl *c, int64_t now)
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

int ctl_test_create(struct ctl *c, const struct msg_test_config *cfg, int64_t min_drivers,
                    const struct verdict *v, cJSON **out, char *err, size_t errlen)
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
    if (v)
        t->verdict = *v;
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
    if (t->verdict.n > 0)
        log_info("test %s: %d threshold(s)%s", t->id, t->verdict.n,
                 t->verdict.abort_on_fail ? ", abort_on_fail" : "");
    ctl_publish_test(c, t, now);
    ctl_step(c, now);
out:
    pthread_mutex_unlock(&c->mu);
    return status;
}

/* Stop the whole fleet of a RUNNING test (trigger ABORT); the test ends
 * ABORTED once every participant sent its final report, or after the
 * heartbeat timeout (at least two report intervals). The caller has set
 * the reason. */
void ctl_stop_running(struct ctl *c, struct test *t, int64_t now)
{
    if (t->stopping || t->state != TS_RUNNING)
        return;
    char kerr[256];
    if (ctl_send_trigger(c, t, 1, 0, kerr, sizeof kerr) < 0)
        log_error("test %s: cannot send trigger ABORT: %s", t->id, kerr);
    t->stopping = 1;
    int64_t wait = c->conf.hb_timeout_ms;
    if (wait < 2 * ctl_interval_ms(t))
        wait = 2 * ctl_interval_ms(t);
    t->deadline_ms = now + wait;
    ctl_persist(c, t, now);
    ctl_publish_test(c, t, now);
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
        log_info("test %s: stop requested", t->id);
        if (t->state == TS_RUNNING) {
            ctl_reason(t, "stopped on request");
            ctl_stop_running(c, t, now);
            *out = ctl_test_json(c, t, now, 1);
        } else {
            char kerr[256];
            if (t->state != TS_CREATED && ctl_send_trigger(c, t, 1, 0, kerr, sizeof kerr) < 0)
                log_error("test %s: cannot send trigger ABORT: %s", t->id, kerr);
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
