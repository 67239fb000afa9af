/* load-client: start, follow, stop and judge load tests through the
 * orchestrator's REST API; with no command it asks the original client's
 * questions. */
#define _POSIX_C_SOURCE 200809L
#include "commands.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, CLIENT_PROG ": cannot initialise libcurl\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int rc = commands_main(argc, argv);
    curl_global_cleanup();
    return rc;
}
