#define _POSIX_C_SOURCE 200809L
#include "tmpl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tmpl_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A whole number 0..UINT64_MAX of exactly n bytes. */
static int tmpl_num(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Classify the name between the braces (trimmed) into p. */
static int tmpl_name(const char *s, size_t n, const char *const *columns, int ncol,
                     struct tmpl_part *p, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        enum tmpl_kind kind;
    } builtins[] = {
        {"seq", TMPL_SEQ}, {"driver", TMPL_DRIVER}, {"uuid", TMPL_UUID}, {"now_ms", TMPL_NOW_MS}};
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strlen(builtins[i].name) == n && memcmp(s, builtins[i].name, n) == 0) {
            p->kind = builtins[i].kind;
            return 0;
        }
    if (n > 5 && memcmp(s, "rand:", 5) == 0) {
        const char *r = s + 5, *dash = memchr(r, '-', n - 5);
        if (!dash || tmpl_num(r, (size_t)(dash - r), &p->a) < 0 ||
            tmpl_num(dash + 1, (size_t)(s + n - dash - 1), &p->b) < 0 || p->a > p->b)
            return tmpl_fail(err, errlen,
                             "{{%.*s}}: rand takes two whole numbers A-B with 0 <= A <= B",
                             (int)(n > 40 ? 40 : n), s);
        p->kind = TMPL_RAND;
        return 0;
    }
    for (int i = 0; i < ncol; i++)
        if (strlen(columns[i]) == n && memcmp(s, columns[i], n) == 0) {
            p->kind = TMPL_COLUMN;
            p->col = i;
            return 0;
        }
    return tmpl_fail(err, errlen,
                     "unknown variable {{%.*s}} (seq, driver, rand:A-B, uuid, now_ms%s)",
                     (int)(n > TMPL_NAME_MAX ? TMPL_NAME_MAX : n), s,
                     ncol > 0 ? ", or a data column" : "; no data columns");
}

/* Walk s: call add for each part. */
static int tmpl_walk(const char *s, size_t len, const char *const *columns, int ncol,
                     struct tmpl *t, char *err, size_t errlen)
{
    size_t i = 0, text = 0;
    int cap = 0;
    for (;;) {
        const char *open = NULL;
        for (size_t k = i; k + 1 < len; k++)
            if (s[k] == '{' && s[k + 1] == '{') {
                open = s + k;
                break;
            }
        size_t stop = open ? (size_t)(open - s) : len;
        struct tmpl_part parts[2];
        int np = 0;
        if (stop > text) {
            memset(&parts[np], 0, sizeof parts[np]);
            parts[np].kind = TMPL_TEXT;
            parts[np].off = text;
            parts[np].len = stop - text;
            np++;
        }
        size_t next = len;
        if (open) {
            const char *b = open + 2, *end = NULL;
            for (const char *q = b; q + 1 < s + len; q++)
                if (q[0] == '}' && q[1] == '}') {
                    end = q;
                    break;
                }
            if (!end)
                return tmpl_fail(err, errlen, "an unclosed {{ at byte %zu", stop);
            const char *e = end;
            while (b < e && isspace((unsigned char)*b))
                b++;
            while (e > b && isspace((unsigned char)e[-1]))
                e--;
            if (tmpl_name(b, (size_t)(e - b), columns, ncol, &parts[np], err, errlen) < 0)
                return -1;
            np++;
            next = (size_t)(end + 2 - s);
        }
        if (t) {
            if (t->n + np > cap) {
                cap = cap ? cap * 2 : 4;
                if (cap < t->n + np)
                    cap = t->n + np;
                struct tmpl_part *np2 = realloc(t->parts, (size_t)cap * sizeof *np2);
                if (!np2)
                    return tmpl_fail(err, errlen, "out of memory");
                t->parts = np2;
            }
            for (int k = 0; k < np; k++) {
                t->parts[t->n++] = parts[k];
                if (parts[k].kind != TMPL_TEXT)
                    t->vars++;
                if (parts[k].kind == TMPL_NOW_MS)
                    t->now_ms = 1;
            }
        }
        if (!open)
            return 0;
        i = text = next;
    }
}

int tmpl_parse(struct tmpl *t, const char *s, size_t len, const char *const *columns, int n,
               char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->src = malloc(len + 1);
    if (!t->src)
        return tmpl_fail(err, errlen, "out of memory");
    memcpy(t->src, s, len);
    t->src[len] = '\0';
    t->len = len;
    if (tmpl_walk(t->src, len, columns, n, t, err, errlen) < 0) {
        tmpl_free(t);
        return -1;
    }
    return 0;
}

int tmpl_literal(struct tmpl *t, const char *s, size_t len)
{
    memset(t, 0, sizeof *t);
    t->src = malloc(len + 1);
    t->parts = malloc(sizeof *t->parts);
    if (!t->src || !t->parts) {
        tmpl_free(t);
        return -1;
    }
    memcpy(t->src, s, len);
    t->src[len] = '\0';
    t->len = len;
    t->parts[0] = (struct tmpl_part){.kind = TMPL_TEXT, .off = 0, .len = len};
    t->n = len > 0;
    return 0;
}

int tmpl_check(const char *s, size_t len, const char *const *columns, int n, char *err,
               size_t errlen)
{
    return tmpl_walk(s, len, columns, n, NULL, err, errlen);
}

void tmpl_free(struct tmpl *t)
{
    if (!t)
        return;
    free(t->src);
    free(t->parts);
    memset(t, 0, sizeof *t);
}

int tbuf_add(struct tbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

uint64_t tmpl_rng_seed(uint64_t seed)
{
    /* splitmix64 of the seed, so that close seeds start far apart. */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 1;
}

uint64_t tmpl_rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int tmpl_add_u64(struct tbuf *b, uint64_t v)
{
    char d[24];
    int n = 0;
    do {
        d[sizeof d - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return tbuf_add(b, d + sizeof d - n, (size_t)n);
}

/* Append s percent-encoded: all but the unreserved characters of RFC 3986. */
static int tmpl_add_pct(struct tbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && (isalnum((unsigned char)s[run]) || s[run] == '-' || s[run] == '.' ||
                           s[run] == '_' || s[run] == '~'))
            run++;
        if (run > i && tbuf_add(b, s + i, run - i) < 0)
            return -1;
        if (run == n)
            break;
        unsigned char ch = (unsigned char)s[run];
        char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        if (tbuf_add(b, e, 3) < 0)
            return -1;
        i = run + 1;
    }
    return 0;
}

int tmpl_expand(const struct tmpl *t, const struct tmpl_ctx *c, struct tbuf *b)
{
    for (int i = 0; i < t->n; i++) {
        const struct tmpl_part *p = &t->parts[i];
        int rc = 0;
        switch (p->kind) {
        case TMPL_TEXT:
            rc = tbuf_add(b, t->src + p->off, p->len);
            break;
        case TMPL_SEQ:
            rc = tmpl_add_u64(b, (uint64_t)c->seq);
            break;
        case TMPL_DRIVER:
            rc = tmpl_add_u64(b, (uint64_t)c->driver);
            break;
        case TMPL_NOW_MS:
            rc = tmpl_add_u64(b, (uint64_t)c->now_ms);
            break;
        case TMPL_RAND: {
            uint64_t span = p->b - p->a;
            uint64_t r = tmpl_rng_next(c->rng);
            rc = tmpl_add_u64(b, p->a + (span == UINT64_MAX ? r : r % (span + 1)));
            break;
        }
        case TMPL_UUID: {
            static const char hex[] = "0123456789abcdef";
            uint64_t hi = tmpl_rng_next(c->rng), lo = tmpl_rng_next(c->rng);
            hi = (hi & ~0xF000ULL) | 0x4000ULL;       /* version 4 */
            lo = (lo & ~(3ULL << 62)) | (2ULL << 62); /* variant 10 */
            char u[36];
            int k = 0;
            for (int j = 0; j < 32; j++) {
                if (j == 8 || j == 12 || j == 16 || j == 20)
                    u[k++] = '-';
                uint64_t w = j < 16 ? hi : lo;
                u[k++] = hex[(w >> (60 - 4 * (j % 16))) & 0xF];
            }
            rc = tbuf_add(b, u, sizeof u);
            break;
        }
        case TMPL_COLUMN:
            if (c->row && t->url)
                rc = tmpl_add_pct(b, c->row[p->col], c->row_len[p->col]);
            else if (c->row)
                rc = tbuf_add(b, c->row[p->col], c->row_len[p->col]);
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}
