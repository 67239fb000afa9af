/* liveness: how the orchestrator judges a driver from its heartbeats.
 *
 * Pure functions of times in epoch milliseconds; none can fail. */
#ifndef ORCH_LIVENESS_H
#define ORCH_LIVENESS_H

#include <stdint.h>

/* LIVE_QUIET: a driver of the original format, which heartbeats only
 * after a trigger: its silence is no sign of death, and it can take tests
 * (the registry decides; liveness_judge never returns it). */
enum liveness { LIVE_ALIVE = 0, LIVE_SUSPECT, LIVE_DEAD, LIVE_QUIET, LIVE_COUNT };

/* "alive", "suspect", "dead" or "quiet". */
const char *liveness_name(enum liveness l);

/* A driver whose latest heartbeat the orchestrator received at last_rx_ms
 * (0: never) is, at now_ms: dead once timeout_ms have passed, else suspect
 * once two heartbeat intervals have passed without one, else alive. */
enum liveness liveness_judge(int64_t now_ms, int64_t last_rx_ms, int64_t interval_ms,
                             int64_t timeout_ms);

/* 1 when a message the driver stamped sent_ms (0: unknown) and that arrived
 * at now_ms is a sign of life: it was sent less than timeout_ms ago. A
 * heartbeat replayed from the log long after it was sent is not. */
int liveness_fresh(int64_t now_ms, int64_t sent_ms, int64_t timeout_ms);

#endif
