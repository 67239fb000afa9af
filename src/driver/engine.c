#define _GNU_SOURCE
#include "engine.h"

#include "clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define ENG_EVENTS 128
/* Receive buffer per easy handle (libcurl allocates 16 KiB by default):
 * small responses fit, and 1,000 connections stay within a few MB. */
#define ENG_RECV_BUFFER 4096L
/* HTTP/1.1 connections per connection cache. To reuse a connection,
 * libcurl 7.88 walks the cache's list for its host from the start, past
 * every connection in use: about 35 instructions per connection per
 * request, 9,000 of a request's 60,000 at 256 connections. Slots are
 * spread over caches of this size (share objects, one per group of
 * slots), which keeps that walk short. */
#define ENG_SHARD_CONNS 16
/* A thread back this much later than it asked to be did not run: the
 * process was frozen (SIGSTOP, a suspended VM) or starved. */
#define ENG_STALL_US 1000000LL

struct eng_thread;

/* One slot: an easy handle, reused for request after request. */
struct eng_req {
    CURL *easy;
    struct eng_thread *t;
    int64_t due_us;
    int64_t queued_us; /* handed to libcurl */
    int64_t sent_us;   /* libcurl about to send it (eng_prereq_cb) */
    int busy;
    struct eng_req *next_free;
};

struct eng_thread {
    struct engine *e;
    int k;
    pthread_t tid;
    int created;
    CURLM *multi;
    CURLU *url;      /* the target, parsed once: libcurl copies it per transfer */
    CURLSH **shares; /* n_shares connection caches; none: the multi's own */
    int n_shares;
    int epfd, tfd, efd;
    struct eng_fd *fds; /* by socket number; n_fds entries */
    size_t n_fds;
    struct eng_req *reqs; /* inflight_max slots */
    struct eng_req *free_list;
    int64_t n_made; /* slots with an easy handle so far */
    int64_t count, inflight_max, inflight;
    int64_t next_j;           /* local index of the next request to send */
    int64_t curl_deadline_us; /* -1: libcurl wants no timeout */
    int64_t armed_us;         /* what the timerfd is set to; -1 none */
    int64_t bytes;            /* body bytes since the last publish */
    int64_t now_us;           /* the loop's latest clock reading */
    atomic_llong sent;
    atomic_int finished;
    pthread_mutex_t mu; /* guards st, lat and svc */
    struct engine_stats st;
    struct hist *lat, *svc;
};

struct engine {
    struct engine_conf conf; /* pointers below are owned copies */
    char *url;
    char *method;
    char *body;
    struct curl_slist *headers;
    int n;
    struct eng_thread *th;
    atomic_int abort;
    atomic_int hold;         /* 1: send nothing new (see engine_stalled) */
    atomic_llong stalled_us; /* the longest stall seen while holding */
    int started;
    int64_t start_us;
};

/* ---- libcurl callbacks -------------------------------------------------- */

/* Count the body and drop it: memory stays bounded whatever the target sends. */
static size_t eng_write(char *ptr, size_t size, size_t nmemb, void *userp)
{
    (void)ptr;
    struct eng_thread *t = userp;
    size_t n = size * nmemb;
    t->bytes += (int64_t)n;
    return n;
}

static int eng_epoll_set(struct eng_thread *t, int fd, uint32_t events, int known)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    int rc = epoll_ctl(t->epfd, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
    if (rc < 0 && errno == (known ? ENOENT : EEXIST))
        rc = epoll_ctl(t->epfd, known ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
    return rc;
}

/* What the epoll set holds for one of libcurl's sockets. A keep-alive
 * connection stays registered for input between its transfers: libcurl
 * drops a socket from its set when a transfer ends and wants it back when
 * the next one starts on the same connection, and two epoll_ctl calls per
 * request cost more than the rare wake-up of an idle connection. */
struct eng_fd {
    uint32_t events; /* registered with epoll; 0: not in the set */
    uint8_t wanted;  /* libcurl is waiting on it */
};

/* The entry of fd, growing the table as needed; NULL when out of memory. */
static struct eng_fd *eng_fd_get(struct eng_thread *t, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= t->n_fds) {
        size_t n = t->n_fds ? t->n_fds : 256;
        while (n <= (size_t)fd)
            n *= 2;
        struct eng_fd *p = realloc(t->fds, n * sizeof *p);
        if (!p)
            return NULL;
        memset(p + t->n_fds, 0, (n - t->n_fds) * sizeof *p);
        t->fds = p;
        t->n_fds = n;
    }
    return &t->fds[fd];
}

/* libcurl's socket callback: keep the epoll set in line with what it waits
 * for, without a system call when nothing changes. */
static int eng_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    struct eng_thread *t = userp;
    struct eng_fd *f = eng_fd_get(t, s);
    uint32_t ev = 0;
    if (what & CURL_POLL_IN)
        ev |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev |= EPOLLOUT;
    if (what == CURL_POLL_REMOVE) {
        if (!f) {
            epoll_ctl(t->epfd, EPOLL_CTL_DEL, s, NULL);
            return 0;
        }
        f->wanted = 0;
        /* An idle socket stays registered for input only: one registered
         * for output would wake the loop at once, being always writable. */
        if (f->events & ~(uint32_t)EPOLLIN) {
            epoll_ctl(t->epfd, EPOLL_CTL_DEL, s, NULL);
            f->events = 0;
        }
        return 0;
    }
    if (!f) {
        eng_epoll_set(t, s, ev, 0);
        return 0;
    }
    f->wanted = 1;
    if (f->events != ev && eng_epoll_set(t, s, ev, f->events != 0) == 0)
        f->events = ev;
    return 0;
}

/* libcurl's open-socket callback. A new socket may reuse the number of one
 * closed while still registered (closing removed it from the epoll set),
 * so its entry starts empty. */
static curl_socket_t eng_open_cb(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct eng_thread *t = userp;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    struct eng_fd *f = eng_fd_get(t, fd);
    if (f)
        memset(f, 0, sizeof *f);
    return fd;
}

/* An event on a socket libcurl is not waiting on: an idle keep-alive
 * connection that the server closed (or that got stray bytes). Take it out
 * of the set, or level-triggered epoll reports it again and again; libcurl
 * finds it dead when it next tries to reuse it. Returns 1 when so. */
static int eng_fd_idle(struct eng_thread *t, int fd)
{
    if (fd < 0 || (size_t)fd >= t->n_fds || t->fds[fd].wanted || !t->fds[fd].events)
        return 0;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
    t->fds[fd].events = 0;
    return 1;
}

static int eng_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct eng_thread *t = userp;
    /* 0 means "at once": make it due whatever the caller's idea of now.
     * Other timeouts count from the loop's last clock reading, at most one
     * loop turn old: libcurl copes with being woken a little early. */
    if (timeout_ms < 0)
        t->curl_deadline_us = -1;
    else if (timeout_ms == 0)
        t->curl_deadline_us = 0;
    else
        t->curl_deadline_us = t->now_us + (int64_t)timeout_ms * 1000;
    return 0;
}

/* Called by libcurl right before it sends a request, once its connection
 * is there. The loop's clock is read once per batch of events, and
 * libcurl sends a batch's requests only after handling all its responses:
 * timing a request from the loop's reading would count that handling
 * (0.5 ms for 50 responses) as the server's time. */
static int eng_prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                         int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    struct eng_req *r = clientp;
    r->sent_us = clock_mono_us();
    return CURL_PREREQFUNC_OK;
}

/* ---- slots ------------------------------------------------------------------ */

static int eng_easy_setup(struct eng_thread *t, struct eng_req *r)
{
    struct engine *e = t->e;
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    const char *m = e->method;
    /* A parsed URL handle spares libcurl parsing the URL string and printing
     * it back for every transfer (about a sixth of its instructions for a
     * small GET on a reused connection). */
    int ok = curl_easy_setopt(h, CURLOPT_CURLU, t->url) == CURLE_OK;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* No proxy, and no look-up of the proxy variables in the environment
     * (libcurl reads no_proxy and NO_PROXY for every transfer otherwise). */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, eng_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_PRIVATE, r);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, eng_prereq_cb);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, r);
    if (t->n_shares > 0)
        curl_easy_setopt(h, CURLOPT_SHARE, t->shares[(r - t->reqs) % t->n_shares]);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, eng_open_cb);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)e->conf.timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    /* Keep resolved names for the whole test: libcurl otherwise sweeps its
     * DNS cache at the end of every transfer. Keep-alive connections are
     * not re-resolved anyway, and an engine lives for one test. */
    curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
    if (e->headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->headers);
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        if (e->body || strcmp(m, "POST") == 0) {
            /* The body stays owned by the engine; libcurl only points at it. */
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, e->body ? e->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)e->conf.body_len);
        }
        if (strcmp(m, "POST") != 0 && (e->body || strcmp(m, "GET") != 0))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
    if (e->conf.http2) {
        int tls = strncasecmp(e->url, "https://", 8) == 0;
        curl_easy_setopt(
            h, CURLOPT_HTTP_VERSION,
            (long)(tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        /* Not for HTTP/2: libcurl 7.88 needs room for a whole frame there. */
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, ENG_RECV_BUFFER);
    }
    if (!ok) {
        curl_easy_cleanup(h);
        return -1;
    }
    r->easy = h;
    r->t = t;
    return 0;
}

/* A free slot with an easy handle, or NULL (all busy, or no memory). */
static struct eng_req *eng_slot_get(struct eng_thread *t)
{
    struct eng_req *r = t->free_list;
    if (r) {
        t->free_list = r->next_free;
        return r;
    }
    if (t->n_made >= t->inflight_max)
        return NULL;
    r = &t->reqs[t->n_made];
    if (eng_easy_setup(t, r) < 0)
        return NULL;
    t->n_made++;
    return r;
}

static void eng_slot_put(struct eng_thread *t, struct eng_req *r)
{
    r->busy = 0;
    r->next_free = t->free_list;
    t->free_list = r;
}

/* ---- the loop --------------------------------------------------------------- */

/* Record the requests libcurl has finished, at time now. Returns how many. */
static int eng_collect(struct eng_thread *t, int64_t now)
{
    int done = 0;
    int open_loop = t->e->conf.open_loop;
    int locked = 0;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(t->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode res = m->data.result;
        char *priv = NULL;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        struct eng_req *r = (struct eng_req *)(void *)priv;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(t->multi, easy);
        if (!locked) {
            pthread_mutex_lock(&t->mu);
            locked = 1;
        }
        struct engine_stats *st = &t->st;
        enum plan_kind kind = plan_classify((int)res, status);
        st->completed++;
        st->last_done_us = now;
        if (kind != PLAN_OK)
            st->kinds[kind]++;
        if (res != CURLE_OK)
            st->last_error = (int)res;
        if (res == CURLE_OK && status > 0) {
            st->responses++;
            if (status >= 100 && status < ENGINE_STATUS_MAX)
                st->status[status]++;
            /* From the send; a request that had to open its connection
             * is timed from when it was handed over, connecting included. */
            long conns = 0;
            curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &conns);
            int64_t sent = conns > 0 || r->sent_us < r->queued_us ? r->queued_us : r->sent_us;
            hist_record(t->lat, now - (open_loop ? r->due_us : sent));
            hist_record(t->svc, now - sent);
        }
        t->inflight--;
        done++;
        if (r)
            eng_slot_put(t, r);
    }
    if (locked) {
        t->st.bytes += t->bytes;
        t->bytes = 0;
        pthread_mutex_unlock(&t->mu);
    }
    return done;
}

/* Next due time of this thread's schedule (paced), or the start (unpaced). */
static int64_t eng_next_due(const struct eng_thread *t)
{
    const struct engine *e = t->e;
    if (e->conf.gap_us > 0)
        return plan_due_us(e->start_us, e->conf.gap_us, plan_index(t->k, e->n, t->next_j));
    return e->start_us;
}

/* Read the clock. A reading more than ENG_STALL_US past by (when the loop
 * expected to be back at the latest; -1: no bound) means the thread was
 * not running: hold new sends, so that requests made overdue by the stall
 * are not fired in a burst before the node has looked for an ABORT. */
static int64_t eng_clock(struct eng_thread *t, int64_t by)
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

/* Send every request that is due and has a slot. */
static void eng_fill(struct eng_thread *t, int64_t now)
{
    int64_t nsent = 0, late = 0, failed = 0;
    if (atomic_load_explicit(&t->e->hold, memory_order_relaxed))
        return;
    int paced = t->e->conf.gap_us > 0;
    while (t->next_j < t->count && t->inflight < t->inflight_max) {
        int64_t due = eng_next_due(t);
        if (due > now)
            break;
        if (!paced)
            due = now;
        struct eng_req *r = eng_slot_get(t);
        t->next_j++;
        nsent++;
        if (now - due > PLAN_LATE_US)
            late++;
        if (!r) {
            failed++; /* no easy handle: counted as a failed request */
            continue;
        }
        r->due_us = due;
        r->queued_us = now;
        r->sent_us = now;
        if (curl_multi_add_handle(t->multi, r->easy) != CURLM_OK) {
            eng_slot_put(t, r);
            failed++;
            continue;
        }
        r->busy = 1;
        t->inflight++;
    }
    if (nsent == 0)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->st.first_send_us == 0)
        t->st.first_send_us = now;
    t->st.sent += nsent;
    t->st.late += late;
    if (failed) {
        t->st.kinds[PLAN_ERR_OTHER] += failed;
        t->st.completed += failed;
        t->st.last_done_us = now;
    }
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

/* Run libcurl's timers when due. Returns 1 when it ran them. */
static int eng_kick(struct eng_thread *t, int64_t now)
{
    if (t->curl_deadline_us >= 0 && now >= t->curl_deadline_us) {
        int running = 0;
        t->curl_deadline_us = -1;
        curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        return 1;
    }
    return 0;
}

static void *eng_main(void *arg)
{
    struct eng_thread *t = arg;
    struct engine *e = t->e;
    struct epoll_event evs[ENG_EVENTS];
    int64_t now = t->now_us = clock_mono_us();
    for (;;) {
        eng_kick(t, now);
        eng_collect(t, now);
        if (atomic_load_explicit(&e->abort, memory_order_relaxed))
            break;
        eng_fill(t, now);
        /* Start what was just added now rather than one more loop later. On
         * loopback a response may even be complete by the time this returns:
         * collect it before waiting. */
        if (eng_kick(t, now)) {
            now = eng_clock(t, now);
            if (eng_collect(t, now) > 0)
                continue;
        }
        if (t->next_j >= t->count && t->inflight == 0)
            break;
        int timeout = -1;
        if (t->curl_deadline_us >= 0) {
            int64_t d = t->curl_deadline_us - now;
            timeout = d <= 0 ? 0 : (int)((d + 999) / 1000);
        }
        int held = atomic_load_explicit(&e->hold, memory_order_relaxed);
        if (t->next_j < t->count && t->inflight < t->inflight_max && !held) {
            int64_t due = eng_next_due(t);
            if (due > now)
                eng_arm(t, due);
            else
                timeout = 0;
        }
        int64_t by = timeout >= 0 ? now + (int64_t)timeout * 1000 : -1;
        if (t->armed_us >= 0 && !held && (by < 0 || t->armed_us < by))
            by = t->armed_us > now ? t->armed_us : now;
        int n = epoll_wait(t->epfd, evs, ENG_EVENTS, timeout);
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
            if (eng_fd_idle(t, fd))
                continue;
            int flags = 0;
            if (evs[i].events & EPOLLIN)
                flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (evs[i].events & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
            int running = 0;
            curl_multi_socket_action(t->multi, fd, flags, &running);
        }
    }
    /* Aborted: give up on what is still in flight. */
    int64_t abandoned = 0;
    for (int64_t i = 0; i < t->n_made; i++) {
        struct eng_req *r = &t->reqs[i];
        if (r->busy) {
            curl_multi_remove_handle(t->multi, r->easy);
            eng_slot_put(t, r);
            abandoned++;
        }
    }
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
    t->curl_deadline_us = -1;
    t->armed_us = -1;
    t->count = plan_share(c->count, e->n, k);
    t->inflight_max = plan_share(c->inflight, e->n, k);
    atomic_init(&t->sent, 0);
    atomic_init(&t->finished, 0);
    pthread_mutex_init(&t->mu, NULL);
    t->reqs = calloc((size_t)t->inflight_max, sizeof *t->reqs);
    if (!t->reqs || hist_create(&t->lat) || hist_create(&t->svc)) {
        snprintf(err, errlen, "out of memory for %lld request slots", (long long)t->inflight_max);
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
    t->url = curl_url();
    if (!t->url || curl_url_set(t->url, CURLUPART_URL, e->url, 0) != CURLUE_OK) {
        snprintf(err, errlen, "engine thread %d: cannot parse the URL", k);
        return -1;
    }
    /* HTTP/2 keeps one cache: it multiplexes requests over few connections,
     * and more caches would open more of them. */
    if (!c->http2 && t->inflight_max > ENG_SHARD_CONNS) {
        int n = (int)((t->inflight_max + ENG_SHARD_CONNS - 1) / ENG_SHARD_CONNS);
        t->shares = calloc((size_t)n, sizeof *t->shares);
        if (!t->shares) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (; t->n_shares < n; t->n_shares++) {
            CURLSH *sh = curl_share_init();
            if (!sh ||
                curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
                curl_share_cleanup(sh);
                snprintf(err, errlen, "engine thread %d: cannot create a connection cache", k);
                return -1;
            }
            /* Used by this thread only: no lock functions needed. */
            t->shares[t->n_shares] = sh;
        }
    }
    t->multi = curl_multi_init();
    if (!t->multi) {
        snprintf(err, errlen, "engine thread %d: curl_multi_init failed", k);
        return -1;
    }
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, eng_socket_cb);
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, eng_timer_cb);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
    /* Below the number of concurrent handles, connections get re-opened. */
    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, (long)(t->inflight_max + 4));
    return 0;
}

static void eng_thread_free(struct eng_thread *t)
{
    for (int64_t i = 0; i < t->n_made; i++) {
        if (t->reqs[i].busy && t->multi)
            curl_multi_remove_handle(t->multi, t->reqs[i].easy);
        curl_easy_cleanup(t->reqs[i].easy);
    }
    /* Once no easy handle uses them; this closes their connections. */
    for (int i = 0; i < t->n_shares; i++)
        curl_share_cleanup(t->shares[i]);
    free(t->shares);
    if (t->multi)
        curl_multi_cleanup(t->multi);
    curl_url_cleanup(t->url); /* after the easy handles that point at it */
    if (t->epfd >= 0)
        close(t->epfd);
    if (t->tfd >= 0)
        close(t->tfd);
    if (t->efd >= 0)
        close(t->efd);
    free(t->reqs);
    free(t->fds);
    hist_destroy(t->lat);
    hist_destroy(t->svc);
    pthread_mutex_destroy(&t->mu);
}

int engine_create(const struct engine_conf *c, struct engine **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!c->url || c->count < 1 || c->inflight < 1 || c->timeout_ms < 1 || c->gap_us < 0) {
        snprintf(err, errlen, "engine: incomplete configuration");
        return -1;
    }
    struct engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->conf = *c;
    const char *m = c->method && *c->method ? c->method : c->body ? "POST" : "GET";
    e->url = strdup(c->url);
    e->method = strdup(m);
    if (c->body)
        e->body = eng_strdup(c->body, c->body_len);
    int oom = !e->url || !e->method || (c->body && !e->body);
    int has_expect = 0;
    for (int i = 0; !oom && i < c->n_headers; i++) {
        struct curl_slist *nl = curl_slist_append(e->headers, c->header_lines[i]);
        if (!nl)
            oom = 1;
        else
            e->headers = nl;
        if (strncasecmp(c->header_lines[i], "Expect:", 7) == 0)
            has_expect = 1;
    }
    /* libcurl would wait for "100 Continue" before sending a body over 1 KiB. */
    if (!oom && e->body && !has_expect) {
        struct curl_slist *nl = curl_slist_append(e->headers, "Expect:");
        if (!nl)
            oom = 1;
        else
            e->headers = nl;
    }
    e->conf.url = e->url;
    e->conf.method = e->method;
    e->conf.body = e->body;
    e->conf.header_lines = NULL;
    e->conf.n_headers = 0;
    atomic_init(&e->abort, 0);
    atomic_init(&e->hold, 0);
    atomic_init(&e->stalled_us, 0);
    if (oom) {
        snprintf(err, errlen, "out of memory");
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

void engine_release(struct engine *e)
{
    if (!e)
        return;
    atomic_store(&e->stalled_us, 0);
    atomic_store(&e->hold, 0);
    for (int k = 0; k < e->n; k++) {
        uint64_t one = 1;
        ssize_t w = write(e->th[k].efd, &one, sizeof one);
        (void)w;
    }
}

void engine_abort(struct engine *e)
{
    if (!e)
        return;
    atomic_store(&e->abort, 1);
    for (int k = 0; k < e->n; k++) {
        uint64_t one = 1;
        ssize_t w = write(e->th[k].efd, &one, sizeof one);
        (void)w;
    }
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
        hist_merge(lat, t->lat);
        hist_merge(svc, t->svc);
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
            eng_thread_free(&e->th[k]);
        free(e->th);
    }
    curl_slist_free_all(e->headers);
    free(e->url);
    free(e->method);
    free(e->body);
    free(e);
}
