#define _POSIX_C_SOURCE 200809L
#include "testdata.h"

#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int data_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

const char *data_mode_name(enum data_mode m)
{
    return m == DATA_SPLIT ? "split" : m == DATA_SHARED ? "shared" : "none";
}

/* 1 when the n bytes of s are UTF-8 without a control character. */
static int data_text_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\t')
                return 0;
            if (c == 0x7f)
                return 0;
            i++;
            continue;
        }
        int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
        if (more < 0 || c > 0xf4 || i + (size_t)more >= n)
            return 0;
        uint32_t cp = c & (0x3f >> more);
        for (int k = 1; k <= more; k++) {
            if ((s[i + (size_t)k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + (size_t)k] & 0x3f);
        }
        if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += (size_t)more + 1;
    }
    return 1;
}

/* 1 when s is a column name a template can use. */
static int data_name_ok(const char *s, size_t n)
{
    static const char *const taken[] = {"seq", "driver", "uuid", "now_ms", "rand"};
    if (n == 0 || n >= DATA_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (strlen(taken[i]) == n && memcmp(taken[i], s, n) == 0)
            return 0;
    return 1;
}

/* ---- CSV ---------------------------------------------------------------------- */

/* One CSV reader's place. Values are unquoted into out (at least as long
 * as the input), each followed by a NUL. */
struct csv {
    const char *s;
    size_t len, i;
    int64_t line;
    char *out;
    size_t olen;
};

/* Read one value into the output; *eol set when it ended its row. Returns
 * 0, or -1 with err. */
static int csv_value(struct csv *c, int *eol, char *err, size_t errlen)
{
    const char *s = c->s;
    size_t start = c->olen;
    if (c->i < c->len && s[c->i] == '"') {
        c->i++;
        for (;;) {
            if (c->i >= c->len)
                return data_fail(err, errlen, "line %lld: a quoted value is not closed",
                                 (long long)c->line);
            char ch = s[c->i++];
            if (ch == '"') {
                if (c->i < c->len && s[c->i] == '"') {
                    c->out[c->olen++] = '"';
                    c->i++;
                    continue;
                }
                break;
            }
            c->out[c->olen++] = ch;
        }
        if (c->i < c->len && s[c->i] != ',' && s[c->i] != '\n' && s[c->i] != '\r')
            return data_fail(err, errlen, "line %lld: text after a closing quote",
                             (long long)c->line);
    } else {
        while (c->i < c->len && s[c->i] != ',' && s[c->i] != '\n' && s[c->i] != '\r') {
            if (s[c->i] == '"')
                return data_fail(err, errlen,
                                 "line %lld: a quote inside a value that does not start with one "
                                 "(quote the whole value, doubling its quotes)",
                                 (long long)c->line);
            c->out[c->olen++] = s[c->i++];
        }
    }
    size_t n = c->olen - start;
    if (n > DATA_VALUE_MAX)
        return data_fail(err, errlen, "line %lld: a value of %zu bytes, over the limit of %d",
                         (long long)c->line, n, DATA_VALUE_MAX);
    if (!data_text_ok((const unsigned char *)c->out + start, n))
        return data_fail(err, errlen,
                         "line %lld: a value holds a control character (a line break, a NUL) "
                         "or is not UTF-8",
                         (long long)c->line);
    c->out[c->olen++] = '\0';
    *eol = 1;
    if (c->i >= c->len)
        return 0;
    if (s[c->i] == ',') {
        c->i++;
        *eol = 0;
        return 0;
    }
    if (s[c->i] == '\r') {
        if (c->i + 1 >= c->len || s[c->i + 1] != '\n')
            return data_fail(err, errlen, "line %lld: a carriage return without a line feed",
                             (long long)c->line);
        c->i++;
    }
    c->i++; /* the line feed */
    c->line++;
    return 0;
}

/* 1 at an empty line (skipped), which is consumed. */
static int csv_empty_line(struct csv *c)
{
    if (c->i < c->len && c->s[c->i] == '\n') {
        c->i++;
        c->line++;
        return 1;
    }
    if (c->i + 1 < c->len && c->s[c->i] == '\r' && c->s[c->i + 1] == '\n') {
        c->i += 2;
        c->line++;
        return 1;
    }
    return 0;
}

int data_csv_parse(const char *s, size_t len, struct msg_data *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (len > DATA_BYTES_MAX)
        return data_fail(err, errlen, "the data is %zu bytes, over the limit of %d", len,
                         DATA_BYTES_MAX);
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
        len -= 3;
    }
    struct csv c = {.s = s, .len = len, .line = 1, .out = malloc(len + 1)};
    /* Each value is at most as long as its text plus a NUL that takes its
     * comma's or line break's place; the last one may have neither. */
    if (!c.out)
        return data_fail(err, errlen, "out of memory");
    size_t cap_cells = 0;
    int64_t n_cells = 0;
    size_t *offs = NULL;
    int rc = -1;
    while (c.i < c.len && csv_empty_line(&c))
        ;
    if (c.i >= c.len) {
        data_fail(err, errlen, "the data is empty: a header row of column names comes first");
        goto out;
    }
    int64_t row_line = 0;
    int in_row = 0;
    size_t row_start = 0;
    for (;;) {
        if (!in_row) {
            while (c.i < c.len && csv_empty_line(&c))
                ;
            if (c.i >= c.len)
                break;
            in_row = 1;
            row_line = c.line;
            row_start = c.olen;
        }
        int eol = 0;
        if ((size_t)n_cells == cap_cells) {
            size_t nc = cap_cells ? cap_cells * 2 : 64;
            size_t *no = realloc(offs, nc * sizeof *no);
            if (!no) {
                data_fail(err, errlen, "out of memory");
                goto out;
            }
            offs = no;
            cap_cells = nc;
        }
        offs[n_cells++] = c.olen;
        if (csv_value(&c, &eol, err, errlen) < 0)
            goto out;
        if (!eol)
            continue;
        in_row = 0;
        int64_t have = d->n_cols == 0 ? n_cells : n_cells - d->n_cols * (d->n_rows + 1);
        if (d->n_cols == 0) {
            if (have > DATA_COLS_MAX) {
                data_fail(err, errlen, "line %lld: %lld columns, over the limit of %d",
                          (long long)row_line, (long long)have, DATA_COLS_MAX);
                goto out;
            }
            d->n_cols = (int)have;
            continue;
        }
        if (have != d->n_cols) {
            data_fail(err, errlen, "line %lld: %lld value(s), but the header names %d column(s)",
                      (long long)row_line, (long long)have, d->n_cols);
            goto out;
        }
        if (c.olen - row_start - (size_t)d->n_cols > DATA_ROW_MAX) {
            data_fail(err, errlen, "line %lld: a row of %zu bytes, over the limit of %d",
                      (long long)row_line, c.olen - row_start - (size_t)d->n_cols, DATA_ROW_MAX);
            goto out;
        }
        if (++d->n_rows > DATA_ROWS_MAX) {
            data_fail(err, errlen, "more than %d rows", DATA_ROWS_MAX);
            goto out;
        }
    }
    if (d->n_rows == 0) {
        data_fail(err, errlen, "the data has a header row and no rows");
        goto out;
    }
    d->cols = calloc((size_t)d->n_cols, sizeof *d->cols);
    d->cells = malloc((size_t)(d->n_rows * d->n_cols) * sizeof *d->cells);
    d->lens = malloc((size_t)(d->n_rows * d->n_cols) * sizeof *d->lens);
    if (!d->cols || !d->cells || !d->lens) {
        data_fail(err, errlen, "out of memory");
        goto out;
    }
    for (int k = 0; k < d->n_cols; k++) {
        const char *name = c.out + offs[k];
        size_t n = strlen(name);
        if (!data_name_ok(name, n)) {
            data_fail(err, errlen,
                      "column %d of the header: \"%.*s\" is not a column name (1..%d of A-Z a-z "
                      "0-9 _, not a digit first, and not seq, driver, uuid, now_ms or rand)",
                      k + 1, (int)(n > 64 ? 64 : n), name, DATA_NAME_MAX - 1);
            goto out;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(d->cols[j], name) == 0) {
                data_fail(err, errlen, "column \"%s\" is named twice in the header", name);
                goto out;
            }
        if (!(d->cols[k] = strdup(name))) {
            data_fail(err, errlen, "out of memory");
            goto out;
        }
    }
    for (int64_t i = 0; i < d->n_rows * d->n_cols; i++) {
        size_t at = offs[d->n_cols + i];
        d->cells[i] = c.out + at;
        d->lens[i] = strlen(c.out + at);
    }
    d->text = c.out;
    c.out = NULL;
    rc = 0;
out:
    free(offs);
    free(c.out);
    if (rc < 0)
        data_free(d);
    return rc;
}

/* ---- the "data" field --------------------------------------------------------- */

int data_decode(const cJSON *o, struct msg_data *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (!o || cJSON_IsNull(o))
        return 0;
    if (!cJSON_IsObject(o))
        return data_fail(err, errlen, "\"data\" must be an object: {\"csv\": ..., \"mode\": ...}");
    for (const cJSON *it = o->child; it; it = it->next)
        if (!it->string || (strcmp(it->string, "csv") != 0 && strcmp(it->string, "mode") != 0 &&
                            strcmp(it->string, "columns") != 0 && strcmp(it->string, "rows") != 0))
            return data_fail(err, errlen, "\"data\": unknown field \"%.64s\" (csv, mode)",
                             it->string ? it->string : "");
    enum data_mode mode = DATA_SPLIT;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mode");
    if (m && !cJSON_IsNull(m)) {
        if (cJSON_IsString(m) && strcmp(m->valuestring, "split") == 0)
            mode = DATA_SPLIT;
        else if (cJSON_IsString(m) && strcmp(m->valuestring, "shared") == 0)
            mode = DATA_SHARED;
        else
            return data_fail(err, errlen, "\"data.mode\" must be \"split\" or \"shared\"");
    }
    const cJSON *csv = cJSON_GetObjectItemCaseSensitive(o, "csv");
    if (csv) {
        if (!cJSON_IsString(csv) || !csv->valuestring)
            return data_fail(err, errlen, "\"data.csv\" must be a string: the CSV text");
        if (cJSON_GetObjectItemCaseSensitive(o, "columns") ||
            cJSON_GetObjectItemCaseSensitive(o, "rows"))
            return data_fail(err, errlen, "\"data\": give \"csv\" alone, without its shape");
        char e2[200];
        if (data_csv_parse(csv->valuestring, strlen(csv->valuestring), d, e2, sizeof e2) < 0)
            return data_fail(err, errlen, "\"data.csv\": %s", e2);
        d->mode = mode;
        return 0;
    }
    /* The shape alone, as test_config carries it. */
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(o, "columns");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(o, "rows");
    if (!cJSON_IsArray(cols) || !cJSON_IsNumber(rows))
        return data_fail(err, errlen, "\"data\" needs \"csv\" (the CSV text)");
    int n = cJSON_GetArraySize(cols);
    double r = rows->valuedouble;
    if (n < 1 || n > DATA_COLS_MAX)
        return data_fail(err, errlen, "\"data.columns\" must hold 1..%d names", DATA_COLS_MAX);
    if (!(r >= 1 && r <= DATA_ROWS_MAX) || r != (double)(int64_t)r)
        return data_fail(err, errlen, "\"data.rows\" must be a whole number 1..%d", DATA_ROWS_MAX);
    d->cols = calloc((size_t)n, sizeof *d->cols);
    if (!d->cols)
        return data_fail(err, errlen, "out of memory");
    d->n_cols = n;
    int k = 0;
    for (const cJSON *it = cols->child; it; it = it->next, k++) {
        if (!cJSON_IsString(it) || !data_name_ok(it->valuestring, strlen(it->valuestring))) {
            data_free(d);
            return data_fail(err, errlen, "\"data.columns\": entry %d is not a column name", k + 1);
        }
        for (int j = 0; j < k; j++)
            if (strcmp(d->cols[j], it->valuestring) == 0) {
                data_free(d);
                return data_fail(err, errlen, "\"data.columns\": \"%s\" twice", it->valuestring);
            }
        if (!(d->cols[k] = strdup(it->valuestring))) {
            data_free(d);
            return data_fail(err, errlen, "out of memory");
        }
    }
    d->n_rows = (int64_t)r;
    d->mode = mode;
    return 0;
}

cJSON *data_to_json(const struct msg_data *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *cols = cJSON_AddArrayToObject(o, "columns");
    int ok = o && cols && cJSON_AddStringToObject(o, "mode", data_mode_name(d->mode)) &&
             cJSON_AddNumberToObject(o, "rows", (double)d->n_rows);
    for (int i = 0; ok && i < d->n_cols; i++) {
        cJSON *s = cJSON_CreateString(d->cols[i]);
        ok = s && cJSON_AddItemToArray(cols, s);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int data_copy(struct msg_data *dst, const struct msg_data *src)
{
    memset(dst, 0, sizeof *dst);
    if (src->mode == DATA_NONE)
        return 0;
    dst->mode = src->mode;
    dst->n_rows = src->n_rows;
    dst->cols = calloc((size_t)src->n_cols, sizeof *dst->cols);
    if (!dst->cols)
        goto oom;
    dst->n_cols = src->n_cols;
    for (int i = 0; i < src->n_cols; i++)
        if (!(dst->cols[i] = strdup(src->cols[i])))
            goto oom;
    if (src->cells) {
        size_t n = (size_t)(src->n_rows * src->n_cols), bytes = 0;
        for (size_t i = 0; i < n; i++)
            bytes += src->lens[i] + 1;
        dst->text = malloc(bytes ? bytes : 1);
        dst->cells = malloc(n * sizeof *dst->cells);
        dst->lens = malloc(n * sizeof *dst->lens);
        if (!dst->text || !dst->cells || !dst->lens)
            goto oom;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(dst->text + at, src->cells[i], src->lens[i] + 1);
            dst->cells[i] = dst->text + at;
            dst->lens[i] = src->lens[i];
            at += src->lens[i] + 1;
        }
    }
    return 0;
oom:
    data_free(dst);
    return -1;
}

void data_drop_rows(struct msg_data *d)
{
    free(d->cells);
    free(d->lens);
    free(d->text);
    d->cells = NULL;
    d->lens = NULL;
    d->text = NULL;
}

void data_free(struct msg_data *d)
{
    if (!d)
        return;
    for (int i = 0; d->cols && i < d->n_cols; i++)
        free(d->cols[i]);
    free(d->cols);
    data_drop_rows(d);
    memset(d, 0, sizeof *d);
}

void data_slice(int64_t rows, int n, int k, int64_t *first, int64_t *count)
{
    if (n < 1 || k < 0 || k >= n) {
        *first = *count = 0;
        return;
    }
    int64_t base = rows / n, extra = rows % n;
    *first = (int64_t)k * base + (k < extra ? k : extra);
    *count = base + (k < extra ? 1 : 0);
}

/* ---- chunks ------------------------------------------------------------------- */

static char *data_chunk_print(const char *test_id, const char *node_id, int64_t chunk,
                              int64_t chunks, int64_t row, int64_t total, cJSON *rows)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "test_id", test_id) &&
             (!node_id || cJSON_AddStringToObject(o, "node_id", node_id)) &&
             cJSON_AddNumberToObject(o, "chunk", (double)chunk) &&
             cJSON_AddNumberToObject(o, "chunks", (double)chunks) &&
             cJSON_AddNumberToObject(o, "row", (double)row) &&
             cJSON_AddNumberToObject(o, "total", (double)total);
    if (!ok) {
        cJSON_Delete(o);
        cJSON_Delete(rows);
        return NULL;
    }
    cJSON_AddItemToObject(o, "rows", rows);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The bytes a value takes in a JSON string. */
static size_t data_json_len(const char *s, size_t n)
{
    size_t out = 2;
    for (size_t i = 0; i < n; i++)
        out += s[i] == '"' || s[i] == '\\' || s[i] == '\t' ? 2 : 1;
    return out;
}

char **data_chunks_encode(const struct msg_data *d, const char *test_id, const char *node_id,
                          int64_t first, int64_t count, int *n_out)
{
    *n_out = 0;
    /* Where each chunk starts: rows are added until the chunk's encoding
     * passes DATA_CHUNK_BYTES. */
    int64_t cap = 16, n = 0;
    int64_t *starts = malloc((size_t)cap * sizeof *starts);
    if (!starts)
        return NULL;
    size_t bytes = 0;
    for (int64_t r = 0; r < count; r++) {
        if (r == 0 || bytes >= DATA_CHUNK_BYTES) {
            if (n == cap) {
                int64_t *ns = realloc(starts, (size_t)(cap * 2) * sizeof *ns);
                if (!ns) {
                    free(starts);
                    return NULL;
                }
                starts = ns;
                cap *= 2;
            }
            starts[n++] = r;
            bytes = 0;
        }
        const int64_t at = (first + r) * d->n_cols;
        bytes += 3;
        for (int k = 0; k < d->n_cols; k++)
            bytes += data_json_len(d->cells[at + k], d->lens[at + k]) + 1;
    }
    if (count == 0)
        starts[n++] = 0;
    char **out = calloc((size_t)n, sizeof *out);
    for (int64_t i = 0; out && i < n; i++) {
        int64_t end = i + 1 < n ? starts[i + 1] : count;
        cJSON *rows = cJSON_CreateArray();
        int ok = rows != NULL;
        for (int64_t r = starts[i]; ok && r < end; r++) {
            cJSON *row = cJSON_CreateArray();
            ok = row && cJSON_AddItemToArray(rows, row);
            const int64_t at = (first + r) * d->n_cols;
            for (int k = 0; ok && k < d->n_cols; k++) {
                cJSON *v = cJSON_CreateString(d->cells[at + k]);
                ok = v && cJSON_AddItemToArray(row, v);
            }
        }
        if (ok)
            out[i] = data_chunk_print(test_id, node_id, i, n, starts[i], count, rows);
        else
            cJSON_Delete(rows);
        if (!out[i]) {
            for (int64_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            out = NULL;
        }
    }
    free(starts);
    if (out)
        *n_out = (int)n;
    return out;
}

static int data_get_count(const cJSON *o, const char *name, int64_t lo, int64_t hi, int64_t *v,
                          char *err, size_t errlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= (double)lo && it->valuedouble <= (double)hi) ||
        it->valuedouble != (double)(int64_t)it->valuedouble)
        return data_fail(err, errlen, "test_data: \"%s\" must be a whole number %lld..%lld", name,
                         (long long)lo, (long long)hi);
    *v = (int64_t)it->valuedouble;
    return 0;
}

int data_chunk_decode(const char *buf, size_t len, struct data_chunk *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (len > MSG_MAX_BYTES)
        return data_fail(err, errlen, "test_data: %zu bytes, over the %d byte limit", len,
                         MSG_MAX_BYTES);
    if (msg_json_nul_escape(buf, len))
        return data_fail(err, errlen, "test_data: a string holds \\u0000");
    cJSON *o = cJSON_ParseWithLength(buf, len);
    if (!o)
        return data_fail(err, errlen, "test_data: not JSON");
    int rc = -1;
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(o, "test_id");
    const cJSON *nid = cJSON_GetObjectItemCaseSensitive(o, "node_id");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(o, "rows");
    if (!cJSON_IsObject(o) || !cJSON_IsString(tid) || !id_valid(tid->valuestring)) {
        data_fail(err, errlen, "test_data: no valid \"test_id\"");
        goto out;
    }
    snprintf(c->test_id, sizeof c->test_id, "%s", tid->valuestring);
    if (nid && !cJSON_IsNull(nid)) {
        if (!cJSON_IsString(nid) || !id_valid(nid->valuestring)) {
            data_fail(err, errlen, "test_data: \"node_id\" is not a valid id");
            goto out;
        }
        snprintf(c->node_id, sizeof c->node_id, "%s", nid->valuestring);
    }
    if (data_get_count(o, "total", 1, DATA_ROWS_MAX, &c->total, err, errlen) < 0 ||
        data_get_count(o, "chunks", 1, c->total, &c->chunks, err, errlen) < 0 ||
        data_get_count(o, "chunk", 0, c->chunks - 1, &c->chunk, err, errlen) < 0 ||
        data_get_count(o, "row", 0, c->total - 1, &c->row, err, errlen) < 0)
        goto out;
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) < 1 ||
        cJSON_GetArraySize(rows) > c->total - c->row) {
        data_fail(err, errlen, "test_data: \"rows\" must hold 1..%lld rows",
                  (long long)(c->total - c->row));
        goto out;
    }
    c->n_rows = cJSON_GetArraySize(rows);
    const cJSON *first = cJSON_GetArrayItem(rows, 0);
    if (cJSON_IsArray(first) && c->total * cJSON_GetArraySize(first) > DATA_BYTES_MAX) {
        data_fail(err, errlen, "test_data: %lld rows of %d values, more than the data's limit",
                  (long long)c->total, cJSON_GetArraySize(first));
        goto out;
    }
    size_t bytes = 0;
    int64_t r = 0;
    for (const cJSON *row = rows->child; row; row = row->next, r++) {
        int n = cJSON_IsArray(row) ? cJSON_GetArraySize(row) : -1;
        if (r == 0)
            c->n_cols = n;
        if (n < 1 || n > DATA_COLS_MAX || n != c->n_cols) {
            data_fail(err, errlen, "test_data: row %lld must hold %d values", (long long)r,
                      c->n_cols > 0 ? c->n_cols : 1);
            goto out;
        }
        for (const cJSON *v = row->child; v; v = v->next) {
            size_t vl = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
            if (!cJSON_IsString(v) || vl > DATA_VALUE_MAX ||
                !data_text_ok((const unsigned char *)v->valuestring, vl)) {
                data_fail(err, errlen,
                          "test_data: row %lld: a value that is not a string of at most %d "
                          "bytes of UTF-8 without control characters",
                          (long long)r, DATA_VALUE_MAX);
                goto out;
            }
            bytes += vl + 1;
        }
    }
    size_t n = (size_t)(c->n_rows * c->n_cols);
    c->text = malloc(bytes);
    c->cells = malloc(n * sizeof *c->cells);
    c->lens = malloc(n * sizeof *c->lens);
    if (!c->text || !c->cells || !c->lens) {
        data_fail(err, errlen, "out of memory");
        goto out;
    }
    size_t at = 0, i = 0;
    for (const cJSON *row = rows->child; row; row = row->next)
        for (const cJSON *v = row->child; v; v = v->next, i++) {
            size_t vl = strlen(v->valuestring);
            memcpy(c->text + at, v->valuestring, vl + 1);
            c->cells[i] = c->text + at;
            c->lens[i] = vl;
            at += vl + 1;
        }
    rc = 0;
out:
    cJSON_Delete(o);
    if (rc < 0)
        data_chunk_free(c);
    return rc;
}

void data_chunk_free(struct data_chunk *c)
{
    if (!c)
        return;
    free(c->cells);
    free(c->lens);
    free(c->text);
    memset(c, 0, sizeof *c);
}

void data_recv_free(struct data_recv *r)
{
    if (!r)
        return;
    for (int64_t i = 0; r->texts && i < r->got; i++)
        free(r->texts[i]);
    free(r->texts);
    free(r->seen);
    free(r->cells);
    free(r->lens);
    memset(r, 0, sizeof *r);
}

static int data_recv_take(struct data_recv *r, struct data_chunk *c, char *err, size_t errlen)
{
    if (strcmp(r->test_id, c->test_id) != 0 || !r->cells) {
        data_recv_free(r);
        snprintf(r->test_id, sizeof r->test_id, "%s", c->test_id);
        r->n_cols = c->n_cols;
        r->total = c->total;
        r->chunks = c->chunks;
        size_t n = (size_t)(c->total * c->n_cols);
        r->cells = calloc(n, sizeof *r->cells);
        r->lens = calloc(n, sizeof *r->lens);
        r->seen = calloc((size_t)c->chunks, 1);
        r->texts = calloc((size_t)c->chunks, sizeof *r->texts);
        if (!r->cells || !r->lens || !r->seen || !r->texts) {
            data_recv_free(r);
            return data_fail(err, errlen, "out of memory for %lld rows", (long long)c->total);
        }
    }
    if (c->n_cols != r->n_cols || c->total != r->total || c->chunks != r->chunks ||
        c->row + c->n_rows > r->total) {
        char id[ID_MAX];
        snprintf(id, sizeof id, "%s", r->test_id);
        data_recv_free(r);
        return data_fail(err, errlen,
                         "test_data: chunk %lld of test %s does not fit the chunks before it; "
                         "its rows are dropped",
                         (long long)c->chunk, id);
    }
    if (r->seen[c->chunk])
        return r->got == r->chunks; /* a chunk read twice */
    for (int64_t i = 0; i < c->n_rows * c->n_cols; i++) {
        const int64_t at = c->row * r->n_cols + i;
        if (r->cells[at]) {
            char id[ID_MAX];
            snprintf(id, sizeof id, "%s", r->test_id);
            data_recv_free(r);
            return data_fail(err, errlen,
                             "test_data: chunk %lld of test %s holds rows another chunk held",
                             (long long)c->chunk, id);
        }
        r->cells[at] = c->cells[i];
        r->lens[at] = c->lens[i];
    }
    r->seen[c->chunk] = 1;
    r->texts[r->got++] = c->text;
    c->text = NULL;
    if (r->got < r->chunks)
        return 0;
    for (int64_t i = 0; i < r->total * r->n_cols; i++)
        if (!r->cells[i]) {
            char id[ID_MAX];
            snprintf(id, sizeof id, "%s", r->test_id);
            data_recv_free(r);
            return data_fail(err, errlen, "test_data: the chunks of test %s leave rows out", id);
        }
    return 1;
}

int data_recv_add(struct data_recv *r, struct data_chunk *c, char *err, size_t errlen)
{
    int rc = data_recv_take(r, c, err, errlen);
    data_chunk_free(c);
    return rc;
}

int data_recv_complete(const struct data_recv *r, const char *test_id)
{
    return r->cells && r->got == r->chunks && strcmp(r->test_id, test_id) == 0;
}
