#include "rng.h"

#include <stdatomic.h>

static uint64_t rng_seed;
static atomic_uint_fast64_t rng_threads;

static _Thread_local struct {
    uint64_t s[4];
    int ready;
} rng_state;

void rng_set_seed(uint64_t seed)
{
    rng_seed = seed;
    atomic_store(&rng_threads, 0);
}

static uint64_t rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(void)
{
    uint64_t *s = rng_state.s;
    if (!rng_state.ready) {
        uint64_t index = atomic_fetch_add(&rng_threads, 1);
        uint64_t x = rng_seed ^ (index * 0xd1b54a32d192ed03ULL);
        for (int i = 0; i < 4; i++)
            s[i] = rng_splitmix(&x);
        rng_state.ready = 1;
    }
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}
