/* plan: the pure logic of a test run, kept apart from I/O so it can be unit
 * tested: how a test is split between engine threads, when each request is
 * due, how a finished request is classified, and which targets are allowed.
 *
 * None of these functions allocate (except plan_url_host, through libcurl's
 * URL parser, freed before it returns), print or keep state. */
#ifndef DLT_DRIVER_PLAN_H
#define DLT_DRIVER_PLAN_H

#include <stddef.h>
#include <stdint.h>

/* Late means sent more than this long after the request was due. */
#define PLAN_LATE_US 1000

/* How a finished request is counted. PLAN_OK is a response with a status
 * below 400; the others are the error kinds of the metrics report. */
enum plan_kind {
    PLAN_OK = 0,
    PLAN_ERR_CONNECT,
    PLAN_ERR_TIMEOUT,
    PLAN_ERR_4XX,
    PLAN_ERR_5XX,
    PLAN_ERR_OTHER,
    PLAN_KINDS
};

/* Name of an error kind as in "error_kinds" ("connect", ...); "ok" for
 * PLAN_OK. Can't fail. */
const char *plan_kind_name(enum plan_kind k);

/* Classify a finished transfer from libcurl's result code (a CURLcode) and
 * the HTTP status (0 when none was received). Can't fail. */
enum plan_kind plan_classify(int curl_code, long status);

/* Part k (0-based) of total split into parts as evenly as possible: the
 * first total % parts parts get one more. 0 when k is out of range or parts
 * < 1. Can't fail. */
int64_t plan_share(int64_t total, int parts, int k);

/* Engine threads worth starting: at most threads, and no more than the
 * requests to send or the requests allowed in flight (a thread with nothing
 * to do or no slot is pointless). At least 1. Can't fail. */
int plan_threads(int threads, int64_t count, int64_t inflight);

/* Gap between due times in µs for a config: 1e6 / target_throughput when a
 * throughput is set, else test_message_delay seconds for a TSUNAMI, else 0
 * (unpaced: an AVALANCHE sends as fast as its slots free up). */
double plan_gap_us(int is_tsunami, double delay_s, double throughput);

/* Global index of the j-th request (0-based) of thread k out of n: the
 * threads interleave (thread k takes i = k, k + n, k + 2n, ...) so the
 * combined schedule keeps its gaps. Can't fail. */
int64_t plan_index(int k, int n, int64_t j);

/* Due time of request i (global index) for a run starting at start_us.
 * Can't fail. */
int64_t plan_due_us(int64_t start_us, double gap_us, int64_t i);

/* Monotonic time of a wall-clock instant: when start_at_ms is in the past
 * or 0, now_mono_us. Can't fail. */
int64_t plan_start_mono(int64_t start_at_ms, int64_t now_wall_ms, int64_t now_mono_us);

/* Check that url is an http:// or https:// URL with a host and write the
 * host (lower case, IPv6 without brackets) into host. Returns 0, or -1 with
 * the reason in err (host then holds ""). */
int plan_url_host(const char *url, char *host, size_t hostlen, char *err, size_t errlen);

/* 1 when host is a loopback address or name: 127.0.0.0/8, ::1, localhost. */
int plan_host_loopback(const char *host);

/* 1 when host may receive load: it equals (case-insensitive) one of the n
 * allowed hosts, or an allowed entry is "*", or loopback_ok and host is a
 * loopback host. An allowed entry "loopback" stands for every loopback
 * host. */
int plan_host_allowed(const char *host, const char *const *allowed, int n, int loopback_ok);

#endif
