/* api: the REST API, server-sent events and dashboard files over HTTP
 * (libmicrohttpd, one thread per connection).
 *
 * Requests are answered on the handler's second call, so keep-alive holds.
 * Bodies are read as they arrive and refused with 413 past max_body without
 * being kept; a declared length over it is refused at once. A request with
 * two Content-Lengths, or Content-Length and Transfer-Encoding, is refused
 * and its connection closed. A request's headers and body must arrive
 * within request_timeout_ms (a reaper thread shuts down the connections
 * that are late, with a 408), or within a tenth of it while more than 3/4
 * of max_conns are open; idle keep-alive connections and event streams have
 * no such deadline. One client address holds at most
 * max_conns_per_ip connections. Event streams block on the SSE hub with a
 * timeout and end when it closes, so shutdown never waits on an open
 * stream. */
#ifndef ORCH_API_H
#define ORCH_API_H

#include "controller.h"
#include "sse.h"

#include <stddef.h>

struct api_conf {
    char host[256];
    int port;                   /* 0: any free port (see api_port) */
    const char *token;          /* NULL: POST needs no token; borrowed */
    size_t max_body;            /* bytes */
    unsigned max_conns;         /* concurrent connections (one thread each) */
    unsigned max_conns_per_ip;  /* of them from one client address; 0: no limit */
    int64_t request_timeout_ms; /* a request's headers and body must be in
                                   this long after it began (a new connection:
                                   after its accept); 0: API_REQUEST_TIMEOUT_MS */
};

#define API_REQUEST_TIMEOUT_MS 10000

struct api;

/* Listen and serve. ctl and hub are borrowed and must outlive the server.
 * Returns 0, or -1 with err (e.g. the address is in use). */
int api_start(const struct api_conf *conf, struct ctl *ctl, struct sse_hub *hub, struct api **out,
              char *err, size_t errlen);
/* The port actually listened on. */
int api_port(const struct api *a);
/* Close the event streams, stop accepting and wait for the connection
 * threads. Accepts NULL. */
void api_stop(struct api *a);

#endif
