/* engine: the core shared by both back ends (see engine_int.h). */
#define _GNU_SOURCE
#include "engine.h"

#include "clock.h"
#include "engine_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define ENG_EVENTS 128
/* A thread back this much later than it asked to be did not run: the
 * process was frozen (SIGSTOP, a suspended VM) or starved. */
#define ENG_STALL_US 1000000LL
/* After a spin that found nothing, this many waits at most block at once. */
#define ENG_SPIN_PAUSE_MAX 64

int engine_kind_parse(const char *s)
{
    static const char *const names[] = {
        [ENGINE_AUTO] = "auto", [ENGINE_NATIVE] = "native", [ENGINE_CURL] = "curl"};
    for (int i = 0; s && i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int eng_epoll_set(struct eng_thread *t, int fd, uint32_t events, int known)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    int rc = epoll_ctl(t->epfd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    if (rc < 0 && errno == (known ? ENOENT : EEXIST))
        rc = epoll_ctl(t->epfd, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    return rc;
}

void eng_lock(struct eng_thread *t, int *locked)
{
    if (!*locked) {
        pthread_mutex_lock(&t->mu);
        *locked = 1;
    }
}

void eng_unlock(struct eng_thread *t, int *locked)
{
    if (*locked) {
        t->st.bytes += t->bytes;
        t->bytes = 0;
        pthread_mutex_unlock(&t->mu);
        *locked = 0;
    }
}

void eng_done(struct eng_thread *t, int code, long status, int64_t due, int64_t sent, int64_t now,
              int rq, const char *body, size_t body_len)
{
    struct engine_stats *st = &t->st;
    enum plan_kind kind = plan_classify(code, status);
    struct eng_rq *r = t->rq ? &t->rq[rq] : NULL;
    st->completed++;
    st->last_done_us = now;
    if (kind != PLAN_OK) {
        st->kinds[kind]++;
        if (r)
            r->st.errors++;
    }
    if (code != CURLE_OK)
        st->last_error = code;
    if (code == CURLE_OK && status > 0) {
        int64_t lat = now - (t->e->conf.open_loop ? due : sent);
        st->responses++;
        if (status >= 100 && status < ENGINE_STATUS_MAX)
            st->status[status]++;
        hist_record(t->lat, lat);
        hist_record(t->svc, now - sent);
        if (r) {
            r->st.responses++;
            hist_record(r->lat, lat);
        }
    }
    eng_mix_check(t, rq, code, status, body, body_len);
    t->inflight--;
}

/* ---- the loop --------------------------------------------------------------- */

/* 1 when requests are sent on a schedule (a gap, or an open-loop ramp). */
static int eng_paced(const struct engine *e)
{
    return e->conf.gap_us > 0 || (e->conf.ramp && e->conf.open_loop);
}

/* Due time of the thread's local request j on its current share; ENG_NEVER
 * when a ramp never gets there. */
static int64_t eng_seg_due(struct eng_thread *t, int64_t j)
{
    const struct engine *e = t->e;
    int64_t i = plan_index(t->k, e->n, j - t->seg_j0);
    if (e->conf.ramp && e->conf.open_loop) {
        if (t->due_j != j) {
            /* This driver takes every seg_n-th request of the fleet's. */
            int64_t f = t->seg_f0 + i * t->seg_n + t->seg_k;
            int64_t off = ramp_time_of(&e->ramp, (double)f);
            t->due_us = off == RAMP_NEVER ? ENG_NEVER : e->start_us + off;
            t->due_j = j;
        }
        return t->due_us;
    }
    return plan_due_us(t->seg_epoch ? t->seg_start_us : e->start_us, t->seg_gap_us, i);
}

/* Take up a reshare (engine_reshare) once the thread's next request on its
 * old share is due at or after the reshare's time. */
static void eng_seg_check(struct eng_thread *t)
{
    struct engine *e = t->e;
    if (atomic_load_explicit(&e->rs_epoch, memory_order_acquire) == t->seg_epoch)
        return;
    pthread_mutex_lock(&e->rs_mu);
    int epoch = atomic_load(&e->rs_epoch);
    int64_t at = e->rs_at_us;
    int n = e->rs_n, k = e->rs_k;
    pthread_mutex_unlock(&e->rs_mu);
    if (eng_seg_due(t, t->next_j) < at)
        return;
    t->seg_epoch = epoch;
    t->seg_j0 = t->next_j;
    t->seg_start_us = at;
    t->seg_n = n;
    t->seg_k = k;
    t->seg_gap_us = e->conf.gap_us * (double)n / (double)e->conf.fleet_n;
    if (e->conf.ramp)
        t->seg_f0 = (int64_t)ceil(ramp_area(&e->ramp, at - e->start_us) - 1e-9);
    t->due_j = -1;
}

/* Due time of this thread's next request: on its schedule when paced, else
 * the start; ENG_NEVER when the thread has sent its count, or the next due
 * time is at or past the end of the run. An unpaced thread's end is judged
 * against the clock (eng_exhausted). */
static int64_t eng_next_due(struct eng_thread *t)
{
    const struct engine *e = t->e;
    if (t->next_j >= t->count)
        return ENG_NEVER;
    if (!eng_paced(e))
        return e->start_us;
    eng_seg_check(t);
    int64_t due = eng_seg_due(t, t->next_j);
    return due < e->end_us ? due : ENG_NEVER;
}

/* 1 when the thread will send nothing more: it has sent its count, or the
 * run has an end (a duration, a ramp) and that has come. A run with an end
 * lasts until then even when nothing more falls due before it. */
static int eng_exhausted(struct eng_thread *t, int64_t now)
{
    if (t->next_j >= t->count)
        return 1;
    return t->e->end_us != ENG_NEVER && now >= t->e->end_us;
}

/* Fleet slot of this thread's c-th in-flight place (0-based) on a
 * closed-loop ramp: the thread takes every n-th of its driver's places, and
 * the driver every fleet_n-th of the fleet's. */
static int64_t eng_slot(const struct eng_thread *t, int64_t c)
{
    const struct engine *e = t->e;
    return (c * e->n + t->k) * e->conf.fleet_n + e->conf.fleet_k;
}

/* Requests this thread may have in flight at now. */
static int64_t eng_cap(const struct eng_thread *t, int64_t now)
{
    const struct engine *e = t->e;
    if (!e->conf.ramp || e->conf.open_loop)
        return t->inflight_max;
    /* The fleet's level, in whole places (a hair of slack for rounding). */
    double lvl = floor(ramp_level(&e->ramp, now - e->start_us) + 1e-9);
    int64_t first = eng_slot(t, 0);
    if (lvl <= (double)first)
        return 0;
    double per = (double)e->n * e->conf.fleet_n;
    double c = floor((lvl - 1 - (double)first) / per) + 1;
    return c < (double)t->inflight_max ? (int64_t)c : t->inflight_max;
}

/* When this thread may next have one more in flight than cap, or ENG_NEVER. */
static int64_t eng_cap_rise(const struct eng_thread *t, int64_t cap, int64_t now)
{
    const struct engine *e = t->e;
    if (!e->conf.ramp || e->conf.open_loop || cap >= t->inflight_max)
        return ENG_NEVER;
    int64_t at = ramp_reach(&e->ramp, now - e->start_us, (double)eng_slot(t, cap) + 1);
    return at == RAMP_NEVER ? ENG_NEVER : e->start_us + at;
}

int64_t eng_clock(struct eng_thread *t, int64_t by)
{
    int64_t now = clock_mono_us();
    if (by >= 0 && now - by > ENG_STALL_US) {
        struct engine *e = t->e;
        atomic_store(&e->hold, 1);
        int64_t was = atomic_load(&e->stalled_us);
        if (now - by > was)
            atomic_store(&e->stalled_us, now - by);
    }
    t->now_us = now;
    return now;
}

/* Send every request that is due and has a place. */
static void eng_fill(struct eng_thread *t, int64_t now)
{
    int64_t nsent = 0, late = 0;
    if (atomic_load_explicit(&t->e->hold, memory_order_relaxed))
        return;
    int paced = eng_paced(t->e);
    int64_t cap = eng_cap(t, now);
    while (t->inflight < cap) {
        int64_t due = eng_next_due(t);
        if (due > now)
            break; /* ENG_NEVER included */
        if (!paced) {
            if (now >= t->e->end_us)
                break;
            due = now;
        }
        t->inflight++;
        t->cur = eng_mix_pick(t);
        t->cur_seq = plan_index(t->k, t->e->n, t->next_j);
        if (t->rq) {
            pthread_mutex_lock(&t->mu);
            t->rq[t->cur].st.sent++;
            pthread_mutex_unlock(&t->mu);
        }
        int rc = t->e->be->send(t, due, now);
        t->next_j++;
        nsent++;
        if (now - due > PLAN_LATE_US)
            late++;
        if (rc < 0) {
            /* Not made (no slot, no memory): a failed request of kind other. */
            pthread_mutex_lock(&t->mu);
            eng_done(t, CURLE_SEND_ERROR, 0, due, now, now, t->cur, NULL, 0);
            pthread_mutex_unlock(&t->mu);
        }
    }
    if (nsent == 0)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->st.first_send_us == 0)
        t->st.first_send_us = now;
    t->st.sent += nsent;
    t->st.late += late;
    pthread_mutex_unlock(&t->mu);
    atomic_store_explicit(&t->sent, t->st.sent, memory_order_relaxed);
}

static void eng_arm(struct eng_thread *t, int64_t at_us)
{
    if (t->armed_us == at_us)
        return;
    struct itimerspec its = {0};
    its.it_value.tv_sec = at_us / 1000000;
    its.it_value.tv_nsec = (at_us % 1000000) * 1000;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* all zero would disarm it */
    timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    t->armed_us = at_us;
}

/* Wait for events for up to timeout ms (epoll_wait's). A thread that
 * blocks in epoll_wait is woken by the answer that arrives: on a server on
 * the same machine, the server's process pays for that wake-up (the
 * scheduler's work, an interrupt to the driver's idle CPU, at times the
 * driver put on the server's CPU, where it takes the server's place). So,
 * with a back end that asks for it (spin_us) and answers awaited, the set
 * is polled without blocking for up to spin_us first. A spin that found
 * nothing makes the next 1, 2, 4 ... ENG_SPIN_PAUSE_MAX waits block at
 * once: a thread whose answers come far apart (a server across a network)
 * mostly blocks, and spends little on spinning. */
static int eng_wait(struct eng_thread *t, struct epoll_event *evs, int timeout)
{
    int spin_us = t->e->be->spin_us;
    if (spin_us > 0 && timeout != 0 && t->inflight > 0) {
        if (t->spin_skip > 0) {
            t->spin_skip--;
        } else {
            int64_t until = clock_mono_us() + spin_us;
            do {
                int n = epoll_wait(t->epfd, evs, ENG_EVENTS, 0);
                if (n != 0) {
                    if (n > 0)
                        t->spin_miss = 0;
                    return n;
                }
            } while (clock_mono_us() < until);
            t->spin_miss = t->spin_miss ? t->spin_miss * 2 : 1;
            if (t->spin_miss > ENG_SPIN_PAUSE_MAX)
                t->spin_miss = ENG_SPIN_PAUSE_MAX;
            t->spin_skip = t->spin_miss;
        }
    }
    return epoll_wait(t->epfd, evs, ENG_EVENTS, timeout);
}

static void *eng_main(void *arg)
{
    struct eng_thread *t = arg;
    struct engine *e = t->e;
    const struct eng_backend *be = e->be;
    struct epoll_event evs[ENG_EVENTS];
    int64_t now = t->now_us = clock_mono_us();
    for (;;) {
        be->progress(t, now);
        if (atomic_load_explicit(&e->abort, memory_order_relaxed))
            break;
        eng_fill(t, now);
        if (be->after_fill && be->after_fill(t, &now))
            continue;
        if (t->inflight == 0 && eng_exhausted(t, now))
            break;
        int timeout = -1;
        int64_t dl = be->deadline(t);
        if (dl >= 0) {
            int64_t d = dl - now;
            timeout = d <= 0 ? 0 : (int)((d + 999) / 1000);
        }
        int held = atomic_load_explicit(&e->hold, memory_order_relaxed);
        if (!held && !eng_exhausted(t, now)) {
            /* Wake for the next due request, for another place on a ramp,
             * or at the end of the run. */
            int64_t cap = eng_cap(t, now);
            int64_t at = t->inflight < cap ? eng_next_due(t) : eng_cap_rise(t, cap, now);
            if (at == ENG_NEVER)
                at = t->e->end_us;
            if (at <= now)
                timeout = 0;
            else if (at != ENG_NEVER)
                eng_arm(t, at);
        }
        int64_t by = timeout >= 0 ? now + (int64_t)timeout * 1000 : -1;
        if (t->armed_us >= 0 && !held && (by < 0 || t->armed_us < by))
            by = t->armed_us > now ? t->armed_us : now;
        int n = eng_wait(t, evs, timeout);
        /* Responses are timed from here, when their bytes became readable. */
        now = eng_clock(t, by);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == t->tfd || fd == t->efd) {
                uint64_t v;
                ssize_t rd = read(fd, &v, sizeof v);
                (void)rd;
                if (fd == t->tfd)
                    t->armed_us = -1;
                continue;
            }
            be->event(t, fd, evs[i].events, now);
        }
    }
    /* Aborted: give up on what is still in flight. */
    int64_t abandoned = be->abandon(t);
    t->inflight = 0;
    pthread_mutex_lock(&t->mu);
    t->st.abandoned += abandoned;
    t->st.bytes += t->bytes;
    t->bytes = 0;
    pthread_mutex_unlock(&t->mu);
    atomic_store_explicit(&t->finished, 1, memory_order_release);
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static char *eng_strdup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int eng_thread_init(struct engine *e, struct eng_thread *t, int k, char *err, size_t errlen)
{
    const struct engine_conf *c = &e->conf;
    t->e = e;
    t->k = k;
    t->epfd = t->tfd = t->efd = -1;
    t->armed_us = -1;
    t->count = c->count > 0 ? plan_share(c->count, e->n, k) : ENG_NEVER;
    t->due_j = -1;
    t->seg_gap_us = c->gap_us;
    t->seg_n = c->fleet_n > 0 ? c->fleet_n : 1;
    t->seg_k = c->fleet_k;
    t->inflight_max = plan_share(c->inflight, e->n, k);
    atomic_init(&t->sent, 0);
    atomic_init(&t->finished, 0);
    pthread_mutex_init(&t->mu, NULL);
    if (hist_create(&t->lat) || hist_create(&t->svc)) {
        snprintf(err, errlen, "out of memory for the histograms");
        return -1;
    }
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->epfd < 0 || t->tfd < 0 || t->efd < 0 || eng_epoll_set(t, t->tfd, EPOLLIN, 0) < 0 ||
        eng_epoll_set(t, t->efd, EPOLLIN, 0) < 0) {
        snprintf(err, errlen, "engine thread %d: epoll/timerfd/eventfd: %s", k, strerror(errno));
        return -1;
    }
    if (eng_mix_thread_init(t, err, errlen) < 0)
        return -1;
    return e->be->init(t, err, errlen);
}

static void eng_thread_free(struct engine *e, struct eng_thread *t)
{
    e->be->free(t);
    if (t->epfd >= 0)
        close(t->epfd);
    if (t->tfd >= 0)
        close(t->tfd);
    if (t->efd >= 0)
        close(t->efd);
    hist_destroy(t->lat);
    hist_destroy(t->svc);
    eng_mix_thread_free(t);
    pthread_mutex_destroy(&t->mu);
}

/* The scheme and authority of url: its length up to the path. */
static size_t eng_origin_len(const char *url)
{
    const char *a = strstr(url, "://");
    if (!a)
        return strlen(url);
    a += 3;
    return (size_t)(a - url) + strcspn(a, "/?#");
}

/* 1 when every request of the mix goes where the conf's url goes. */
static int eng_one_origin(const struct engine_conf *c)
{
    size_t n = eng_origin_len(c->url);
    for (int i = 0; c->reqs && i < c->n_reqs; i++) {
        const char *u = c->reqs[i].url;
        if (u && (eng_origin_len(u) != n || strncasecmp(u, c->url, n) != 0))
            return 0;
    }
    return 1;
}

/* The back end for c, or NULL with err. */
static const struct eng_backend *eng_pick(const struct engine_conf *c, char *err, size_t errlen)
{
    if (c->kind == ENGINE_CURL)
        return &eng_curl;
    CURLU *u = curl_url();
    char *scheme = NULL, *user = NULL;
    const char *why = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
        why = "the URL does not parse";
    else if (strcasecmp(scheme, "http") != 0)
        why = "it speaks plain http:// only";
    else if (c->http2)
        why = "it speaks HTTP/1.1 only";
    else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        why = "it sends no credentials from the URL";
    else if (!eng_one_origin(c))
        why = "its requests go to one scheme, host and port only";
    curl_free(scheme);
    curl_free(user);
    curl_url_cleanup(u);
    if (!why)
        return &eng_native;
    if (c->kind == ENGINE_AUTO)
        return &eng_curl;
    snprintf(err, errlen, "the native engine cannot run this test: %s (use the curl engine)", why);
    return NULL;
}

int engine_create(const struct engine_conf *c, struct engine **out, char *err, size_t errlen)
{
    *out = NULL;
    int ends = c->duration_us > 0 || c->ramp;
    if (!c->url || c->count < 0 || (c->count == 0 && !ends) || c->inflight < 1 ||
        c->timeout_ms < 1 || c->gap_us < 0 || c->duration_us < 0 || c->n_headers < 0 ||
        (c->n_headers > 0 && !c->header_lines) ||
        (c->ramp && (c->fleet_n < 1 || c->fleet_k < 0 || c->fleet_k >= c->fleet_n))) {
        snprintf(err, errlen, "engine: incomplete configuration");
        return -1;
    }
    const struct eng_backend *be = eng_pick(c, err, errlen);
    if (!be)
        return -1;
    struct engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->conf = *c;
    e->be = be;
    if (c->ramp) {
        e->ramp = *c->ramp;
        e->conf.ramp = &e->ramp;
    }
    const char *m = c->method && *c->method ? c->method : c->body ? "POST" : "GET";
    e->url = strdup(c->url);
    e->method = strdup(m);
    if (c->body)
        e->body = eng_strdup(c->body, c->body_len);
    int oom = !e->url || !e->method || (c->body && !e->body);
    if (!oom && c->n_headers > 0) {
        e->headers = calloc((size_t)c->n_headers, sizeof *e->headers);
        oom = !e->headers;
        for (int i = 0; !oom && i < c->n_headers; i++)
            oom = !(e->headers[i] = strdup(c->header_lines[i]));
    }
    e->conf.url = e->url;
    e->conf.method = e->method;
    e->conf.body = e->body;
    e->conf.header_lines = (const char *const *)e->headers;
    atomic_init(&e->abort, 0);
    atomic_init(&e->hold, 0);
    atomic_init(&e->rs_epoch, 0);
    pthread_mutex_init(&e->rs_mu, NULL);
    atomic_init(&e->stalled_us, 0);
    if (oom) {
        snprintf(err, errlen, "out of memory");
        engine_destroy(e);
        return -1;
    }
    if (eng_mix_init(e, err, errlen) < 0) {
        engine_destroy(e);
        return -1;
    }
    int threads = c->threads > ENGINE_THREADS_MAX ? ENGINE_THREADS_MAX : c->threads;
    e->n = plan_threads(threads, c->count, c->inflight);
    e->th = calloc((size_t)e->n, sizeof *e->th);
    if (!e->th) {
        snprintf(err, errlen, "out of memory");
        engine_destroy(e);
        return -1;
    }
    for (int k = 0; k < e->n; k++) {
        if (eng_thread_init(e, &e->th[k], k, err, errlen) < 0) {
            e->n = k + 1; /* free what was set up, this one included */
            engine_destroy(e);
            return -1;
        }
    }
    *out = e;
    return 0;
}

int engine_start(struct engine *e, int64_t start_mono_us, char *err, size_t errlen)
{
    if (e->started) {
        snprintf(err, errlen, "engine already started");
        return -1;
    }
    e->started = 1;
    e->start_us = start_mono_us;
    int64_t len = e->conf.duration_us > 0 ? e->conf.duration_us
                  : e->conf.ramp          ? ramp_end_us(&e->ramp)
                                          : 0;
    e->end_us = len > 0 ? start_mono_us + len : ENG_NEVER;
    for (int k = 0; k < e->n; k++) {
        int rc = pthread_create(&e->th[k].tid, NULL, eng_main, &e->th[k]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start engine thread %d: %s", k, strerror(rc));
            engine_abort(e);
            for (int j = 0; j < k; j++) {
                pthread_join(e->th[j].tid, NULL);
                e->th[j].created = 0;
            }
            /* Threads that never ran count as finished. */
            for (int j = 0; j < e->n; j++)
                atomic_store(&e->th[j].finished, 1);
            return -1;
        }
        e->th[k].created = 1;
    }
    return 0;
}

int64_t engine_stalled(struct engine *e)
{
    if (!e || !atomic_load(&e->hold))
        return 0;
    int64_t us = atomic_load(&e->stalled_us);
    return us > 0 ? us : 1;
}

static void eng_wake_all(struct engine *e)
{
    for (int k = 0; k < e->n; k++) {
        uint64_t one = 1;
        ssize_t w = write(e->th[k].efd, &one, sizeof one);
        (void)w;
    }
}

void engine_release(struct engine *e)
{
    if (!e)
        return;
    atomic_store(&e->stalled_us, 0);
    atomic_store(&e->hold, 0);
    eng_wake_all(e);
}

void engine_abort(struct engine *e)
{
    if (!e)
        return;
    atomic_store(&e->abort, 1);
    eng_wake_all(e);
}

int engine_done(struct engine *e)
{
    if (!e->started)
        return 1;
    for (int k = 0; k < e->n; k++)
        if (!atomic_load_explicit(&e->th[k].finished, memory_order_acquire))
            return 0;
    return 1;
}

const char *engine_name(const struct engine *e)
{
    return e->be->name;
}

int engine_threads(const struct engine *e)
{
    return e->n;
}

int64_t engine_sent(struct engine *e)
{
    int64_t n = 0;
    for (int k = 0; k < e->n; k++)
        n += atomic_load_explicit(&e->th[k].sent, memory_order_relaxed);
    return n;
}

void engine_snapshot(struct engine *e, struct engine_stats *st, struct hist *lat, struct hist *svc)
{
    memset(st, 0, sizeof *st);
    hist_reset(lat);
    hist_reset(svc);
    for (int k = 0; k < e->n; k++) {
        struct eng_thread *t = &e->th[k];
        pthread_mutex_lock(&t->mu);
        const struct engine_stats *s = &t->st;
        st->sent += s->sent;
        st->completed += s->completed;
        st->responses += s->responses;
        for (int i = 0; i < PLAN_KINDS; i++)
            st->kinds[i] += s->kinds[i];
        for (int i = 100; i < ENGINE_STATUS_MAX; i++)
            st->status[i] += s->status[i];
        st->late += s->late;
        st->abandoned += s->abandoned;
        st->bytes += s->bytes;
        if (s->first_send_us && (!st->first_send_us || s->first_send_us < st->first_send_us))
            st->first_send_us = s->first_send_us;
        if (s->last_error)
            st->last_error = s->last_error;
        if (s->last_done_us > st->last_done_us)
            st->last_done_us = s->last_done_us;
        st->checks_passed += s->checks_passed;
        st->checks_failed += s->checks_failed;
        hist_merge(lat, t->lat);
        hist_merge(svc, t->svc);
        pthread_mutex_unlock(&t->mu);
    }
}

int engine_reshare(struct engine *e, int64_t at_mono_us, int fleet_n, int fleet_k, char *err,
                   size_t errlen)
{
    if (!eng_paced(e) || !e->conf.open_loop) {
        snprintf(err, errlen, "only an open-loop test with a rate can have its share changed");
        return -1;
    }
    if (fleet_n < 1 || fleet_k < 0 || fleet_k >= fleet_n || e->conf.fleet_n < 1) {
        snprintf(err, errlen, "driver %d of %d is not a share", fleet_k, fleet_n);
        return -1;
    }
    pthread_mutex_lock(&e->rs_mu);
    e->rs_at_us = at_mono_us;
    e->rs_n = fleet_n;
    e->rs_k = fleet_k;
    atomic_fetch_add(&e->rs_epoch, 1);
    pthread_mutex_unlock(&e->rs_mu);
    eng_wake_all(e);
    return 0;
}

int engine_requests(const struct engine *e)
{
    return e && e->mix ? e->n_reqs : 0;
}

const char *engine_req_name(const struct engine *e, int i)
{
    return e && i >= 0 && i < e->n_reqs ? e->reqs[i].name : "";
}

void engine_snapshot_req(struct engine *e, int i, struct engine_req_stats *st, struct hist *lat)
{
    memset(st, 0, sizeof *st);
    hist_reset(lat);
    if (!e->mix || i < 0 || i >= e->n_reqs)
        return;
    for (int k = 0; k < e->n; k++) {
        struct eng_thread *t = &e->th[k];
        pthread_mutex_lock(&t->mu);
        const struct engine_req_stats *s = &t->rq[i].st;
        st->sent += s->sent;
        st->responses += s->responses;
        st->errors += s->errors;
        st->checks_passed += s->checks_passed;
        st->checks_failed += s->checks_failed;
        st->failed_status += s->failed_status;
        st->failed_body += s->failed_body;
        st->failed_json += s->failed_json;
        hist_merge(lat, t->rq[i].lat);
        pthread_mutex_unlock(&t->mu);
    }
}

void engine_destroy(struct engine *e)
{
    if (!e)
        return;
    if (e->th) {
        engine_abort(e);
        for (int k = 0; k < e->n; k++)
            if (e->th[k].created)
                pthread_join(e->th[k].tid, NULL);
        for (int k = 0; k < e->n; k++)
            eng_thread_free(e, &e->th[k]);
        free(e->th);
    }
    for (int i = 0; e->headers && i < e->conf.n_headers; i++)
        free(e->headers[i]);
    free(e->headers);
    free(e->url);
    free(e->method);
    free(e->body);
    eng_mix_free(e);
    pthread_mutex_destroy(&e->rs_mu);
    free(e);
}
