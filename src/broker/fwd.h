/* fwd: a TCP forwarder. Every connection accepted on the listening address
 * is joined to a new connection to the upstream address, and bytes are
 * copied both ways until either side closes. One thread, epoll.
 *
 * load-broker uses it to put librdkafka's mock cluster (which listens on a
 * random port) behind a fixed bootstrap address. */
#ifndef DLT_FWD_H
#define DLT_FWD_H

#include <stddef.h>

struct fwd;

/* Listen on host:port (port 0 picks a free one) and forward to
 * up_host:up_port. Returns 0, or -1 with err; *out is NULL on failure. */
int fwd_create(const char *host, int port, const char *up_host, int up_port, struct fwd **out,
               char *err, size_t errlen);
/* The port actually bound. */
int fwd_port(const struct fwd *f);
/* Start the forwarding thread. Returns 0 or -1 with err. */
int fwd_start(struct fwd *f, char *err, size_t errlen);
/* Stop the thread, close every connection and free. Accepts NULL. */
void fwd_destroy(struct fwd *f);

#endif
