#include "route.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int route_is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* A file path under /static/: segments of [A-Za-z0-9._-], none starting
 * with a dot (so no "..", no hidden files), separated by single slashes. */
static int route_static_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= ROUTE_ARG_MAX)
        return 0;
    int seg_start = 1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '/') {
            if (seg_start)
                return 0; /* empty segment or leading slash */
            seg_start = 1;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok || (seg_start && c == '.'))
            return 0;
        seg_start = 0;
    }
    return !seg_start;
}

static int route_finish(const char *method, const char *allow, enum route_id id,
                        struct route_match *out)
{
    out->id = id;
    out->allow = allow;
    int is_get = route_is(method, "GET") || route_is(method, "HEAD");
    int is_post = route_is(method, "POST");
    if ((is_get && strstr(allow, "GET")) || (is_post && strstr(allow, "POST")))
        return 200;
    return 405;
}

int route_match(const char *method, const char *path, struct route_match *out)
{
    memset(out, 0, sizeof *out);
    out->allow = "";
    if (!method || !path)
        return 404;
    if (route_is(path, "/startLoadTest"))
        return route_finish(method, "POST", ROUTE_START_ORIGINAL, out);
    if (route_is(path, "/api/tests"))
        return route_finish(method, "GET, POST", ROUTE_TESTS, out);
    if (route_is(path, "/api/drivers"))
        return route_finish(method, "GET", ROUTE_DRIVERS, out);
    if (route_is(path, "/api/events"))
        return route_finish(method, "GET", ROUTE_EVENTS, out);
    if (route_is(path, "/metrics"))
        return route_finish(method, "GET", ROUTE_METRICS, out);
    if (route_is(path, "/") || route_is(path, "/index.html"))
        return route_finish(method, "GET", ROUTE_INDEX, out);
    static const char statics[] = "/static/";
    if (strncmp(path, statics, sizeof statics - 1) == 0) {
        const char *rest = path + sizeof statics - 1;
        if (!route_static_ok(rest))
            return 404;
        snprintf(out->arg, sizeof out->arg, "%s", rest);
        return route_finish(method, "GET", ROUTE_STATIC, out);
    }
    static const char tests[] = "/api/tests/";
    if (strncmp(path, tests, sizeof tests - 1) == 0) {
        const char *rest = path + sizeof tests - 1;
        const char *slash = strchr(rest, '/');
        size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
        if (idlen == 0 || idlen >= ID_MAX)
            return 404;
        char id[ID_MAX];
        memcpy(id, rest, idlen);
        id[idlen] = '\0';
        if (!id_valid(id))
            return 404;
        enum route_id rid;
        const char *allow;
        if (!slash) {
            rid = ROUTE_TEST;
            allow = "GET";
        } else if (route_is(slash, "/timeseries")) {
            rid = ROUTE_TIMESERIES;
            allow = "GET";
        } else if (route_is(slash, "/stop")) {
            rid = ROUTE_STOP;
            allow = "POST";
        } else {
            return 404;
        }
        snprintf(out->arg, sizeof out->arg, "%s", id);
        return route_finish(method, allow, rid, out);
    }
    return 404;
}

static int route_hex(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

size_t route_unescape(char *s, int *nul)
{
    char *w = s;
    *nul = 0;
    for (const char *p = s; *p;) {
        if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            int v = route_hex(p[1]) * 16 + route_hex(p[2]);
            if (v != 0) {
                *w++ = (char)v;
                p += 3;
                continue;
            }
            *nul = 1; /* kept as the three characters %00 */
        }
        *w++ = *p++;
    }
    *w = '\0';
    return (size_t)(w - s);
}
