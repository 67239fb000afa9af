/* engine_native: the engine's own HTTP/1.1 client, for plain http://.
 *
 * Each in-flight slot is one connection, opened without blocking when the
 * slot is first used (or after the server closed it) and kept alive from
 * then on. The request's bytes are built once per thread, as libcurl would
 * send them (Host, Accept: * / *, the test's headers, Content-Length and
 * libcurl's default Content-Type for a body), and written with one send()
 * per request; the response is read into one buffer per thread and framed
 * by http1.h's parser, which copies nothing. A connection stays in the
 * epoll set for input between requests, so a request on a kept-alive
 * connection costs a send, a read and its share of one epoll_wait: no
 * epoll_ctl.
 *
 * Like libcurl, a request that finds its kept-alive connection closed by
 * the server before any byte of the answer (a keep-alive race) is sent
 * once more on a new connection. Failures carry libcurl's codes, so both
 * back ends count the same error kinds. The timeout runs from the handing
 * over of the request, connecting included, as CURLOPT_TIMEOUT_MS does. */
#define _GNU_SOURCE
#include "clock.h"
#include "engine_int.h"
#include "http1.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes read at a time: every response of a loop turn goes through it. */
#define NE_RBUF (64 * 1024)
/* Addresses of the target tried in turn, as libcurl tries them. */
#define NE_ADDRS 8

enum ne_state {
    NE_CLOSED = 0, /* no connection */
    NE_IDLE,       /* connected, no request */
    NE_CONNECTING,
    NE_WRITING,
    NE_READING
};

struct ne_conn {
    int fd; /* -1: none */
    enum ne_state state;
    uint32_t events; /* registered with epoll; 0 none */
    int fresh;       /* the connection was opened for this request */
    int retried;     /* sent once more after a keep-alive race */
    int addr;        /* the address being connected to */
    size_t woff;     /* request bytes written */
    int64_t due_us, queued_us, sent_us;
    struct http1 p;
    struct ne_conn *prev, *next; /* in flight, oldest handed over first */
    struct ne_conn *next_free;
};

struct ne_thread {
    struct eng_thread *t;
    struct sockaddr_storage addrs[NE_ADDRS];
    socklen_t addr_lens[NE_ADDRS];
    int n_addrs, good; /* the address that last connected */
    char *req;         /* the request's bytes */
    size_t req_len;
    int head; /* the method is HEAD */
    struct ne_conn *conns;
    struct ne_conn *free_list;
    struct ne_conn *first, *last; /* in flight */
    struct ne_conn **byfd;        /* by socket number; n_byfd entries */
    size_t n_byfd;
    char rbuf[NE_RBUF];
};

/* ---- the request ------------------------------------------------------------ */

struct ne_buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void nb_add(struct ne_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void nb_str(struct ne_buf *b, const char *s)
{
    nb_add(b, s, strlen(s));
}

/* 1 when header line h (as in CURLOPT_HTTPHEADER) names header name. */
static int ne_names(const char *h, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(h, name, n) == 0 && (h[n] == ':' || h[n] == ';');
}

/* 1 when s has a control character, or a blank where blanks_ok is 0: what
 * may not appear in a request line (or, blanks aside, in a header). */
static int ne_unsafe(const char *s, int blanks_ok)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int blank = ch == ' ' || ch == '\t';
        if (blank ? !blanks_ok : ch < 0x20 || ch == 0x7f)
            return 1;
    }
    return 0;
}

/* Build the request's bytes and find the target's addresses. */
static int ne_prepare(struct ne_thread *n, char *err, size_t errlen)
{
    struct engine *e = n->t->e;
    const struct engine_conf *c = &e->conf;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc = -1;
    struct ne_buf b = {0};
    if (!u || curl_url_set(u, CURLUPART_URL, e->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        snprintf(err, errlen, "the target URL does not parse");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
        query = NULL;
    if (ne_unsafe(e->method, 0) || !*e->method || ne_unsafe(path, 0) ||
        (query && ne_unsafe(query, 0))) {
        snprintf(err, errlen, "the method or the URL's path has a space or a control character");
        goto out;
    }
    /* The address: brackets off an IPv6 literal. */
    char name[256];
    size_t hl = strlen(host);
    if (hl >= sizeof name) {
        snprintf(err, errlen, "the target's host name is too long");
        goto out;
    }
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memcpy(name, host + 1, hl - 2);
        name[hl - 2] = '\0';
    } else {
        memcpy(name, host, hl + 1);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(name, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", name, gai_strerror(gai));
        goto out;
    }
    for (struct addrinfo *a = ai; a && n->n_addrs < NE_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof n->addrs[0])
            continue;
        memcpy(&n->addrs[n->n_addrs], a->ai_addr, a->ai_addrlen);
        n->addr_lens[n->n_addrs++] = a->ai_addrlen;
    }
    freeaddrinfo(ai);
    if (n->n_addrs == 0) {
        snprintf(err, errlen, "%s has no address", name);
        goto out;
    }

    int has_body = e->body || strcmp(e->method, "POST") == 0;
    n->head = strcmp(e->method, "HEAD") == 0;
    if (n->head)
        has_body = 0; /* as libcurl's CURLOPT_NOBODY */
    int own_host = 0, own_accept = 0, own_type = 0;
    for (int i = 0; i < c->n_headers; i++) {
        const char *h = c->header_lines[i];
        if (ne_unsafe(h, 1)) {
            snprintf(err, errlen, "header %d has a control character", i + 1);
            goto out;
        }
        own_host |= ne_names(h, "Host");
        own_accept |= ne_names(h, "Accept");
        own_type |= ne_names(h, "Content-Type");
        if (ne_names(h, "Content-Length") || ne_names(h, "Transfer-Encoding")) {
            snprintf(err, errlen, "header %d: the engine frames the body itself", i + 1);
            goto out;
        }
    }
    nb_str(&b, e->method);
    nb_str(&b, " ");
    nb_str(&b, path);
    if (query) {
        nb_str(&b, "?");
        nb_str(&b, query);
    }
    nb_str(&b, " HTTP/1.1\r\n");
    if (!own_host) {
        nb_str(&b, "Host: ");
        nb_str(&b, host);
        char *explicit_port = NULL;
        if (curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK &&
            strcmp(explicit_port, "80") != 0) {
            nb_str(&b, ":");
            nb_str(&b, explicit_port);
        }
        curl_free(explicit_port);
        nb_str(&b, "\r\n");
    }
    if (!own_accept)
        nb_str(&b, "Accept: */*\r\n");
    for (int i = 0; i < c->n_headers; i++) {
        const char *h = c->header_lines[i];
        const char *colon = strchr(h, ':');
        size_t len = strlen(h);
        if (colon) {
            /* "Name:" alone takes a header out, as with libcurl. */
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!*v)
                continue;
            nb_add(&b, h, len);
        } else if (len > 1 && h[len - 1] == ';') {
            nb_add(&b, h, len - 1); /* "Name;" sends the header empty */
            nb_str(&b, ":");
        } else {
            continue; /* libcurl sends no line without a colon either */
        }
        nb_str(&b, "\r\n");
    }
    if (has_body) {
        char cl[48];
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", e->body ? c->body_len : (size_t)0);
        nb_str(&b, cl);
        if (!own_type)
            nb_str(&b, "Content-Type: application/x-www-form-urlencoded\r\n");
    }
    nb_str(&b, "\r\n");
    if (has_body && e->body)
        nb_add(&b, e->body, c->body_len);
    if (b.oom) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    n->req = b.p;
    n->req_len = b.len;
    b.p = NULL;
    rc = 0;
out:
    free(b.p);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

/* ---- connections -------------------------------------------------------------- */

static int ne_byfd_set(struct ne_thread *n, int fd, struct ne_conn *c)
{
    if ((size_t)fd >= n->n_byfd) {
        size_t cap = n->n_byfd ? n->n_byfd : 256;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct ne_conn **p = realloc(n->byfd, cap * sizeof *p);
        if (!p)
            return -1;
        memset(p + n->n_byfd, 0, (cap - n->n_byfd) * sizeof *p);
        n->byfd = p;
        n->n_byfd = cap;
    }
    n->byfd[fd] = c;
    return 0;
}

static void ne_close(struct ne_thread *n, struct ne_conn *c)
{
    if (c->fd >= 0) {
        n->byfd[c->fd] = NULL;
        close(c->fd); /* leaves the epoll set with it */
    }
    c->fd = -1;
    c->events = 0;
    c->state = NE_CLOSED;
}

static int ne_watch(struct ne_thread *n, struct ne_conn *c, uint32_t events)
{
    if (c->events == events)
        return 0;
    if (eng_epoll_set(n->t, c->fd, events, c->events != 0) < 0)
        return -1;
    c->events = events;
    return 0;
}

/* Start connecting c to address a. Returns 0, or a CURLcode. */
static int ne_connect(struct ne_thread *n, struct ne_conn *c, int a)
{
    c->addr = a;
    c->fresh = 1;
    int fd = socket(n->addrs[a].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return CURLE_COULDNT_CONNECT;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ne_byfd_set(n, fd, c) < 0) {
        close(fd);
        return CURLE_OUT_OF_MEMORY;
    }
    c->fd = fd;
    c->events = 0;
    c->state = NE_CONNECTING;
    if (connect(fd, (struct sockaddr *)&n->addrs[a], n->addr_lens[a]) < 0 && errno != EINPROGRESS) {
        ne_close(n, c);
        return CURLE_COULDNT_CONNECT;
    }
    if (ne_watch(n, c, EPOLLOUT) < 0) {
        ne_close(n, c);
        return CURLE_COULDNT_CONNECT;
    }
    return 0;
}

/* Connect c, trying the addresses from the one that worked last. */
static int ne_connect_any(struct ne_thread *n, struct ne_conn *c)
{
    int code = CURLE_COULDNT_CONNECT;
    for (int i = 0; i < n->n_addrs; i++) {
        code = ne_connect(n, c, (n->good + i) % n->n_addrs);
        if (code == 0 || code == CURLE_OUT_OF_MEMORY)
            break;
    }
    return code;
}

static void ne_unlink(struct ne_thread *n, struct ne_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        n->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        n->last = c->prev;
    c->prev = c->next = NULL;
}

/* The request on c has finished with code and the parser's status: report
 * it and give the slot back, keeping the connection when it may be reused. */
static void ne_finish(struct ne_thread *n, struct ne_conn *c, int code, int keep, int64_t now,
                      int *locked)
{
    struct eng_thread *t = n->t;
    t->bytes += c->p.body_bytes;
    eng_lock(t, locked);
    eng_done(t, code, code == CURLE_OK ? c->p.status : 0, c->due_us,
             c->fresh ? c->queued_us : c->sent_us, now);
    ne_unlink(n, c);
    if (code == CURLE_OK && keep) {
        c->state = NE_IDLE;
        if (c->events != EPOLLIN && ne_watch(n, c, EPOLLIN) < 0)
            ne_close(n, c);
    } else {
        ne_close(n, c);
    }
    c->next_free = n->free_list;
    n->free_list = c;
}

/* Write what is left of the request. Returns 0 (all written, or the
 * socket is full), or a CURLcode. */
static int ne_write(struct ne_thread *n, struct ne_conn *c)
{
    while (c->woff < n->req_len) {
        ssize_t w = send(c->fd, n->req + c->woff, n->req_len - c->woff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return ne_watch(n, c, EPOLLIN | EPOLLOUT) < 0 ? CURLE_SEND_ERROR : 0;
            if (errno == EINTR)
                continue;
            return CURLE_SEND_ERROR;
        }
        c->woff += (size_t)w;
    }
    c->state = NE_READING;
    return ne_watch(n, c, EPOLLIN) < 0 ? CURLE_RECV_ERROR : 0;
}

/* Put the request on c on the wire: connect first when c has no
 * connection. Returns 0, or a CURLcode. */
static int ne_start(struct ne_thread *n, struct ne_conn *c)
{
    http1_init(&c->p, n->head);
    c->woff = 0;
    if (c->state != NE_IDLE) {
        ne_close(n, c);
        return ne_connect_any(n, c);
    }
    c->fresh = 0;
    c->state = NE_WRITING;
    c->sent_us = clock_mono_us();
    return ne_write(n, c);
}

/* The connection of c failed or closed before its answer was complete. A
 * kept-alive connection that gave nothing back gets the request once more
 * on a new one; otherwise the request fails with code. */
static void ne_fail(struct ne_thread *n, struct ne_conn *c, int code, int64_t now, int *locked)
{
    if (!c->fresh && !c->retried && http1_untouched(&c->p) && code != CURLE_OPERATION_TIMEDOUT) {
        c->retried = 1;
        ne_close(n, c);
        int rc = ne_start(n, c);
        if (rc == 0)
            return;
        code = rc;
    }
    ne_finish(n, c, code, 0, now, locked);
}

/* Read what the socket has for c. */
static void ne_read(struct ne_thread *n, struct ne_conn *c, int64_t now, int *locked)
{
    for (;;) {
        ssize_t r = recv(c->fd, n->rbuf, sizeof n->rbuf, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            ne_fail(n, c, CURLE_RECV_ERROR, now, locked);
            return;
        }
        if (r == 0) {
            int rc = http1_eof(&c->p);
            if (rc == HTTP1_DONE)
                ne_finish(n, c, CURLE_OK, 0, now, locked);
            else if (http1_untouched(&c->p))
                ne_fail(n, c, CURLE_GOT_NOTHING, now, locked);
            else
                ne_fail(n, c, CURLE_PARTIAL_FILE, now, locked);
            return;
        }
        size_t used = 0;
        int rc = http1_feed(&c->p, n->rbuf, (size_t)r, &used);
        if (rc == HTTP1_DONE) {
            /* Bytes past the answer were never asked for: the connection
             * is not to be trusted with the next request. */
            ne_finish(n, c, CURLE_OK, c->p.keep_alive && used == (size_t)r, now, locked);
            return;
        }
        if (rc == HTTP1_ERROR) {
            ne_finish(n, c, CURLE_WEIRD_SERVER_REPLY, 0, now, locked);
            return;
        }
        if ((size_t)r < sizeof n->rbuf)
            return; /* the socket is drained; level-triggered epoll says when there is more */
    }
}

/* ---- the back end ------------------------------------------------------------ */

static int ne_send(struct eng_thread *t, int64_t due, int64_t now)
{
    struct ne_thread *n = t->be;
    struct ne_conn *c = n->free_list;
    if (!c)
        return -1;
    n->free_list = c->next_free;
    c->due_us = due;
    c->queued_us = now;
    c->sent_us = now;
    c->retried = 0;
    c->prev = n->last;
    c->next = NULL;
    if (n->last)
        n->last->next = c;
    else
        n->first = c;
    n->last = c;
    int code = ne_start(n, c);
    if (code == 0)
        return 0;
    int locked = 0;
    ne_fail(n, c, code, now, &locked);
    eng_unlock(t, &locked);
    return 1;
}

/* Fail the requests past their timeout: the oldest are first in line. */
static void ne_progress(struct eng_thread *t, int64_t now)
{
    struct ne_thread *n = t->be;
    int64_t to = t->e->conf.timeout_ms * 1000;
    int locked = 0;
    while (n->first && now - n->first->queued_us >= to)
        ne_finish(n, n->first, CURLE_OPERATION_TIMEDOUT, 0, now, &locked);
    eng_unlock(t, &locked);
}

static int64_t ne_deadline(struct eng_thread *t)
{
    struct ne_thread *n = t->be;
    return n->first ? n->first->queued_us + t->e->conf.timeout_ms * 1000 : -1;
}

static void ne_event(struct eng_thread *t, int fd, uint32_t events, int64_t now)
{
    struct ne_thread *n = t->be;
    struct ne_conn *c = fd >= 0 && (size_t)fd < n->n_byfd ? n->byfd[fd] : NULL;
    if (!c) {
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
        return;
    }
    int locked = 0;
    if (c->state == NE_IDLE) {
        /* A kept-alive connection the server closed, or sent stray bytes
         * on: neither is fit for the next request. */
        ne_close(n, c);
    } else if (c->state == NE_CONNECTING) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr == 0 && (events & EPOLLOUT)) {
            n->good = c->addr;
            c->state = NE_WRITING;
            int code = ne_write(n, c);
            if (code)
                ne_finish(n, c, code, 0, now, &locked);
        } else if (soerr != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            int code = CURLE_COULDNT_CONNECT;
            int next = c->addr + 1;
            ne_close(n, c);
            /* The next address, unless every one was tried. */
            while (next % n->n_addrs != n->good && code != 0 && code != CURLE_OUT_OF_MEMORY)
                code = ne_connect(n, c, next++ % n->n_addrs);
            if (code)
                ne_finish(n, c, code, 0, now, &locked);
        }
    } else {
        if (c->state == NE_WRITING && (events & EPOLLOUT)) {
            int code = ne_write(n, c);
            if (code) {
                ne_fail(n, c, code, now, &locked);
                eng_unlock(t, &locked);
                return;
            }
        }
        if ((c->state == NE_WRITING || c->state == NE_READING) &&
            (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            ne_read(n, c, now, &locked);
    }
    eng_unlock(t, &locked);
}

static int64_t ne_abandon(struct eng_thread *t)
{
    struct ne_thread *n = t->be;
    int64_t k = 0;
    while (n->first) {
        struct ne_conn *c = n->first;
        ne_unlink(n, c);
        ne_close(n, c);
        c->next_free = n->free_list;
        n->free_list = c;
        k++;
    }
    return k;
}

static int ne_init(struct eng_thread *t, char *err, size_t errlen)
{
    struct ne_thread *n = calloc(1, sizeof *n);
    t->be = n;
    if (!n || !(n->conns = calloc((size_t)t->inflight_max, sizeof *n->conns))) {
        snprintf(err, errlen, "out of memory for %lld connections", (long long)t->inflight_max);
        return -1;
    }
    n->t = t;
    /* The free list hands out the first slots first. */
    for (int64_t i = t->inflight_max - 1; i >= 0; i--) {
        n->conns[i].fd = -1;
        n->conns[i].next_free = n->free_list;
        n->free_list = &n->conns[i];
    }
    return ne_prepare(n, err, errlen);
}

static void ne_free(struct eng_thread *t)
{
    struct ne_thread *n = t->be;
    if (!n)
        return;
    for (int64_t i = 0; n->conns && i < t->inflight_max; i++)
        if (n->conns[i].fd >= 0)
            close(n->conns[i].fd);
    free(n->conns);
    free(n->byfd);
    free(n->req);
    free(n);
    t->be = NULL;
}

const struct eng_backend eng_native = {
    .name = "native",
    .init = ne_init,
    .send = ne_send,
    .progress = ne_progress,
    .after_fill = NULL,
    .deadline = ne_deadline,
    .event = ne_event,
    .abandon = ne_abandon,
    .free = ne_free,
};
