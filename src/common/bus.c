#define _POSIX_C_SOURCE 200809L
#include "bus.h"

#include "clock.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What became of one message sent with bus_produce_tracked. */
struct bus_tracked {
    uint64_t ticket; /* 0: slot unused */
    enum bus_delivery state;
    int64_t at_ms;
};

#define BUS_TRACKED 64 /* a ticket older than the last 64 is forgotten */

struct bus_producer {
    /* Replaced by bus_producer_renew after a fatal error: every use of rk
     * holds lk for reading, the swap holds it for writing. */
    rd_kafka_t *rk;
    rd_kafka_conf_t *conf_copy; /* to build the next rk */
    pthread_rwlock_t lk;
    char prefix[64];
    bus_log_fn log_cb;
    void *log_opaque;
    atomic_llong failed;
    pthread_mutex_t track_mu;
    uint64_t next_ticket;
    struct bus_tracked tracked[BUS_TRACKED];
};

struct bus_consumer {
    rd_kafka_t *rk;
    char prefix[64];
    int group; /* 1: group consumer, offsets committed on request */
    atomic_int assigned;
    bus_log_fn log_cb;
    void *log_opaque;
    /* To build the client again when the cluster behind the bootstrap
     * address is replaced (see bus_consumer_maintain). */
    rd_kafka_conf_t *conf_copy;
    rd_kafka_topic_partition_list_t *subscription; /* group consumers */
    char clusterid[128];                           /* "" until known */
    /* bus_consumer_reachable may run on another thread than the polling
     * one: mu guards what it learns. */
    pthread_mutex_t mu;
    char brokers[512]; /* "id@host:port ..." of the latest metadata */
    int moved;         /* a broker id changed address since the last check */
    int64_t next_check_us;
    /* A group consumer without a full assignment: since when, and when to
     * subscribe again (see bus_consumer_maintain). */
    int64_t unassigned_since_us;
    int64_t resubscribe_after_us;
};

__attribute__((format(printf, 3, 4))) static int bus_fail(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

__attribute__((format(printf, 4, 5))) static void bus_log(bus_log_fn cb, void *opaque, int level,
                                                          const char *fmt, ...)
{
    if (!cb)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cb(opaque, level, msg);
}

/* ---- configuration ------------------------------------------------------ */

void bus_conf_init(struct bus_conf *c, const char *client_id)
{
    memset(c, 0, sizeof *c);
    const char *env = getenv("DLT_KAFKA");
    snprintf(c->brokers, sizeof c->brokers, "%s", env && *env ? env : BUS_DEFAULT_BROKERS);
    snprintf(c->client_id, sizeof c->client_id, "%s", client_id ? client_id : "dlt");
}

void bus_conf_free(struct bus_conf *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_props; i++) {
        free(c->props[i].key);
        free(c->props[i].value);
    }
    c->n_props = 0;
}

int bus_conf_set_brokers(struct bus_conf *c, const char *brokers, char *err, size_t errlen)
{
    if (!brokers || !*brokers || strlen(brokers) >= sizeof c->brokers)
        return bus_fail(err, errlen, "--kafka needs HOST:PORT[,HOST:PORT...]");
    for (const char *p = brokers; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n')
            return bus_fail(err, errlen, "--kafka '%.60s' must not contain spaces", brokers);
    snprintf(c->brokers, sizeof c->brokers, "%s", brokers);
    return 0;
}

int bus_conf_set_prefix(struct bus_conf *c, const char *prefix, char *err, size_t errlen)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n > 48)
        return bus_fail(err, errlen, "--topic-prefix is longer than 48 characters");
    for (size_t i = 0; i < n; i++) {
        char ch = prefix[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return bus_fail(err, errlen,
                            "--topic-prefix may hold only letters, digits, '.', '_' and '-'");
    }
    snprintf(c->topic_prefix, sizeof c->topic_prefix, "%s", n ? prefix : "");
    return 0;
}

int bus_conf_add_property(struct bus_conf *c, const char *kv, char *err, size_t errlen)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (!eq || eq == kv)
        return bus_fail(err, errlen, "-X takes key=value, got '%.60s'", kv ? kv : "");
    if (c->n_props >= BUS_PROPS_MAX)
        return bus_fail(err, errlen, "too many -X properties (at most %d)", BUS_PROPS_MAX);
    size_t kl = (size_t)(eq - kv);
    char *key = malloc(kl + 1);
    char *val = strdup(eq + 1);
    if (!key || !val) {
        free(key);
        free(val);
        return bus_fail(err, errlen, "out of memory");
    }
    memcpy(key, kv, kl);
    key[kl] = '\0';
    /* Check it now, so a typo is one clear error at start-up. */
    rd_kafka_conf_t *probe = rd_kafka_conf_new();
    char rerr[256];
    rd_kafka_conf_res_t r = rd_kafka_conf_set(probe, key, val, rerr, sizeof rerr);
    rd_kafka_conf_destroy(probe);
    if (r != RD_KAFKA_CONF_OK) {
        bus_fail(err, errlen, "-X %s: %s", key, rerr);
        free(key);
        free(val);
        return -1;
    }
    c->props[c->n_props].key = key;
    c->props[c->n_props].value = val;
    c->n_props++;
    return 0;
}

int bus_conf_add_file(struct bus_conf *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return bus_fail(err, errlen, "--kafka-config %s: %s", path, strerror(errno));
    char line[4096];
    int rc = 0, lineno = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f)) {
            rc = bus_fail(err, errlen, "--kafka-config %s line %d: longer than %zu bytes", path,
                          lineno, sizeof line - 2);
            break;
        }
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            line[--n] = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        char *eq = strchr(p, '=');
        if (!eq || eq == p) {
            /* The line itself is not echoed: it may hold a secret. */
            rc = bus_fail(err, errlen, "--kafka-config %s line %d: not key=value", path, lineno);
            break;
        }
        char *ke = eq;
        while (ke > p && isspace((unsigned char)ke[-1]))
            ke--;
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        char kv[sizeof line];
        snprintf(kv, sizeof kv, "%.*s=%s", (int)(ke - p), p, v);
        char perr[512];
        if (bus_conf_add_property(c, kv, perr, sizeof perr) < 0) {
            const char *why = strncmp(perr, "-X ", 3) == 0 ? perr + 3 : perr;
            rc = bus_fail(err, errlen, "--kafka-config %s line %d: %s", path, lineno, why);
        }
        memset(kv, 0, sizeof kv);
    }
    if (rc == 0 && ferror(f))
        rc = bus_fail(err, errlen, "--kafka-config %s: cannot read it", path);
    memset(line, 0, sizeof line);
    fclose(f);
    return rc;
}

static void bus_topic_name(const char *prefix, const char *logical, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", prefix, logical);
}

/* librdkafka syslog levels -> log.h levels. */
static int bus_level(int syslog_level)
{
    if (syslog_level <= 3)
        return LOGL_ERROR;
    if (syslog_level == 4)
        return LOGL_WARN;
    if (syslog_level <= 6)
        return LOGL_INFO;
    return LOGL_DEBUG;
}

struct bus_logger {
    bus_log_fn cb;
    void *opaque;
    void *owner; /* the bus_producer or bus_consumer whose handle this is */
};

static void bus_rk_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct bus_logger *lg = rd_kafka_opaque(rk);
    int lv = bus_level(level);
    /* A refused or dropped connection is what a broker restart looks like;
     * librdkafka reconnects by itself, so it is a warning, not an error. */
    if (lv == LOGL_ERROR && strcmp(fac, "FAIL") == 0)
        lv = LOGL_WARN;
    /* load-broker (librdkafka's mock cluster) answers Metadata below v4,
     * which cannot carry allow.auto.create.topics=false: librdkafka warns on
     * every metadata request. It creates no topic by itself, so the warning
     * says nothing; real Kafka (0.11 and later) never raises it. */
    else if (strcmp(fac, "AUTOCREATE") == 0)
        lv = LOGL_DEBUG;
    if (lg && lg->cb)
        bus_log(lg->cb, lg->opaque, lv, "kafka %s: %s", fac, buf);
}

static void bus_rk_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    struct bus_logger *lg = opaque;
    int fatal = code == RD_KAFKA_RESP_ERR__FATAL;
    char fbuf[256] = "";
    if (fatal)
        rd_kafka_fatal_error(rk, fbuf, sizeof fbuf);
    /* "all brokers down" and transport errors are transient: librdkafka
     * reconnects by itself, so they are warnings. */
    if (lg && lg->cb)
        bus_log(lg->cb, lg->opaque, fatal ? LOGL_ERROR : LOGL_WARN, "kafka %s: %s%s%s",
                rd_kafka_err2name((rd_kafka_resp_err_t)code), reason, fatal ? " / " : "", fbuf);
}

/* Build a librdkafka configuration from c plus the given fixed settings
 * (pairs of key, value, NULL-terminated). -X properties are applied last so
 * the user can override anything. */
static rd_kafka_conf_t *bus_make_conf(const struct bus_conf *c, const char *const *fixed, char *err,
                                      size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char rerr[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", c->brokers, rerr, sizeof rerr) ||
        rd_kafka_conf_set(conf, "client.id", c->client_id, rerr, sizeof rerr) ||
        rd_kafka_conf_set(conf, "socket.nagle.disable", "true", rerr, sizeof rerr) ||
        rd_kafka_conf_set(conf, "log.connection.close", "false", rerr, sizeof rerr) ||
        /* No metadata lookup may create a topic with the broker's defaults
         * (one partition, one replica, when auto.create.topics.enable is
         * on): topics come from bus_ensure_topics only. */
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", rerr, sizeof rerr) ||
        /* After an outage, reconnect within a second of the broker's
         * return (the default backoff grows to 10 s, and a consumer then
         * fetches nothing for that long). */
        rd_kafka_conf_set(conf, "reconnect.backoff.max.ms", "1000", rerr, sizeof rerr) ||
        /* A broker that stops answering (frozen, or cut off) keeps its TCP
         * connection up: each request to it, a metadata lookup or a produce,
         * then waits this long before it is sent elsewhere (default 60 s,
         * longer than a driver's heartbeat timeout). A controller fences
         * such a broker within broker.session.timeout.ms (9 s). */
        rd_kafka_conf_set(conf, "socket.timeout.ms", "10000", rerr, sizeof rerr)) {
        rd_kafka_conf_destroy(conf);
        bus_fail(err, errlen, "kafka configuration: %s", rerr);
        return NULL;
    }
    for (int i = 0; fixed && fixed[i]; i += 2) {
        if (rd_kafka_conf_set(conf, fixed[i], fixed[i + 1], rerr, sizeof rerr)) {
            rd_kafka_conf_destroy(conf);
            bus_fail(err, errlen, "kafka configuration %s: %s", fixed[i], rerr);
            return NULL;
        }
    }
    for (int i = 0; i < c->n_props; i++) {
        if (rd_kafka_conf_set(conf, c->props[i].key, c->props[i].value, rerr, sizeof rerr)) {
            rd_kafka_conf_destroy(conf);
            bus_fail(err, errlen, "-X %s: %s", c->props[i].key, rerr);
            return NULL;
        }
    }
    rd_kafka_conf_set_log_cb(conf, bus_rk_log);
    rd_kafka_conf_set_error_cb(conf, bus_rk_error);
    return conf;
}

/* Each handle keeps its own logger copy as its opaque. */
static struct bus_logger *bus_logger_new(const struct bus_conf *c)
{
    struct bus_logger *lg = calloc(1, sizeof *lg);
    if (lg) {
        lg->cb = c->log_cb;
        lg->opaque = c->log_opaque;
    }
    return lg;
}

/* ---- topics ---------------------------------------------------------------- */

/* The replication factor of the topics created here: $DLT_TOPIC_REPLICATION
 * when set, else 3 on a cluster of 3 or more brokers and the broker count
 * below that (a broker's own default.replication.factor is 1 unless set).
 * With 3 or more copies, min.insync.replicas is 2: acks=all then goes on
 * with one broker down and never acknowledges a single copy. Returns the
 * factor, or -1 with err. */
static int bus_replication(int brokers, const char *where, char *err, size_t errlen)
{
    const char *env = getenv("DLT_TOPIC_REPLICATION");
    if (!env || !*env)
        return brokers >= 3 ? 3 : (brokers > 0 ? brokers : 1);
    char *end = NULL;
    long rf = strtol(env, &end, 10);
    if (*end || rf < 1 || rf > 32767)
        return bus_fail(err, errlen, "DLT_TOPIC_REPLICATION '%s': expected a count 1..32767", env);
    if (rf > brokers)
        return bus_fail(err, errlen,
                        "kafka at %s: cannot create topics with replication factor %ld: the "
                        "cluster has %d broker(s) up (DLT_TOPIC_REPLICATION)",
                        where, rf, brokers);
    return (int)rf;
}

int bus_ensure_topics(const struct bus_conf *c, const char *const *topics, int n, int partitions,
                      int timeout_ms, char *err, size_t errlen)
{
    struct bus_logger *lg = bus_logger_new(c);
    rd_kafka_conf_t *conf = lg ? bus_make_conf(c, NULL, err, errlen) : NULL;
    if (!conf) {
        free(lg);
        return lg ? -1 : bus_fail(err, errlen, "out of memory");
    }
    rd_kafka_conf_set_opaque(conf, lg);
    char rerr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rerr, sizeof rerr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        free(lg);
        return bus_fail(err, errlen, "kafka: %s", rerr);
    }
    int rc = 0;
    /* Ask which topics exist first: CreateTopics may be forbidden on a
     * managed cluster where the topics are already there. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t merr = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (merr) {
        rc = bus_fail(err, errlen, "kafka at %s: cannot read metadata: %s", c->brokers,
                      rd_kafka_err2str(merr));
        goto out;
    }
    rd_kafka_NewTopic_t *nt[16];
    int nnew = 0;
    int rf = 0; /* chosen when a topic is missing */
    for (int i = 0; i < n && nnew < 16; i++) {
        char name[256];
        bus_topic_name(c->topic_prefix, topics[i], name, sizeof name);
        int exists = 0;
        for (int k = 0; k < md->topic_cnt; k++)
            if (strcmp(md->topics[k].topic, name) == 0 && md->topics[k].err == 0)
                exists = 1;
        if (exists)
            continue;
        if (rf == 0 && (rf = bus_replication(md->broker_cnt, c->brokers, err, errlen)) < 0) {
            rc = -1;
            break;
        }
        nt[nnew] = rd_kafka_NewTopic_new(name, partitions, rf, rerr, sizeof rerr);
        if (!nt[nnew]) {
            rc = bus_fail(err, errlen, "topic %s: %s", name, rerr);
            break;
        }
        if (rf >= 3)
            rd_kafka_NewTopic_set_config(nt[nnew], "min.insync.replicas", "2");
        nnew++;
    }
    rd_kafka_metadata_destroy(md);
    if (rc == 0 && nnew > 0) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, rerr, sizeof rerr);
        rd_kafka_CreateTopics(rk, nt, (size_t)nnew, ao, q);
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
        if (!ev) {
            rc = bus_fail(err, errlen, "kafka: creating topics timed out");
        } else if (rd_kafka_event_error(ev)) {
            rc = bus_fail(err, errlen, "kafka: creating topics: %s",
                          rd_kafka_event_error_string(ev));
        } else {
            size_t cnt = 0;
            const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
            const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
            for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t te = rd_kafka_topic_result_error(tr[i]);
                if (te && te != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    rc = bus_fail(err, errlen, "kafka: creating topic %s: %s",
                                  rd_kafka_topic_result_name(tr[i]),
                                  rd_kafka_topic_result_error_string(tr[i]));
                    break;
                }
            }
        }
        if (ev)
            rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(ao);
        rd_kafka_queue_destroy(q);
    }
    rd_kafka_NewTopic_destroy_array(nt, (size_t)nnew);
out:
    rd_kafka_destroy(rk);
    free(lg);
    return rc;
}

/* ---- producer ---------------------------------------------------------------- */

/* A tracked message's outcome goes to its slot, unless a newer ticket
 * took the slot meanwhile. */
static void bus_track_set(struct bus_producer *p, uint64_t ticket, enum bus_delivery state)
{
    pthread_mutex_lock(&p->track_mu);
    struct bus_tracked *t = &p->tracked[ticket % BUS_TRACKED];
    if (t->ticket == ticket) {
        t->state = state;
        t->at_ms = clock_wall_ms();
    }
    pthread_mutex_unlock(&p->track_mu);
}

static void bus_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct bus_logger *lg = opaque;
    struct bus_producer *p = lg ? lg->owner : NULL;
    uint64_t ticket = (uint64_t)(uintptr_t)m->_private;
    if (!p)
        return;
    if (ticket)
        bus_track_set(p, ticket, m->err ? BUS_FAILED : BUS_DELIVERED);
    if (!m->err)
        return;
    atomic_fetch_add(&p->failed, 1);
    bus_log(p->log_cb, p->log_opaque, LOGL_ERROR,
            "kafka delivery to topic %s failed after retries: %s (%zu bytes lost)",
            m->rkt ? rd_kafka_topic_name(m->rkt) : "?", rd_kafka_err2str(m->err), m->len);
    (void)rk;
}

int bus_producer_create(const struct bus_conf *c, struct bus_producer **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    static const char *const fixed[] = {"enable.idempotence",
                                        "true",
                                        "acks",
                                        "all",
                                        "linger.ms",
                                        "2",
                                        "message.timeout.ms",
                                        "300000",
                                        "queue.buffering.max.messages",
                                        "1000000",
                                        NULL};
    struct bus_producer *p = calloc(1, sizeof *p);
    struct bus_logger *lg = bus_logger_new(c);
    if (!p || !lg) {
        free(p);
        free(lg);
        return bus_fail(err, errlen, "out of memory");
    }
    rd_kafka_conf_t *conf = bus_make_conf(c, fixed, err, errlen);
    if (!conf) {
        free(p);
        free(lg);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, bus_dr_cb);
    rd_kafka_conf_set_opaque(conf, lg);
    char rerr[512];
    p->conf_copy = rd_kafka_conf_dup(conf);
    /* Ownership of conf passes to librdkafka on success. */
    p->rk = p->conf_copy ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, rerr, sizeof rerr) : NULL;
    if (!p->rk) {
        if (!p->conf_copy)
            snprintf(rerr, sizeof rerr, "out of memory");
        else
            rd_kafka_conf_destroy(p->conf_copy);
        rd_kafka_conf_destroy(conf);
        free(p);
        free(lg);
        return bus_fail(err, errlen, "kafka producer: %s", rerr);
    }
    pthread_rwlock_init(&p->lk, NULL);
    pthread_mutex_init(&p->track_mu, NULL);
    lg->owner = p;
    snprintf(p->prefix, sizeof p->prefix, "%s", c->topic_prefix);
    p->log_cb = c->log_cb;
    p->log_opaque = c->log_opaque;
    *out = p;
    return 0;
}

/* An idempotent producer that hit a fatal error (e.g. "out of order
 * sequence number" after a whole cluster restarted with batches in flight)
 * refuses every message for ever. Build a new one (a new producer id) in
 * its place: what the old one still held is failed and counted, as a
 * failed delivery is, and callers resend what they must. */
static void bus_producer_renew(struct bus_producer *p)
{
    char why[512] = "";
    pthread_rwlock_rdlock(&p->lk);
    int fatal = rd_kafka_fatal_error(p->rk, why, sizeof why) != RD_KAFKA_RESP_ERR_NO_ERROR;
    pthread_rwlock_unlock(&p->lk);
    if (!fatal)
        return;
    pthread_rwlock_wrlock(&p->lk);
    if (rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char rerr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_dup(p->conf_copy);
        rd_kafka_t *nrk = conf ? rd_kafka_new(RD_KAFKA_PRODUCER, conf, rerr, sizeof rerr) : NULL;
        if (nrk) {
            rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_flush(p->rk, 2000); /* serves the purged messages' reports */
            int left = rd_kafka_outq_len(p->rk);
            rd_kafka_destroy(p->rk);
            p->rk = nrk;
            bus_log(p->log_cb, p->log_opaque, LOGL_WARN,
                    "kafka producer had a fatal error (%s): a new producer took its place%s", why,
                    left ? "; some messages were dropped" : "");
        } else {
            if (conf)
                rd_kafka_conf_destroy(conf);
            bus_log(p->log_cb, p->log_opaque, LOGL_ERROR,
                    "kafka producer had a fatal error (%s) and no new one could be built: %s", why,
                    conf ? rerr : "out of memory");
        }
    }
    pthread_rwlock_unlock(&p->lk);
}

/* ticket: 0, or the bus_produce_tracked ticket its delivery report sets. */
static int bus_produce_one(struct bus_producer *p, const char *topic, const char *key,
                           const char *payload, size_t len, uint64_t ticket, char *err,
                           size_t errlen)
{
    char name[256];
    bus_topic_name(p->prefix, topic, name, sizeof name);
    for (int attempt = 0;; attempt++) {
        pthread_rwlock_rdlock(&p->lk);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(name), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)payload, len),
            RD_KAFKA_V_KEY((void *)key, key ? strlen(key) : 0),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)ticket), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && attempt < 10)
            rd_kafka_poll(p->rk, 100);
        pthread_rwlock_unlock(&p->lk);
        if (!e)
            return 0;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && attempt < 10)
            continue;
        if (e == RD_KAFKA_RESP_ERR__FATAL && attempt == 0) {
            bus_producer_renew(p);
            continue;
        }
        return bus_fail(err, errlen, "kafka produce to %s: %s", name, rd_kafka_err2str(e));
    }
}

int bus_produce(struct bus_producer *p, const char *topic, const char *key, const char *payload,
                size_t len, char *err, size_t errlen)
{
    return bus_produce_one(p, topic, key, payload, len, 0, err, errlen);
}

int bus_produce_tracked(struct bus_producer *p, const char *topic, const char *key,
                        const char *payload, size_t len, uint64_t *ticket, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->track_mu);
    uint64_t t = ++p->next_ticket;
    p->tracked[t % BUS_TRACKED] = (struct bus_tracked){t, BUS_PENDING, 0};
    pthread_mutex_unlock(&p->track_mu);
    *ticket = t;
    int rc = bus_produce_one(p, topic, key, payload, len, t, err, errlen);
    if (rc < 0)
        bus_track_set(p, t, BUS_FAILED);
    return rc;
}

enum bus_delivery bus_delivery(struct bus_producer *p, uint64_t ticket, int64_t *at_ms)
{
    pthread_mutex_lock(&p->track_mu);
    const struct bus_tracked *t = &p->tracked[ticket % BUS_TRACKED];
    enum bus_delivery d = ticket && t->ticket == ticket ? t->state : BUS_UNKNOWN;
    if (at_ms)
        *at_ms = d == BUS_UNKNOWN ? 0 : t->at_ms;
    pthread_mutex_unlock(&p->track_mu);
    return d;
}

void bus_producer_poll(struct bus_producer *p, int timeout_ms)
{
    bus_producer_renew(p);
    pthread_rwlock_rdlock(&p->lk);
    rd_kafka_poll(p->rk, timeout_ms);
    pthread_rwlock_unlock(&p->lk);
}

int bus_producer_flush(struct bus_producer *p, int timeout_ms)
{
    bus_producer_renew(p);
    pthread_rwlock_rdlock(&p->lk);
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    pthread_rwlock_unlock(&p->lk);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int64_t bus_producer_failed(const struct bus_producer *p)
{
    return atomic_load(&((struct bus_producer *)p)->failed);
}

int bus_producer_outq(const struct bus_producer *p)
{
    struct bus_producer *w = (struct bus_producer *)p;
    pthread_rwlock_rdlock(&w->lk);
    int n = rd_kafka_outq_len(w->rk);
    pthread_rwlock_unlock(&w->lk);
    return n;
}

int bus_producer_warm(struct bus_producer *p, const char *const *topics, int n, int timeout_ms,
                      char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        char name[256];
        bus_topic_name(p->prefix, topics[i], name, sizeof name);
        pthread_rwlock_rdlock(&p->lk);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, name, NULL);
        if (!rkt) {
            pthread_rwlock_unlock(&p->lk);
            return bus_fail(err, errlen, "kafka topic %s: %s", name,
                            rd_kafka_err2str(rd_kafka_last_error()));
        }
        const struct rd_kafka_metadata *md = NULL;
        /* The answer stays in the handle's metadata cache after the topic
         * handle is gone. */
        rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, rkt, &md, timeout_ms);
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        pthread_rwlock_unlock(&p->lk);
        if (e)
            return bus_fail(err, errlen, "kafka: metadata of %s: %s", name, rd_kafka_err2str(e));
    }
    return 0;
}

void bus_producer_purge(struct bus_producer *p)
{
    pthread_rwlock_rdlock(&p->lk);
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    /* Serve the delivery reports: each purged message counts as failed. */
    rd_kafka_poll(p->rk, 0);
    pthread_rwlock_unlock(&p->lk);
}

void bus_producer_destroy(struct bus_producer *p)
{
    if (!p)
        return;
    if (rd_kafka_flush(p->rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        bus_log(p->log_cb, p->log_opaque, LOGL_ERROR,
                "kafka: %d message(s) still undelivered at shutdown", rd_kafka_outq_len(p->rk));
    struct bus_logger *lg = rd_kafka_opaque(p->rk);
    rd_kafka_destroy(p->rk);
    rd_kafka_conf_destroy(p->conf_copy);
    pthread_rwlock_destroy(&p->lk);
    pthread_mutex_destroy(&p->track_mu);
    free(lg);
    free(p);
}

/* ---- consumers --------------------------------------------------------------- */

/* 1 when parts hold at least one partition of every topic of sub (a
 * group's subscription). A group joined while the brokers did not know the
 * topics yet (just created: KRaft tells the other brokers a moment later)
 * is assigned none of them, and librdkafka 2.0 may never join it again:
 * that is no assignment. */
static int bus_covers(const rd_kafka_topic_partition_list_t *parts,
                      const rd_kafka_topic_partition_list_t *sub)
{
    if (!parts || parts->cnt == 0)
        return 0;
    for (int i = 0; sub && i < sub->cnt; i++) {
        int found = 0;
        for (int k = 0; k < parts->cnt && !found; k++)
            found = strcmp(parts->elems[k].topic, sub->elems[i].topic) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

static void bus_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                             rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)opaque;
    struct bus_consumer *c = NULL;
    struct bus_logger *lg = rd_kafka_opaque(rk);
    c = lg ? lg->owner : NULL;
    int full = 0;
    if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        full = bus_covers(parts, c ? c->subscription : NULL);
    } else {
        rd_kafka_assign(rk, NULL);
    }
    if (c) {
        atomic_store(&c->assigned, full);
        c->unassigned_since_us = full ? 0 : clock_mono_us();
    }
}

static struct bus_consumer *bus_consumer_new(const struct bus_conf *c, const char *const *fixed,
                                             int with_rebalance, char *err, size_t errlen)
{
    struct bus_consumer *bc = calloc(1, sizeof *bc);
    struct bus_logger *lg = calloc(1, sizeof *lg);
    if (!bc || !lg) {
        free(bc);
        free(lg);
        bus_fail(err, errlen, "out of memory");
        return NULL;
    }
    lg->cb = c->log_cb;
    lg->opaque = c->log_opaque;
    lg->owner = bc;
    pthread_mutex_init(&bc->mu, NULL);
    rd_kafka_conf_t *conf = bus_make_conf(c, fixed, err, errlen);
    if (!conf) {
        free(bc);
        free(lg);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, lg);
    if (with_rebalance)
        rd_kafka_conf_set_rebalance_cb(conf, bus_rebalance_cb);
    bc->conf_copy = rd_kafka_conf_dup(conf);
    char rerr[512];
    /* Ownership of conf passes to librdkafka on success. */
    bc->rk = bc->conf_copy ? rd_kafka_new(RD_KAFKA_CONSUMER, conf, rerr, sizeof rerr) : NULL;
    if (!bc->rk) {
        if (!bc->conf_copy)
            snprintf(rerr, sizeof rerr, "out of memory");
        rd_kafka_conf_destroy(conf);
        if (bc->conf_copy)
            rd_kafka_conf_destroy(bc->conf_copy);
        free(bc);
        free(lg);
        bus_fail(err, errlen, "kafka consumer: %s", rerr);
        return NULL;
    }
    rd_kafka_poll_set_consumer(bc->rk);
    snprintf(bc->prefix, sizeof bc->prefix, "%s", c->topic_prefix);
    bc->log_cb = c->log_cb;
    bc->log_opaque = c->log_opaque;
    return bc;
}

int bus_consumer_create_group(const struct bus_conf *c, const char *group_id,
                              const char *const *topics, int n, struct bus_consumer **out,
                              char *err, size_t errlen)
{
    *out = NULL;
    const char *fixed[] = {"group.id", group_id, "enable.auto.commit", "true",
                           "enable.auto.offset.store", "false", "auto.commit.interval.ms", "500",
                           "auto.offset.reset", "earliest", "fetch.wait.max.ms", "50",
                           /* The lowest a Kafka broker accepts by default
                            * (group.min.session.timeout.ms): a consumer
                            * that crashed leaves the group this soon. */
                           "session.timeout.ms", "6000", "heartbeat.interval.ms", "1000",
                           /* Notice topics created after the subscription. */
                           "topic.metadata.refresh.interval.ms", "10000", NULL};
    struct bus_consumer *bc = bus_consumer_new(c, fixed, 1, err, errlen);
    if (!bc)
        return -1;
    bc->group = 1;
    bc->unassigned_since_us = clock_mono_us();
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        char name[256];
        bus_topic_name(c->topic_prefix, topics[i], name, sizeof name);
        rd_kafka_topic_partition_list_add(tl, name, RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(bc->rk, tl);
    bc->subscription = tl; /* kept for bus_consumer_maintain */
    if (e) {
        bus_consumer_destroy(bc);
        return bus_fail(err, errlen, "kafka subscribe: %s", rd_kafka_err2str(e));
    }
    *out = bc;
    return 0;
}

int bus_consumer_create_broadcast(const struct bus_conf *c, const char *const *topics, int n,
                                  int timeout_ms, struct bus_consumer **out, char *err,
                                  size_t errlen)
{
    *out = NULL;
    /* librdkafka wants a group.id for assign(); this one is never joined
     * and nothing is ever committed under it. */
    char gid[200];
    snprintf(gid, sizeof gid, "dlt-broadcast-%s-%d-%lld", c->client_id, (int)getpid(),
             (long long)clock_wall_us());
    const char *fixed[] = {"group.id", gid, "enable.auto.commit", "false",
                           "enable.auto.offset.store", "false", "fetch.wait.max.ms", "50",
                           "topic.metadata.refresh.interval.ms", "10000",
                           /* Past the log end means the log was reset (a
                            * restarted load-broker): everything in it is
                            * new. Callers drop anything older than their
                            * own start by its timestamp. */
                           "auto.offset.reset", "earliest", NULL};
    struct bus_consumer *bc = bus_consumer_new(c, fixed, 0, err, errlen);
    if (!bc)
        return -1;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(16);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char name[256];
        bus_topic_name(c->topic_prefix, topics[i], name, sizeof name);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(bc->rk, name, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(bc->rk, 0, rkt, &md, timeout_ms);
        if (e || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
            rc = bus_fail(err, errlen, "kafka at %s: topic %s not available: %s", c->brokers, name,
                          rd_kafka_err2str(e               ? e
                                           : md->topic_cnt ? md->topics[0].err
                                                           : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        } else {
            for (int p = 0; p < md->topics[0].partition_cnt && rc == 0; p++) {
                int64_t lo = 0, hi = 0;
                int32_t pid = md->topics[0].partitions[p].id;
                e = rd_kafka_query_watermark_offsets(bc->rk, name, pid, &lo, &hi, timeout_ms);
                if (e)
                    rc = bus_fail(err, errlen, "kafka: log end of %s[%d]: %s", name, pid,
                                  rd_kafka_err2str(e));
                else
                    rd_kafka_topic_partition_list_add(tl, name, pid)->offset = hi;
            }
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    if (rc == 0) {
        rd_kafka_resp_err_t e = rd_kafka_assign(bc->rk, tl);
        if (e)
            rc = bus_fail(err, errlen, "kafka assign: %s", rd_kafka_err2str(e));
        else
            atomic_store(&bc->assigned, 1);
    }
    rd_kafka_topic_partition_list_destroy(tl);
    if (rc) {
        bus_consumer_destroy(bc);
        return -1;
    }
    *out = bc;
    return 0;
}

int bus_consumer_poll(struct bus_consumer *c, int timeout_ms, struct bus_record *rec, char *err,
                      size_t errlen)
{
    bus_record_release(rec);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!m)
        return 0;
    if (m->err) {
        int rc = bus_fail(err, errlen, "kafka consumer: %s",
                          m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? "end of partition"
                                                                     : rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return rc;
    }
    const char *name = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    size_t pl = strlen(c->prefix);
    if (pl && strncmp(name, c->prefix, pl) == 0)
        name += pl;
    rec->topic = name;
    rec->key = m->key;
    rec->key_len = m->key_len;
    rec->payload = m->payload ? m->payload : "";
    rec->len = m->len;
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    rec->timestamp_ms = ts > 0 ? ts : 0;
    rec->partition = m->partition;
    rec->offset = m->offset;
    rec->handle_ = m;
    return 1;
}

void bus_record_release(struct bus_record *rec)
{
    if (rec && rec->handle_) {
        rd_kafka_message_destroy(rec->handle_);
        memset(rec, 0, sizeof *rec);
    }
}

int bus_consumer_commit(struct bus_consumer *c, const struct bus_record *rec)
{
    if (!c->group || !rec->handle_)
        return 0;
    rd_kafka_message_t *m = rec->handle_;
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tl, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset + 1;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);
    return e ? -1 : 0;
}

int bus_consumer_redeliver(struct bus_consumer *c, const struct bus_record *recs, int n, char *err,
                           size_t errlen)
{
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        const rd_kafka_message_t *m = recs[i].handle_;
        if (!m || !m->rkt)
            continue;
        const char *name = rd_kafka_topic_name(m->rkt);
        if (!rd_kafka_topic_partition_list_find(tl, name, m->partition))
            rd_kafka_topic_partition_list_add(tl, name, m->partition)->offset = m->offset;
    }
    int rc = 0;
    if (tl->cnt > 0) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, tl, 2000);
        if (e) {
            rc = bus_fail(err, errlen, "kafka seek: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
        for (int i = 0; rc == 0 && i < tl->cnt; i++)
            if (tl->elems[i].err)
                rc = bus_fail(err, errlen, "kafka seek %s[%d]: %s", tl->elems[i].topic,
                              (int)tl->elems[i].partition, rd_kafka_err2str(tl->elems[i].err));
    }
    rd_kafka_topic_partition_list_destroy(tl);
    return rc;
}

int bus_consumer_assigned(struct bus_consumer *c)
{
    return atomic_load(&c->assigned);
}

void bus_consumer_destroy(struct bus_consumer *c)
{
    if (!c)
        return;
    struct bus_logger *lg = rd_kafka_opaque(c->rk);
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    if (c->conf_copy)
        rd_kafka_conf_destroy(c->conf_copy);
    if (c->subscription)
        rd_kafka_topic_partition_list_destroy(c->subscription);
    pthread_mutex_destroy(&c->mu);
    free(lg);
    free(c);
}

/* A new group client from the kept configuration, subscribed as before.
 * The old one is dropped without leaving its group: that group belonged to
 * a cluster that is gone. */
static int bus_consumer_rebuild(struct bus_consumer *c, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(c->conf_copy);
    if (!conf)
        return bus_fail(err, errlen, "out of memory");
    char rerr[512];
    /* Ownership of conf passes to librdkafka on success. Both clients share
     * the logger (their opaque), which stays until bus_consumer_destroy. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rerr, sizeof rerr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return bus_fail(err, errlen, "kafka consumer: %s", rerr);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, c->subscription);
    if (e) {
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        return bus_fail(err, errlen, "kafka subscribe: %s", rd_kafka_err2str(e));
    }
    rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    c->rk = rk;
    atomic_store(&c->assigned, 0);
    c->unassigned_since_us = clock_mono_us();
    c->resubscribe_after_us = 0;
    return 0;
}

/* A group consumer left without a full assignment subscribes again, which
 * makes librdkafka read the topics' metadata anew and join the group again:
 * after 5 s, then 10, 20, up to every 60 s while it lasts. */
static int bus_consumer_unstick(struct bus_consumer *c, int64_t now, char *err, size_t errlen)
{
    if (!c->group || atomic_load(&c->assigned) || c->unassigned_since_us == 0)
        return 0;
    int64_t wait = c->resubscribe_after_us ? c->resubscribe_after_us : 5000000;
    if (now - c->unassigned_since_us < wait)
        return 0;
    c->resubscribe_after_us = wait >= 30000000 ? 60000000 : wait * 2;
    c->unassigned_since_us = now;
    bus_log(c->log_cb, c->log_opaque, LOGL_WARN,
            "kafka: no full assignment of %d topic(s) for the consumer group after %.0f s; "
            "subscribing again",
            c->subscription ? c->subscription->cnt : 0, (double)wait / 1e6);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, c->subscription);
    return e ? bus_fail(err, errlen, "kafka subscribe: %s", rd_kafka_err2str(e)) : 1;
}

/* Start every assigned partition again from the beginning of its log. */
static int bus_consumer_rewind(struct bus_consumer *c, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *tl = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(c->rk, &tl);
    if (!e) {
        for (int i = 0; i < tl->cnt; i++)
            tl->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        e = rd_kafka_assign(c->rk, tl);
    }
    if (tl)
        rd_kafka_topic_partition_list_destroy(tl);
    return e ? bus_fail(err, errlen, "kafka assign: %s", rd_kafka_err2str(e)) : 0;
}

int bus_consumer_maintain(struct bus_consumer *c, char *err, size_t errlen)
{
    int64_t now = clock_mono_us();
    if (now < c->next_check_us)
        return 0;
    c->next_check_us = now + 500000;
    int rc = bus_consumer_unstick(c, now, err, errlen);
    char *id = rd_kafka_clusterid(c->rk, 0);
    if (!id)
        return rc;
    /* A new id, or a broker that came back at another address under the
     * same id (load-broker's cluster ids can repeat across restarts). */
    pthread_mutex_lock(&c->mu);
    int replaced = (c->clusterid[0] && strcmp(id, c->clusterid) != 0) || c->moved;
    c->moved = 0;
    if (replaced)
        bus_log(c->log_cb, c->log_opaque, LOGL_WARN,
                "kafka: the cluster was replaced (id %s, was %s; brokers %s): everything in "
                "it is new; %s",
                id, c->clusterid, c->brokers,
                c->group ? "joining its consumer group anew" : "reading it from the beginning");
    pthread_mutex_unlock(&c->mu);
    snprintf(c->clusterid, sizeof c->clusterid, "%s", id);
    rd_kafka_mem_free(c->rk, id);
    if (!replaced)
        return rc;
    rc = c->group ? bus_consumer_rebuild(c, err, errlen) : bus_consumer_rewind(c, err, errlen);
    return rc < 0 ? -1 : 1;
}

int bus_consumer_reachable(struct bus_consumer *c, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(c->rk, 0, NULL, &md, timeout_ms);
    if (!e && md) {
        pthread_mutex_lock(&c->mu);
        /* Only an id known before under another address counts: brokers
         * may be listed in any order, and may come and go. */
        char sig[sizeof c->brokers];
        size_t used = 0;
        sig[0] = '\0';
        for (int i = 0; i < md->broker_cnt && used < sizeof sig; i++) {
            char one[300], prefix[32];
            snprintf(one, sizeof one, "%d@%s:%d", (int)md->brokers[i].id, md->brokers[i].host,
                     md->brokers[i].port);
            snprintf(prefix, sizeof prefix, "%d@", (int)md->brokers[i].id);
            /* Look for " id@" (or "id@" at the start) in the old list. */
            for (const char *at = c->brokers; (at = strstr(at, prefix)) != NULL; at++) {
                if (at != c->brokers && at[-1] != ' ')
                    continue;
                size_t n = strcspn(at, " ");
                if (n != strlen(one) || strncmp(at, one, n) != 0)
                    c->moved = 1;
                break;
            }
            int k = snprintf(sig + used, sizeof sig - used, "%s%s", i ? " " : "", one);
            if (k < 0)
                break;
            used += (size_t)k;
        }
        snprintf(c->brokers, sizeof c->brokers, "%s", sig);
        pthread_mutex_unlock(&c->mu);
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR;
}

int bus_consumer_lag(struct bus_consumer *c, const char *topic, int timeout_ms, int64_t *lag,
                     char *err, size_t errlen)
{
    char name[256];
    bus_topic_name(c->prefix, topic, name, sizeof name);
    *lag = 0;
    rd_kafka_topic_partition_list_t *tl = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(c->rk, &tl);
    if (e)
        return bus_fail(err, errlen, "kafka assignment: %s", rd_kafka_err2str(e));
    /* Where each partition stands: the position, or where it was assigned
     * to start while nothing was consumed from it yet. */
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(tl);
    e = rd_kafka_position(c->rk, pos);
    int rc = 0;
    for (int i = 0; !e && rc == 0 && i < tl->cnt; i++) {
        if (strcmp(tl->elems[i].topic, name) != 0)
            continue;
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t we = rd_kafka_query_watermark_offsets(
            c->rk, name, tl->elems[i].partition, &lo, &hi, timeout_ms);
        if (we) {
            rc = bus_fail(err, errlen, "kafka: log end of %s[%d]: %s", name,
                          (int)tl->elems[i].partition, rd_kafka_err2str(we));
            break;
        }
        int64_t at = pos->elems[i].offset;
        if (at < 0)
            at = tl->elems[i].offset >= 0 ? tl->elems[i].offset : lo;
        if (at > hi) {
            *lag = -1; /* past the log end: the log was reset under it */
            break;
        }
        *lag += hi - at;
    }
    if (e)
        rc = bus_fail(err, errlen, "kafka position: %s", rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(pos);
    rd_kafka_topic_partition_list_destroy(tl);
    return rc;
}
