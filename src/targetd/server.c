#define _GNU_SOURCE /* getaddrinfo, NI_*, SOCK_NONBLOCK, eventfd */
#include "server.h"

#include "clock.h"
#include "delay.h"
#include "jsonobj.h"
#include "log.h"
#include "rng.h"

#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define SERVER_BACKLOG 4096

/* The fixed responses, built once and shared by every request (libmicrohttpd
 * reference-counts them). Each exists twice: as is, and with
 * "Connection: close" for use while the server stops. */
enum server_resp {
    RESP_OK,
    RESP_INJECTED,
    RESP_NOT_FOUND,
    RESP_METHOD,
    RESP_TOO_LARGE,
    RESP_BAD_FORMAT,
    RESP_COUNT
};

enum server_route {
    ROUTE_PING,
    ROUTE_METRICS,
    ROUTE_TEST,
    ROUTE_NOT_FOUND,
    ROUTE_METHOD, /* a known path, a method other than GET, HEAD or POST */
    ROUTE_BAD_FRAMING
};

/* One event loop: a libmicrohttpd daemon in external-epoll mode, its timer
 * set, and the thread that runs both; every call into the daemon and the
 * timers happens on that thread. libmicrohttpd 0.9.75's own internal thread
 * is not used: when one epoll_wait returns exactly its batch size (128
 * events) it waits again, with the full timeout, before handling them, so a
 * closed-loop load of 128 or 256 connections stalls. Run from outside, its
 * epoll_wait never blocks. */
struct loop {
    struct server *srv;
    struct MHD_Daemon *mhd;
    struct delay *delay; /* NULL without --delay-ms */
    int epfd;            /* libmicrohttpd's epoll, the timer, the wake-up */
    int wakefd;          /* eventfd: the server is stopping */
    int64_t active;      /* requests between first call and completion */
    int64_t left;        /* requests unfinished when the loop ended */
    pthread_t thread;
    int started;
};

enum { EV_MHD = 1, EV_TIMER, EV_WAKE };

struct server {
    struct server_config cfg; /* host is not kept */
    struct loop *loops;
    unsigned nloops;
    struct MHD_Response *resp[RESP_COUNT][2];
    struct metrics m;
    struct jsonobj test; /* what /test holds */
    int test_ready;      /* test was initialised */
    atomic_int stopping; /* release-stored after deadline_us */
    atomic_int serving;  /* daemons are up: their messages are about clients now */
    int64_t deadline_us; /* end of the grace period */
    int listen_fd;       /* shared by every loop's daemon; closed once, last */
    int shut;            /* server_shutdown has run */
    char address[NI_MAXHOST + NI_MAXSERV + 8];
};

/* One connection's request state, reset by each request's first handler
 * call (requests on a connection come one after another). Allocated when
 * the connection opens and freed when it closes, not per request. */
struct req {
    struct MHD_Connection *conn;
    uint64_t body;          /* bytes of body discarded so far */
    char *buf;              /* a POST /test body, kept (else NULL) */
    size_t len, cap;        /* of buf */
    unsigned char keep;     /* keep the body: a POST /test */
    unsigned char route;    /* enum server_route */
    unsigned char waiting;  /* suspended for its delay (or just resumed) */
    unsigned char answered; /* a response was queued */
};

__attribute__((format(printf, 2, 0))) static void server_mhd_log(void *cls, const char *fmt,
                                                                 va_list ap)
{
    struct server *s = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    /* Once serving, libmicrohttpd mostly reports what clients did wrong; one
     * line per bad request must not flood the log. */
    log_msg(atomic_load(&s->serving) ? LOGL_DEBUG : LOGL_WARN, "libmicrohttpd: %s", line);
}

static int server_stopping(struct server *s)
{
    return atomic_load_explicit(&s->stopping, memory_order_relaxed) != 0;
}

static enum MHD_Result server_queue(struct server *s, struct MHD_Connection *conn, unsigned code,
                                    enum server_resp id)
{
    return MHD_queue_response(conn, code, s->resp[id][server_stopping(s)]);
}

/* Answer a /ping: 200, or 500 for a fraction error_rate. */
static enum MHD_Result server_ping_answer(struct server *s, struct MHD_Connection *conn,
                                          struct req *r)
{
    int fail = s->cfg.error_rate > 0 && rng_unit(rng_next()) < s->cfg.error_rate;
    enum MHD_Result rc = server_queue(s, conn, fail ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_OK,
                                      fail ? RESP_INJECTED : RESP_OK);
    if (rc == MHD_YES) {
        r->answered = 1;
        metrics_add(&s->m.responses);
        if (fail)
            metrics_add(&s->m.errors);
    }
    return rc;
}

static enum MHD_Result server_ping(struct loop *l, struct MHD_Connection *conn, struct req *r)
{
    struct server *s = l->srv;
    if (r->waiting || !l->delay || server_stopping(s))
        return server_ping_answer(s, conn, r);
    const struct delayspec *d = &s->cfg.delay;
    int64_t us = d->min_us == d->max_us ? d->min_us : delayspec_draw(d, rng_next());
    if (us <= 0 || delay_add(l->delay, clock_mono_us() + us, r) != 0)
        return server_ping_answer(s, conn, r);
    /* The timer fires on this same thread, after this handler has
     * returned: the suspend always comes before its resume. */
    r->waiting = 1;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

static enum MHD_Result server_metrics(struct server *s, struct MHD_Connection *conn)
{
    const char *format = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    enum metrics_format f = metrics_pick_format(format, accept);
    if (f == METRICS_BAD_FORMAT) {
        metrics_add(&s->m.rejected);
        return server_queue(s, conn, MHD_HTTP_BAD_REQUEST, RESP_BAD_FORMAT);
    }
    struct metrics_snapshot snap;
    server_snapshot(s, &snap);
    char buf[METRICS_TEXT_MAX];
    int n = f == METRICS_JSON ? metrics_json(&snap, buf, sizeof buf)
                              : metrics_prometheus(&snap, buf, sizeof buf);
    if (n < 0)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, buf, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            f == METRICS_JSON ? "application/json"
                                              : "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (server_stopping(s))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Every route takes GET, HEAD and POST. libmicrohttpd answers a HEAD with
 * the headers of the response queued for it (Content-Length included) and
 * leaves the body out. */
static enum server_route server_route_of(const char *url, const char *method)
{
    enum server_route route;
    if (strcmp(url, "/ping") == 0)
        route = ROUTE_PING;
    else if (strcmp(url, "/metrics") == 0)
        route = ROUTE_METRICS;
    else if (strcmp(url, "/test") == 0)
        route = ROUTE_TEST;
    else
        return ROUTE_NOT_FOUND;
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_POST) == 0 ||
        strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
        return route;
    return ROUTE_METHOD;
}

/* What the headers say about the body's length. */
struct framing {
    unsigned content_length;    /* Content-Length headers */
    unsigned transfer_encoding; /* Transfer-Encoding headers */
    int chunked;                /* the last one is exactly "chunked" */
};

static enum MHD_Result server_framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                             const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->content_length++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        f->chunked = value && strcasecmp(value, "chunked") == 0;
    }
    return MHD_YES;
}

/* Why the body's length is ambiguous, or NULL when it is not. libmicrohttpd
 * 0.9.75 takes the first of several Content-Length headers and lets
 * chunked win over Content-Length, so a peer reading the other one would
 * see the rest of the body as a second request: refuse them all. */
static const char *server_bad_framing(struct MHD_Connection *conn)
{
    struct framing f = {0, 0, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, server_framing_header, &f);
    if (f.content_length > 1)
        return "more than one Content-Length header";
    if (f.content_length && f.transfer_encoding)
        return "both Content-Length and Transfer-Encoding";
    if (f.transfer_encoding > 1)
        return "more than one Transfer-Encoding header";
    if (f.transfer_encoding && !f.chunked)
        return "unsupported Transfer-Encoding (only chunked is read)";
    return NULL;
}

/* Queue {"error": msg} with code; closing adds "Connection: close". */
static enum MHD_Result server_json_error(struct MHD_Connection *conn, unsigned code,
                                         const char *msg, int closing)
{
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\": \"%s\"}\n", msg);
    if (n < 0 || (size_t)n >= sizeof body)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
            MHD_YES ||
        (closing &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Keep n more bytes of a POST /test body (the caller has held it to
 * --max-body). 0, or -1 when out of memory. */
static int server_keep_body(struct req *r, const char *data, size_t n)
{
    if (r->cap - r->len < n) {
        size_t want = r->cap ? r->cap : 4096;
        while (want - r->len < n)
            want *= 2;
        char *b = realloc(r->buf, want);
        if (!b)
            return -1;
        r->buf = b;
        r->cap = want;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return 0;
}

static void server_drop_body(struct req *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}

/* Queue a JSON text (malloc'd; freed by libmicrohttpd) with code. */
static enum MHD_Result server_json_text(struct server *s, struct MHD_Connection *conn,
                                        unsigned code, char *text, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") !=
            MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
        (server_stopping(s) &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* /test: POST merges a JSON object into the one held and returns the
 * result; GET (and HEAD) return the object held. */
static enum MHD_Result server_test(struct server *s, struct MHD_Connection *conn, struct req *r)
{
    char *text;
    size_t len;
    if (!r->keep) {
        text = jsonobj_get(&s->test, &len);
        return text ? server_json_text(s, conn, MHD_HTTP_OK, text, len) : MHD_NO;
    }
    char err[160];
    enum jsonobj_rc rc =
        jsonobj_merge(&s->test, r->buf ? r->buf : "", r->len, &text, &len, err, sizeof err);
    server_drop_body(r);
    if (rc == JSONOBJ_OK)
        return server_json_text(s, conn, MHD_HTTP_OK, text, len);
    metrics_add(&s->m.rejected);
    unsigned code = rc == JSONOBJ_BAD         ? MHD_HTTP_BAD_REQUEST
                    : rc == JSONOBJ_TOO_LARGE ? MHD_HTTP_CONTENT_TOO_LARGE
                                              : MHD_HTTP_INTERNAL_SERVER_ERROR;
    return server_json_error(conn, code, err, server_stopping(s));
}

/* A Content-Length already over the limit is refused before any body is
 * read (libmicrohttpd has validated the number's syntax). */
static int server_declared_too_large(struct server *s, struct MHD_Connection *conn)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return 0;
    errno = 0;
    unsigned long long v = strtoull(cl, NULL, 10);
    return errno == ERANGE || v > s->cfg.max_body;
}

/* libmicrohttpd calls this once when the headers are in, once per piece of
 * body, and once more when the request is complete; a suspended request is
 * called again after its resume. Responses are queued on the final call,
 * never the first: a response queued on the first call goes out with
 * "Connection: close" in libmicrohttpd 0.9.75, and keep-alive is lost. */
static enum MHD_Result server_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct loop *l = cls;
    struct server *s = l->srv;
    struct req *r = *con_cls;
    if (!r) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r = ci ? ci->socket_context : NULL;
        if (!r)
            return MHD_NO; /* its allocation failed when it opened */
        r->body = 0;
        r->route = (unsigned char)server_route_of(url, method);
        r->waiting = 0;
        r->answered = 0;
        r->keep = r->route == ROUTE_TEST && strcmp(method, MHD_HTTP_METHOD_POST) == 0;
        r->len = 0;
        *con_cls = r;
        l->active++;
        const char *bad = server_bad_framing(conn);
        if (bad) {
            /* Answered now, and the connection closes: whatever follows
             * the headers cannot be told apart from a next request. */
            r->route = ROUTE_BAD_FRAMING;
            metrics_add(&s->m.rejected);
            return server_json_error(conn, MHD_HTTP_BAD_REQUEST, bad, 1);
        }
        if (r->route == ROUTE_PING)
            metrics_add(&s->m.requests);
        /* A GET with a body is still held to the limit as the body is read
         * (below); only the other methods pay for the header lookup. */
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && server_declared_too_large(s, conn)) {
            /* Here the first call is right: the connection must close, as
             * the unread body cannot be skipped. */
            enum MHD_Result rc = server_queue(s, conn, MHD_HTTP_CONTENT_TOO_LARGE, RESP_TOO_LARGE);
            if (rc == MHD_YES && r->route == ROUTE_PING) {
                r->answered = 1;
                metrics_add(&s->m.responses);
            } else if (rc == MHD_YES) {
                metrics_add(&s->m.rejected);
            }
            return rc;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Read and discard. A chunked body that grows past the limit has no
         * clean answer left: drop the connection. */
        size_t n = *upload_data_size;
        r->body += n;
        *upload_data_size = 0;
        if (r->body > s->cfg.max_body)
            return MHD_NO;
        return r->keep && server_keep_body(r, upload_data, n) ? MHD_NO : MHD_YES;
    }
    switch ((enum server_route)r->route) {
    case ROUTE_PING:
        return server_ping(l, conn, r);
    case ROUTE_METRICS:
        return server_metrics(s, conn);
    case ROUTE_TEST:
        return server_test(s, conn, r);
    case ROUTE_METHOD:
        metrics_add(&s->m.rejected);
        return server_queue(s, conn, MHD_HTTP_METHOD_NOT_ALLOWED, RESP_METHOD);
    case ROUTE_BAD_FRAMING:
        return MHD_NO; /* answered on the first call; never reached */
    case ROUTE_NOT_FOUND:
    default:
        metrics_add(&s->m.rejected);
        return server_queue(s, conn, MHD_HTTP_NOT_FOUND, RESP_NOT_FOUND);
    }
}

static void server_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                             enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct loop *l = cls;
    struct req *r = *con_cls;
    if (!r)
        return;
    if (r->route == ROUTE_PING && !r->answered)
        metrics_add(&l->srv->m.aborted);
    server_drop_body(r);
    l->active--;
    *con_cls = NULL; /* r belongs to the connection */
}

static void server_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                               enum MHD_ConnectionNotificationCode toe)
{
    struct loop *l = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        /* On failure the context stays NULL and the handler refuses the
         * connection's requests. */
        struct req *r = calloc(1, sizeof *r);
        if (r)
            r->conn = conn;
        *socket_context = r;
        atomic_fetch_add_explicit(&l->srv->m.connections, 1, memory_order_relaxed);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (*socket_context)
            server_drop_body(*socket_context);
        free(*socket_context);
        *socket_context = NULL;
        atomic_fetch_sub_explicit(&l->srv->m.connections, 1, memory_order_relaxed);
    }
}

/* The timer's callback, on the loop's thread: the delay is over. */
static void server_fire(void *opaque, void *item)
{
    (void)opaque;
    struct req *r = item;
    MHD_resume_connection(r->conn);
}

/* How long the loop may sleep: libmicrohttpd's own timeout (0 while it has
 * buffered work), and no later than the grace deadline when stopping. */
static int server_loop_timeout(struct loop *l, int stopping)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;
    long long t = MHD_get_timeout(l->mhd, &ms) == MHD_YES ? (long long)ms : -1;
    if (stopping) {
        long long left = (l->srv->deadline_us - clock_mono_us() + 999) / 1000;
        if (left < 0)
            left = 0;
        if (t < 0 || left < t)
            t = left;
    }
    return t > INT_MAX ? INT_MAX : (int)t;
}

static void *server_loop_run(void *arg)
{
    struct loop *l = arg;
    struct server *s = l->srv;
    int quiesced = 0;
    for (;;) {
        int stopping = atomic_load_explicit(&s->stopping, memory_order_acquire);
        if (stopping && !quiesced) {
            /* Accept nothing more; the listening socket stays open until
             * every loop is done (server_shutdown closes it). Delayed
             * requests are answered now. */
            MHD_quiesce_daemon(l->mhd);
            if (l->delay) {
                size_t early = delay_fire_all(l->delay);
                if (early)
                    log_info("answering %zu delayed requests now", early);
            }
            quiesced = 1;
            MHD_run(l->mhd);
        }
        if (stopping && (l->active <= 0 || clock_mono_us() >= s->deadline_us))
            break;
        struct epoll_event ev[4];
        int n = epoll_wait(l->epfd, ev, 4, server_loop_timeout(l, stopping));
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u32 == EV_TIMER) {
                delay_run(l->delay, clock_mono_us());
            } else if (ev[i].data.u32 == EV_WAKE) {
                uint64_t v;
                ssize_t got = read(l->wakefd, &v, sizeof v);
                (void)got; /* only the wake-up matters */
            }
        }
        MHD_run(l->mhd);
    }
    l->left = l->active;
    /* Nothing is suspended now (all timers fired), as MHD_stop_daemon
     * requires; it closes every connection left. */
    MHD_stop_daemon(l->mhd);
    l->mhd = NULL;
    return NULL;
}

static struct MHD_Response *server_fixed(const char *body, const char *type, const char *allow,
                                         int closing)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return NULL;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
        (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES) ||
        (closing &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)) {
        MHD_destroy_response(resp);
        return NULL;
    }
    return resp;
}

static int server_make_responses(struct server *s)
{
    static const struct {
        const char *body;
        const char *type;
        const char *allow;
    } fixed[RESP_COUNT] = {
        [RESP_OK] = {"OK", "text/plain", NULL},
        [RESP_INJECTED] = {"{\"error\": \"injected failure (--error-rate)\"}\n", "application/json",
                           NULL},
        [RESP_NOT_FOUND] = {"{\"error\": \"not found\"}\n", "application/json", NULL},
        [RESP_METHOD] = {"{\"error\": \"method not allowed (use GET, HEAD or POST)\"}\n",
                         "application/json", "GET, HEAD, POST"},
        [RESP_TOO_LARGE] = {"{\"error\": \"request body too large\"}\n", "application/json", NULL},
        [RESP_BAD_FORMAT] = {"{\"error\": \"unknown format (use json or prometheus)\"}\n",
                             "application/json", NULL},
    };
    for (int i = 0; i < RESP_COUNT; i++) {
        for (int closing = 0; closing < 2; closing++) {
            s->resp[i][closing] =
                server_fixed(fixed[i].body, fixed[i].type, fixed[i].allow, closing);
            if (!s->resp[i][closing])
                return -1;
        }
    }
    return 0;
}

/* Bind and listen on host:port; fill s->listen_fd and s->address. */
static int server_listen(struct server *s, const char *host, int port, char *err, size_t errlen)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int v6 = strchr(host, ':') != NULL;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "cannot listen on %s%s%s:%d: %s", v6 ? "[" : "", host, v6 ? "]" : "",
                 port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SERVER_BACKLOG) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s%s%s:%d: %s", v6 ? "[" : "", host, v6 ? "]" : "",
                 port, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[NI_MAXHOST], p[NI_MAXSERV];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(err, errlen, "cannot read the bound address: %s", strerror(errno));
        close(fd);
        return -1;
    }
    int is6 = ss.ss_family == AF_INET6;
    snprintf(s->address, sizeof s->address, "%s%s%s:%s", is6 ? "[" : "", h, is6 ? "]" : "", p);
    s->listen_fd = fd;
    return 0;
}

static int server_watch(int epfd, int fd, uint32_t tag)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Set up loop l (daemon, timers, epoll); its thread is started later. */
static int server_loop_init(struct server *s, struct loop *l, unsigned conn_limit, char *err,
                            size_t errlen)
{
    l->srv = s;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epfd < 0 || l->wakefd < 0) {
        snprintf(err, errlen, "cannot create an event loop: %s", strerror(errno));
        return -1;
    }
    if (s->cfg.delay.max_us > 0 && delay_create(server_fire, l, &l->delay, err, errlen))
        return -1;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    /* Every loop's daemon accepts on the same listening socket; each is
     * quiesced before it stops, so none of them closes it (server_shutdown
     * does, once). */
    l->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, server_handle, l, MHD_OPTION_EXTERNAL_LOGGER, server_mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        s->cfg.conn_memory, MHD_OPTION_NOTIFY_COMPLETED, server_completed, l,
        MHD_OPTION_NOTIFY_CONNECTION, server_conn_notify, l, MHD_OPTION_END);
    if (!l->mhd) {
        snprintf(err, errlen, "libmicrohttpd could not start on %s (see the log above)",
                 s->address);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || server_watch(l->epfd, info->epoll_fd, EV_MHD) ||
        server_watch(l->epfd, l->wakefd, EV_WAKE) ||
        (l->delay && server_watch(l->epfd, delay_fd(l->delay), EV_TIMER))) {
        snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int server_create(const struct server_config *cfg, struct server **out, char *err, size_t errlen)
{
    *out = NULL;
    struct server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->cfg = *cfg;
    s->cfg.host = NULL;
    s->listen_fd = -1;
    atomic_init(&s->stopping, 0);
    atomic_init(&s->serving, 0);
    metrics_init(&s->m, clock_mono_us());
    unsigned n = cfg->threads ? cfg->threads : 1;
    s->loops = calloc(n, sizeof *s->loops);
    s->test_ready = jsonobj_init(&s->test, (size_t)cfg->max_body) == 0;
    if (!s->loops || !s->test_ready || server_make_responses(s)) {
        snprintf(err, errlen, "out of memory");
        server_destroy(s);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        s->loops[i].epfd = -1;
        s->loops[i].wakefd = -1;
    }
    s->nloops = n;
    if (server_listen(s, cfg->host, cfg->port, err, errlen)) {
        server_destroy(s);
        return -1;
    }
    /* Each daemon takes its share of the connection limit. */
    unsigned share = cfg->max_connections / n ? cfg->max_connections / n : 1;
    for (unsigned i = 0; i < n; i++) {
        if (server_loop_init(s, &s->loops[i], share, err, errlen)) {
            server_destroy(s);
            return -1;
        }
    }
    atomic_store(&s->serving, 1);
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&s->loops[i].thread, NULL, server_loop_run, &s->loops[i]);
        if (rc) {
            snprintf(err, errlen, "cannot start an event-loop thread: %s", strerror(rc));
            server_destroy(s);
            return -1;
        }
        s->loops[i].started = 1;
    }
    *out = s;
    return 0;
}

const char *server_address(const struct server *s)
{
    return s->address;
}

void server_snapshot(struct server *s, struct metrics_snapshot *out)
{
    metrics_snapshot(&s->m, clock_mono_us(), out);
}

uint64_t server_shutdown(struct server *s, int64_t grace_us)
{
    if (s->shut)
        return 0;
    s->shut = 1;
    s->deadline_us = clock_mono_us() + grace_us;
    atomic_store_explicit(&s->stopping, 1, memory_order_release);
    uint64_t left = 0;
    for (unsigned i = 0; i < s->nloops; i++) {
        struct loop *l = &s->loops[i];
        if (!l->started)
            continue;
        uint64_t one = 1;
        ssize_t put = write(l->wakefd, &one, sizeof one);
        (void)put; /* cannot fail: the counter is far from overflow */
    }
    for (unsigned i = 0; i < s->nloops; i++) {
        struct loop *l = &s->loops[i];
        if (!l->started)
            continue;
        pthread_join(l->thread, NULL);
        l->started = 0;
        left += l->left > 0 ? (uint64_t)l->left : 0;
    }
    return left;
}

void server_destroy(struct server *s)
{
    if (!s)
        return;
    server_shutdown(s, 0);
    for (unsigned i = 0; i < s->nloops; i++) {
        struct loop *l = &s->loops[i];
        if (l->mhd) {
            /* Never run (a failed start): quiesce so that it leaves the
             * shared listening socket open, then stop. */
            MHD_quiesce_daemon(l->mhd);
            MHD_stop_daemon(l->mhd);
        }
        delay_destroy(l->delay);
        if (l->epfd >= 0)
            close(l->epfd);
        if (l->wakefd >= 0)
            close(l->wakefd);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (int i = 0; i < RESP_COUNT; i++) {
        for (int closing = 0; closing < 2; closing++) {
            if (s->resp[i][closing])
                MHD_destroy_response(s->resp[i][closing]);
        }
    }
    if (s->test_ready)
        jsonobj_destroy(&s->test);
    free(s->loops);
    free(s);
}
