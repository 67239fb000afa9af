#define _POSIX_C_SOURCE 200809L
#include "plan.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *plan_kind_name(enum plan_kind k)
{
    switch (k) {
    case PLAN_OK:
        return "ok";
    case PLAN_ERR_CONNECT:
        return "connect";
    case PLAN_ERR_TIMEOUT:
        return "timeout";
    case PLAN_ERR_4XX:
        return "http_4xx";
    case PLAN_ERR_5XX:
        return "http_5xx";
    case PLAN_ERR_OTHER:
    case PLAN_KINDS:
        break;
    }
    return "other";
}

enum plan_kind plan_classify(int curl_code, long status)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
        return PLAN_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return PLAN_ERR_TIMEOUT;
    default:
        return PLAN_ERR_OTHER;
    }
    if (status >= 200 && status < 400)
        return PLAN_OK;
    if (status >= 400 && status < 500)
        return PLAN_ERR_4XX;
    if (status >= 500 && status < 600)
        return PLAN_ERR_5XX;
    /* No status, a bare 1xx or something outside HTTP's range. */
    return PLAN_ERR_OTHER;
}

int64_t plan_share(int64_t total, int parts, int k)
{
    if (parts < 1 || k < 0 || k >= parts || total <= 0)
        return 0;
    return total / parts + (k < total % parts ? 1 : 0);
}

int plan_threads(int threads, int64_t count, int64_t inflight)
{
    int64_t n = threads < 1 ? 1 : threads;
    if (count >= 1 && n > count)
        n = count;
    if (inflight >= 1 && n > inflight)
        n = inflight;
    return (int)n;
}

double plan_gap_us(int is_tsunami, double delay_s, double throughput)
{
    if (throughput > 0)
        return 1e6 / throughput;
    if (is_tsunami && delay_s > 0)
        return delay_s * 1e6;
    return 0;
}

int64_t plan_index(int k, int n, int64_t j)
{
    return (int64_t)k + j * (int64_t)(n < 1 ? 1 : n);
}

int64_t plan_due_us(int64_t start_us, double gap_us, int64_t i)
{
    return start_us + (int64_t)((double)i * gap_us);
}

int64_t plan_start_mono(int64_t start_at_ms, int64_t now_wall_ms, int64_t now_mono_us)
{
    if (start_at_ms <= now_wall_ms)
        return now_mono_us;
    return now_mono_us + (start_at_ms - now_wall_ms) * 1000;
}

int plan_url_host(const char *url, char *host, size_t hostlen, char *err, size_t errlen)
{
    if (hostlen)
        host[0] = '\0';
    if (!url || !*url) {
        snprintf(err, errlen, "empty URL");
        return -1;
    }
    /* Only the two schemes, spelled out: libcurl would guess one otherwise. */
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "'%.80s' is not an http:// or https:// URL", url);
        return -1;
    }
    /* libcurl reads "http:///x" as host x; the project's decoder refuses it. */
    const char *after = strstr(url, "://") + 3;
    if (*after == '\0' || *after == '/' || *after == ':') {
        snprintf(err, errlen, "'%.80s' has no host", url);
        return -1;
    }
    CURLU *u = curl_url();
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *h = NULL;
    int rc = -1;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "'%.80s' is not a valid URL: %s", url, curl_url_strerror(uc));
    } else if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !h || !*h) {
        snprintf(err, errlen, "'%.80s' has no host", url);
    } else {
        const char *p = h;
        size_t n = strlen(p);
        if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
            p++;
            n -= 2;
        }
        /* A zone id ("fe80::1%25eth0") is not part of the host for matching. */
        const char *pct = memchr(p, '%', n);
        if (pct)
            n = (size_t)(pct - p);
        if (n == 0 || n >= hostlen) {
            snprintf(err, errlen, "'%.80s' has an unusable host", url);
        } else {
            for (size_t i = 0; i < n; i++)
                host[i] = (char)tolower((unsigned char)p[i]);
            host[n] = '\0';
            rc = 0;
        }
    }
    curl_free(h);
    curl_url_cleanup(u);
    return rc;
}

int plan_host_loopback(const char *host)
{
    if (!host)
        return 0;
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
        return 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        if (memcmp(a6.s6_addr, lo, 16) == 0)
            return 1;
        /* ::ffff:127.x.y.z */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        return memcmp(a6.s6_addr, mapped, 12) == 0 && a6.s6_addr[12] == 127;
    }
    return 0;
}

int plan_host_allowed(const char *host, const char *const *allowed, int n, int loopback_ok)
{
    if (!host || !*host)
        return 0;
    int lo = plan_host_loopback(host);
    if (loopback_ok && lo)
        return 1;
    for (int i = 0; i < n; i++) {
        const char *a = allowed[i];
        if (!a)
            continue;
        if (strcmp(a, "*") == 0)
            return 1;
        if (strcasecmp(a, "loopback") == 0 && lo)
            return 1;
        /* Compare without IPv6 brackets on the allowed side too. */
        size_t al = strlen(a);
        if (al >= 2 && a[0] == '[' && a[al - 1] == ']') {
            if (strlen(host) == al - 2 && strncasecmp(a + 1, host, al - 2) == 0)
                return 1;
        } else if (strcasecmp(a, host) == 0) {
            return 1;
        }
    }
    return 0;
}
