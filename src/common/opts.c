#define _POSIX_C_SOURCE 200809L
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fmt has exactly one %s, which receives the (shortened) input. */
__attribute__((format(printf, 3, 0))) static int opt_fail(char *err, size_t errlen, const char *fmt,
                                                          const char *s)
{
    if (err && errlen) {
        char shown[64];
        snprintf(shown, sizeof shown, "%.60s", s ? s : "(null)");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(err, errlen, fmt, shown);
#pragma GCC diagnostic pop
    }
    return -1;
}

int opt_parse_duration_us(const char *s, int64_t default_unit_us, int64_t max_us, int64_t *out,
                          char *err, size_t errlen)
{
    static const struct {
        const char *unit;
        double us;
    } units[] = {{"us", 1.0}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}};
    if (!s || !*s || isspace((unsigned char)*s))
        return opt_fail(err, errlen, "'%s' is not a duration (use e.g. 250ms, 1.5s)", s);
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return opt_fail(err, errlen, "'%s' is not a duration (use e.g. 250ms, 1.5s)", s);
    double unit = (double)default_unit_us;
    if (*end) {
        int found = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcmp(end, units[i].unit) == 0) {
                unit = units[i].us;
                found = 1;
                break;
            }
        }
        if (!found)
            return opt_fail(err, errlen,
                            "'%s' has an unknown unit (use us, ms, s, m or h, e.g. 250ms)", s);
    }
    if (v < 0)
        return opt_fail(err, errlen, "'%s' is negative; a duration must be >= 0", s);
    double us = v * unit;
    if (us > (double)max_us) {
        if (err && errlen) {
            char lim[32];
            opt_format_duration(max_us, lim, sizeof lim);
            snprintf(err, errlen, "'%.60s' is too long (at most %s)", s, lim);
        }
        return -1;
    }
    *out = (int64_t)llround(us);
    return 0;
}

int opt_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out, char *err, size_t errlen)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return opt_fail(err, errlen, "'%s' is not a whole number", s);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || end == s)
        return opt_fail(err, errlen, "'%s' is not a whole number", s);
    if (errno == ERANGE || v < min || v > max) {
        if (err && errlen)
            snprintf(err, errlen, "'%.60s' is out of range (%lld..%lld)", s, (long long)min,
                     (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int opt_parse_double(const char *s, double min, double max, double *out, char *err, size_t errlen)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return opt_fail(err, errlen, "'%s' is not a number", s);
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v) || errno == ERANGE)
        return opt_fail(err, errlen, "'%s' is not a finite number", s);
    if (v < min || v > max) {
        if (err && errlen)
            snprintf(err, errlen, "'%.60s' is out of range (%g..%g)", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int opt_parse_hostport(const char *s, char *host, size_t hostlen, int *port, char *err,
                       size_t errlen)
{
    if (!s || !*s)
        return opt_fail(err, errlen, "'%s' is not HOST:PORT", s);
    const char *colon;
    const char *hs = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return opt_fail(err, errlen, "'%s' is not [IPV6]:PORT", s);
        hs = s + 1;
        hl = (size_t)(rb - hs);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return opt_fail(err, errlen, "'%s' is not HOST:PORT", s);
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return opt_fail(err, errlen, "'%s' has an empty or too long host", s);
    int64_t p;
    if (opt_parse_int64(colon + 1, 0, 65535, &p, NULL, 0) != 0)
        return opt_fail(err, errlen, "'%s' has a bad port (0..65535)", s);
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

void opt_format_duration(int64_t us, char *buf, size_t buflen)
{
    if (us < 1000)
        snprintf(buf, buflen, "%lldus", (long long)us);
    else if (us < 1000000)
        snprintf(buf, buflen, "%.3gms", (double)us / 1e3);
    else if (us < 3600000000LL)
        snprintf(buf, buflen, "%.3gs", (double)us / 1e6);
    else
        snprintf(buf, buflen, "%.3gh", (double)us / 3600e6);
}
