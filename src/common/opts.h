/* opts: parsing of option values shared by every program.
 *
 * Every parser takes the text, writes the value through out only on success,
 * and returns 0; on failure it returns -1 and leaves one human-readable reason
 * in err (e.g. "'12x' is not a duration (use e.g. 250ms, 1.5s)"). None of
 * them print or exit. */
#ifndef DLT_OPTS_H
#define DLT_OPTS_H

#include <stddef.h>
#include <stdint.h>

/* A duration with a unit: us, ms, s, m or h ("250ms", "1.5s", "2m").
 * A bare number takes default_unit_us (1000 for ms, 1000000 for s).
 * Accepts 0 .. max_us; rejects negatives, NaN, inf and trailing junk. */
int opt_parse_duration_us(const char *s, int64_t default_unit_us, int64_t max_us, int64_t *out,
                          char *err, size_t errlen);

/* A whole number in [min, max] (decimal; no trailing junk). */
int opt_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out, char *err,
                    size_t errlen);

/* A finite decimal number in [min, max]. */
int opt_parse_double(const char *s, double min, double max, double *out, char *err, size_t errlen);

/* "HOST:PORT" or "[V6]:PORT"; port 0..65535 (0 = any free port).
 * host receives the host without brackets. */
int opt_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err,
                       size_t errlen);

/* Format a duration in µs as a short human string ("850us", "12.3ms", "1.50s").
 * Always NUL-terminates buf; can't fail. */
void opt_format_duration(int64_t us, char *buf, size_t buflen);

#endif
