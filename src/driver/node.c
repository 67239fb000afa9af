#define _GNU_SOURCE
#include "node.h"

#include "clock.h"
#include "dstore.h"
#include "engine.h"
#include "hist.h"
#include "log.h"
#include "msg.h"
#include "opts.h"
#include "plan.h"
#include "report.h"
#include "topics.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NODE_URL_MAX (MSG_URL_MAX + 1)
#define NODE_CONNECT_TIMEOUT_MS 5000
#define NODE_PENDING_TRIGGER_US (10 * 1000000LL) /* a trigger may beat its config */
#define NODE_START_AHEAD_MAX_MS (10 * 60 * 1000LL)
#define NODE_FLUSH_MS 10000
/* After a stall, how long new sends wait at most for the trigger topic to
 * be read up to date (an ABORT published meanwhile is acted on first). */
#define NODE_CATCHUP_US (2 * 1000000LL)
/* How often the watch thread asks Kafka about the broadcast topics, how
 * long each question may take, and for how many checks in a row messages
 * may wait while the consumer returns none before the driver says it is not
 * listening. */
#define NODE_WATCH_MS 1000
#define NODE_WATCH_ASK_MS 500
#define NODE_WATCH_STUCK 2
/* Tests this driver ended (ran or refused), remembered so that a config or
 * trigger read again (a broadcast topic re-read after the cluster was
 * replaced, a config sent twice) never runs a test a second time. */
#define NODE_DONE_MAX 64

/* The broadcast topics a driver reads: the trigger comes on both trigger
 * topics (the original programs' code uses test_trigger), and each test is
 * acted on once. */
static const char *const node_broadcast[] = {TOPIC_TEST_CONFIG, TOPIC_TRIGGER, TOPIC_TEST_TRIGGER,
                                             TOPIC_TEST_DATA};
#define NODE_N_BROADCAST ((int)(sizeof node_broadcast / sizeof node_broadcast[0]))

struct node {
    struct node_opts *o;
    struct bus_producer *prod;
    struct bus_consumer *cons;
    struct dstore *db;
    struct resolver *resolver; /* name lookups, kept fresh by the watch thread */
    char target_host[256];
    int64_t born_wall_ms; /* messages older than this are ignored */
    enum node_state state;
    int64_t next_hb_us;
    struct hist *lat, *svc; /* scratch for snapshots */
    struct hist *rqh;       /* scratch for a mix's per-request snapshots */

    /* The current test (READY or RUNNING). */
    struct msg_test_config cfg;
    char url[NODE_URL_MAX];
    struct engine *eng;
    int64_t report_us;
    int64_t seq;
    int64_t start_mono_us;
    int64_t start_wall_ms;
    int64_t anchor_mono_us, anchor_wall_us; /* for converting times */
    int64_t next_report_us;
    const char *stop_reason;  /* set when aborted */
    int64_t catchup_until_us; /* sends held after a stall until then; 0 none */

    /* A trigger that arrived before its config. */
    struct msg_trigger pending;
    int64_t pending_until_us;

    /* Data rows: those of the test prepared or running (its engine reads
     * them), and those arriving for the next; a config whose rows are still
     * on their way waits in waiting (has_waiting). */
    struct data_recv rows, incoming;
    struct msg_test_config waiting;
    int has_waiting;

    char done[NODE_DONE_MAX][ID_MAX];
    int done_next;

    /* The watch thread: whether Kafka answers and the broadcast consumer
     * keeps up (an enum msg_listening), for the heartbeat. */
    pthread_t watch_thr;
    int watching;
    atomic_int watch_stop;
    atomic_int listening;
    atomic_llong polled; /* messages the broadcast consumer returned */
};

/* ---- sending ---------------------------------------------------------------- */

static void node_send(struct node *n, const char *topic, const char *json)
{
    char err[512];
    if (!json) {
        log_error("out of memory encoding a %s message; not sent", topic);
        return;
    }
    if (!n->prod)
        return;
    if (bus_produce(n->prod, topic, n->o->node_id, json, strlen(json), err, sizeof err) < 0)
        log_error("%s", err);
}

static void node_heartbeat(struct node *n)
{
    struct msg_heartbeat hb = {0};
    snprintf(hb.node_id, sizeof hb.node_id, "%s", n->o->node_id);
    hb.timestamp = (double)clock_wall_ms() / 1000.0;
    hb.state = n->state;
    if (n->state != NODE_STATE_IDLE)
        snprintf(hb.test_id, sizeof hb.test_id, "%s", n->cfg.test_id);
    hb.requests_sent = n->eng ? engine_sent(n->eng) : 0;
    hb.listening = (enum msg_listening)atomic_load(&n->listening);
    char *json = msg_heartbeat_encode(&hb);
    node_send(n, TOPIC_HEARTBEAT, json);
    free(json);
    n->next_hb_us = clock_mono_us() + n->o->heartbeat_us;
}

/* While a test's target is looked up (resolve.h): heartbeats go on, and
 * what was produced is delivered. Nothing is read meanwhile. */
static void node_wait(void *arg)
{
    struct node *n = arg;
    if (clock_mono_us() >= n->next_hb_us)
        node_heartbeat(n);
    if (n->prod)
        bus_producer_poll(n->prod, 0);
}

static void node_set_state(struct node *n, enum node_state s)
{
    if (n->state == s)
        return;
    log_info("state %s -> %s%s%s", node_state_name(n->state), node_state_name(s),
             s != NODE_STATE_IDLE ? " test " : "", s != NODE_STATE_IDLE ? n->cfg.test_id : "");
    n->state = s;
    node_heartbeat(n);
}

static void node_register(struct node *n, int unregister)
{
    struct msg_register r = {0};
    snprintf(r.node_id, sizeof r.node_id, "%s", n->o->node_id);
    snprintf(r.node_ip, sizeof r.node_ip, "%s", n->o->node_ip);
    r.unregister = unregister;
    if (gethostname(r.hostname, sizeof r.hostname - 1) != 0)
        r.hostname[0] = '\0';
    r.pid = (int64_t)getpid();
    snprintf(r.version, sizeof r.version, "%s", DLT_VERSION);
    r.timestamp = (double)clock_wall_ms() / 1000.0;
    char *json = msg_register_encode(&r);
    node_send(n, TOPIC_REGISTER, json);
    free(json);
}

/* Send (and for a final report, store) one metrics report. */
static void node_publish(struct node *n, const struct report_in *in, const char *test_type,
                         const char *url)
{
    struct msg_metrics m;
    if (report_build(in, &m) < 0) {
        log_error("out of memory building the metrics report of test %s", in->test_id);
        return;
    }
    char *json = msg_metrics_encode(&m);
    node_send(n, TOPIC_METRICS, json);
    if (in->final && json && n->db) {
        char err[512];
        struct dstore_test t = {.test_type = test_type,
                                .target_url = url,
                                .started_ms = n->eng ? n->start_wall_ms : 0,
                                .ended_ms = clock_wall_ms()};
        if (dstore_save(n->db, &t, &m, json, err, sizeof err) < 0)
            log_error("cannot store the final report of test %s: %s", in->test_id, err);
    }
    free(json);
    msg_metrics_free(&m);
}

static void node_remember(struct node *n, const char *test_id)
{
    snprintf(n->done[n->done_next], ID_MAX, "%s", test_id);
    n->done_next = (n->done_next + 1) % NODE_DONE_MAX;
}

static int node_ended(const struct node *n, const char *test_id)
{
    for (int i = 0; i < NODE_DONE_MAX; i++)
        if (n->done[i][0] && strcmp(n->done[i], test_id) == 0)
            return 1;
    return 0;
}

/* A test this driver will not run: a final report with zero counts. */
static void node_refuse(struct node *n, const char *test_id, const char *type, const char *url,
                        const char *reason)
{
    log_warn("test %s refused: %s", test_id, reason);
    node_remember(n, test_id);
    hist_reset(n->lat);
    hist_reset(n->svc);
    struct report_in in = {.node_id = n->o->node_id,
                           .test_id = test_id,
                           .seq = 0,
                           .final = 1,
                           .lat = n->lat,
                           .svc = n->svc,
                           .failure = reason};
    struct engine *keep = n->eng;
    n->eng = NULL; /* no start time for a refusal */
    node_publish(n, &in, type, url);
    n->eng = keep;
}

/* ---- the current test ------------------------------------------------------- */

static void node_clear_test(struct node *n)
{
    engine_destroy(n->eng);
    n->eng = NULL;
    msg_test_config_free(&n->cfg);
    data_recv_free(&n->rows);
    n->url[0] = '\0';
    n->seq = 0;
    n->stop_reason = NULL;
    n->catchup_until_us = 0;
}

static int64_t node_epoch_ms(const struct node *n, int64_t mono_us)
{
    return (n->anchor_wall_us + (mono_us - n->anchor_mono_us)) / 1000;
}

static void node_report(struct node *n, int final)
{
    struct engine_stats st;
    engine_snapshot(n->eng, &st, n->lat, n->svc);
    int64_t now = clock_mono_us();
    int64_t end = final && st.last_done_us ? st.last_done_us : now;
    struct report_in in = {
        .node_id = n->o->node_id,
        .test_id = n->cfg.test_id,
        .seq = n->seq++,
        .final = final,
        .st = &st,
        .lat = n->lat,
        .svc = n->svc,
        .elapsed_ms = end > n->start_mono_us ? (end - n->start_mono_us) / 1000 : 0,
        .first_send_ms = st.first_send_us ? node_epoch_ms(n, st.first_send_us) : 0,
        .failure = final ? n->stop_reason : NULL,
        .engine = n->eng ? engine_name(n->eng) : NULL,
        .eng = n->eng,
        .scratch = n->rqh};
    node_publish(n, &in, test_type_name(n->cfg.test_type), n->url);
    if (final) {
        node_remember(n, n->cfg.test_id);
        char lat[32], p99[32];
        opt_format_duration(hist_percentile(n->lat, 50), lat, sizeof lat);
        opt_format_duration(hist_percentile(n->lat, 99), p99, sizeof p99);
        log_info("test %s %s: sent %lld, completed %lld, errors %lld (connect %lld, timeout "
                 "%lld, 4xx %lld, 5xx %lld, other %lld), late %lld, abandoned %lld, p50 %s, p99 "
                 "%s, %lld ms",
                 n->cfg.test_id, n->stop_reason ? "stopped" : "done", (long long)st.sent,
                 (long long)st.completed,
                 (long long)(st.kinds[PLAN_ERR_CONNECT] + st.kinds[PLAN_ERR_TIMEOUT] +
                             st.kinds[PLAN_ERR_4XX] + st.kinds[PLAN_ERR_5XX] +
                             st.kinds[PLAN_ERR_OTHER]),
                 (long long)st.kinds[PLAN_ERR_CONNECT], (long long)st.kinds[PLAN_ERR_TIMEOUT],
                 (long long)st.kinds[PLAN_ERR_4XX], (long long)st.kinds[PLAN_ERR_5XX],
                 (long long)st.kinds[PLAN_ERR_OTHER], (long long)st.late, (long long)st.abandoned,
                 lat, p99, (long long)in.elapsed_ms);
    }
}

/* Translate a validated config into an engine run. */
/* Header lines as libcurl takes them ("Name: value", or "Name;" for an
 * empty value, so that it is sent rather than dropped), into lines[]. */
static int node_header_lines(const struct msg_header *h, int n, char **lines)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(h[i].name) + strlen(h[i].value) + 3;
        if (!(lines[i] = malloc(len)))
            return -1;
        if (h[i].value[0])
            snprintf(lines[i], len, "%s: %s", h[i].name, h[i].value);
        else
            snprintf(lines[i], len, "%s;", h[i].name);
    }
    return 0;
}

/* The engine's view of the config's request mix: reqs[] and the header
 * lines they point to (lines, freed by the caller). */
static int node_mix(const struct msg_test_config *c, struct engine_req *reqs, char ***lines_out,
                    int *n_lines)
{
    int total = 0;
    for (int i = 0; i < c->n_requests; i++)
        total += c->requests[i].n_headers;
    char **lines = total ? calloc((size_t)total, sizeof *lines) : NULL;
    *lines_out = lines;
    *n_lines = 0;
    if (total && !lines)
        return -1;
    for (int i = 0, k = 0; i < c->n_requests; i++) {
        const struct msg_request *q = &c->requests[i];
        if (node_header_lines(q->headers, q->n_headers, lines + k) < 0) {
            *n_lines = k + q->n_headers;
            return -1;
        }
        reqs[i] = (struct engine_req){.name = q->name,
                                      .method = q->method,
                                      .url = q->url,
                                      .header_lines = (const char *const *)(lines + k),
                                      .n_headers = q->n_headers,
                                      .body = q->body,
                                      .body_len = q->body_len,
                                      .weight = q->weight,
                                      .status = q->checks.status,
                                      .n_status = q->checks.n_status,
                                      .body_contains = q->checks.body_contains,
                                      .json_path = q->checks.json_path,
                                      .json_equals = q->checks.json_equals};
        k += q->n_headers;
        *n_lines = k;
    }
    return 0;
}

/* This driver's place among the n drivers listed (the config's
 * participants, or a RESHARE's survivors): *k of *n. A driver not listed, or
 * no list, is the whole fleet: 0 of 1. Returns 1 when listed. */
static int node_place(char (*ids)[ID_MAX], int n_ids, const char *node_id, int *n, int *k)
{
    *n = 1;
    *k = 0;
    for (int i = 0; ids && i < n_ids; i++)
        if (strcmp(ids[i], node_id) == 0) {
            *n = n_ids;
            *k = i;
            return 1;
        }
    return 0;
}

static void node_fleet_place(const struct msg_test_config *c, const char *node_id, int *n, int *k)
{
    node_place(c->drivers, c->n_drivers, node_id, n, k);
}

/* The data rows an engine takes: a config's own (a local run) or those
 * that came on test_data. */
struct node_rows {
    const char *const *cells;
    const size_t *lens;
    int64_t n;
};

static int node_prepare_engine(struct node *n, const struct msg_test_config *c,
                               const struct node_rows *rows, const char *url, struct engine **out,
                               char *err, size_t errlen)
{
    const struct node_opts *o = n->o;
    char **lines = NULL, **mix_lines = NULL;
    int n_mix_lines = 0;
    struct engine_req *reqs = NULL;
    int rc = -1;
    if (c->n_headers > 0) {
        lines = calloc((size_t)c->n_headers, sizeof *lines);
        if (!lines || node_header_lines(c->headers, c->n_headers, lines) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    if (c->n_requests > 0) {
        reqs = calloc((size_t)c->n_requests, sizeof *reqs);
        if (!reqs || node_mix(c, reqs, &mix_lines, &n_mix_lines) < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    int tsunami = c->test_type == TEST_TSUNAMI;
    int64_t inflight = c->concurrency > 0 ? c->concurrency
                       : tsunami          ? o->max_inflight
                                          : MSG_DEFAULT_CONCURRENCY;
    /* Stages are fleet-wide: this driver takes its turn among the
     * participants, in the order the config names them. */
    struct ramp ramp;
    int fleet_n = 1, fleet_k = 0;
    node_fleet_place(c, o->node_id, &fleet_n, &fleet_k);
    if (c->n_stages > 0) {
        double dur[MSG_STAGES_MAX], target[MSG_STAGES_MAX];
        for (int i = 0; i < c->n_stages; i++) {
            dur[i] = c->stages[i].duration_s;
            target[i] = c->stages[i].target;
        }
        if (ramp_init(&ramp, c->start_target, dur, target, c->n_stages) < 0) {
            snprintf(err, errlen, "the stages are out of range");
            goto out;
        }
        if (!tsunami) {
            int64_t peak = (int64_t)floor(ramp_peak(&ramp) + 1e-9);
            inflight = plan_share(peak, fleet_n, fleet_k);
            if (inflight > MSG_CONCURRENCY_MAX) {
                snprintf(err, errlen,
                         "the stages ask this driver for up to %lld requests in flight, over the "
                         "limit of %d",
                         (long long)inflight, MSG_CONCURRENCY_MAX);
                goto out;
            }
            if (inflight < 1)
                inflight = 1; /* a share of no places: the run sends nothing */
        }
    }
    struct engine_conf ec = {
        .url = url,
        .method = c->method,
        .header_lines = (const char *const *)lines,
        .n_headers = c->n_headers,
        .body = c->body,
        .body_len = c->body_len,
        .count = c->message_count_per_driver,
        .inflight = inflight,
        .gap_us = plan_gap_us(tsunami, c->test_message_delay, c->target_throughput),
        .open_loop = tsunami,
        .timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : MSG_DEFAULT_TIMEOUT_MS,
        .http2 = c->http2,
        .threads = o->threads,
        .kind = (enum engine_kind)o->engine,
        .duration_us = (int64_t)llround(c->duration_s * 1e6),
        .ramp = c->n_stages > 0 ? &ramp : NULL,
        .fleet_n = fleet_n,
        .fleet_k = fleet_k,
        .reqs = reqs,
        .n_reqs = c->n_requests,
        .resolver = n->resolver,
        .resolve_wait = {node_wait, n}};
    if (c->data.mode != DATA_NONE) {
        ec.data_cols = (const char *const *)c->data.cols;
        ec.n_data_cols = c->data.n_cols;
        ec.data_cells = rows->cells;
        ec.data_lens = rows->lens;
        ec.n_data_rows = rows->n;
    }
    /* A mix whose requests all name their URL goes where the first does. */
    int all_urls = c->n_requests > 0;
    for (int i = 0; i < c->n_requests; i++)
        all_urls &= c->requests[i].url != NULL;
    if (all_urls)
        ec.url = c->requests[0].url;
    rc = engine_create(&ec, out, err, errlen);
out:
    for (int i = 0; lines && i < c->n_headers; i++)
        free(lines[i]);
    free(lines);
    for (int i = 0; mix_lines && i < n_mix_lines; i++)
        free(mix_lines[i]);
    free(mix_lines);
    free(reqs);
    return rc;
}

/* 1 when url's host may be sent load; the scheme and host alone are
 * looked at (a mix's URL may hold variables after them). Returns 0, or -1
 * with the reason in err; name is the request's, "" for the test's URL. */
static int node_host_ok(const struct node_opts *o, const char *target_host, const char *url,
                        const char *name, char *err, size_t errlen)
{
    char origin[NODE_URL_MAX], host[256], perr[300];
    const char *a = strstr(url, "://");
    size_t n = a ? (size_t)(a + 3 - url) + strcspn(a + 3, "/?#") : strlen(url);
    snprintf(origin, sizeof origin, "%.*s/", (int)(n < sizeof origin - 2 ? n : sizeof origin - 2),
             url);
    if (plan_url_host(origin, host, sizeof host, perr, sizeof perr) < 0) {
        snprintf(err, errlen, "bad target%s%s%s: %s", *name ? " of request \"" : "", name,
                 *name ? "\"" : "", perr);
        return -1;
    }
    int allowed = o->n_allow > 0 ? plan_host_allowed(host, o->allow, o->n_allow, 0)
                                 : plan_host_allowed(host, &target_host, 1, 1);
    if (!allowed) {
        snprintf(err, errlen, "target host '%s'%s%s%s is not allowed (see --allow-target)", host,
                 *name ? " of request \"" : "", name, *name ? "\"" : "");
        return -1;
    }
    return 0;
}

/* Check the target and build the engine. Returns 0, or -1 with the reason
 * for refusing in err. */
static int node_check_and_prepare(struct node *n, const struct msg_test_config *c,
                                  const struct node_rows *rows, char *url, struct engine **eng,
                                  char *err, size_t errlen)
{
    const struct node_opts *o = n->o;
    const char *target_host = n->target_host;
    snprintf(url, NODE_URL_MAX, "%s", c->target_url ? c->target_url : o->target);
    if (node_host_ok(o, target_host, url, "", err, errlen) < 0)
        return -1;
    for (int i = 0; i < c->n_requests; i++)
        if (c->requests[i].url &&
            node_host_ok(o, target_host, c->requests[i].url, c->requests[i].name, err, errlen) < 0)
            return -1;
    /* libcurl before 8.0 breaks h2c prior knowledge on connection reuse
     * (curl issue 10634): every request after a connection's first fails. */
    if (c->http2 && strncasecmp(url, "http://", 7) == 0 &&
        curl_version_info(CURLVERSION_NOW)->version_num < 0x080000) {
        snprintf(err, errlen,
                 "HTTP/2 over cleartext needs libcurl >= 8.0 (this is %s); use https:// for "
                 "HTTP/2",
                 curl_version_info(CURLVERSION_NOW)->version);
        return -1;
    }
    char eerr[300];
    if (c->data.mode != DATA_NONE && rows->n < 1) {
        snprintf(err, errlen, "the test's data rows did not arrive");
        return -1;
    }
    if (node_prepare_engine(n, c, rows, url, eng, eerr, sizeof eerr) < 0) {
        snprintf(err, errlen, "cannot prepare: %s", eerr);
        return -1;
    }
    return 0;
}

/* ---- message handling ------------------------------------------------------- */

/* For a config that does not decode: its test_id, when it has a valid one
 * and the config (as far as it can be read) names this node. */
static int node_bad_config_id(const struct bus_record *rec, const char *node_id, char *id)
{
    if (rec->len > MSG_MAX_BYTES)
        return 0;
    cJSON *o = cJSON_ParseWithLength(rec->payload, rec->len);
    int ok = 0;
    const cJSON *t = o ? cJSON_GetObjectItemCaseSensitive(o, "test_id") : NULL;
    if (cJSON_IsString(t) && id_valid(t->valuestring)) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "drivers");
        ok = 1;
        if (cJSON_IsArray(d)) {
            ok = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, d)
            {
                if (cJSON_IsString(it) && strcmp(it->valuestring, node_id) == 0)
                    ok = 1;
            }
        }
        if (ok)
            snprintf(id, ID_MAX, "%s", t->valuestring);
    }
    cJSON_Delete(o);
    return ok;
}

static void node_start(struct node *n, const struct msg_trigger *tr);

/* Prepare the test of config c (n owns it from here on) and say READY. Its
 * data rows, if it has any, are in n->incoming. */
static void node_take_config(struct node *n, struct msg_test_config *cp)
{
    char err[512];
    struct msg_test_config c = *cp;
    memset(cp, 0, sizeof *cp);
    if (n->state == NODE_STATE_RUNNING) {
        char reason[MSG_TEXT_MAX];
        snprintf(reason, sizeof reason, "busy: running test %s", n->cfg.test_id);
        node_refuse(n, c.test_id, test_type_name(c.test_type), c.target_url, reason);
        msg_test_config_free(&c);
        return;
    }
    if (n->state == NODE_STATE_READY) {
        /* The orchestrator runs one test at a time: a new config means the
         * prepared one will never be triggered. */
        log_warn("test %s replaces test %s, which was never triggered", c.test_id, n->cfg.test_id);
        node_clear_test(n);
        n->state = NODE_STATE_IDLE;
    }
    struct node_rows rows = {0};
    if (c.data.mode != DATA_NONE) {
        /* This driver's share of the rows: its slice (split) or all. */
        int fn = 1, fk = 0;
        int64_t first = 0, want = c.data.n_rows;
        node_fleet_place(&c, n->o->node_id, &fn, &fk);
        if (c.data.mode == DATA_SPLIT)
            data_slice(c.data.n_rows, fn, fk, &first, &want);
        data_recv_free(&n->rows);
        if (c.data.cells) {
            /* The rows came with the config itself. */
            int64_t at = first * c.data.n_cols;
            rows = (struct node_rows){c.data.cells + at, c.data.lens + at, want};
        } else {
            if (data_recv_complete(&n->incoming, c.test_id)) {
                n->rows = n->incoming;
                memset(&n->incoming, 0, sizeof n->incoming);
            }
            if (n->rows.cells && (n->rows.n_cols != c.data.n_cols || n->rows.total != want)) {
                char reason[MSG_TEXT_MAX];
                snprintf(reason, sizeof reason,
                         "the data rows that came (%lld of %d column(s)) are not this driver's "
                         "share (%lld of %d)",
                         (long long)n->rows.total, n->rows.n_cols, (long long)want, c.data.n_cols);
                node_refuse(n, c.test_id, test_type_name(c.test_type), c.target_url, reason);
                data_recv_free(&n->rows);
                msg_test_config_free(&c);
                return;
            }
            rows =
                (struct node_rows){(const char *const *)n->rows.cells, n->rows.lens, n->rows.total};
        }
    }
    char url[NODE_URL_MAX];
    struct engine *eng = NULL;
    if (node_check_and_prepare(n, &c, &rows, url, &eng, err, sizeof err) < 0) {
        node_refuse(n, c.test_id, test_type_name(c.test_type), c.target_url ? c.target_url : url,
                    err);
        msg_test_config_free(&c);
        data_recv_free(&n->rows);
        if (n->state != NODE_STATE_IDLE)
            node_set_state(n, NODE_STATE_IDLE);
        return;
    }
    n->cfg = c; /* ownership of c's strings passes to n->cfg */
    snprintf(n->url, sizeof n->url, "%s", url);
    n->eng = eng;
    n->report_us = (c.report_interval_ms > 0 ? c.report_interval_ms : MSG_DEFAULT_REPORT_MS) * 1000;
    n->seq = 0;
    n->stop_reason = NULL;
    char len[96] = "";
    int w = 0;
    if (c.message_count_per_driver > 0)
        w = snprintf(len, sizeof len, "%lld requests", (long long)c.message_count_per_driver);
    if (c.duration_s > 0)
        w +=
            snprintf(len + w, sizeof len - (size_t)w, "%s%gs", w ? ", at most " : "", c.duration_s);
    if (c.n_stages > 0)
        snprintf(len + w, sizeof len - (size_t)w, "%s%d stage(s)", w ? ", " : "", c.n_stages);
    log_info("test %s: %s of %s to %s, %d %s engine thread(s); ready", c.test_id,
             test_type_name(c.test_type), len, n->url, engine_threads(eng), engine_name(eng));
    node_set_state(n, NODE_STATE_READY);
    if (n->pending_until_us > clock_mono_us() && strcmp(n->pending.test_id, c.test_id) == 0) {
        n->pending_until_us = 0;
        log_info("test %s: applying the trigger that arrived before its config", c.test_id);
        node_start(n, &n->pending);
    }
}

static void node_on_config(struct node *n, const struct bus_record *rec)
{
    char err[512];
    struct msg_test_config c;
    if (msg_test_config_decode(rec->payload, rec->len, &c, err, sizeof err) < 0) {
        char id[ID_MAX];
        log_warn("test_config skipped: %s", err);
        if (node_bad_config_id(rec, n->o->node_id, id) && n->state != NODE_STATE_RUNNING &&
            !node_ended(n, id)) {
            char reason[MSG_TEXT_MAX];
            snprintf(reason, sizeof reason, "bad config: %.200s", err);
            node_refuse(n, id, NULL, NULL, reason);
        }
        return;
    }
    if (!msg_test_config_includes(&c, n->o->node_id)) {
        log_debug("test_config %s does not name this node; ignored", c.test_id);
        msg_test_config_free(&c);
        return;
    }
    if (n->state != NODE_STATE_IDLE && strcmp(c.test_id, n->cfg.test_id) == 0) {
        log_info("test_config %s again; already %s", c.test_id, node_state_name(n->state));
        msg_test_config_free(&c);
        return;
    }
    if (node_ended(n, c.test_id)) {
        log_info("test_config %s again; this driver has ended that test", c.test_id);
        msg_test_config_free(&c);
        return;
    }
    if (n->has_waiting && strcmp(c.test_id, n->waiting.test_id) == 0) {
        log_info("test_config %s again; waiting for its data", c.test_id);
        msg_test_config_free(&c);
        return;
    }
    if (c.data.mode != DATA_NONE && !c.data.cells && !data_recv_complete(&n->incoming, c.test_id)) {
        if (n->has_waiting)
            msg_test_config_free(&n->waiting);
        n->waiting = c;
        n->has_waiting = 1;
        log_info("test %s: waiting for its data rows (%lld in all, %s)", c.test_id,
                 (long long)c.data.n_rows, data_mode_name(c.data.mode));
        return;
    }
    node_take_config(n, &c);
}

/* A chunk of a test's data rows. */
static void node_on_data(struct node *n, const struct bus_record *rec)
{
    char err[512];
    struct data_chunk ch;
    if (data_chunk_decode(rec->payload, rec->len, &ch, err, sizeof err) < 0) {
        log_warn("%s; skipped", err);
        return;
    }
    if ((ch.node_id[0] && strcmp(ch.node_id, n->o->node_id) != 0) || node_ended(n, ch.test_id) ||
        (n->state != NODE_STATE_IDLE && strcmp(ch.test_id, n->cfg.test_id) == 0)) {
        data_chunk_free(&ch);
        return; /* another driver's rows, or those of a test this one has */
    }
    int rc = data_recv_add(&n->incoming, &ch, err, sizeof err);
    if (rc < 0)
        log_warn("%s", err);
    if (rc != 1)
        return;
    log_info("test %s: %lld data row(s) arrived in %lld chunk(s)", n->incoming.test_id,
             (long long)n->incoming.total, (long long)n->incoming.chunks);
    if (n->has_waiting && strcmp(n->waiting.test_id, n->incoming.test_id) == 0) {
        n->has_waiting = 0;
        node_take_config(n, &n->waiting);
    }
}

static void node_start(struct node *n, const struct msg_trigger *tr)
{
    char err[512];
    int64_t now_wall = clock_wall_ms();
    if (tr->start_at_ms > now_wall + NODE_START_AHEAD_MAX_MS) {
        node_refuse(n, n->cfg.test_id, test_type_name(n->cfg.test_type), n->url,
                    "start_at is more than 10 minutes ahead of this driver's clock");
        node_clear_test(n);
        node_set_state(n, NODE_STATE_IDLE);
        return;
    }
    n->anchor_mono_us = clock_mono_us();
    n->anchor_wall_us = clock_wall_us();
    n->start_mono_us =
        plan_start_mono(tr->start_at_ms, n->anchor_wall_us / 1000, n->anchor_mono_us);
    n->start_wall_ms = node_epoch_ms(n, n->start_mono_us);
    if (engine_start(n->eng, n->start_mono_us, err, sizeof err) < 0) {
        node_refuse(n, n->cfg.test_id, test_type_name(n->cfg.test_type), n->url, err);
        node_clear_test(n);
        node_set_state(n, NODE_STATE_IDLE);
        return;
    }
    n->next_report_us = n->start_mono_us + n->report_us;
    log_info("test %s: starts in %lld ms", n->cfg.test_id,
             (long long)((n->start_mono_us - n->anchor_mono_us) / 1000));
    node_set_state(n, NODE_STATE_RUNNING);
}

/* keep_rate: a participant died, and the survivors share the fleet's rate
 * from tr->at_ms on. */
static void node_reshare(struct node *n, const struct msg_trigger *tr, int ours)
{
    int fn, fk;
    char err[256];
    if (!ours || n->state != NODE_STATE_RUNNING) {
        log_debug("RESHARE for test %s, which this driver is not running; ignored", tr->test_id);
        return;
    }
    if (!n->cfg.keep_rate) {
        log_warn("test %s: RESHARE for a test without keep_rate; ignored", tr->test_id);
        return;
    }
    if (!node_place(tr->drivers, tr->n_drivers, n->o->node_id, &fn, &fk)) {
        log_warn("test %s: RESHARE without this driver among the %d listed; ignored", tr->test_id,
                 tr->n_drivers);
        return;
    }
    int64_t now_mono = clock_mono_us();
    int64_t at = plan_start_mono(tr->at_ms, node_epoch_ms(n, now_mono), now_mono);
    if (engine_reshare(n->eng, at, fn, fk, err, sizeof err) < 0) {
        log_warn("test %s: RESHARE not applied: %s", tr->test_id, err);
        return;
    }
    log_info("test %s: keep_rate: now driver %d of %d sharing the rate", tr->test_id, fk + 1, fn);
}

static void node_on_trigger(struct node *n, const struct bus_record *rec)
{
    char err[512];
    struct msg_trigger tr;
    if (msg_trigger_decode(rec->payload, rec->len, &tr, err, sizeof err) < 0) {
        log_warn("trigger skipped: %s", err);
        return;
    }
    int ours = n->state != NODE_STATE_IDLE && strcmp(tr.test_id, n->cfg.test_id) == 0;
    if (tr.reshare) {
        node_reshare(n, &tr, ours);
        msg_trigger_free(&tr);
        return;
    }
    if (tr.abort) {
        if (!ours) {
            log_debug("ABORT for test %s, which this driver is not running; ignored", tr.test_id);
            if (strcmp(n->pending.test_id, tr.test_id) == 0)
                n->pending_until_us = 0;
            if (n->has_waiting && strcmp(n->waiting.test_id, tr.test_id) == 0) {
                log_info("test %s: ABORT while its data rows were on their way", tr.test_id);
                msg_test_config_free(&n->waiting);
                n->has_waiting = 0;
                node_remember(n, tr.test_id);
            }
        } else if (n->state == NODE_STATE_RUNNING) {
            log_info("test %s: ABORT", tr.test_id);
            n->stop_reason = "aborted";
            engine_abort(n->eng);
        } else {
            node_refuse(n, n->cfg.test_id, test_type_name(n->cfg.test_type), n->url,
                        "aborted before start");
            node_clear_test(n);
            node_set_state(n, NODE_STATE_IDLE);
        }
        return;
    }
    if (ours && n->state == NODE_STATE_READY) {
        node_start(n, &tr);
    } else if (ours) {
        log_info("trigger for test %s again; already running", tr.test_id);
    } else if (node_ended(n, tr.test_id)) {
        log_debug("trigger for test %s again; this driver has ended that test", tr.test_id);
    } else {
        /* Topics are not ordered with each other: the config may come next. */
        log_info("trigger for test %s, which is not configured here; kept for %lld s in case "
                 "its config follows",
                 tr.test_id, (long long)(NODE_PENDING_TRIGGER_US / 1000000));
        n->pending = tr;
        n->pending_until_us = clock_mono_us() + NODE_PENDING_TRIGGER_US;
    }
}

static void node_dispatch(struct node *n, const struct bus_record *rec)
{
    if (rec->timestamp_ms > 0 && rec->timestamp_ms < n->born_wall_ms) {
        log_debug("%s message from before this driver started; ignored", rec->topic);
        return;
    }
    if (strcmp(rec->topic, TOPIC_TEST_CONFIG) == 0)
        node_on_config(n, rec);
    else if (strcmp(rec->topic, TOPIC_TEST_DATA) == 0)
        node_on_data(n, rec);
    else if (strcmp(rec->topic, TOPIC_TRIGGER) == 0 || strcmp(rec->topic, TOPIC_TEST_TRIGGER) == 0)
        node_on_trigger(n, rec);
}

/* After the engine found it was not running for a while (the process was
 * frozen, say by SIGSTOP), its new sends are held: read the trigger topic up
 * to date first, so that an ABORT published meanwhile (the orchestrator
 * declared this driver dead and ended the test) stops the test before any
 * overdue request goes out. Then, or after NODE_CATCHUP_US, let it go on. */
static void node_check_stall(struct node *n, int64_t now)
{
    int64_t stalled = engine_stalled(n->eng);
    if (!stalled || n->stop_reason)
        return;
    if (n->catchup_until_us == 0) {
        log_warn("test %s: this driver did not run for %.1f s (frozen?); no new request until "
                 "the trigger topic is read up to date",
                 n->cfg.test_id, (double)stalled / 1e6);
        n->catchup_until_us = now + NODE_CATCHUP_US;
    }
    char err[512];
    int64_t lag = -1;
    int rc = bus_consumer_lag(n->cons, TOPIC_TRIGGER, 200, &lag, err, sizeof err);
    if (rc == 0 && lag == 0) {
        log_info("test %s: no ABORT for it; it goes on", n->cfg.test_id);
    } else if (clock_mono_us() >= n->catchup_until_us) {
        log_warn("test %s: the trigger topic could not be read up to date in %lld s (%s); the "
                 "test goes on",
                 n->cfg.test_id, (long long)(NODE_CATCHUP_US / 1000000),
                 rc < 0 ? err : "messages still pending");
    } else {
        return;
    }
    n->catchup_until_us = 0;
    engine_release(n->eng);
}

/* ---- watching Kafka ------------------------------------------------------------ */

/* Whether the broadcast consumer reads both topics up to date: it is not
 * when a partition's position is past its log end (the cluster was
 * replaced under it, until bus_consumer_maintain rewinds it), or when it
 * is stuck: messages wait unread at NODE_WATCH_STUCK + 1 checks in a row
 * while the consumer returns none at all (unread messages at one check are
 * only new: a busy fleet produces some every second).
 * Asking Kafka blocks, so this runs on a thread of its own; what it learns
 * of the brokers also lets the main loop's bus_consumer_maintain notice a
 * replaced cluster. */
static void *node_watch_main(void *arg)
{
    struct node *n = arg;
    int stuck = 0, was_lagging = 0, said = MSG_LISTENING_UNKNOWN;
    long long was_polled = -1;
    while (!atomic_load(&n->watch_stop)) {
        int64_t next = clock_mono_us() + NODE_WATCH_MS * 1000LL;
        int now_says = MSG_LISTENING_UNKNOWN;
        char err[512] = "";
        if (bus_consumer_reachable(n->cons, NODE_WATCH_ASK_MS)) {
            int ahead = 0, lagging = 0, known = 1;
            for (int i = 0; i < NODE_N_BROADCAST && known; i++) {
                int64_t lag = 0;
                if (bus_consumer_lag(n->cons, node_broadcast[i], NODE_WATCH_ASK_MS, &lag, err,
                                     sizeof err) < 0)
                    known = 0;
                else if (lag < 0)
                    ahead = 1;
                else if (lag > 0)
                    lagging = 1;
            }
            long long polled = atomic_load(&n->polled);
            stuck = known && lagging && was_lagging && polled == was_polled ? stuck + 1 : 0;
            was_lagging = known && lagging;
            was_polled = polled;
            if (known)
                now_says =
                    ahead || stuck >= NODE_WATCH_STUCK ? MSG_LISTENING_NO : MSG_LISTENING_YES;
            if (ahead)
                snprintf(err, sizeof err, "its position is past the log end");
            else if (known && lagging)
                snprintf(err, sizeof err, "messages wait unread and none is returned");
        }
        atomic_store(&n->listening, now_says);
        resolver_refresh(n->resolver);
        if (now_says != said && now_says != MSG_LISTENING_UNKNOWN) {
            if (now_says == MSG_LISTENING_NO)
                log_warn("not listening: this driver does not read test_config and trigger up "
                         "to date (%s)",
                         err);
            else if (said == MSG_LISTENING_NO)
                log_info("listening again: test_config and trigger are read up to date");
            said = now_says;
        }
        while (!atomic_load(&n->watch_stop) && clock_mono_us() < next)
            nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    return NULL;
}

static void node_watch_start(struct node *n)
{
    atomic_store(&n->watch_stop, 0);
    n->watching = pthread_create(&n->watch_thr, NULL, node_watch_main, n) == 0;
    if (!n->watching)
        log_warn("cannot start the Kafka watch thread; a replaced cluster goes unnoticed");
}

static void node_watch_stop(struct node *n)
{
    if (!n->watching)
        return;
    atomic_store(&n->watch_stop, 1);
    pthread_join(n->watch_thr, NULL);
    n->watching = 0;
}

/* ---- run ---------------------------------------------------------------------- */

static int node_stop_requested(const sigset_t *stop)
{
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(stop, NULL, &zero);
    if (sig > 0) {
        log_info("%s received, stopping", sig == SIGINT ? "SIGINT" : strsignal(sig));
        return 1;
    }
    return 0;
}

/* Sleep up to ms, waking for a stop signal. Returns 1 when one came. */
static int node_sleep(const sigset_t *stop, int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    int sig = sigtimedwait(stop, NULL, &ts);
    if (sig > 0) {
        log_info("%s received, stopping", sig == SIGINT ? "SIGINT" : strsignal(sig));
        return 1;
    }
    return 0;
}

void node_default_ip(const char *brokers, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "127.0.0.1");
    char first[512], host[256], err[128];
    int port = 0;
    snprintf(first, sizeof first, "%s", brokers ? brokers : "");
    char *comma = strchr(first, ',');
    if (comma)
        *comma = '\0';
    /* librdkafka accepts "PLAINTEXT://host:port" too. */
    char *hp = strstr(first, "://") ? strstr(first, "://") + 3 : first;
    if (opt_parse_hostport(hp, host, sizeof host, &port, err, sizeof err) < 0 || port == 0)
        return;
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return;
    /* A UDP connect sends nothing; it only picks the route and source. */
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char ip[INET6_ADDRSTRLEN];
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
            getnameinfo((struct sockaddr *)&ss, sl, ip, sizeof ip, NULL, 0, NI_NUMERICHOST) == 0)
            snprintf(buf, buflen, "%s", ip);
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
}

static int node_init(struct node *n, struct node_opts *o)
{
    memset(n, 0, sizeof *n);
    n->o = o;
    n->state = NODE_STATE_IDLE;
    n->born_wall_ms = clock_wall_ms();
    char err[512];
    if (plan_url_host(o->target, n->target_host, sizeof n->target_host, err, sizeof err) < 0) {
        log_error("--target: %s", err);
        return -1;
    }
    if (hist_create(&n->lat) || hist_create(&n->svc) || hist_create(&n->rqh) ||
        !(n->resolver = resolver_new())) {
        log_error("out of memory");
        return -1;
    }
    /* The default target's addresses, looked up before any test needs them. */
    resolver_want_url(n->resolver, o->target);
    if (o->db && dstore_open(o->db, &n->db, err, sizeof err) < 0) {
        log_error("--db %s: %s", o->db, err);
        return -1;
    }
    return 0;
}

static void node_fini(struct node *n)
{
    node_watch_stop(n);
    node_clear_test(n);
    if (n->has_waiting)
        msg_test_config_free(&n->waiting);
    data_recv_free(&n->incoming);
    bus_consumer_destroy(n->cons);
    bus_producer_destroy(n->prod);
    dstore_close(n->db);
    hist_destroy(n->lat);
    hist_destroy(n->svc);
    hist_destroy(n->rqh);
    resolver_free(n->resolver);
}

/* Stop the current test, if any, and send its final report. */
static void node_end_test(struct node *n, const char *why)
{
    if (n->state == NODE_STATE_RUNNING) {
        if (!n->stop_reason)
            n->stop_reason = why;
        engine_abort(n->eng);
        while (!engine_done(n->eng))
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        node_report(n, 1);
    } else if (n->state == NODE_STATE_READY) {
        node_refuse(n, n->cfg.test_id, test_type_name(n->cfg.test_type), n->url, why);
    }
    node_clear_test(n);
    node_set_state(n, NODE_STATE_IDLE);
}

int node_run(struct node_opts *o, const sigset_t *stop)
{
    struct node n;
    char err[512];
    int rc = 1;
    if (!o->node_ip[0])
        node_default_ip(o->bus->brokers, o->node_ip, sizeof o->node_ip);
    if (node_init(&n, o) < 0)
        goto out;
    log_info("node %s (%s), kafka %s, target %s, orchestrator %s, %d engine thread(s)", o->node_id,
             o->node_ip, o->bus->brokers, o->target, o->orchestrator ? o->orchestrator : "(none)",
             o->threads);
    if (bus_producer_create(o->bus, &n.prod, err, sizeof err) < 0) {
        log_error("%s", err);
        goto out;
    }
    /* Register only once the broadcast consumers are in place, so that no
     * config sent after registration can be missed. Kafka may not be up yet:
     * keep trying until it is, or until told to stop. */
    for (int attempt = 0;; attempt++) {
        if (bus_consumer_create_broadcast(o->bus, node_broadcast, NODE_N_BROADCAST,
                                          NODE_CONNECT_TIMEOUT_MS, &n.cons, err, sizeof err) == 0)
            break;
        /* On a real cluster the topics may not exist yet: create them. */
        char terr[512];
        if (topics_ensure(o->bus, NODE_CONNECT_TIMEOUT_MS, terr, sizeof terr) == 0 && attempt == 0)
            continue;
        if (attempt == 0 || attempt % 10 == 0)
            log_warn("%s; retrying", err);
        if (node_sleep(stop, 1000)) {
            rc = 0;
            goto out;
        }
    }
    /* Learn where register, heartbeat and metrics go before the first
     * message to each: a lookup asked of a broker that then stops answering
     * holds that topic's messages until the request times out. */
    static const char *const out_topics[] = {TOPIC_REGISTER, TOPIC_HEARTBEAT, TOPIC_METRICS};
    if (bus_producer_warm(n.prod, out_topics, (int)(sizeof out_topics / sizeof out_topics[0]),
                          NODE_CONNECT_TIMEOUT_MS, err, sizeof err) < 0)
        log_warn("%s; the first messages may wait for it", err);
    node_register(&n, 0);
    while (bus_producer_flush(n.prod, 1000) < 0) {
        if (node_stop_requested(stop)) {
            rc = 0;
            goto out;
        }
        log_warn("register not yet delivered to kafka at %s; waiting", o->bus->brokers);
    }
    if (bus_producer_failed(n.prod) > 0)
        log_error("register message could not be delivered; continuing");
    printf("ready node_id=%s\n", o->node_id);
    fflush(stdout);
    node_watch_start(&n);
    node_heartbeat(&n);

    struct bus_record rec = {0};
    for (;;) {
        int64_t now = clock_mono_us();
        if (n.state == NODE_STATE_RUNNING) {
            if (engine_done(n.eng)) {
                node_report(&n, 1);
                node_clear_test(&n);
                node_set_state(&n, NODE_STATE_IDLE);
            } else {
                node_check_stall(&n, now);
            }
            if (n.state == NODE_STATE_RUNNING && now >= n.next_report_us) {
                node_report(&n, 0);
                n.next_report_us += n.report_us;
                if (n.next_report_us <= now)
                    n.next_report_us = now + n.report_us;
            }
        }
        if (now >= n.next_hb_us)
            node_heartbeat(&n);
        int64_t wait_us = n.next_hb_us - now;
        if (n.state == NODE_STATE_RUNNING) {
            /* Notice the end of the run within 10 ms. */
            if (wait_us > 10000)
                wait_us = 10000;
            if (n.next_report_us - now < wait_us)
                wait_us = n.next_report_us - now;
        } else if (wait_us > 100000) {
            wait_us = 100000;
        }
        int wait_ms = wait_us <= 0 ? 0 : (int)((wait_us + 999) / 1000);
        /* A restarted, empty load-broker is a new cluster: the positions
         * held in the old one mean nothing there, so read it from the
         * beginning (what was already acted on is known by its test id). */
        if (bus_consumer_maintain(n.cons, err, sizeof err) < 0)
            log_error("%s", err);
        int got = bus_consumer_poll(n.cons, wait_ms, &rec, err, sizeof err);
        if (got == 1) {
            atomic_fetch_add(&n.polled, 1);
            node_dispatch(&n, &rec);
        } else if (got < 0)
            log_debug("%s", err);
        bus_record_release(&rec);
        bus_producer_poll(n.prod, 0);
        if (node_stop_requested(stop))
            break;
    }
    node_end_test(&n, "driver shutting down");
    node_register(&n, 1);
    if (bus_producer_flush(n.prod, NODE_FLUSH_MS) < 0) {
        /* Kafka is not reachable: give up rather than wait on, so that a
         * stop is bounded (each lost message is logged and counted). */
        log_error("%d message(s) still undelivered after %d ms; giving up on them",
                  bus_producer_outq(n.prod), NODE_FLUSH_MS);
        bus_producer_purge(n.prod);
    }
    rc = bus_producer_failed(n.prod) > 0 ? 1 : 0;
    if (rc)
        log_error("%lld message(s) could not be delivered to kafka",
                  (long long)bus_producer_failed(n.prod));
out:
    node_fini(&n);
    return rc;
}

int node_bench(struct node_opts *o, const char *config_json, const sigset_t *stop)
{
    struct node n;
    char err[512];
    o->db = NULL;
    if (node_init(&n, o) < 0) {
        node_fini(&n);
        return 1;
    }
    cJSON *j = cJSON_Parse(config_json);
    struct msg_test_config c;
    if (!j || msg_test_config_from_json(j, 0, &c, err, sizeof err) < 0) {
        log_error("--bench: %s", j ? err : "not valid JSON");
        cJSON_Delete(j);
        node_fini(&n);
        return 2;
    }
    cJSON_Delete(j);
    if (!c.test_id[0])
        id_new("bench-", c.test_id, sizeof c.test_id);
    int rc = 1;
    struct node_rows rows = {c.data.cells, c.data.lens, c.data.n_rows};
    if (c.data.mode != DATA_NONE && !c.data.cells) {
        log_error("--bench: \"data\" needs its rows (\"csv\")");
        msg_test_config_free(&c);
        node_fini(&n);
        return 2;
    }
    if (node_check_and_prepare(&n, &c, &rows, n.url, &n.eng, err, sizeof err) < 0) {
        log_error("test refused: %s", err);
        msg_test_config_free(&c);
        node_fini(&n);
        return 1;
    }
    n.cfg = c;
    n.state = NODE_STATE_READY;
    struct msg_trigger tr = {0};
    snprintf(tr.test_id, sizeof tr.test_id, "%s", c.test_id);
    n.anchor_mono_us = clock_mono_us();
    n.anchor_wall_us = clock_wall_us();
    n.start_mono_us = n.anchor_mono_us;
    n.start_wall_ms = n.anchor_wall_us / 1000;
    if (engine_start(n.eng, n.start_mono_us, err, sizeof err) < 0) {
        log_error("%s", err);
        node_fini(&n);
        return 1;
    }
    /* Build (and drop) the periodic reports as a Kafka run would, so that
     * their cost is part of what a benchmark measures. */
    n.report_us = (c.report_interval_ms > 0 ? c.report_interval_ms : MSG_DEFAULT_REPORT_MS) * 1000;
    int64_t next_report = n.start_mono_us + n.report_us;
    while (!engine_done(n.eng)) {
        if (engine_stalled(n.eng))
            engine_release(n.eng); /* no Kafka here: nothing to wait for */
        if (node_sleep(stop, 10)) {
            n.stop_reason = "aborted";
            engine_abort(n.eng);
        }
        if (clock_mono_us() >= next_report) {
            struct engine_stats ps;
            engine_snapshot(n.eng, &ps, n.lat, n.svc);
            struct report_in pin = {.node_id = o->node_id,
                                    .test_id = c.test_id,
                                    .seq = n.seq++,
                                    .st = &ps,
                                    .lat = n.lat,
                                    .svc = n.svc,
                                    .eng = n.eng,
                                    .scratch = n.rqh};
            struct msg_metrics pm;
            if (report_build(&pin, &pm) == 0) {
                free(msg_metrics_encode(&pm));
                msg_metrics_free(&pm);
            }
            next_report += n.report_us;
        }
    }
    struct engine_stats st;
    engine_snapshot(n.eng, &st, n.lat, n.svc);
    int64_t end = st.last_done_us ? st.last_done_us : clock_mono_us();
    struct report_in in = {.node_id = o->node_id,
                           .test_id = c.test_id,
                           .seq = 0,
                           .final = 1,
                           .st = &st,
                           .lat = n.lat,
                           .svc = n.svc,
                           .elapsed_ms = (end - n.start_mono_us) / 1000,
                           .first_send_ms =
                               st.first_send_us ? node_epoch_ms(&n, st.first_send_us) : 0,
                           .failure = n.stop_reason,
                           .engine = engine_name(n.eng),
                           .eng = n.eng,
                           .scratch = n.rqh};
    struct msg_metrics m;
    if (report_build(&in, &m) == 0) {
        char *json = msg_metrics_encode(&m);
        if (json) {
            printf("%s\n", json);
            fflush(stdout);
            rc = 0;
        }
        free(json);
        msg_metrics_free(&m);
    }
    double secs = (double)(end - n.start_mono_us) / 1e6;
    if (st.last_error)
        log_info("bench: latest transfer error: %s", curl_easy_strerror((CURLcode)st.last_error));
    log_info("bench: %lld requests in %.3f s = %.0f requests/s, %lld errors, %d %s thread(s)",
             (long long)st.completed, secs, secs > 0 ? (double)st.completed / secs : 0.0,
             (long long)(st.completed - st.status[200]), engine_threads(n.eng), engine_name(n.eng));
    node_fini(&n);
    return rc;
}
