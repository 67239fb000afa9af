/* rng: a fast pseudo-random generator, one state per thread.
 *
 * xoshiro256** with no locks and no shared cache lines on the request path.
 * Each thread's state is derived (splitmix64) from the process seed and the
 * order in which threads first draw, so one thread drawing in a fixed order
 * gives the same sequence for the same seed. Not for cryptography. */
#ifndef DLT_TARGET_RNG_H
#define DLT_TARGET_RNG_H

#include <stdint.h>

/* Set the process seed. Call before any thread draws. Can't fail. */
void rng_set_seed(uint64_t seed);

/* 64 random bits from the calling thread's state. Thread-safe; can't fail. */
uint64_t rng_next(void);

/* The top 53 bits of r as a double in [0, 1). */
static inline double rng_unit(uint64_t r)
{
    return (double)(r >> 11) * 0x1.0p-53;
}

#endif
