/* curl_loop: the bare libcurl multi loop the driver is measured against.
 *
 *   curl_loop URL REQUESTS CONNECTIONS
 *
 * One thread, curl_multi_socket_action over epoll, CONNECTIONS easy handles
 * reused for REQUESTS GETs in all, bodies discarded. It does nothing but
 * requests: no schedule, no histogram, no reporting. The settings are the
 * ones that decide throughput (MAXCONNECTS >= handles, NOSIGNAL, PROXY "",
 * a discarding write callback). Prints one line:
 *   requests=N errors=E seconds=S rps=R */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

static int epfd;
static long timeout_ms = -1;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sp)
{
    (void)e;
    CURLM *m = u;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(m, s, NULL);
        return 0;
    }
    struct epoll_event ev = {.data.fd = s};
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    if (sp) {
        epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
    } else {
        epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
        curl_multi_assign(m, s, m);
    }
    return 0;
}

static int on_timer(CURLM *m, long ms, void *u)
{
    (void)m;
    (void)u;
    timeout_ms = ms;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: curl_loop URL REQUESTS CONNECTIONS\n");
        return 2;
    }
    const char *url = argv[1];
    long total = atol(argv[2]), conns = atol(argv[3]);
    if (total < 1 || conns < 1 || conns > 100000) {
        fprintf(stderr, "curl_loop: REQUESTS and CONNECTIONS must be >= 1\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    epfd = epoll_create1(0);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns);
    long started = 0, done = 0, errors = 0;
    CURL **h = calloc((size_t)conns, sizeof *h);
    for (long i = 0; i < conns && started < total; i++, started++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_PROXY, "");
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
        curl_multi_add_handle(m, h[i]);
    }
    double t0 = now_s();
    int running = 0;
    struct epoll_event evs[128];
    while (done < total) {
        int n = epoll_wait(epfd, evs, 128, (int)timeout_ms);
        if (n == 0) {
            timeout_ms = -1;
            curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        for (int i = 0; i < n; i++) {
            int f = 0;
            if (evs[i].events & EPOLLIN)
                f |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                f |= CURL_CSELECT_OUT;
            if (evs[i].events & (EPOLLERR | EPOLLHUP))
                f |= CURL_CSELECT_ERR;
            curl_multi_socket_action(m, evs[i].data.fd, f, &running);
        }
        for (;;) {
            if (timeout_ms == 0) {
                timeout_ms = -1;
                curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
            }
            CURLMsg *msg;
            int left, readded = 0;
            while ((msg = curl_multi_info_read(m, &left))) {
                if (msg->msg != CURLMSG_DONE)
                    continue;
                CURL *e = msg->easy_handle;
                long code = 0;
                curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
                if (msg->data.result != CURLE_OK || code != 200)
                    errors++;
                done++;
                curl_multi_remove_handle(m, e);
                if (started < total) {
                    started++;
                    curl_multi_add_handle(m, e);
                    readded = 1;
                }
            }
            /* Start re-added transfers at once, as the driver does. */
            if (!readded || timeout_ms != 0)
                break;
        }
    }
    double secs = now_s() - t0;
    printf("requests=%ld errors=%ld seconds=%.3f rps=%.0f\n", done, errors, secs,
           (double)done / secs);
    for (long i = 0; i < conns; i++) {
        if (h[i]) {
            curl_multi_remove_handle(m, h[i]);
            curl_easy_cleanup(h[i]);
        }
    }
    free(h);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
