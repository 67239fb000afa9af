/* delay: a timer set for one event loop, fired from that loop, never early.
 *
 * Items wait in a min-heap (heap.h); a timerfd (CLOCK_MONOTONIC, absolute)
 * is kept armed at the earliest due time. The owning loop polls
 * delay_fd() for input and then calls delay_run(), which calls
 * fire(opaque, item) for every item that is due. Any number of waiting
 * items costs memory in the heap, never a thread: target-server fires by
 * resuming a suspended libmicrohttpd connection, in the loop that owns it.
 *
 * Not thread-safe: one loop thread owns each set. Linux only (timerfd). */
#ifndef DLT_TARGET_DELAY_H
#define DLT_TARGET_DELAY_H

#include <stddef.h>
#include <stdint.h>

struct delay;

/* Called once per item, from delay_run or delay_fire_all. It must not call
 * delay_destroy. */
typedef void (*delay_fire_fn)(void *opaque, void *item);

/* An empty set with its timerfd. Returns 0, or -1 with err filled (*out is
 * then NULL). */
int delay_create(delay_fire_fn fire, void *opaque, struct delay **out, char *err, size_t errlen);

/* The descriptor to poll for input (readable when the earliest item may be
 * due). Owned by the set. */
int delay_fd(const struct delay *d);

/* Fire item at due_us (CLOCK_MONOTONIC µs, as clock_mono_us()). A time
 * already past fires on the next delay_run. Returns 0, or -ENOMEM (item is
 * then not kept and will never fire). */
int delay_add(struct delay *d, int64_t due_us, void *item);

/* Fire every item due at now_us, earliest first (ties in the order added),
 * and re-arm the timer for the next one. Returns the number fired. */
size_t delay_run(struct delay *d, int64_t now_us);

/* Fire every item at once, due or not, earliest first. Returns the number
 * fired. */
size_t delay_fire_all(struct delay *d);

/* Items waiting. */
size_t delay_pending(const struct delay *d);

/* Free the set; items still waiting are dropped unfired. Accepts NULL. */
void delay_destroy(struct delay *d);

#endif
