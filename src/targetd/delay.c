#define _GNU_SOURCE /* timerfd */
#include "delay.h"

#include "heap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct delay {
    delay_fire_fn fire;
    void *opaque;
    struct heap heap;
    int64_t armed_us; /* due time the timerfd is set to; 0 = disarmed */
    int tfd;
};

/* Set the timerfd to fire at due_us (absolute), or disarm it for 0. */
static void delay_arm(struct delay *d, int64_t due_us)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (due_us > 0) {
        its.it_value.tv_sec = due_us / 1000000;
        its.it_value.tv_nsec = (long)(due_us % 1000000) * 1000;
    }
    /* Cannot fail with a valid descriptor and a normalised time. */
    timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    d->armed_us = due_us;
}

int delay_create(delay_fire_fn fire, void *opaque, struct delay **out, char *err, size_t errlen)
{
    *out = NULL;
    struct delay *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->fire = fire;
    d->opaque = opaque;
    heap_init(&d->heap);
    d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (d->tfd < 0) {
        snprintf(err, errlen, "timerfd_create: %s", strerror(errno));
        free(d);
        return -1;
    }
    *out = d;
    return 0;
}

int delay_fd(const struct delay *d)
{
    return d->tfd;
}

int delay_add(struct delay *d, int64_t due_us, void *item)
{
    if (due_us < 1)
        due_us = 1; /* 0 means disarmed; any past time fires at once */
    int rc = heap_push(&d->heap, due_us, item);
    /* Re-arm only for a new earliest item: with equal delays new items go to
     * the back and the timer is left alone. */
    if (rc == 0 && (d->armed_us == 0 || due_us < d->armed_us))
        delay_arm(d, due_us);
    return rc;
}

size_t delay_run(struct delay *d, int64_t now_us)
{
    uint64_t expirations;
    /* Non-blocking; nothing to read when called without a wake-up. */
    ssize_t got = read(d->tfd, &expirations, sizeof expirations);
    (void)got;
    size_t n = 0;
    const struct heap_entry *top;
    while ((top = heap_peek(&d->heap)) && top->due_us <= now_us) {
        struct heap_entry e;
        heap_pop(&d->heap, &e);
        d->fire(d->opaque, e.item);
        n++;
    }
    /* Always re-arm: the expiration just read may belong to an item that
     * was not due yet at now_us, and would otherwise be lost. An absolute
     * time already past fires at once. */
    top = heap_peek(&d->heap);
    delay_arm(d, top ? top->due_us : 0);
    return n;
}

size_t delay_fire_all(struct delay *d)
{
    size_t n = 0;
    struct heap_entry e;
    while (heap_pop(&d->heap, &e) == 0) {
        d->fire(d->opaque, e.item);
        n++;
    }
    delay_arm(d, 0);
    return n;
}

size_t delay_pending(const struct delay *d)
{
    return heap_len(&d->heap);
}

void delay_destroy(struct delay *d)
{
    if (!d)
        return;
    close(d->tfd);
    heap_close(&d->heap);
    free(d);
}
