#include "delayspec.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* One decimal number of milliseconds ("12", "0.25") at s[0..len), in µs. */
static int delayspec_number(const char *s, size_t len, int64_t *us)
{
    size_t i = 0;
    size_t digits = 0;
    double v = 0;
    while (i < len && isdigit((unsigned char)s[i])) {
        v = v * 10 + (s[i] - '0');
        i++;
        digits++;
        if (v > DELAYSPEC_MAX_MS)
            return -1;
    }
    if (i < len && s[i] == '.') {
        i++;
        double scale = 0.1;
        while (i < len && isdigit((unsigned char)s[i])) {
            v += (s[i] - '0') * scale;
            scale /= 10;
            i++;
            digits++;
        }
    }
    if (digits == 0 || i != len || v > DELAYSPEC_MAX_MS)
        return -1;
    *us = llround(v * 1000.0);
    return 0;
}

int delayspec_parse(const char *s, struct delayspec *out, char *err, size_t errlen)
{
    if (!s || !*s) {
        snprintf(err, errlen, "empty delay (use e.g. 20 or 100-500, in milliseconds)");
        return -1;
    }
    size_t n = strlen(s);
    const char *dash = memchr(s, '-', n);
    int64_t lo, hi;
    int bad;
    if (dash) {
        size_t a = (size_t)(dash - s);
        bad = delayspec_number(s, a, &lo) || delayspec_number(dash + 1, n - a - 1, &hi);
    } else {
        bad = delayspec_number(s, n, &lo);
        hi = lo;
    }
    if (bad) {
        snprintf(err, errlen,
                 "'%.60s' is not a delay (use A or A-B in milliseconds, each 0..%d, e.g. "
                 "100-500)",
                 s, DELAYSPEC_MAX_MS);
        return -1;
    }
    if (hi < lo) {
        snprintf(err, errlen, "'%.60s': the upper bound is below the lower bound", s);
        return -1;
    }
    out->min_us = lo;
    out->max_us = hi;
    return 0;
}

int64_t delayspec_draw(const struct delayspec *d, uint64_t r)
{
    if (d->max_us <= d->min_us)
        return d->min_us;
    double span = (double)(d->max_us - d->min_us + 1);
    int64_t off = (int64_t)((double)(r >> 11) * 0x1.0p-53 * span);
    int64_t v = d->min_us + off;
    return v > d->max_us ? d->max_us : v;
}

static void delayspec_ms(int64_t us, char *buf, size_t buflen)
{
    if (us % 1000 == 0)
        snprintf(buf, buflen, "%lld", (long long)(us / 1000));
    else
        snprintf(buf, buflen, "%.3f", (double)us / 1000.0);
}

void delayspec_format(const struct delayspec *d, char *buf, size_t buflen)
{
    char a[32], b[32];
    if (d->max_us == 0) {
        snprintf(buf, buflen, "none");
        return;
    }
    delayspec_ms(d->min_us, a, sizeof a);
    if (d->min_us == d->max_us) {
        snprintf(buf, buflen, "%sms", a);
        return;
    }
    delayspec_ms(d->max_us, b, sizeof b);
    snprintf(buf, buflen, "%s-%sms", a, b);
}
