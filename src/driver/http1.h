/* http1: an incremental, zero-copy HTTP/1.1 response parser for the
 * driver's native engine.
 *
 * Bytes are fed as they arrive, split anywhere; nothing is copied or
 * allocated. The parser keeps only what it needs to frame the response:
 * the status, Content-Length, Transfer-Encoding: chunked and Connection.
 * It handles 1xx interim answers (skipped; 101 is an error, as no upgrade
 * is ever asked for), HEAD, 204 and 304 (no body), chunked bodies with
 * extensions and trailers, and bodies that end when the connection closes.
 * A header block (status line, headers and trailers) over HTTP1_HEAD_MAX
 * bytes is an error, as is anything that is not an HTTP/1.x response. */
#ifndef DLT_DRIVER_HTTP1_H
#define DLT_DRIVER_HTTP1_H

#include <stddef.h>
#include <stdint.h>

/* Bytes a response's header block may take (libcurl's limit for one header). */
#define HTTP1_HEAD_MAX (100 * 1024)

enum http1_rc {
    HTTP1_ERROR = -1, /* not a valid response; see http1.err */
    HTTP1_MORE = 0,   /* every byte taken, the response goes on */
    HTTP1_DONE = 1    /* the response is complete */
};

struct http1 {
    /* Results, valid once HTTP1_DONE is returned. */
    int status;         /* final status code */
    int keep_alive;     /* 1: the connection may carry the next request */
    int64_t body_bytes; /* body bytes (chunk framing not counted) */
    const char *err;    /* static text when HTTP1_ERROR was returned */
    /* Parser state. */
    int state;
    int head;  /* the request was HEAD: no body whatever the headers say */
    int minor; /* HTTP/1.minor */
    int pos;   /* position within the status line's fixed part */
    int hdr;   /* which known header the current line is */
    int name_len;
    char name[20]; /* lower-cased start of the current header name */
    int64_t clen;  /* Content-Length; -1 none */
    int64_t num;   /* the number being read (Content-Length, chunk size) */
    int ndig;      /* its digits */
    int chunked, close, ka;
    int tok_len; /* current token of a Connection/Transfer-Encoding value */
    char tok[12];
    int64_t remain;    /* body or chunk bytes still to come */
    size_t head_bytes; /* header block bytes so far */
    /* Body capture: set cap and cap_max after http1_init to keep the first
     * cap_max bytes of the body (chunk framing left out) in cap. */
    char *cap;
    size_t cap_len, cap_max;
};

/* Ready the parser for the response to a request; head: it was HEAD. */
void http1_init(struct http1 *p, int head);

/* Feed n bytes. *used is set to the bytes that belong to this response
 * (all n unless HTTP1_DONE came before the end). Can't fail otherwise. */
int http1_feed(struct http1 *p, const char *buf, size_t n, size_t *used);

/* The connection closed (or the peer ended its side): HTTP1_DONE when the
 * response ends with the connection, else HTTP1_ERROR (cut short, or no
 * response at all). */
int http1_eof(struct http1 *p);

/* 1 when no byte of the response has been fed yet. */
int http1_untouched(const struct http1 *p);

#endif
