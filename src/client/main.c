/* load-client: start, follow, stop and judge load tests through the
 * orchestrator's REST API; with no command it asks the original client's
 * questions. */
#define _GNU_SOURCE /* fopencookie */
#include "commands.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Standard output goes through this stream so that the first failed write
 * is remembered with its errno: glibc keeps only an error flag, and a later
 * call may overwrite errno long before the end. */
static int main_out_errno;

static ssize_t main_out_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(STDOUT_FILENO, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (!main_out_errno)
                main_out_errno = w < 0 ? errno : EIO;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

static int main_out_close(void *cookie)
{
    (void)cookie;
    if (close(STDOUT_FILENO) != 0 && errno != EBADF) {
        if (!main_out_errno)
            main_out_errno = errno;
        return -1;
    }
    return 0;
}

static void main_wrap_stdout(void)
{
    cookie_io_functions_t io = {
        .read = NULL, .write = main_out_write, .seek = NULL, .close = main_out_close};
    fflush(stdout);
    FILE *f = fopencookie(NULL, "w", io);
    if (!f)
        return; /* stdout as it is: errors are then reported without errno */
    /* As glibc would buffer it: by lines at a terminal, in blocks otherwise. */
    setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
    stdout = f; /* stdout is an ordinary variable in glibc */
}

/* Everything printed must have reached standard output: a full disk, a
 * closed pipe or /dev/full is an error, not a silent success. Returns the
 * exit status. */
static int main_close_stdout(int rc)
{
    int bad = fflush(stdout) != 0;
    bad |= ferror(stdout) != 0;
    bad |= fclose(stdout) != 0;
    if (!bad || rc != 0)
        return rc; /* a failed command has said why already */
    fprintf(stderr, CLIENT_PROG ": cannot write to standard output: %s\n",
            strerror(main_out_errno ? main_out_errno : EIO));
    return 1;
}

int main(int argc, char **argv)
{
    main_wrap_stdout();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, CLIENT_PROG ": cannot initialise libcurl\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int rc = commands_main(argc, argv);
    curl_global_cleanup();
    return main_close_stdout(rc);
}
