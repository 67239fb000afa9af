#define _GNU_SOURCE
#include "resolve.h"

#include "clock.h"
#include "log.h"

#include <curl/curl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A name that has no answer yet is asked again this often by
 * resolver_refresh. */
#define RS_RETRY_US (5 * 1000000LL)

struct rs_entry {
    int in_use;
    char host[256];
    char port[16];
    int looking; /* a lookup thread runs for it: the slot is not reused */
    int has_answer;
    struct resolved answer;
    int64_t answered_us; /* monotonic, as every time here */
    int64_t asked_us;    /* last asked for (resolver_get, resolver_want) */
    int64_t started_us;  /* the latest lookup's start */
    uint64_t ended;      /* lookups ended so far */
    char error[160];     /* the latest lookup's, "" when it had an answer */
};

struct resolver {
    struct resolver_ops ops;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs; /* the owner's, and one for each lookup running */
    struct rs_entry e[RESOLVE_ENTRIES];
};

struct rs_job {
    struct resolver *r;
    int slot;
    char host[256];
    char port[16];
};

static int rs_lookup(const char *host, const char *port, int flags, struct resolved *out, char *err,
                     size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = flags};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    out->n = 0;
    for (struct addrinfo *a = ai; a && out->n < RESOLVE_ADDRS; a = a->ai_next) {
        if (a->ai_addrlen > sizeof out->addr[0])
            continue;
        memcpy(&out->addr[out->n], a->ai_addr, a->ai_addrlen);
        out->len[out->n++] = a->ai_addrlen;
    }
    freeaddrinfo(ai);
    if (out->n == 0) {
        snprintf(err, errlen, "%s has no address", host);
        return -1;
    }
    return 0;
}

static void rs_destroy(struct resolver *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

struct resolver *resolver_new(void)
{
    return resolver_new_with(NULL);
}

struct resolver *resolver_new_with(const struct resolver_ops *ops)
{
    struct resolver *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->ops.lookup = ops && ops->lookup ? ops->lookup : resolve_now;
    r->ops.now_us = ops && ops->now_us ? ops->now_us : clock_mono_us;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    r->refs = 1;
    return r;
}

void resolver_free(struct resolver *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    int last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last)
        rs_destroy(r);
}

static void *rs_main(void *arg)
{
    struct rs_job *j = arg;
    struct resolver *r = j->r;
    pthread_setname_np(pthread_self(), "dlt-resolve");
    struct resolved ans;
    char err[160];
    int rc = r->ops.lookup(j->host, j->port, &ans, err, sizeof err);
    pthread_mutex_lock(&r->mu);
    struct rs_entry *en = &r->e[j->slot];
    en->looking = 0;
    en->ended++;
    if (rc == 0) {
        en->answer = ans;
        en->has_answer = 1;
        en->answered_us = r->ops.now_us();
        en->error[0] = '\0';
    } else {
        snprintf(en->error, sizeof en->error, "%s", err);
    }
    pthread_cond_broadcast(&r->cv);
    int last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last)
        rs_destroy(r);
    free(j);
    return NULL;
}

/* With r->mu held. Returns -1 when no thread could be started. */
static int rs_start(struct resolver *r, int slot, int64_t now)
{
    struct rs_entry *en = &r->e[slot];
    if (en->looking)
        return 0;
    struct rs_job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->r = r;
    j->slot = slot;
    memcpy(j->host, en->host, sizeof j->host);
    memcpy(j->port, en->port, sizeof j->port);
    pthread_attr_t attr;
    pthread_t tid;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &attr, rs_main, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(j);
        return -1;
    }
    r->refs++;
    en->looking = 1;
    en->started_us = now;
    return 0;
}

/* With r->mu held: the slot of host and port, made (in a free slot, else
 * in the one asked for least recently) when there is none. -1: every slot
 * is being looked up. */
static int rs_slot(struct resolver *r, const char *host, const char *port)
{
    int empty = -1, oldest = -1;
    for (int i = 0; i < RESOLVE_ENTRIES; i++) {
        struct rs_entry *en = &r->e[i];
        if (!en->in_use) {
            if (empty < 0)
                empty = i;
        } else if (strcmp(en->host, host) == 0 && strcmp(en->port, port) == 0) {
            return i;
        } else if (!en->looking && (oldest < 0 || en->asked_us < r->e[oldest].asked_us)) {
            oldest = i;
        }
    }
    int s = empty >= 0 ? empty : oldest;
    if (s < 0)
        return -1;
    struct rs_entry *en = &r->e[s];
    memset(en, 0, sizeof *en);
    en->in_use = 1;
    snprintf(en->host, sizeof en->host, "%s", host);
    snprintf(en->port, sizeof en->port, "%s", port);
    return s;
}

static int rs_fits(const char *host, const char *port)
{
    return strlen(host) < sizeof((struct rs_entry *)0)->host &&
           strlen(port) < sizeof((struct rs_entry *)0)->port;
}

int resolver_get(struct resolver *r, const char *host, const char *port, int timeout_ms,
                 const struct resolve_wait *wait, struct resolved *out, char *err, size_t errlen)
{
    /* An address is no lookup. */
    if (rs_lookup(host, port, AI_NUMERICHOST, out, err, errlen) == 0)
        return 0;
    if (!rs_fits(host, port)) {
        snprintf(err, errlen, "the host name is too long");
        return -1;
    }
    pthread_mutex_lock(&r->mu);
    int64_t at = r->ops.now_us(); /* for the ages */
    int s = rs_slot(r, host, port);
    struct rs_entry *en = s >= 0 ? &r->e[s] : NULL;
    if (en) {
        en->asked_us = at;
        if (en->has_answer && at - en->answered_us <= RESOLVE_FRESH_US) {
            *out = en->answer;
            pthread_mutex_unlock(&r->mu);
            return 0;
        }
    }
    if (!en || rs_start(r, s, at) < 0) {
        pthread_mutex_unlock(&r->mu);
        return r->ops.lookup(host, port, out, err, errlen);
    }
    /* Wait for the lookup running now (just started, or started before). */
    if (en->has_answer && timeout_ms > RESOLVE_STALE_WAIT_MS)
        timeout_ms = RESOLVE_STALE_WAIT_MS;
    uint64_t ended = en->ended;
    int64_t now = clock_mono_us();
    int64_t deadline = now + (int64_t)timeout_ms * 1000;
    while (en->ended == ended && now < deadline) {
        int64_t until = now + 100000 < deadline ? now + 100000 : deadline;
        struct timespec ts = {(time_t)(until / 1000000), (long)(until % 1000000) * 1000};
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (en->ended == ended && wait && wait->fn) {
            pthread_mutex_unlock(&r->mu);
            wait->fn(wait->arg);
            pthread_mutex_lock(&r->mu);
        }
        now = clock_mono_us();
    }
    if (strcmp(en->host, host) != 0 || strcmp(en->port, port) != 0) {
        /* The slot went to another name meanwhile (sixteen others asked). */
        pthread_mutex_unlock(&r->mu);
        return r->ops.lookup(host, port, out, err, errlen);
    }
    int rc = 0;
    if (en->ended != ended && !en->error[0]) {
        *out = en->answer;
    } else {
        char why[200];
        if (en->ended != ended)
            snprintf(why, sizeof why, "%s", en->error);
        else
            snprintf(why, sizeof why, "looking up %s took over %.1f s", host,
                     (double)timeout_ms / 1000.0);
        if (en->has_answer) {
            log_warn("%s; using its answer of %.0f s ago", why,
                     (double)(r->ops.now_us() - en->answered_us) / 1e6);
            *out = en->answer;
        } else {
            snprintf(err, errlen, "%s", why);
            rc = -1;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void resolver_want(struct resolver *r, const char *host, const char *port)
{
    struct resolved ignored;
    char err[160];
    if (!rs_fits(host, port) ||
        rs_lookup(host, port, AI_NUMERICHOST, &ignored, err, sizeof err) == 0)
        return;
    pthread_mutex_lock(&r->mu);
    int64_t now = r->ops.now_us();
    int s = rs_slot(r, host, port);
    if (s >= 0) {
        r->e[s].asked_us = now;
        if (!r->e[s].has_answer || now - r->e[s].answered_us >= RESOLVE_REFRESH_US)
            rs_start(r, s, now);
    }
    pthread_mutex_unlock(&r->mu);
}

int resolve_url_parts(const char *url, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep)
        return -1;
    /* The part before the path: a template after the host cannot spoil it. */
    size_t n = strcspn(sep + 3, "/?#") + (size_t)(sep + 3 - url);
    char base[512];
    if (n >= sizeof base)
        return -1;
    memcpy(base, url, n);
    base[n] = '\0';
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *p = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        size_t hl = strlen(h);
        const char *hs = h;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            hs++;
            hl -= 2;
        }
        if (hl < hostlen && strlen(p) < portlen) {
            memcpy(host, hs, hl);
            host[hl] = '\0';
            snprintf(port, portlen, "%s", p);
            rc = 0;
        }
    }
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

void resolver_want_url(struct resolver *r, const char *url)
{
    char host[256], port[16];
    if (resolve_url_parts(url, host, sizeof host, port, sizeof port) == 0)
        resolver_want(r, host, port);
}

void resolver_refresh(struct resolver *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t now = r->ops.now_us();
    for (int i = 0; i < RESOLVE_ENTRIES; i++) {
        struct rs_entry *en = &r->e[i];
        if (!en->in_use || en->looking)
            continue;
        if (now - en->asked_us > RESOLVE_KEEP_US)
            en->in_use = 0;
        else if (now - en->started_us >= (en->has_answer ? RESOLVE_REFRESH_US : RS_RETRY_US))
            rs_start(r, i, now);
    }
    pthread_mutex_unlock(&r->mu);
}

int resolver_running(struct resolver *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->refs - 1;
    pthread_mutex_unlock(&r->mu);
    return n;
}

int resolve_now(const char *host, const char *port, struct resolved *out, char *err, size_t errlen)
{
    return rs_lookup(host, port, 0, out, err, errlen);
}
