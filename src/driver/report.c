#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int report_build(const struct report_in *in, struct msg_metrics *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->node_id, sizeof out->node_id, "%s", in->node_id);
    snprintf(out->test_id, sizeof out->test_id, "%s", in->test_id);
    if (id_new("r-", out->report_id, sizeof out->report_id) < 0)
        return -1;
    msg_latency_from_hist(in->lat, &out->lat);
    out->has_ext = 1;
    out->seq = in->seq;
    out->final = in->final;
    const struct engine_stats *st = in->st;
    if (st) {
        out->requests_sent = st->sent;
        out->responses_received = st->responses;
        out->err_connect = st->kinds[PLAN_ERR_CONNECT];
        out->err_timeout = st->kinds[PLAN_ERR_TIMEOUT];
        out->err_4xx = st->kinds[PLAN_ERR_4XX];
        out->err_5xx = st->kinds[PLAN_ERR_5XX];
        out->err_other = st->kinds[PLAN_ERR_OTHER];
        out->errors =
            out->err_connect + out->err_timeout + out->err_4xx + out->err_5xx + out->err_other;
        for (int code = 100; code < ENGINE_STATUS_MAX && out->n_status < MSG_STATUS_MAX; code++) {
            if (st->status[code] > 0) {
                out->status[out->n_status].code = code;
                out->status[out->n_status].count = st->status[code];
                out->n_status++;
            }
        }
        out->late = st->late;
        out->has_checks = 1;
        out->checks_passed = st->checks_passed;
        out->checks_failed = st->checks_failed;
    }
    int nr = in->eng && in->scratch ? engine_requests(in->eng) : 0;
    if (nr > 0) {
        out->by_request = calloc((size_t)nr, sizeof *out->by_request);
        if (!out->by_request)
            goto oom;
        for (int i = 0; i < nr; i++) {
            struct engine_req_stats rs;
            struct msg_req_stats *o = &out->by_request[out->n_by_request++];
            engine_snapshot_req(in->eng, i, &rs, in->scratch);
            snprintf(o->name, sizeof o->name, "%s", engine_req_name(in->eng, i));
            o->sent = rs.sent;
            o->responses = rs.responses;
            o->errors = rs.errors;
            o->checks_passed = rs.checks_passed;
            o->checks_failed = rs.checks_failed;
            o->failed_status = rs.failed_status;
            o->failed_body = rs.failed_body;
            o->failed_json = rs.failed_json;
            if (hist_encode(in->scratch, &o->histogram) < 0)
                goto oom;
        }
    }
    out->elapsed_ms = in->elapsed_ms > 0 ? in->elapsed_ms : 0;
    out->first_send_ms = in->first_send_ms;
    if (in->engine)
        snprintf(out->engine, sizeof out->engine, "%s", in->engine);
    if (in->failure)
        snprintf(out->failure, sizeof out->failure, "%s", in->failure);
    if (in->lat && hist_encode(in->lat, &out->histogram) < 0)
        goto oom;
    if (in->svc) {
        out->has_service = 1;
        msg_latency_from_hist(in->svc, &out->service);
        if (hist_encode(in->svc, &out->service_histogram) < 0)
            goto oom;
    }
    return 0;
oom:
    msg_metrics_free(out);
    memset(out, 0, sizeof *out);
    return -1;
}
