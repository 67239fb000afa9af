#include "ramp.h"

#include <math.h>

int ramp_init(struct ramp *r, double start, const double *dur_s, const double *target, int n)
{
    if (n < 1 || n > RAMP_STAGES_MAX || !(start >= 0) || !isfinite(start))
        return -1;
    r->n = n;
    r->l0 = start;
    double t_s = 0, area = 0, prev = start;
    for (int i = 0; i < n; i++) {
        if (!(dur_s[i] > 0) || !isfinite(dur_s[i]) || !(target[i] >= 0) || !isfinite(target[i]))
            return -1;
        t_s += dur_s[i];
        if (t_s > 1e9)
            return -1;
        area += (prev + target[i]) / 2 * dur_s[i];
        r->end_us[i] = (int64_t)llround(t_s * 1e6);
        r->lvl[i] = target[i];
        r->area[i] = area;
        prev = target[i];
    }
    return 0;
}

int64_t ramp_end_us(const struct ramp *r)
{
    return r->end_us[r->n - 1];
}

double ramp_peak(const struct ramp *r)
{
    double m = r->l0;
    for (int i = 0; i < r->n; i++)
        if (r->lvl[i] > m)
            m = r->lvl[i];
    return m;
}

/* The stage that holds t: the first whose end is after t; n past the end. */
static int ramp_stage_at(const struct ramp *r, int64_t t_us)
{
    int lo = 0, hi = r->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (r->end_us[mid] > t_us)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int64_t ramp_begin_us(const struct ramp *r, int i)
{
    return i == 0 ? 0 : r->end_us[i - 1];
}

static double ramp_from(const struct ramp *r, int i)
{
    return i == 0 ? r->l0 : r->lvl[i - 1];
}

double ramp_level(const struct ramp *r, int64_t t_us)
{
    if (t_us <= 0)
        return r->l0;
    int i = ramp_stage_at(r, t_us);
    if (i >= r->n)
        return r->lvl[r->n - 1];
    int64_t b = ramp_begin_us(r, i);
    double f = (double)(t_us - b) / (double)(r->end_us[i] - b);
    double l0 = ramp_from(r, i);
    return l0 + (r->lvl[i] - l0) * f;
}

int64_t ramp_reach(const struct ramp *r, int64_t from_us, double x);

double ramp_area(const struct ramp *r, int64_t t_us)
{
    if (t_us <= 0)
        return 0;
    int i = ramp_stage_at(r, t_us);
    if (i >= r->n)
        return r->area[r->n - 1] + r->lvl[r->n - 1] * (double)(t_us - ramp_end_us(r)) / 1e6;
    int64_t b = ramp_begin_us(r, i);
    double x = (double)(t_us - b) / 1e6, d = (double)(r->end_us[i] - b) / 1e6;
    double l0 = ramp_from(r, i), l1 = r->lvl[i];
    return (i == 0 ? 0 : r->area[i - 1]) + l0 * x + (l1 - l0) * x * x / (2 * d);
}

int64_t ramp_time_of(const struct ramp *r, double a)
{
    if (!(a > 0))
        return ramp_reach(r, 0, 1e-9); /* the first request: once the level is above 0 */
    /* The first stage whose cumulative area reaches a. */
    int lo = 0, hi = r->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (r->area[mid] >= a)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo >= r->n) {
        double last = r->lvl[r->n - 1];
        if (!(last > 0))
            return RAMP_NEVER;
        double t = (double)ramp_end_us(r) + (a - r->area[r->n - 1]) / last * 1e6;
        return t >= 9e18 ? RAMP_NEVER : (int64_t)ceil(t);
    }
    int i = lo;
    double x = a - (i == 0 ? 0 : r->area[i - 1]); /* area still to cover in stage i */
    double l0 = ramp_from(r, i), l1 = r->lvl[i];
    int64_t b = ramp_begin_us(r, i);
    double d = (double)(r->end_us[i] - b) / 1e6;
    /* l0 tau + (l1 - l0) tau^2 / (2 d) = x, in the form that stays exact
     * when l1 = l0 and has no cancellation. */
    double disc = l0 * l0 + 2 * (l1 - l0) * x / d;
    double den = l0 + sqrt(disc > 0 ? disc : 0);
    double tau = den > 0 ? 2 * x / den : d;
    if (tau > d)
        tau = d;
    return b + (int64_t)ceil(tau * 1e6);
}

int64_t ramp_reach(const struct ramp *r, int64_t from_us, double x)
{
    if (from_us < 0)
        from_us = 0;
    if (ramp_level(r, from_us) >= x)
        return from_us;
    for (int i = ramp_stage_at(r, from_us); i < r->n; i++) {
        double l0 = ramp_from(r, i), l1 = r->lvl[i];
        if (l1 < x)
            continue;
        int64_t b = ramp_begin_us(r, i);
        /* Rising through x within this stage (l0 < x <= l1, or the level at
         * from_us was below x because from_us is earlier in a rise). */
        double f = l1 > l0 ? (x - l0) / (l1 - l0) : 0;
        int64_t t = b + (int64_t)ceil(f * (double)(r->end_us[i] - b));
        if (t > r->end_us[i])
            t = r->end_us[i];
        return t > from_us ? t : from_us + 1;
    }
    return RAMP_NEVER;
}
