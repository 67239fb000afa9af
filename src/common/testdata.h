/* testdata: a test's data ("data" in test_config), rows of named values
 * that a mix's {{column}} templates take in turn, and the chunks the rows
 * travel to the drivers in.
 *
 * In POST /api/tests and a test file, the rows come as CSV text:
 *
 *     "data": {"csv": "user,pass\nalice,x\n...", "mode": "split" | "shared"}
 *
 * In test_config on Kafka only their shape goes (a config stays small):
 *
 *     "data": {"mode": "split", "columns": ["user", "pass"], "rows": 1000}
 *
 * and the rows follow on the test_data topic, in chunks well under the
 * message size limit:
 *
 *     {"test_id": "t-...", "node_id": "d-1", "chunk": 0, "chunks": 2,
 *      "row": 0, "total": 500, "rows": [["alice", "x"], ...]}
 *
 * A chunk with "node_id" is for that driver alone (split: each driver gets
 * its own slice of the rows); one without is for every driver (shared).
 * "row" is the place of the chunk's first row among the rows its receiver
 * gets, "total" how many rows that is, "chunks" in how many chunks.
 *
 * The CSV: a header row of column names, then one row per line (LF or CRLF;
 * empty lines skipped; a UTF-8 byte order mark skipped). RFC 4180 quoting:
 * "a, b" holds a comma, "" a quote. A value may not hold a control
 * character (a line break, a NUL): values go into request lines and
 * headers. Text must be UTF-8. */
#ifndef DLT_TESTDATA_H
#define DLT_TESTDATA_H

#include "ids.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define DATA_BYTES_MAX (8 * 1024 * 1024) /* the CSV text */
#define DATA_ROWS_MAX 1000000
#define DATA_COLS_MAX 64
#define DATA_NAME_MAX 64              /* a column name: 1..63 of A-Z a-z 0-9 _, not a digit first */
#define DATA_VALUE_MAX 8192           /* bytes of one value */
#define DATA_ROW_MAX 65536            /* bytes of one row's values together */
#define DATA_CHUNK_BYTES (256 * 1024) /* a chunk's rows stop growing past this, encoded */

enum data_mode { DATA_NONE = 0, DATA_SPLIT, DATA_SHARED };

struct msg_data {
    enum data_mode mode; /* DATA_NONE: the test has no data */
    int n_cols;
    char **cols;    /* n_cols names */
    int64_t n_rows; /* rows of the whole data */
    /* The values, row by row (n_rows * n_cols, NUL-terminated, pointing
     * into text); NULL when only the shape is known (a config from Kafka,
     * or one whose rows were sent). */
    const char **cells;
    size_t *lens;
    char *text;
};

/* "split" or "shared". */
const char *data_mode_name(enum data_mode m);

/* Parse len bytes of CSV text into d (mode left to the caller). Returns 0,
 * or -1 with one reason (and its line) in err; d then holds nothing. */
int data_csv_parse(const char *s, size_t len, struct msg_data *d, char *err, size_t errlen);

/* Decode "data" (NULL or null: none): {"csv", "mode"} or the shape
 * {"mode", "columns", "rows"}. Returns 0, or -1 with err. */
int data_decode(const cJSON *o, struct msg_data *d, char *err, size_t errlen);
/* The shape as a JSON object; NULL when out of memory. */
cJSON *data_to_json(const struct msg_data *d);
/* Deep copy (rows too). Returns 0, or -1 when out of memory (dst zeroed). */
int data_copy(struct msg_data *dst, const struct msg_data *src);
/* Forget the rows, keeping the shape. */
void data_drop_rows(struct msg_data *d);
void data_free(struct msg_data *d);

/* The slice of rows of the k-th of n drivers in split mode: *first, *count.
 * Every row is in exactly one slice; sizes differ by at most one. */
void data_slice(int64_t rows, int n, int k, int64_t *first, int64_t *count);

/* The chunk messages carrying rows first..first+count-1 of d to node_id
 * (NULL: every driver). Returns a malloc'd array of *n_out malloc'd JSON
 * strings (free each, then the array), or NULL when out of memory. */
char **data_chunks_encode(const struct msg_data *d, const char *test_id, const char *node_id,
                          int64_t first, int64_t count, int *n_out);

/* One decoded chunk. */
struct data_chunk {
    char test_id[ID_MAX];
    char node_id[ID_MAX]; /* "": for every driver */
    int64_t chunk, chunks, row, total;
    int n_cols;
    int64_t n_rows;
    const char **cells; /* n_rows * n_cols, into text */
    size_t *lens;
    char *text;
};

int data_chunk_decode(const char *buf, size_t len, struct data_chunk *c, char *err, size_t errlen);
void data_chunk_free(struct data_chunk *c);

/* A driver's rows as their chunks arrive, in any order. */
struct data_recv {
    char test_id[ID_MAX];
    int n_cols;
    int64_t total, chunks, got;
    unsigned char *seen; /* chunks flags */
    const char **cells;  /* total * n_cols; NULL until the first chunk */
    size_t *lens;
    char **texts; /* the chunks' blocks, got of them */
};

/* Take chunk c (its rows pass to r; c is emptied, whatever the outcome). A chunk of another
 * test starts r over. Returns 1 when r holds all its rows, 0 while some are
 * to come, -1 with err when c does not fit the chunks before it (r is then
 * started over). */
int data_recv_add(struct data_recv *r, struct data_chunk *c, char *err, size_t errlen);
/* 1 when r holds all the rows of test_id. */
int data_recv_complete(const struct data_recv *r, const char *test_id);
void data_recv_free(struct data_recv *r);

#endif
