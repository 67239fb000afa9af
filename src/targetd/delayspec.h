/* delayspec: the --delay-ms value, a fixed delay or a uniform range.
 *
 * "A" is a fixed delay of A milliseconds, "A-B" one drawn uniformly from
 * [A, B] for each request. A and B are non-negative decimals ("0.5",
 * "100-500") resolved to whole microseconds. Pure functions; no state. */
#ifndef DLT_TARGET_DELAYSPEC_H
#define DLT_TARGET_DELAYSPEC_H

#include <stddef.h>
#include <stdint.h>

/* Largest delay accepted: 10 minutes. */
#define DELAYSPEC_MAX_MS 600000

/* A value type: min_us <= max_us; {0, 0} means no delay. */
struct delayspec {
    int64_t min_us;
    int64_t max_us;
};

/* Parse s into *out. Returns 0, or -1 with one reason in err (out is then
 * untouched), e.g. "'500-100': the upper bound is below the lower bound". */
int delayspec_parse(const char *s, struct delayspec *out, char *err, size_t errlen);

/* A delay in [min_us, max_us] picked by the 64 random bits r; each whole
 * microsecond is equally likely (to within 2^-53). Can't fail. */
int64_t delayspec_draw(const struct delayspec *d, uint64_t r);

/* "none", "20ms" or "100-500ms" into buf; always NUL-terminated. */
void delayspec_format(const struct delayspec *d, char *buf, size_t buflen);

#endif
