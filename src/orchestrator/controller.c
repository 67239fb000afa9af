#define _POSIX_C_SOURCE 200809L
/* controller: the shared helpers, the ticker thread, and the controller's
 * creation, start, stop and destruction. See controller.h. */
#include "ctl_int.h"

#include "clock.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tstate_names[TS_COUNT] = {"CREATED", "CONFIGURED", "RUNNING", "COMPLETED",
                                            "PARTIAL", "FAILED",     "ABORTED"};
const char *const topic_names[TP_COUNT] = {TOPIC_REGISTER, TOPIC_HEARTBEAT, TOPIC_METRICS, "other"};

__attribute__((format(printf, 3, 4))) int ctl_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return 0;
}

__attribute__((format(printf, 2, 3))) void ctl_reason(struct test *t, const char *fmt, ...)
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

int64_t ctl_interval_ms(const struct test *t)
{
    return t->cfg.report_interval_ms > 0 ? t->cfg.report_interval_ms : MSG_DEFAULT_REPORT_MS;
}

struct part *ctl_part(struct test *t, const char *node_id)
{
    for (int i = 0; i < t->n_parts; i++)
        if (strcmp(t->parts[i].agg.node_id, node_id) == 0)
            return &t->parts[i];
    return NULL;
}

/* Since when the orchestrator hears and keeps what it hears, or 0: nobody is
 * judged by a silence it could not hear (no partitions, Kafka silent) or
 * could not record (the store refusing writes). */
int64_t ctl_heard_since(const struct ctl *c)
{
    return c->store_refusing ? 0 : c->listening_since_ms;
}

void ctl_test_free(struct test *t)
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
void ctl_list_ids(char *buf, size_t len, const char *const *ids, int n)
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

/* Called by the ticker and the consumer with mu held, each time they run. */
void ctl_check_stall(struct ctl *c, int64_t now)
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

static void ctl_tick(struct ctl *c, int64_t now)
{
    registry_hearing(c->reg, ctl_heard_since(c), now);
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
