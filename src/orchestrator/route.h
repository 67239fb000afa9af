/* route: map an HTTP method and path onto the REST API's endpoints.
 *
 * Pure and allocation-free; the caller owns every buffer. */
#ifndef ORCH_ROUTE_H
#define ORCH_ROUTE_H

#include "ids.h"

#include <stddef.h>

enum route_id {
    ROUTE_NONE = 0,
    ROUTE_START_ORIGINAL, /* POST /startLoadTest */
    ROUTE_TESTS,          /* GET (list) and POST (create) /api/tests */
    ROUTE_TEST,           /* GET /api/tests/{id} */
    ROUTE_TIMESERIES,     /* GET /api/tests/{id}/timeseries */
    ROUTE_STOP,           /* POST /api/tests/{id}/stop */
    ROUTE_DRIVERS,        /* GET /api/drivers */
    ROUTE_EVENTS,         /* GET /api/events */
    ROUTE_METRICS,        /* GET /metrics */
    ROUTE_INDEX,          /* GET / and /index.html */
    ROUTE_STATIC          /* GET /static/{path} */
};

#define ROUTE_ARG_MAX 256

struct route_match {
    enum route_id id;
    /* The test id (ROUTE_TEST, _TIMESERIES, _STOP) or the file path under
     * /static/ (ROUTE_STATIC); "" otherwise. */
    char arg[ROUTE_ARG_MAX];
    /* The methods the path takes, for an Allow header: "GET", "POST" or
     * "GET, POST". HEAD is accepted wherever GET is. */
    const char *allow;
};

/* Match method and path (no query string). Returns 200 with *out filled,
 * 404 when no endpoint has that path (or a test id is malformed), or 405
 * when the path exists but not for that method (out->id and out->allow are
 * then set). Can't fail otherwise. */
int route_match(const char *method, const char *path, struct route_match *out);

/* Decode the %XX escapes of s in place (a malformed one stays as it is),
 * as libmicrohttpd does for a path or a query, except %00: that stays the
 * three characters "%00" (so that nothing can cut the path short) and sets
 * *nul to 1 (else 0). Returns the new length. */
size_t route_unescape(char *s, int *nul);

#endif
