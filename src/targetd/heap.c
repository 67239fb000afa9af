#include "heap.h"

#include <errno.h>
#include <stdlib.h>

void heap_init(struct heap *h)
{
    h->v = NULL;
    h->len = 0;
    h->cap = 0;
    h->next_seq = 0;
}

void heap_close(struct heap *h)
{
    if (!h)
        return;
    free(h->v);
    heap_init(h);
}

static int heap_before(const struct heap_entry *a, const struct heap_entry *b)
{
    if (a->due_us != b->due_us)
        return a->due_us < b->due_us;
    return a->seq < b->seq;
}

int heap_push(struct heap *h, int64_t due_us, void *item)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof *h->v)
            return -ENOMEM;
        struct heap_entry *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    struct heap_entry e = {.due_us = due_us, .seq = h->next_seq++, .item = item};
    size_t i = h->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_before(&e, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = e;
    return 0;
}

const struct heap_entry *heap_peek(const struct heap *h)
{
    return h->len ? &h->v[0] : NULL;
}

int heap_pop(struct heap *h, struct heap_entry *out)
{
    if (h->len == 0)
        return -1;
    *out = h->v[0];
    struct heap_entry last = h->v[--h->len];
    size_t n = h->len;
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && heap_before(&h->v[child + 1], &h->v[child]))
            child++;
        if (!heap_before(&h->v[child], &last))
            break;
        h->v[i] = h->v[child];
        i = child;
    }
    if (n)
        h->v[i] = last;
    return 0;
}
