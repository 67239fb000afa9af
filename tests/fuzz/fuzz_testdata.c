/* libFuzzer target: a test's data. The first byte picks the decoder: the
 * CSV parser (data_csv_parse) or a test_data chunk (data_chunk_decode, then
 * taken by a data_recv). Parsed CSV must travel: its chunks decode and
 * reassemble to the same values, every chunk under the message limit. */
#include "msg.h"
#include "testdata.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_testdata: %s\n", what);
        abort();
    }
}

static void csv_case(const char *buf, size_t len)
{
    struct msg_data d;
    char err[256];
    if (data_csv_parse(buf, len, &d, err, sizeof err) < 0) {
        must(d.cells == NULL && d.cols == NULL, "a refused CSV left values");
        return;
    }
    must(d.n_rows >= 1 && d.n_cols >= 1 && d.n_cols <= DATA_COLS_MAX, "shape");
    for (int split = 0; split < 2; split++) {
        int64_t first = 0, count = d.n_rows;
        if (split)
            data_slice(d.n_rows, 3, 1, &first, &count);
        if (count == 0)
            continue;
        int n = 0;
        char **msgs = data_chunks_encode(&d, "t-1", split ? "d-1" : NULL, first, count, &n);
        must(msgs && n >= 1, "chunks encode");
        struct data_recv r = {0};
        int done = 0;
        for (int i = n - 1; i >= 0; i--) {
            must(strlen(msgs[i]) < MSG_MAX_BYTES, "a chunk over the message limit");
            struct data_chunk c;
            must(data_chunk_decode(msgs[i], strlen(msgs[i]), &c, err, sizeof err) == 0,
                 "a chunk that does not decode");
            done = data_recv_add(&r, &c, err, sizeof err);
            must(done >= 0, "a chunk that does not fit");
            free(msgs[i]);
        }
        free(msgs);
        must(done == 1 && r.total == count && r.n_cols == d.n_cols, "not reassembled");
        for (int64_t i = 0; i < count * d.n_cols; i++) {
            int64_t at = first * d.n_cols + i;
            must(r.lens[i] == d.lens[at] && memcmp(r.cells[i], d.cells[at], d.lens[at]) == 0,
                 "a value changed on its way");
        }
        data_recv_free(&r);
    }
    data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] % 2 == 0) {
        csv_case(buf, len);
        return 0;
    }
    char err[256];
    struct data_chunk c;
    if (data_chunk_decode(buf, len, &c, err, sizeof err) < 0) {
        must(c.text == NULL && c.cells == NULL, "a refused chunk left values");
        return 0;
    }
    must(c.n_rows >= 1 && c.row + c.n_rows <= c.total && c.chunk < c.chunks, "chunk bounds");
    struct data_recv r = {0};
    int rc = data_recv_add(&r, &c, err, sizeof err);
    must(rc >= -1 && rc <= 1 && c.text == NULL, "recv");
    if (rc == 1)
        must(data_recv_complete(&r, r.test_id), "complete");
    data_recv_free(&r);
    return 0;
}
