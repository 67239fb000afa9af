/* startcfg: the body of POST /api/tests, built from the flags of `start`.
 *
 * Each flag's value is checked as it is set, with a message naming the flag;
 * startcfg_finish then checks the flags against each other and runs the same
 * validation the drivers apply (msg_test_config_from_json), so a config the
 * drivers would refuse never leaves the client. */
#ifndef DLT_CLIENT_STARTCFG_H
#define DLT_CLIENT_STARTCFG_H

#include "ids.h"
#include "msg.h"
#include "threshold.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define STARTCFG_DEFAULT_COUNT 100
#define STARTCFG_THRESHOLDS_MAX 32 /* as the orchestrator takes at most */

struct startcfg {
    enum test_type type; /* default AVALANCHE */
    int64_t count;       /* default STARTCFG_DEFAULT_COUNT, or none with a duration or stages */
    int has_count;
    int has_delay;
    double delay_s;
    char *url; /* owned; NULL: each driver's --target */
    char method[16];
    struct msg_header headers[MSG_HEADERS_MAX]; /* owned strings */
    int n_headers;
    char *body;          /* owned */
    int64_t concurrency; /* 0: not given */
    int has_rate;
    double rate;
    int64_t timeout_ms;      /* 0: not given */
    char (*drivers)[ID_MAX]; /* owned */
    int n_drivers;
    int64_t min_drivers; /* 0: not given */
    int64_t report_ms;   /* 0: not given */
    int http2;
    double duration_s; /* 0: not given */
    struct msg_stage stages[MSG_STAGES_MAX];
    int n_stages;
    int has_start_target;
    double start_target;
    cJSON *requests; /* owned; NULL: the one request of the flags */
    int keep_rate;
    char *data_csv;           /* owned; NULL: no data */
    enum data_mode data_mode; /* DATA_NONE: not given (the orchestrator's default) */
    const char *base_dir;     /* a file's "data.file" is taken from here; NULL: . */
    /* Judged by the orchestrator on the fleet-wide aggregate. */
    char thresholds[STARTCFG_THRESHOLDS_MAX][THRESHOLD_TEXT_MAX];
    int n_thresholds;
    int abort_on_fail;
};

/* Start with the defaults. Can't fail. */
void startcfg_init(struct startcfg *c);
/* Free what c owns and reset it to the defaults. */
void startcfg_close(struct startcfg *c);

/* Set one flag from its text. flag is the long option without dashes:
 * type, count, delay, url, method, header, body, body-file, concurrency,
 * rate, timeout, drivers, min-drivers, report-interval, threshold
 * (repeatable), duration, stage ("DURATION:TARGET", repeatable),
 * start-target, data (a CSV file), data-mode, http2, abort-on-fail and
 * keep-rate (values ignored). Returns 0, or -1 with "--flag: reason" in err. */
int startcfg_set(struct startcfg *c, const char *flag, const char *value, char *err, size_t errlen);

/* The limit on a test definition file. */
#define STARTCFG_FILE_MAX (1024 * 1024)

/* Set the fields of a test definition (docs/TESTS.md) read from the JSON
 * object o, as the flags they stand for would (a flag given after it
 * overrides a field; thresholds add up). An unknown field, or one of the
 * wrong type or value, is refused: -1 with "FIELD: reason" in err. */
int startcfg_from_json(struct startcfg *c, const cJSON *o, char *err, size_t errlen);

/* Read the test definition file at path (JSON, at most STARTCFG_FILE_MAX
 * bytes) into c with startcfg_from_json. Returns 0, or -1 with one line
 * naming the file in err. */
int startcfg_load_file(struct startcfg *c, const char *path, char *err, size_t errlen);

/* Check the flags together and build the request body. Returns 0 with *out
 * (the caller's, cJSON_Delete), or -1 with the reason in err. */
int startcfg_finish(const struct startcfg *c, cJSON **out, char *err, size_t errlen);

#endif
