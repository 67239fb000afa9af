/* tmpl: the {{...}} variables of a request's URL, headers and body.
 *
 *     {{seq}}        the request's number in its driver, from 0
 *     {{driver}}     the driver's index in the test (its place in "drivers")
 *     {{rand:A-B}}   a whole number drawn uniformly from A..B (0 <= A <= B)
 *     {{uuid}}       a random version-4 UUID
 *     {{now_ms}}     the wall clock at the send, epoch milliseconds
 *     {{column}}     the column of that name in the test's data, row by row;
 *                    in a URL (t->url) percent-encoded, all but A-Z a-z 0-9 - . _ ~
 *
 * Spaces inside the braces are allowed ("{{ seq }}"). A "{{" always opens a
 * variable; text without one is sent as it is. Names are case-sensitive.
 * tmpl_parse refuses an unknown name, with the name. */
#ifndef DLT_TMPL_H
#define DLT_TMPL_H

#include <stddef.h>
#include <stdint.h>

#define TMPL_NAME_MAX 64

enum tmpl_kind {
    TMPL_TEXT = 0,
    TMPL_SEQ,
    TMPL_DRIVER,
    TMPL_RAND,
    TMPL_UUID,
    TMPL_NOW_MS,
    TMPL_COLUMN
};

struct tmpl_part {
    enum tmpl_kind kind;
    size_t off, len; /* TMPL_TEXT: the text, in the template's source */
    uint64_t a, b;   /* TMPL_RAND: the bounds */
    int col;         /* TMPL_COLUMN: the column's index */
};

struct tmpl {
    char *src; /* a copy of the text */
    size_t len;
    struct tmpl_part *parts;
    int n;
    int vars;   /* how many parts are variables: 0 means the text is fixed */
    int now_ms; /* 1 when {{now_ms}} is used (the clock must be read) */
    int url;    /* set by the caller: a URL, whose data values are percent-encoded */
};

/* Parse len bytes of s; columns are the data's column names (n of them).
 * Returns 0, or -1 with one reason in err ("unknown variable {{user}}",
 * "an unclosed {{", ...); t then holds nothing to free. */
int tmpl_parse(struct tmpl *t, const char *s, size_t len, const char *const *columns, int n,
               char *err, size_t errlen);

/* t as the fixed text s: a "{{" in it is sent as it is. Returns 0, or -1
 * out of memory. */
int tmpl_literal(struct tmpl *t, const char *s, size_t len);

/* Check s as tmpl_parse would, keeping nothing. */
int tmpl_check(const char *s, size_t len, const char *const *columns, int n, char *err,
               size_t errlen);

void tmpl_free(struct tmpl *t);

/* What a send expands the variables with. */
struct tmpl_ctx {
    int64_t seq;
    int64_t driver;
    uint64_t *rng;          /* the sender's random state (tmpl_rng_seed) */
    int64_t now_ms;         /* read by the caller when t->now_ms */
    const char *const *row; /* the data row: n column values ... */
    const size_t *row_len;  /* ... and their lengths; NULL without data */
};

/* A growing buffer; start it zeroed, free p when done. */
struct tbuf {
    char *p;
    size_t len, cap;
};

/* Append bytes to b. Returns 0, or -1 when out of memory. */
int tbuf_add(struct tbuf *b, const char *s, size_t n);

/* Append the expansion of t to b. Returns 0, or -1 when out of memory. */
int tmpl_expand(const struct tmpl *t, const struct tmpl_ctx *c, struct tbuf *b);

/* Seed a random state (never 0). */
uint64_t tmpl_rng_seed(uint64_t seed);
/* The next 64 random bits of *s (xorshift64*). */
uint64_t tmpl_rng_next(uint64_t *s);

#endif
