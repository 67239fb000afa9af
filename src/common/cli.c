#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

#include "log.h"

static const char *cli_prog = "dlt";
static void (*cli_usage)(FILE *out);

void cli_init(const char *prog, void (*usage)(FILE *out))
{
    cli_prog = prog;
    cli_usage = usage;
}

void cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (try --help)\n");
    va_end(ap);
    exit(2);
}

void cli_other_option(int c, int log_opt, const char *arg, char **argv)
{
    if (c == log_opt) {
        enum log_level lv;
        if (log_parse_level(arg, &lv))
            cli_usage_error("--log-level: unknown level '%s'", arg);
        log_set_level(lv);
        return;
    }
    switch (c) {
    case 'h':
        if (cli_usage)
            cli_usage(stdout);
        exit(0);
    case 'V':
        printf("%s %s\n", cli_prog, DLT_VERSION);
        exit(0);
    case ':':
        cli_usage_error("option %s needs a value", argv[optind - 1]);
    default:
        cli_usage_error("unknown option '%s'", argv[optind - 1]);
    }
}

void cli_no_operands(int argc, char **argv)
{
    if (optind < argc)
        cli_usage_error("unexpected argument '%s'", argv[optind]);
}

void cli_block_stop_signals(sigset_t *stop)
{
    sigemptyset(stop);
    sigaddset(stop, SIGINT);
    sigaddset(stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, stop, NULL);
    signal(SIGPIPE, SIG_IGN);
}
