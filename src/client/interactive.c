#define _POSIX_C_SOURCE 200809L
#include "interactive.h"

#include "opts.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Trim line into buf. Returns 0, or -1 when it does not fit. */
static int ia_trim(const char *line, char *buf, size_t buflen)
{
    while (*line && isspace((unsigned char)*line))
        line++;
    size_t n = strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        n--;
    if (n >= buflen)
        return -1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    return 0;
}

int interactive_parse_type(const char *line, enum test_type *out, char *err, size_t errlen)
{
    char b[INTERACTIVE_LINE_MAX];
    if (ia_trim(line, b, sizeof b) < 0 || !*b) {
        snprintf(err, errlen, "give 1 (Avalanche) or 2 (Tsunami)");
        return -1;
    }
    if (strcmp(b, "1") == 0 || strcasecmp(b, "avalanche") == 0) {
        *out = TEST_AVALANCHE;
        return 0;
    }
    if (strcmp(b, "2") == 0 || strcasecmp(b, "tsunami") == 0) {
        *out = TEST_TSUNAMI;
        return 0;
    }
    snprintf(err, errlen, "'%.40s' is not a test type: give 1 (Avalanche) or 2 (Tsunami)", b);
    return -1;
}

int interactive_parse_count(const char *line, int64_t *out, char *err, size_t errlen)
{
    char b[INTERACTIVE_LINE_MAX];
    if (ia_trim(line, b, sizeof b) < 0 || !*b) {
        snprintf(err, errlen, "give a whole number of messages, 1..%lld", MSG_COUNT_MAX);
        return -1;
    }
    char why[160];
    if (opt_parse_int64(b, 1, MSG_COUNT_MAX, out, why, sizeof why) < 0) {
        snprintf(err, errlen, "messages per driver: %s", why);
        return -1;
    }
    return 0;
}

int interactive_parse_delay(const char *line, double *out, char *err, size_t errlen)
{
    char b[INTERACTIVE_LINE_MAX];
    if (ia_trim(line, b, sizeof b) < 0 || !*b) {
        snprintf(err, errlen, "give the delay in seconds, e.g. 0.5");
        return -1;
    }
    char why[160];
    int64_t us;
    if (opt_parse_duration_us(b, 1000000, (int64_t)(MSG_DELAY_MAX_S * 1e6), &us, why, sizeof why) <
        0) {
        snprintf(err, errlen, "delay: %s", why);
        return -1;
    }
    *out = (double)us / 1e6;
    return 0;
}

/* Read one line into buf without its end of line. Returns 0, 1 when the line
 * was too long (the rest of it is skipped), or -1 at the end of input. */
static int ia_read_line(FILE *in, char *buf, size_t buflen)
{
    if (!fgets(buf, (int)buflen, in))
        return -1;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n') {
        buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '\r')
            buf[--n] = '\0';
        return 0;
    }
    if (feof(in))
        return 0; /* a last line without '\n' */
    int ch;
    while ((ch = fgetc(in)) != EOF && ch != '\n')
        ;
    return 1;
}

typedef int (*ia_parser)(const char *line, void *out, char *err, size_t errlen);

static int ia_type(const char *l, void *o, char *e, size_t n)
{
    return interactive_parse_type(l, o, e, n);
}

static int ia_count(const char *l, void *o, char *e, size_t n)
{
    return interactive_parse_count(l, o, e, n);
}

static int ia_delay(const char *l, void *o, char *e, size_t n)
{
    return interactive_parse_delay(l, o, e, n);
}

static int ia_question(FILE *in, FILE *prompt, int retry, const char *question, const char *what,
                       ia_parser parse, void *out, char *err, size_t errlen)
{
    for (;;) {
        if (prompt) {
            fputs(question, prompt);
            fflush(prompt);
        }
        char line[INTERACTIVE_LINE_MAX + 2];
        int rc = ia_read_line(in, line, sizeof line);
        if (rc < 0) {
            if (prompt)
                fputc('\n', prompt);
            snprintf(err, errlen, "no answer for the %s (end of input)", what);
            return -1;
        }
        char why[256];
        if (rc == 1)
            snprintf(why, sizeof why, "the answer for the %s is too long", what);
        else if (parse(line, out, why, sizeof why) == 0)
            return 0;
        if (!retry) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        if (prompt)
            fprintf(prompt, "  %s; please try again.\n", why);
    }
}

int interactive_ask(FILE *in, FILE *prompt, int retry, struct interactive_answers *a, char *err,
                    size_t errlen)
{
    memset(a, 0, sizeof *a);
    if (prompt)
        fputs("Choose the test type:\n"
              "  1) Avalanche: each driver sends its messages as fast as it can\n"
              "  2) Tsunami:   each driver sends one message every DELAY seconds\n",
              prompt);
    if (ia_question(in, prompt, retry, "Test type (1 or 2): ", "test type", ia_type, &a->type, err,
                    errlen) < 0)
        return -1;
    if (ia_question(in, prompt, retry, "Messages per driver: ", "number of messages per driver",
                    ia_count, &a->count, err, errlen) < 0)
        return -1;
    if (a->type == TEST_TSUNAMI &&
        ia_question(in, prompt, retry, "Delay between messages (seconds): ",
                    "delay between messages", ia_delay, &a->delay_s, err, errlen) < 0)
        return -1;
    return 0;
}
