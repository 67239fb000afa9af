/* libFuzzer target: the orchestrator's REST side without the HTTP server —
 * route matching (route_match) and request-body handling (api_body_feed in
 * chunks up to a limit, then api_parse_test).
 *
 * Input: byte 0 picks the method (bits 0-2) and the original endpoint
 * (bit 3); byte 1 the body limit (64 + 64 * b bytes); byte 2 the chunk
 * size; then the path up to the first newline; the rest is the body.
 * Checks beyond "no crash": a matched route names an endpoint that takes
 * the method, with a valid test id or a safe static path; the gathered body
 * is the input exactly when it fits and flagged too big when it does not; a
 * parsed request is in range, names no driver twice, came from a body
 * without \u0000, and its config encodes and decodes again; the path
 * decoded by route_unescape holds no NUL and keeps any %00 as it was. */
#include "apibody.h"
#include "ids.h"
#include "route.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_api: %s\n", what);
        abort();
    }
}

static const char *const methods[8] = {"GET",    "POST",    "HEAD",  "PUT",
                                       "DELETE", "OPTIONS", "PATCH", "get"};

static void check_route(const char *method, const char *path)
{
    struct route_match rm;
    int st = route_match(method, path, &rm);
    must(st == 200 || st == 404 || st == 405, "route status");
    if (st == 404)
        return;
    must(rm.id != ROUTE_NONE && rm.allow && rm.allow[0], "route without an endpoint");
    if (st == 405)
        return;
    const char *need = strcmp(method, "HEAD") == 0 ? "GET" : method;
    must(strstr(rm.allow, need) != NULL, "route takes a method it does not allow");
    must(strlen(rm.arg) < ROUTE_ARG_MAX, "route arg too long");
    switch (rm.id) {
    case ROUTE_TEST:
    case ROUTE_TIMESERIES:
    case ROUTE_STOP:
        must(id_valid(rm.arg), "route test id invalid");
        break;
    case ROUTE_STATIC:
        must(rm.arg[0] && rm.arg[0] != '.' && rm.arg[0] != '/' && !strstr(rm.arg, "/.") &&
                 !strstr(rm.arg, "//"),
             "unsafe static path");
        break;
    default:
        must(rm.arg[0] == '\0', "route arg for an endpoint without one");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const char *method = methods[data[0] & 7];
    int original = (data[0] >> 3) & 1;
    size_t max = 64 + 64 * (size_t)data[1];
    size_t chunk = 1 + data[2] % 251;
    const char *rest = (const char *)data + 3;
    size_t left = size - 3;
    const char *nl = memchr(rest, '\n', left);
    size_t plen = nl ? (size_t)(nl - rest) : left;
    if (plen > 2048)
        plen = 2048;
    char *path = malloc(plen + 1);
    must(path != NULL, "out of memory");
    memcpy(path, rest, plen);
    path[plen] = '\0';
    check_route(method, path);
    int nul = 0;
    size_t ulen = route_unescape(path, &nul);
    must(ulen <= plen && strlen(path) == ulen, "unescaped path holds a NUL or grew");
    must(!nul || strstr(path, "%00"), "%00 flagged but not kept");
    check_route(method, path);
    free(path);

    const char *body = nl ? nl + 1 : rest + left;
    size_t blen = (size_t)((const char *)data + size - body);
    struct api_body b;
    api_body_init(&b, max);
    for (size_t off = 0; off < blen; off += chunk) {
        size_t n = blen - off < chunk ? blen - off : chunk;
        must(api_body_feed(&b, body + off, n) == 0, "feed failed");
    }
    if (blen > max) {
        must(b.too_big && b.data == NULL && b.len == 0, "over the limit but kept");
    } else {
        must(!b.too_big && b.len == blen, "under the limit but not kept");
        must(blen == 0 || memcmp(b.data, body, blen) == 0, "body changed");
    }
    if (!b.too_big) {
        struct msg_test_config cfg;
        int64_t min_drivers = 0;
        char err[512] = "";
        static struct verdict verdict;
        if (api_parse_test(b.data, b.len, original, &cfg, &min_drivers, &verdict, err,
                           sizeof err) == 0) {
            must(min_drivers >= 1 && min_drivers <= MSG_DRIVERS_MAX, "min_drivers out of range");
            must(!original || min_drivers == 1, "min_drivers on /startLoadTest");
            must(verdict.n >= 0 && verdict.n <= VERDICT_THRESHOLDS_MAX,
                 "thresholds over the bound");
            must(!original || (verdict.n == 0 && !verdict.abort_on_fail),
                 "thresholds on /startLoadTest");
            for (int i = 0; i < verdict.n; i++)
                must(!verdict.it[i].t.req[0], "a threshold on a request name accepted");
            must(cfg.message_count_per_driver >= 1, "count below 1");
            must(!cfg.drivers || cfg.n_drivers > 0, "empty drivers list accepted");
            for (int i = 0; i < cfg.n_drivers; i++)
                for (int j = i + 1; j < cfg.n_drivers; j++)
                    must(strcmp(cfg.drivers[i], cfg.drivers[j]) != 0, "a driver named twice");
            must(!msg_json_nul_escape(b.data, b.len), "\\u0000 accepted");
            snprintf(cfg.test_id, sizeof cfg.test_id, "t-fuzz");
            char *s = msg_test_config_encode(&cfg);
            struct msg_test_config again;
            must(s && msg_test_config_decode(s, strlen(s), &again, err, sizeof err) == 0,
                 "parsed config does not decode again");
            must(again.message_count_per_driver == cfg.message_count_per_driver &&
                     again.test_type == cfg.test_type && again.n_drivers == cfg.n_drivers,
                 "config changed on the way");
            msg_test_config_free(&again);
            free(s);
            msg_test_config_free(&cfg);
        } else {
            must(err[0] != '\0', "refused without a reason");
        }
    }
    api_body_close(&b);
    return 0;
}
