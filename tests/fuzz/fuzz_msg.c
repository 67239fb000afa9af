/* libFuzzer target: the five message decoders and the REST body path
 * (msg_test_config_from_json). The first byte picks the decoder; the rest is
 * the message. A decoded message must re-encode, and the encoding must decode
 * again to the same message. */
#include "msg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_msg: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    char err[256];
    /* Whatever decodes came without \u0000 in a string (cases 0-4). */
    int nul = msg_json_nul_escape(buf, len);
    switch (data[0] % 6) {
    case 0: {
        struct msg_register m, m2;
        if (msg_register_decode(buf, len, &m, err, sizeof err) == 0) {
            must(!nul, "register with \\u0000 decoded");
            char *s = msg_register_encode(&m);
            must(s && msg_register_decode(s, strlen(s), &m2, err, sizeof err) == 0,
                 "register re-decode");
            must(strcmp(m.node_id, m2.node_id) == 0, "register node_id changed");
            free(s);
        }
        break;
    }
    case 1: {
        struct msg_test_config m, m2;
        if (msg_test_config_decode(buf, len, &m, err, sizeof err) == 0) {
            must(!nul, "test_config with \\u0000 decoded");
            char *s = msg_test_config_encode(&m);
            must(s && msg_test_config_decode(s, strlen(s), &m2, err, sizeof err) == 0,
                 "test_config re-decode");
            must(m.message_count_per_driver == m2.message_count_per_driver &&
                     m.test_type == m2.test_type && m.n_headers == m2.n_headers &&
                     m.n_drivers == m2.n_drivers && m.n_stages == m2.n_stages &&
                     m.n_requests == m2.n_requests && m.duration_s == m2.duration_s,
                 "test_config changed");
            struct msg_test_config cp;
            must(msg_test_config_copy(&cp, &m) == 0, "copy");
            msg_test_config_free(&cp);
            msg_test_config_free(&m2);
            msg_test_config_free(&m);
            free(s);
        }
        break;
    }
    case 2: {
        struct msg_trigger m, m2;
        if (msg_trigger_decode(buf, len, &m, err, sizeof err) == 0) {
            must(!nul, "trigger with \\u0000 decoded");
            char *s = msg_trigger_encode(&m);
            must(s && msg_trigger_decode(s, strlen(s), &m2, err, sizeof err) == 0,
                 "trigger re-decode");
            must(m.abort == m2.abort && m.start_at_ms == m2.start_at_ms &&
                     m.reshare == m2.reshare && m.n_drivers == m2.n_drivers && m.at_ms == m2.at_ms,
                 "trigger changed");
            msg_trigger_free(&m2);
            msg_trigger_free(&m);
            free(s);
        }
        break;
    }
    case 3: {
        struct msg_metrics m, m2;
        if (msg_metrics_decode(buf, len, &m, err, sizeof err) == 0) {
            must(!nul, "metrics with \\u0000 decoded");
            char *s = msg_metrics_encode(&m);
            must(s != NULL, "metrics encode");
            if (m.has_ext) {
                must(msg_metrics_decode(s, strlen(s), &m2, err, sizeof err) == 0,
                     "metrics re-decode");
                must(m.seq == m2.seq && m.requests_sent == m2.requests_sent &&
                         m.n_status == m2.n_status,
                     "metrics changed");
                msg_metrics_free(&m2);
            }
            msg_metrics_free(&m);
            free(s);
        }
        break;
    }
    case 4: {
        struct msg_heartbeat m, m2;
        if (msg_heartbeat_decode(buf, len, &m, err, sizeof err) == 0) {
            must(!nul, "heartbeat with \\u0000 decoded");
            char *s = msg_heartbeat_encode(&m);
            must(s && msg_heartbeat_decode(s, strlen(s), &m2, err, sizeof err) == 0,
                 "heartbeat re-decode");
            free(s);
        }
        break;
    }
    case 5: {
        /* A REST body: parsed JSON, test_id optional. */
        cJSON *o = cJSON_ParseWithLength(buf, len);
        struct msg_test_config m;
        if (o && msg_test_config_from_json(o, 0, &m, err, sizeof err) == 0)
            msg_test_config_free(&m);
        cJSON_Delete(o);
        break;
    }
    }
    return 0;
}
