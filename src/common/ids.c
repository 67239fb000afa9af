#define _GNU_SOURCE
#include "ids.h"

#include "clock.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static atomic_uint_fast64_t id_counter;

static uint64_t id_random64(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        /* No entropy yet: fall back to time and pid; the counter still makes
         * ids unique within the process. */
        r = (uint64_t)clock_wall_us() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32;
    }
    return r;
}

static void id_base36(uint64_t v, char *out, size_t outlen)
{
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v && n < sizeof tmp);
    size_t i = 0;
    for (; i < n && i + 1 < outlen; i++)
        out[i] = tmp[n - 1 - i];
    out[i] = '\0';
}

int id_new(const char *prefix, char *buf, size_t buflen)
{
    char ts[16];
    id_base36((uint64_t)clock_wall_ms(), ts, sizeof ts);
    uint64_t c = atomic_fetch_add(&id_counter, 1);
    uint64_t r = id_random64();
    int n = snprintf(buf, buflen, "%s%s-%016llx%llx", prefix ? prefix : "", ts,
                     (unsigned long long)r, (unsigned long long)(c & 0xffff));
    if (n < 0 || (size_t)n >= buflen) {
        if (buflen)
            buf[0] = '\0';
        return -1;
    }
    return 0;
}

int id_valid(const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-' || ch == '.' || ch == ':';
        if (!ok || n >= ID_MAX - 1)
            return 0;
    }
    return 1;
}
