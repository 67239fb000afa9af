#include "liveness.h"

const char *liveness_name(enum liveness l)
{
    switch (l) {
    case LIVE_ALIVE:
        return "alive";
    case LIVE_SUSPECT:
        return "suspect";
    case LIVE_QUIET:
        return "quiet";
    case LIVE_DEAD:
    case LIVE_COUNT:
        break;
    }
    return "dead";
}

enum liveness liveness_judge(int64_t now_ms, int64_t last_rx_ms, int64_t interval_ms,
                             int64_t timeout_ms)
{
    if (last_rx_ms <= 0)
        return LIVE_DEAD;
    int64_t age = now_ms - last_rx_ms;
    if (age >= timeout_ms)
        return LIVE_DEAD;
    if (age > 2 * interval_ms)
        return LIVE_SUSPECT;
    return LIVE_ALIVE;
}

int liveness_fresh(int64_t now_ms, int64_t sent_ms, int64_t timeout_ms)
{
    if (sent_ms <= 0)
        return 1;
    return now_ms - sent_ms < timeout_ms;
}
