/* delay: a timer set fires every item, never before its due time, in due
 * order (ties in the order added); an earlier item re-arms the timer; the
 * timerfd wakes a poller when the first item is due; fire_all empties it. */
#define _POSIX_C_SOURCE 200809L
#include "clock.h"
#include "delay.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

enum { MAXF = 8192 };

struct item {
    int64_t due_us;
    int64_t fired_us; /* 0 until fired */
};

struct record {
    int fired;
    struct item *seq[MAXF];
};

static void on_fire(void *opaque, void *p)
{
    struct record *rec = opaque;
    struct item *it = p;
    assert_int_equal(it->fired_us, 0); /* fired once only */
    it->fired_us = clock_mono_us();
    assert_true(rec->fired < MAXF);
    rec->seq[rec->fired++] = it;
}

/* Wait on the timer's descriptor and run it until n items have fired or
 * 10 s have passed (liveness, not speed). Returns the number of wake-ups. */
static int pump(struct delay *d, struct record *rec, int n)
{
    int64_t deadline = clock_mono_us() + 10000000;
    int wakeups = 0;
    while (rec->fired < n && clock_mono_us() < deadline) {
        struct pollfd pfd = {.fd = delay_fd(d), .events = POLLIN};
        if (poll(&pfd, 1, 1000) > 0) {
            wakeups++;
            delay_run(d, clock_mono_us());
        }
    }
    return wakeups;
}

static void test_never_early_in_order(void **state)
{
    (void)state;
    enum { N = 5000 };
    static struct item items[N];
    static struct record rec;
    char err[128];
    struct delay *d = NULL;
    assert_int_equal(delay_create(on_fire, &rec, &d, err, sizeof err), 0);
    uint64_t x = 0x243f6a8885a308d3ULL;
    int64_t t0 = clock_mono_us();
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items[i].due_us = t0 + 5000 + (int64_t)(x % 60000); /* 5..65 ms */
        if (i % 100 == 0)
            items[i].due_us = t0 - 1000; /* already due */
        if (i % 7 == 0 && i > 0)
            items[i].due_us = items[i - 1].due_us; /* ties */
        assert_int_equal(delay_add(d, items[i].due_us, &items[i]), 0);
    }
    assert_int_equal(delay_pending(d), N);
    pump(d, &rec, N);
    assert_int_equal(rec.fired, N);
    assert_int_equal(delay_pending(d), 0);
    for (int i = 0; i < N; i++) {
        assert_true(items[i].fired_us >= items[i].due_us);
        assert_true(items[i].fired_us - items[i].due_us < 5000000);
    }
    /* Due order; among equal due times, the order they were added. */
    for (int k = 1; k < N; k++) {
        assert_true(rec.seq[k - 1]->due_us <= rec.seq[k]->due_us);
        if (rec.seq[k - 1]->due_us == rec.seq[k]->due_us)
            assert_true(rec.seq[k - 1] < rec.seq[k]);
    }
    delay_destroy(d);
}

static void test_earlier_item_rearms(void **state)
{
    (void)state;
    static struct record rec;
    struct item late = {0}, early = {0};
    char err[128];
    struct delay *d = NULL;
    assert_int_equal(delay_create(on_fire, &rec, &d, err, sizeof err), 0);
    int64_t t0 = clock_mono_us();
    late.due_us = t0 + 30000000;
    early.due_us = t0 + 20000;
    assert_int_equal(delay_add(d, late.due_us, &late), 0);
    assert_int_equal(delay_add(d, early.due_us, &early), 0);
    pump(d, &rec, 1);
    assert_int_equal(rec.fired, 1);
    assert_ptr_equal(rec.seq[0], &early);
    assert_true(early.fired_us >= early.due_us);
    assert_int_equal(late.fired_us, 0);
    assert_int_equal(delay_pending(d), 1);

    /* A run before anything is due fires nothing, and the timer stays
     * armed: an item added later still wakes the poller. */
    assert_int_equal(delay_run(d, clock_mono_us()), 0);
    struct item soon = {0};
    soon.due_us = clock_mono_us() + 10000;
    assert_int_equal(delay_add(d, soon.due_us, &soon), 0);
    pump(d, &rec, 2);
    assert_ptr_equal(rec.seq[1], &soon);
    assert_true(soon.fired_us >= soon.due_us);

    /* fire_all fires what is left at once and leaves the set empty. */
    assert_int_equal(delay_fire_all(d), 1);
    assert_int_equal(rec.fired, 3);
    assert_true(late.fired_us < late.due_us);
    assert_int_equal(delay_pending(d), 0);
    assert_int_equal(delay_fire_all(d), 0);
    struct pollfd pfd = {.fd = delay_fd(d), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 50), 0); /* disarmed: no wake-up */
    delay_destroy(d);
    delay_destroy(NULL);
}

/* A run whose clock reading is a little behind the timer must not lose the
 * wake-up for the item it did not fire yet. */
static void test_run_before_due_keeps_timer(void **state)
{
    (void)state;
    static struct record rec;
    char err[128];
    struct delay *d = NULL;
    assert_int_equal(delay_create(on_fire, &rec, &d, err, sizeof err), 0);
    struct item it = {0};
    it.due_us = clock_mono_us() + 5000;
    assert_int_equal(delay_add(d, it.due_us, &it), 0);
    struct pollfd pfd = {.fd = delay_fd(d), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    /* The timer has expired; pretend the clock was read just before. */
    assert_int_equal(delay_run(d, it.due_us - 1), 0);
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_int_equal(delay_run(d, clock_mono_us()), 1);
    assert_true(it.fired_us >= it.due_us);
    delay_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_early_in_order),
        cmocka_unit_test(test_earlier_item_rearms),
        cmocka_unit_test(test_run_before_due_keeps_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
