/* ctl_int.h: what the controller's modules share (controller.c, lifecycle.c,
 * intake.c, timeline.c, persist.c, views.c, prometheus.c). Not for use
 * outside src/orchestrator/controller*. Every function here is called with
 * the controller's mutex held. */
#ifndef ORCH_CTL_INT_H
#define ORCH_CTL_INT_H

#include "controller.h"

#include "aggregate.h"
#include "ids.h"
#include "liveness.h"
#include "registry.h"
#include "series.h"
#include "verdict.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define CTL_BATCH 64      /* Kafka records stored per transaction */
#define CTL_RETRY_MS 1000 /* pause before a batch the store refused is read again */
#define CTL_TICK_MS 100   /* ticker period */
/* Longest wait for Kafka to acknowledge a test_config (or the ready
 * timeout, when longer): beyond a controller's fencing of a silent broker
 * (9 s) and a leader's dropping of a silent replica (30 s; 41 s was seen
 * on a loaded machine). */
#define CTL_CONFIG_ACK_MS 120000
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

extern const char *const tstate_names[TS_COUNT];

enum topic_ix { TP_REGISTER = 0, TP_HEARTBEAT, TP_METRICS, TP_OTHER, TP_COUNT };
extern const char *const topic_names[TP_COUNT];

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
    int64_t configured_ms;  /* when test_config was sent, then when Kafka
                             * acknowledged it; 0 not yet */
    uint64_t config_ticket; /* its delivery, until Kafka has acknowledged it */
    int64_t deadline_ms;    /* of the current wait */
    int stopping;
    int ending; /* ctl_finish is ending it: no more stops */
    /* Its thresholds and their latest judgement on the fleet-wide
     * aggregate: at each aggregate point, and at the end. */
    struct verdict verdict;
    int judge_due;       /* a point was made since the latest judgement */
    int64_t judge_at_ms; /* the end of that point's interval, since the start */
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
    int reshares; /* keep_rate: times the rate was shared anew among survivors */
    int64_t stray_names; /* by_request names not among cfg.requests, left out */
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

/* ---- controller.c ---- */

__attribute__((format(printf, 3, 4))) int ctl_err(char *err, size_t errlen, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void ctl_reason(struct test *t, const char *fmt, ...);
int64_t ctl_interval_ms(const struct test *t);
struct part *ctl_part(struct test *t, const char *node_id);
int64_t ctl_heard_since(const struct ctl *c);
void ctl_test_free(struct test *t);
void ctl_list_ids(char *buf, size_t len, const char *const *ids, int n);
void ctl_check_stall(struct ctl *c, int64_t now);

/* ---- lifecycle.c ---- */

enum liveness ctl_part_liveness(struct ctl *c, const struct test *t, const struct part *p,
                                int64_t now);
void ctl_finish(struct ctl *c, struct test *t, enum tstate state, int64_t now);
void ctl_stop_running(struct ctl *c, struct test *t, int64_t now);
void ctl_step(struct ctl *c, int64_t now);

/* ---- timeline.c ---- */

void ctl_agg_snapshot(struct test *t, struct series_snap *snap);
void ctl_agg_add(struct ctl *c, struct test *t, struct part *p, const struct msg_metrics *m,
                 const struct series_snap *before, const struct series_snap *after,
                 const struct hist *window, int64_t now);
void ctl_agg_advance(struct ctl *c, struct test *t, int64_t now);
void ctl_agg_flush(struct ctl *c, struct test *t);
void ctl_judge(struct ctl *c, struct test *t, int64_t at_ms, int final);

/* ---- intake.c ---- */

void *ctl_consumer_main(void *arg);

/* ---- persist.c ---- */

void ctl_db_error(struct ctl *c, const char *what, const char *err);
void ctl_persist(struct ctl *c, struct test *t, int64_t now);
void ctl_store_point(struct ctl *c, struct test *t, const char *node_id, int64_t idx,
                     const struct series_point *p);
void ctl_save_driver(struct ctl *c, struct reg_driver *d);
void ctl_save_drivers(struct ctl *c);
void ctl_restore_driver(void *ctx, const struct reg_driver *d);
void ctl_reload_test(struct ctl *c, const char *id, int64_t now);
int ctl_restore_tests(struct ctl *c, int64_t now, char *err, size_t errlen);

/* ---- views.c ---- */

cJSON *ctl_per_driver_json(struct ctl *c, struct test *t, int64_t now);
cJSON *ctl_test_json(struct ctl *c, struct test *t, int64_t now, int per_driver);
char *ctl_print(cJSON *o);
void ctl_publish_test(struct ctl *c, struct test *t, int64_t now);
void ctl_publish_drivers(struct ctl *c, int64_t now);
void ctl_publish_point(struct ctl *c, const char *test_id, const char *node_id,
                       const struct series_point *p);

#endif
