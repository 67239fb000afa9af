/* engine_curl: the engine's libcurl back end, for what the native one does
 * not speak (HTTPS, HTTP/2, credentials in the URL), or when asked for.
 *
 * One multi handle per engine thread, driven with curl_multi_socket_action
 * over the core's epoll set; one easy handle per in-flight slot, reused
 * request after request. */
#define _GNU_SOURCE
#include "clock.h"
#include "engine_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* Receive buffer per easy handle (libcurl allocates 16 KiB by default):
 * small responses fit, and 1,000 connections stay within a few MB. */
#define CE_RECV_BUFFER 4096L
/* HTTP/1.1 connections per connection cache. To reuse a connection,
 * libcurl 7.88 walks the cache's list for its host from the start, past
 * every connection in use: about 35 instructions per connection per
 * request, 9,000 of a request's 60,000 at 256 connections. Slots are
 * spread over caches of this size (share objects, one per group of
 * slots), which keeps that walk short. */
#define CE_SHARD_CONNS 16

struct ce_thread;

/* One slot: an easy handle, reused for request after request. */
struct ce_req {
    CURL *easy;
    int64_t due_us;
    int64_t queued_us; /* handed to libcurl */
    int64_t sent_us;   /* libcurl about to send it (ce_prereq_cb) */
    int busy;
    struct ce_req *next_free;
    /* In a mix: the request, what was expanded for it, and its body kept
     * for the checks. */
    struct ce_thread *c;
    int rq;
    struct tbuf url, body, hdr_text;
    struct curl_slist *hdrs; /* a templated request's header lines */
    char *cap;
    size_t cap_len;
};

/* What the epoll set holds for one of libcurl's sockets. A keep-alive
 * connection stays registered for input between its transfers: libcurl
 * drops a socket from its set when a transfer ends and wants it back when
 * the next one starts on the same connection, and two epoll_ctl calls per
 * request cost more than the rare wake-up of an idle connection. */
struct ce_fd {
    uint32_t events; /* registered with epoll; 0: not in the set */
    uint8_t wanted;  /* libcurl is waiting on it */
};

struct ce_thread {
    struct eng_thread *t;
    CURLM *multi;
    CURLU *url;      /* the target, parsed once: libcurl copies it per transfer */
    CURLSH **shares; /* n_shares connection caches; none: the multi's own */
    int n_shares;
    struct curl_slist *headers;
    struct curl_slist **rq_headers; /* a mix's fixed requests' header lines */
    struct curl_slist *resolve;     /* "host:port:addresses" looked up ahead */
    struct ce_fd *fds;              /* by socket number; n_fds entries */
    size_t n_fds;
    struct ce_req *reqs; /* inflight_max slots */
    struct ce_req *free_list;
    int64_t n_made;           /* slots with an easy handle so far */
    int64_t curl_deadline_us; /* -1: libcurl wants no timeout */
};

/* ---- libcurl callbacks -------------------------------------------------- */

/* Count the body and drop it: memory stays bounded whatever the target sends. */
static size_t ce_write(char *ptr, size_t size, size_t nmemb, void *userp)
{
    (void)ptr;
    struct eng_thread *t = userp;
    size_t n = size * nmemb;
    t->bytes += (int64_t)n;
    return n;
}

/* In a mix: count the body, and keep its start when a check reads it. */
static size_t ce_write_mix(char *ptr, size_t size, size_t nmemb, void *userp)
{
    struct ce_req *r = userp;
    size_t n = size * nmemb;
    r->c->t->bytes += (int64_t)n;
    if (r->cap && r->cap_len < ENG_CHECK_BODY_MAX) {
        size_t k = ENG_CHECK_BODY_MAX - r->cap_len < n ? ENG_CHECK_BODY_MAX - r->cap_len : n;
        memcpy(r->cap + r->cap_len, ptr, k);
        r->cap_len += k;
    }
    return n;
}

/* The entry of fd, growing the table as needed; NULL when out of memory. */
static struct ce_fd *ce_fd_get(struct ce_thread *c, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= c->n_fds) {
        size_t n = c->n_fds ? c->n_fds : 256;
        while (n <= (size_t)fd)
            n *= 2;
        struct ce_fd *p = realloc(c->fds, n * sizeof *p);
        if (!p)
            return NULL;
        memset(p + c->n_fds, 0, (n - c->n_fds) * sizeof *p);
        c->fds = p;
        c->n_fds = n;
    }
    return &c->fds[fd];
}

/* libcurl's socket callback: keep the epoll set in line with what it waits
 * for, without a system call when nothing changes. */
static int ce_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    struct ce_thread *c = userp;
    struct eng_thread *t = c->t;
    struct ce_fd *f = ce_fd_get(c, s);
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
static curl_socket_t ce_open_cb(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct ce_thread *c = userp;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    struct ce_fd *f = ce_fd_get(c, fd);
    if (f)
        memset(f, 0, sizeof *f);
    return fd;
}

/* An event on a socket libcurl is not waiting on: an idle keep-alive
 * connection that the server closed (or that got stray bytes). Take it out
 * of the set, or level-triggered epoll reports it again and again; libcurl
 * finds it dead when it next tries to reuse it. Returns 1 when so. */
static int ce_fd_idle(struct ce_thread *c, int fd)
{
    if (fd < 0 || (size_t)fd >= c->n_fds || c->fds[fd].wanted || !c->fds[fd].events)
        return 0;
    epoll_ctl(c->t->epfd, EPOLL_CTL_DEL, fd, NULL);
    c->fds[fd].events = 0;
    return 1;
}

static int ce_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct ce_thread *c = userp;
    /* 0 means "at once": make it due whatever the caller's idea of now.
     * Other timeouts count from the loop's last clock reading, at most one
     * loop turn old: libcurl copes with being woken a little early. */
    if (timeout_ms < 0)
        c->curl_deadline_us = -1;
    else if (timeout_ms == 0)
        c->curl_deadline_us = 0;
    else
        c->curl_deadline_us = c->t->now_us + (int64_t)timeout_ms * 1000;
    return 0;
}

/* Called by libcurl right before it sends a request, once its connection
 * is there. The loop's clock is read once per batch of events, and
 * libcurl sends a batch's requests only after handling all its responses:
 * timing a request from the loop's reading would count that handling
 * (0.5 ms for 50 responses) as the server's time. */
static int ce_prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port,
                        int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    struct ce_req *r = clientp;
    r->sent_us = clock_mono_us();
    return CURL_PREREQFUNC_OK;
}

/* ---- slots ------------------------------------------------------------------ */

static int ce_easy_setup(struct ce_thread *c, struct ce_req *r)
{
    struct eng_thread *t = c->t;
    struct engine *e = t->e;
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    const char *m = e->method;
    /* A parsed URL handle spares libcurl parsing the URL string and printing
     * it back for every transfer (about a sixth of its instructions for a
     * small GET on a reused connection). */
    int ok = e->mix || curl_easy_setopt(h, CURLOPT_CURLU, c->url) == CURLE_OK;
    r->c = c;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* No proxy, and no look-up of the proxy variables in the environment
     * (libcurl reads no_proxy and NO_PROXY for every transfer otherwise). */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    if (c->resolve)
        curl_easy_setopt(h, CURLOPT_RESOLVE, c->resolve);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, e->mix ? ce_write_mix : ce_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, e->mix ? (void *)r : (void *)t);
    curl_easy_setopt(h, CURLOPT_PRIVATE, r);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, ce_prereq_cb);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, r);
    if (c->n_shares > 0)
        curl_easy_setopt(h, CURLOPT_SHARE, c->shares[(r - c->reqs) % c->n_shares]);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, ce_open_cb);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)e->conf.timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    /* Keep resolved names for the whole test: libcurl otherwise sweeps its
     * DNS cache at the end of every transfer. Keep-alive connections are
     * not re-resolved anyway, and an engine lives for one test. */
    curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
    /* A mix's request is set at each send (ce_mix_set). */
    if (!e->mix && c->headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    if (!e->mix && strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!e->mix) {
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
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, CE_RECV_BUFFER);
    }
    if (!ok) {
        curl_easy_cleanup(h);
        return -1;
    }
    r->easy = h;
    return 0;
}

/* A free slot with an easy handle, or NULL (all busy, or no memory). */
static struct ce_req *ce_slot_get(struct ce_thread *c)
{
    struct ce_req *r = c->free_list;
    if (r) {
        c->free_list = r->next_free;
        return r;
    }
    if (c->n_made >= c->t->inflight_max)
        return NULL;
    r = &c->reqs[c->n_made];
    if (ce_easy_setup(c, r) < 0)
        return NULL;
    c->n_made++;
    return r;
}

static void ce_slot_put(struct ce_thread *c, struct ce_req *r)
{
    r->busy = 0;
    r->next_free = c->free_list;
    c->free_list = r;
}

/* ---- the back end ------------------------------------------------------------ */

/* Report the requests libcurl has finished, at time now. Returns how many. */
static int ce_collect(struct ce_thread *c, int64_t now)
{
    struct eng_thread *t = c->t;
    int done = 0;
    int locked = 0;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode res = m->data.result;
        char *priv = NULL;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        struct ce_req *r = (struct ce_req *)(void *)priv;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(c->multi, easy);
        eng_lock(t, &locked);
        /* From the send; a request that had to open its connection is
         * timed from when it was handed over, connecting included. */
        long conns = 0;
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &conns);
        int64_t sent = conns > 0 || r->sent_us < r->queued_us ? r->queued_us : r->sent_us;
        eng_done(t, (int)res, status, r->due_us, sent, now, t->e->mix ? r->rq : 0, r->cap,
                 r->cap_len);
        done++;
        ce_slot_put(c, r);
    }
    eng_unlock(t, &locked);
    return done;
}

/* Run libcurl's timers when due. Returns 1 when it ran them. */
static int ce_kick(struct ce_thread *c, int64_t now)
{
    if (c->curl_deadline_us >= 0 && now >= c->curl_deadline_us) {
        int running = 0;
        c->curl_deadline_us = -1;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        return 1;
    }
    return 0;
}

/* Header lines for libcurl: lines, and "Expect:" before a body (libcurl
 * would otherwise wait for "100 Continue" before sending over 1 KiB).
 * Returns the list (NULL for none), *oom set when out of memory. */
static struct curl_slist *ce_lines(char *const *lines, int n, int body, int *oom)
{
    struct curl_slist *l = NULL;
    int has_expect = 0;
    for (int i = 0; i < n && !*oom; i++) {
        struct curl_slist *nl = curl_slist_append(l, lines[i]);
        if (!nl)
            *oom = 1;
        else
            l = nl;
        if (strncasecmp(lines[i], "Expect:", 7) == 0)
            has_expect = 1;
    }
    if (!*oom && body && !has_expect) {
        struct curl_slist *nl = curl_slist_append(l, "Expect:");
        if (!nl)
            *oom = 1;
        else
            l = nl;
    }
    return l;
}

/* Set slot r's easy handle for request t->cur of the mix, its templates
 * expanded. Returns 0, or -1 (out of memory). */
static int ce_mix_set(struct ce_thread *c, struct ce_req *r)
{
    struct eng_thread *t = c->t;
    const struct eng_req *q = &t->e->reqs[t->cur];
    CURL *h = r->easy;
    r->rq = t->cur;
    r->cap_len = 0;
    if (q->capture && !r->cap && !(r->cap = malloc(ENG_CHECK_BODY_MAX)))
        return -1;
    if (!q->capture) {
        free(r->cap);
        r->cap = NULL;
    }
    const char *url = q->url, *body = q->body;
    size_t body_len = q->body_len;
    struct curl_slist *hdrs = c->rq_headers ? c->rq_headers[r->rq] : NULL;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    if (q->templated) {
        r->url.len = r->body.len = 0;
        if (eng_mix_expand(t, &q->t_url, &r->url) < 0 ||
            (q->body &&
             (eng_mix_expand(t, &q->t_body, &r->body) < 0 || tbuf_add(&r->body, "", 0) < 0)))
            return -1;
        url = r->url.p;
        body = q->body ? r->body.p : NULL;
        body_len = q->body ? r->body.len : 0;
        if (q->n_headers > 0) {
            struct tbuf *hb = &r->hdr_text; /* the slot's, reused */
            char *lines[160];
            size_t offs[160];
            int n = q->n_headers < 160 ? q->n_headers : 160, oom = 0;
            hb->len = 0;
            for (int i = 0; i < n && !oom; i++) {
                offs[i] = hb->len;
                oom = eng_mix_expand(t, &q->t_headers[i], hb) < 0 || tbuf_add(hb, "", 1) < 0;
            }
            for (int i = 0; i < n && !oom; i++)
                lines[i] = hb->p + offs[i];
            if (!oom)
                r->hdrs = ce_lines(lines, n, body != NULL, &oom);
            if (oom)
                return -1;
            hdrs = r->hdrs;
        }
    }
    const char *m = q->method;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        if (body || strcmp(m, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        if (strcmp(m, "POST") != 0 && (body || strcmp(m, "GET") != 0))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
    return 0;
}

static int ce_send(struct eng_thread *t, int64_t due, int64_t now)
{
    struct ce_thread *c = t->be;
    struct ce_req *r = ce_slot_get(c);
    if (!r)
        return -1; /* no easy handle: counted as a failed request */
    if (t->e->mix && ce_mix_set(c, r) < 0) {
        ce_slot_put(c, r);
        return -1;
    }
    r->due_us = due;
    r->queued_us = now;
    r->sent_us = now;
    if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
        ce_slot_put(c, r);
        return -1;
    }
    r->busy = 1;
    return 0;
}

static void ce_progress(struct eng_thread *t, int64_t now)
{
    struct ce_thread *c = t->be;
    ce_kick(c, now);
    ce_collect(c, now);
}

/* Start what was just added now rather than one more loop later. On
 * loopback a response may even be complete by the time this returns:
 * collect it before waiting. */
static int ce_after_fill(struct eng_thread *t, int64_t *now)
{
    struct ce_thread *c = t->be;
    if (!ce_kick(c, *now))
        return 0;
    *now = eng_clock(t, *now);
    return ce_collect(c, *now) > 0;
}

static int64_t ce_deadline(struct eng_thread *t)
{
    struct ce_thread *c = t->be;
    return c->curl_deadline_us;
}

static void ce_event(struct eng_thread *t, int fd, uint32_t events, int64_t now)
{
    (void)now;
    struct ce_thread *c = t->be;
    if (ce_fd_idle(c, fd))
        return;
    int flags = 0;
    if (events & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    int running = 0;
    curl_multi_socket_action(c->multi, fd, flags, &running);
}

static int64_t ce_abandon(struct eng_thread *t)
{
    struct ce_thread *c = t->be;
    int64_t abandoned = 0;
    for (int64_t i = 0; i < c->n_made; i++) {
        struct ce_req *r = &c->reqs[i];
        if (r->busy) {
            curl_multi_remove_handle(c->multi, r->easy);
            ce_slot_put(c, r);
            abandoned++;
        }
    }
    return abandoned;
}

/* The addresses of url's host, from the engine's resolver, as a
 * CURLOPT_RESOLVE entry: libcurl then looks nothing up, and a test to a
 * name already known waits for no name server (resolve.h). A name that
 * cannot be looked up is left to libcurl, whose failures are the
 * requests' connect errors, as before. */
static int ce_resolve_add(struct ce_thread *c, const char *url)
{
    const struct engine_conf *cf = &c->t->e->conf;
    char host[256], port[16], err[200], line[1024];
    struct resolved ra;
    /* An IPv6 address is no name, and would need its brackets here. */
    if (!cf->resolver || resolve_url_parts(url, host, sizeof host, port, sizeof port) < 0 ||
        strchr(host, ':') ||
        resolver_get(cf->resolver, host, port, ENGINE_RESOLVE_MS, &cf->resolve_wait, &ra, err,
                     sizeof err) < 0)
        return 0;
    int w = snprintf(line, sizeof line, "%s:%s:", host, port);
    for (int i = 0; i < ra.n && (size_t)w < sizeof line - 64; i++) {
        char ip[INET6_ADDRSTRLEN];
        if (getnameinfo((struct sockaddr *)&ra.addr[i], ra.len[i], ip, sizeof ip, NULL, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        int v6 = ra.addr[i].ss_family == AF_INET6;
        w += snprintf(line + w, sizeof line - (size_t)w, "%s%s%s%s", line[w - 1] == ':' ? "" : ",",
                      v6 ? "[" : "", ip, v6 ? "]" : "");
    }
    if (line[w - 1] == ':')
        return 0;
    struct curl_slist *nl = curl_slist_append(c->resolve, line);
    if (!nl)
        return -1;
    c->resolve = nl;
    return 0;
}

static int ce_init(struct eng_thread *t, char *err, size_t errlen)
{
    struct engine *e = t->e;
    const struct engine_conf *cf = &e->conf;
    struct ce_thread *c = calloc(1, sizeof *c);
    t->be = c;
    if (!c || !(c->reqs = calloc((size_t)t->inflight_max, sizeof *c->reqs))) {
        snprintf(err, errlen, "out of memory for %lld request slots", (long long)t->inflight_max);
        return -1;
    }
    c->t = t;
    c->curl_deadline_us = -1;
    int has_expect = 0, oom = 0;
    for (int i = 0; !oom && i < cf->n_headers; i++) {
        struct curl_slist *nl = curl_slist_append(c->headers, cf->header_lines[i]);
        if (!nl)
            oom = 1;
        else
            c->headers = nl;
        if (strncasecmp(cf->header_lines[i], "Expect:", 7) == 0)
            has_expect = 1;
    }
    /* libcurl would wait for "100 Continue" before sending a body over 1 KiB. */
    if (!oom && e->body && !has_expect) {
        struct curl_slist *nl = curl_slist_append(c->headers, "Expect:");
        if (!nl)
            oom = 1;
        else
            c->headers = nl;
    }
    if (oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (e->mix) {
        c->rq_headers = calloc((size_t)e->n_reqs, sizeof *c->rq_headers);
        if (!c->rq_headers) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (int i = 0; i < e->n_reqs && !oom; i++)
            if (!e->reqs[i].templated)
                c->rq_headers[i] = ce_lines(e->reqs[i].headers, e->reqs[i].n_headers,
                                            e->reqs[i].body != NULL, &oom);
        if (oom) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    oom = ce_resolve_add(c, e->url) < 0;
    for (int i = 0; !oom && e->mix && i < e->n_reqs; i++)
        oom = ce_resolve_add(c, e->reqs[i].url) < 0;
    if (oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->url = curl_url();
    if (!c->url || curl_url_set(c->url, CURLUPART_URL, e->url, 0) != CURLUE_OK) {
        snprintf(err, errlen, "engine thread %d: cannot parse the URL", t->k);
        return -1;
    }
    /* HTTP/2 keeps one cache: it multiplexes requests over few connections,
     * and more caches would open more of them. */
    if (!cf->http2 && t->inflight_max > CE_SHARD_CONNS) {
        int n = (int)((t->inflight_max + CE_SHARD_CONNS - 1) / CE_SHARD_CONNS);
        c->shares = calloc((size_t)n, sizeof *c->shares);
        if (!c->shares) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (; c->n_shares < n; c->n_shares++) {
            CURLSH *sh = curl_share_init();
            if (!sh ||
                curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
                curl_share_cleanup(sh);
                snprintf(err, errlen, "engine thread %d: cannot create a connection cache", t->k);
                return -1;
            }
            /* Used by this thread only: no lock functions needed. */
            c->shares[c->n_shares] = sh;
        }
    }
    c->multi = curl_multi_init();
    if (!c->multi) {
        snprintf(err, errlen, "engine thread %d: curl_multi_init failed", t->k);
        return -1;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, ce_socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, ce_timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* Below the number of concurrent handles, connections get re-opened. */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)(t->inflight_max + 4));
    return 0;
}

static void ce_free(struct eng_thread *t)
{
    struct ce_thread *c = t->be;
    if (!c)
        return;
    for (int64_t i = 0; i < c->n_made; i++) {
        struct ce_req *r = &c->reqs[i];
        if (r->busy && c->multi)
            curl_multi_remove_handle(c->multi, r->easy);
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->hdrs);
        free(r->url.p);
        free(r->body.p);
        free(r->hdr_text.p);
        free(r->cap);
    }
    for (int i = 0; c->rq_headers && i < t->e->n_reqs; i++)
        curl_slist_free_all(c->rq_headers[i]);
    free(c->rq_headers);
    /* Once no easy handle uses them; this closes their connections. */
    for (int i = 0; i < c->n_shares; i++)
        curl_share_cleanup(c->shares[i]);
    free(c->shares);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    curl_url_cleanup(c->url); /* after the easy handles that point at it */
    curl_slist_free_all(c->headers);
    curl_slist_free_all(c->resolve);
    free(c->reqs);
    free(c->fds);
    free(c);
    t->be = NULL;
}

const struct eng_backend eng_curl = {
    .name = "curl",
    .init = ce_init,
    .send = ce_send,
    .progress = ce_progress,
    .after_fill = ce_after_fill,
    .deadline = ce_deadline,
    .event = ce_event,
    .abandon = ce_abandon,
    .free = ce_free,
};
