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
 * epoll_ctl. The set is edge-triggered: a socket that was drained is not
 * looked at again by the next epoll_wait, as a level-triggered one would
 * be (see ne_read for why no byte or close is missed). The stats lock is
 * taken once for all the answers of a loop turn. In a mix, each fixed
 * request's bytes are built once per thread; a templated one is expanded
 * into its connection's buffer at each send, and a request with body checks
 * keeps the first ENG_CHECK_BODY_MAX bytes of its answer's body.
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
/* Header lines of a templated request: the test's and the request's own. */
#define NE_LINES 160

enum ne_state {
    NE_CLOSED = 0, /* no connection */
    NE_IDLE,       /* connected, no request */
    NE_CONNECTING,
    NE_WRITING,
    NE_READING
};

struct ne_buf {
    char *p;
    size_t len, cap;
    int oom;
};

struct ne_conn {
    int fd; /* -1: none */
    enum ne_state state;
    uint32_t events; /* registered with epoll; 0 none */
    int fresh;       /* the connection was opened for this request */
    int retried;     /* sent once more after a keep-alive race */
    int addr;        /* the address being connected to */
    size_t woff;     /* request bytes written */
    int rq;          /* the request of the mix */
    const char *req; /* its bytes: the thread's, or wb's */
    size_t req_len;
    struct ne_buf *wb; /* a templated request's bytes, expanded for this send */
    char *cap;         /* the body kept for the checks; NULL until needed */
    int64_t due_us, queued_us, sent_us;
    struct http1 p;
    struct ne_conn *prev, *next; /* in flight, oldest handed over first */
    struct ne_conn *next_free;
};

struct ne_thread {
    struct eng_thread *t;
    struct resolved ra; /* the target's addresses, tried in turn as libcurl does */
    int good;           /* the one that last connected */
    char **req;         /* each request's bytes; NULL for a templated one */
    size_t *req_len;
    char *host; /* "Host: name[:port]\r\n" */
    /* Scratch for expanding a templated request. */
    struct tbuf x_url, x_body, x_hdr;
    struct ne_buf x_target;
    struct ne_conn *conns;
    struct ne_conn *free_list;
    struct ne_conn *first, *last; /* in flight */
    struct ne_conn **byfd;        /* by socket number; n_byfd entries */
    size_t n_byfd;
    int locked; /* the stats lock is held, from the turn's first answer on */
    char rbuf[NE_RBUF];
};

/* ---- the request ------------------------------------------------------------ */

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

/* Append one request's bytes to b, as libcurl would send them: the request
 * line, Host (unless a header gives it), Accept, the header lines (with
 * libcurl's "Name:" and "Name;" rules), and a body with its Content-Length
 * and default Content-Type. Returns 0, or -1 with err for what may not be
 * sent. */
static int ne_build(struct ne_buf *b, const char *host, const char *method, const char *target,
                    size_t target_len, char *const *headers, int n_headers, const char *body,
                    size_t body_len, char *err, size_t errlen)
{
    for (size_t i = 0; i < target_len; i++) {
        unsigned char ch = (unsigned char)target[i];
        if (ch <= 0x20 || ch == 0x7f) {
            snprintf(err, errlen, "the URL's path has a space or a control character");
            return -1;
        }
    }
    int has_body = body || strcmp(method, "POST") == 0;
    if (strcmp(method, "HEAD") == 0)
        has_body = 0; /* as libcurl's CURLOPT_NOBODY */
    int own_host = 0, own_accept = 0, own_type = 0;
    for (int i = 0; i < n_headers; i++) {
        const char *h = headers[i];
        if (ne_unsafe(h, 1)) {
            snprintf(err, errlen, "header %d has a control character", i + 1);
            return -1;
        }
        own_host |= ne_names(h, "Host");
        own_accept |= ne_names(h, "Accept");
        own_type |= ne_names(h, "Content-Type");
        if (ne_names(h, "Content-Length") || ne_names(h, "Transfer-Encoding")) {
            snprintf(err, errlen, "header %d: the engine frames the body itself", i + 1);
            return -1;
        }
    }
    nb_str(b, method);
    nb_str(b, " ");
    nb_add(b, target, target_len);
    nb_str(b, " HTTP/1.1\r\n");
    if (!own_host)
        nb_str(b, host);
    if (!own_accept)
        nb_str(b, "Accept: */*\r\n");
    for (int i = 0; i < n_headers; i++) {
        const char *h = headers[i];
        const char *colon = strchr(h, ':');
        size_t len = strlen(h);
        if (colon) {
            /* "Name:" alone takes a header out, as with libcurl. */
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!*v)
                continue;
            nb_add(b, h, len);
        } else if (len > 1 && h[len - 1] == ';') {
            nb_add(b, h, len - 1); /* "Name;" sends the header empty */
            nb_str(b, ":");
        } else {
            continue; /* libcurl sends no line without a colon either */
        }
        nb_str(b, "\r\n");
    }
    if (has_body) {
        char cl[48];
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", body ? body_len : (size_t)0);
        nb_str(b, cl);
        if (!own_type)
            nb_str(b, "Content-Type: application/x-www-form-urlencoded\r\n");
    }
    nb_str(b, "\r\n");
    if (has_body && body)
        nb_add(b, body, body_len);
    if (b->oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The path and query of url, as libcurl sends them ("/" when none), into
 * *out (curl_free it). */
static int ne_target(const char *url, char **out)
{
    CURLU *u = curl_url();
    char *path = NULL, *query = NULL;
    int rc = -1;
    *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
            query = NULL;
        size_t n = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
        *out = malloc(n);
        if (*out) {
            snprintf(*out, n, "%s%s%s", path, query ? "?" : "", query ? query : "");
            rc = 0;
        }
    }
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

/* Find the target's addresses, the Host line, and each fixed request's
 * bytes. Every request of a mix goes to the first one's host and port. */
static int ne_prepare(struct ne_thread *n, char *err, size_t errlen)
{
    struct engine *e = n->t->e;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *explicit_port = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, e->reqs[0].url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "the target URL does not parse");
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
    int found = e->conf.resolver ? resolver_get(e->conf.resolver, name, port, ENGINE_RESOLVE_MS,
                                                &e->conf.resolve_wait, &n->ra, err, errlen)
                                 : resolve_now(name, port, &n->ra, err, errlen);
    if (found < 0)
        goto out;
    struct ne_buf hb = {0};
    nb_str(&hb, "Host: ");
    nb_str(&hb, host);
    if (curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK &&
        strcmp(explicit_port, "80") != 0) {
        nb_str(&hb, ":");
        nb_str(&hb, explicit_port);
    }
    nb_str(&hb, "\r\n");
    n->host = hb.p;
    n->req = calloc((size_t)e->n_reqs, sizeof *n->req);
    n->req_len = calloc((size_t)e->n_reqs, sizeof *n->req_len);
    if (hb.oom || !n->req || !n->req_len) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < e->n_reqs; i++) {
        const struct eng_req *r = &e->reqs[i];
        if (ne_unsafe(r->method, 0) || !*r->method) {
            snprintf(err, errlen, "the method has a space or a control character");
            goto out;
        }
        if (r->templated)
            continue;
        char *target = NULL;
        if (ne_target(r->url, &target) < 0) {
            snprintf(err, errlen, "the target URL does not parse");
            goto out;
        }
        struct ne_buf b = {0};
        int brc = ne_build(&b, n->host, r->method, target, strlen(target), r->headers, r->n_headers,
                           r->body, r->body_len, err, errlen);
        free(target);
        if (brc < 0) {
            free(b.p);
            goto out;
        }
        n->req[i] = b.p;
        n->req_len[i] = b.len;
    }
    rc = 0;
out:
    curl_free(host);
    curl_free(port);
    curl_free(explicit_port);
    curl_url_cleanup(u);
    return rc;
}

/* Expand a templated request for the send in progress into c->wb. Returns
 * 0, or a CURLcode: a variable that made the URL or a header unfit to send
 * fails the request (kind "other"). */
static int ne_expand(struct ne_thread *n, struct ne_conn *c)
{
    struct eng_thread *t = n->t;
    const struct eng_req *r = &t->e->reqs[c->rq];
    if (!c->wb && !(c->wb = calloc(1, sizeof *c->wb)))
        return CURLE_OUT_OF_MEMORY;
    char *lines[NE_LINES];
    size_t offs[NE_LINES];
    int nh = r->n_headers;
    if (nh > (int)(sizeof lines / sizeof lines[0]))
        return CURLE_BAD_FUNCTION_ARGUMENT;
    /* The thread's scratch buffers, reused send after send. */
    struct tbuf *url = &n->x_url, *body = &n->x_body, *hdr = &n->x_hdr;
    url->len = body->len = hdr->len = 0;
    if (eng_mix_expand(t, &r->t_url, url) < 0 || tbuf_add(url, "", 0) < 0 ||
        (r->body && (eng_mix_expand(t, &r->t_body, body) < 0 || tbuf_add(body, "", 0) < 0)))
        return CURLE_OUT_OF_MEMORY;
    for (int i = 0; i < nh; i++) {
        offs[i] = hdr->len;
        if (eng_mix_expand(t, &r->t_headers[i], hdr) < 0 || tbuf_add(hdr, "", 1) < 0)
            return CURLE_OUT_OF_MEMORY;
    }
    for (int i = 0; i < nh; i++)
        lines[i] = hdr->p + offs[i];
    /* The path and query: what follows the host, up to a fragment ("/"
     * when there is no path). */
    const char *a = strstr(url->p, "://");
    const char *p = a ? a + 3 + strcspn(a + 3, "/?#") : "";
    size_t plen = strcspn(p, "#");
    struct ne_buf *tb = &n->x_target;
    tb->len = 0;
    tb->oom = 0;
    if (plen == 0 || p[0] == '?')
        nb_str(tb, "/");
    nb_add(tb, p, plen);
    c->wb->len = 0;
    c->wb->oom = 0;
    char err[160];
    if (tb->oom || ne_build(c->wb, n->host, r->method, tb->p, tb->len, lines, nh,
                            r->body ? body->p : NULL, r->body ? body->len : 0, err, sizeof err) < 0)
        return tb->oom || c->wb->oom ? CURLE_OUT_OF_MEMORY : CURLE_URL_MALFORMAT;
    c->req = c->wb->p;
    c->req_len = c->wb->len;
    return 0;
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
    events |= EPOLLET | EPOLLRDHUP;
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
    int fd = socket(n->ra.addr[a].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
    if (connect(fd, (struct sockaddr *)&n->ra.addr[a], n->ra.len[a]) < 0 && errno != EINPROGRESS) {
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
    for (int i = 0; i < n->ra.n; i++) {
        code = ne_connect(n, c, (n->good + i) % n->ra.n);
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
             c->fresh ? c->queued_us : c->sent_us, now, c->rq, c->p.cap, c->p.cap_len);
    ne_unlink(n, c);
    if (code == CURLE_OK && keep) {
        c->state = NE_IDLE;
        if (ne_watch(n, c, EPOLLIN) < 0)
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
    while (c->woff < c->req_len) {
        ssize_t w = send(c->fd, c->req + c->woff, c->req_len - c->woff, MSG_NOSIGNAL);
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
    const struct eng_req *r = &n->t->e->reqs[c->rq];
    http1_init(&c->p, r->head);
    if (r->capture) {
        if (!c->cap && !(c->cap = malloc(ENG_CHECK_BODY_MAX)))
            return CURLE_OUT_OF_MEMORY;
        c->p.cap = c->cap;
        c->p.cap_max = ENG_CHECK_BODY_MAX;
    }
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

/* 1 when the socket of c has nothing to read and is open. */
static int ne_drained(struct ne_conn *c)
{
    char b;
    ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Read what the socket has for c; events: what epoll said of it.
 *
 * Edge-triggered, a socket gives a new event only for what happens after
 * the epoll_wait that reported it. A read shorter than the buffer took all
 * the socket had, and more bytes will come with an event of their own,
 * unless the peer's close had already arrived (EPOLLRDHUP, EPOLLHUP): then
 * reading goes on to the end. A complete answer keeps its connection only
 * when nothing followed it, neither bytes nor a close. */
static void ne_read(struct ne_thread *n, struct ne_conn *c, uint32_t events, int64_t now,
                    int *locked)
{
    int ended = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
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
            int keep = c->p.keep_alive && used == (size_t)r && !ended &&
                       ((size_t)r < sizeof n->rbuf || ne_drained(c));
            ne_finish(n, c, CURLE_OK, keep, now, locked);
            return;
        }
        if (rc == HTTP1_ERROR) {
            ne_finish(n, c, CURLE_WEIRD_SERVER_REPLY, 0, now, locked);
            return;
        }
        if ((size_t)r < sizeof n->rbuf && !ended)
            return; /* drained: what comes next brings an event */
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
    c->rq = t->cur;
    c->prev = n->last;
    c->next = NULL;
    if (n->last)
        n->last->next = c;
    else
        n->first = c;
    n->last = c;
    int code = 0;
    if (t->e->reqs[c->rq].templated) {
        code = ne_expand(n, c);
    } else {
        c->req = n->req[c->rq];
        c->req_len = n->req_len[c->rq];
    }
    if (code == 0)
        code = ne_start(n, c);
    if (code == 0)
        return 0;
    int locked = 0;
    ne_fail(n, c, code, now, &locked);
    eng_unlock(t, &locked);
    return 1;
}

/* Fail the requests past their timeout: the oldest are first in line.
 * Then release the stats lock the events of the turn before took. */
static void ne_progress(struct eng_thread *t, int64_t now)
{
    struct ne_thread *n = t->be;
    int64_t to = t->e->conf.timeout_ms * 1000;
    while (n->first && now - n->first->queued_us >= to)
        ne_finish(n, n->first, CURLE_OPERATION_TIMEDOUT, 0, now, &n->locked);
    eng_unlock(t, &n->locked);
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
    int *locked = &n->locked; /* released by ne_progress */
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
                ne_finish(n, c, code, 0, now, locked);
        } else if (soerr != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            int code = CURLE_COULDNT_CONNECT;
            int next = c->addr + 1;
            ne_close(n, c);
            /* The next address, unless every one was tried. */
            while (next % n->ra.n != n->good && code != 0 && code != CURLE_OUT_OF_MEMORY)
                code = ne_connect(n, c, next++ % n->ra.n);
            if (code)
                ne_finish(n, c, code, 0, now, locked);
        }
    } else {
        if (c->state == NE_WRITING && (events & EPOLLOUT)) {
            int code = ne_write(n, c);
            if (code) {
                ne_fail(n, c, code, now, locked);
                return;
            }
        }
        if ((c->state == NE_WRITING || c->state == NE_READING) &&
            (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            ne_read(n, c, events, now, locked);
    }
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
    for (int64_t i = 0; n->conns && i < t->inflight_max; i++) {
        struct ne_conn *c = &n->conns[i];
        if (c->fd >= 0)
            close(c->fd);
        if (c->wb)
            free(c->wb->p);
        free(c->wb);
        free(c->cap);
    }
    free(n->conns);
    free(n->byfd);
    for (int i = 0; n->req && i < t->e->n_reqs; i++)
        free(n->req[i]);
    free(n->req);
    free(n->req_len);
    free(n->host);
    free(n->x_url.p);
    free(n->x_body.p);
    free(n->x_hdr.p);
    free(n->x_target.p);
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
    .spin_us = 30,
};
