#define _POSIX_C_SOURCE 200809L
/* intake: the Kafka consumer thread (register, heartbeat, metrics), each
 * batch applied in one store transaction, its offsets committed only once
 * it is stored. */
#include "ctl_int.h"

#include "clock.h"
#include "log.h"
#include "topics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
    /* A participant that says, well after the config could be read (Kafka
     * acknowledged it), that it is not preparing this test, and does not
     * say that it reads test_config up to date (a slow one does), did not
     * read the config: waiting for it until the ready timeout would only
     * hide that. */
    int64_t deaf_ms = c->conf.ready_timeout_ms / 2 > 1000 ? c->conf.ready_timeout_ms / 2 : 1000;
    if (!ours && !p->ready && !p->lost && !p->refused && t->state == TS_CONFIGURED &&
        m.listening != MSG_LISTENING_YES && t->configured_ms > 0 && !t->config_ticket &&
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

/* The report's by_request figures, for the names the test has; the first
 * name it does not have is logged, once a test. */
static void ctl_apply_by_request(struct ctl *c, struct test *t, struct part *p,
                                 const struct msg_metrics *m)
{
    int strays = 0;
    char stray[MSG_REQ_NAME_MAX] = "", warn[256];
    if (agg_driver_apply_req(&p->agg, m, t->cfg.requests, t->cfg.n_requests, c->s.d, &strays, stray,
                             sizeof stray, warn, sizeof warn) < 0) {
        log_error("test %s: out of memory keeping the by_request figures of %s", t->id,
                  p->agg.node_id);
        return;
    }
    if (warn[0])
        log_warn("test %s: report %s from %s: %s; that request's latencies are left out", t->id,
                 m->report_id, m->node_id, warn);
    if (strays > 0 && t->stray_names == 0)
        log_warn("test %s: report %s from %s names request \"%s\", which the test does not "
                 "have; such names are left out",
                 t->id, m->report_id, m->node_id, stray);
    t->stray_names += strays;
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
    if (rc == 1)
        ctl_apply_by_request(c, t, p, &m);
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

void *ctl_consumer_main(void *arg)
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
