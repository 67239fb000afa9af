/* libFuzzer target: histogram decoding. Whatever decodes must re-encode to
 * text that decodes to the same statistics, and merging it must hold. */
#include "hist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hist *h1, *h2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!h1 && (hist_create(&h1) || hist_create(&h2)))
        abort();
    char err[128];
    if (hist_decode(h1, (const char *)data, size, err, sizeof err) != 0) {
        if (hist_count(h1) != 0)
            abort(); /* a failed decode leaves the histogram empty */
        return 0;
    }
    char *txt = NULL;
    if (hist_encode(h1, &txt) != 0)
        abort();
    if (hist_decode(h2, txt, strlen(txt), err, sizeof err) != 0) {
        fprintf(stderr, "re-decode failed: %s\n", err);
        abort();
    }
    free(txt);
    if (hist_count(h1) != hist_count(h2) || hist_min(h1) != hist_min(h2) ||
        hist_max(h1) != hist_max(h2) || hist_percentile(h1, 50) != hist_percentile(h2, 50) ||
        hist_percentile(h1, 99.9) != hist_percentile(h2, 99.9) || hist_mode(h1) != hist_mode(h2))
        abort();
    int64_t c = hist_count(h1);
    if (c > 0 && (hist_percentile(h1, 100) != hist_max(h1) || hist_percentile(h1, 1) < hist_min(h1)))
        abort();
    hist_merge(h2, h1);
    if (hist_count(h2) != 2 * c || hist_min(h2) != hist_min(h1) || hist_max(h2) != hist_max(h1))
        abort();
    if (hist_subtract(h2, h1) != 0 || hist_count(h2) != c)
        abort();
    return 0;
}
