/* msg: the five Kafka messages (register, test_config, trigger, metrics,
 * heartbeat), encoded and decoded as JSON.
 *
 * The original system's field names and values are kept exactly; extensions
 * are extra fields an original peer ignores. Decoders are lenient where the
 * original was loose (a number may arrive as a numeric string, "node_ip" is
 * taken for "node_IP", an id may be a JSON integer) and strict about the rest:
 * every decoder returns 0, or -1 with one reason in err, and the output struct
 * then holds nothing that needs freeing. Sizes are capped (MSG_*_MAX).
 *
 * Encoders return a malloc'd NUL-terminated JSON string the caller frees with
 * free(), or NULL when out of memory. Numbers are always JSON numbers. */
#ifndef DLT_MSG_H
#define DLT_MSG_H

#include "hist.h"
#include "ids.h"
#include "reqmix.h"
#include "testdata.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_MAX_BYTES (1024 * 1024) /* whole message, any topic */
#define MSG_URL_MAX 2048
#define MSG_BODY_MAX (256 * 1024)
#define MSG_HEADERS_MAX 64
#define MSG_HEADER_NAME_MAX 128
#define MSG_HEADER_VALUE_MAX 8192
#define MSG_DRIVERS_MAX 1024
#define MSG_STATUS_MAX 64
#define MSG_TEXT_MAX 256 /* hostname, failure reason */

#define MSG_COUNT_MAX 1000000000LL /* message_count_per_driver */
#define MSG_DELAY_MAX_S 3600.0     /* test_message_delay */
#define MSG_CONCURRENCY_MAX 100000
#define MSG_THROUGHPUT_MAX 10000000.0
#define MSG_TIMEOUT_MAX_MS 3600000
#define MSG_DURATION_MAX_S 604800.0 /* a week: "duration", and the stages together */
#define MSG_STAGES_MAX 100
#define MSG_STAGE_TARGET_MAX 10000000.0 /* fleet-wide requests/s or requests in flight */
#define MSG_DEFAULT_CONCURRENCY 64
#define MSG_DEFAULT_TIMEOUT_MS 10000
#define MSG_DEFAULT_REPORT_MS 1000

/* The five topics, by their logical names. */
#define TOPIC_REGISTER "register"
#define TOPIC_TEST_CONFIG "test_config"
#define TOPIC_TRIGGER "trigger"
/* The original programs' code sends and reads the trigger here (their
 * README says "trigger"): every trigger goes to both, and drivers read both. */
#define TOPIC_TEST_TRIGGER "test_trigger"
/* A test's data rows, in chunks (testdata.h); read by drivers only. */
#define TOPIC_TEST_DATA "test_data"
#define TOPIC_METRICS "metrics"
#define TOPIC_HEARTBEAT "heartbeat"

enum test_type { TEST_AVALANCHE = 1, TEST_TSUNAMI = 2 };
enum node_state { NODE_STATE_NONE = 0, NODE_STATE_IDLE, NODE_STATE_READY, NODE_STATE_RUNNING };

/* "AVALANCHE"/"TSUNAMI"; NULL for anything else. */
const char *test_type_name(enum test_type t);
/* Case-insensitive; returns 0 and sets *out, or -1. */
int test_type_parse(const char *s, enum test_type *out);
const char *node_state_name(enum node_state s);

/* 1 when the JSON text buf (len bytes) holds the escape \u0000 in a string
 * (cJSON would cut the string short there), 0 otherwise. An escaped
 * backslash followed by "u0000" is not one. Every decoder refuses such a
 * message. */
int msg_json_nul_escape(const char *buf, size_t len);

/* ---- register ---- */
struct msg_register {
    char node_id[ID_MAX];
    char node_ip[64];
    int unregister; /* message_type DRIVER_NODE_UNREGISTER */
    /* Extensions: empty / 0 when absent. */
    char hostname[MSG_TEXT_MAX];
    int64_t pid;
    char version[32];
    double timestamp; /* epoch seconds */
};

/* ---- test_config ---- */
struct msg_header {
    char *name;
    char *value;
};

/* One stage of a ramp: the level goes linearly from the previous stage's
 * target (or start_target) to target over duration_s. */
struct msg_stage {
    double duration_s;
    double target; /* fleet-wide: requests/s (TSUNAMI) or requests in flight (AVALANCHE) */
};

struct msg_test_config {
    char test_id[ID_MAX];
    enum test_type test_type;
    double test_message_delay;        /* seconds; TSUNAMI gap */
    int64_t message_count_per_driver; /* 0: none (a duration or stages end the test) */
    /* Extensions. Absent fields decode to the values noted. */
    char *target_url;           /* NULL: the driver's --target */
    char method[16];            /* "": GET, or POST when a body is given */
    struct msg_header *headers; /* n_headers entries */
    int n_headers;
    char *body; /* NULL: none */
    size_t body_len;
    int64_t concurrency;      /* 0 absent: MSG_DEFAULT_CONCURRENCY */
    double target_throughput; /* requests/s per driver; 0 = unbounded */
    int64_t timeout_ms;       /* 0 absent: MSG_DEFAULT_TIMEOUT_MS */
    char (*drivers)[ID_MAX];  /* NULL when absent: every driver takes part */
    int n_drivers;
    int64_t report_interval_ms; /* 0 absent: MSG_DEFAULT_REPORT_MS */
    int http2;                  /* 1: ask for HTTP/2 */
    double duration_s;          /* 0: none; else the test ends this long after its start */
    struct msg_stage *stages;   /* NULL: none; n_stages entries */
    int n_stages;
    double start_target;          /* the level the first stage starts from */
    struct msg_request *requests; /* NULL: the one request above; n_requests entries */
    int n_requests;
    int keep_rate; /* TSUNAMI: survivors take over a dead participant's share of the rate */
    struct msg_data data; /* mode DATA_NONE: none; the values of a mix's {{column}} */
};

/* Headers as in "headers": decode the object h (NULL or null: none) into
 * *out (n_out entries); check names and values; free. Decoding returns 0, or
 * -1 with err (*out may then hold entries to free). */
int msg_headers_decode(const cJSON *h, struct msg_header **out, int *n_out, char *err,
                       size_t errlen);
int msg_headers_check(const struct msg_header *h, int n, char *err, size_t errlen);
void msg_headers_free(struct msg_header *h, int n);
/* 1 when u is an http:// or https:// URL with a host and no space or
 * control character. */
int msg_url_valid(const char *u);

/* Free what m owns and zero it. Accepts NULL. */
void msg_test_config_free(struct msg_test_config *m);
/* Deep copy src into dst (dst is overwritten, not freed first).
 * Returns 0, or -1 when out of memory (dst is then zeroed). */
int msg_test_config_copy(struct msg_test_config *dst, const struct msg_test_config *src);
/* Validate a config built in code (the decoder runs the same checks).
 * Returns 0, or -1 with the reason in err. */
int msg_test_config_validate(const struct msg_test_config *m, char *err, size_t errlen);
/* 1 when node_id takes part: the drivers list names it, or there is no list. */
int msg_test_config_includes(const struct msg_test_config *m, const char *node_id);

/* ---- trigger ---- */
struct msg_trigger {
    char test_id[ID_MAX];
    int abort;           /* trigger "ABORT" instead of "YES" */
    int64_t start_at_ms; /* epoch ms of the common start; 0 = at once */
    /* "RESHARE" (keep_rate): from at_ms on, the fleet's rate is shared by
     * the drivers listed, each taking its turn by its place in the list.
     * Sent on the trigger topic only. */
    int reshare;
    int64_t at_ms;
    char (*drivers)[ID_MAX]; /* n_drivers survivors; malloc'd (msg_trigger_free) */
    int n_drivers;
};

/* Free what a trigger owns (a RESHARE's list) and zero it. Accepts NULL. */
void msg_trigger_free(struct msg_trigger *m);

/* ---- metrics ---- */
struct msg_latency {
    /* milliseconds in memory; seconds on the wire, as the original sends */
    double mean, median, min, max;
    double mode, p90, p95, p99, p999; /* extensions */
    int has_ext;                      /* 1 when all of the extensions were given */
};

struct msg_status_count {
    int code;
    int64_t count;
};

struct msg_metrics {
    char node_id[ID_MAX];
    char test_id[ID_MAX];
    char report_id[ID_MAX];
    struct msg_latency lat;
    /* Extensions. has_ext is 0 for an original-format report (no "seq"):
     * it is then that driver's one and final report. */
    int has_ext;
    int64_t seq;
    int final;
    int64_t requests_sent, responses_received, errors;
    int64_t err_connect, err_timeout, err_4xx, err_5xx, err_other;
    struct msg_status_count status[MSG_STATUS_MAX];
    int n_status;
    int64_t elapsed_ms;
    int64_t late;          /* sends that went out after their due time */
    int64_t first_send_ms; /* epoch ms of the first request; 0 unknown */
    char *histogram;       /* hist_encode text of latency; NULL absent */
    int has_service;
    struct msg_latency service; /* service time, from the actual send */
    char *service_histogram;    /* NULL absent */
    char failure[MSG_TEXT_MAX]; /* why the driver refused or failed the test */
    char engine[16];            /* the engine that sent the requests ("native",
                                   "curl"); "" unknown */
    int has_checks;             /* checks_passed and checks_failed were given */
    int64_t checks_passed, checks_failed;
    struct msg_req_stats *by_request; /* NULL absent; n_by_request names */
    int n_by_request;
};

void msg_metrics_free(struct msg_metrics *m);

/* ---- heartbeat ---- */
enum msg_listening { MSG_LISTENING_UNKNOWN = 0, MSG_LISTENING_YES, MSG_LISTENING_NO };

struct msg_heartbeat {
    char node_id[ID_MAX];
    double timestamp; /* epoch seconds, ms precision; 0 unknown (use the arrival time) */
    /* Extensions. */
    enum node_state state; /* NODE_STATE_NONE when absent */
    char test_id[ID_MAX];  /* "" when none */
    int64_t requests_sent;
    /* Whether the driver reads test_config and trigger up to date: it
     * knows it does not when its consumer stays behind or is past the log
     * end. 0 (MSG_LISTENING_UNKNOWN) when absent. */
    enum msg_listening listening;
};

int msg_register_decode(const char *buf, size_t len, struct msg_register *out, char *err,
                        size_t errlen);
int msg_test_config_decode(const char *buf, size_t len, struct msg_test_config *out, char *err,
                           size_t errlen);
int msg_trigger_decode(const char *buf, size_t len, struct msg_trigger *out, char *err,
                       size_t errlen);
int msg_metrics_decode(const char *buf, size_t len, struct msg_metrics *out, char *err,
                       size_t errlen);
int msg_heartbeat_decode(const char *buf, size_t len, struct msg_heartbeat *out, char *err,
                         size_t errlen);

/* Decode a test_config from an already parsed JSON object (as the REST API
 * receives one). need_id 0 lets test_id be absent (left ""). */
int msg_test_config_from_json(const cJSON *obj, int need_id, struct msg_test_config *out, char *err,
                              size_t errlen);

/* The same messages as cJSON trees, for embedding in larger documents.
 * The caller owns the tree (cJSON_Delete); NULL when out of memory. */
cJSON *msg_test_config_to_json(const struct msg_test_config *m);
cJSON *msg_metrics_to_json(const struct msg_metrics *m);
/* Fill l (milliseconds) from a latency histogram in microseconds: exact
 * min, max and mean; nearest-rank median, p90, p95, p99 and p99.9; the mode
 * as hist_mode defines it. All zero for an empty histogram. Can't fail. */
void msg_latency_from_hist(const struct hist *h, struct msg_latency *l);

/* The latency object alone, as in "metrics": {"mean_latency", ...}. */
cJSON *msg_latency_to_json(const struct msg_latency *l);

char *msg_register_encode(const struct msg_register *m);
char *msg_test_config_encode(const struct msg_test_config *m);
char *msg_trigger_encode(const struct msg_trigger *m);
char *msg_metrics_encode(const struct msg_metrics *m);
char *msg_heartbeat_encode(const struct msg_heartbeat *m);

#endif
