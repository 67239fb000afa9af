/* http1: every way a response is framed, and the same result whatever
 * way its bytes are split. */
#include "http1.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct result {
    int rc; /* HTTP1_DONE or HTTP1_ERROR; HTTP1_MORE: still waiting */
    int status, keep_alive;
    int64_t body;
    size_t used; /* bytes taken, over every piece */
};

struct tcase {
    const char *name;
    const char *bytes;
    int head;   /* the request was HEAD */
    int eof;    /* the connection closes after the bytes */
    int rc;     /* expected */
    int status; /* expected when HTTP1_DONE */
    int keep_alive;
    int64_t body;
    size_t extra; /* bytes after the response (not taken) */
};

static const struct tcase cases[] = {
    {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 0, HTTP1_DONE, 200,
     1, 5, 0},
    {"content-length 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, HTTP1_DONE, 200, 1,
     0, 0},
    {"header case, spaces", "HTTP/1.1 201 Created\r\ncOnTeNt-LeNgTh:   3  \r\nX-A: b\r\n\r\nabc", 0,
     0, HTTP1_DONE, 201, 1, 3, 0},
    {"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 0,
     0, HTTP1_DONE, 200, 1, 2, 0},
    {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, 0, HTTP1_DONE, 200, 1, 2, 0},
    {"no reason", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", 0, 0, HTTP1_DONE, 200, 1, 1, 0},
    {"pipelined rest", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", 0, 0,
     HTTP1_DONE, 200, 1, 2, 17},
    {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0,
     0, HTTP1_DONE, 200, 1, 5, 0},
    {"chunked ext, hex, trailer",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
     "a;name=v\r\n0123456789\r\nF \r\n0123456789abcde\r\n0\r\nX-Trailer: t\r\n\r\n",
     0, 0, HTTP1_DONE, 200, 1, 25, 0},
    {"chunked wins over length",
     "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: "
     "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
     0, 0, HTTP1_DONE, 200, 1, 2, 0},
    {"chunked bare LF", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n", 0, 0,
     HTTP1_DONE, 200, 1, 2, 0},
    {"chunked then rest",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nHTTP", 0, 0,
     HTTP1_DONE, 200, 1, 1, 4},
    {"until close", "HTTP/1.1 200 OK\r\n\r\nall of it", 0, 1, HTTP1_DONE, 200, 0, 9, 0},
    {"unknown coding: until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", 0, 1,
     HTTP1_DONE, 200, 0, 2, 0},
    {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 1, 0, HTTP1_DONE, 200, 1, 0, 0},
    {"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 0, HTTP1_DONE, 200,
     1, 0, 0},
    {"204", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, 0, HTTP1_DONE, 204, 1, 0,
     0},
    {"304", "HTTP/1.1 304 Not Modified\r\n\r\n", 0, 0, HTTP1_DONE, 304, 1, 0, 0},
    {"100 then 200",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
     0, 0, HTTP1_DONE, 200, 1, 2, 0},
    {"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 0,
     0, HTTP1_DONE, 200, 0, 2, 0},
    {"connection list",
     "HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", 0, 0, HTTP1_DONE,
     200, 0, 0, 0},
    {"1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 0, HTTP1_DONE, 200,
     0, 2, 0},
    {"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
     0, 0, HTTP1_DONE, 200, 1, 2, 0},
    {"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0, 0, HTTP1_DONE, 404, 1, 0, 0},
    {"599", "HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n", 0, 0, HTTP1_DONE, 599, 1, 0, 0},
    {"folded header", "HTTP/1.1 200 OK\r\nX-A: a\r\n  b\r\nContent-Length: 1\r\n\r\nz", 0, 0,
     HTTP1_DONE, 200, 1, 1, 0},
    {"line without colon", "HTTP/1.1 200 OK\r\nnonsense\r\nContent-Length: 1\r\n\r\nz", 0, 0,
     HTTP1_DONE, 200, 1, 1, 0},
    /* Errors. */
    {"garbage", "HTTQ/9.9 banana split\r\nfoo\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"HTTP/0.9", "hello from 1991\n", 0, 1, HTTP1_ERROR, 0, 0, 0, 0},
    {"HTTP/2 line", "HTTP/2 200\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"status 000", "HTTP/1.1 000 Zero\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"status 099", "HTTP/1.1 099 Low\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"length with space inside", "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", 0, 0,
     HTTP1_ERROR, 0, 0, 0, 0},
    {"empty length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 0, HTTP1_ERROR, 0, 0, 0,
     0},
    {"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 10000000000000000\r\n\r\n", 0, 0,
     HTTP1_ERROR, 0, 0, 0, 0},
    {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0,
     0, HTTP1_ERROR, 0, 0, 0, 0},
    {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0,
     HTTP1_ERROR, 0, 0, 0, 0},
    {"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX", 0, 0,
     HTTP1_ERROR, 0, 0, 0, 0},
    {"chunk size too large",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", 0, 0, HTTP1_ERROR,
     0, 0, 0, 0},
    {"bad end of headers", "HTTP/1.1 200 OK\r\n\rX", 0, 0, HTTP1_ERROR, 0, 0, 0, 0},
    {"bad end of trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX", 0, 0,
     HTTP1_ERROR, 0, 0, 0, 0},
    {"cut mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789", 0, 1, HTTP1_ERROR,
     0, 0, 0, 0},
    {"cut mid-headers", "HTTP/1.1 200 OK\r\nContent-Le", 0, 1, HTTP1_ERROR, 0, 0, 0, 0},
    {"cut mid-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0, 1,
     HTTP1_ERROR, 0, 0, 0, 0},
    {"closed at once", "", 0, 1, HTTP1_ERROR, 0, 0, 0, 0},
};

/* Feed c's bytes in pieces ending at cuts[0..ncuts-1] (increasing), then
 * the rest, then the close when c->eof. */
static struct result run(const struct tcase *c, const size_t *cuts, int ncuts)
{
    size_t len = strlen(c->bytes);
    struct http1 p;
    struct result r = {0};
    http1_init(&p, c->head);
    size_t at = 0;
    r.rc = HTTP1_MORE;
    for (int i = 0; i <= ncuts && r.rc == HTTP1_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        size_t used = 0;
        /* A heap copy of just the piece, so that ASan sees any read past it. */
        char *piece = malloc(end - at + 1);
        assert_non_null(piece);
        memcpy(piece, c->bytes + at, end - at);
        r.rc = http1_feed(&p, piece, end - at, &used);
        free(piece);
        assert_true(used <= end - at);
        if (r.rc == HTTP1_MORE)
            assert_int_equal(used, end - at);
        r.used += used;
        at = end;
    }
    if (r.rc == HTTP1_MORE && c->eof)
        r.rc = http1_eof(&p);
    if (r.rc == HTTP1_DONE) {
        r.status = p.status;
        r.keep_alive = p.keep_alive;
        r.body = p.body_bytes;
    } else if (r.rc == HTTP1_ERROR) {
        assert_non_null(p.err);
    }
    return r;
}

static void same(const struct tcase *c, const struct result *a, const struct result *b,
                 const char *how, size_t cut)
{
    if (a->rc != b->rc || a->status != b->status || a->keep_alive != b->keep_alive ||
        a->body != b->body || a->used != b->used) {
        fail_msg("%s: split %s at %zu: rc %d/%d status %d/%d keep-alive %d/%d body %lld/%lld "
                 "used %zu/%zu",
                 c->name, how, cut, a->rc, b->rc, a->status, b->status, a->keep_alive,
                 b->keep_alive, (long long)a->body, (long long)b->body, a->used, b->used);
    }
}

static void test_framing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        struct result r = run(c, NULL, 0);
        if (r.rc != c->rc)
            fail_msg("%s: rc %d, want %d", c->name, r.rc, c->rc);
        if (c->rc == HTTP1_DONE) {
            if (r.status != c->status || r.keep_alive != c->keep_alive || r.body != c->body ||
                r.used != strlen(c->bytes) - c->extra)
                fail_msg("%s: status %d keep-alive %d body %lld used %zu", c->name, r.status,
                         r.keep_alive, (long long)r.body, r.used);
        }
    }
}

/* Each response split in two at every position, and fed byte by byte,
 * gives what it gives whole. */
static void test_splits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        size_t len = strlen(c->bytes);
        struct result whole = run(c, NULL, 0);
        for (size_t cut = 0; cut <= len; cut++) {
            struct result r = run(c, &cut, 1);
            same(c, &whole, &r, "in two", cut);
        }
        for (size_t a = 0; a + 1 < len; a += 3) {
            size_t cuts[2] = {a, a + 1 + (len - a - 1) / 2};
            struct result r = run(c, cuts, 2);
            same(c, &whole, &r, "in three", a);
        }
        size_t *every = malloc((len + 1) * sizeof *every);
        assert_non_null(every);
        for (size_t k = 0; k < len; k++)
            every[k] = k + 1;
        struct result r = run(c, every, (int)len);
        free(every);
        same(c, &whole, &r, "byte by byte", 0);
    }
}

/* A header block over HTTP1_HEAD_MAX is refused, in the headers as in the
 * trailers; one just under it is not. */
static void test_head_max(void **state)
{
    (void)state;
    const char *start = "HTTP/1.1 200 OK\r\nX-Big: ";
    const char *end = "\r\nContent-Length: 2\r\n\r\nok";
    size_t fixed = strlen(start) + strlen(end) - 2;
    for (int over = 0; over <= 1; over++) {
        size_t fill = HTTP1_HEAD_MAX - fixed + (size_t)over;
        size_t len = strlen(start) + fill + strlen(end);
        char *buf = malloc(len + 1);
        assert_non_null(buf);
        snprintf(buf, len + 1, "%s", start);
        memset(buf + strlen(start), 'b', fill);
        snprintf(buf + strlen(start) + fill, strlen(end) + 1, "%s", end);
        struct http1 p;
        size_t used;
        http1_init(&p, 0);
        int rc = http1_feed(&p, buf, len, &used);
        assert_int_equal(rc, over ? HTTP1_ERROR : HTTP1_DONE);
        free(buf);
    }
    /* Trailers count too. */
    struct http1 p;
    size_t used;
    http1_init(&p, 0);
    const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
    assert_int_equal(http1_feed(&p, h, strlen(h), &used), HTTP1_MORE);
    char line[1024];
    memset(line, 't', sizeof line - 2);
    line[sizeof line - 2] = '\r';
    line[sizeof line - 1] = '\n';
    int rc = HTTP1_MORE;
    for (int i = 0; i < 200 && rc == HTTP1_MORE; i++)
        rc = http1_feed(&p, line, sizeof line, &used);
    assert_int_equal(rc, HTTP1_ERROR);
}

static void test_untouched_and_after(void **state)
{
    (void)state;
    struct http1 p;
    size_t used;
    http1_init(&p, 0);
    assert_true(http1_untouched(&p));
    assert_int_equal(http1_feed(&p, "H", 1, &used), HTTP1_MORE);
    assert_false(http1_untouched(&p));
    /* Once done or failed, nothing more is taken. */
    const char *ok = "TTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(http1_feed(&p, ok, strlen(ok), &used), HTTP1_DONE);
    assert_int_equal(http1_feed(&p, "xyz", 3, &used), HTTP1_DONE);
    assert_int_equal(used, 0);
    assert_int_equal(http1_eof(&p), HTTP1_DONE);
    http1_init(&p, 0);
    assert_int_equal(http1_feed(&p, "X", 1, &used), HTTP1_ERROR);
    assert_int_equal(http1_feed(&p, "HTTP", 4, &used), HTTP1_ERROR);
    assert_int_equal(http1_eof(&p), HTTP1_ERROR);
    /* An interim answer alone is not a response. */
    http1_init(&p, 0);
    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
    assert_int_equal(http1_feed(&p, cont, strlen(cont), &used), HTTP1_MORE);
    assert_int_equal(http1_eof(&p), HTTP1_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_splits),
        cmocka_unit_test(test_head_max),
        cmocka_unit_test(test_untouched_and_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
