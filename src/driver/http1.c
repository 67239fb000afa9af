#include "http1.h"

#include <string.h>

enum {
    S_STATUS = 0, /* "HTTP/1.x SSS", pos counts its bytes */
    S_REASON,     /* the rest of the status line */
    S_LINE,       /* start of a header line */
    S_END_LF,     /* "\r" of the empty line seen */
    S_NAME,
    S_VALUE,
    S_SKIP, /* a header line of no interest, to its end */
    S_BODY_LEN,
    S_BODY_CLOSE,
    S_CHUNK_SIZE,
    S_CHUNK_EXT,
    S_CHUNK_DATA,
    S_CHUNK_CR,
    S_CHUNK_LF,
    S_TRAILER,      /* start of a trailer line */
    S_TRAILER_LINE, /* inside one */
    S_TRAILER_LF,   /* "\r" of the final empty line seen */
    S_DONE,
    S_ERROR
};

enum { H_OTHER = 0, H_CLEN, H_TE, H_CONN };

static const char http_prefix[] = "HTTP/1.";

static void http1_reset(struct http1 *p)
{
    int head = p->head;
    size_t hb = p->head_bytes;
    memset(p, 0, sizeof *p);
    p->head = head;
    p->head_bytes = hb;
    p->clen = -1;
    p->state = S_STATUS;
}

void http1_init(struct http1 *p, int head)
{
    memset(p, 0, sizeof *p);
    p->head = head;
    http1_reset(p);
}

int http1_untouched(const struct http1 *p)
{
    return p->state == S_STATUS && p->pos == 0 && p->head_bytes == 0;
}

static int fail(struct http1 *p, const char *why)
{
    p->state = S_ERROR;
    p->err = why;
    return HTTP1_ERROR;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A token of a Connection or Transfer-Encoding value ends. */
static void token_end(struct http1 *p)
{
    if (p->tok_len == 0)
        return;
    int n = p->tok_len;
    p->tok_len = 0;
    if (n >= (int)sizeof p->tok) {
        if (p->hdr == H_TE)
            p->chunked = 0; /* a coding after chunked: not chunked */
        return;
    }
    p->tok[n] = '\0';
    if (p->hdr == H_TE) {
        p->chunked = strcmp(p->tok, "chunked") == 0;
    } else if (p->hdr == H_CONN) {
        if (strcmp(p->tok, "close") == 0)
            p->close = 1;
        else if (strcmp(p->tok, "keep-alive") == 0)
            p->ka = 1;
    }
}

/* The name of a header line is complete: which header is it? */
static void name_end(struct http1 *p)
{
    p->hdr = H_OTHER;
    if (p->name_len >= (int)sizeof p->name)
        return;
    p->name[p->name_len] = '\0';
    /* By length first: most names are none of the three. */
    if (p->name_len == 14 && memcmp(p->name, "content-length", 14) == 0)
        p->hdr = H_CLEN;
    else if (p->name_len == 17 && memcmp(p->name, "transfer-encoding", 17) == 0)
        p->hdr = H_TE;
    else if (p->name_len == 10 && memcmp(p->name, "connection", 10) == 0)
        p->hdr = H_CONN;
}

/* The value of a header line is complete. */
static int value_end(struct http1 *p)
{
    if (p->hdr == H_CLEN) {
        if (p->ndig == 0)
            return fail(p, "empty Content-Length");
        if (p->clen >= 0 && p->clen != p->num)
            return fail(p, "conflicting Content-Length headers");
        p->clen = p->num;
    } else if (p->hdr == H_TE) {
        token_end(p);
        if (!p->chunked)
            p->clen = -2; /* a coding we do not decode: the body ends at close */
    } else if (p->hdr == H_CONN) {
        token_end(p);
    }
    p->num = 0;
    p->ndig = 0;
    p->hdr = H_OTHER;
    return HTTP1_MORE;
}

/* The empty line after the headers: decide how the body is framed. */
static int headers_end(struct http1 *p)
{
    if (p->status < 200) {
        if (p->status == 101)
            return fail(p, "101 Switching Protocols was not asked for");
        http1_reset(p); /* an interim answer: the real one follows */
        return HTTP1_MORE;
    }
    p->keep_alive = p->minor >= 1 ? !p->close : p->ka && !p->close;
    if (p->head || p->status == 204 || p->status == 304) {
        p->state = S_DONE;
        return HTTP1_DONE;
    }
    if (p->chunked) {
        p->state = S_CHUNK_SIZE;
        p->num = p->ndig = 0;
        return HTTP1_MORE;
    }
    if (p->clen >= 0) {
        p->remain = p->clen;
        p->state = S_BODY_LEN;
        if (p->remain == 0) {
            p->state = S_DONE;
            return HTTP1_DONE;
        }
        return HTTP1_MORE;
    }
    p->keep_alive = 0;
    p->state = S_BODY_CLOSE;
    return HTTP1_MORE;
}

/* The line giving a chunk's size ends: its data follows, or the trailers
 * after the last chunk. */
static void chunk_line_end(struct http1 *p)
{
    if (p->num == 0) {
        p->state = S_TRAILER;
    } else {
        p->remain = p->num;
        p->state = S_CHUNK_DATA;
    }
    p->num = p->ndig = 0;
}

static int in_head(int state)
{
    return state <= S_SKIP || (state >= S_TRAILER && state <= S_TRAILER_LF);
}

/* span more bytes of the header block are taken: 0, or HTTP1_ERROR with
 * *i just past the byte that went over HTTP1_HEAD_MAX, as the byte-wise
 * count would have stopped. */
static int head_take(struct http1 *p, size_t span, size_t *i)
{
    if (span > HTTP1_HEAD_MAX - p->head_bytes) {
        *i += HTTP1_HEAD_MAX - p->head_bytes + 1;
        p->head_bytes = HTTP1_HEAD_MAX + 1;
        return fail(p, "response header block too large");
    }
    p->head_bytes += span;
    *i += span;
    return HTTP1_MORE;
}

/* Which known header (name_end) the n bytes at s name. */
static int name_known(const char *s, size_t n)
{
    static const struct {
        const char *name;
        size_t len;
        int hdr;
    } known[] = {{"content-length", 14, H_CLEN},
                 {"transfer-encoding", 17, H_TE},
                 {"connection", 10, H_CONN}};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        if (known[k].len != n)
            continue;
        size_t j = 0;
        while (j < n && lower(s[j]) == known[k].name[j])
            j++;
        return j == n ? known[k].hdr : H_OTHER;
    }
    return H_OTHER;
}

/* At the start of a header line that is all in buf: a line of no interest
 * (another header, or no colon at all) is taken whole, a known header up
 * to its value, as the byte-wise parser would (1); else 0. */
static int line_fast(struct http1 *p, const char *buf, size_t n, size_t *i)
{
    const char *s = buf + *i;
    const char *nl = memchr(s, '\n', n - *i);
    if (!nl || (size_t)(nl - s) + 1 > HTTP1_HEAD_MAX - p->head_bytes)
        return 0;
    const char *colon = memchr(s, ':', (size_t)(nl - s));
    int hdr = colon ? name_known(s, (size_t)(colon - s)) : H_OTHER;
    size_t take = hdr == H_OTHER ? (size_t)(nl - s) + 1 : (size_t)(colon - s) + 1;
    if (hdr != H_OTHER) {
        p->hdr = hdr;
        p->num = p->ndig = p->tok_len = 0;
        p->state = S_VALUE;
    }
    p->head_bytes += take;
    *i += take;
    return 1;
}

/* The fixed part of a status line, "HTTP/1.x SSS" and the byte after it,
 * all in buf: taken at once (1), or left to the byte-wise parser (0), which
 * also finds what is wrong with it. */
static int status_fast(struct http1 *p, const char *buf, size_t n, size_t *i)
{
    const char *s = buf + *i;
    if (n - *i < 13 || HTTP1_HEAD_MAX - p->head_bytes < 13 || memcmp(s, http_prefix, 7) != 0)
        return 0;
    for (int k = 9; k < 12; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    int status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (s[7] < '0' || s[7] > '9' || s[8] != ' ' || status < 100 ||
        (s[12] != ' ' && s[12] != '\r' && s[12] != '\n'))
        return 0;
    p->minor = s[7] - '0';
    p->status = status;
    p->pos = 13;
    p->state = s[12] == '\n' ? S_LINE : S_REASON;
    p->head_bytes += 13;
    *i += 13;
    return 1;
}

int http1_feed(struct http1 *p, const char *buf, size_t n, size_t *used)
{
    size_t i = 0;
    int rc = HTTP1_MORE;
    *used = 0;
    if (p->state == S_ERROR)
        return HTTP1_ERROR;
    if (p->state == S_DONE)
        return HTTP1_DONE;
    while (i < n) {
        if (p->state == S_BODY_LEN || p->state == S_CHUNK_DATA || p->state == S_BODY_CLOSE) {
            size_t take = n - i;
            if (p->state != S_BODY_CLOSE && (int64_t)take > p->remain)
                take = (size_t)p->remain;
            if (p->cap_len < p->cap_max) {
                size_t k = p->cap_max - p->cap_len < take ? p->cap_max - p->cap_len : take;
                memcpy(p->cap + p->cap_len, buf + i, k);
                p->cap_len += k;
            }
            i += take;
            p->body_bytes += (int64_t)take;
            if (p->state == S_BODY_CLOSE)
                continue;
            p->remain -= (int64_t)take;
            if (p->remain == 0) {
                if (p->state == S_CHUNK_DATA) {
                    p->state = S_CHUNK_CR;
                } else {
                    p->state = S_DONE;
                    rc = HTTP1_DONE;
                    break;
                }
            }
            continue;
        }
        /* The common states, a run of bytes at a time; the byte that ends
         * the run goes through the switch below. */
        if (p->state == S_REASON || p->state == S_SKIP || p->state == S_TRAILER_LINE ||
            p->state == S_CHUNK_EXT) {
            /* The rest of a line of no interest. */
            const char *nl = memchr(buf + i, '\n', n - i);
            size_t span = nl ? (size_t)(nl - (buf + i)) : n - i;
            if (p->state == S_CHUNK_EXT)
                i += span;
            else if ((rc = head_take(p, span, &i)) != HTTP1_MORE)
                break;
            if (i == n)
                break;
        } else if (p->state == S_NAME) {
            size_t j = i;
            while (j < n && buf[j] != ':' && buf[j] != '\n')
                j++;
            size_t keep = sizeof p->name - (size_t)p->name_len;
            if (keep > j - i)
                keep = j - i;
            for (size_t k = 0; k < keep; k++)
                p->name[p->name_len++] = lower(buf[i + k]);
            if ((rc = head_take(p, j - i, &i)) != HTTP1_MORE || i == n)
                break;
        } else if (p->state == S_VALUE && p->hdr != H_CLEN) {
            /* A token of a Connection or Transfer-Encoding value. */
            size_t j = i;
            while (j < n && buf[j] != '\n' && !is_ws(buf[j]) && buf[j] != ',')
                j++;
            for (size_t k = i; k < j && p->tok_len < (int)sizeof p->tok; k++)
                p->tok[p->tok_len++] = lower(buf[k]);
            if ((rc = head_take(p, j - i, &i)) != HTTP1_MORE || i == n)
                break;
        } else if (p->state == S_LINE) {
            char c = buf[i];
            if (c != '\r' && c != '\n' && c != ' ' && c != '\t' && line_fast(p, buf, n, &i))
                continue;
        } else if (p->state == S_STATUS && p->pos == 0 && status_fast(p, buf, n, &i)) {
            continue;
        }
        char c = buf[i++];
        if (in_head(p->state) && ++p->head_bytes > HTTP1_HEAD_MAX) {
            rc = fail(p, "response header block too large");
            break;
        }
        switch (p->state) {
        case S_STATUS:
            if (p->pos < 7) {
                if (c != http_prefix[p->pos])
                    rc = fail(p, "not an HTTP/1.x response");
            } else if (p->pos == 7) {
                if (c < '0' || c > '9')
                    rc = fail(p, "bad HTTP version");
                p->minor = c - '0';
            } else if (p->pos == 8) {
                if (c != ' ')
                    rc = fail(p, "bad status line");
            } else if (p->pos <= 11) {
                if (c < '0' || c > '9')
                    rc = fail(p, "bad status code");
                p->status = p->status * 10 + (c - '0');
            } else if (c == '\n') {
                p->state = S_LINE;
            } else if (c == ' ' || c == '\r') {
                p->state = S_REASON;
            } else {
                rc = fail(p, "bad status code");
            }
            /* "000" to "099" are no status codes (nor a 1xx to skip). */
            if (rc == HTTP1_MORE && p->pos == 11 && p->status < 100)
                rc = fail(p, "bad status code");
            p->pos++;
            break;
        case S_REASON:
            if (c == '\n')
                p->state = S_LINE;
            break;
        case S_LINE:
            if (c == '\r') {
                p->state = S_END_LF;
            } else if (c == '\n') {
                rc = headers_end(p);
            } else if (c == ' ' || c == '\t') {
                p->state = S_SKIP; /* an obsolete folded line */
            } else {
                p->name_len = 0;
                p->name[p->name_len++] = lower(c);
                p->state = S_NAME;
            }
            break;
        case S_END_LF:
            if (c != '\n')
                rc = fail(p, "bad end of headers");
            else
                rc = headers_end(p);
            break;
        case S_NAME:
            if (c == ':') {
                name_end(p);
                p->num = p->ndig = p->tok_len = 0;
                p->state = p->hdr == H_OTHER ? S_SKIP : S_VALUE;
            } else if (c == '\n') {
                p->state = S_LINE; /* no colon: a line of no use, ignored */
            } else if (p->name_len < (int)sizeof p->name) {
                p->name[p->name_len++] = lower(c);
            }
            break;
        case S_VALUE:
            if (c == '\n') {
                rc = value_end(p);
                if (rc == HTTP1_MORE)
                    p->state = S_LINE;
            } else if (p->hdr == H_CLEN) {
                if (c >= '0' && c <= '9') {
                    if (p->ndig < 0)
                        rc = fail(p, "bad Content-Length");
                    else if (++p->ndig > 15)
                        rc = fail(p, "Content-Length too large");
                    else
                        p->num = p->num * 10 + (c - '0');
                } else if (is_ws(c)) {
                    if (p->ndig > 0)
                        p->ndig = -p->ndig; /* digits ended: only space may follow */
                } else {
                    rc = fail(p, "bad Content-Length");
                }
                if (rc == HTTP1_MORE && p->ndig < 0 && c >= '0' && c <= '9')
                    rc = fail(p, "bad Content-Length");
            } else if (is_ws(c) || c == ',') {
                token_end(p);
            } else {
                if (p->tok_len < (int)sizeof p->tok)
                    p->tok[p->tok_len] = lower(c);
                if (p->tok_len < (int)sizeof p->tok)
                    p->tok_len++;
            }
            break;
        case S_SKIP:
            if (c == '\n')
                p->state = S_LINE;
            break;
        case S_CHUNK_SIZE: {
            int v = hexval(c);
            if (v >= 0) {
                if (++p->ndig > 15)
                    rc = fail(p, "chunk size too large");
                else
                    p->num = p->num * 16 + v;
            } else if (p->ndig == 0) {
                rc = fail(p, "bad chunk size");
            } else if (c == ';' || c == ' ' || c == '\t' || c == '\r') {
                p->state = S_CHUNK_EXT;
            } else if (c == '\n') {
                chunk_line_end(p);
            } else {
                rc = fail(p, "bad chunk size");
            }
            break;
        }
        case S_CHUNK_EXT:
            if (c == '\n')
                chunk_line_end(p);
            break;
        case S_CHUNK_CR:
            if (c == '\r')
                p->state = S_CHUNK_LF;
            else if (c == '\n')
                p->state = S_CHUNK_SIZE;
            else
                rc = fail(p, "chunk not followed by CRLF");
            break;
        case S_CHUNK_LF:
            if (c == '\n')
                p->state = S_CHUNK_SIZE;
            else
                rc = fail(p, "chunk not followed by CRLF");
            break;
        case S_TRAILER:
            if (c == '\r') {
                p->state = S_TRAILER_LF;
            } else if (c == '\n') {
                p->state = S_DONE;
                rc = HTTP1_DONE;
            } else {
                p->state = S_TRAILER_LINE;
            }
            break;
        case S_TRAILER_LINE:
            if (c == '\n')
                p->state = S_TRAILER;
            break;
        case S_TRAILER_LF:
            if (c != '\n') {
                rc = fail(p, "bad end of trailers");
            } else {
                p->state = S_DONE;
                rc = HTTP1_DONE;
            }
            break;
        default:
            rc = fail(p, "parser state lost");
            break;
        }
        if (rc != HTTP1_MORE)
            break;
    }
    *used = i;
    return rc;
}

int http1_eof(struct http1 *p)
{
    if (p->state == S_DONE)
        return HTTP1_DONE;
    if (p->state == S_BODY_CLOSE) {
        p->state = S_DONE;
        p->keep_alive = 0;
        return HTTP1_DONE;
    }
    if (p->state == S_ERROR)
        return HTTP1_ERROR;
    if (http1_untouched(p))
        return fail(p, "connection closed before any response");
    return fail(p, "connection closed in the middle of a response");
}
