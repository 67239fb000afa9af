/* commands: load-client's command line, from argv to an exit status.
 *
 * Exit status: 0 success (the test passed and every threshold held);
 * 1 a threshold was breached, the test ended FAILED, PARTIAL or ABORTED, or
 * the orchestrator could not be reached or answered an error; 2 bad usage or
 * input. Every failure writes one line "load-client: ..." on stderr. */
#ifndef DLT_CLIENT_COMMANDS_H
#define DLT_CLIENT_COMMANDS_H

#define CLIENT_PROG "load-client"
#define CLIENT_DEFAULT_URL "http://127.0.0.1:8080"

/* Parse argv and run the command. Returns the exit status. libcurl must be
 * initialised. While `start --wait` follows a test it handles SIGINT: the
 * first asks the orchestrator to stop the test, a second gives up. */
int commands_main(int argc, char **argv);

#endif
