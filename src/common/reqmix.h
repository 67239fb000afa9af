/* reqmix: a test's request mix ("requests" in test_config) and the
 * per-request figures of a metrics report ("by_request").
 *
 *     "requests": [{"name": "home", "method": "GET", "url": "http://.../?u={{seq}}",
 *                   "headers": {"X-Id": "{{uuid}}"}, "body": "...", "weight": 3,
 *                   "checks": {"status": [200], "body_contains": "OK",
 *                              "json": {"path": "user.id", "equals": 42}}}, ...]
 *
 * Each send picks a request by weight. A request's url, header values and
 * body are templates (tmpl.h); the test's own target_url is the default
 * url and its headers go with every request. Checks default to a status of
 * 200..399. */
#ifndef DLT_REQMIX_H
#define DLT_REQMIX_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_REQUESTS_MAX 100 /* request names in a test */
#define MSG_REQ_NAME_MAX 64  /* 1..63 of A-Z a-z 0-9 _ . - */
#define MSG_REQ_WEIGHT_MAX 1000000
#define MSG_CHECK_STATUS_MAX 32
#define MSG_CHECK_TEXT_MAX 4096 /* body_contains, a json path, a json value */

struct msg_header;

struct msg_checks {
    int status[MSG_CHECK_STATUS_MAX]; /* n_status of them; none: 200..399 */
    int n_status;
    char *body_contains; /* NULL: none */
    char *json_path;     /* NULL: none; dot-separated keys and array indexes */
    char *json_equals;   /* the expected value, as compact JSON text */
};

struct msg_request {
    char name[MSG_REQ_NAME_MAX];
    char method[16];            /* "": GET, or POST with a body */
    char *url;                  /* NULL: the test's target_url, else the driver's --target */
    struct msg_header *headers; /* n_headers, beside the test's own */
    int n_headers;
    char *body; /* NULL: none */
    size_t body_len;
    int64_t weight; /* 1..MSG_REQ_WEIGHT_MAX */
    struct msg_checks checks;
};

/* The figures of one request name in a metrics report. Cumulative. */
struct msg_req_stats {
    char name[MSG_REQ_NAME_MAX];
    int64_t sent, responses, errors;
    int64_t checks_passed, checks_failed;
    int64_t failed_status, failed_body, failed_json; /* checks_failed, by check */
    char *histogram; /* hist_encode text of its latency; NULL absent */
};

/* 1 when s is a valid request name. */
int reqmix_name_ok(const char *s);

/* Decode the array a into *out (n_out entries, malloc'd). Templates are
 * checked against the data's columns (n_col names). Returns 0, or -1 with
 * one reason naming the request and the field in err (*out is then NULL). */
int reqmix_decode(const cJSON *a, const char *const *columns, int n_col, struct msg_request **out,
                  int *n_out, char *err, size_t errlen);
/* The array of n requests, or NULL when out of memory. */
cJSON *reqmix_to_json(const struct msg_request *r, int n);
/* Deep copy; returns 0, or -1 when out of memory (*dst then NULL). */
int reqmix_copy(struct msg_request **dst, const struct msg_request *src, int n);
void reqmix_free(struct msg_request *r, int n);

/* The object of "by_request" into *out; -1 with err when malformed. */
int reqmix_stats_decode(const cJSON *o, struct msg_req_stats **out, int *n_out, char *err,
                        size_t errlen);
cJSON *reqmix_stats_to_json(const struct msg_req_stats *s, int n);
void reqmix_stats_free(struct msg_req_stats *s, int n);

#endif
