/* hist: a log-linear latency histogram, HdrHistogram style.
 *
 * Values are microseconds from 1 µs to 1 h (HIST_MAX_US), kept to 3
 * significant digits: any recorded value v is reported within
 * hist_bucket_width(v) of itself (about 0.1%). Memory is fixed at creation
 * (about 190 KB), whatever the number of samples. min, max and the sum (hence
 * the mean) are exact. Values below 0 count as 0, above HIST_MAX_US as
 * HIST_MAX_US: a sample is never dropped.
 *
 * Not thread-safe: give each thread its own histogram and merge them. */
#ifndef DLT_HIST_H
#define DLT_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_MAX_US 3600000000LL
/* Largest encoded histogram hist_decode accepts, in base64 characters. */
#define HIST_ENCODED_MAX (512 * 1024)

struct hist;

/* Allocate an empty histogram. Returns 0, or -ENOMEM (*out is then NULL). */
int hist_create(struct hist **out);
/* Free h. Accepts NULL. */
void hist_destroy(struct hist *h);
/* Forget every sample. Can't fail. */
void hist_reset(struct hist *h);

/* Record one sample / n samples of value_us. Can't fail. */
void hist_record(struct hist *h, int64_t value_us);
void hist_record_n(struct hist *h, int64_t value_us, int64_t n);

/* Add every sample of src into dst. Can't fail. */
void hist_merge(struct hist *dst, const struct hist *src);
/* Remove src's samples from dst, where src is an earlier snapshot of the
 * same cumulative histogram: dst then holds just the samples recorded since.
 * count, sum and percentiles are exact; min and max become the edges of the
 * lowest and highest non-empty buckets. Returns 0, or -EINVAL when src is not
 * contained in dst (some bucket would go negative); dst is then unchanged. */
int hist_subtract(struct hist *dst, const struct hist *src);
/* Make dst an exact copy of src. Can't fail. */
void hist_copy(struct hist *dst, const struct hist *src);

int64_t hist_count(const struct hist *h);
/* Exact smallest / largest sample; 0 when empty. */
int64_t hist_min(const struct hist *h);
int64_t hist_max(const struct hist *h);
/* Exact mean; 0 when empty. */
double hist_mean(const struct hist *h);
/* Nearest-rank percentile (0 < p <= 100): the highest value equivalent to the
 * ceil(p/100 * count)-th smallest sample, clamped to [min, max]. 0 when empty. */
int64_t hist_percentile(const struct hist *h, double p);
/* The most frequent 0.1 ms bin: its lower edge in µs (a multiple of 100).
 * Ties go to the lower bin. 0 when empty. */
int64_t hist_mode(const struct hist *h);

/* Width of the bucket holding v: values within it are indistinguishable. */
int64_t hist_bucket_width(int64_t value_us);

/* Encode h as base64 text (run-length + zigzag varints inside).
 * On success returns 0 and *out is a malloc'd NUL-terminated string the caller
 * frees with free(); on failure returns -ENOMEM and *out is NULL. */
int hist_encode(const struct hist *h, char **out);

/* Decode text made by hist_encode into h, replacing its contents.
 * Returns 0, or -EINVAL with a reason in err (bad base64, bad version,
 * out-of-range index, inconsistent min/max/sum, too long); h is then reset. */
int hist_decode(struct hist *h, const char *text, size_t len, char *err, size_t errlen);

#endif
