#include "hist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Layout (HdrHistogram with lowest value 1, highest 1 h, 3 significant
 * digits): 2048 sub-buckets, the lower half shared between buckets, so bucket
 * b covers [1024 << b, 2048 << b) in steps of 1 << b; bucket 0 also covers
 * [0, 1024) in steps of 1. 22 buckets reach 2^32 > 1 h. */
#define SUB_HALF_MAG 10
#define SUB_HALF (1 << SUB_HALF_MAG)
#define SUB_COUNT (2 * SUB_HALF)
#define SUB_MASK ((int64_t)SUB_COUNT - 1)
#define BUCKETS 22
#define COUNTS_LEN ((BUCKETS + 1) * SUB_HALF)
#define ENC_VERSION 1
/* Decoded histograms hold at most 2^60 samples, so merging a few thousand of
 * them cannot overflow; counts saturate rather than wrap in any case. */
#define HIST_COUNT_MAX ((int64_t)1 << 60)

/* Invariant of a non-empty histogram: min lies in the lowest non-empty
 * bucket and max in the highest, so scans can stop at their indexes. */
struct hist {
    int64_t total;
    int64_t min;
    int64_t max;
    int64_t sum; /* saturates at INT64_MAX */
    int64_t counts[COUNTS_LEN];
};

static int hist_clz64(uint64_t v)
{
    return __builtin_clzll(v);
}

static int hist_bucket_of(int64_t v)
{
    return 63 - hist_clz64((uint64_t)(v | SUB_MASK)) - SUB_HALF_MAG;
}

static int hist_index(int64_t v)
{
    int b = hist_bucket_of(v);
    int sub = (int)(v >> b);
    return ((b + 1) << SUB_HALF_MAG) + (sub - SUB_HALF);
}

static int64_t hist_value_at(int i)
{
    int b = (i >> SUB_HALF_MAG) - 1;
    int sub = (i & (SUB_HALF - 1)) + SUB_HALF;
    if (b < 0) {
        sub -= SUB_HALF;
        b = 0;
    }
    return (int64_t)sub << b;
}

static int64_t hist_clamp(int64_t v)
{
    if (v < 0)
        return 0;
    if (v > HIST_MAX_US)
        return HIST_MAX_US;
    return v;
}

int64_t hist_bucket_width(int64_t v)
{
    return (int64_t)1 << hist_bucket_of(hist_clamp(v));
}

/* Highest value that lands in the same bucket as index i. */
static int64_t hist_highest_at(int i)
{
    int64_t lo = hist_value_at(i);
    return lo + hist_bucket_width(lo) - 1;
}

int hist_create(struct hist **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

void hist_destroy(struct hist *h)
{
    free(h);
}

void hist_reset(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

static int64_t hist_sat_add(int64_t a, int64_t b)
{
    return (a > INT64_MAX - b) ? INT64_MAX : a + b;
}

void hist_record_n(struct hist *h, int64_t v, int64_t n)
{
    if (n <= 0)
        return;
    v = hist_clamp(v);
    int i = hist_index(v);
    h->counts[i] = hist_sat_add(h->counts[i], n);
    if (h->total == 0 || v < h->min)
        h->min = v;
    if (h->total == 0 || v > h->max)
        h->max = v;
    h->total = hist_sat_add(h->total, n);
    int64_t add = (v != 0 && n > INT64_MAX / v) ? INT64_MAX : v * n;
    h->sum = hist_sat_add(h->sum, add);
}

void hist_record(struct hist *h, int64_t v)
{
    hist_record_n(h, v, 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (src->total == 0)
        return;
    /* Every sample of src lies between the buckets of its min and max. */
    int hi = hist_index(src->max);
    for (int i = hist_index(src->min); i <= hi; i++)
        dst->counts[i] = hist_sat_add(dst->counts[i], src->counts[i]);
    if (dst->total == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->total == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->total = hist_sat_add(dst->total, src->total);
    dst->sum = hist_sat_add(dst->sum, src->sum);
}

int hist_subtract(struct hist *dst, const struct hist *src)
{
    if (src->total > dst->total || src->sum > dst->sum)
        return -EINVAL;
    for (int i = 0; i < COUNTS_LEN; i++)
        if (src->counts[i] > dst->counts[i])
            return -EINVAL;
    int first = -1, last = -1;
    for (int i = 0; i < COUNTS_LEN; i++) {
        dst->counts[i] -= src->counts[i];
        if (dst->counts[i]) {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    dst->total -= src->total;
    dst->sum -= src->sum;
    if (dst->total == 0) {
        dst->min = dst->max = dst->sum = 0;
    } else {
        dst->min = hist_value_at(first);
        dst->max = hist_highest_at(last);
    }
    return 0;
}

void hist_copy(struct hist *dst, const struct hist *src)
{
    memcpy(dst, src, sizeof *dst);
}

int64_t hist_count(const struct hist *h)
{
    return h->total;
}

int64_t hist_min(const struct hist *h)
{
    return h->total ? h->min : 0;
}

int64_t hist_max(const struct hist *h)
{
    return h->total ? h->max : 0;
}

double hist_mean(const struct hist *h)
{
    return h->total ? (double)h->sum / (double)h->total : 0.0;
}

int64_t hist_percentile(const struct hist *h, double p)
{
    if (h->total == 0)
        return 0;
    if (!(p > 0))
        return h->min;
    if (p >= 100)
        return h->max;
    /* Nearest rank; the small slack keeps 50% of 10 at rank 5, not 6. */
    double want = p / 100.0 * (double)h->total - 1e-9;
    int64_t rank = (int64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    int64_t seen = 0;
    int hi = hist_index(h->max);
    for (int i = hist_index(h->min); i <= hi; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = hist_highest_at(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

int64_t hist_mode(const struct hist *h)
{
    if (h->total == 0)
        return 0;
    int64_t best_bin = 0, best = -1, cur_bin = -1, cur = 0;
    int hi = hist_index(h->max);
    for (int i = hist_index(h->min); i <= hi; i++) {
        int64_t bin = hist_value_at(i) / 100;
        if (bin != cur_bin) {
            if (cur > best) {
                best = cur;
                best_bin = cur_bin;
            }
            cur_bin = bin;
            cur = 0;
        }
        cur += h->counts[i];
    }
    if (cur > best)
        best_bin = cur_bin;
    return best_bin * 100;
}

/* ---- wire encoding ---------------------------------------------------- */

struct hist_buf {
    unsigned char *p;
    size_t len, cap;
};

static int hist_put_varint(struct hist_buf *b, uint64_t v)
{
    if (b->cap - b->len < 10) {
        size_t ncap = b->cap * 2 + 64;
        unsigned char *np = realloc(b->p, ncap);
        if (!np)
            return -ENOMEM;
        b->p = np;
        b->cap = ncap;
    }
    while (v >= 0x80) {
        b->p[b->len++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (unsigned char)v;
    return 0;
}

static uint64_t hist_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t hist_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *hist_b64(const unsigned char *in, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int hist_unb64_char(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

/* Decode base64 (padding required) into a malloc'd buffer. */
static unsigned char *hist_unb64(const char *in, size_t n, size_t *outlen)
{
    if (n % 4 != 0)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int c[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                c[k] = 0;
                pad++;
            } else {
                c[k] = hist_unb64_char(in[i + k]);
                if (c[k] < 0 || pad) {
                    free(out);
                    return NULL;
                }
            }
        }
        uint32_t v =
            (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 | (uint32_t)c[2] << 6 | (uint32_t)c[3];
        out[o++] = (unsigned char)(v >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(v >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)v;
    }
    *outlen = o;
    return out;
}

int hist_encode(const struct hist *h, char **out)
{
    *out = NULL;
    struct hist_buf b = {0};
    int rc = hist_put_varint(&b, ENC_VERSION);
    rc |= hist_put_varint(&b, (uint64_t)hist_min(h));
    rc |= hist_put_varint(&b, (uint64_t)hist_max(h));
    rc |= hist_put_varint(&b, (uint64_t)h->sum);
    /* Counts: a positive zigzag value n is one bucket holding n; a negative
     * value -k skips k empty buckets. Trailing empty buckets are omitted. */
    int last = COUNTS_LEN - 1;
    while (last >= 0 && h->counts[last] == 0)
        last--;
    for (int i = 0; i <= last && rc == 0;) {
        if (h->counts[i] == 0) {
            int j = i;
            while (j <= last && h->counts[j] == 0)
                j++;
            rc |= hist_put_varint(&b, hist_zigzag(-(int64_t)(j - i)));
            i = j;
        } else {
            rc |= hist_put_varint(&b, hist_zigzag(h->counts[i]));
            i++;
        }
    }
    if (rc != 0) {
        free(b.p);
        return -ENOMEM;
    }
    *out = hist_b64(b.p, b.len);
    free(b.p);
    return *out ? 0 : -ENOMEM;
}

static int hist_get_varint(const unsigned char *p, size_t n, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= n)
            return -1;
        unsigned char c = p[(*pos)++];
        if (shift == 63 && (c & 0x7e))
            return -1;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

static int hist_bad(struct hist *h, char *err, size_t errlen, const char *why)
{
    hist_reset(h);
    if (err && errlen)
        snprintf(err, errlen, "bad histogram: %s", why);
    return -EINVAL;
}

int hist_decode(struct hist *h, const char *text, size_t len, char *err, size_t errlen)
{
    hist_reset(h);
    if (!text || len == 0)
        return hist_bad(h, err, errlen, "empty");
    if (len > HIST_ENCODED_MAX)
        return hist_bad(h, err, errlen, "too long");
    size_t n = 0;
    unsigned char *p = hist_unb64(text, len, &n);
    if (!p)
        return hist_bad(h, err, errlen, "not base64");
    size_t pos = 0;
    uint64_t ver, mn, mx, sum;
    if (hist_get_varint(p, n, &pos, &ver) || hist_get_varint(p, n, &pos, &mn) ||
        hist_get_varint(p, n, &pos, &mx) || hist_get_varint(p, n, &pos, &sum)) {
        free(p);
        return hist_bad(h, err, errlen, "truncated header");
    }
    if (ver != ENC_VERSION) {
        free(p);
        return hist_bad(h, err, errlen, "unknown version");
    }
    int idx = 0;
    int64_t total = 0;
    int first = -1, last = -1;
    while (pos < n) {
        uint64_t z;
        if (hist_get_varint(p, n, &pos, &z)) {
            free(p);
            return hist_bad(h, err, errlen, "truncated counts");
        }
        int64_t v = hist_unzigzag(z);
        if (v < 0) {
            if (v < -(int64_t)COUNTS_LEN || idx - v > COUNTS_LEN) {
                free(p);
                return hist_bad(h, err, errlen, "bucket index out of range");
            }
            idx += (int)-v;
            continue;
        }
        if (v == 0 || idx >= COUNTS_LEN || total > HIST_COUNT_MAX - v) {
            free(p);
            return hist_bad(h, err, errlen, v == 0 ? "zero run" : "bucket out of range");
        }
        if (first < 0)
            first = idx;
        last = idx;
        h->counts[idx++] = v;
        total += v;
    }
    free(p);
    if (total == 0) {
        if (mn || mx || sum)
            return hist_bad(h, err, errlen, "min/max/sum set on an empty histogram");
        return 0;
    }
    if (mn > (uint64_t)HIST_MAX_US || mx > (uint64_t)HIST_MAX_US || mn > mx ||
        sum > (uint64_t)INT64_MAX)
        return hist_bad(h, err, errlen, "min/max/sum out of range");
    if (hist_index((int64_t)mn) != first || hist_index((int64_t)mx) != last)
        return hist_bad(h, err, errlen, "min/max outside the recorded buckets");
    if (sum < mn ||
        (sum < (uint64_t)INT64_MAX && (double)sum > (double)mx * (double)total * 1.000001))
        return hist_bad(h, err, errlen, "sum inconsistent with min/max");
    h->total = total;
    h->min = (int64_t)mn;
    h->max = (int64_t)mx;
    h->sum = (int64_t)sum;
    return 0;
}
