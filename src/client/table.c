#include "table.h"

#include <stdlib.h>
#include <string.h>

struct table_row {
    char **cells;
    int rule_before;
};

struct table {
    int ncols;
    char **header;
    int right[TABLE_MAX_COLS];
    struct table_row *rows;
    size_t nrows, cap;
    int pending_rule;
};

static char *table_dup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static void table_free_cells(char **cells, int n)
{
    if (!cells)
        return;
    for (int i = 0; i < n; i++)
        free(cells[i]);
    free(cells);
}

static char **table_copy_cells(int n, const char *const *src)
{
    char **c = calloc((size_t)n, sizeof *c);
    if (!c)
        return NULL;
    for (int i = 0; i < n; i++) {
        c[i] = table_dup(src ? src[i] : "");
        if (!c[i]) {
            table_free_cells(c, n);
            return NULL;
        }
    }
    return c;
}

struct table *table_create(int ncols, const char *const *header)
{
    if (ncols < 1 || ncols > TABLE_MAX_COLS)
        return NULL;
    struct table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->header = table_copy_cells(ncols, header);
    if (!t->header) {
        free(t);
        return NULL;
    }
    return t;
}

void table_destroy(struct table *t)
{
    if (!t)
        return;
    table_free_cells(t->header, t->ncols);
    for (size_t i = 0; i < t->nrows; i++)
        table_free_cells(t->rows[i].cells, t->ncols);
    free(t->rows);
    free(t);
}

void table_align_right(struct table *t, int col)
{
    if (t && col >= 0 && col < t->ncols)
        t->right[col] = 1;
}

int table_add(struct table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct table_row *r = realloc(t->rows, cap * sizeof *r);
        if (!r)
            return -1;
        t->rows = r;
        t->cap = cap;
    }
    char **c = table_copy_cells(t->ncols, cells);
    if (!c)
        return -1;
    t->rows[t->nrows].cells = c;
    t->rows[t->nrows].rule_before = t->pending_rule;
    t->pending_rule = 0;
    t->nrows++;
    return 0;
}

void table_rule(struct table *t)
{
    t->pending_rule = 1;
}

size_t table_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        w += (*p & 0xC0) != 0x80; /* continuation bytes take no column */
    return w;
}

/* Write one line of cells, leaving out the padding after the last cell. */
static void table_line(const struct table *t, char *const *cells, const size_t *w, FILE *out)
{
    int last = t->ncols - 1;
    while (last > 0 && cells[last][0] == '\0')
        last--;
    for (int i = 0; i <= last; i++) {
        size_t len = table_width(cells[i]);
        size_t pad = w[i] > len ? w[i] - len : 0;
        if (i > 0)
            fputs("  ", out);
        if (t->right[i])
            fprintf(out, "%*s%s", (int)pad, "", cells[i]);
        else if (i < last)
            fprintf(out, "%s%*s", cells[i], (int)pad, "");
        else
            fputs(cells[i], out);
    }
    fputc('\n', out);
}

static void table_rule_line(const struct table *t, const size_t *w, FILE *out)
{
    for (int i = 0; i < t->ncols; i++) {
        if (i > 0)
            fputs("  ", out);
        for (size_t k = 0; k < w[i]; k++)
            fputc('-', out);
    }
    fputc('\n', out);
}

int table_print(const struct table *t, FILE *out)
{
    size_t w[TABLE_MAX_COLS] = {0};
    for (int i = 0; i < t->ncols; i++) {
        w[i] = table_width(t->header[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = table_width(t->rows[r].cells[i]);
            if (n > w[i])
                w[i] = n;
        }
    }
    table_line(t, t->header, w, out);
    table_rule_line(t, w, out);
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->rows[r].rule_before)
            table_rule_line(t, w, out);
        table_line(t, t->rows[r].cells, w, out);
    }
    return ferror(out) ? -1 : 0;
}
