/* engine_int: what the engine's two back ends share with its core.
 *
 * engine.c holds the core: the threads, the schedule (which request is due
 * when, the in-flight bound, the stall hold), the counters and histograms,
 * and the event loop around epoll. A back end moves the bytes:
 * engine_curl.c through libcurl's multi interface, engine_native.c with its
 * own HTTP/1.1 client on plain sockets. The core calls a back end through
 * struct eng_backend; the back end reports every finished request with
 * eng_done, between eng_lock and eng_unlock. */
#ifndef DLT_DRIVER_ENGINE_INT_H
#define DLT_DRIVER_ENGINE_INT_H

#include "engine.h"
#include "tmpl.h"

#include <cjson/cJSON.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct eng_thread;

struct eng_backend {
    const char *name; /* "curl" or "native", as reported */
    /* Set up t->be for thread t (the core has made its epoll set, timers
     * and counters). Returns 0, or -1 with err. */
    int (*init)(struct eng_thread *t, char *err, size_t errlen);
    /* Start request number t->next_j, due at due, at time now. Returns 0
     * when it is in flight, 1 when it already finished (and was reported
     * with eng_done), -1 when it could not be made (the core counts it as
     * a failed request of kind "other"). */
    int (*send)(struct eng_thread *t, int64_t due, int64_t now);
    /* Called at the top of every loop turn: run timers, report what has
     * finished. */
    void (*progress)(struct eng_thread *t, int64_t now);
    /* Called after the sends of a turn; may advance *now. Returns 1 to go
     * round the loop again at once. NULL: nothing to do. */
    int (*after_fill)(struct eng_thread *t, int64_t *now);
    /* The back end's next deadline (monotonic µs), or -1. */
    int64_t (*deadline)(struct eng_thread *t);
    /* An epoll event on a socket of the back end's. */
    void (*event)(struct eng_thread *t, int fd, uint32_t events, int64_t now);
    /* Aborted: drop every request in flight; returns how many there were. */
    int64_t (*abandon)(struct eng_thread *t);
    /* Free t->be; it may be partly set up. */
    void (*free)(struct eng_thread *t);
    /* Before a wait that would block while answers are awaited, poll the
     * epoll set for up to this many µs (see eng_wait); 0: never. */
    int spin_us;
};

extern const struct eng_backend eng_curl;
extern const struct eng_backend eng_native;

/* Checks see at most this much of a body. */
#define ENG_CHECK_BODY_MAX (64 * 1024)

/* A request of the mix, as the engine keeps it (engine_mix.c). Without a
 * mix the test's one request is the only one, sent as given. */
struct eng_req {
    char *name;
    char *method;
    char *url;
    char **headers; /* n_headers full lines: the test's own, then the request's */
    int n_headers;
    char *body; /* NULL: none */
    size_t body_len;
    int64_t cum;   /* sum of the weights up to and with this one */
    int templated; /* url, header values and body are templates */
    int head;      /* the method is HEAD: the answer has no body */
    struct tmpl t_url, t_body;
    struct tmpl *t_headers; /* n_headers, for templated requests */
    int *status;            /* n_status; none: 200..399 */
    int n_status;
    char *body_contains, *json_path;
    cJSON *json_equals;
    int capture; /* a check reads the body */
};

/* One request's figures in one thread, under the thread's lock. */
struct eng_rq {
    struct engine_req_stats st;
    struct hist *lat;
};

struct eng_thread {
    struct engine *e;
    int k;
    pthread_t tid;
    int created;
    int epfd, tfd, efd;
    int64_t count, inflight_max, inflight;
    int64_t next_j;   /* local index of the next request to send */
    int64_t due_j;    /* the request due_us was worked out for; -1 none */
    int64_t due_us;   /* its due time on a ramp */
    int64_t armed_us; /* what the timerfd is set to; -1 none */
    int64_t bytes;    /* body bytes since the last publish */
    int64_t now_us;   /* the loop's latest clock reading */
    int spin_skip;    /* waits left to block at once, after a spin that found nothing */
    int spin_miss;    /* the last such pause; 0 after a spin that found events */
    atomic_llong sent;
    atomic_int finished;
    pthread_mutex_t mu; /* guards st, lat and svc */
    struct engine_stats st;
    struct hist *lat, *svc;
    void *be;          /* the back end's state */
    uint64_t rng;      /* for the mix and the templates */
    int cur;           /* the request the send in progress is of */
    int64_t cur_seq;   /* its number in the driver, for {{seq}} */
    struct eng_rq *rq; /* e->n_reqs, with a mix; NULL without */
    /* The share of the fleet's schedule this thread follows (keep_rate may
     * change it): from local request seg_j0 on, counted from seg_start_us. */
    int seg_epoch; /* the reshare applied; 0: the test's own share */
    int64_t seg_j0, seg_start_us, seg_f0;
    double seg_gap_us;
    int seg_n, seg_k;
};

struct engine {
    struct engine_conf conf; /* pointers below are owned copies */
    const struct eng_backend *be;
    char *url;
    char *method;
    char *body;
    char **headers; /* conf.n_headers copies */
    int n;
    struct eng_thread *th;
    atomic_int abort;
    atomic_int hold;         /* 1: send nothing new (see engine_stalled) */
    atomic_llong stalled_us; /* the longest stall seen while holding */
    int started;
    int64_t start_us;
    int64_t end_us;       /* nothing is sent at or after this; ENG_NEVER: no end */
    struct eng_req *reqs; /* n_reqs (1 without a mix) */
    int n_reqs;
    int mix; /* the conf gave a mix: figures are kept per request */
    /* The latest reshare (engine_reshare), under rs_mu; rs_epoch counts them. */
    pthread_mutex_t rs_mu;
    atomic_int rs_epoch;
    int64_t rs_at_us;
    int rs_n, rs_k;
    struct ramp ramp; /* conf.ramp points here when there is one */
};

#define ENG_NEVER INT64_MAX

/* Read the clock into t->now_us. A reading more than a second past by (when
 * the loop expected to be back at the latest; -1: no bound) means the
 * thread was not running: hold new sends, so that requests made overdue by
 * the stall are not fired in a burst before the node has looked for an
 * ABORT. */
int64_t eng_clock(struct eng_thread *t, int64_t by);

/* Add fd to the thread's epoll set, or change its events when known. */
int eng_epoll_set(struct eng_thread *t, int fd, uint32_t events, int known);

/* Take the thread's stats lock unless *locked; a back end reports a batch
 * of finished requests under one lock. */
void eng_lock(struct eng_thread *t, int *locked);

/* Release it if *locked, publishing the body bytes counted meanwhile. */
void eng_unlock(struct eng_thread *t, int *locked);

/* Report a finished request, under eng_lock: code is a CURLcode (the
 * native back end uses the same codes), status the HTTP status (0: none).
 * With a response, latency runs from due (open loop) or from sent, and
 * service time from sent. Frees one in-flight place. */
void eng_done(struct eng_thread *t, int code, long status, int64_t due, int64_t sent, int64_t now,
              int rq, const char *body, size_t body_len);

/* ---- engine_mix.c ---- */

/* Build e->reqs from the conf (a mix, or the one request). Returns 0, or
 * -1 with err. */
int eng_mix_init(struct engine *e, char *err, size_t errlen);
void eng_mix_free(struct engine *e);
/* Per-thread state of the mix. */
int eng_mix_thread_init(struct eng_thread *t, char *err, size_t errlen);
void eng_mix_thread_free(struct eng_thread *t);
/* The request the next send is of (by weight). */
int eng_mix_pick(struct eng_thread *t);
/* Append the expansion of template x for the send in progress to b.
 * Returns 0, or -1 when out of memory. */
int eng_mix_expand(struct eng_thread *t, const struct tmpl *x, struct tbuf *b);
/* Run request rq's checks on a finished request; count them in t (under
 * its lock). */
void eng_mix_check(struct eng_thread *t, int rq, int code, long status, const char *body,
                   size_t body_len);

#endif
