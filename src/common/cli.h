/* cli: the command-line conventions every server program shares.
 *
 * A usage error is one line on stderr, "PROG: reason (try --help)", and exit
 * status 2. -h/--help prints the program's help on stdout and exits 0;
 * -V/--version prints "PROG VERSION" and exits 0; --log-level sets the log
 * level. Like log, this module writes; unlike every other module in
 * src/common it also exits, so only main-level option parsing calls it. */
#ifndef DLT_CLI_H
#define DLT_CLI_H

#include <signal.h>
#include <stdio.h>

/* Name the program (borrowed; keep it alive) and its help printer.
 * Call before cli_usage_error or cli_other_option. */
void cli_init(const char *prog, void (*usage)(FILE *out));

/* "PROG: <fmt...> (try --help)" on stderr, then exit(2). */
__attribute__((format(printf, 1, 2), noreturn)) void cli_usage_error(const char *fmt, ...);

/* The default branch of a getopt_long(":...hV...") switch: handles -h, -V,
 * log_opt (the program's id for --log-level, value in arg) and getopt's
 * ':' (a missing value) and '?' (an unknown option). Any other c is an
 * unknown option too. Returns only for log_opt with a known level. */
void cli_other_option(int c, int log_opt, const char *arg, char **argv);

/* A usage error when operands are left after the options (argv[optind]). */
void cli_no_operands(int argc, char **argv);

/* Block SIGINT and SIGTERM in the calling thread, so that every thread it
 * starts afterwards inherits the mask and only the caller's sigwait(*stop)
 * receives them; ignore SIGPIPE. Call before any library starts a thread. */
void cli_block_stop_signals(sigset_t *stop);

#endif
