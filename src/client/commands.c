#define _DEFAULT_SOURCE /* TIOCGWINSZ */
#include "commands.h"

#include "http.h"
#include "ids.h"
#include "interactive.h"
#include "jget.h"
#include "msg.h"
#include "opts.h"
#include "report.h"
#include "shape.h"
#include "startcfg.h"
#include "stats.h"
#include "threshold.h"
#include "view.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CL_MAX_THRESHOLDS 32
#define CL_DEFAULT_HTTP_TIMEOUT_MS 10000

#define CL_TOKEN_MAX 512

struct cl_global {
    const char *url;
    const char *token;
    char token_buf[1024]; /* read from --api-token-file */
    long timeout_ms;
    int json;
};

/* Option codes shared by every command's option table. */
enum {
    OPT_URL = 256,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_JSON,
    OPT_HTTP_TIMEOUT,
    OPT_WAIT,
    OPT_THRESHOLD,
    OPT_WAIT_TIMEOUT,
    OPT_FORMAT,
    OPT_OUTPUT,
    OPT_LIMIT,
    OPT_START_FLAG /* start's test_config flags: the flag name is looked up */
};

#define CL_GLOBAL_LONGOPTS                                                                         \
    {"orchestrator", required_argument, NULL, OPT_URL},                                            \
        {"api-token", required_argument, NULL, OPT_TOKEN},                                         \
        {"api-token-file", required_argument, NULL, OPT_TOKEN_FILE},                               \
        {"json", no_argument, NULL, OPT_JSON},                                                     \
        {"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},                               \
        {"help", no_argument, NULL, 'h'},                                                          \
    {                                                                                              \
        "version", no_argument, NULL, 'V'                                                          \
    }

static const char cl_global_help[] =
    "Global options (before or after the command):\n"
    "  --orchestrator URL   the orchestrator's base URL (env DLT_ORCHESTRATOR,\n"
    "                       default " CLIENT_DEFAULT_URL ")\n"
    "  --api-token TOKEN    sent as 'Authorization: Bearer TOKEN' (env DLT_API_TOKEN,\n"
    "                       default none); on the command line every local user\n"
    "                       can read it: prefer --api-token-file or the variable\n"
    "  --api-token-file FILE  the token from the first line of FILE (a trailing\n"
    "                       newline stripped); the last of the two options wins\n"
    "  --json               machine output: the API's JSON documents (default off)\n"
    "  --timeout DURATION   limit for each call to the orchestrator (default 10s; a\n"
    "                       bare number is seconds). Before the command only: after\n"
    "                       'start', --timeout is the test's request timeout.\n"
    "  --http-timeout DURATION  the same, anywhere on the line (default 10s)\n"
    "  -h, --help           show help and exit ('load-client COMMAND --help')\n"
    "  -V, --version        show the version and exit\n";

static void cl_usage_main(FILE *out)
{
    fprintf(out,
            "Usage: " CLIENT_PROG " [GLOBAL OPTIONS] [COMMAND [ARGS]]\n"
            "\n"
            "Starts, follows, stops and judges load tests through the orchestrator's\n"
            "REST API. With no command it asks, as the original client did, for the test\n"
            "type, the messages per driver and (Tsunami) the delay, and starts the test.\n"
            "\n"
            "Commands:\n"
            "  start [OPTIONS]      start a test; --wait follows it and prints a summary\n"
            "  status ID            a test's state and figures\n"
            "  list                 the tests, newest first\n"
            "  drivers              the driver nodes the orchestrator knows\n"
            "  stop ID              stop a running test\n"
            "  report ID --format json|csv|html [--output FILE]\n"
            "                       a test's report\n"
            "  help [COMMAND]       show help\n"
            "\n"
            "%s"
            "\n"
            "Exit status: 0 success; 1 a threshold was breached, the test ended FAILED,\n"
            "PARTIAL or ABORTED, or the orchestrator could not be reached or answered an\n"
            "error; 2 bad usage or input.\n",
            cl_global_help);
}

static void cl_usage_start(FILE *out)
{
    fprintf(out,
            "Usage: " CLIENT_PROG " start [OPTIONS]\n"
            "\n"
            "Start a test on the drivers the orchestrator knows (POST /api/tests) and print\n"
            "its id. With --wait, follow it to its end (a progress bar on a terminal, a line\n"
            "per second otherwise), print a summary table per driver and for all drivers,\n"
            "and judge the thresholds.\n"
            "\n"
            "Test options:\n"
            "  -f, --file FILE      a test definition: the fields of POST /api/tests\n"
            "                       (docs/TESTS.md) as a JSON object or in YAML (a .yaml\n"
            "                       or .yml name, or text not starting with '{'), at\n"
            "                       most 1 MiB; options after it override its fields\n"
            "  --type TYPE          avalanche (closed loop) or tsunami (open loop)\n"
            "                       (default avalanche)\n"
            "  --count N            requests per driver, 1..1000000000 (default %d)\n"
            "                       (none by default with --duration or --stage)\n"
            "  --duration DURATION  end the test this long after its start (a bare number\n"
            "                       is seconds; 30s, 2m...); with --count, whichever comes\n"
            "                       first (default none)\n"
            "  --stage DURATION:TARGET  a linear ramp to TARGET over DURATION; repeatable,\n"
            "                       in order. TARGET is fleet-wide: requests/s for tsunami,\n"
            "                       requests in flight for avalanche, split among the\n"
            "                       drivers. Without --duration or --count the test ends\n"
            "                       with its last stage (default none)\n"
            "  --start-target X     the level the first stage starts from (default 0)\n"
            "  --keep-rate          tsunami: when a driver dies, the others take over its\n"
            "                       share of the fleet's rate (default off)\n"
            "  --data FILE          a CSV file (a header row of column names, then rows;\n"
            "                       at most 8 MiB, 1000000 rows, 64 columns) whose values\n"
            "                       a mix's requests take as {{column}}, a row per send\n"
            "                       in turn (default none)\n"
            "  --data-mode MODE     split: each driver gets its own slice of the rows;\n"
            "                       shared: every driver gets them all (default split)\n"
            "  --delay DURATION     tsunami: time between requests (a bare number is\n"
            "                       seconds; 10ms, 0.5s...); sent as test_message_delay\n"
            "                       in seconds (default none: needed unless --rate)\n"
            "  --url URL            target URL (default: each driver's --target)\n"
            "  --method METHOD      GET POST PUT DELETE PATCH HEAD OPTIONS (default GET,\n"
            "                       POST with a body)\n"
            "  --header 'Name: value'  a request header; repeatable (default none)\n"
            "  --body STRING        request body (default none)\n"
            "  --body-file PATH     request body from a file, at most 256 KiB\n"
            "  --concurrency N      requests in flight per driver (default 64)\n"
            "  --rate X             requests/s per driver; 0 = unbounded (default 0)\n"
            "  --timeout DURATION   per-request timeout (a bare number is ms; default 10s)\n"
            "  --drivers ID,ID...   run on exactly these node ids (default every alive\n"
            "                       driver)\n"
            "  --min-drivers N      wait until N drivers are alive (default 1)\n"
            "  --report-interval DURATION  drivers' metrics period, 100ms..60s (a bare\n"
            "                       number is ms; default 1s)\n"
            "  --http2              ask for HTTP/2 (default off)\n"
            "\n"
            "Following:\n"
            "  --wait               follow the test to its end, print the summary; exit 1\n"
            "                       unless it COMPLETED and the verdict the orchestrator\n"
            "                       stored says every threshold held\n"
            "  --threshold EXPR     a condition on the fleet-wide aggregate, sent with\n"
            "                       the test: the orchestrator judges it at every\n"
            "                       aggregate interval and at the end and stores the\n"
            "                       verdict; repeatable, at most 32. EXPR is\n"
            "                       METRIC OP VALUE: METRIC min mean median|p50 mode\n"
            "                       p90 p95 p99 p999 max (VALUE a duration: us, ms, s;\n"
            "                       bare = ms), errors (a count, or a %% of sent),\n"
            "                       error_rate (fraction or %%), checks (the %% of\n"
            "                       responses with status 2xx or 3xx), rps, sent,\n"
            "                       received; OP < <= > >=.\n"
            "                       e.g. 'p99<200ms' 'errors<1%%' 'checks>99%%'. On a\n"
            "                       figure the orchestrator reports as unknown (no\n"
            "                       driver sent it) a threshold is not met\n"
            "  --abort-on-fail      stop the whole test as soon as a threshold on a\n"
            "                       latency, errors, error_rate or checks breaks; it\n"
            "                       ends ABORTED with the breach as its reason\n"
            "  --wait-timeout DURATION  give up following after this long (a bare number\n"
            "                       is seconds; default none)\n"
            "\n"
            "Ctrl-C while following asks the orchestrator to stop the test; a second\n"
            "Ctrl-C leaves it running.\n"
            "\n"
            "%s",
            STARTCFG_DEFAULT_COUNT, cl_global_help);
}

static void cl_usage_status(FILE *out)
{
    fprintf(out,
            "Usage: " CLIENT_PROG " status ID [--threshold EXPR]...\n"
            "\n"
            "Show a test's state, config and figures per driver and for all drivers\n"
            "(GET /api/tests/ID). Exit status 1 when the test ended FAILED, PARTIAL or\n"
            "ABORTED, or a --threshold (see 'start --help') does not hold on the figures\n"
            "so far.\n"
            "\n"
            "%s",
            cl_global_help);
}

static void cl_usage_list(FILE *out)
{
    fprintf(out,
            "Usage: " CLIENT_PROG " list [--limit N]\n"
            "\n"
            "List the tests, newest first (GET /api/tests).\n"
            "\n"
            "  --limit N            at most N tests, 1..10000 (default 100)\n"
            "\n"
            "%s",
            cl_global_help);
}

static void cl_usage_drivers(FILE *out)
{
    fprintf(out,
            "Usage: " CLIENT_PROG " drivers\n"
            "\n"
            "List the driver nodes the orchestrator knows, with their liveness, state,\n"
            "heartbeat age and current test (GET /api/drivers).\n"
            "\n"
            "%s",
            cl_global_help);
}

static void cl_usage_stop(FILE *out)
{
    fprintf(out,
            "Usage: " CLIENT_PROG " stop ID\n"
            "\n"
            "Stop a running test (POST /api/tests/ID/stop): the drivers stop sending and\n"
            "send their final reports; the test ends ABORTED.\n"
            "\n"
            "%s",
            cl_global_help);
}

static void cl_usage_report(FILE *out)
{
    fprintf(out,
            "Usage: " CLIENT_PROG " report ID [--format json|csv|html] [--output FILE]\n"
            "\n"
            "Write a test's report (from GET /api/tests/ID and its /timeseries).\n"
            "\n"
            "  -f, --format FORMAT  json: the test object and its time series in one\n"
            "                       document; csv: one row per time-series point, for\n"
            "                       all drivers and each driver; html: one self-contained\n"
            "                       page with charts (default: from the --output name's\n"
            "                       extension, else json)\n"
            "  -o, --output FILE    write to FILE (default standard output)\n"
            "  --threshold EXPR     judge the test as 'status' does; verdicts go to\n"
            "                       stderr (repeatable)\n"
            "\n"
            "CSV columns: " REPORT_CSV_COLUMNS "\n"
            "\n"
            "%s",
            cl_global_help);
}

/* One line on stderr; returns 2. */
__attribute__((format(printf, 2, 3))) static int cl_usage_error(const char *cmd, const char *fmt,
                                                                ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, CLIENT_PROG ": ");
    vfprintf(stderr, fmt, ap);
    if (cmd)
        fprintf(stderr, " (try '" CLIENT_PROG " %s --help')\n", cmd);
    else
        fprintf(stderr, " (try '" CLIENT_PROG " --help')\n");
    va_end(ap);
    return 2;
}

/* One line on stderr; returns 1. */
__attribute__((format(printf, 1, 2))) static int cl_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, CLIENT_PROG ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static int cl_parse_http_timeout(const char *v, const char *flag, const char *cmd,
                                 struct cl_global *g)
{
    char why[200];
    int64_t us;
    if (opt_parse_duration_us(v, 1000000, 3600LL * 1000000, &us, why, sizeof why) < 0)
        return cl_usage_error(cmd, "%s: %s", flag, why);
    if (us < 1000)
        return cl_usage_error(cmd, "%s: must be at least 1ms", flag);
    g->timeout_ms = (long)(us / 1000);
    return 0;
}

/* Read the token from the first line of path into g. The token itself is
 * never quoted in a message. Returns 0, or 2 after a usage error. */
static int cl_token_file(const char *path, const char *cmd, struct cl_global *g)
{
    /* O_NONBLOCK: a FIFO with no writer reads as empty instead of waiting
     * for one forever; it is cleared once open. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return cl_usage_error(cmd, "--api-token-file %.200s: %s", path, strerror(errno));
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    char *buf = g->token_buf;
    size_t cap = sizeof g->token_buf - 1, n = 0;
    int err = 0;
    while (n < cap && !memchr(buf, '\n', n)) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            err = errno;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (err) {
        memset(buf, 0, sizeof g->token_buf);
        return cl_usage_error(cmd, "--api-token-file %.200s: %s", path,
                              err == EISDIR ? "is a directory" : strerror(err));
    }
    char *nl = memchr(buf, '\n', n);
    size_t len = nl ? (size_t)(nl - buf) : n;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    int rc = 0;
    if (!nl && n == cap)
        rc = cl_usage_error(cmd, "--api-token-file %.200s: the first line is too long", path);
    else if (len == 0)
        rc = cl_usage_error(cmd, "--api-token-file %.200s: the file is empty", path);
    else if (len > CL_TOKEN_MAX)
        rc = cl_usage_error(cmd, "--api-token-file %.200s: the API token must be 1..%d characters",
                            path, CL_TOKEN_MAX);
    for (size_t i = 0; rc == 0 && i < len; i++) {
        unsigned char ch = (unsigned char)buf[i];
        if (ch <= ' ' || ch == 0x7f)
            rc = cl_usage_error(cmd,
                                "--api-token-file %.200s: the API token may not hold spaces or "
                                "control characters",
                                path);
    }
    if (rc) {
        memset(buf, 0, sizeof g->token_buf);
        return rc;
    }
    memset(buf + len, 0, sizeof g->token_buf - len);
    g->token = buf;
    return 0;
}

/* Handle a global option met in any table. Returns 0 when handled, 2 after
 * a usage error, -1 when c is not a global option. */
static int cl_global_opt(int c, const char *arg, const char *cmd, struct cl_global *g)
{
    switch (c) {
    case OPT_URL:
        g->url = arg;
        return 0;
    case OPT_TOKEN:
        g->token = arg;
        return 0;
    case OPT_TOKEN_FILE:
        return cl_token_file(arg, cmd, g);
    case OPT_JSON:
        g->json = 1;
        return 0;
    case OPT_HTTP_TIMEOUT:
        return cl_parse_http_timeout(arg, "--http-timeout", cmd, g);
    default:
        return -1;
    }
}

static int cl_connect(const struct cl_global *g, struct http_client **h)
{
    char err[512];
    if (http_create(g->url, g->token, g->timeout_ms, h, err, sizeof err) < 0)
        return cl_usage_error(NULL, "--orchestrator: %s", err);
    return 0;
}

typedef int (*cl_shape_fn)(const cJSON *doc, char *err, size_t errlen);

/* A JSON call whose answer must have the shape that shape checks. Returns
 * 0 with *out set, or 1 after one line on stderr (*out NULL). */
static int cl_call(struct http_client *h, const char *method, const char *path, const cJSON *body,
                   cl_shape_fn shape, cJSON **out)
{
    char err[600];
    if (http_json(h, method, path, body, out, NULL, err, sizeof err) < 0)
        return cl_fail("%s", err);
    if (shape(*out, err, sizeof err) < 0) {
        cJSON_Delete(*out);
        *out = NULL;
        size_t plen = strcspn(path, "?");
        return cl_fail("the orchestrator's answer to %s %.*s is not as documented: %s", method,
                       (int)plen, path, err);
    }
    return 0;
}

static int cl_print_json(const cJSON *doc)
{
    char *text = cJSON_Print(doc);
    if (!text)
        return cl_fail("out of memory");
    puts(text);
    cJSON_free(text);
    fflush(stdout);
    return 0;
}

static int cl_check_id(const char *cmd, const char *id)
{
    if (!id_valid(id))
        return cl_usage_error(cmd, "'%.64s' is not a test id", id);
    return 0;
}

/* ---- thresholds ------------------------------------------------------------ */

struct cl_thresholds {
    struct threshold t[CL_MAX_THRESHOLDS];
    int n;
};

static int cl_add_threshold(struct cl_thresholds *th, const char *cmd, const char *arg)
{
    char err[300];
    if (th->n >= CL_MAX_THRESHOLDS)
        return cl_usage_error(cmd, "--threshold: at most %d thresholds", CL_MAX_THRESHOLDS);
    if (threshold_parse(arg, &th->t[th->n], err, sizeof err) < 0)
        return cl_usage_error(cmd, "--threshold: %s", err);
    th->n++;
    return 0;
}

/* Judge the thresholds on the test's aggregate. Returns how many failed. */
static int cl_judge(const cJSON *test, const struct cl_thresholds *th, FILE *out)
{
    struct stats st;
    struct thr_figures s;
    stats_from_json(jget_obj(test, "aggregate"), &st);
    stats_figures(&st, &s);
    int failed = 0;
    for (int i = 0; i < th->n; i++) {
        char line[300];
        struct thr_figures f;
        if (threshold_figures(&th->t[i], &s, stats_lookup_request, (void *)test, &f))
            threshold_verdict(&th->t[i], &f, line, sizeof line);
        else
            snprintf(line, sizeof line, "%s: unknown (the test has no request named %s)",
                     th->t[i].text, th->t[i].req);
        if (out)
            fprintf(out, "threshold %s\n", line);
        failed += !threshold_holds(&th->t[i], &f);
    }
    return failed;
}

/* {"test": <test>, "thresholds": [...], "passed": bool}; borrows test.
 * NULL when out of memory. */
static cJSON *cl_judged_json(const cJSON *test, const struct cl_thresholds *th, int passed)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return NULL;
    int ok = cJSON_AddItemReferenceToObject(doc, "test", (cJSON *)test);
    cJSON *arr = ok ? cJSON_AddArrayToObject(doc, "thresholds") : NULL;
    ok = arr != NULL;
    struct stats st;
    struct thr_figures whole;
    stats_from_json(jget_obj(test, "aggregate"), &st);
    stats_figures(&st, &whole);
    for (int i = 0; ok && i < th->n; i++) {
        const struct threshold *t = &th->t[i];
        struct thr_figures s;
        threshold_figures(t, &whole, stats_lookup_request, (void *)test, &s);
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "threshold", t->text) &&
             cJSON_AddStringToObject(o, "metric", t->name) &&
             cJSON_AddStringToObject(o, "op", threshold_op_text(t->op)) &&
             cJSON_AddNumberToObject(o, "value", t->value) &&
             (threshold_known(t, &s) ? cJSON_AddNumberToObject(o, "actual", threshold_actual(t, &s))
                                     : cJSON_AddNullToObject(o, "actual")) &&
             cJSON_AddBoolToObject(o, "passed", threshold_holds(t, &s));
    }
    ok = ok && cJSON_AddBoolToObject(doc, "passed", passed);
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* The exit status for a judged test, with its one line on stderr. A
 * threshold on a figure that is unknown counts as breached. */
static int cl_verdict_status(const cJSON *test, int breached, const struct cl_thresholds *th)
{
    const char *state = jget_str(test, "state", "?");
    const char *id = jget_str(test, "test_id", "?");
    if (stats_state_failed(state)) {
        const char *reason = jget_str(test, "reason", "");
        return cl_fail("test %s ended %s%s%s", id, state, *reason ? ": " : "", reason);
    }
    if (!breached)
        return 0;
    struct stats st;
    struct thr_figures s;
    stats_from_json(jget_obj(test, "aggregate"), &st);
    stats_figures(&st, &s);
    int unknown = 0;
    for (int i = 0; i < th->n; i++) {
        struct thr_figures f;
        threshold_figures(&th->t[i], &s, stats_lookup_request, (void *)test, &f);
        unknown += !threshold_known(&th->t[i], &f);
    }
    int nthr = th->n;
    if (unknown)
        return cl_fail("test %s: %d of %d threshold%s breached (%d on a figure that is unknown)",
                       id, breached, nthr, nthr == 1 ? "" : "s", unknown);
    return cl_fail("test %s: %d of %d threshold%s breached", id, breached, nthr,
                   nthr == 1 ? "" : "s");
}

/* The thresholds that did not hold in the verdict the orchestrator stored
 * with the test, so that the exit status agrees with what it shows; an
 * answer without a verdict (an orchestrator from before thresholds) keeps
 * the client's own count, judged. */
static int cl_stored_breaches(const cJSON *test, int judged)
{
    const cJSON *v = jget_obj(test, "verdict");
    const cJSON *arr = v ? cJSON_GetObjectItemCaseSensitive(v, "thresholds") : NULL;
    if (!cJSON_IsArray(arr))
        return judged;
    int breached = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        breached += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "holds"));
    }
    if (breached == 0 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "passed")))
        breached = 1;
    return breached;
}

/* ---- interactive --------------------------------------------------------- */

static int cl_cmd_interactive(const struct cl_global *g)
{
    int tty = isatty(STDIN_FILENO);
    struct interactive_answers a;
    char err[300];
    if (interactive_ask(stdin, tty ? stdout : NULL, tty, &a, err, sizeof err) < 0) {
        fprintf(stderr, CLIENT_PROG ": %s\n", err);
        return 2;
    }
    struct http_client *h = NULL;
    int rc = cl_connect(g, &h);
    if (rc)
        return rc;
    cJSON *body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "test_type", test_type_name(a.type)) ||
        !cJSON_AddNumberToObject(body, "test_message_delay", a.delay_s) ||
        !cJSON_AddNumberToObject(body, "message_count_per_driver", (double)a.count)) {
        cJSON_Delete(body);
        http_destroy(h);
        return cl_fail("out of memory");
    }
    cJSON *ans = NULL;
    if ((rc = cl_call(h, "POST", "/startLoadTest", body, shape_started, &ans)) != 0) {
        /* said */
    } else if (g->json) {
        rc = cl_print_json(ans);
    } else {
        const char *msg = jget_str(ans, "message", NULL);
        const char *id = jget_str(ans, "test_id", NULL);
        if (msg)
            printf("%s\n", msg);
        else if (id)
            printf("Load test started with Test ID: %s\n", id);
        else
            rc = cl_fail("the orchestrator's answer names no test id");
    }
    cJSON_Delete(ans);
    cJSON_Delete(body);
    http_destroy(h);
    return rc;
}

/* ---- start ----------------------------------------------------------------- */

static volatile sig_atomic_t cl_interrupts;

static void cl_on_sigint(int sig)
{
    (void)sig;
    if (cl_interrupts < 100)
        cl_interrupts++;
}

static int cl_start_follow(struct http_client *h, const struct cl_global *g, const char *id,
                           int64_t wait_ms, const struct cl_thresholds *th)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cl_on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    struct watch_opts wo = {.out = g->json ? NULL : stdout,
                            .tty = isatty(STDOUT_FILENO),
                            .max_ms = wait_ms,
                            .interrupts = &cl_interrupts};
    struct winsize ws;
    if (wo.tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
        wo.columns = ws.ws_col;
    cJSON *final = NULL;
    char err[700];
    int wrc = watch_test(h, id, &wo, &final, err, sizeof err);
    sigaction(SIGINT, &old, NULL);
    if (wrc < 0)
        return cl_fail("%s", err);
    int rc;
    if (g->json) {
        int breached = cl_stored_breaches(final, cl_judge(final, th, NULL));
        int passed = !breached && !stats_state_failed(jget_str(final, "state", ""));
        cJSON *doc = cl_judged_json(final, th, passed);
        rc = doc ? cl_print_json(doc) : cl_fail("out of memory");
        cJSON_Delete(doc);
        if (rc == 0)
            rc = cl_verdict_status(final, breached, th);
    } else {
        putchar('\n');
        if (view_summary(final, stdout) < 0) {
            cJSON_Delete(final);
            return cl_fail("cannot write the summary");
        }
        int breached = cl_stored_breaches(final, cl_judge(final, th, stdout));
        fflush(stdout);
        rc = cl_verdict_status(final, breached, th);
    }
    cJSON_Delete(final);
    return rc;
}

static int cl_cmd_start(int argc, char **argv, struct cl_global *g)
{
    static const struct option longopts[] = {
        {"type", required_argument, NULL, OPT_START_FLAG},
        {"count", required_argument, NULL, OPT_START_FLAG},
        {"delay", required_argument, NULL, OPT_START_FLAG},
        {"url", required_argument, NULL, OPT_START_FLAG},
        {"method", required_argument, NULL, OPT_START_FLAG},
        {"header", required_argument, NULL, OPT_START_FLAG},
        {"body", required_argument, NULL, OPT_START_FLAG},
        {"body-file", required_argument, NULL, OPT_START_FLAG},
        {"concurrency", required_argument, NULL, OPT_START_FLAG},
        {"rate", required_argument, NULL, OPT_START_FLAG},
        {"timeout", required_argument, NULL, OPT_START_FLAG},
        {"drivers", required_argument, NULL, OPT_START_FLAG},
        {"min-drivers", required_argument, NULL, OPT_START_FLAG},
        {"report-interval", required_argument, NULL, OPT_START_FLAG},
        {"http2", no_argument, NULL, OPT_START_FLAG},
        {"duration", required_argument, NULL, OPT_START_FLAG},
        {"stage", required_argument, NULL, OPT_START_FLAG},
        {"start-target", required_argument, NULL, OPT_START_FLAG},
        {"abort-on-fail", no_argument, NULL, OPT_START_FLAG},
        {"keep-rate", no_argument, NULL, OPT_START_FLAG},
        {"data", required_argument, NULL, OPT_START_FLAG},
        {"data-mode", required_argument, NULL, OPT_START_FLAG},
        {"file", required_argument, NULL, 'f'},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
        CL_GLOBAL_LONGOPTS,
        {NULL, 0, NULL, 0}};
    struct startcfg sc;
    startcfg_init(&sc);
    struct cl_thresholds th = {.n = 0};
    int wait = 0, rc = 0;
    int64_t wait_ms = 0;
    char err[600];
    int c, li = 0;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hVf:", longopts, &li)) != -1) {
        int grc = cl_global_opt(c, optarg, "start", g);
        if (grc >= 0) {
            rc = grc;
        } else if (c == OPT_START_FLAG) {
            if (startcfg_set(&sc, longopts[li].name, optarg, err, sizeof err) < 0)
                rc = cl_usage_error("start", "%s", err);
        } else if (c == OPT_WAIT) {
            wait = 1;
        } else if (c == OPT_THRESHOLD) {
            if (startcfg_set(&sc, "threshold", optarg, err, sizeof err) < 0)
                rc = cl_usage_error("start", "%s", err);
        } else if (c == 'f') {
            if (startcfg_load_file(&sc, optarg, err, sizeof err) < 0)
                rc = cl_usage_error("start", "%s", err);
        } else if (c == OPT_WAIT_TIMEOUT) {
            int64_t us = 0;
            if (opt_parse_duration_us(optarg, 1000000, 30LL * 86400 * 1000000, &us, err,
                                      sizeof err) < 0)
                rc = cl_usage_error("start", "--wait-timeout: %s", err);
            else
                wait_ms = us / 1000;
        } else if (c == 'h') {
            cl_usage_start(stdout);
            startcfg_close(&sc);
            return 0;
        } else if (c == 'V') {
            printf(CLIENT_PROG " %s\n", DLT_VERSION);
            startcfg_close(&sc);
            return 0;
        } else if (c == ':') {
            rc = cl_usage_error("start", "option %s needs a value", argv[optind - 1]);
        } else {
            rc = cl_usage_error("start", "unknown option '%s'", argv[optind - 1]);
        }
        if (rc) {
            startcfg_close(&sc);
            return rc;
        }
    }
    /* The thresholds of the flags and the file, for the lines printed at
     * the end; the stored verdict decides. */
    for (int i = 0; i < sc.n_thresholds && !rc; i++)
        rc = cl_add_threshold(&th, "start", sc.thresholds[i]);
    if (rc) {
        startcfg_close(&sc);
        return rc;
    }
    if (optind < argc)
        rc = cl_usage_error("start", "unexpected argument '%.64s' (start takes only options)",
                            argv[optind]);
    else if (wait_ms > 0 && !wait)
        rc = cl_usage_error("start", "--wait-timeout needs --wait");
    cJSON *body = NULL;
    if (!rc && startcfg_finish(&sc, &body, err, sizeof err) < 0)
        rc = cl_usage_error("start", "%s", err);
    startcfg_close(&sc);
    struct http_client *h = NULL;
    if (!rc)
        rc = cl_connect(g, &h);
    if (rc) {
        cJSON_Delete(body);
        return rc;
    }
    cJSON *ans = NULL;
    if ((rc = cl_call(h, "POST", "/api/tests", body, shape_test, &ans)) != 0)
        goto out;
    const char *id = jget_str(ans, "test_id", "");
    if (!id_valid(id)) {
        rc = cl_fail("the orchestrator's answer to POST /api/tests has no valid test_id");
        goto out;
    }
    if (!wait) {
        if (g->json)
            rc = cl_print_json(ans);
        else
            printf("Load test started with Test ID: %s\n", id);
        goto out;
    }
    if (!g->json) {
        printf("Load test started with Test ID: %s\n", id);
        fflush(stdout);
    }
    rc = cl_start_follow(h, g, id, wait_ms, &th);
out:
    cJSON_Delete(ans);
    cJSON_Delete(body);
    http_destroy(h);
    return rc;
}

/* ---- status, list, drivers, stop ----------------------------------------- */

/* Parse a command that takes globals, optional thresholds and positional
 * arguments (nargs of them). Returns 0, or the exit status to return. */
static int cl_parse_simple(int argc, char **argv, const char *cmd, int nargs, int thresholds,
                           void (*usage)(FILE *), struct cl_global *g, struct cl_thresholds *th,
                           int64_t *limit, const char **args)
{
    static const struct option longopts[] = {{"threshold", required_argument, NULL, OPT_THRESHOLD},
                                             {"limit", required_argument, NULL, OPT_LIMIT},
                                             {"timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
                                             CL_GLOBAL_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    int c, grc, rc = 0;
    char err[300];
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
        if (c == OPT_HTTP_TIMEOUT)
            rc = cl_parse_http_timeout(optarg, "--timeout", cmd, g);
        else if ((grc = cl_global_opt(c, optarg, cmd, g)) >= 0)
            rc = grc;
        else if (c == OPT_THRESHOLD && thresholds)
            rc = cl_add_threshold(th, cmd, optarg);
        else if (c == OPT_LIMIT && limit) {
            if (opt_parse_int64(optarg, 1, 10000, limit, err, sizeof err) < 0)
                rc = cl_usage_error(cmd, "--limit: %s", err);
        } else if (c == 'h') {
            usage(stdout);
            return -1;
        } else if (c == 'V') {
            printf(CLIENT_PROG " %s\n", DLT_VERSION);
            return -1;
        } else if (c == ':')
            rc = cl_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
        else
            rc = cl_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if (rc)
            return rc;
    }
    int have = argc - optind;
    if (have < nargs)
        return cl_usage_error(cmd, "%s needs a test ID", cmd);
    if (have > nargs)
        return cl_usage_error(cmd, "unexpected argument '%.64s'", argv[optind + nargs]);
    for (int i = 0; i < nargs; i++)
        args[i] = argv[optind + i];
    return 0;
}

static int cl_cmd_status(int argc, char **argv, struct cl_global *g)
{
    struct cl_thresholds th = {.n = 0};
    const char *id = NULL;
    int rc = cl_parse_simple(argc, argv, "status", 1, 1, cl_usage_status, g, &th, NULL, &id);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = cl_check_id("status", id)) != 0)
        return rc;
    struct http_client *h = NULL;
    if ((rc = cl_connect(g, &h)) != 0)
        return rc;
    char path[128];
    snprintf(path, sizeof path, "/api/tests/%s", id);
    cJSON *test = NULL;
    if ((rc = cl_call(h, "GET", path, NULL, shape_test, &test)) != 0) {
        http_destroy(h);
        return rc;
    }
    int breached = 0;
    if (g->json) {
        if (th.n > 0) {
            breached = cl_judge(test, &th, NULL);
            cJSON *doc = cl_judged_json(
                test, &th, !breached && !stats_state_failed(jget_str(test, "state", "")));
            rc = doc ? cl_print_json(doc) : cl_fail("out of memory");
            cJSON_Delete(doc);
        } else {
            rc = cl_print_json(test);
        }
    } else {
        rc = view_status(test, stdout) < 0 ? cl_fail("cannot write the status") : 0;
        breached = cl_judge(test, &th, stdout);
        fflush(stdout);
    }
    if (rc == 0)
        rc = cl_verdict_status(test, breached, &th);
    cJSON_Delete(test);
    http_destroy(h);
    return rc;
}

static int cl_cmd_get_view(int argc, char **argv, struct cl_global *g, const char *cmd)
{
    int is_list = strcmp(cmd, "list") == 0;
    int64_t limit = 100;
    int rc = cl_parse_simple(argc, argv, cmd, 0, 0, is_list ? cl_usage_list : cl_usage_drivers, g,
                             NULL, is_list ? &limit : NULL, NULL);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct http_client *h = NULL;
    if ((rc = cl_connect(g, &h)) != 0)
        return rc;
    char path[64];
    if (is_list)
        snprintf(path, sizeof path, "/api/tests?limit=%lld", (long long)limit);
    else
        snprintf(path, sizeof path, "/api/drivers");
    cJSON *doc = NULL;
    if ((rc = cl_call(h, "GET", path, NULL, is_list ? shape_test_list : shape_drivers, &doc)) !=
        0) {
        http_destroy(h);
        return rc;
    }
    if (g->json)
        rc = cl_print_json(doc);
    else if ((is_list ? view_list(doc, stdout) : view_drivers(doc, stdout)) < 0)
        rc = cl_fail("cannot write the table");
    cJSON_Delete(doc);
    http_destroy(h);
    return rc;
}

static int cl_cmd_stop(int argc, char **argv, struct cl_global *g)
{
    const char *id = NULL;
    int rc = cl_parse_simple(argc, argv, "stop", 1, 0, cl_usage_stop, g, NULL, NULL, &id);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((rc = cl_check_id("stop", id)) != 0)
        return rc;
    struct http_client *h = NULL;
    if ((rc = cl_connect(g, &h)) != 0)
        return rc;
    char path[160];
    snprintf(path, sizeof path, "/api/tests/%s/stop", id);
    cJSON *test = NULL;
    if ((rc = cl_call(h, "POST", path, NULL, shape_test, &test)) != 0) {
        http_destroy(h);
        return rc;
    }
    if (g->json)
        rc = cl_print_json(test);
    else
        printf("Stop sent to test %s (state %s)\n", id, jget_str(test, "state", "?"));
    cJSON_Delete(test);
    http_destroy(h);
    return rc;
}

/* ---- report -------------------------------------------------------------- */

/* Where a report goes. */
struct cl_out {
    FILE *f;
    char tmp[4096]; /* a temporary file renamed onto the path at the end, or "" */
    int is_stdout;  /* the path is this process's standard output */
};

/* Open --output PATH (before any call, so that a bad path fails first). A
 * regular file, or a path that does not exist, is written to a temporary
 * file beside it that is renamed into place when complete (an existing file
 * keeps its permissions). Nothing else is ever replaced: a symlink, a FIFO
 * or a character device is written through in place (a FIFO only when a
 * process reads it: waiting for one could be forever), and the path of this
 * process's own standard output (/dev/stdout) is standard output. A
 * directory, a socket or a block device is refused. Returns 0, or an exit
 * status after one line on stderr. */
static int cl_open_output(const char *output, struct cl_out *o)
{
    o->f = NULL;
    o->tmp[0] = '\0';
    o->is_stdout = 0;
    struct stat st;
    int exists = lstat(output, &st) == 0;
    if (!exists && errno != ENOENT)
        return cl_usage_error("report", "--output: cannot write '%.200s': %s", output,
                              strerror(errno));
    if (!exists || S_ISREG(st.st_mode)) {
        if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", output, (long)getpid()) >=
            (int)sizeof o->tmp) {
            o->tmp[0] = '\0';
            return cl_usage_error("report", "--output: file name too long");
        }
        /* O_EXCL | O_NOFOLLOW: never through something planted at the
         * temporary name. */
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0) {
            int e = errno;
            o->tmp[0] = '\0';
            return cl_usage_error("report", "--output: cannot write '%.200s': %s", output,
                                  strerror(e));
        }
        if (exists)
            (void)fchmod(fd, st.st_mode & 07777); /* best effort, as cp does */
        o->f = fdopen(fd, "w");
        if (!o->f) {
            close(fd);
            unlink(o->tmp);
            o->tmp[0] = '\0';
            return cl_fail("out of memory");
        }
        return 0;
    }
    if (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISBLK(st.st_mode))
        return cl_usage_error("report", "--output: '%.200s' is a %s, not a file", output,
                              S_ISDIR(st.st_mode)    ? "directory"
                              : S_ISSOCK(st.st_mode) ? "socket"
                                                     : "block device");
    /* A symlink, a FIFO or a character device: in place, never created
     * (a dangling symlink is refused), never replaced. */
    int fd = open(output, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENXIO)
            return cl_usage_error("report", "--output: no process reads the FIFO '%.200s'", output);
        return cl_usage_error("report", "--output: cannot write '%.200s': %s", output,
                              strerror(errno));
    }
    struct stat real, out1;
    if (fstat(fd, &real) != 0) {
        int e = errno;
        close(fd);
        return cl_usage_error("report", "--output: cannot write '%.200s': %s", output, strerror(e));
    }
    if (fstat(STDOUT_FILENO, &out1) == 0 && real.st_dev == out1.st_dev &&
        real.st_ino == out1.st_ino &&
        (S_ISREG(real.st_mode) || S_ISFIFO(real.st_mode) || S_ISCHR(real.st_mode) ||
         S_ISSOCK(real.st_mode))) {
        /* Our own standard output, whatever it is: keep its offset and
         * append mode rather than open it anew. */
        close(fd);
        o->f = stdout;
        o->is_stdout = 1;
        return 0;
    }
    if (S_ISDIR(real.st_mode) || S_ISBLK(real.st_mode)) {
        close(fd);
        return cl_usage_error("report", "--output: '%.200s' leads to a %s, not a file", output,
                              S_ISDIR(real.st_mode) ? "directory" : "block device");
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
        (S_ISREG(real.st_mode) && ftruncate(fd, 0) != 0)) {
        int e = errno;
        close(fd);
        return cl_usage_error("report", "--output: cannot write '%.200s': %s", output, strerror(e));
    }
    o->f = fdopen(fd, "w");
    if (!o->f) {
        close(fd);
        return cl_fail("out of memory");
    }
    return 0;
}

static int cl_cmd_report(int argc, char **argv, struct cl_global *g)
{
    static const struct option longopts[] = {{"format", required_argument, NULL, OPT_FORMAT},
                                             {"output", required_argument, NULL, OPT_OUTPUT},
                                             {"threshold", required_argument, NULL, OPT_THRESHOLD},
                                             {"timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
                                             CL_GLOBAL_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    struct cl_thresholds th = {.n = 0};
    enum report_format fmt = REPORT_JSON;
    int have_fmt = 0, c, grc, rc = 0;
    const char *output = NULL;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hVo:f:", longopts, NULL)) != -1) {
        if (c == OPT_HTTP_TIMEOUT)
            rc = cl_parse_http_timeout(optarg, "--timeout", "report", g);
        else if ((grc = cl_global_opt(c, optarg, "report", g)) >= 0)
            rc = grc;
        else if (c == OPT_FORMAT || c == 'f') {
            if (report_format_parse(optarg, &fmt) < 0)
                rc = cl_usage_error("report",
                                    "--format: unknown format '%.32s' (json, csv or html)", optarg);
            have_fmt = 1;
        } else if (c == OPT_OUTPUT || c == 'o')
            output = optarg;
        else if (c == OPT_THRESHOLD)
            rc = cl_add_threshold(&th, "report", optarg);
        else if (c == 'h') {
            cl_usage_report(stdout);
            return 0;
        } else if (c == 'V') {
            printf(CLIENT_PROG " %s\n", DLT_VERSION);
            return 0;
        } else if (c == ':')
            rc = cl_usage_error("report", "option %s needs a value", argv[optind - 1]);
        else
            rc = cl_usage_error("report", "unknown option '%s'", argv[optind - 1]);
        if (rc)
            return rc;
    }
    if (argc - optind < 1)
        return cl_usage_error("report", "report needs a test ID");
    if (argc - optind > 1)
        return cl_usage_error("report", "unexpected argument '%.64s'", argv[optind + 1]);
    const char *id = argv[optind];
    if ((rc = cl_check_id("report", id)) != 0)
        return rc;
    if (output && !*output)
        return cl_usage_error("report", "--output: empty file name");
    if (output && !have_fmt) {
        const char *dot = strrchr(output, '.');
        if (dot && report_format_parse(dot + 1, &fmt) == 0)
            have_fmt = 1;
    }
    struct cl_out o = {.f = stdout, .tmp = "", .is_stdout = 1};
    if (output && (rc = cl_open_output(output, &o)) != 0)
        return rc;
    FILE *out = o.f;
    struct http_client *h = NULL;
    cJSON *test = NULL, *ts = NULL;
    char path[160];
    if ((rc = cl_connect(g, &h)) != 0)
        goto out;
    snprintf(path, sizeof path, "/api/tests/%s", id);
    if ((rc = cl_call(h, "GET", path, NULL, shape_test, &test)) != 0)
        goto out;
    snprintf(path, sizeof path, "/api/tests/%s/timeseries", id);
    if ((rc = cl_call(h, "GET", path, NULL, shape_timeseries, &ts)) != 0)
        goto out;
    if (report_write(fmt, test, ts, out) < 0 || fflush(out) != 0) {
        rc = cl_fail("cannot write the report to %s: %s", output ? output : "standard output",
                     strerror(errno));
        goto out;
    }
    if (out != stdout) {
        int bad = fclose(out) != 0;
        out = NULL;
        if (bad || (o.tmp[0] && rename(o.tmp, output) != 0)) {
            rc = cl_fail("cannot write the report to %.200s: %s", output, strerror(errno));
            goto out;
        }
        o.tmp[0] = '\0';
    }
    if (output && !o.is_stdout && !g->json)
        printf("Report of test %s written to %s\n", id, output);
    if (th.n > 0) {
        int breached = cl_judge(test, &th, stderr);
        rc = cl_verdict_status(test, breached, &th);
    } else if (stats_state_failed(jget_str(test, "state", ""))) {
        rc = 0; /* a report of a failed test is still a report */
    }
out:
    if (out && out != stdout)
        fclose(out);
    if (o.tmp[0])
        unlink(o.tmp);
    cJSON_Delete(test);
    cJSON_Delete(ts);
    http_destroy(h);
    return rc;
}

/* ---- main ------------------------------------------------------------------ */

static int cl_help(const char *cmd)
{
    if (!cmd)
        cl_usage_main(stdout);
    else if (strcmp(cmd, "start") == 0)
        cl_usage_start(stdout);
    else if (strcmp(cmd, "status") == 0)
        cl_usage_status(stdout);
    else if (strcmp(cmd, "list") == 0)
        cl_usage_list(stdout);
    else if (strcmp(cmd, "drivers") == 0)
        cl_usage_drivers(stdout);
    else if (strcmp(cmd, "stop") == 0)
        cl_usage_stop(stdout);
    else if (strcmp(cmd, "report") == 0)
        cl_usage_report(stdout);
    else
        return cl_usage_error(NULL, "unknown command '%.64s'", cmd);
    return 0;
}

int commands_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
                                             CL_GLOBAL_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    struct cl_global g = {.url = CLIENT_DEFAULT_URL, .timeout_ms = CL_DEFAULT_HTTP_TIMEOUT_MS};
    const char *env = getenv("DLT_ORCHESTRATOR");
    if (env && *env)
        g.url = env;
    env = getenv("DLT_API_TOKEN");
    if (env && *env)
        g.token = env;
    int c, rc, li = 0;
    opterr = 0;
    /* '+': stop at the command; its own options are parsed by the command. */
    while ((c = getopt_long(argc, argv, "+:hV", longopts, &li)) != -1) {
        if (c == OPT_HTTP_TIMEOUT) {
            const char *flag = li == 0 ? "--timeout" : "--http-timeout";
            if ((rc = cl_parse_http_timeout(optarg, flag, NULL, &g)) != 0)
                return rc;
        } else if ((rc = cl_global_opt(c, optarg, NULL, &g)) >= 0) {
            if (rc)
                return rc;
        } else if (c == 'h') {
            cl_usage_main(stdout);
            return 0;
        } else if (c == 'V') {
            printf(CLIENT_PROG " %s\n", DLT_VERSION);
            return 0;
        } else if (c == ':') {
            return cl_usage_error(NULL, "option %s needs a value", argv[optind - 1]);
        } else {
            return cl_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cl_cmd_interactive(&g);
    const char *cmd = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    if (strcmp(cmd, "start") == 0)
        return cl_cmd_start(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "status") == 0)
        return cl_cmd_status(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "drivers") == 0)
        return cl_cmd_get_view(sub_argc, sub_argv, &g, cmd);
    if (strcmp(cmd, "stop") == 0)
        return cl_cmd_stop(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "report") == 0)
        return cl_cmd_report(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "help") == 0) {
        if (sub_argc > 2)
            return cl_usage_error(NULL, "help takes at most one command");
        return cl_help(sub_argc == 2 ? sub_argv[1] : NULL);
    }
    return cl_usage_error(NULL,
                          "unknown command '%.64s' (start, status, list, drivers, stop, "
                          "report or help)",
                          cmd);
}
