/* msg: round trips, the original system's formats, and malformed input. */
#define _POSIX_C_SOURCE 200809L
#include "msg.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_register_roundtrip(void **state)
{
    (void)state;
    struct msg_register in = {0}, out;
    snprintf(in.node_id, sizeof in.node_id, "driver-1");
    snprintf(in.node_ip, sizeof in.node_ip, "127.0.0.1");
    snprintf(in.hostname, sizeof in.hostname, "host-a");
    snprintf(in.version, sizeof in.version, "0.1.0");
    in.pid = 4242;
    in.timestamp = 1732425600.123;
    char *s = msg_register_encode(&in);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"node_IP\":\"127.0.0.1\""));
    assert_non_null(strstr(s, "\"message_type\":\"DRIVER_NODE_REGISTER\""));
    char err[256];
    assert_int_equal(msg_register_decode(s, strlen(s), &out, err, sizeof err), 0);
    assert_string_equal(out.node_id, "driver-1");
    assert_string_equal(out.node_ip, "127.0.0.1");
    assert_string_equal(out.hostname, "host-a");
    assert_int_equal(out.pid, 4242);
    assert_false(out.unregister);
    assert_true(out.timestamp > 1732425600.12 && out.timestamp < 1732425600.13);
    free(s);
    in.unregister = 1;
    s = msg_register_encode(&in);
    assert_int_equal(msg_register_decode(s, strlen(s), &out, err, sizeof err), 0);
    assert_true(out.unregister);
    free(s);
}

static void test_config_roundtrip(void **state)
{
    (void)state;
    struct msg_test_config in = {0}, out;
    snprintf(in.test_id, sizeof in.test_id, "t-1");
    in.test_type = TEST_TSUNAMI;
    in.test_message_delay = 0.02;
    in.message_count_per_driver = 500;
    in.target_url = strdup("http://127.0.0.1:8081/ping");
    snprintf(in.method, sizeof in.method, "POST");
    in.n_headers = 1;
    in.headers = calloc(1, sizeof *in.headers);
    in.headers[0].name = strdup("X-Test");
    in.headers[0].value = strdup("yes");
    in.body = strdup("{\"a\":1}");
    in.body_len = strlen(in.body);
    in.concurrency = 32;
    in.target_throughput = 250.5;
    in.timeout_ms = 2000;
    in.n_drivers = 2;
    in.drivers = calloc(2, ID_MAX);
    snprintf(in.drivers[0], ID_MAX, "d1");
    snprintf(in.drivers[1], ID_MAX, "d2");
    in.report_interval_ms = 500;
    in.http2 = 1;
    char *s = msg_test_config_encode(&in);
    assert_non_null(s);
    char err[256];
    assert_int_equal(msg_test_config_decode(s, strlen(s), &out, err, sizeof err), 0);
    assert_string_equal(out.test_id, "t-1");
    assert_int_equal(out.test_type, TEST_TSUNAMI);
    assert_true(out.test_message_delay == 0.02);
    assert_int_equal(out.message_count_per_driver, 500);
    assert_string_equal(out.target_url, "http://127.0.0.1:8081/ping");
    assert_string_equal(out.method, "POST");
    assert_int_equal(out.n_headers, 1);
    assert_string_equal(out.headers[0].name, "X-Test");
    assert_string_equal(out.headers[0].value, "yes");
    assert_string_equal(out.body, "{\"a\":1}");
    assert_int_equal(out.concurrency, 32);
    assert_true(out.target_throughput == 250.5);
    assert_int_equal(out.timeout_ms, 2000);
    assert_int_equal(out.n_drivers, 2);
    assert_true(msg_test_config_includes(&out, "d2"));
    assert_false(msg_test_config_includes(&out, "d3"));
    assert_int_equal(out.report_interval_ms, 500);
    assert_true(out.http2);
    struct msg_test_config cp;
    assert_int_equal(msg_test_config_copy(&cp, &out), 0);
    assert_string_equal(cp.headers[0].value, "yes");
    assert_string_equal(cp.drivers[1], "d2");
    msg_test_config_free(&cp);
    msg_test_config_free(&out);
    msg_test_config_free(&in);
    free(s);
}

static void test_config_stages(void **state)
{
    (void)state;
    char err[256];
    struct msg_test_config m, back;
    /* A duration as text, stages, no count: it round-trips in seconds. */
    const char *s = "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"duration\":\"2m\","
                    "\"start_target\":5,\"stages\":[{\"duration\":\"1500ms\",\"target\":100},"
                    "{\"duration\":10,\"target\":0}]}";
    assert_int_equal(msg_test_config_decode(s, strlen(s), &m, err, sizeof err), 0);
    assert_true(m.duration_s == 120);
    assert_int_equal(m.message_count_per_driver, 0);
    assert_int_equal(m.n_stages, 2);
    assert_true(m.stages[0].duration_s == 1.5 && m.stages[0].target == 100);
    assert_true(m.stages[1].duration_s == 10 && m.stages[1].target == 0);
    assert_true(m.start_target == 5);
    char *enc = msg_test_config_encode(&m);
    assert_non_null(enc);
    assert_null(strstr(enc, "message_count_per_driver"));
    assert_int_equal(msg_test_config_decode(enc, strlen(enc), &back, err, sizeof err), 0);
    assert_int_equal(back.n_stages, 2);
    assert_true(back.duration_s == 120 && back.stages[0].duration_s == 1.5);
    struct msg_test_config copy;
    assert_int_equal(msg_test_config_copy(&copy, &back), 0);
    assert_true(copy.stages != back.stages && copy.stages[1].duration_s == 10);
    msg_test_config_free(&copy);
    msg_test_config_free(&back);
    free(enc);
    msg_test_config_free(&m);
    /* A duration alone ends an AVALANCHE; a count with it is kept. */
    s = "{\"test_id\":\"t1\",\"test_type\":\"AVALANCHE\",\"duration\":30,"
        "\"message_count_per_driver\":7}";
    assert_int_equal(msg_test_config_decode(s, strlen(s), &m, err, sizeof err), 0);
    assert_true(m.duration_s == 30 && m.message_count_per_driver == 7);
    msg_test_config_free(&m);

    static const struct {
        const char *s, *why;
    } bad[] = {
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\"}", "duration"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"duration\":0}", "over 0"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"duration\":604801}", "at most"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"duration\":\"5 fortnights\"}",
         "duration"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"duration\":true}", "seconds"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"stages\":[]}", "1..100"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"stages\":{}}", "array"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"stages\":[5]}", "stage 1"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"stages\":[{\"target\":5}]}",
         "missing \"duration\""},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"stages\":[{\"duration\":1,"
         "\"target\":-1}]}",
         "stage 1"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"stages\":[{\"duration\":1,"
         "\"target\":1,\"ramp\":2}]}",
         "unknown field"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"stages\":[{\"duration\":1,"
         "\"target\":1},{\"duration\":604800,\"target\":1}]}",
         "stages last"},
        {"{\"test_id\":\"t\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":1,"
         "\"stages\":[{\"duration\":1,\"target\":1}]}",
         "rate"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"concurrency\":4,"
         "\"stages\":[{\"duration\":1,\"target\":1}]}",
         "concurrency"},
        {"{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"duration\":1,"
         "\"start_target\":3}",
         "start_target"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = msg_test_config_decode(bad[i].s, strlen(bad[i].s), &m, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[i].why))
            fail_msg("case %zu: rc %d, err '%s', wanted '%s'", i, rc, err, bad[i].why);
    }
}

static void test_reshare(void **state)
{
    (void)state;
    char err[256];
    struct msg_trigger t, back;
    const char *s = "{\"test_id\":\"t1\",\"trigger\":\"RESHARE\",\"at\":1796300000000,"
                    "\"drivers\":[\"d-1\",\"d-3\"]}";
    assert_int_equal(msg_trigger_decode(s, strlen(s), &t, err, sizeof err), 0);
    assert_true(t.reshare && !t.abort && t.at_ms == 1796300000000LL && t.n_drivers == 2);
    assert_string_equal(t.drivers[1], "d-3");
    char *enc = msg_trigger_encode(&t);
    assert_int_equal(msg_trigger_decode(enc, strlen(enc), &back, err, sizeof err), 0);
    assert_true(back.reshare && back.n_drivers == 2 && back.at_ms == t.at_ms);
    free(enc);
    msg_trigger_free(&back);
    msg_trigger_free(&t);
    s = "{\"test_id\":\"t1\",\"trigger\":\"RESHARE\",\"at\":1}";
    assert_int_equal(msg_trigger_decode(s, strlen(s), &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "drivers"));
    s = "{\"test_id\":\"t1\",\"trigger\":\"RESHARE\",\"drivers\":[\"d\"]}";
    assert_int_equal(msg_trigger_decode(s, strlen(s), &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "at"));
    /* keep_rate: a TSUNAMI's, with a rate. */
    struct msg_test_config c;
    s = "{\"test_id\":\"t\",\"test_type\":\"TSUNAMI\",\"target_throughput\":10,"
        "\"duration\":5,\"keep_rate\":true}";
    assert_int_equal(msg_test_config_decode(s, strlen(s), &c, err, sizeof err), 0);
    assert_true(c.keep_rate);
    msg_test_config_free(&c);
    s = "{\"test_id\":\"t\",\"test_type\":\"AVALANCHE\",\"duration\":5,\"keep_rate\":true}";
    assert_int_equal(msg_test_config_decode(s, strlen(s), &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "open-loop"));
}

static void test_trigger_heartbeat_roundtrip(void **state)
{
    (void)state;
    char err[256];
    struct msg_trigger t = {0}, to;
    snprintf(t.test_id, sizeof t.test_id, "t-9");
    t.start_at_ms = 1732425600123LL;
    char *s = msg_trigger_encode(&t);
    assert_int_equal(msg_trigger_decode(s, strlen(s), &to, err, sizeof err), 0);
    assert_string_equal(to.test_id, "t-9");
    assert_false(to.abort);
    assert_int_equal(to.start_at_ms, 1732425600123LL);
    free(s);
    t.abort = 1;
    t.start_at_ms = 0;
    s = msg_trigger_encode(&t);
    assert_non_null(strstr(s, "\"trigger\":\"ABORT\""));
    assert_int_equal(msg_trigger_decode(s, strlen(s), &to, err, sizeof err), 0);
    assert_true(to.abort);
    free(s);

    struct msg_heartbeat h = {0}, ho;
    snprintf(h.node_id, sizeof h.node_id, "d1");
    h.timestamp = 1732425600.5;
    h.state = NODE_STATE_RUNNING;
    snprintf(h.test_id, sizeof h.test_id, "t-9");
    h.requests_sent = 12345;
    s = msg_heartbeat_encode(&h);
    assert_int_equal(msg_heartbeat_decode(s, strlen(s), &ho, err, sizeof err), 0);
    assert_string_equal(ho.node_id, "d1");
    assert_true(ho.timestamp == 1732425600.5);
    assert_int_equal(ho.state, NODE_STATE_RUNNING);
    assert_string_equal(ho.test_id, "t-9");
    assert_int_equal(ho.requests_sent, 12345);
    assert_int_equal(ho.listening, MSG_LISTENING_UNKNOWN);
    assert_null(strstr(s, "listening"));
    free(s);
    h.listening = MSG_LISTENING_NO;
    s = msg_heartbeat_encode(&h);
    assert_non_null(strstr(s, "\"listening\":false"));
    assert_int_equal(msg_heartbeat_decode(s, strlen(s), &ho, err, sizeof err), 0);
    assert_int_equal(ho.listening, MSG_LISTENING_NO);
    free(s);
    static const char bad[] = "{\"node_id\":\"d1\",\"heartbeat\":\"YES\",\"timestamp\":1,"
                              "\"listening\":\"yes\"}";
    assert_int_equal(msg_heartbeat_decode(bad, strlen(bad), &ho, err, sizeof err), -1);
    assert_non_null(strstr(err, "listening"));
}

static void test_metrics_roundtrip(void **state)
{
    (void)state;
    struct msg_metrics m = {0}, o;
    snprintf(m.node_id, sizeof m.node_id, "d1");
    snprintf(m.test_id, sizeof m.test_id, "t-1");
    snprintf(m.report_id, sizeof m.report_id, "r-1");
    m.lat = (struct msg_latency){.mean = 20.5,
                                 .median = 20.1,
                                 .min = 19.9,
                                 .max = 48.0,
                                 .mode = 20.1,
                                 .p90 = 21.0,
                                 .p95 = 22.0,
                                 .p99 = 30.0,
                                 .p999 = 47.5,
                                 .has_ext = 1};
    m.has_ext = 1;
    m.seq = 7;
    m.final = 1;
    m.requests_sent = 1000;
    m.responses_received = 990;
    m.errors = 10;
    m.err_timeout = 4;
    m.err_5xx = 6;
    m.status[0] = (struct msg_status_count){200, 984};
    m.status[1] = (struct msg_status_count){500, 6};
    m.n_status = 2;
    m.elapsed_ms = 5000;
    m.late = 3;
    m.first_send_ms = 1732425600000LL;
    m.histogram = strdup("AQ==");
    m.has_service = 1;
    m.service = m.lat;
    snprintf(m.failure, sizeof m.failure, "none");
    snprintf(m.engine, sizeof m.engine, "native");
    char *s = msg_metrics_encode(&m);
    assert_non_null(s);
    char err[256];
    assert_int_equal(msg_metrics_decode(s, strlen(s), &o, err, sizeof err), 0);
    assert_true(o.has_ext);
    assert_true(o.final);
    assert_int_equal(o.seq, 7);
    /* Seconds on the wire (to the microsecond), milliseconds in memory. */
    assert_non_null(strstr(s, "\"p999_latency\":0.0475"));
    assert_non_null(strstr(s, "\"median_latency\":0.0201"));
    assert_true(fabs(o.lat.p999 - 47.5) < 1e-9);
    assert_true(fabs(o.lat.median - 20.1) < 1e-9);
    assert_true(o.lat.has_ext);
    assert_int_equal(o.requests_sent, 1000);
    assert_int_equal(o.responses_received, 990);
    assert_int_equal(o.err_timeout, 4);
    assert_int_equal(o.err_5xx, 6);
    assert_int_equal(o.n_status, 2);
    assert_int_equal(o.status[1].code, 500);
    assert_int_equal(o.status[1].count, 6);
    assert_int_equal(o.late, 3);
    assert_int_equal(o.first_send_ms, 1732425600000LL);
    assert_string_equal(o.histogram, "AQ==");
    assert_true(o.has_service);
    assert_string_equal(o.failure, "none");
    assert_string_equal(o.engine, "native");
    msg_metrics_free(&o);
    msg_metrics_free(&m);
    /* "engine" is optional, and a name. */
    char *at = strstr(s, "\"native\"");
    assert_non_null(at);
    memcpy(at + 1, "Na ive", 6);
    assert_int_equal(msg_metrics_decode(s, strlen(s), &o, err, sizeof err), -1);
    free(s);
    assert_non_null(strstr(err, "engine"));
}

/* The formats exactly as the original system sent them. */
static void test_original_samples(void **state)
{
    (void)state;
    char err[256];
    struct msg_register r;
    const char *reg = "{\"node_id\": \"a1b2\", \"node_IP\": \"10.0.0.5\", "
                      "\"message_type\": \"DRIVER_NODE_REGISTER\"}";
    assert_int_equal(msg_register_decode(reg, strlen(reg), &r, err, sizeof err), 0);
    assert_string_equal(r.node_ip, "10.0.0.5");
    const char *reg_lower = "{\"node_id\": \"a1b2\", \"node_ip\": \"10.0.0.6\", "
                            "\"message_type\": \"DRIVER_NODE_REGISTER\"}";
    assert_int_equal(msg_register_decode(reg_lower, strlen(reg_lower), &r, err, sizeof err), 0);
    assert_string_equal(r.node_ip, "10.0.0.6");

    struct msg_test_config c;
    const char *cfg = "{\"test_id\": \"1712345678901\", \"test_type\": \"TSUNAMI\", "
                      "\"test_message_delay\": \"0.5\", \"message_count_per_driver\": \"100\"}";
    assert_int_equal(msg_test_config_decode(cfg, strlen(cfg), &c, err, sizeof err), 0);
    assert_int_equal(c.test_type, TEST_TSUNAMI);
    assert_true(c.test_message_delay == 0.5);
    assert_int_equal(c.message_count_per_driver, 100);
    assert_null(c.target_url);
    assert_null(c.drivers);
    assert_int_equal(c.concurrency, 0);
    msg_test_config_free(&c);
    const char *cfg2 = "{\"test_id\": 42, \"test_type\": \"AVALANCHE\", "
                       "\"test_message_delay\": 0, \"message_count_per_driver\": 10}";
    assert_int_equal(msg_test_config_decode(cfg2, strlen(cfg2), &c, err, sizeof err), 0);
    assert_string_equal(c.test_id, "42");
    msg_test_config_free(&c);

    struct msg_trigger t;
    const char *trg = "{\"test_id\": \"1712345678901\", \"trigger\": \"YES\"}";
    assert_int_equal(msg_trigger_decode(trg, strlen(trg), &t, err, sizeof err), 0);
    assert_int_equal(t.start_at_ms, 0);

    struct msg_metrics m;
    const char *met = "{\"node_id\": \"a1b2\", \"test_id\": \"1712345678901\", "
                      "\"report_id\": \"r77\", \"metrics\": {\"mean_latency\": \"0.0125\", "
                      "\"median_latency\": 0.011, \"min_latency\": 0.0032, "
                      "\"max_latency\": 0.099}}";
    assert_int_equal(msg_metrics_decode(met, strlen(met), &m, err, sizeof err), 0);
    assert_false(m.has_ext);
    assert_true(m.final);
    assert_true(fabs(m.lat.mean - 12.5) < 1e-9); /* seconds on the wire */
    assert_true(fabs(m.lat.max - 99.0) < 1e-9);
    assert_false(m.lat.has_ext); /* mode, p90 ... p999: not sent, unknown */
    assert_null(m.histogram);
    msg_metrics_free(&m);

    struct msg_heartbeat h;
    const char *hb = "{\"node_id\": \"a1b2\", \"heartbeat\": \"YES\", "
                     "\"timestamp\": 1712345678.123}";
    assert_int_equal(msg_heartbeat_decode(hb, strlen(hb), &h, err, sizeof err), 0);
    assert_int_equal(h.state, NODE_STATE_NONE);
    const char *hb2 = "{\"node_id\": \"a1b2\", \"heartbeat\": \"YES\", "
                      "\"timestamp\": \"1712345678.123\"}";
    assert_int_equal(msg_heartbeat_decode(hb2, strlen(hb2), &h, err, sizeof err), 0);
    /* The original's code sends the literal string "time.time()": still a
     * heartbeat, its time unknown (the receiver takes the arrival time). */
    const char *hb3 = "{\"node_id\": \"1712345678901\", \"heartbeat\": \"YES\", "
                      "\"timestamp\": \"time.time()\"}";
    assert_int_equal(msg_heartbeat_decode(hb3, strlen(hb3), &h, err, sizeof err), 0);
    assert_true(h.timestamp == 0);
    const char *hb4 = "{\"node_id\": \"d\", \"heartbeat\": \"YES\"}";
    assert_int_equal(msg_heartbeat_decode(hb4, strlen(hb4), &h, err, sizeof err), 0);
    assert_true(h.timestamp == 0);
    /* A number out of range is no unknown: refused. */
    const char *hb5 = "{\"node_id\": \"d\", \"heartbeat\": \"YES\", \"timestamp\": 1e300}";
    assert_int_equal(msg_heartbeat_decode(hb5, strlen(hb5), &h, err, sizeof err), -1);
    const char *hb6 = "{\"node_id\": \"d\", \"heartbeat\": \"YES\", \"timestamp\": true}";
    assert_int_equal(msg_heartbeat_decode(hb6, strlen(hb6), &h, err, sizeof err), -1);
}

enum kind { K_REG, K_CFG, K_TRG, K_MET, K_HB };

static int decode(enum kind k, const char *s, size_t n, char *err, size_t errlen)
{
    switch (k) {
    case K_REG: {
        struct msg_register m;
        return msg_register_decode(s, n, &m, err, errlen);
    }
    case K_CFG: {
        struct msg_test_config m;
        int rc = msg_test_config_decode(s, n, &m, err, errlen);
        msg_test_config_free(&m);
        return rc;
    }
    case K_TRG: {
        struct msg_trigger m;
        int rc = msg_trigger_decode(s, n, &m, err, errlen);
        msg_trigger_free(&m);
        return rc;
    }
    case K_MET: {
        struct msg_metrics m;
        int rc = msg_metrics_decode(s, n, &m, err, errlen);
        msg_metrics_free(&m);
        return rc;
    }
    case K_HB: {
        struct msg_heartbeat m;
        return msg_heartbeat_decode(s, n, &m, err, errlen);
    }
    }
    return 0;
}

#define CFG(extra)                                                                                 \
    "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":0.1,"                    \
    "\"message_count_per_driver\":10" extra "}"

static void test_malformed_rejected(void **state)
{
    (void)state;
    static const struct {
        enum kind k;
        const char *s;
        const char *why; /* a word the reason must contain */
    } cases[] = {
        {K_CFG, "not json at all", "JSON"},
        {K_CFG, "[1,2,3]", "object"},
        {K_CFG, "", "empty"},
        {K_CFG, "{\"test_id\":\"t1\"", "JSON"},
        {K_CFG, "{} trailing", "trailing"},
        {K_CFG,
         "{\"test_type\":\"TSUNAMI\",\"test_message_delay\":1,"
         "\"message_count_per_driver\":1}",
         "test_id"},
        {K_CFG, "{\"test_id\":\"t1\",\"test_message_delay\":1,\"message_count_per_driver\":1}",
         "test_type"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"BLIZZARD\",\"test_message_delay\":1,"
         "\"message_count_per_driver\":1}",
         "unknown"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":7,\"test_message_delay\":1,"
         "\"message_count_per_driver\":1}",
         "string"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":1,"
         "\"message_count_per_driver\":-5}",
         "range"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":1,"
         "\"message_count_per_driver\":1e15}",
         "range"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":1,"
         "\"message_count_per_driver\":2.5}",
         "whole"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":\"fast\","
         "\"message_count_per_driver\":1}",
         "number"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":\"nan\","
         "\"message_count_per_driver\":1}",
         "finite"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":1e999,"
         "\"message_count_per_driver\":1}",
         "finite"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":-1,"
         "\"message_count_per_driver\":1}",
         "range"},
        {K_CFG,
         "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":true,"
         "\"message_count_per_driver\":1}",
         "number"},
        {K_CFG,
         "{\"test_id\":\"bad id!\",\"test_type\":\"TSUNAMI\",\"test_message_delay\":1,"
         "\"message_count_per_driver\":1}",
         "id"},
        {K_CFG, CFG(",\"target_url\":\"ftp://x\""), "URL"},
        {K_CFG, CFG(",\"method\":\"BREW\""), "method"},
        {K_CFG, CFG(",\"headers\":[\"a\"]"), "headers"},
        {K_CFG, CFG(",\"headers\":{\"X\":\"a\\r\\nInjected: 1\"}"), "line break"},
        {K_CFG, CFG(",\"concurrency\":0"), "range"},
        {K_CFG, CFG(",\"drivers\":\"d1\""), "array"},
        {K_CFG, CFG(",\"drivers\":[1,2]"), "node id"},
        {K_CFG, CFG(",\"timeout_ms\":-3"), "range"},
        {K_CFG, CFG(",\"http2\":\"yes\""), "true or false"},
        {K_REG, "{\"node_id\":\"d\",\"message_type\":\"DRIVER_NODE_REGISTER\"}", "node_IP"},
        {K_REG, "{\"node_id\":\"d\",\"node_IP\":\"x\",\"message_type\":\"HELLO\"}", "unknown"},
        {K_REG, "{\"node_id\":[],\"node_IP\":\"x\",\"message_type\":\"DRIVER_NODE_REGISTER\"}",
         "string"},
        {K_TRG, "{\"test_id\":\"t\",\"trigger\":\"MAYBE\"}", "unknown"},
        {K_TRG, "{\"test_id\":\"t\"}", "trigger"},
        {K_TRG, "{\"test_id\":\"t\",\"trigger\":\"YES\",\"start_at\":-1}", "range"},
        {K_HB, "{\"node_id\":\"d\",\"heartbeat\":\"NO\",\"timestamp\":1}", "unknown"},
        {K_HB, "{\"node_id\":\"d\",\"heartbeat\":\"YES\",\"timestamp\":1,\"state\":\"ZOMBIE\"}",
         "unknown"},
        {K_MET, "{\"node_id\":\"d\",\"test_id\":\"t\",\"report_id\":\"r\"}", "metrics"},
        {K_MET,
         "{\"node_id\":\"d\",\"test_id\":\"t\",\"report_id\":\"r\",\"metrics\":"
         "{\"mean_latency\":1,\"median_latency\":1,\"min_latency\":1}}",
         "max_latency"},
        {K_MET,
         "{\"node_id\":\"d\",\"test_id\":\"t\",\"report_id\":\"r\",\"metrics\":"
         "{\"mean_latency\":1,\"median_latency\":1,\"min_latency\":5,\"max_latency\":2}}",
         "min_latency"},
        {K_MET,
         "{\"node_id\":\"d\",\"test_id\":\"t\",\"report_id\":\"r\",\"metrics\":"
         "{\"mean_latency\":1,\"median_latency\":1,\"min_latency\":1,\"max_latency\":2},"
         "\"seq\":1,\"status_codes\":{\"abc\":1}}",
         "status"},
        {K_MET,
         "{\"node_id\":\"d\",\"test_id\":\"t\",\"report_id\":\"r\",\"metrics\":"
         "{\"mean_latency\":1,\"median_latency\":1,\"min_latency\":1,\"max_latency\":2},"
         "\"seq\":1,\"requests_sent\":5,\"responses_received\":9}",
         "exceeds"},
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        int rc = decode(cases[i].k, cases[i].s, strlen(cases[i].s), err, sizeof err);
        if (rc != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].s);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: reason '%s' does not mention '%s'", i, err, cases[i].why);
    }
    assert_true(sizeof cases / sizeof cases[0] >= 25);
}

static void test_huge_and_deep(void **state)
{
    (void)state;
    char err[256];
    /* A 1 MB string value. */
    size_t n = 1024 * 1024;
    char *big = malloc(n + 200);
    int off = snprintf(big, 200,
                       "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\","
                       "\"test_message_delay\":1,\"message_count_per_driver\":1,"
                       "\"body\":\"");
    memset(big + off, 'x', n);
    memcpy(big + off + n, "\"}", 3);
    assert_int_equal(decode(K_CFG, big, strlen(big), err, sizeof err), -1);
    assert_non_null(strstr(err, "limit"));
    /* Just under the message cap, but a body over its own cap. */
    size_t body = MSG_BODY_MAX + 10;
    off = snprintf(big, 200,
                   "{\"test_id\":\"t1\",\"test_type\":\"TSUNAMI\","
                   "\"test_message_delay\":1,\"message_count_per_driver\":1,"
                   "\"body\":\"");
    memset(big + off, 'y', body);
    memcpy(big + off + body, "\"}", 3);
    assert_int_equal(decode(K_CFG, big, strlen(big), err, sizeof err), -1);
    assert_non_null(strstr(err, "body"));
    free(big);
    /* 100,000 levels of nesting. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[depth * 2] = '\0';
    assert_int_equal(decode(K_HB, deep, depth * 2, err, sizeof err), -1);
    /* A deep object in a field. */
    char *deep2 = malloc(depth * 6 + 100);
    size_t p = (size_t)sprintf(deep2, "{\"node_id\":");
    for (size_t i = 0; i < 900; i++)
        p += (size_t)sprintf(deep2 + p, "{\"a\":");
    p += (size_t)sprintf(deep2 + p, "1");
    for (size_t i = 0; i < 900; i++)
        deep2[p++] = '}';
    p += (size_t)sprintf(deep2 + p, ",\"heartbeat\":\"YES\",\"timestamp\":1}");
    assert_int_equal(decode(K_HB, deep2, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "node_id"));
    free(deep);
    free(deep2);
    /* Embedded NUL bytes are not JSON. */
    const char nul[] = "{\"node_id\":\"d\0\",\"heartbeat\":\"YES\",\"timestamp\":1}";
    assert_int_equal(decode(K_HB, nul, sizeof nul - 1, err, sizeof err), -1);
}

/* \u0000 in a string would cut it short in cJSON: refused in every message,
 * in values and in keys; an escaped backslash before "u0000" is text. */
static void test_nul_escape(void **state)
{
    (void)state;
    char err[256];
    static const char *const bad_reg[] = {
        "{\"node_id\":\"d-1\",\"node_IP\":\"127.0.0.1\\u0000evil\","
        "\"message_type\":\"DRIVER_NODE_REGISTER\"}",
        "{\"node_id\":\"d-1\\u0000\",\"node_IP\":\"127.0.0.1\","
        "\"message_type\":\"DRIVER_NODE_REGISTER\"}",
        "{\"node_id\":\"d-1\",\"node_IP\\u0000x\":\"127.0.0.1\","
        "\"message_type\":\"DRIVER_NODE_REGISTER\"}",
    };
    for (size_t i = 0; i < sizeof bad_reg / sizeof bad_reg[0]; i++) {
        struct msg_register r;
        err[0] = '\0';
        assert_int_equal(msg_register_decode(bad_reg[i], strlen(bad_reg[i]), &r, err, sizeof err),
                         -1);
        assert_non_null(strstr(err, "\\u0000"));
    }
    const char *cfg = "{\"test_id\":\"t-1\",\"test_type\":\"AVALANCHE\","
                      "\"message_count_per_driver\":5,\"headers\":{\"X-A\":\"a\\u0000b\"}}";
    struct msg_test_config c;
    assert_int_equal(msg_test_config_decode(cfg, strlen(cfg), &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "\\u0000"));
    const char *hb = "{\"node_id\":\"d-1\",\"timestamp\":1,\"test_id\":\"t\\u0000\"}";
    struct msg_heartbeat h;
    assert_int_equal(msg_heartbeat_decode(hb, strlen(hb), &h, err, sizeof err), -1);
    /* An escaped backslash, then the text u0000: a valid header value. */
    const char *ok = "{\"test_id\":\"t-1\",\"test_type\":\"AVALANCHE\","
                     "\"message_count_per_driver\":5,\"headers\":{\"X-A\":\"a\\\\u0000b\"}}";
    assert_int_equal(msg_test_config_decode(ok, strlen(ok), &c, err, sizeof err), 0);
    assert_int_equal(c.n_headers, 1);
    assert_string_equal(c.headers[0].value, "a\\u0000b");
    msg_test_config_free(&c);
    /* Other escapes pass: \u0001 decodes in full. */
    const char *one = "{\"node_id\":\"d-1\",\"node_IP\":\"x\\u0041y\\\\\\\\u0000\","
                      "\"message_type\":\"DRIVER_NODE_REGISTER\"}";
    struct msg_register r;
    assert_int_equal(msg_register_decode(one, strlen(one), &r, err, sizeof err), 0);
    assert_string_equal(r.node_ip, "xAy\\\\u0000");
    assert_int_equal(msg_json_nul_escape("\\u0000", 6), 1);
    assert_int_equal(msg_json_nul_escape("\\u000", 5), 0);
    assert_int_equal(msg_json_nul_escape("\\\\u0000", 7), 0);
    assert_int_equal(msg_json_nul_escape("\\\\\\u0000", 8), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_roundtrip),
        cmocka_unit_test(test_config_roundtrip),
        cmocka_unit_test(test_config_stages),
        cmocka_unit_test(test_reshare),
        cmocka_unit_test(test_trigger_heartbeat_roundtrip),
        cmocka_unit_test(test_metrics_roundtrip),
        cmocka_unit_test(test_original_samples),
        cmocka_unit_test(test_malformed_rejected),
        cmocka_unit_test(test_huge_and_deep),
        cmocka_unit_test(test_nul_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
