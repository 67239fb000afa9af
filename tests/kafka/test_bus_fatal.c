/* A producer whose librdkafka handle hit a fatal error (as an idempotent
 * producer does on "out of order sequence number" after a whole cluster
 * restarted with batches in flight) is replaced by a new one: produce and
 * flush work again, and what the old handle held is counted as failed.
 *
 * bus.c is compiled into this test so that it can reach the handle and
 * raise the fatal error with librdkafka's rd_kafka_test_fatal_error. The
 * cluster is librdkafka's own mock (test.mock.num.brokers). */
#include "../../src/common/bus.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static char last_log[1024];

static void keep_log(void *opaque, int level, const char *msg)
{
    (void)opaque;
    if (level >= LOGL_WARN && strstr(msg, "new producer"))
        snprintf(last_log, sizeof last_log, "%s", msg);
}

static void test_renew_after_fatal(void **state)
{
    (void)state;
    struct bus_conf c;
    char err[512];
    bus_conf_init(&c, "test-bus-fatal");
    c.log_cb = keep_log;
    assert_int_equal(bus_conf_add_property(&c, "test.mock.num.brokers=1", err, sizeof err), 0);
    struct bus_producer *p = NULL;
    assert_int_equal(bus_producer_create(&c, &p, err, sizeof err), 0);
    assert_int_equal(bus_produce(p, "metrics", "k", "one", 3, err, sizeof err), 0);
    assert_int_equal(bus_producer_flush(p, 10000), 0);
    assert_int_equal(bus_producer_failed(p), 0);

    rd_kafka_t *old = p->rk;
    /* One message queued, then the handle goes fatal. */
    pthread_rwlock_rdlock(&p->lk);
    rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC("metrics"), RD_KAFKA_V_VALUE("two", 3),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(p),
                      RD_KAFKA_V_END);
    rd_kafka_test_fatal_error(p->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                              "raised by the test");
    pthread_rwlock_unlock(&p->lk);

    /* The next produce finds the handle fatal, builds a new one, and
     * goes out on it. */
    assert_int_equal(bus_produce(p, "metrics", "k", "three", 5, err, sizeof err), 0);
    assert_ptr_not_equal(p->rk, old);
    assert_non_null(strstr(last_log, "raised by the test"));
    assert_int_equal(bus_producer_flush(p, 10000), 0);
    assert_int_equal(rd_kafka_fatal_error(p->rk, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    /* "two" was failed and counted, never silently dropped. */
    assert_int_equal(bus_producer_failed(p), 1);
    bus_producer_poll(p, 0);
    assert_int_equal(bus_producer_outq(p), 0);
    bus_producer_destroy(p);
    bus_conf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renew_after_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
