/* topics: the seven topics and the partitions each is created with.
 *
 * Broadcast topics (test_config, trigger, test_trigger, test_data) have one
 * partition: every driver reads all of them, so more would only add
 * fetches. Keyed topics (register, heartbeat, metrics) have TOPICS_KEYED_PARTITIONS so that the per-driver
 * order holds (a key maps to one partition) while the load spreads.
 *
 * Each is created with 3 replicas and min.insync.replicas=2 on a cluster
 * of 3 or more brokers, with one replica per broker on a smaller one, or
 * with $DLT_TOPIC_REPLICATION replicas when that is set (see
 * bus_ensure_topics and docs/KAFKA.md). */
#ifndef DLT_TOPICS_H
#define DLT_TOPICS_H

#include "bus.h"

#include <stddef.h>

#define TOPICS_BROADCAST_PARTITIONS 1
#define TOPICS_KEYED_PARTITIONS 6

/* Create whichever of the seven topics (with c's prefix) are missing.
 * Existing topics are left as they are. Returns 0, or -1 with err: Kafka not
 * reachable in timeout_ms, or creation refused (e.g. no permission, or a
 * broker without the CreateTopics API such as load-broker, or a
 * replication factor larger than the brokers that are up). */
int topics_ensure(const struct bus_conf *c, int timeout_ms, char *err, size_t errlen);

#endif
