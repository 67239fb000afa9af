/* server: target-server's HTTP side, libmicrohttpd in epoll mode.
 *
 * Routes, each taking GET, HEAD and POST: /ping answers 200 "OK", after an
 * optional delay and with an optional injected 500; /metrics reports the
 * counters of metrics.h as JSON or Prometheus text; /test holds a JSON
 * object that POST merges into (jsonobj.h) and GET returns. Anything else is 404, a wrong
 * method 405 with an Allow header, each with a JSON body {"error": "..."}.
 * A request whose body length is ambiguous (several Content-Length or
 * Transfer-Encoding headers, both, or a coding other than chunked) is 400
 * and its connection closes.
 *
 * Each of cfg.threads event loops runs a libmicrohttpd daemon (external
 * epoll mode) and a timer set (delay.h) on its own thread; the daemons
 * share the listening socket. A delayed request never holds a thread: its
 * connection is suspended, and its loop resumes it when the timer fires. */
#ifndef DLT_TARGET_SERVER_H
#define DLT_TARGET_SERVER_H

#include "delayspec.h"
#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

struct server_config {
    const char *host;         /* borrowed; a name or a numeric address */
    int port;                 /* 0 = any free port */
    unsigned threads;         /* event loops, each with its own thread */
    struct delayspec delay;   /* {0, 0} = none */
    double error_rate;        /* 0..1 */
    unsigned max_connections; /* MHD_OPTION_CONNECTION_LIMIT */
    unsigned timeout_s;       /* idle connection timeout, 0 = none */
    size_t conn_memory;       /* per-connection memory: request line + headers */
    uint64_t max_body;        /* request body bytes read, at most; /test's object too */
};

struct server;

/* Bind, listen and start the loops (the caller has blocked the signals it
 * waits for: the threads started here inherit the mask). Returns 0, or -1
 * with err filled (*out is then NULL). */
int server_create(const struct server_config *cfg, struct server **out, char *err, size_t errlen);

/* The bound address, "HOST:PORT" ("[V6]:PORT"), numeric. Borrowed. */
const char *server_address(const struct server *s);

/* Read the counters. Thread-safe; can't fail. */
void server_snapshot(struct server *s, struct metrics_snapshot *out);

/* Stop cleanly: accept no new connection, answer every delayed request at
 * once, answer later requests without delay and with "Connection: close",
 * wait up to grace_us for the requests under way to finish, then close
 * every connection and end the loops. Returns the number of requests that
 * were still unfinished (0 normally). Only the first call does anything. */
uint64_t server_shutdown(struct server *s, int64_t grace_us);

/* server_shutdown with no grace if it has not run, then free. Accepts NULL. */
void server_destroy(struct server *s);

#endif
