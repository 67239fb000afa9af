/* sse: a hub that fans server-sent events out to streaming clients.
 *
 * Publishers format an event once; every client has its own bounded queue
 * of bytes, read by the thread that serves its HTTP connection. A client
 * that falls too far behind is dropped (its stream ends; EventSource
 * reconnects). Thread-safe. Lock order: callers may hold their own locks
 * while publishing; the hub never calls out. */
#ifndef ORCH_SSE_H
#define ORCH_SSE_H

#include <stddef.h>
#include <sys/types.h>

#define SSE_QUEUE_MAX (4 * 1024 * 1024) /* bytes queued per client */

struct sse_hub;
struct sse_client;

/* At most max_clients streams at once. Returns 0 or -ENOMEM. */
int sse_hub_create(int max_clients, struct sse_hub **out);
/* The hub must be closed and every client closed first. Accepts NULL. */
void sse_hub_destroy(struct sse_hub *h);
/* End every stream and refuse new ones (at shutdown). Can't fail. */
void sse_hub_close(struct sse_hub *h);
int sse_hub_clients(struct sse_hub *h);

/* Queue "event: NAME\ndata: DATA\n\n" for every client. data must hold no
 * newline (one line of JSON). Can't fail: a client whose queue would pass
 * SSE_QUEUE_MAX, or when memory runs out, is dropped. */
void sse_hub_publish(struct sse_hub *h, const char *event, const char *data);

/* A new client, or NULL when the hub is full or closed (or out of memory). */
struct sse_client *sse_client_open(struct sse_hub *h);
/* Queue an event for this client alone (the initial snapshot). */
void sse_client_push(struct sse_client *c, const char *event, const char *data);
/* Queue raw text for this client alone (comments such as ": ping\n\n"). */
void sse_client_push_raw(struct sse_client *c, const char *text);
/* Move up to max queued bytes into buf, waiting up to wait_ms for some.
 * Returns the number of bytes, 0 when nothing came in time, or -1 when the
 * stream is over (hub closed, or the client was dropped). */
ssize_t sse_client_read(struct sse_client *c, char *buf, size_t max, int wait_ms);
/* Detach and free c. Accepts NULL. */
void sse_client_close(struct sse_client *c);

#endif
