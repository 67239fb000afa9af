/* heap: timers come out in due order, ties first-in first-out, at any size. */
#include "heap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static void test_empty(void **state)
{
    (void)state;
    struct heap h;
    heap_init(&h);
    struct heap_entry e = {.due_us = 7, .seq = 7, .item = &e};
    assert_null(heap_peek(&h));
    assert_int_equal(heap_pop(&h, &e), -1);
    assert_int_equal(e.due_us, 7); /* untouched */
    assert_int_equal(heap_len(&h), 0);
    heap_close(&h);
    heap_close(NULL);
}

static void test_order_and_ties(void **state)
{
    (void)state;
    static int items[8];
    const int64_t due[8] = {50, 10, 30, 10, 40, 10, 20, 30};
    struct heap h;
    heap_init(&h);
    for (int i = 0; i < 8; i++)
        assert_int_equal(heap_push(&h, due[i], &items[i]), 0);
    assert_int_equal(heap_len(&h), 8);
    assert_int_equal(heap_peek(&h)->due_us, 10);
    assert_ptr_equal(heap_peek(&h)->item, &items[1]);
    /* Equal due times come out in push order: 1, 3, 5 then 2 before 7. */
    const int want[8] = {1, 3, 5, 6, 2, 7, 4, 0};
    for (int i = 0; i < 8; i++) {
        struct heap_entry e;
        assert_int_equal(heap_pop(&h, &e), 0);
        assert_ptr_equal(e.item, &items[want[i]]);
        assert_int_equal(e.due_us, due[want[i]]);
    }
    assert_null(heap_peek(&h));
    heap_close(&h);
}

/* Many timers in pseudo-random order, interleaved pushes and pops, checked
 * against the (due, push order) rule. */
static void test_many(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct heap h;
    heap_init(&h);
    uint64_t x = 88172645463325252ULL;
    int64_t last_due = INT64_MIN;
    uint64_t last_seq = 0;
    size_t popped = 0;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t due = (int64_t)(x % 5000);
        /* Never push below what was popped: a timer heap only moves on. */
        if (due < last_due)
            due = last_due + (int64_t)(x % 7);
        assert_int_equal(heap_push(&h, due, (void *)(uintptr_t)(i + 1)), 0);
        if (i % 3 == 0) {
            struct heap_entry e;
            assert_int_equal(heap_pop(&h, &e), 0);
            assert_true(e.due_us > last_due || (e.due_us == last_due && e.seq > last_seq) ||
                        popped == 0);
            last_due = e.due_us;
            last_seq = e.seq;
            popped++;
        }
    }
    struct heap_entry e;
    while (heap_pop(&h, &e) == 0) {
        assert_true(e.due_us > last_due || (e.due_us == last_due && e.seq > last_seq));
        last_due = e.due_us;
        last_seq = e.seq;
        popped++;
    }
    assert_int_equal(popped, N);
    assert_int_equal(heap_len(&h), 0);
    heap_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_order_and_ties),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
