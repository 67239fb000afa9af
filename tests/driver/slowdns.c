/* getaddrinfo for tests, preloaded (LD_PRELOAD) into a driver: a lookup of
 * the name in DLT_SLOWDNS_NAME takes DLT_SLOWDNS_MS milliseconds, as with a
 * name server that lost the first queries, then answers 127.0.0.1. Every
 * other lookup, and every numeric-only one (AI_NUMERICHOST), is the real
 * one. Each slow lookup appends "start MS THREAD" and "end MS THREAD"
 * (wall clock, and the name of the thread that looked up) to the file
 * DLT_SLOWDNS_LOG. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

static void note(const char *what)
{
    const char *path = getenv("DLT_SLOWDNS_LOG");
    if (!path)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char thread[32] = "?";
    pthread_getname_np(pthread_self(), thread, sizeof thread);
    char line[96];
    int n = snprintf(line, sizeof line, "%s %lld %s\n", what,
                     (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, thread);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n)
            n = 0;
        close(fd);
    }
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    gai_fn real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    const char *name = getenv("DLT_SLOWDNS_NAME");
    if (!real)
        return EAI_SYSTEM;
    if (!node || !name || strcmp(node, name) != 0 || (hints && (hints->ai_flags & AI_NUMERICHOST)))
        return real(node, service, hints, res);
    note("start");
    long ms = getenv("DLT_SLOWDNS_MS") ? atol(getenv("DLT_SLOWDNS_MS")) : 0;
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
    note("end");
    return real("127.0.0.1", service, hints, res);
}
