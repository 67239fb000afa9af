#include "registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A driver that unregistered: a message it stamped before its unregister
 * (heartbeats travel on another topic, so they may arrive later) must not
 * bring it back. */
struct reg_tomb {
    char node_id[ID_MAX];
    int64_t stamp_ms; /* the unregister's own stamp (or arrival time) */
    int64_t at_ms;    /* when it arrived */
};

#define REG_TOMBS_MAX 1024

struct registry {
    struct reg_driver **d;
    int n, cap;
    int64_t evicted; /* unheard drivers dropped to make room */
    int64_t interval_ms, timeout_ms, forget_ms;
    struct reg_tomb tombs[REG_TOMBS_MAX];
    int n_tombs;
    /* The latest time the orchestrator could not hear (registry_hearing):
     * [deaf_from, deaf_to), deaf_to 0 while it lasts; deaf_from 0 none. */
    int64_t deaf_from_ms, deaf_to_ms;
    int64_t heard_since_ms, last_hearing_call_ms;
};

int registry_create(int64_t interval_ms, int64_t timeout_ms, int64_t forget_ms,
                    struct registry **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    (*out)->interval_ms = interval_ms;
    (*out)->timeout_ms = timeout_ms;
    (*out)->forget_ms = forget_ms;
    return 0;
}

void registry_destroy(struct registry *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        free(r->d[i]);
    free(r->d);
    free(r);
}

int registry_count(const struct registry *r)
{
    return r->n;
}

struct reg_driver *registry_at(struct registry *r, int i)
{
    return i >= 0 && i < r->n ? r->d[i] : NULL;
}

struct reg_driver *registry_find(struct registry *r, const char *node_id)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->d[i]->node_id, node_id) == 0)
            return r->d[i];
    return NULL;
}

static void registry_drop(struct registry *r, int i);

/* A driver known only from its register message: it never heartbeated. */
static int registry_unheard(const struct reg_driver *d)
{
    return d->last_sent_ms == 0;
}

/* Drop the unheard driver that registered first, to make room. Returns 0,
 * or -1 when there is none. */
static int registry_evict_unheard(struct registry *r)
{
    int oldest = -1;
    for (int i = 0; i < r->n; i++)
        if (registry_unheard(r->d[i]) &&
            (oldest < 0 || r->d[i]->registered_ms < r->d[oldest]->registered_ms))
            oldest = i;
    if (oldest < 0)
        return -1;
    registry_drop(r, oldest);
    r->evicted++;
    return 0;
}

/* unheard: the new driver is known from a register message only. Drivers
 * that never heartbeated hold at most REGISTRY_UNHEARD_MAX places, and give
 * theirs up, oldest first, to newcomers: a storm of registrations can
 * neither fill the registry nor push out a driver that heartbeats. */
static struct reg_driver *registry_add(struct registry *r, const char *node_id, int64_t now_ms,
                                       int unheard)
{
    if (unheard) {
        int n_unheard = 0;
        for (int i = 0; i < r->n; i++)
            n_unheard += registry_unheard(r->d[i]);
        if (n_unheard >= REGISTRY_UNHEARD_MAX)
            registry_evict_unheard(r);
    }
    if (r->n >= REGISTRY_MAX && registry_evict_unheard(r) < 0) {
        errno = ENOSPC;
        return NULL;
    }
    if (r->n == r->cap) {
        int ncap = r->cap ? r->cap * 2 : 16;
        struct reg_driver **nd = realloc(r->d, (size_t)ncap * sizeof *nd);
        if (!nd)
            return NULL;
        r->d = nd;
        r->cap = ncap;
    }
    struct reg_driver *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->node_id, sizeof d->node_id, "%s", node_id);
    d->registered_ms = now_ms;
    d->live = LIVE_DEAD;
    d->dirty = 1;
    r->d[r->n++] = d;
    return d;
}

static void registry_bury(struct registry *r, const char *node_id, int64_t stamp_ms, int64_t now_ms)
{
    int i = 0;
    while (i < r->n_tombs && strcmp(r->tombs[i].node_id, node_id) != 0)
        i++;
    if (i == r->n_tombs) {
        if (r->n_tombs == REG_TOMBS_MAX) {
            memmove(&r->tombs[0], &r->tombs[1], sizeof r->tombs[0] * (REG_TOMBS_MAX - 1));
            r->n_tombs--;
        }
        i = r->n_tombs++;
    }
    snprintf(r->tombs[i].node_id, sizeof r->tombs[i].node_id, "%s", node_id);
    r->tombs[i].stamp_ms = stamp_ms > 0 ? stamp_ms : now_ms;
    r->tombs[i].at_ms = now_ms;
}

/* 1 when a message node_id stamped stamp_ms was sent before it unregistered. */
static int registry_buried(const struct registry *r, const char *node_id, int64_t stamp_ms)
{
    for (int i = 0; i < r->n_tombs; i++)
        if (strcmp(r->tombs[i].node_id, node_id) == 0)
            return stamp_ms <= 0 || stamp_ms <= r->tombs[i].stamp_ms;
    return 0;
}

static void registry_drop(struct registry *r, int i)
{
    free(r->d[i]);
    memmove(&r->d[i], &r->d[i + 1], (size_t)(r->n - i - 1) * sizeof r->d[0]);
    r->n--;
}

int registry_original(const struct reg_driver *d)
{
    return d->state == NODE_STATE_NONE && d->version[0] == '\0';
}

void registry_missed(struct registry *r, struct reg_driver *d)
{
    (void)r;
    d->missed = 1;
}

void registry_hearing(struct registry *r, int64_t heard_since_ms, int64_t now_ms)
{
    int deaf = r->deaf_from_ms > 0 && r->deaf_to_ms == 0;
    if (heard_since_ms <= 0) {
        if (!deaf) {
            /* Deaf since the previous call at the latest. */
            r->deaf_from_ms = r->last_hearing_call_ms > 0 ? r->last_hearing_call_ms : now_ms;
            r->deaf_to_ms = 0;
        }
    } else if (heard_since_ms != r->heard_since_ms) {
        /* Hearing again; a new start without a deaf call between (the
         * process did not run) was deaf since the previous call. */
        if (!deaf)
            r->deaf_from_ms =
                r->last_hearing_call_ms > 0 && r->last_hearing_call_ms < heard_since_ms
                    ? r->last_hearing_call_ms
                    : heard_since_ms;
        r->deaf_to_ms = heard_since_ms;
    }
    r->heard_since_ms = heard_since_ms;
    r->last_hearing_call_ms = now_ms;
}

enum liveness registry_judge(const struct registry *r, const struct reg_driver *d, int64_t now_ms)
{
    if (d->missed)
        return LIVE_DEAD; /* until it is heard from again */
    /* The silence that counts is the time heard: the part of the latest
     * deaf time after the driver's last message counts for nobody. */
    int64_t last = d->last_rx_ms;
    int deaf = r->deaf_from_ms > 0 && r->deaf_to_ms == 0;
    if (r->deaf_from_ms > 0 && last > 0) {
        int64_t from = last > r->deaf_from_ms ? last : r->deaf_from_ms;
        int64_t to = deaf || r->deaf_to_ms > now_ms ? now_ms : r->deaf_to_ms;
        if (to > from)
            last += to - from;
    }
    enum liveness l = liveness_judge(now_ms, last, r->interval_ms, r->timeout_ms);
    /* While deaf, a driver not already dead by the time heard is suspect
     * at most: its silence may be the orchestrator's own. */
    if (deaf && l != LIVE_DEAD) {
        enum liveness raw = liveness_judge(now_ms, d->last_rx_ms, r->interval_ms, r->timeout_ms);
        l = raw == LIVE_DEAD ? LIVE_SUSPECT : raw;
    }
    /* Not heard since the orchestrator could hear again: it may have gone
     * meanwhile, so it is not alive (and takes no test) until it is. */
    if (l == LIVE_ALIVE && r->deaf_from_ms > 0 && d->last_rx_ms < (deaf ? now_ms : r->deaf_to_ms))
        l = LIVE_SUSPECT;
    if (l != LIVE_ALIVE && registry_original(d) && d->last_rx_ms > 0 &&
        now_ms - d->last_rx_ms < REGISTRY_QUIET_MS)
        return LIVE_QUIET;
    return l;
}

/* A sign of life at now_ms; returns 1 when it revived the driver. */
static int registry_alive(struct registry *r, struct reg_driver *d, int64_t now_ms)
{
    d->last_rx_ms = now_ms;
    d->missed = 0;
    d->dirty = 1;
    enum liveness was = d->live;
    d->live = registry_judge(r, d, now_ms);
    return was != d->live;
}

int registry_register(struct registry *r, const struct msg_register *m, int64_t now_ms,
                      int64_t sent_ms)
{
    int fresh = liveness_fresh(now_ms, sent_ms, r->timeout_ms);
    if (m->unregister) {
        registry_bury(r, m->node_id, sent_ms, now_ms);
        for (int i = 0; i < r->n; i++) {
            if (strcmp(r->d[i]->node_id, m->node_id) == 0) {
                registry_drop(r, i);
                return REG_REMOVED;
            }
        }
        return REG_NONE;
    }
    struct reg_driver *d = registry_find(r, m->node_id);
    int rc = REG_CHANGED;
    if (!d) {
        if (!fresh || registry_buried(r, m->node_id, sent_ms))
            return REG_NONE; /* a replay of a driver long gone */
        d = registry_add(r, m->node_id, now_ms, 1);
        if (!d)
            return errno == ENOSPC ? -ENOSPC : -ENOMEM;
        rc = REG_ADDED;
    }
    snprintf(d->node_ip, sizeof d->node_ip, "%s", m->node_ip);
    snprintf(d->hostname, sizeof d->hostname, "%s", m->hostname);
    snprintf(d->version, sizeof d->version, "%s", m->version);
    d->pid = m->pid;
    d->dirty = 1;
    if (fresh)
        registry_alive(r, d, now_ms);
    return rc;
}

int registry_heartbeat(struct registry *r, const struct msg_heartbeat *m, int64_t now_ms)
{
    /* No timestamp (the original's "time.time()" string): it arrived now. */
    int64_t sent_ms = m->timestamp > 0 ? (int64_t)(m->timestamp * 1000.0) : now_ms;
    int fresh = liveness_fresh(now_ms, sent_ms, r->timeout_ms);
    struct reg_driver *d = registry_find(r, m->node_id);
    int rc = REG_NONE;
    if (!d) {
        if (!fresh || registry_buried(r, m->node_id, sent_ms))
            return REG_NONE;
        d = registry_add(r, m->node_id, now_ms, 0);
        if (!d)
            return errno == ENOSPC ? -ENOSPC : -ENOMEM;
        rc = REG_ADDED;
    }
    if (fresh && registry_alive(r, d, now_ms) && rc == REG_NONE)
        rc = REG_CHANGED;
    /* Only the newest heartbeat says what the driver is doing now. */
    if (sent_ms >= d->last_sent_ms) {
        d->last_sent_ms = sent_ms;
        if (d->state != m->state || strcmp(d->test_id, m->test_id) != 0 ||
            d->listening != m->listening) {
            if (rc == REG_NONE)
                rc = REG_CHANGED;
            d->dirty = 1;
        }
        d->state = m->state;
        snprintf(d->test_id, sizeof d->test_id, "%s", m->test_id);
        d->requests_sent = m->requests_sent;
        d->listening = m->listening;
    }
    return rc;
}

int registry_restore(struct registry *r, const struct reg_driver *src)
{
    if (registry_find(r, src->node_id))
        return -EEXIST;
    struct reg_driver *d = registry_add(r, src->node_id, src->registered_ms, registry_unheard(src));
    if (!d)
        return errno == ENOSPC ? -ENOSPC : -ENOMEM;
    *d = *src;
    d->dirty = 0;
    d->live = LIVE_DEAD;
    return 0;
}

int registry_tick(struct registry *r, int64_t now_ms)
{
    int changed = 0;
    int keep = 0;
    for (int i = 0; i < r->n_tombs; i++)
        if (now_ms - r->tombs[i].at_ms < r->forget_ms)
            r->tombs[keep++] = r->tombs[i];
    r->n_tombs = keep;
    int live = 0;
    for (int i = 0; i < r->n; i++) {
        struct reg_driver *d = r->d[i];
        enum liveness l = registry_judge(r, d, now_ms);
        if (l == LIVE_DEAD && now_ms - d->last_rx_ms >= r->forget_ms) {
            free(d);
            changed++;
            continue;
        }
        if (l != d->live) {
            d->live = l;
            changed++;
        }
        r->d[live++] = d;
    }
    r->n = live;
    return changed;
}

int64_t registry_evicted(const struct registry *r)
{
    return r->evicted;
}

void registry_counts(const struct registry *r, int counts[LIVE_COUNT])
{
    for (int l = 0; l < LIVE_COUNT; l++)
        counts[l] = 0;
    for (int i = 0; i < r->n; i++)
        counts[r->d[i]->live]++;
}

cJSON *registry_driver_json(const struct registry *r, const struct reg_driver *d, int64_t now_ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const char *state = node_state_name(d->state);
    int ok = cJSON_AddStringToObject(o, "node_id", d->node_id) &&
             cJSON_AddStringToObject(o, "node_ip", d->node_ip) &&
             cJSON_AddStringToObject(o, "hostname", d->hostname) &&
             cJSON_AddStringToObject(o, "liveness", liveness_name(registry_judge(r, d, now_ms))) &&
             cJSON_AddStringToObject(o, "state", state ? state : "");
    if (d->last_rx_ms > 0) {
        ok &= cJSON_AddNumberToObject(o, "last_heartbeat_ms", (double)d->last_rx_ms) &&
              cJSON_AddNumberToObject(o, "since_heartbeat_ms", (double)(now_ms - d->last_rx_ms));
    } else {
        ok &= cJSON_AddNullToObject(o, "last_heartbeat_ms") &&
              cJSON_AddNullToObject(o, "since_heartbeat_ms");
    }
    ok &= (d->listening == MSG_LISTENING_UNKNOWN
               ? cJSON_AddNullToObject(o, "listening") != NULL
               : cJSON_AddBoolToObject(o, "listening", d->listening == MSG_LISTENING_YES) != NULL);
    ok &= cJSON_AddStringToObject(o, "test_id", d->test_id) &&
          cJSON_AddNumberToObject(o, "requests_sent", (double)d->requests_sent) &&
          cJSON_AddNumberToObject(o, "registered_ms", (double)d->registered_ms) &&
          cJSON_AddNumberToObject(o, "pid", (double)d->pid) &&
          cJSON_AddStringToObject(o, "version", d->version);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *registry_to_json(struct registry *r, int64_t now_ms)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "drivers") : NULL;
    if (!arr) {
        cJSON_Delete(root);
        return NULL;
    }
    for (int i = 0; i < r->n; i++) {
        cJSON *o = registry_driver_json(r, r->d[i], now_ms);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}
