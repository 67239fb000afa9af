/* verdict: a test's thresholds (threshold.h), abort_on_fail, and the
 * latest judgement of them on the fleet-wide aggregate.
 *
 * The orchestrator judges the thresholds each time an aggregate point is
 * made and once more at the end of the test; the verdict is the latest
 * judgement. Pure: no store, no bus; the caller serializes. */
#ifndef ORCH_VERDICT_H
#define ORCH_VERDICT_H

#include "aggregate.h"
#include "threshold.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define VERDICT_THRESHOLDS_MAX 32 /* thresholds a test may have */

struct verdict_item {
    struct threshold t;
    int known;    /* the figure was known at the latest judgement */
    int holds;    /* it held then */
    double value; /* the figure then (threshold_actual); NAN unknown */
};

/* A plain value. n == 0: the test has no thresholds. */
struct verdict {
    struct verdict_item it[VERDICT_THRESHOLDS_MAX];
    int n;
    int abort_on_fail;
    int judged; /* judged at least once */
    int final;  /* the judgement at the end of the test */
};

/* Read "thresholds" (an array of strings, at most VERDICT_THRESHOLDS_MAX)
 * and "abort_on_fail" (a bool) from the test request o; both may be absent
 * or null. A threshold on a request name must name one of the test's n_reqs
 * requests (n_reqs -1: not checked, for a stored definition). Returns 0, or
 * -1 with one reason for a 400 in err (naming the threshold). */
int verdict_from_request(const cJSON *o, const struct msg_request *reqs, int n_reqs,
                         struct verdict *v, char *err, size_t errlen);

/* The figures of one request of a mix that thresholds compare. */
void verdict_req_figures(const struct agg_req_stats *r, struct thr_figures *f);

/* The figures of a <stats> object that thresholds compare. Latencies are
 * unknown while no response is in. Can't fail. */
void verdict_figures(const struct agg_stats *st, struct thr_figures *out);

/* Judge every threshold on whole (lookup: the figures by request name, for
 * NAME: thresholds; NULL while requests have no names). Returns the index
 * of the first threshold whose breach is to stop the test (abort_on_fail
 * set, the figure known and not holding, and a figure that a breach is
 * final for: not rps, sent or received, which the rest of the run may
 * still change either way), or -1. Can't fail. */
int verdict_judge(struct verdict *v, const struct thr_figures *whole, threshold_lookup_fn lookup,
                  void *ctx);

/* 1 when the test has thresholds, was judged, and every one held. */
int verdict_passed(const struct verdict *v);

/* {"passed", "final", "thresholds": [{"expr", "holds", "value"}]}, or
 * null for a test without thresholds. The caller owns it; NULL when out of
 * memory. */
cJSON *verdict_to_json(const struct verdict *v);

/* The definition as stored: {"thresholds": [...], "abort_on_fail"}. */
cJSON *verdict_def_to_json(const struct verdict *v);

/* Load a stored definition (def, as verdict_def_to_json wrote it) and, when
 * given, the stored judgement (judged, as verdict_to_json wrote it; NULL or
 * "null": not judged). Returns 0, or -1 with err. */
int verdict_load(const char *def, const char *judged, struct verdict *v, char *err, size_t errlen);

#endif
