/* libFuzzer target: the driver's HTTP/1.1 response parser. The first byte
 * chooses HEAD and whether the connection closes after the bytes, the next
 * four seed where the rest is split. Fed in pieces, the response must give
 * what it gives whole, and no call may take more bytes than it was given. */
#include "http1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
    int rc, status, keep_alive;
    int64_t body;
    size_t used;
};

/* Feed buf in pieces of random lengths from seed (0: whole). */
static struct outcome feed(const char *buf, size_t n, int head, int eof, uint32_t seed)
{
    struct http1 p;
    struct outcome o = {HTTP1_MORE, 0, 0, 0, 0};
    http1_init(&p, head);
    size_t at = 0;
    while (o.rc == HTTP1_MORE && (at < n || n == 0)) {
        size_t len = n - at;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            len = len ? (seed >> 8) % (len + 1) : 0;
        }
        /* A copy of just the piece, so that a read past it is caught. */
        char *piece = malloc(len ? len : 1);
        if (!piece)
            abort();
        memcpy(piece, buf + at, len);
        size_t used = (size_t)-1;
        o.rc = http1_feed(&p, piece, len, &used);
        free(piece);
        if (used > len || (o.rc == HTTP1_MORE && used != len))
            abort();
        if ((o.rc == HTTP1_ERROR) != (p.err != NULL))
            abort();
        o.used += used;
        at += used;
        if (n == 0)
            break;
    }
    if (o.rc == HTTP1_MORE && eof)
        o.rc = http1_eof(&p);
    if (o.rc == HTTP1_DONE) {
        o.status = p.status;
        o.keep_alive = p.keep_alive;
        o.body = p.body_bytes;
        if (p.status < 200 || p.status > 999 || p.body_bytes < 0)
            abort();
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    int head = data[0] & 1, eof = (data[0] >> 1) & 1;
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    const char *buf = (const char *)data + 5;
    size_t n = size - 5;
    struct outcome whole = feed(buf, n, head, eof, 0);
    struct outcome split = feed(buf, n, head, eof, seed | 1);
    if (whole.rc != split.rc || whole.used != split.used)
        abort();
    if (whole.rc == HTTP1_DONE &&
        (whole.status != split.status || whole.keep_alive != split.keep_alive ||
         whole.body != split.body))
        abort();
    return 0;
}
