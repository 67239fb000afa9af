/* http: the client's calls to the orchestrator's REST API (libcurl easy).
 *
 * One handle per client, reused between calls so that polling keeps its
 * connection alive. Answers are read into a buffer of at most HTTP_BODY_MAX
 * bytes; a longer answer is an error, never a truncated document. Nothing
 * here prints or exits: every failure returns -1 with one sentence in err. */
#ifndef DLT_CLIENT_HTTP_H
#define DLT_CLIENT_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define HTTP_BODY_MAX (64L * 1024 * 1024)
#define HTTP_URL_MAX 1024

struct http_client;

struct http_response {
    long status;
    char *body; /* NUL-terminated; owned, freed by http_response_free */
    size_t len;
};

/* Check an orchestrator base URL: http:// or https://, a host, no query,
 * fragment, spaces or control characters. Writes it without a trailing '/'
 * into out. Returns 0, or -1 with the reason in err. */
int http_base_url(const char *url, char *out, size_t outlen, char *err, size_t errlen);

/* base_url as accepted by http_base_url; token may be NULL or "" (no
 * Authorization header); timeout_ms bounds every call (connect included).
 * Returns 0 with *out set, or -1 with the reason in err (*out NULL). */
int http_create(const char *base_url, const char *token, long timeout_ms, struct http_client **out,
                char *err, size_t errlen);
/* Accepts NULL. */
void http_destroy(struct http_client *c);
/* The base URL (borrowed). */
const char *http_base(const struct http_client *c);

/* One request: method, path (starting with '/'), optional JSON body.
 * Returns 0 when an answer arrived, whatever its status (out is then the
 * caller's to free); -1 when none did ("cannot reach the orchestrator at
 * URL: ...", a timeout, an answer over HTTP_BODY_MAX), out zeroed. */
int http_request(struct http_client *c, const char *method, const char *path, const char *body,
                 struct http_response *out, char *err, size_t errlen);
/* Accepts NULL and a zeroed response. */
void http_response_free(struct http_response *r);

/* A JSON call. body may be NULL. On a 2xx answer that is JSON, returns 0 and
 * hands the parsed document to *out (cJSON_Delete it). Otherwise returns -1,
 * *out NULL, with err saying what happened: transport failure as above, an
 * error status with the orchestrator's {"error"} text ("the orchestrator
 * answered 404: no such test"), or an answer that is not JSON.
 * status (may be NULL) receives the HTTP status, 0 when none arrived. */
int http_json(struct http_client *c, const char *method, const char *path, const cJSON *body,
              cJSON **out, long *status, char *err, size_t errlen);

#endif
