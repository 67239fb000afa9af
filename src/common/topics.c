#include "topics.h"

#include "msg.h"

int topics_ensure(const struct bus_conf *c, int timeout_ms, char *err, size_t errlen)
{
    static const char *const broadcast[] = {TOPIC_TEST_CONFIG, TOPIC_TRIGGER, TOPIC_TEST_TRIGGER};
    static const char *const keyed[] = {TOPIC_REGISTER, TOPIC_HEARTBEAT, TOPIC_METRICS};
    if (bus_ensure_topics(c, broadcast, 3, TOPICS_BROADCAST_PARTITIONS, timeout_ms, err, errlen) <
        0)
        return -1;
    return bus_ensure_topics(c, keyed, 3, TOPICS_KEYED_PARTITIONS, timeout_ms, err, errlen);
}
