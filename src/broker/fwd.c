#define _GNU_SOURCE
#include "fwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define FWD_BUF 65536

/* One direction of a connection pair: bytes read from `fd` wait in buf until
 * written to the peer. */
struct fwd_side {
    int fd;
    struct fwd_side *peer;
    struct fwd_pair *pair;
    char buf[FWD_BUF];
    size_t off, len; /* pending bytes read from fd, not yet written to peer */
    int eof;         /* fd has no more to read */
    int connecting;  /* upstream side: non-blocking connect in progress */
};

struct fwd_pair {
    struct fwd_side a, b;
    struct fwd_pair *prev, *next; /* every open pair, for shutdown */
};

/* Marks an event of the current batch whose pair was closed. */
static char fwd_skip;

struct fwd {
    int lfd, efd, wake;
    int port;
    struct sockaddr_storage up;
    socklen_t uplen;
    pthread_t thr;
    int started;
    struct fwd_pair *pairs;
};

static int fwd_fail(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, strerror(errno));
    return -1;
}

static int fwd_resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int fwd_create(const char *host, int port, const char *up_host, int up_port, struct fwd **out,
               char *err, size_t errlen)
{
    *out = NULL;
    struct fwd *f = calloc(1, sizeof *f);
    if (!f)
        return fwd_fail(err, errlen, "out of memory");
    f->lfd = f->efd = f->wake = -1;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (fwd_resolve(host, port, &ss, &sl) < 0) {
        snprintf(err, errlen, "cannot resolve listen address %s", host);
        free(f);
        return -1;
    }
    if (fwd_resolve(up_host, up_port, &f->up, &f->uplen) < 0) {
        snprintf(err, errlen, "cannot resolve upstream %s:%d", up_host, up_port);
        free(f);
        return -1;
    }
    f->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (f->lfd < 0 || setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        fwd_fail(err, errlen, "socket");
        fwd_destroy(f);
        return -1;
    }
    if (bind(f->lfd, (struct sockaddr *)&ss, sl) < 0) {
        char what[128];
        snprintf(what, sizeof what, "cannot listen on %s:%d", host, port);
        fwd_fail(err, errlen, what);
        fwd_destroy(f);
        return -1;
    }
    if (listen(f->lfd, SOMAXCONN) < 0) {
        fwd_fail(err, errlen, "listen");
        fwd_destroy(f);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    getsockname(f->lfd, (struct sockaddr *)&bound, &bl);
    f->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    f->efd = epoll_create1(EPOLL_CLOEXEC);
    f->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (f->efd < 0 || f->wake < 0) {
        fwd_fail(err, errlen, "epoll");
        fwd_destroy(f);
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(f->efd, EPOLL_CTL_ADD, f->lfd, &ev);
    ev.data.ptr = f; /* marks the wake-up fd */
    epoll_ctl(f->efd, EPOLL_CTL_ADD, f->wake, &ev);
    *out = f;
    return 0;
}

int fwd_port(const struct fwd *f)
{
    return f->port;
}

/* Recompute what each side of the pair waits for. */
static void fwd_arm(struct fwd *f, struct fwd_side *s)
{
    uint32_t want = 0;
    if (s->connecting) {
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
        epoll_ctl(f->efd, EPOLL_CTL_MOD, s->fd, &ev);
        return;
    }
    if (!s->eof && s->len == 0)
        want |= EPOLLIN; /* room to read more */
    if (s->peer->len > 0)
        want |= EPOLLOUT; /* the peer's bytes wait to be written to us */
    struct epoll_event ev = {.events = want, .data.ptr = s};
    epoll_ctl(f->efd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void fwd_close_pair(struct fwd *f, struct fwd_pair *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        f->pairs = p->next;
    if (p->next)
        p->next->prev = p->prev;
    epoll_ctl(f->efd, EPOLL_CTL_DEL, p->a.fd, NULL);
    epoll_ctl(f->efd, EPOLL_CTL_DEL, p->b.fd, NULL);
    close(p->a.fd);
    close(p->b.fd);
    free(p);
}

static void fwd_accept(struct fwd *f)
{
    for (;;) {
        int cfd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        /* Never block this thread on a connect: the upstream's accept
         * queue can be full for a moment when many clients start at once,
         * and every other connection would wait meanwhile. */
        int ufd = socket(f->up.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int connecting = 0;
        if (ufd >= 0 && connect(ufd, (struct sockaddr *)&f->up, f->uplen) < 0) {
            if (errno == EINPROGRESS) {
                connecting = 1;
            } else {
                close(ufd);
                ufd = -1;
            }
        }
        if (ufd < 0) {
            close(cfd);
            continue;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct fwd_pair *p = calloc(1, sizeof *p);
        if (!p) {
            close(cfd);
            close(ufd);
            continue;
        }
        p->a.fd = cfd;
        p->b.fd = ufd;
        p->a.peer = &p->b;
        p->b.peer = &p->a;
        p->a.pair = p->b.pair = p;
        p->b.connecting = connecting;
        p->next = f->pairs;
        if (f->pairs)
            f->pairs->prev = p;
        f->pairs = p;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->a};
        epoll_ctl(f->efd, EPOLL_CTL_ADD, cfd, &ev);
        ev.events = connecting ? EPOLLOUT : EPOLLIN;
        ev.data.ptr = &p->b;
        epoll_ctl(f->efd, EPOLL_CTL_ADD, ufd, &ev);
    }
}

/* Handle readiness on side s. Returns -1 when the pair must close. */
static int fwd_service(struct fwd_side *s, uint32_t events)
{
    struct fwd_side *o = s->peer;
    if (s->connecting) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return 0;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
            return -1; /* upstream refused: drop the client too */
        s->connecting = 0;
        events &= ~(uint32_t)EPOLLOUT;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->eof && s->len == 0) {
        ssize_t n = read(s->fd, s->buf, sizeof s->buf);
        if (n > 0) {
            s->off = 0;
            s->len = (size_t)n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            s->eof = 1;
        }
    }
    /* Write what s holds to its peer, and what the peer holds to s. */
    struct fwd_side *dirs[2][2] = {{s, o}, {o, s}};
    for (int d = 0; d < 2; d++) {
        struct fwd_side *src = dirs[d][0], *dst = dirs[d][1];
        if (dst->connecting)
            continue;
        while (src->len > 0) {
            ssize_t w = write(dst->fd, src->buf + src->off, src->len);
            if (w > 0) {
                src->off += (size_t)w;
                src->len -= (size_t)w;
            } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                break;
            } else {
                return -1;
            }
        }
        if (src->eof && src->len == 0)
            shutdown(dst->fd, SHUT_WR);
    }
    if ((s->eof && s->len == 0 && o->eof && o->len == 0) || (events & EPOLLERR))
        return -1;
    return 0;
}

static void *fwd_main(void *arg)
{
    struct fwd *f = arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(f->efd, evs, 64, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == f)
                return NULL; /* woken to stop */
            if (ptr == &fwd_skip)
                continue;
            if (ptr == NULL) {
                fwd_accept(f);
                continue;
            }
            struct fwd_side *s = ptr;
            struct fwd_pair *p = s->pair;
            if (fwd_service(s, evs[i].events) < 0) {
                /* Other events of this batch may name the closed pair: drop
                 * them before freeing it. */
                for (int k = i + 1; k < n; k++)
                    if (evs[k].data.ptr == &p->a || evs[k].data.ptr == &p->b)
                        evs[k].data.ptr = &fwd_skip;
                fwd_close_pair(f, p);
                continue;
            }
            fwd_arm(f, &p->a);
            fwd_arm(f, &p->b);
        }
    }
    return NULL;
}

int fwd_start(struct fwd *f, char *err, size_t errlen)
{
    int rc = pthread_create(&f->thr, NULL, fwd_main, f);
    if (rc) {
        errno = rc;
        return fwd_fail(err, errlen, "pthread_create");
    }
    f->started = 1;
    return 0;
}

void fwd_destroy(struct fwd *f)
{
    if (!f)
        return;
    if (f->started) {
        uint64_t one = 1;
        ssize_t w = write(f->wake, &one, sizeof one);
        (void)w;
        pthread_join(f->thr, NULL);
    }
    while (f->pairs)
        fwd_close_pair(f, f->pairs);
    if (f->lfd >= 0)
        close(f->lfd);
    if (f->efd >= 0)
        close(f->efd);
    if (f->wake >= 0)
        close(f->wake);
    free(f);
}
