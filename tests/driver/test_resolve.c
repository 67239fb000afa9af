/* resolve: answers kept fresh, lookups waited for with the caller's wait
 * function, timeouts, old answers when a lookup fails, refresh and forget.
 * The lookup and the clock of the answers' ages are the test's own. */
#define _GNU_SOURCE
#include "resolve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* The fake lookup: answers 10.0.0.<answer>, or fails, after delay_ms or
 * once released (delay_ms < 0). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int calls, ended, answer = 1, fail, released;
static int delay_ms;
static char last_host[256], last_port[16];
static int64_t fake_now = 1000000000;

static void reset(void)
{
    pthread_mutex_lock(&mu);
    calls = ended = fail = released = 0;
    answer = 1;
    delay_ms = 0;
    last_host[0] = last_port[0] = '\0';
    pthread_mutex_unlock(&mu);
}

static int64_t now_us(void)
{
    pthread_mutex_lock(&mu);
    int64_t t = fake_now;
    pthread_mutex_unlock(&mu);
    return t;
}

static void advance(int64_t us)
{
    pthread_mutex_lock(&mu);
    fake_now += us;
    pthread_mutex_unlock(&mu);
}

static int lookup(const char *host, const char *port, struct resolved *out, char *err,
                  size_t errlen)
{
    pthread_mutex_lock(&mu);
    calls++;
    snprintf(last_host, sizeof last_host, "%s", host);
    snprintf(last_port, sizeof last_port, "%s", port);
    int d = delay_ms;
    if (d < 0) {
        while (!released)
            pthread_cond_wait(&cv, &mu);
    }
    pthread_mutex_unlock(&mu);
    if (d > 0)
        usleep((useconds_t)d * 1000);
    pthread_mutex_lock(&mu);
    int f = fail, a = answer;
    ended++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (f) {
        snprintf(err, errlen, "cannot resolve %s: Temporary failure in name resolution", host);
        return -1;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    sin.sin_addr.s_addr = htonl(0x0a000000u | (uint32_t)a);
    memset(out, 0, sizeof *out);
    memcpy(&out->addr[0], &sin, sizeof sin);
    out->len[0] = sizeof sin;
    out->n = 1;
    return 0;
}

/* Let a lookup that waits for it (delay_ms < 0) end. */
static void release(void)
{
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static int get_calls(void)
{
    pthread_mutex_lock(&mu);
    int c = calls;
    pthread_mutex_unlock(&mu);
    return c;
}

/* Wait (at most 10 s) until the fake lookup has ended n times. */
static void wait_ended(int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (ended < n && pthread_cond_timedwait(&cv, &mu, &ts) == 0)
        ;
    int e = ended;
    pthread_mutex_unlock(&mu);
    assert_true(e >= n);
}

/* Wait (at most 10 s) until r runs no lookup: the fake one has ended n
 * times and r has taken each answer. */
static void wait_idle(struct resolver *r, int n)
{
    wait_ended(n);
    for (int i = 0; i < 10000 && resolver_running(r) > 0; i++)
        usleep(1000);
    assert_int_equal(resolver_running(r), 0);
}

static int last_octet(const struct resolved *r)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&r->addr[0];
    return (int)(ntohl(sin->sin_addr.s_addr) & 0xff);
}

static const struct resolver_ops ops = {lookup, now_us};

static int waits;
static void count_wait(void *arg)
{
    (void)arg;
    waits++;
}

static void test_address(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    struct resolved out;
    char err[256];
    assert_int_equal(resolver_get(r, "127.0.0.1", "8081", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(resolver_get(r, "::1", "80", 1000, NULL, &out, err, sizeof err), 0);
    resolver_want(r, "127.0.0.2", "80");
    resolver_want_url(r, "http://[::1]:8081/x");
    resolver_want_url(r, "http://127.0.0.1:8081/x");
    resolver_want_url(r, "ftp://name.test/x");
    resolver_want_url(r, "not a url");
    assert_int_equal(get_calls(), 0);
    resolver_free(r);
}

static void test_fresh(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    struct resolved out;
    char err[256];
    assert_int_equal(resolver_get(r, "name.test", "8081", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(get_calls(), 1);
    assert_string_equal(last_host, "name.test");
    assert_string_equal(last_port, "8081");
    assert_int_equal(last_octet(&out), 1);
    /* Fresh: no lookup. */
    answer = 2;
    advance(RESOLVE_FRESH_US - 1000000);
    assert_int_equal(resolver_get(r, "name.test", "8081", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(get_calls(), 1);
    assert_int_equal(last_octet(&out), 1);
    /* Another port is another name. */
    assert_int_equal(resolver_get(r, "name.test", "80", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(get_calls(), 2);
    /* Past RESOLVE_FRESH_US: looked up again, the new answer taken. */
    advance(2000000);
    assert_int_equal(resolver_get(r, "name.test", "8081", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(get_calls(), 3);
    assert_int_equal(last_octet(&out), 2);
    resolver_free(r);
}

/* A slow lookup is waited for, and the wait function runs meanwhile. */
static void test_wait(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    struct resolved out;
    char err[256];
    delay_ms = 800;
    waits = 0;
    struct resolve_wait w = {count_wait, NULL};
    assert_int_equal(resolver_get(r, "slow.test", "80", 10000, &w, &out, err, sizeof err), 0);
    assert_int_equal(last_octet(&out), 1);
    /* Every 100 ms: some eight times; at least a few however busy. */
    assert_true(waits >= 3);
    resolver_free(r);
}

/* No answer within the timeout, and none before: an error that says so. */
static void test_timeout(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    struct resolved out;
    char err[256] = "";
    delay_ms = -1;
    assert_int_equal(resolver_get(r, "stuck.test", "80", 300, NULL, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "looking up stuck.test took over 0.3 s"));
    /* The lookup still runs; a second ask waits for that one, not another. */
    assert_int_equal(resolver_get(r, "stuck.test", "80", 100, NULL, &out, err, sizeof err), -1);
    assert_int_equal(get_calls(), 1);
    release();
    wait_idle(r, 1);
    resolver_free(r);
}

/* A failed lookup with no answer before: its error. With one: the old
 * answer, also while a lookup is still running. */
static void test_stale(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    struct resolved out;
    char err[256] = "";
    fail = 1;
    assert_int_equal(resolver_get(r, "gone.test", "80", 1000, NULL, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot resolve gone.test: Temporary failure"));
    fail = 0;
    advance(RESOLVE_FRESH_US + 1);
    assert_int_equal(resolver_get(r, "gone.test", "80", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(last_octet(&out), 1);
    /* Old, and the lookup fails: the old answer. */
    advance(RESOLVE_FRESH_US + 1);
    fail = 1;
    answer = 3;
    assert_int_equal(resolver_get(r, "gone.test", "80", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(last_octet(&out), 1);
    /* Old, and the lookup hangs: the old answer, before the lookup ends,
     * and long before the 60 s asked for. */
    fail = 0;
    delay_ms = -1;
    advance(RESOLVE_FRESH_US + 1);
    assert_int_equal(resolver_get(r, "gone.test", "80", 60000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(last_octet(&out), 1);
    pthread_mutex_lock(&mu);
    int still = ended;
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    assert_int_equal(still, 3);
    wait_idle(r, 4);
    /* The hung lookup's answer, once it came, is fresh. */
    assert_int_equal(resolver_get(r, "gone.test", "80", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(last_octet(&out), 3);
    assert_int_equal(get_calls(), 4);
    resolver_free(r);
}

/* resolver_refresh looks up again what is old, and forgets what nobody
 * asked for in RESOLVE_KEEP_US. */
static void test_refresh(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    struct resolved out;
    char err[256] = "";
    resolver_want_url(r, "http://target.test:8081/ping");
    wait_idle(r, 1);
    assert_string_equal(last_host, "target.test");
    assert_string_equal(last_port, "8081");
    resolver_refresh(r); /* young: nothing */
    assert_int_equal(get_calls(), 1);
    advance(RESOLVE_REFRESH_US);
    answer = 4;
    resolver_refresh(r);
    wait_idle(r, 2);
    resolver_refresh(r); /* just looked up: nothing */
    assert_int_equal(get_calls(), 2);
    assert_int_equal(resolver_get(r, "target.test", "8081", 1000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(last_octet(&out), 4);
    assert_int_equal(get_calls(), 2);
    /* Not asked for in RESOLVE_KEEP_US: forgotten, so that a failed lookup
     * has no old answer to fall back on. */
    advance(RESOLVE_KEEP_US + 1);
    resolver_refresh(r);
    assert_int_equal(get_calls(), 2);
    fail = 1;
    assert_int_equal(resolver_get(r, "target.test", "8081", 1000, NULL, &out, err, sizeof err), -1);
    /* A name with no answer is asked again, but not at every refresh. */
    resolver_refresh(r);
    assert_int_equal(get_calls(), 3);
    advance(6000000);
    resolver_refresh(r);
    wait_idle(r, 4);
    resolver_free(r);
}

/* Freed while a lookup runs: the lookup ends on its own (ASan sees to the
 * memory). */
static void test_free_while_looking(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    delay_ms = -1;
    resolver_want(r, "late.test", "80");
    resolver_free(r);
    release();
    wait_ended(1);
    usleep(100000); /* the lookup thread's last steps after its lookup */
}

/* Many names: sixteen slots, each name still answered. */
static void test_many(void **state)
{
    (void)state;
    reset();
    struct resolver *r = resolver_new_with(&ops);
    struct resolved out;
    char err[256], name[32];
    for (int i = 0; i < 3 * RESOLVE_ENTRIES; i++) {
        snprintf(name, sizeof name, "n%d.test", i);
        assert_int_equal(resolver_get(r, name, "80", 1000, NULL, &out, err, sizeof err), 0);
    }
    assert_int_equal(get_calls(), 3 * RESOLVE_ENTRIES);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(resolver_get(r, longname, "80", 1000, NULL, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "too long"));
    resolver_free(r);
}

/* The host and port of a URL, its template after the host unread. */
static void test_url_parts(void **state)
{
    (void)state;
    char host[256], port[16];
    assert_int_equal(
        resolve_url_parts("http://name.test:8081/u?{{seq}}", host, sizeof host, port, sizeof port),
        0);
    assert_string_equal(host, "name.test");
    assert_string_equal(port, "8081");
    assert_int_equal(resolve_url_parts("https://h.test", host, sizeof host, port, sizeof port), 0);
    assert_string_equal(host, "h.test");
    assert_string_equal(port, "443");
    assert_int_equal(
        resolve_url_parts("http://u:p@h.test/{{a b}}", host, sizeof host, port, sizeof port), 0);
    assert_string_equal(host, "h.test");
    assert_string_equal(port, "80");
    assert_int_equal(resolve_url_parts("http://[::1]:9/", host, sizeof host, port, sizeof port), 0);
    assert_string_equal(host, "::1");
    assert_string_equal(port, "9");
    assert_int_equal(resolve_url_parts("ftp://h.test/", host, sizeof host, port, sizeof port), -1);
    assert_int_equal(resolve_url_parts("h.test/x", host, sizeof host, port, sizeof port), -1);
    assert_int_equal(resolve_url_parts(NULL, host, sizeof host, port, sizeof port), -1);
    assert_int_equal(resolve_url_parts("http://name.test/", host, 4, port, sizeof port), -1);
}

/* The real lookup, of an address and of localhost. */
static void test_real(void **state)
{
    (void)state;
    struct resolver *r = resolver_new();
    struct resolved out;
    char err[256];
    assert_int_equal(resolver_get(r, "127.0.0.1", "80", 5000, NULL, &out, err, sizeof err), 0);
    assert_int_equal(resolve_now("127.0.0.1", "80", &out, err, sizeof err), 0);
    assert_true(out.n >= 1);
    assert_int_equal(resolver_get(r, "localhost", "80", 5000, NULL, &out, err, sizeof err), 0);
    assert_true(out.n >= 1);
    resolver_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_fresh),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_free_while_looking),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_url_parts),
        cmocka_unit_test(test_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
