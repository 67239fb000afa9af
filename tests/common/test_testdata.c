/* testdata: the CSV of a test's data parses (quotes, CRLF, a BOM, empty
 * lines) and refuses what is malformed with its line; the limits hold; the
 * "data" field decodes from CSV and from its shape; split slices cover
 * every row once; chunks stay under the message limit and reassemble in
 * any order; a bad or stray chunk is refused; a URL template
 * percent-encodes a value. */
#include "msg.h"
#include "testdata.h"
#include "tmpl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void parse_ok(const char *csv, struct msg_data *d)
{
    char err[256];
    if (data_csv_parse(csv, strlen(csv), d, err, sizeof err) < 0)
        fail_msg("'%s': %s", csv, err);
}

static void parse_bad(const char *csv, size_t len, const char *want)
{
    struct msg_data d;
    char err[256] = "";
    if (data_csv_parse(csv, len, &d, err, sizeof err) == 0)
        fail_msg("'%.60s' parsed", csv);
    if (!strstr(err, want))
        fail_msg("'%.60s': '%s', wanted '%s'", csv, err, want);
    assert_null(d.cells);
    assert_null(d.cols);
}

static void cell_is(const struct msg_data *d, int64_t row, int col, const char *want)
{
    const char *v = d->cells[row * d->n_cols + col];
    if (strcmp(v, want) != 0 || d->lens[row * d->n_cols + col] != strlen(want))
        fail_msg("row %lld col %d: '%s', wanted '%s'", (long long)row, col, v, want);
}

static void test_csv(void **state)
{
    (void)state;
    struct msg_data d;
    parse_ok("user,pass\nalice,x\nbob,\"y,\"\"z\"\"\"\n", &d);
    assert_int_equal(d.n_cols, 2);
    assert_int_equal(d.n_rows, 2);
    assert_string_equal(d.cols[0], "user");
    assert_string_equal(d.cols[1], "pass");
    cell_is(&d, 0, 0, "alice");
    cell_is(&d, 0, 1, "x");
    cell_is(&d, 1, 0, "bob");
    cell_is(&d, 1, 1, "y,\"z\"");
    data_free(&d);
    /* CRLF, a BOM, empty lines, no final line break, empty values. */
    parse_ok("\xef\xbb\xbf"
             "a,b_2\r\n\r\n1,\r\n\n,\"\"\r\nz\xc3\xa9,3",
             &d);
    assert_int_equal(d.n_rows, 3);
    assert_string_equal(d.cols[1], "b_2");
    cell_is(&d, 0, 0, "1");
    cell_is(&d, 0, 1, "");
    cell_is(&d, 1, 0, "");
    cell_is(&d, 1, 1, "");
    cell_is(&d, 2, 0, "z\xc3\xa9");
    data_free(&d);
    parse_ok("only\nv1\nv2\nv3\n", &d);
    assert_int_equal(d.n_cols, 1);
    assert_int_equal(d.n_rows, 3);
    data_free(&d);

    parse_bad("", 0, "empty");
    parse_bad("\n\n", 2, "empty");
    parse_bad("user\n", 5, "no rows");
    parse_bad("a,b\n1\n", 6, "line 2: 1 value(s), but the header names 2");
    parse_bad("a,b\n1,2\n3,4,5\n", 14, "line 3: 3 value(s)");
    parse_bad("a\n\"open\n", 8, "line 2: a quoted value is not closed");
    parse_bad("a\n\"x\"y\n", 7, "line 2: text after a closing quote");
    parse_bad("a\nx\"y\n", 6, "line 2: a quote inside a value");
    parse_bad("a\n\"x\ny\"\n", 8, "line 2: a value holds a control character");
    parse_bad("a\nx\ry\n", 6, "line 2: a carriage return");
    parse_bad("a\nx\0y\n", 6, "control character");
    parse_bad("a\n\xff\n", 4, "not UTF-8");
    parse_bad("a\n\xc3\n", 4, "not UTF-8");
    parse_bad("a\n\xed\xa0\x80\n", 6, "not UTF-8"); /* a surrogate */
    parse_bad("a,a\n1,2\n", 8, "named twice");
    parse_bad("seq\n1\n", 6, "not a column name");
    parse_bad("1st\n1\n", 6, "not a column name");
    parse_bad("a b\n1\n", 6, "not a column name");
    parse_bad("a,\n1,2\n", 7, "column 2 of the header");
}

static void test_limits(void **state)
{
    (void)state;
    /* A value over DATA_VALUE_MAX, a row over DATA_ROW_MAX. */
    size_t n = DATA_VALUE_MAX + 1;
    char *big = malloc(n + 16);
    memcpy(big, "a\n", 2);
    memset(big + 2, 'v', n);
    memcpy(big + 2 + n, "\n", 2);
    parse_bad(big, n + 3, "over the limit of 8192");
    free(big);
    size_t cols = 9, vl = DATA_VALUE_MAX - 1;
    size_t cap = cols * (vl + 4) + 64;
    char *row = malloc(cap);
    size_t at = 0;
    for (size_t c = 0; c < cols; c++)
        at += (size_t)snprintf(row + at, cap - at, "%sc%zu", c ? "," : "", c);
    row[at++] = '\n';
    for (size_t c = 0; c < cols; c++) {
        if (c)
            row[at++] = ',';
        memset(row + at, 'w', vl);
        at += vl;
    }
    row[at++] = '\n';
    parse_bad(row, at, "line 2: a row of");
    free(row);
    /* More than DATA_COLS_MAX columns. */
    char hdr[1024];
    at = 0;
    for (int c = 0; c <= DATA_COLS_MAX; c++)
        at += (size_t)snprintf(hdr + at, sizeof hdr - at, "%sc%d", c ? "," : "", c);
    snprintf(hdr + at, sizeof hdr - at, "\n");
    parse_bad(hdr, strlen(hdr), "65 columns, over the limit of 64");
    /* Over DATA_ROWS_MAX rows. */
    size_t rows = DATA_ROWS_MAX + 1;
    char *many = malloc(2 + rows * 2 + 1);
    memcpy(many, "a\n", 2);
    for (size_t i = 0; i < rows; i++)
        memcpy(many + 2 + i * 2, "1\n", 2);
    parse_bad(many, 2 + rows * 2, "more than 1000000 rows");
    /* Exactly DATA_ROWS_MAX parses. */
    struct msg_data d;
    char err[256];
    assert_int_equal(data_csv_parse(many, 2 + (rows - 1) * 2, &d, err, sizeof err), 0);
    assert_int_equal(d.n_rows, DATA_ROWS_MAX);
    data_free(&d);
    free(many);
    /* Over DATA_BYTES_MAX bytes. */
    char *huge = calloc(1, (size_t)DATA_BYTES_MAX + 2);
    memset(huge, 'x', (size_t)DATA_BYTES_MAX + 1);
    parse_bad(huge, (size_t)DATA_BYTES_MAX + 1, "over the limit of 8388608");
    free(huge);
}

static void decode_bad(const char *json, const char *want)
{
    struct msg_test_config m;
    char err[256] = "";
    cJSON *o = cJSON_Parse(json);
    assert_non_null(o);
    int rc = msg_test_config_from_json(o, 0, &m, err, sizeof err);
    cJSON_Delete(o);
    if (rc == 0)
        fail_msg("%s decoded", json);
    if (!strstr(err, want))
        fail_msg("%s: '%s', wanted '%s'", json, err, want);
}

#define MIX_U "\"requests\":[{\"name\":\"a\",\"url\":\"http://127.0.0.1:1/?u={{user}}\"}]"

static void test_field(void **state)
{
    (void)state;
    char err[256];
    const char *json =
        "{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":5,"
        "\"data\":{\"csv\":\"user\\nalice\\nbob\\n\",\"mode\":\"shared\"}," MIX_U "}";
    struct msg_test_config m, m2;
    cJSON *o = cJSON_Parse(json);
    assert_int_equal(msg_test_config_from_json(o, 0, &m, err, sizeof err), 0);
    cJSON_Delete(o);
    assert_int_equal(m.data.mode, DATA_SHARED);
    assert_int_equal(m.data.n_rows, 2);
    assert_non_null(m.data.cells);
    /* A copy holds the rows too; the encoding carries the shape alone. */
    assert_int_equal(msg_test_config_copy(&m2, &m), 0);
    cell_is(&m2.data, 1, 0, "bob");
    msg_test_config_free(&m2);
    snprintf(m.test_id, sizeof m.test_id, "t-1");
    char *s = msg_test_config_encode(&m);
    assert_non_null(s);
    assert_null(strstr(s, "alice"));
    assert_non_null(strstr(s, "\"columns\":[\"user\"]"));
    assert_int_equal(msg_test_config_decode(s, strlen(s), &m2, err, sizeof err), 0);
    assert_int_equal(m2.data.mode, DATA_SHARED);
    assert_int_equal(m2.data.n_rows, 2);
    assert_null(m2.data.cells);
    assert_string_equal(m2.data.cols[0], "user");
    free(s);
    msg_test_config_free(&m2);
    msg_test_config_free(&m);

    /* The mode defaults to split. */
    o = cJSON_Parse("{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":5,"
                    "\"data\":{\"csv\":\"user\\nalice\\n\"}," MIX_U "}");
    assert_int_equal(msg_test_config_from_json(o, 0, &m, err, sizeof err), 0);
    cJSON_Delete(o);
    assert_int_equal(m.data.mode, DATA_SPLIT);
    msg_test_config_free(&m);

#define HEAD "{\"test_type\":\"AVALANCHE\",\"message_count_per_driver\":5,"
    decode_bad(HEAD MIX_U "}", "unknown variable {{user}}");
    decode_bad(HEAD "\"data\":{\"csv\":\"name\\nx\\n\"}," MIX_U "}", "unknown variable {{user}}");
    decode_bad(HEAD "\"data\":{\"csv\":\"user\\nx\\n\"}}", "\"data\" is for a request mix");
    decode_bad(HEAD "\"data\":{\"csv\":\"user\\nx\\n\",\"mode\":\"all\"}," MIX_U "}",
               "\"data.mode\" must be");
    decode_bad(HEAD "\"data\":{\"csv\":\"user\\n\"}," MIX_U "}", "\"data.csv\": the data has");
    decode_bad(HEAD "\"data\":{\"csv\":\"user\\na\\\"b\\n\"}," MIX_U "}", "line 2");
    decode_bad(HEAD "\"data\":{\"csv\":5}," MIX_U "}", "\"data.csv\" must be a string");
    decode_bad(HEAD "\"data\":{\"file\":\"u.csv\"}," MIX_U "}", "unknown field \"file\"");
    decode_bad(HEAD "\"data\":[]," MIX_U "}", "\"data\" must be an object");
    decode_bad(HEAD "\"data\":{\"mode\":\"split\"}," MIX_U "}", "needs \"csv\"");
    decode_bad(HEAD "\"data\":{\"columns\":[\"user\"],\"rows\":0}," MIX_U "}", "\"data.rows\"");
    decode_bad(HEAD "\"data\":{\"columns\":[\"us er\"],\"rows\":1}," MIX_U "}",
               "not a column name");
    decode_bad(HEAD
               "\"drivers\":[\"d-1\",\"d-2\",\"d-3\"],\"data\":{\"csv\":\"user\\na\\nb\\n\"}," MIX_U
               "}",
               "cannot be split among 3 drivers");
}

static void test_slices(void **state)
{
    (void)state;
    for (int64_t rows = 1; rows < 40; rows++)
        for (int n = 1; n <= rows && n < 12; n++) {
            int64_t next = 0, lo = rows, hi = 0;
            for (int k = 0; k < n; k++) {
                int64_t first, count;
                data_slice(rows, n, k, &first, &count);
                assert_int_equal(first, next); /* contiguous, in order, disjoint */
                next = first + count;
                lo = count < lo ? count : lo;
                hi = count > hi ? count : hi;
            }
            assert_int_equal(next, rows); /* every row */
            assert_true(hi - lo <= 1 && lo >= 1);
        }
}

/* Data of rows x cols with values "r<row>c<col>" padded to pad bytes. */
static void make_data(struct msg_data *d, int64_t rows, int cols, size_t pad)
{
    size_t cap = (size_t)(rows * cols) * (pad + 32) + 1024, at = 0;
    char *csv = malloc(cap);
    for (int c = 0; c < cols; c++)
        at += (size_t)snprintf(csv + at, cap - at, "%sc%d", c ? "," : "", c);
    csv[at++] = '\n';
    for (int64_t r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            int w = snprintf(csv + at, cap - at, "%sr%lldc%d", c ? "," : "", (long long)r, c);
            at += (size_t)w;
            for (size_t p = (size_t)w; p < pad; p++)
                csv[at++] = p % 7 == 0 ? '"' : 'p';
        }
        csv[at++] = '\n';
    }
    /* The quotes make every padded value need quoting in CSV: wrap them. */
    char err[256];
    if (pad > 0) {
        /* Rebuild with each value quoted and its quotes doubled. */
        size_t cap2 = cap * 2, at2 = 0;
        char *q = malloc(cap2);
        size_t i = 0;
        while (i < at && csv[i] != '\n')
            q[at2++] = csv[i++];
        q[at2++] = csv[i++];
        while (i < at) {
            q[at2++] = '"';
            while (csv[i] != ',' && csv[i] != '\n') {
                if (csv[i] == '"')
                    q[at2++] = '"';
                q[at2++] = csv[i++];
            }
            q[at2++] = '"';
            q[at2++] = csv[i++];
        }
        free(csv);
        csv = q;
        at = at2;
    }
    if (data_csv_parse(csv, at, d, err, sizeof err) < 0)
        fail_msg("make_data: %s", err);
    free(csv);
}

static void test_chunks(void **state)
{
    (void)state;
    struct msg_data d;
    /* Rows of 8 values of 8000 bytes, most of them quotes to escape: the
     * largest rows there can be, near enough. */
    make_data(&d, 60, 8, 8000);
    int n = 0;
    char **msgs = data_chunks_encode(&d, "t-1", "d-2", 10, 40, &n);
    assert_non_null(msgs);
    assert_true(n > 1);
    /* Taken in reverse order, twice each. */
    struct data_recv r = {0};
    char err[256];
    int done = 0;
    for (int i = n - 1; i >= 0; i--)
        for (int twice = 0; twice < 2; twice++) {
            assert_true(strlen(msgs[i]) < MSG_MAX_BYTES);
            struct data_chunk ch;
            if (data_chunk_decode(msgs[i], strlen(msgs[i]), &ch, err, sizeof err) < 0)
                fail_msg("chunk %d: %s", i, err);
            assert_string_equal(ch.node_id, "d-2");
            assert_int_equal(ch.total, 40);
            int rc = data_recv_add(&r, &ch, err, sizeof err);
            assert_true(rc >= 0);
            done = rc;
            assert_null(ch.text);
        }
    assert_int_equal(done, 1);
    assert_true(data_recv_complete(&r, "t-1"));
    assert_false(data_recv_complete(&r, "t-2"));
    assert_int_equal(r.total, 40);
    for (int64_t i = 0; i < 40 * 8; i++)
        assert_memory_equal(r.cells[i], d.cells[10 * 8 + i], d.lens[10 * 8 + i] + 1);
    data_recv_free(&r);
    for (int i = 0; i < n; i++)
        free(msgs[i]);
    free(msgs);
    data_free(&d);

    /* Many small rows, shared: chunks of about DATA_CHUNK_BYTES. */
    make_data(&d, 100000, 2, 0);
    msgs = data_chunks_encode(&d, "t-9", NULL, 0, d.n_rows, &n);
    assert_non_null(msgs);
    assert_true(n >= 5);
    for (int i = 0; i < n; i++) {
        assert_true(strlen(msgs[i]) < DATA_CHUNK_BYTES + 1024);
        struct data_chunk ch;
        assert_int_equal(data_chunk_decode(msgs[i], strlen(msgs[i]), &ch, err, sizeof err), 0);
        assert_string_equal(ch.node_id, "");
        assert_int_equal(data_recv_add(&r, &ch, err, sizeof err), i == n - 1);
        free(msgs[i]);
    }
    free(msgs);
    assert_int_equal(r.total, 100000);
    assert_string_equal(r.cells[2 * 99999 + 1], "r99999c1");
    /* A chunk of another test starts over. */
    msgs = data_chunks_encode(&d, "t-10", NULL, 0, 3, &n);
    assert_int_equal(n, 1);
    struct data_chunk ch;
    assert_int_equal(data_chunk_decode(msgs[0], strlen(msgs[0]), &ch, err, sizeof err), 0);
    assert_int_equal(data_recv_add(&r, &ch, err, sizeof err), 1);
    assert_true(data_recv_complete(&r, "t-10"));
    assert_int_equal(r.total, 3);
    free(msgs[0]);
    free(msgs);
    data_recv_free(&r);
    data_free(&d);
}

static void chunk_bad(const char *json, const char *want)
{
    struct data_chunk c;
    char err[256] = "";
    if (data_chunk_decode(json, strlen(json), &c, err, sizeof err) == 0)
        fail_msg("%s decoded", json);
    if (!strstr(err, want))
        fail_msg("%s: '%s', wanted '%s'", json, err, want);
    assert_null(c.text);
}

#define CH(rest) "{\"test_id\":\"t-1\",\"chunk\":0,\"chunks\":1,\"row\":0,\"total\":2," rest "}"

static void test_chunk_errors(void **state)
{
    (void)state;
    chunk_bad("nope", "not JSON");
    chunk_bad("[]", "test_id");
    chunk_bad("{\"test_id\":\"bad id\"}", "test_id");
    chunk_bad(CH("\"rows\":[[\"a\"],[\"b\"],[\"c\"]]"), "1..2 rows");
    chunk_bad(CH("\"rows\":[]"), "1..2 rows");
    chunk_bad(CH("\"rows\":[[\"a\"],[\"b\",\"c\"]]"), "row 1 must hold 1 values");
    chunk_bad(CH("\"rows\":[[\"a\"],[5]]"), "row 1: a value");
    chunk_bad(CH("\"rows\":[[\"a\"],[\"x\\ny\"]]"), "row 1: a value");
    chunk_bad(CH("\"rows\":[[\"a\"],[\"x\\u0000y\"]]"), "\\u0000");
    chunk_bad(CH("\"node_id\":\"a b\",\"rows\":[[\"a\"]]"), "node_id");
    chunk_bad(
        "{\"test_id\":\"t-1\",\"chunk\":1,\"chunks\":1,\"row\":0,\"total\":2,\"rows\":[[\"a\"]]}",
        "\"chunk\" must be");
    chunk_bad(
        "{\"test_id\":\"t-1\",\"chunk\":0,\"chunks\":1,\"row\":0,\"total\":0,\"rows\":[[\"a\"]]}",
        "\"total\" must be");
    chunk_bad(
        "{\"test_id\":\"t-1\",\"chunk\":0,\"chunks\":1,\"row\":2,\"total\":2,\"rows\":[[\"a\"]]}",
        "\"row\" must be");
    chunk_bad(
        "{\"test_id\":\"t-1\",\"chunk\":0,\"chunks\":1,\"row\":0,\"total\":1.5,\"rows\":[[\"a\"]]}",
        "\"total\" must be");

    /* Chunks that do not fit each other: r starts over. */
    struct data_recv r = {0};
    struct data_chunk c;
    char err[256];
    const char *a = "{\"test_id\":\"t-1\",\"chunk\":0,\"chunks\":2,\"row\":0,\"total\":2,"
                    "\"rows\":[[\"a\"]]}";
    const char *b = "{\"test_id\":\"t-1\",\"chunk\":1,\"chunks\":2,\"row\":0,\"total\":2,"
                    "\"rows\":[[\"b\"]]}";
    const char *wide = "{\"test_id\":\"t-1\",\"chunk\":1,\"chunks\":2,\"row\":1,\"total\":2,"
                       "\"rows\":[[\"b\",\"c\"]]}";
    const char *other = "{\"test_id\":\"t-1\",\"chunk\":1,\"chunks\":3,\"row\":1,\"total\":3,"
                        "\"rows\":[[\"b\"]]}";
    const char *good = "{\"test_id\":\"t-1\",\"chunk\":1,\"chunks\":2,\"row\":1,\"total\":2,"
                       "\"rows\":[[\"b\"]]}";
    const char *bad[] = {b, wide, other};
    const char *why[] = {"holds rows another chunk held", "does not fit", "does not fit"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(data_chunk_decode(a, strlen(a), &c, err, sizeof err), 0);
        assert_int_equal(data_recv_add(&r, &c, err, sizeof err), 0);
        assert_int_equal(data_chunk_decode(bad[i], strlen(bad[i]), &c, err, sizeof err), 0);
        assert_int_equal(data_recv_add(&r, &c, err, sizeof err), -1);
        if (!strstr(err, why[i]))
            fail_msg("case %d: '%s'", i, err);
        assert_false(data_recv_complete(&r, "t-1"));
    }
    assert_int_equal(data_chunk_decode(a, strlen(a), &c, err, sizeof err), 0);
    assert_int_equal(data_recv_add(&r, &c, err, sizeof err), 0);
    assert_int_equal(data_chunk_decode(good, strlen(good), &c, err, sizeof err), 0);
    assert_int_equal(data_recv_add(&r, &c, err, sizeof err), 1);
    assert_string_equal(r.cells[1], "b");
    data_recv_free(&r);
}

static void test_url_encoding(void **state)
{
    (void)state;
    const char *cols[] = {"q"};
    const char *row[] = {"a b/c?d=é&~._-"};
    size_t row_len[] = {strlen(row[0])};
    uint64_t rng = tmpl_rng_seed(1);
    struct tmpl_ctx ctx = {.rng = &rng, .row = row, .row_len = row_len};
    struct tmpl t;
    char err[200];
    const char *src = "/s?q={{q}}";
    assert_int_equal(tmpl_parse(&t, src, strlen(src), cols, 1, err, sizeof err), 0);
    struct tbuf b = {0};
    assert_int_equal(tmpl_expand(&t, &ctx, &b), 0);
    assert_string_equal(b.p, "/s?q=a b/c?d=é&~._-"); /* a header or body: as it is */
    t.url = 1;
    b.len = 0;
    assert_int_equal(tmpl_expand(&t, &ctx, &b), 0);
    assert_string_equal(b.p, "/s?q=a%20b%2Fc%3Fd%3D%C3%A9%26~._-");
    free(b.p);
    tmpl_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),          cmocka_unit_test(test_limits),
        cmocka_unit_test(test_field),        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_chunks),       cmocka_unit_test(test_chunk_errors),
        cmocka_unit_test(test_url_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
