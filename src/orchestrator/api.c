#define _POSIX_C_SOURCE 200809L
#include "api.h"

#include "apibody.h"
#include "clock.h"
#include "log.h"
#include "opts.h"
#include "route.h"
#include "web.h"

#include <ctype.h>
#include <errno.h>
#include <linux/tcp.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define API_LIST_DEFAULT 100
#define API_LIST_MAX 10000
#define API_SSE_WAIT_MS 1000
#define API_SSE_PING_US (15 * 1000000LL)
/* Idle keep-alive connections close after this long (libmicrohttpd's
 * inactivity timeout; a request in progress has conf.request_timeout_ms). */
#define API_IDLE_TIMEOUT_S 60
/* With more than 3/4 of the connections open, a request still arriving
 * after a tenth of its deadline (at least this long) is cut too, so that
 * slow requests from many addresses cannot hold every slot until their
 * deadline. */
#define API_PRESSURE_MIN_MS 100

/* Where a connection is, for the request deadline. */
enum api_phase {
    API_READING,   /* a request is arriving: it has conf.request_timeout_ms */
    API_IDLE,      /* keep-alive, between requests: no deadline */
    API_ANSWERING, /* the request is in; its answer (maybe an event stream) */
};

/* One per open connection (MHD's socket context), from its accept to its
 * close; on api.conns under api.mu. */
struct api_conn {
    struct api_conn *prev, *next;
    int fd;
    enum api_phase phase;
    int64_t since_us; /* when the phase began (API_READING: the request) */
    uint64_t mark;    /* bytes received when API_IDLE began */
    int mark_known;   /* 0: this kernel does not count them */
    int nul_escape;   /* the request's path or query holds %00 */
};

struct api {
    struct MHD_Daemon *d;
    struct ctl *ctl;
    struct sse_hub *hub;
    struct api_conf conf;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct api_conn *conns;
    unsigned n_conns;
    int stopping;
    int reaper_on;
    pthread_t reaper;
    long cut; /* connections shut down at the request deadline */
};

/* Per request, from the handler's first call to the completion callback. */
struct api_req {
    struct route_match rm;
    int route_status; /* 200, 404 or 405 */
    struct api_body body;
    int too_big;  /* declared (Content-Length) or offered over the limit */
    int has_body; /* a body was declared (Content-Length > 0, or chunked) */
    int answered; /* a response is queued */
};

/* ---- responses ----------------------------------------------------------- */

/* Set by the handler around an answer that must close the connection
 * (framing errors, answers given before the body was read). Each
 * connection has its own thread, so a thread-local does. */
static _Thread_local int api_close_after;

static enum MHD_Result api_queue(struct MHD_Connection *conn, unsigned status,
                                 struct MHD_Response *resp, const char *ctype, const char *allow)
{
    if (!resp)
        return MHD_NO;
    if (api_close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* Send o as JSON and delete it. */
static enum MHD_Result api_json(struct MHD_Connection *conn, unsigned status, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        return api_queue(
            conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
            MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT),
            "application/json", NULL);
    }
    /* Ownership of s passes to the response, which frees it with cJSON_free. */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(strlen(s), s, cJSON_free);
    if (!resp)
        cJSON_free(s);
    return api_queue(conn, status, resp, "application/json", NULL);
}

static enum MHD_Result api_error_allow(struct MHD_Connection *conn, unsigned status,
                                       const char *msg, const char *allow)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "error", msg)) {
        cJSON_Delete(o);
        o = NULL;
    }
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return api_json(conn, status, NULL);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(strlen(s), s, cJSON_free);
    if (!resp)
        cJSON_free(s);
    return api_queue(conn, status, resp, "application/json", allow);
}

__attribute__((format(printf, 3, 4))) static enum MHD_Result
api_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return api_error_allow(conn, status, msg, NULL);
}

/* ---- handlers -------------------------------------------------------------------- */

static enum MHD_Result api_ctl_reply(struct MHD_Connection *conn, int status, cJSON *o,
                                     const char *err)
{
    if (status >= 200 && status < 300)
        return api_json(conn, (unsigned)status, o);
    cJSON_Delete(o);
    return api_error(conn, (unsigned)status, "%s", err);
}

static enum MHD_Result api_create(struct api *a, struct MHD_Connection *conn, struct api_req *r,
                                  int original)
{
    struct msg_test_config cfg;
    int64_t min_drivers = 1;
    char err[512];
    struct verdict *v = malloc(sizeof *v);
    if (!v)
        return api_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    if (api_parse_test(r->body.data, r->body.len, original, &cfg, &min_drivers, v, err,
                       sizeof err) < 0) {
        free(v);
        return api_error(conn, MHD_HTTP_BAD_REQUEST, "%s", err);
    }
    cJSON *o = NULL;
    int status = ctl_test_create(a->ctl, &cfg, min_drivers, v, &o, err, sizeof err);
    free(v);
    msg_test_config_free(&cfg);
    if (status != 201 || !original)
        return api_ctl_reply(conn, status, o, err);
    /* The original client's answer. */
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "test_id");
    char msg[160];
    snprintf(msg, sizeof msg, "Load test started with Test ID: %s",
             cJSON_IsString(id) ? id->valuestring : "");
    cJSON *ans = cJSON_CreateObject();
    if (ans &&
        (!cJSON_AddStringToObject(ans, "message", msg) ||
         !cJSON_AddStringToObject(ans, "test_id", cJSON_IsString(id) ? id->valuestring : ""))) {
        cJSON_Delete(ans);
        ans = NULL;
    }
    cJSON_Delete(o);
    return api_json(conn, MHD_HTTP_OK, ans);
}

static enum MHD_Result api_list(struct api *a, struct MHD_Connection *conn)
{
    int64_t limit = API_LIST_DEFAULT;
    const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    char err[256];
    if (q && opt_parse_int64(q, 1, API_LIST_MAX, &limit, err, sizeof err) < 0)
        return api_error(conn, MHD_HTTP_BAD_REQUEST, "limit: %s", err);
    cJSON *o = NULL;
    int status = ctl_tests_list(a->ctl, (int)limit, &o, err, sizeof err);
    return api_ctl_reply(conn, status, o, err);
}

static enum MHD_Result api_metrics(struct api *a, struct MHD_Connection *conn)
{
    char *text = NULL;
    char err[256];
    int status = ctl_prometheus(a->ctl, &text, err, sizeof err);
    if (status != 200)
        return api_error(conn, (unsigned)status, "%s", err);
    /* Ownership of text passes to the response. */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (!resp)
        free(text);
    return api_queue(conn, MHD_HTTP_OK, resp, "text/plain; version=0.0.4; charset=utf-8", NULL);
}

static enum MHD_Result api_file(struct MHD_Connection *conn, const char *path)
{
    const struct web_file *f = web_find(path);
    if (!f)
        return api_error(conn, MHD_HTTP_NOT_FOUND, "no such file: %s", path);
    /* Embedded data lives as long as the program. */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(f->size, (void *)f->data, MHD_RESPMEM_PERSISTENT);
    return api_queue(conn, MHD_HTTP_OK, resp, f->content_type, NULL);
}

/* ---- server-sent events ------------------------------------------------------------ */

struct api_stream {
    struct sse_client *cl;
    int64_t last_us;
};

static ssize_t api_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct api_stream *s = cls;
    for (;;) {
        ssize_t n = sse_client_read(s->cl, buf, max, API_SSE_WAIT_MS);
        int64_t now = clock_mono_us();
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n > 0) {
            s->last_us = now;
            return n;
        }
        if (now - s->last_us >= API_SSE_PING_US) {
            static const char ping[] = ": ping\n\n";
            if (max < sizeof ping - 1)
                continue;
            memcpy(buf, ping, sizeof ping - 1);
            s->last_us = now;
            return (ssize_t)(sizeof ping - 1);
        }
    }
}

static void api_stream_free(void *cls)
{
    struct api_stream *s = cls;
    sse_client_close(s->cl);
    free(s);
}

static enum MHD_Result api_events(struct api *a, struct MHD_Connection *conn)
{
    struct api_stream *s = calloc(1, sizeof *s);
    if (!s)
        return api_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    s->cl = sse_client_open(a->hub);
    if (!s->cl) {
        free(s);
        return api_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "too many event streams open; try again later");
    }
    s->last_us = clock_mono_us();
    sse_client_push_raw(s->cl, "retry: 2000\n\n");
    ctl_sse_hello(a->ctl, s->cl);
    /* Ownership of s passes to the response (api_stream_free). */
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 16 * 1024, api_stream_read, s, api_stream_free);
    if (!resp) {
        api_stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    return api_queue(conn, MHD_HTTP_OK, resp, "text/event-stream", NULL);
}

/* ---- dispatch ---------------------------------------------------------------------- */

/* 1 when the request may change state: no token configured, or the right
 * "Authorization: Bearer TOKEN". The comparison takes the same time
 * wherever the first difference is. */
static int api_authorized(const struct api *a, struct MHD_Connection *conn)
{
    if (!a->conf.token)
        return 1;
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    const char *given = h + 7;
    size_t gl = strlen(given), tl = strlen(a->conf.token);
    unsigned char diff = gl != tl;
    for (size_t i = 0; i < gl; i++)
        diff |= (unsigned char)(given[i] ^ a->conf.token[i % (tl ? tl : 1)]);
    return diff == 0;
}

/* An answer that does not need the body, or MHD_YES + *decided = 0. */
static enum MHD_Result api_precheck(struct api *a, struct MHD_Connection *conn, struct api_req *r,
                                    const char *method, int *decided)
{
    *decided = 1;
    if (r->route_status == 404)
        return api_error(conn, MHD_HTTP_NOT_FOUND, "no such path");
    if (r->route_status == 405)
        return api_error_allow(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed here",
                               r->rm.allow);
    if (strcmp(method, "POST") == 0 && !api_authorized(a, conn))
        return api_error(conn, MHD_HTTP_UNAUTHORIZED,
                         "missing or wrong API token (send Authorization: Bearer TOKEN)");
    if (r->too_big)
        return api_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body is over the %zu byte limit",
                         a->conf.max_body);
    *decided = 0;
    return MHD_YES;
}

static enum MHD_Result api_dispatch(struct api *a, struct MHD_Connection *conn, struct api_req *r,
                                    const char *method)
{
    int decided = 0;
    enum MHD_Result ret = api_precheck(a, conn, r, method, &decided);
    if (decided)
        return ret;
    cJSON *o = NULL;
    char err[512];
    int status;
    switch (r->rm.id) {
    case ROUTE_START_ORIGINAL:
        return api_create(a, conn, r, 1);
    case ROUTE_TESTS:
        if (strcmp(method, "POST") == 0)
            return api_create(a, conn, r, 0);
        return api_list(a, conn);
    case ROUTE_TEST:
        status = ctl_test_get(a->ctl, r->rm.arg, &o, err, sizeof err);
        return api_ctl_reply(conn, status, o, err);
    case ROUTE_TIMESERIES:
        status = ctl_test_timeseries(a->ctl, r->rm.arg, &o, err, sizeof err);
        return api_ctl_reply(conn, status, o, err);
    case ROUTE_STOP:
        status = ctl_test_stop(a->ctl, r->rm.arg, &o, err, sizeof err);
        return api_ctl_reply(conn, status, o, err);
    case ROUTE_DRIVERS:
        status = ctl_drivers(a->ctl, &o, err, sizeof err);
        return api_ctl_reply(conn, status, o, err);
    case ROUTE_EVENTS:
        return api_events(a, conn);
    case ROUTE_METRICS:
        return api_metrics(a, conn);
    case ROUTE_INDEX:
        return api_file(conn, "index.html");
    case ROUTE_STATIC:
        return api_file(conn, r->rm.arg);
    case ROUTE_NONE:
        break;
    }
    return api_error(conn, MHD_HTTP_NOT_FOUND, "no such path");
}

/* ---- connections: the request deadline ------------------------------------ */

static struct api_conn *api_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Bytes the kernel has received on fd so far (Linux 4.1+), or -1. */
static int api_bytes_in(int fd, uint64_t *out)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return -1;
    *out = ti.tcpi_bytes_received;
    return 0;
}

static void api_phase(struct api *a, struct MHD_Connection *conn, enum api_phase ph)
{
    struct api_conn *c = api_conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&a->mu);
    if (c->phase != ph) {
        c->phase = ph;
        c->since_us = clock_mono_us();
        if (ph == API_IDLE)
            c->mark_known = api_bytes_in(c->fd, &c->mark) == 0;
    }
    pthread_mutex_unlock(&a->mu);
}

static void api_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode code)
{
    struct api *a = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct api_conn *c = calloc(1, sizeof *c);
        if (!c || !ci) {
            free(c);
            return; /* untracked: only libmicrohttpd's own timeout applies */
        }
        c->fd = ci->connect_fd;
        /* The first request is due from the accept on. */
        c->phase = API_READING;
        c->since_us = clock_mono_us();
        pthread_mutex_lock(&a->mu);
        c->next = a->conns;
        if (a->conns)
            a->conns->prev = c;
        a->conns = c;
        a->n_conns++;
        pthread_mutex_unlock(&a->mu);
        *socket_context = c;
        return;
    }
    struct api_conn *c = *socket_context;
    if (!c)
        return;
    /* Called before libmicrohttpd closes the socket: once unlinked here,
     * the reaper never touches the descriptor again. */
    pthread_mutex_lock(&a->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    a->n_conns--;
    pthread_mutex_unlock(&a->mu);
    free(c);
    *socket_context = NULL;
}

/* Shut down every connection whose request is not in by the deadline, with
 * a 408 when the socket takes it. libmicrohttpd then sees the end of the
 * stream and closes the connection itself. */
static void api_reap(struct api *a, int64_t now)
{
    int64_t limit_ms = a->conf.request_timeout_ms;
    if ((uint64_t)a->n_conns * 4 > (uint64_t)a->conf.max_conns * 3) {
        int64_t short_ms = limit_ms / 10;
        limit_ms = short_ms > API_PRESSURE_MIN_MS ? short_ms : API_PRESSURE_MIN_MS;
    }
    int64_t limit = limit_ms * 1000;
    for (struct api_conn *c = a->conns; c; c = c->next) {
        if (c->phase == API_IDLE && c->mark_known) {
            uint64_t n = 0;
            if (api_bytes_in(c->fd, &n) == 0 && n > c->mark) {
                c->phase = API_READING; /* the next request has begun */
                c->since_us = now;
            }
        }
        if (c->phase != API_READING || now - c->since_us < limit)
            continue;
        char body[160], msg[320];
        int bl =
            snprintf(body, sizeof body, "{\"error\":\"request not received within %lldms%s\"}",
                     (long long)limit_ms,
                     limit_ms < a->conf.request_timeout_ms ? " (the server is short of connections)"
                                                           : " (--request-timeout)");
        int ml = snprintf(msg, sizeof msg,
                          "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                          "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                          bl, body);
        if (ml > 0 && (size_t)ml < sizeof msg) {
            ssize_t w = send(c->fd, msg, (size_t)ml, MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)w; /* best effort: the shutdown is what counts */
        }
        shutdown(c->fd, SHUT_RDWR);
        c->phase = API_ANSWERING; /* cut once */
        a->cut++;
        log_debug("http: connection cut at the request deadline (%lld so far)", (long long)a->cut);
    }
}

static void *api_reaper(void *arg)
{
    struct api *a = arg;
    int64_t tick_ms = a->conf.request_timeout_ms / 10;
    if (tick_ms > 250)
        tick_ms = 250;
    if (tick_ms < 10)
        tick_ms = 10;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(tick_ms % 1000) * 1000000L;
        ts.tv_sec += (time_t)(tick_ms / 1000) + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        if (!a->stopping)
            api_reap(a, clock_mono_us());
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Percent-decoding of the path and the query (route_unescape): a request
 * whose path or query holds %00 is refused in api_first. */
static size_t api_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    int nul = 0;
    size_t n = route_unescape(s, &nul);
    if (nul) {
        struct api_conn *c = api_conn_of(conn);
        if (c)
            c->nul_escape = 1; /* only this connection's thread touches it */
    }
    return n;
}

/* ---- the request handler ---------------------------------------------------- */

struct api_framing {
    int n_length, n_encoding;
    const char *length, *encoding;
};

static enum MHD_Result api_count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    (void)kind;
    struct api_framing *f = cls;
    if (key && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->n_length++;
        f->length = value;
    } else if (key && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->n_encoding++;
        f->encoding = value;
    }
    return MHD_YES;
}

/* Digits only (spaces around them allowed); 0, or -1 when not a number or
 * over UINT64_MAX. */
static int api_parse_length(const char *s, uint64_t *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s)
        return -1;
    *out = v;
    return 0;
}

/* The first call, with the headers only. Returns MHD_YES with *decided = 0
 * to read the body, or the answer given at once. */
static enum MHD_Result api_first(struct api *a, struct MHD_Connection *conn, struct api_req *r,
                                 const char *method, int *decided)
{
    *decided = 1;
    struct api_conn *c = api_conn_of(conn);
    /* Framing: one Content-Length, or Transfer-Encoding chunked, never
     * both. Anything else could be read two ways; the connection closes. */
    struct api_framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, api_count_framing, &f);
    uint64_t declared = 0;
    const char *bad = NULL;
    unsigned status = MHD_HTTP_BAD_REQUEST;
    if (f.n_length > 1) {
        bad = "more than one Content-Length header";
    } else if (f.n_length && f.n_encoding) {
        bad = "both Content-Length and Transfer-Encoding are given";
    } else if (f.n_encoding > 1 || (f.n_encoding && strcasecmp(f.encoding, "chunked") != 0)) {
        bad = "the only Transfer-Encoding taken is chunked";
        status = MHD_HTTP_NOT_IMPLEMENTED;
    } else if (f.n_length && api_parse_length(f.length, &declared) < 0) {
        bad = "Content-Length is not a number";
    }
    if (bad) {
        api_close_after = 1;
        return api_error(conn, status, "%s", bad);
    }
    r->has_body = f.n_encoding > 0 || declared > 0;
    if (declared > a->conf.max_body)
        r->too_big = 1;
    /* Any answer from here on comes before the body: a body left unread
     * must not be taken for the next request, so the connection closes. */
    api_close_after = r->has_body;
    if (c && c->nul_escape)
        return api_error(conn, MHD_HTTP_BAD_REQUEST,
                         "the path or query holds an encoded NUL (%%00)");
    /* Refuse before the body is read when the client waits for
     * "100 Continue", or when the declared body is over the limit. */
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    int waits = expect && strcasecmp(expect, "100-continue") == 0;
    if (waits || r->too_big) {
        enum MHD_Result ret = api_precheck(a, conn, r, method, decided);
        if (*decided)
            return ret;
    }
    *decided = 0;
    return MHD_YES;
}

static enum MHD_Result api_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct api *a = cls;
    struct api_req *r = *con_cls;
    if (!r) {
        /* First call: only the headers are here. Answer on a later call,
         * unless the headers alone decide. */
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        api_body_init(&r->body, a->conf.max_body);
        *con_cls = r;
        api_phase(a, conn, API_READING);
        r->route_status = route_match(method, url, &r->rm);
        int decided = 0;
        api_close_after = 0;
        enum MHD_Result ret = api_first(a, conn, r, method, &decided);
        api_close_after = 0;
        if (decided) {
            r->answered = 1;
            api_phase(a, conn, API_ANSWERING);
        }
        return ret;
    }
    if (r->answered) {
        *upload_data_size = 0; /* answered already: the rest is dropped */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->route_status != 200)
            return MHD_YES; /* read and discard (bounded by the deadline) */
        if (api_body_feed(&r->body, upload_data, n) < 0)
            return MHD_NO;
        r->too_big = r->body.too_big;
        return MHD_YES;
    }
    r->answered = 1;
    api_phase(a, conn, API_ANSWERING);
    return api_dispatch(a, conn, r, method);
}

static void api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct api *a = cls;
    struct api_req *r = *con_cls;
    if (r) {
        api_body_close(&r->body);
        free(r);
        *con_cls = NULL;
    }
    struct api_conn *c = api_conn_of(conn);
    if (c)
        c->nul_escape = 0;
    api_phase(a, conn, API_IDLE);
}

/* libmicrohttpd logs once per refused connection: at most API_LOG_BURST
 * lines per API_LOG_WINDOW_US, the rest counted and reported later. */
#define API_LOG_BURST 20
#define API_LOG_WINDOW_US (10 * 1000000LL)
static pthread_mutex_t api_log_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t api_log_window_us;
static int api_log_n;
static long api_log_dropped;

__attribute__((format(printf, 2, 0))) static void api_mhd_log(void *cls, const char *fmt,
                                                              va_list ap)
{
    (void)cls;
    int64_t now = clock_mono_us();
    long dropped = 0;
    pthread_mutex_lock(&api_log_mu);
    if (now - api_log_window_us >= API_LOG_WINDOW_US) {
        dropped = api_log_dropped;
        api_log_dropped = 0;
        api_log_n = 0;
        api_log_window_us = now;
    }
    int quiet = api_log_n >= API_LOG_BURST;
    if (quiet)
        api_log_dropped++;
    else
        api_log_n++;
    pthread_mutex_unlock(&api_log_mu);
    if (dropped > 0)
        log_warn("http: %ld more message(s) were not logged", dropped);
    if (quiet)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http: %s", msg);
}

int api_start(const struct api_conf *conf, struct ctl *ctl, struct sse_hub *hub, struct api **out,
              char *err, size_t errlen)
{
    *out = NULL;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", conf->port);
    int gai = getaddrinfo(conf->host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "--listen %s: %s", conf->host, gai_strerror(gai));
        return -1;
    }
    struct api *a = calloc(1, sizeof *a);
    if (!a) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->ctl = ctl;
    a->hub = hub;
    a->conf = *conf;
    if (a->conf.request_timeout_ms <= 0)
        a->conf.request_timeout_ms = API_REQUEST_TIMEOUT_MS;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    a->d = MHD_start_daemon(
        flags, (uint16_t)conf->port, NULL, NULL, api_handler, a, MHD_OPTION_EXTERNAL_LOGGER,
        api_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
        conf->max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT, conf->max_conns_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
        api_completed, a, MHD_OPTION_NOTIFY_CONNECTION, api_notify_conn, a,
        MHD_OPTION_UNESCAPE_CALLBACK, api_unescape, a, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!a->d) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or not available?)",
                 conf->host, conf->port);
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return -1;
    }
    if (pthread_create(&a->reaper, NULL, api_reaper, a) != 0) {
        snprintf(err, errlen, "cannot start a thread");
        api_stop(a);
        return -1;
    }
    a->reaper_on = 1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info && info->port ? info->port : conf->port;
    *out = a;
    return 0;
}

int api_port(const struct api *a)
{
    return a->port;
}

void api_stop(struct api *a)
{
    if (!a)
        return;
    sse_hub_close(a->hub);
    if (a->reaper_on) {
        pthread_mutex_lock(&a->mu);
        a->stopping = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->reaper, NULL);
    }
    MHD_stop_daemon(a->d);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
