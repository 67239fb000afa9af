/* ramp: a level that follows linear stages over time, as a test's "stages"
 * give it: requests per second for an open-loop test, requests in flight for
 * a closed-loop one. The engine asks it when the i-th request is due (where
 * the area under the rate reaches i) and how many may be in flight now.
 *
 * Times are µs from the start of the run. Pure: no allocation, no I/O. */
#ifndef DLT_DRIVER_RAMP_H
#define DLT_DRIVER_RAMP_H

#include <stdint.h>

#define RAMP_STAGES_MAX 100
#define RAMP_NEVER INT64_MAX

struct ramp {
    int n;                           /* stages */
    double l0;                       /* level at t = 0 */
    int64_t end_us[RAMP_STAGES_MAX]; /* stage i ends at end_us[i] */
    double lvl[RAMP_STAGES_MAX];     /* level at the end of stage i */
    double area[RAMP_STAGES_MAX];    /* integral of the level over [0, end_us[i]], level x s */
};

/* Build r from n stages, each dur_s[i] seconds (> 0) long, going linearly
 * from the previous stage's target (start for the first) to target[i] (>= 0).
 * Returns 0, or -1 when n is not 1..RAMP_STAGES_MAX or a value is out of
 * range (r is then unusable). */
int ramp_init(struct ramp *r, double start, const double *dur_s, const double *target, int n);

/* The end of the last stage. */
int64_t ramp_end_us(const struct ramp *r);

/* The level at t; before 0 the start level, after the end the last target. */
double ramp_level(const struct ramp *r, int64_t t_us);

/* The highest level the ramp reaches. */
double ramp_peak(const struct ramp *r);

/* The area under the level over [0, t_us] (level x seconds): how many
 * requests an open-loop run of this ramp has had due by then. */
double ramp_area(const struct ramp *r, int64_t t_us);

/* The first time at which the area under the level reaches a (>= 0): when
 * request number a of an open-loop run is due (request 0: when the level
 * first rises above 0). Past the end the last target holds; RAMP_NEVER when
 * the area never gets there. */
int64_t ramp_time_of(const struct ramp *r, double a);

/* The first time >= from_us at which the level is at least x, or RAMP_NEVER. */
int64_t ramp_reach(const struct ramp *r, int64_t from_us, double x);

#endif
