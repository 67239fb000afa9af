/* heap: a binary min-heap of timers, ordered by due time.
 *
 * Entries with the same due time come out in the order they were pushed
 * (a sequence number breaks ties), so equal delays stay first-in, first-out.
 * The caller owns the struct and the items; the heap only stores pointers.
 * Not thread-safe: the owner serialises access (delay.c holds a mutex). */
#ifndef DLT_TARGET_HEAP_H
#define DLT_TARGET_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_entry {
    int64_t due_us; /* CLOCK_MONOTONIC microseconds */
    uint64_t seq;   /* push order, for ties */
    void *item;     /* borrowed */
};

struct heap {
    struct heap_entry *v;
    size_t len;
    size_t cap;
    uint64_t next_seq;
};

/* An empty heap; allocates nothing. Can't fail. */
void heap_init(struct heap *h);
/* Free the storage (not the items) and leave h empty. Accepts NULL. */
void heap_close(struct heap *h);

/* Add item due at due_us. Returns 0, or -ENOMEM with the heap unchanged. */
int heap_push(struct heap *h, int64_t due_us, void *item);
/* The earliest entry, borrowed until the next push or pop; NULL when empty. */
const struct heap_entry *heap_peek(const struct heap *h);
/* Remove the earliest entry into *out. Returns 0, or -1 when empty (*out is
 * then untouched). */
int heap_pop(struct heap *h, struct heap_entry *out);

static inline size_t heap_len(const struct heap *h)
{
    return h->len;
}

#endif
