/* aggregate: the latest cumulative state of each participant of a test,
 * and the cluster-wide statistics merged from them.
 *
 * Percentiles of the aggregate come from the merge of the participants'
 * histograms, never from averaged percentiles. A participant that sends no
 * histogram (an original-format driver) is represented by a histogram
 * synthesised from the figures it did send, min and max stay exact, the
 * mean is weighted by each driver's count, and the result is flagged
 * approximate. Not thread-safe: the caller serializes. */
#ifndef ORCH_AGGREGATE_H
#define ORCH_AGGREGATE_H

#include "hist.h"
#include "msg.h"
#include "reqmix.h"
#include "series.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define AGG_STATUS_CODES 600 /* status counts are indexed by code, 100..599 */

/* Everything in the REST API's <stats> object. Latencies in ms. */
struct agg_stats {
    int64_t requests_sent, responses_received, errors;
    int64_t err_connect, err_timeout, err_4xx, err_5xx, err_other;
    int64_t status[AGG_STATUS_CODES];
    int64_t late, elapsed_ms;
    double rps;
    struct msg_latency lat;
    int has_service;
    struct msg_latency service;
    int64_t updated_ms; /* epoch ms of the newest figure; 0 none */
    /* Whether the counts beyond sent and received (errors, their kinds,
     * status codes, late, elapsed_ms, rps) are known: a report of the
     * original format carries none of them. lat.has_ext says the same of
     * mode, p90 ... p999. Unknown figures are null in JSON. */
    int has_counts;
    /* checks_passed and checks_failed: the sum over the participants that
     * sent them; has_checks 0 when none did (they are then left out). */
    int has_checks;
    int64_t checks_passed, checks_failed;
};

/* One request name's figures of one participant: cumulative, from its
 * latest report that named it. */
struct agg_req {
    int seen; /* some report named it */
    int64_t sent, responses, errors;
    int64_t checks_passed, checks_failed;
    int64_t failed_status, failed_body, failed_json;
    char *histogram;        /* hist_encode text of its latency (it decodes); NULL none */
    struct msg_latency lat; /* computed from histogram when it was kept */
};

/* One request name's figures merged over participants. Latencies in ms. */
struct agg_req_stats {
    int64_t sent, responses, errors;
    int64_t checks_passed, checks_failed;
    int64_t failed_status, failed_body, failed_json;
    double rps;
    struct msg_latency lat;
};

/* One participant. Plain value type except for the two histograms, which
 * agg_driver_init leaves NULL and agg_driver_close frees. */
struct agg_driver {
    char node_id[ID_MAX];
    int64_t seq;      /* highest seq applied; -1 before the first report */
    int reports;      /* reports applied */
    int final;        /* its final report is in */
    int has_ext;      /* it sends the extended format */
    int hist_missing; /* it ran but its latest report had no usable histogram */
    char failure[MSG_TEXT_MAX];
    struct msg_latency lat, service;
    int has_service;
    int64_t requests_sent, responses_received, errors;
    int64_t err_connect, err_timeout, err_4xx, err_5xx, err_other;
    struct msg_status_count status[MSG_STATUS_MAX];
    int n_status;
    int64_t elapsed_ms, late, first_send_ms;
    char engine[16];          /* as the driver reported it; "" unknown */
    int64_t hb_requests_sent; /* from its heartbeats for this test */
    int64_t updated_ms;       /* when a report or heartbeat last changed it */
    struct hist *hist;        /* latest cumulative latency histogram; NULL none */
    struct hist *service_hist;
    struct series_snap snap; /* the snapshot of its latest series point */
    int has_checks;          /* its latest report carried checks_passed/failed */
    int64_t checks_passed, checks_failed;
    /* By request name, in the order of the test's requests; NULL until a
     * report names one. agg_driver_close frees it. */
    struct agg_req *req;
    int n_req;
};

/* Scratch histograms the functions below need; one set per caller. */
struct agg_scratch {
    struct hist *a, *b, *c, *d;
};

/* Returns 0, or -ENOMEM (then nothing is allocated). */
int agg_scratch_init(struct agg_scratch *s);
/* Accepts a zeroed struct. */
void agg_scratch_close(struct agg_scratch *s);

/* Can't fail. */
void agg_driver_init(struct agg_driver *d, const char *node_id);
/* Free the histograms. Accepts a zeroed struct. */
void agg_driver_close(struct agg_driver *d);

/* Whether report m can be true of d: within the test's count
 * (expected_count, 0 for no bound) and d's sequence (max_seq: the highest
 * seq the test's elapsed time allows), counts that never go back, and
 * latency figures that agree with each other. Returns 0 when plausible, or
 * -1 with why filled. */
int agg_report_check(const struct agg_driver *d, const struct msg_metrics *m,
                     int64_t expected_count, int64_t max_seq, char *why, size_t whylen);

/* Apply one metrics report to d, which must be m's node. Afterwards s->c
 * holds the report's latency window (the samples since d's previous report;
 * empty when the report had no usable histogram).
 * expected_count is the test's message_count_per_driver: an original-format
 * report (no "seq") carries no counts, so that many requests and responses
 * are assumed. start_at_ms (0: unknown) and now_ms place the point in time.
 * Returns 1 when applied (*point is then the driver's new series point), 0
 * when ignored because d already has this seq or a newer one (or its final
 * report), or -ENOMEM. A histogram that fails to decode is left out (d is
 * then approximate) and the reason is written to warn; otherwise warn is
 * set to "". */
int agg_driver_apply(struct agg_driver *d, const struct msg_metrics *m, int64_t expected_count,
                     int64_t start_at_ms, int64_t now_ms, struct agg_scratch *s,
                     struct series_point *point, char *warn, size_t warnlen);

/* Keep m's "by_request" figures in d, for the names among the test's n
 * requests reqs; d->req follows their order. The reports are cumulative: a
 * name's figures replace those of the previous report, and a name a report
 * leaves out keeps its figures. A name not among reqs is left out and
 * counted in *strays, the first of them copied to stray. A name whose
 * histogram does not decode keeps its counts without latencies, and warn
 * says why (else warn is ""). Call after agg_driver_apply applied m;
 * scratch is decoded into. Returns 0, or -ENOMEM (d is then unchanged). */
int agg_driver_apply_req(struct agg_driver *d, const struct msg_metrics *m,
                         const struct msg_request *reqs, int n, struct hist *scratch, int *strays,
                         char *stray, size_t straylen, char *warn, size_t warnlen);

/* Request i's figures merged over n participants: counts summed, latencies
 * from the merge of their histograms (merged and tmp are overwritten; one
 * participant's are those computed when its report was applied, with
 * nothing to decode), rps over elapsed_ms. Can't fail. */
void agg_merge_req(struct agg_driver *const *ds, int n, int i, int64_t elapsed_ms,
                   struct hist *merged, struct hist *tmp, struct agg_req_stats *out);

/* The "by_request" object: {name: <request stats>} for each of the test's
 * n_reqs requests, merged over the n participants. NULL when out of memory. */
cJSON *agg_by_request_json(struct agg_driver *const *ds, int n, const struct msg_request *reqs,
                           int n_reqs, int64_t elapsed_ms, struct hist *merged, struct hist *tmp);

/* Note a heartbeat from d's node for this test. Can't fail. */
void agg_driver_heartbeat(struct agg_driver *d, int64_t requests_sent, int64_t now_ms);

/* d's own figures as <stats>. Can't fail. */
void agg_driver_stats(const struct agg_driver *d, struct agg_stats *out);

/* 1 when d ran and its latencies are known only as summary figures. */
int agg_driver_approximate(const struct agg_driver *d);

/* Merge n participants into out. Sets *approximate to 1 when some
 * participant's latencies had to be synthesised. Can't fail. */
void agg_merge(struct agg_driver *const *ds, int n, struct agg_scratch *s, struct agg_stats *out,
               int *approximate);

/* The merged cumulative latency histogram of n participants, synthesised
 * parts included, into out (replacing its contents). Can't fail. */
void agg_merge_hist(struct agg_driver *const *ds, int n, struct hist *synth, struct hist *out);

/* Replace out with count samples spread over the quantiles known from l
 * (min, median, p90, p95, p99, p999, max; zero extensions are skipped),
 * linearly between them. Can't fail. */
void agg_synth_hist(const struct msg_latency *l, int64_t count, struct hist *out);

/* The <stats> object. The caller owns the tree; NULL when out of memory. */
cJSON *agg_stats_to_json(const struct agg_stats *st);

/* Add item to object o under k, taking ownership: on failure (or a NULL
 * item, from a failed cJSON_Create*) the item is freed and 0 returned;
 * 1 on success. */
int agg_json_add(cJSON *o, const char *k, cJSON *item);

#endif
