/* registry: the drivers the orchestrator knows, fed by register and
 * heartbeat messages, with their liveness.
 *
 * A driver first seen through a heartbeat is added too, so a restarted
 * orchestrator re-learns its fleet; but a message a driver stamped before
 * it unregistered (heartbeats travel on another topic and may arrive after
 * the unregister) does not bring it back. Liveness is judged from when the
 * orchestrator received the latest heartbeat; a message that the driver
 * stamped longer ago than the heartbeat timeout (a replay) is no sign of
 * life. Not thread-safe: the caller serializes. */
#ifndef ORCH_REGISTRY_H
#define ORCH_REGISTRY_H

#include "liveness.h"
#include "msg.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* The registry holds at most this many drivers: a new one beyond it is
 * refused (-ENOSPC) until dead ones are forgotten. */
#define REGISTRY_MAX 4096
/* Drivers known only from a register message (never heartbeated) keep at
 * most this many places; the oldest of them gives way to a newcomer. */
#define REGISTRY_UNHEARD_MAX 256

struct reg_driver {
    char node_id[ID_MAX];
    char node_ip[64];
    char hostname[MSG_TEXT_MAX];
    int64_t pid;
    char version[32];
    int64_t registered_ms; /* when the orchestrator first learnt of it */
    int64_t last_rx_ms;    /* when the latest fresh heartbeat arrived; 0 never */
    int64_t last_sent_ms;  /* the driver's stamp on its newest heartbeat */
    enum node_state state; /* NODE_STATE_NONE: it does not say (original format) */
    char test_id[ID_MAX];
    int64_t requests_sent;
    enum msg_listening listening; /* as its newest heartbeat says */
    int missed;         /* an original-format driver that sent no report for a test it was in */
    enum liveness live; /* as of the latest registry_tick or message */
    int dirty;          /* changed since the caller last saved it */
};

struct registry;

/* interval_ms: the drivers' heartbeat interval; timeout_ms: dead after this;
 * forget_ms: a driver dead for this long is dropped from the registry.
 * Returns 0 or -ENOMEM (*out is then NULL). */
int registry_create(int64_t interval_ms, int64_t timeout_ms, int64_t forget_ms,
                    struct registry **out);
/* Accepts NULL. */
void registry_destroy(struct registry *r);

int registry_count(const struct registry *r);
/* Borrowed pointers, valid until the driver is removed. */
struct reg_driver *registry_at(struct registry *r, int i);
struct reg_driver *registry_find(struct registry *r, const char *node_id);

/* What a message did to the registry. */
enum reg_change { REG_NONE = 0, REG_CHANGED = 1, REG_ADDED = 2, REG_REMOVED = 3 };

/* Apply a register or unregister message received at now_ms; sent_ms is
 * its own stamp (0: unknown). Returns an enum reg_change, or -ENOMEM, or
 * -ENOSPC when a new driver would pass REGISTRY_MAX. */
int registry_register(struct registry *r, const struct msg_register *m, int64_t now_ms,
                      int64_t sent_ms);
/* Apply a heartbeat received at now_ms. Returns an enum reg_change (REG_CHANGED
 * when state, test or liveness changed), -ENOMEM or -ENOSPC. */
int registry_heartbeat(struct registry *r, const struct msg_heartbeat *m, int64_t now_ms);
/* Add d as saved earlier (liveness is judged at the next tick). Returns 0,
 * or -ENOMEM, -ENOSPC, or -EEXIST when the node is already known. */
int registry_restore(struct registry *r, const struct reg_driver *d);

/* Re-judge every driver at now_ms and forget the long dead. Returns how many
 * drivers changed liveness or were forgotten. Can't fail. */
int registry_tick(struct registry *r, int64_t now_ms);
/* A driver of the original format: it says nothing of itself (no version
 * in its register, no state in its heartbeats). It heartbeats only after a
 * trigger, so it is judged quiet, not dead, for REGISTRY_QUIET_MS after its
 * latest message, unless it missed a test (see registry_missed). */
#define REGISTRY_QUIET_MS (60 * 60 * 1000LL)
int registry_original(const struct reg_driver *d);
/* d took part in a test and never sent its report: dead until it is heard
 * from again. */
void registry_missed(struct registry *r, struct reg_driver *d);
/* Tell the registry since when the orchestrator hears and keeps what it
 * hears (0: it does not, now_ms). Called at every tick. A driver is judged
 * by the silence the orchestrator could have heard: the latest time it was
 * deaf does not count, while it is deaf nobody becomes dead who was not
 * dead already, and a driver not heard since then is suspect at most. */
void registry_hearing(struct registry *r, int64_t heard_since_ms, int64_t now_ms);
/* The liveness of d at now_ms. */
enum liveness registry_judge(const struct registry *r, const struct reg_driver *d, int64_t now_ms);
/* How many never-heartbeated drivers were dropped to make room. */
int64_t registry_evicted(const struct registry *r);
/* Number of drivers in each liveness, as of the latest tick. */
void registry_counts(const struct registry *r, int counts[LIVE_COUNT]);

/* One driver / {"drivers": [...]} as GET /api/drivers shows them. The
 * caller owns the tree; NULL when out of memory. */
cJSON *registry_driver_json(const struct registry *r, const struct reg_driver *d, int64_t now_ms);
cJSON *registry_to_json(struct registry *r, int64_t now_ms);

#endif
