/* Name lookups that never hold the driver's main loop for long.
 *
 * getaddrinfo blocks for as long as the name servers take: glibc waits 5 s
 * for a lost answer before it asks again, and a server that reloads drops
 * queries (podman's aardvark-dns reloads whenever a container joins or
 * leaves its network; lookups of 10 to 40 s were measured there). A driver
 * whose main loop waited so long would miss its heartbeats and be declared
 * dead. So the driver asks here:
 *
 * - an answer at most RESOLVE_FRESH_US old comes at once;
 * - else the lookup runs on a thread of its own while the caller's wait
 *   function is called every 100 ms (the driver heartbeats from it);
 * - a lookup that fails or takes too long falls back to the last answer
 *   for that name, however old, with a warning (with such an answer to
 *   fall back on, a lookup is waited for at most RESOLVE_STALE_WAIT_MS);
 * - resolver_refresh, called by the watch thread, looks up again in the
 *   background every name asked for in the last RESOLVE_KEEP_US whose
 *   answer is older than RESOLVE_REFRESH_US, so that a test to a target
 *   already known (the driver's own --target, seeded at start) needs no
 *   lookup when it is prepared.
 *
 * Thread-safe. */
#ifndef DLT_RESOLVE_H
#define DLT_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RESOLVE_ADDRS 8
#define RESOLVE_ENTRIES 16
#define RESOLVE_FRESH_US (60 * 1000000LL)
#define RESOLVE_REFRESH_US (15 * 1000000LL)
#define RESOLVE_KEEP_US (600 * 1000000LL)
#define RESOLVE_STALE_WAIT_MS 2000

struct resolved {
    int n;
    struct sockaddr_storage addr[RESOLVE_ADDRS];
    socklen_t len[RESOLVE_ADDRS];
};

/* Called while a lookup is waited for (NULL fn: nothing). */
struct resolve_wait {
    void (*fn)(void *arg);
    void *arg;
};

struct resolver;

struct resolver *resolver_new(void);

/* For tests: the lookup (getaddrinfo when NULL) and the clock the answers'
 * ages are told by (clock_mono_us when NULL). The lookup runs on the
 * resolver's threads. */
struct resolver_ops {
    int (*lookup)(const char *host, const char *port, struct resolved *out, char *err,
                  size_t errlen);
    int64_t (*now_us)(void);
};
struct resolver *resolver_new_with(const struct resolver_ops *ops);

/* Lookups still running end on their own and free what they hold. */
void resolver_free(struct resolver *r);

/* The TCP addresses of host (a name, or an address without brackets) and
 * port, into *out. Waits at most timeout_ms for a lookup. Returns 0, or -1
 * with err. */
int resolver_get(struct resolver *r, const char *host, const char *port, int timeout_ms,
                 const struct resolve_wait *wait, struct resolved *out, char *err, size_t errlen);

/* Start looking up host and port in the background (kept fresh from then
 * on by resolver_refresh). Returns at once. */
void resolver_want(struct resolver *r, const char *host, const char *port);

/* The host (an IPv6 address without its brackets) and the port (the
 * scheme's own when none is given) of an http:// or https:// URL. Only the
 * part before the path is read: a template after the host does not
 * matter. Returns 0, or -1 for another URL or one that does not fit. */
int resolve_url_parts(const char *url, char *host, size_t hostlen, char *port, size_t portlen);

/* resolver_want with the host and port of an http:// or https:// URL;
 * other URLs are ignored. */
void resolver_want_url(struct resolver *r, const char *url);

/* Look up again, in the background, every name asked for in the last
 * RESOLVE_KEEP_US whose answer is older than RESOLVE_REFRESH_US; forget
 * the others. Returns at once. */
void resolver_refresh(struct resolver *r);

/* How many lookups are running now. */
int resolver_running(struct resolver *r);

/* A lookup of host and port here and now (getaddrinfo), for callers with
 * no resolver. */
int resolve_now(const char *host, const char *port, struct resolved *out, char *err, size_t errlen);

#endif
