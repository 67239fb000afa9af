/* liveness and registry: alive, suspect after two missed intervals, dead at
 * the timeout, judged by arrival time; replayed (stale) heartbeats neither
 * revive nor add a driver; a heartbeat first registers a driver; an older
 * heartbeat does not overwrite a newer state; unregister removes a driver
 * and a heartbeat it sent before does not bring it back; the orchestrator's
 * own deaf time is no driver's silence. */
#include "liveness.h"
#include "registry.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define IV 1000
#define TO 10000

static void test_judge(void **state)
{
    (void)state;
    int64_t t = 1000000;
    assert_int_equal(liveness_judge(t, 0, IV, TO), LIVE_DEAD);
    assert_int_equal(liveness_judge(t, t, IV, TO), LIVE_ALIVE);
    assert_int_equal(liveness_judge(t + 2000, t, IV, TO), LIVE_ALIVE);
    assert_int_equal(liveness_judge(t + 2001, t, IV, TO), LIVE_SUSPECT);
    assert_int_equal(liveness_judge(t + 9999, t, IV, TO), LIVE_SUSPECT);
    assert_int_equal(liveness_judge(t + 10000, t, IV, TO), LIVE_DEAD);
    /* A timeout shorter than two intervals goes straight to dead. */
    assert_int_equal(liveness_judge(t + 1500, t, IV, 1500), LIVE_DEAD);
    assert_string_equal(liveness_name(LIVE_ALIVE), "alive");
    assert_string_equal(liveness_name(LIVE_SUSPECT), "suspect");
    assert_string_equal(liveness_name(LIVE_DEAD), "dead");
    assert_int_equal(liveness_fresh(t, 0, TO), 1);
    assert_int_equal(liveness_fresh(t, t - 9999, TO), 1);
    assert_int_equal(liveness_fresh(t, t - 10000, TO), 0);
    assert_int_equal(liveness_fresh(t, t + 5000, TO), 1); /* a clock ahead */
}

static struct msg_heartbeat hb(const char *node, int64_t sent_ms, enum node_state st,
                               const char *test, int64_t sent)
{
    struct msg_heartbeat m;
    memset(&m, 0, sizeof m);
    snprintf(m.node_id, sizeof m.node_id, "%s", node);
    m.timestamp = (double)sent_ms / 1000.0;
    m.state = st;
    snprintf(m.test_id, sizeof m.test_id, "%s", test);
    m.requests_sent = sent;
    return m;
}

static void test_registry_heartbeats(void **state)
{
    (void)state;
    struct registry *r = NULL;
    assert_int_equal(registry_create(IV, TO, 60000, &r), 0);
    int64_t t = 1700000000000;

    /* A replayed heartbeat of an unknown driver does not add it. */
    struct msg_heartbeat m = hb("d-old", t - 20000, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t), REG_NONE);
    assert_int_equal(registry_count(r), 0);

    /* A fresh one registers it, alive. */
    m = hb("d-1", t, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t), REG_ADDED);
    struct reg_driver *d = registry_find(r, "d-1");
    assert_non_null(d);
    assert_int_equal(registry_judge(r, d, t + 500), LIVE_ALIVE);
    assert_int_equal(d->state, NODE_STATE_IDLE);

    /* Silence: suspect, then dead; registry_tick reports each change. */
    assert_int_equal(registry_tick(r, t + 1000), 0);
    assert_int_equal(registry_tick(r, t + 2500), 1);
    assert_int_equal(d->live, LIVE_SUSPECT);
    assert_int_equal(registry_tick(r, t + 10000), 1);
    assert_int_equal(d->live, LIVE_DEAD);

    /* A stale heartbeat arriving now does not revive it. */
    m = hb("d-1", t - 1000, NODE_STATE_RUNNING, "t-x", 5);
    registry_heartbeat(r, &m, t + 11000);
    assert_int_equal(registry_judge(r, d, t + 11000), LIVE_DEAD);

    /* A fresh one does, and says what it does. */
    m = hb("d-1", t + 12000, NODE_STATE_RUNNING, "t-1", 100);
    assert_int_equal(registry_heartbeat(r, &m, t + 12000), REG_CHANGED);
    assert_int_equal(registry_judge(r, d, t + 12000), LIVE_ALIVE);
    assert_int_equal(d->state, NODE_STATE_RUNNING);
    assert_string_equal(d->test_id, "t-1");
    assert_int_equal(d->requests_sent, 100);

    /* An older heartbeat arriving later does not roll the state back. */
    m = hb("d-1", t + 11500, NODE_STATE_READY, "t-1", 0);
    registry_heartbeat(r, &m, t + 12100);
    assert_int_equal(d->state, NODE_STATE_RUNNING);
    assert_int_equal(d->requests_sent, 100);

    int counts[LIVE_COUNT];
    registry_tick(r, t + 12100);
    registry_counts(r, counts);
    assert_int_equal(counts[LIVE_ALIVE], 1);

    /* That older heartbeat was still a sign of life when it arrived (its
     * stamp is recent): dead 10 s after it, forgotten 60 s after it. */
    assert_int_equal(registry_tick(r, t + 12100 + 59999), 1);
    assert_int_equal(registry_count(r), 1);
    assert_int_equal(registry_at(r, 0)->live, LIVE_DEAD);
    assert_int_equal(registry_tick(r, t + 12100 + 60000), 1);
    assert_int_equal(registry_count(r), 0);
    registry_destroy(r);
}

/* The orchestrator's own deaf time counts for nobody: while it lasts, a
 * driver heard before it becomes suspect at most; afterwards the deaf time
 * is left out of its silence. A driver already dead by the time heard stays
 * dead. Only the time heard after a driver's last message counts, and a
 * driver not heard since the deaf time ended is not alive. */
static void test_registry_deaf(void **state)
{
    (void)state;
    struct registry *r = NULL;
    assert_int_equal(registry_create(IV, TO, 600000, &r), 0);
    int64_t t = 1700000000000;
    registry_hearing(r, t - 60000, t - 60000);
    struct msg_heartbeat m = hb("d-live", t, NODE_STATE_RUNNING, "t-1", 1);
    assert_int_equal(registry_heartbeat(r, &m, t), REG_ADDED);
    m = hb("d-gone", t - 30000, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t - 30000), REG_ADDED);
    struct reg_driver *live = registry_find(r, "d-live"), *gone = registry_find(r, "d-gone");
    assert_int_equal(registry_judge(r, gone, t), LIVE_DEAD);

    /* Deaf from t + 3 s (the last call while hearing) for 20 s. */
    registry_hearing(r, t - 60000, t + 3000);
    registry_hearing(r, 0, t + 3100);
    assert_int_equal(registry_judge(r, live, t + 5000), LIVE_SUSPECT);
    assert_int_equal(registry_judge(r, live, t + 20000), LIVE_SUSPECT);
    assert_int_equal(registry_judge(r, gone, t + 20000), LIVE_DEAD);
    registry_tick(r, t + 20000);
    assert_int_equal(live->live, LIVE_SUSPECT);

    /* Hearing again from t + 23 s: 3 s of silence heard before the deaf
     * time, then what follows. */
    registry_hearing(r, t + 23000, t + 23000);
    assert_int_equal(registry_judge(r, live, t + 23000), LIVE_SUSPECT);
    assert_int_equal(registry_judge(r, live, t + 29999), LIVE_SUSPECT);
    assert_int_equal(registry_judge(r, live, t + 30000), LIVE_DEAD);
    assert_int_equal(registry_judge(r, gone, t + 23000), LIVE_DEAD);
    /* A heartbeat after the deaf time is judged as usual. */
    m = hb("d-live", t + 24000, NODE_STATE_RUNNING, "t-1", 2);
    registry_heartbeat(r, &m, t + 24000);
    assert_int_equal(registry_judge(r, live, t + 26000), LIVE_ALIVE);
    assert_int_equal(registry_judge(r, live, t + 34000), LIVE_DEAD);

    /* A process that did not run (a new heard-since with no deaf call
     * between) was deaf since the previous call. */
    m = hb("d-live", t + 40000, NODE_STATE_RUNNING, "t-1", 3);
    registry_heartbeat(r, &m, t + 40000);
    registry_hearing(r, t + 23000, t + 41000);
    registry_hearing(r, t + 56000, t + 56000);
    /* Not heard since: it may have gone meanwhile (no test for it). */
    assert_int_equal(registry_judge(r, live, t + 56000), LIVE_SUSPECT);
    assert_int_equal(registry_judge(r, live, t + 65000), LIVE_DEAD);
    m = hb("d-live", t + 56500, NODE_STATE_IDLE, "", 3);
    registry_heartbeat(r, &m, t + 56500);
    assert_int_equal(registry_judge(r, live, t + 57000), LIVE_ALIVE);
    registry_destroy(r);
}

static void test_registry_register(void **state)
{
    (void)state;
    struct registry *r = NULL;
    assert_int_equal(registry_create(IV, TO, 60000, &r), 0);
    int64_t t = 1700000000000;
    struct msg_register reg;
    memset(&reg, 0, sizeof reg);
    snprintf(reg.node_id, sizeof reg.node_id, "d-2");
    snprintf(reg.node_ip, sizeof reg.node_ip, "10.0.0.2");
    snprintf(reg.hostname, sizeof reg.hostname, "h2");
    assert_int_equal(registry_register(r, &reg, t, t), REG_ADDED);
    struct reg_driver *d = registry_find(r, "d-2");
    assert_non_null(d);
    assert_string_equal(d->node_ip, "10.0.0.2");
    assert_int_equal(registry_judge(r, d, t), LIVE_ALIVE);
    assert_int_equal(d->state, NODE_STATE_NONE);

    cJSON *j = registry_to_json(r, t + 100);
    assert_non_null(j);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "drivers");
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    cJSON *e = cJSON_GetArrayItem(arr, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "liveness")->valuestring, "alive");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "state")->valuestring, "");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(e, "since_heartbeat_ms")->valuedouble,
                     100);
    cJSON_Delete(j);

    /* Unregister removes it; a heartbeat it sent before, arriving after
     * (another topic), does not bring it back; a later one would. */
    reg.unregister = 1;
    assert_int_equal(registry_register(r, &reg, t + 2000, t + 1900), REG_REMOVED);
    assert_int_equal(registry_count(r), 0);
    struct msg_heartbeat m = hb("d-2", t + 1800, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t + 2001), REG_NONE);
    assert_int_equal(registry_count(r), 0);
    m = hb("d-2", t + 5000, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t + 5000), REG_ADDED);
    /* Unregister of an unknown node changes nothing. */
    snprintf(reg.node_id, sizeof reg.node_id, "d-9");
    assert_int_equal(registry_register(r, &reg, t + 5000, t + 5000), REG_NONE);
    registry_destroy(r);
}

static void test_registry_cap(void **state)
{
    (void)state;
    struct registry *r = NULL;
    assert_int_equal(registry_create(IV, TO, 60000, &r), 0);
    int64_t t = 1700000000000;
    char id[32];
    for (int i = 0; i < REGISTRY_MAX; i++) {
        snprintf(id, sizeof id, "d-%d", i);
        struct msg_heartbeat m = hb(id, t, NODE_STATE_IDLE, "", 0);
        assert_int_equal(registry_heartbeat(r, &m, t), REG_ADDED);
    }
    struct msg_heartbeat m = hb("d-one-too-many", t, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t), -ENOSPC);
    assert_int_equal(registry_count(r), REGISTRY_MAX);
    /* Known drivers still get through; forgotten ones make room. */
    m = hb("d-7", t + 500, NODE_STATE_READY, "t-1", 0);
    assert_int_equal(registry_heartbeat(r, &m, t + 500), REG_CHANGED);
    registry_tick(r, t + 60000);
    assert_int_equal(registry_count(r), 1);
    m = hb("d-one-too-many", t + 60000, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t + 60000), REG_ADDED);
    registry_destroy(r);
}

/* A storm of registrations from ids that never heartbeat: they keep at
 * most REGISTRY_UNHEARD_MAX places, the oldest giving way, and no driver
 * that heartbeats is pushed out or locked out. */
static void test_registry_storm(void **state)
{
    (void)state;
    struct registry *r = NULL;
    assert_int_equal(registry_create(IV, TO, 600000, &r), 0);
    int64_t t = 1700000000000;
    char id[32];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "real-%d", i);
        struct msg_heartbeat m = hb(id, t, NODE_STATE_IDLE, "", 0);
        assert_int_equal(registry_heartbeat(r, &m, t), REG_ADDED);
    }
    struct msg_register reg;
    memset(&reg, 0, sizeof reg);
    for (int i = 0; i < 5000; i++) {
        snprintf(reg.node_id, sizeof reg.node_id, "fake-%d", i);
        assert_int_equal(registry_register(r, &reg, t + i / 10, t + i / 10), REG_ADDED);
    }
    assert_int_equal(registry_count(r), 100 + REGISTRY_UNHEARD_MAX);
    assert_int_equal(registry_evicted(r), 5000 - REGISTRY_UNHEARD_MAX);
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "real-%d", i);
        assert_non_null(registry_find(r, id));
    }
    assert_null(registry_find(r, "fake-0"));
    assert_non_null(registry_find(r, "fake-4999"));
    /* A real newcomer registers, then heartbeats: it stays. */
    snprintf(reg.node_id, sizeof reg.node_id, "real-new");
    assert_int_equal(registry_register(r, &reg, t + 600, t + 600), REG_ADDED);
    struct msg_heartbeat m = hb("real-new", t + 700, NODE_STATE_IDLE, "", 0);
    assert_int_equal(registry_heartbeat(r, &m, t + 700), REG_CHANGED);
    for (int i = 5000; i < 6000; i++) {
        snprintf(reg.node_id, sizeof reg.node_id, "fake-%d", i);
        assert_int_equal(registry_register(r, &reg, t + 800, t + 800), REG_ADDED);
    }
    assert_non_null(registry_find(r, "real-new"));
    assert_int_equal(registry_count(r), 101 + REGISTRY_UNHEARD_MAX);
    registry_destroy(r);
}

/* A driver of the original format registers, then says nothing until its
 * first trigger: it is quiet, not dead, and stays so for an hour, unless it
 * missed a test; its heartbeat's timestamp is the string "time.time()"
 * (decoded as 0): the arrival time counts. */
static void test_registry_original(void **state)
{
    (void)state;
    struct registry *r = NULL;
    assert_int_equal(registry_create(IV, TO, 600000, &r), 0);
    int64_t t = 1700000000000;
    struct msg_register reg;
    memset(&reg, 0, sizeof reg);
    snprintf(reg.node_id, sizeof reg.node_id, "1700000000000");
    assert_int_equal(registry_register(r, &reg, t, 0), REG_ADDED);
    struct reg_driver *d = registry_find(r, "1700000000000");
    assert_non_null(d);
    assert_true(registry_original(d));
    assert_int_equal(registry_judge(r, d, t + 15000), LIVE_QUIET);
    assert_int_equal(registry_judge(r, d, t + 59 * 60 * 1000), LIVE_QUIET);
    assert_int_equal(registry_judge(r, d, t + 61 * 60 * 1000), LIVE_DEAD);
    assert_string_equal(liveness_name(LIVE_QUIET), "quiet");
    struct msg_heartbeat m = hb("1700000000000", 0, NODE_STATE_NONE, "", 0);
    registry_heartbeat(r, &m, t + 20000);
    assert_int_equal(d->last_rx_ms, t + 20000);
    assert_int_equal(registry_judge(r, d, t + 20000), LIVE_ALIVE);
    assert_int_equal(registry_judge(r, d, t + 40000), LIVE_QUIET);
    registry_missed(r, d);
    assert_int_equal(registry_judge(r, d, t + 40000), LIVE_DEAD);
    assert_int_equal(registry_register(r, &reg, t + 41000, 0), REG_CHANGED);
    assert_int_equal(registry_judge(r, d, t + 60000), LIVE_QUIET);
    /* A dlt driver (a version in its register) is judged by its heartbeats. */
    snprintf(reg.node_id, sizeof reg.node_id, "d-new");
    snprintf(reg.version, sizeof reg.version, "0.2.0");
    assert_int_equal(registry_register(r, &reg, t, 0), REG_ADDED);
    d = registry_find(r, "d-new");
    assert_false(registry_original(d));
    assert_int_equal(registry_judge(r, d, t + 15000), LIVE_DEAD);
    registry_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_registry_heartbeats),
        cmocka_unit_test(test_registry_deaf),
        cmocka_unit_test(test_registry_register),
        cmocka_unit_test(test_registry_cap),
        cmocka_unit_test(test_registry_storm),
        cmocka_unit_test(test_registry_original),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
