/* bus: the Kafka layer every process uses (librdkafka underneath).
 *
 * Topics are named by their logical names ("register", ...); a configured
 * prefix is added on the wire and stripped again on receipt, so two fleets
 * can share one cluster.
 *
 * - A producer is idempotent with acks=all. Delivery reports are served by
 *   bus_producer_poll; a failed delivery is counted and passed to the log
 *   callback with its topic, never dropped silently. Destroying a producer
 *   flushes it first.
 * - A group consumer shares a consumer group. Offsets are committed only for
 *   records the caller has marked done with bus_consumer_commit, so a crash
 *   replays what was not yet processed (callers make processing idempotent).
 * - A broadcast consumer takes every partition by direct assignment from the
 *   current log end: every process sees every message produced after its
 *   creation returned. It joins no group.
 *
 * Errors: functions return 0 or -1 and fill err; librdkafka's own
 * asynchronous errors and logs go to the configured log callback. */
#ifndef DLT_BUS_H
#define DLT_BUS_H

#include <stddef.h>
#include <stdint.h>

#define BUS_DEFAULT_BROKERS "localhost:9092"
#define BUS_PROPS_MAX 64

struct bus_prop {
    char *key;
    char *value;
};

/* level is a log.h enum log_level value. */
typedef void (*bus_log_fn)(void *opaque, int level, const char *msg);

struct bus_conf {
    char brokers[1024];
    char topic_prefix[64];
    char client_id[128];
    struct bus_prop props[BUS_PROPS_MAX]; /* -X key=value, in order */
    int n_props;
    bus_log_fn log_cb; /* NULL: librdkafka and delivery diagnostics are dropped */
    void *log_opaque;
};

/* Defaults: brokers from $DLT_KAFKA or BUS_DEFAULT_BROKERS, no prefix.
 * Can't fail. */
void bus_conf_init(struct bus_conf *c, const char *client_id);
/* Free the -X strings. Accepts NULL. */
void bus_conf_free(struct bus_conf *c);
/* Set the bootstrap list "HOST:PORT[,HOST:PORT...]". Returns 0 or -1. */
int bus_conf_set_brokers(struct bus_conf *c, const char *brokers, char *err, size_t errlen);
/* Add one "-X key=value" librdkafka property. It is checked against
 * librdkafka at once, so an unknown key or bad value fails here.
 * Returns 0 or -1. */
int bus_conf_add_property(struct bus_conf *c, const char *kv, char *err, size_t errlen);
/* Add the librdkafka properties of a file, applied in order as -X is: one
 * key=value a line, spaces around the key and the value ignored, blank
 * lines and lines starting with '#' skipped. Returns 0, or -1 with the
 * file and line in err (an unreadable file, a line without '=', an unknown
 * key); the lines themselves are never quoted, as they may hold secrets. */
int bus_conf_add_file(struct bus_conf *c, const char *path, char *err, size_t errlen);
/* Set the topic prefix ([A-Za-z0-9._-], at most 48 chars). Returns 0 or -1. */
int bus_conf_set_prefix(struct bus_conf *c, const char *prefix, char *err, size_t errlen);

/* Create the named (logical) topics when missing, with `partitions`
 * partitions each. Topics that exist are left as they are.
 * Returns 0, or -1 with err (e.g. no broker reachable in timeout_ms). */
int bus_ensure_topics(const struct bus_conf *c, const char *const *topics, int n, int partitions,
                      int timeout_ms, char *err, size_t errlen);

/* ---- producer ---- */
struct bus_producer;

int bus_producer_create(const struct bus_conf *c, struct bus_producer **out, char *err,
                        size_t errlen);
/* Queue one message (payload and key are copied). key may be NULL.
 * Waits up to 1 s when the local queue is full. Returns 0, or -1 with err. */
int bus_produce(struct bus_producer *p, const char *topic, const char *key, const char *payload,
                size_t len, char *err, size_t errlen);
/* What became of a message sent with bus_produce_tracked: still waiting for
 * Kafka's acknowledgement (acks=all: every in-sync replica has it, so a
 * consumer can read it), acknowledged, failed after librdkafka's retries,
 * or unknown (a ticket too old to be kept, or 0). */
enum bus_delivery { BUS_PENDING, BUS_DELIVERED, BUS_FAILED, BUS_UNKNOWN };
/* bus_produce, and a ticket (> 0) to ask bus_delivery about later. A
 * message refused at once is BUS_FAILED, and -1 is returned with err. */
int bus_produce_tracked(struct bus_producer *p, const char *topic, const char *key,
                        const char *payload, size_t len, uint64_t *ticket, char *err,
                        size_t errlen);
/* The state of a ticket's message; *at_ms (may be NULL) is the wall-clock
 * time of its outcome (0 while pending). Outcomes are learnt as delivery
 * reports are served (bus_producer_poll). Thread-safe. */
enum bus_delivery bus_delivery(struct bus_producer *p, uint64_t ticket, int64_t *at_ms);
/* Serve delivery reports, waiting up to timeout_ms. Thread-safe. */
void bus_producer_poll(struct bus_producer *p, int timeout_ms);
/* Wait until everything queued is delivered or has failed.
 * Returns 0, or -1 when timeout_ms passed with messages still queued. */
int bus_producer_flush(struct bus_producer *p, int timeout_ms);
/* Deliveries that failed so far / messages still waiting for delivery. */
int64_t bus_producer_failed(const struct bus_producer *p);
int bus_producer_outq(const struct bus_producer *p);
/* Look up the named (logical) topics' metadata now, waiting up to
 * timeout_ms for each, so that the first message to each goes out at once
 * instead of waiting about a second for that lookup. Returns 0, or -1 with
 * err (e.g. no broker reachable); the producer works either way. */
int bus_producer_warm(struct bus_producer *p, const char *const *topics, int n, int timeout_ms,
                      char *err, size_t errlen);
/* Give up on every message still queued or in flight: each is counted as
 * failed (and logged) now. For a shutdown that cannot wait for Kafka. */
void bus_producer_purge(struct bus_producer *p);
/* Flush (up to 10 s) and free. Accepts NULL. */
void bus_producer_destroy(struct bus_producer *p);

/* ---- consumers ---- */
struct bus_consumer;

/* One received message. Pointers borrow from the consumer until
 * bus_record_release (or the next bus_consumer_poll with the same record). */
struct bus_record {
    const char *topic; /* logical name */
    const char *key;   /* not NUL-terminated; NULL when none */
    size_t key_len;
    const char *payload; /* not NUL-terminated */
    size_t len;
    int64_t timestamp_ms; /* producer's create time; 0 unknown */
    int32_t partition;
    int64_t offset;
    void *handle_; /* private */
};

int bus_consumer_create_group(const struct bus_conf *c, const char *group_id,
                              const char *const *topics, int n, struct bus_consumer **out,
                              char *err, size_t errlen);
/* Blocks up to timeout_ms for metadata and log-end offsets. On 0 the
 * consumer is ready (assigned). */
int bus_consumer_create_broadcast(const struct bus_conf *c, const char *const *topics, int n,
                                  int timeout_ms, struct bus_consumer **out, char *err,
                                  size_t errlen);
/* Wait up to timeout_ms for one message. Returns 1 with *rec filled, 0 when
 * nothing arrived, -1 for a consumer error (err filled; keep polling: errors
 * such as a broker going away are transient). Releases *rec's previous
 * message first if it still holds one; rec must start zeroed. */
int bus_consumer_poll(struct bus_consumer *c, int timeout_ms, struct bus_record *rec, char *err,
                      size_t errlen);
/* Give the message back. Accepts an empty record. */
void bus_record_release(struct bus_record *rec);
/* Mark rec processed: its offset will be committed (group consumers only;
 * a no-op for broadcast). Call before releasing it. Returns 0 or -1. */
int bus_consumer_commit(struct bus_consumer *c, const struct bus_record *rec);
/* Deliver again what failed to be processed: seek each partition of the n
 * records back to its earliest offset among them (recs in the order they
 * were polled), so that the next polls return those messages and the ones
 * after them again. Call before releasing them. Returns 0, or -1 with err
 * filled (a partition no longer assigned resumes from its committed
 * offset, which was never moved past them). */
int bus_consumer_redeliver(struct bus_consumer *c, const struct bus_record *recs, int n, char *err,
                           size_t errlen);
/* 1 once the consumer has partitions assigned: for a group consumer, at
 * least one of every topic it subscribed to. */
int bus_consumer_assigned(struct bus_consumer *c);
/* Notice a replaced cluster: when the brokers behind the bootstrap address
 * report a new cluster id (a non-durable broker such as load-broker was
 * restarted, empty), a group consumer is built again so that it joins the
 * new cluster's group (librdkafka 2.0 keeps talking to the old group
 * coordinator's address otherwise), and a broadcast consumer reads every
 * assigned partition from the beginning (everything in the new log is new).
 * A group consumer left without a full assignment for 5 s (its group was
 * joined before the brokers knew its topics) subscribes again, then after
 * 10, 20, up to 60 s while it lasts, each time with a warning.
 * Checks at most every 500 ms. Call from the polling thread while holding
 * no record. Returns 1 when it renewed or subscribed again, 0 when nothing
 * changed, -1 with err when renewing failed (the old client is kept). */
int bus_consumer_maintain(struct bus_consumer *c, char *err, size_t errlen);
/* 1 when a broker answered a metadata request within timeout_ms, 0 when
 * none did (Kafka is unreachable from here). Blocks up to timeout_ms. The
 * brokers' addresses it learns let bus_consumer_maintain notice a broker
 * that came back elsewhere under the same id and cluster id. For a
 * broadcast consumer it may run on another thread than the polling one
 * (maintain replaces a group consumer's client, never a broadcast one's). */
int bus_consumer_reachable(struct bus_consumer *c, int timeout_ms);
/* Messages of the (logical) topic on the assigned partitions that this
 * consumer has not returned yet, from the brokers' log ends asked now
 * (each waits up to timeout_ms). Returns 0 with *lag, or -1 with err.
 * *lag is -1 when a partition's position is past its log end (the log was
 * reset under the consumer: messages there may never be returned). */
int bus_consumer_lag(struct bus_consumer *c, const char *topic, int timeout_ms, int64_t *lag,
                     char *err, size_t errlen);
/* Commit what was marked, leave the group, free. Accepts NULL. */
void bus_consumer_destroy(struct bus_consumer *c);

#endif
