/* apibody: the REST API's request bodies, without the HTTP server.
 *
 * A body is gathered chunk by chunk up to a limit (past it, it is dropped
 * and remembered as too big: 413), then a test request is parsed from it.
 * Pure and free of libmicrohttpd, so that it can be unit-tested and fuzzed
 * (tests/fuzz/fuzz_api.c). */
#ifndef ORCH_APIBODY_H
#define ORCH_APIBODY_H

#include "msg.h"
#include "verdict.h"

#include <stddef.h>
#include <stdint.h>

struct api_body {
    char *data; /* NUL-terminated after len bytes; NULL while empty */
    size_t len;
    size_t max;  /* the limit */
    int too_big; /* more than max bytes were offered; data is dropped */
};

/* An empty body that holds at most max bytes. Can't fail. */
void api_body_init(struct api_body *b, size_t max);
/* Append n bytes. Past the limit the body is dropped and too_big set (the
 * rest is then counted as read and ignored). Returns 0, or -1 when out of
 * memory (the body is left as it was). */
int api_body_feed(struct api_body *b, const char *data, size_t n);
/* Free the data. Accepts a zeroed body. */
void api_body_close(struct api_body *b);

/* Parse a test request body (POST /api/tests, or POST /startLoadTest when
 * original is 1: no min_drivers, thresholds or abort_on_fail there) into
 * cfg (caller frees it with msg_test_config_free), min_drivers and, when v
 * is not NULL, the thresholds and abort_on_fail (verdict.h; they stay on
 * the orchestrator and are not sent to drivers). Returns 0, or -1 with the
 * reason for a 400 in err (cfg is then left empty). */
int api_parse_test(const char *body, size_t len, int original, struct msg_test_config *cfg,
                   int64_t *min_drivers, struct verdict *v, char *err, size_t errlen);

#endif
