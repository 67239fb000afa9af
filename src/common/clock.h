/* clock: the two time bases every process uses.
 *
 * Monotonic microseconds time intervals (latency, schedules); wall-clock
 * milliseconds stamp what crosses process boundaries (start_at, heartbeats).
 * None of these functions can fail. */
#ifndef DLT_CLOCK_H
#define DLT_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds. */
int64_t clock_mono_us(void);
/* CLOCK_REALTIME in milliseconds since the epoch. */
int64_t clock_wall_ms(void);
/* CLOCK_REALTIME in microseconds since the epoch. */
int64_t clock_wall_us(void);

#endif
