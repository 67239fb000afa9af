#include "topics.h"

#include "clock.h"
#include "log.h"
#include "msg.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A failure is also told through the bus's log callback: a caller that
 * retries may log only its own symptom ("topic not available"), and the
 * cause (creation refused, a replication factor too large) must not be
 * lost. The same cause is told again at most every 30 s. */
static void topics_tell(const struct bus_conf *c, const char *err)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char last[512];
    static int64_t last_us;
    if (!c->log_cb)
        return;
    int64_t now = clock_mono_us();
    pthread_mutex_lock(&mu);
    int tell = strcmp(last, err) != 0 || now - last_us >= 30 * 1000000LL;
    if (tell) {
        snprintf(last, sizeof last, "%s", err);
        last_us = now;
    }
    pthread_mutex_unlock(&mu);
    if (tell) {
        char msg[640];
        snprintf(msg, sizeof msg, "the topics could not be created: %s", err);
        c->log_cb(c->log_opaque, LOGL_WARN, msg);
    }
}

int topics_ensure(const struct bus_conf *c, int timeout_ms, char *err, size_t errlen)
{
    static const char *const broadcast[] = {TOPIC_TEST_CONFIG, TOPIC_TRIGGER, TOPIC_TEST_TRIGGER,
                                            TOPIC_TEST_DATA};
    static const char *const keyed[] = {TOPIC_REGISTER, TOPIC_HEARTBEAT, TOPIC_METRICS};
    int rc =
        bus_ensure_topics(c, broadcast, 4, TOPICS_BROADCAST_PARTITIONS, timeout_ms, err, errlen);
    if (rc == 0)
        rc = bus_ensure_topics(c, keyed, 3, TOPICS_KEYED_PARTITIONS, timeout_ms, err, errlen);
    /* Kafka not reachable at all is told by librdkafka itself. */
    if (rc < 0 && !strstr(err, "cannot read metadata"))
        topics_tell(c, err);
    return rc;
}
