/* engine: sends one test's HTTP requests.
 *
 * Two back ends move the bytes. The native one (engine_native.c) is an
 * HTTP/1.1 client of its own on non-blocking sockets: keep-alive, the
 * request's bytes built once, and the response parser of http1.h. libcurl's
 * multi interface (engine_curl.c) does everything else: HTTPS, HTTP/2, and
 * URLs with credentials. ENGINE_AUTO picks the native one for every plain
 * http:// URL without credentials when HTTP/2 is not asked for.
 *
 * Each engine thread runs one event loop (epoll, a timerfd for the
 * schedule's due times, an eventfd to be woken for an abort) with its own
 * connections, so keep-alive connections are reused and no thread is ever
 * created per request. Thread k of n takes requests
 * i = k, k + n, ... of the test, so the combined schedule keeps its gaps.
 *
 * - Closed loop (unpaced, or AVALANCHE): up to `inflight` requests in
 *   flight; latency is timed from the send.
 * - Open loop (TSUNAMI): request i is due at start + i * gap whatever the
 *   responses do; latency is timed from the due time (coordinated omission
 *   corrected). A request held back by the in-flight bound goes out as soon
 *   as a slot frees, and counts as late when more than 1 ms past due.
 * Service time, from the actual send, is kept for every request.
 *
 * Results go into per-thread histograms and counters behind a per-thread
 * mutex taken once per batch of completions; engine_snapshot merges them. */
#ifndef DLT_DRIVER_ENGINE_H
#define DLT_DRIVER_ENGINE_H

#include "hist.h"
#include "plan.h"
#include "ramp.h"
#include "resolve.h"

#include <stddef.h>
#include <stdint.h>

#define ENGINE_THREADS_MAX 64
#define ENGINE_STATUS_MAX 1000 /* status codes 100..999 are counted */
/* The longest wait for the target's name to be looked up (native engine). */
#define ENGINE_RESOLVE_MS 30000

enum engine_kind { ENGINE_AUTO = 0, ENGINE_NATIVE, ENGINE_CURL };

/* ENGINE_AUTO, ENGINE_NATIVE or ENGINE_CURL from "auto", "native" or
 * "curl"; -1 for anything else. */
int engine_kind_parse(const char *s);

/* One request of a test's mix. Strings are copied by engine_create. */
struct engine_req {
    const char *name;
    const char *method;              /* "" or NULL: GET, or POST when a body is given */
    const char *url;                 /* NULL: the conf's url */
    const char *const *header_lines; /* "Name: value", sent after the conf's own */
    int n_headers;
    const char *body; /* NULL: none */
    size_t body_len;
    int64_t weight;    /* >= 1: picked weight / (sum of weights) of the sends */
    const int *status; /* the statuses that pass; n_status 0: 200..399 */
    int n_status;
    const char *body_contains; /* NULL: no such check */
    const char *json_path;     /* NULL: no such check; "a.b.0" */
    const char *json_equals;   /* the expected value as JSON text */
};

/* A request's figures in a mix. */
struct engine_req_stats {
    int64_t sent, responses, errors;
    int64_t checks_passed, checks_failed;
    int64_t failed_status, failed_body, failed_json;
};

/* What to run. Strings are copied by engine_create. */
struct engine_conf {
    const char *url;
    const char *method;              /* "" or NULL: GET, or POST when a body is given */
    const char *const *header_lines; /* "Name: value", n_headers of them */
    int n_headers;
    const char *body; /* NULL: none */
    size_t body_len;
    int64_t count;    /* requests to send; 0: no count (a duration or a ramp ends the run) */
    int64_t inflight; /* at most this many in flight */
    double gap_us;    /* 0: unpaced; else request i is due at start + i*gap */
    int open_loop;    /* 1: latency from the due time; 0: from the send */
    int64_t timeout_ms;
    int http2;
    int threads; /* engine threads; plan_threads decides how many are used */
    enum engine_kind kind;
    int64_t duration_us; /* 0: none; else nothing is sent at or after start + this */
    /* NULL: none. Else the fleet-wide level over time, which replaces gap_us
     * (open loop: requests/s) or inflight (closed loop: requests in flight,
     * inflight then being this driver's share of the peak). This driver is
     * number fleet_k of fleet_n and takes every fleet_n-th request or slot
     * of the fleet's, so that the fleet together follows the ramp. Without
     * a duration the run ends with the ramp. */
    const struct ramp *ramp;
    int fleet_n, fleet_k;
    /* NULL: one request (url, method, header_lines, body), sent as it is.
     * Else each send picks one of n_reqs by weight; their url, header
     * values and body are templates (tmpl.h; {{driver}} is fleet_k). */
    const struct engine_req *reqs;
    int n_reqs;
    /* A mix's data (its {{column}} values): n_data_rows rows of n_data_cols
     * values, row after row, with their lengths; the send numbered seq takes
     * row seq % n_data_rows. Not copied: kept by the caller until
     * engine_destroy. n_data_rows 0: none. */
    const char *const *data_cols;
    int n_data_cols;
    const char *const *data_cells;
    const size_t *data_lens;
    int64_t n_data_rows;
    /* NULL: the native engine looks its target up with getaddrinfo. Else
     * it asks this resolver (kept by the caller until engine_destroy),
     * which calls resolve_wait while a lookup is waited for, for up to
     * ENGINE_RESOLVE_MS. */
    struct resolver *resolver;
    struct resolve_wait resolve_wait;
};

/* Cumulative counters of a run. */
struct engine_stats {
    int64_t sent;
    int64_t completed; /* with a response or a failure */
    int64_t responses; /* with an HTTP status */
    int64_t kinds[PLAN_KINDS];
    int64_t status[ENGINE_STATUS_MAX]; /* by code; [0..99] unused */
    int64_t late;
    int64_t abandoned;                    /* in flight when the run was aborted */
    int64_t first_send_us;                /* monotonic; 0: nothing sent yet */
    int64_t last_done_us;                 /* monotonic time of the last completion; 0 none */
    int64_t bytes;                        /* response body bytes received */
    int last_error;                       /* CURLcode of the latest failed transfer (the native
                                             engine uses the same codes); 0 none */
    int64_t checks_passed, checks_failed; /* every check of every finished request */
};

struct engine;

/* Prepare a run: pick the back end, resolve the target (native), and make
 * each thread's epoll set, timers and connection state. Nothing is sent yet.
 * Returns 0, or -1 with err (then *out is NULL): ENGINE_NATIVE with a URL it
 * cannot serve is refused. */
int engine_create(const struct engine_conf *c, struct engine **out, char *err, size_t errlen);

/* Start the threads; the first request is due at start_mono_us
 * (clock_mono_us time base; may be in the future). Returns 0, or -1 with
 * err (threads already started are stopped). Call at most once. */
int engine_start(struct engine *e, int64_t start_mono_us, char *err, size_t errlen);

/* Ask every thread to stop: no new sends, requests in flight are abandoned.
 * Returns at once; engine_done tells when they have stopped. Thread-safe. */
void engine_abort(struct engine *e);

/* A thread that finds it was not running for over a second (the process
 * was frozen or starved) stops sending new requests until
 * engine_release: requests that fell far overdue are not fired in a burst
 * before the caller has checked whether the test was called off. Returns
 * the longest stall seen in microseconds while sends are held, else 0.
 * Thread-safe. */
int64_t engine_stalled(struct engine *e);

/* Let the threads send again after a stall. Thread-safe. */
void engine_release(struct engine *e);

/* 1 once every thread has finished (all requests done, or aborted), or
 * when the engine never started. */
int engine_done(struct engine *e);

/* "native" or "curl": the back end engine_create chose. */
const char *engine_name(const struct engine *e);

/* Threads the engine runs (after plan_threads). */
int engine_threads(const struct engine *e);

/* Requests sent so far; cheap, for heartbeats. */
int64_t engine_sent(struct engine *e);

/* Merge every thread's counters and histograms: *st, lat (latency) and svc
 * (service time) are overwritten. Holds each thread's lock only while
 * merging that thread. Can't fail. */
void engine_snapshot(struct engine *e, struct engine_stats *st, struct hist *lat, struct hist *svc);

/* keep_rate: from at_mono_us on, this driver is number fleet_k of fleet_n
 * drivers sharing the fleet's rate (a participant died). A request of the
 * old share due before then is still sent; from then on the driver takes
 * its new turn: every fleet_n-th request of the fleet's on a ramp, or a
 * gap fleet_n / conf.fleet_n times the test's (its per-driver rate scaled
 * so the fleet keeps its total). Open-loop paced runs only: returns 0, or -1
 * with err. Thread-safe. */
int engine_reshare(struct engine *e, int64_t at_mono_us, int fleet_n, int fleet_k, char *err,
                   size_t errlen);

/* Requests in the mix (conf.n_reqs; 0 without one), and the name of one. */
int engine_requests(const struct engine *e);
const char *engine_req_name(const struct engine *e, int i);

/* Merge request i's figures and latency histogram over every thread (*st
 * and lat overwritten). Can't fail. */
void engine_snapshot_req(struct engine *e, int i, struct engine_req_stats *st, struct hist *lat);

/* Abort if running, join the threads and free everything. Accepts NULL. */
void engine_destroy(struct engine *e);

#endif
