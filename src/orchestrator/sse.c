#define _POSIX_C_SOURCE 200809L
#include "sse.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sse_client {
    struct sse_hub *hub;
    char *buf;
    size_t off, len, cap; /* queued bytes are buf[off, len) */
    int dropped;
    struct sse_client *next;
};

struct sse_hub {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sse_client *clients;
    int n, max;
    int closed;
};

int sse_hub_create(int max_clients, struct sse_hub **out)
{
    struct sse_hub *h = calloc(1, sizeof *h);
    if (!h) {
        *out = NULL;
        return -ENOMEM;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->max = max_clients;
    *out = h;
    return 0;
}

void sse_hub_destroy(struct sse_hub *h)
{
    if (!h)
        return;
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

void sse_hub_close(struct sse_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->closed = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

int sse_hub_clients(struct sse_hub *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->n;
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* Append text to c's queue; the hub lock is held. */
static void sse_append(struct sse_client *c, const char *text, size_t n)
{
    if (c->dropped)
        return;
    if (c->off > 0) {
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
    }
    if (c->len + n > SSE_QUEUE_MAX) {
        c->dropped = 1;
        return;
    }
    if (c->len + n > c->cap) {
        size_t ncap = c->cap ? c->cap : 4096;
        while (ncap < c->len + n)
            ncap *= 2;
        char *nb = realloc(c->buf, ncap);
        if (!nb) {
            c->dropped = 1;
            return;
        }
        c->buf = nb;
        c->cap = ncap;
    }
    memcpy(c->buf + c->len, text, n);
    c->len += n;
}

static char *sse_format(const char *event, const char *data, size_t *n)
{
    size_t need = strlen(event) + strlen(data) + 32;
    char *s = malloc(need);
    if (!s)
        return NULL;
    int k = snprintf(s, need, "event: %s\ndata: %s\n\n", event, data);
    *n = k > 0 ? (size_t)k : 0;
    return s;
}

void sse_hub_publish(struct sse_hub *h, const char *event, const char *data)
{
    size_t n = 0;
    char *s = sse_format(event, data, &n);
    pthread_mutex_lock(&h->mu);
    for (struct sse_client *c = h->clients; c; c = c->next) {
        if (s)
            sse_append(c, s, n);
        else
            c->dropped = 1;
    }
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    free(s);
}

struct sse_client *sse_client_open(struct sse_hub *h)
{
    struct sse_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_lock(&h->mu);
    if (h->closed || h->n >= h->max) {
        pthread_mutex_unlock(&h->mu);
        free(c);
        return NULL;
    }
    c->hub = h;
    c->next = h->clients;
    h->clients = c;
    h->n++;
    pthread_mutex_unlock(&h->mu);
    return c;
}

void sse_client_push(struct sse_client *c, const char *event, const char *data)
{
    size_t n = 0;
    char *s = sse_format(event, data, &n);
    pthread_mutex_lock(&c->hub->mu);
    if (s)
        sse_append(c, s, n);
    else
        c->dropped = 1;
    pthread_cond_broadcast(&c->hub->cv);
    pthread_mutex_unlock(&c->hub->mu);
    free(s);
}

void sse_client_push_raw(struct sse_client *c, const char *text)
{
    pthread_mutex_lock(&c->hub->mu);
    sse_append(c, text, strlen(text));
    pthread_cond_broadcast(&c->hub->cv);
    pthread_mutex_unlock(&c->hub->mu);
}

ssize_t sse_client_read(struct sse_client *c, char *buf, size_t max, int wait_ms)
{
    struct sse_hub *h = c->hub;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->mu);
    while (c->len == c->off && !c->dropped && !h->closed) {
        if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
            break;
    }
    ssize_t rc;
    if (c->dropped || h->closed) {
        rc = -1;
    } else {
        size_t avail = c->len - c->off;
        size_t n = avail < max ? avail : max;
        memcpy(buf, c->buf + c->off, n);
        c->off += n;
        if (c->off == c->len)
            c->off = c->len = 0;
        rc = (ssize_t)n;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void sse_client_close(struct sse_client *c)
{
    if (!c)
        return;
    struct sse_hub *h = c->hub;
    pthread_mutex_lock(&h->mu);
    for (struct sse_client **p = &h->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            h->n--;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    free(c->buf);
    free(c);
}
