/* interactive: the original client's questions, asked in order: test type
 * (1 Avalanche, 2 Tsunami), messages per driver, then for Tsunami only the
 * delay between messages in seconds.
 *
 * Answers are read a line at a time from any FILE*, so the same code serves a
 * person at a terminal and answers piped in. */
#ifndef DLT_CLIENT_INTERACTIVE_H
#define DLT_CLIENT_INTERACTIVE_H

#include "msg.h"

#include <stdint.h>
#include <stdio.h>

#define INTERACTIVE_LINE_MAX 256

struct interactive_answers {
    enum test_type type;
    int64_t count;  /* message_count_per_driver, 1..MSG_COUNT_MAX */
    double delay_s; /* test_message_delay; 0 for Avalanche */
};

/* Ask the questions. prompt receives the questions (NULL: ask none, for
 * piped input). retry 1 asks again after a bad answer, with the reason on
 * prompt (a person at a terminal); retry 0 fails at once. Returns 0 with *a
 * filled, or -1 with one reason in err: a bad answer (retry 0) or the end of
 * input before every question had its answer. */
int interactive_ask(FILE *in, FILE *prompt, int retry, struct interactive_answers *a, char *err,
                    size_t errlen);

/* The parsers of one answer (the line without its '\n'; surrounding spaces
 * are ignored). Each returns 0 and sets *out, or -1 with the reason in err. */
/* "1", "2", "avalanche" or "tsunami" (any case). */
int interactive_parse_type(const char *line, enum test_type *out, char *err, size_t errlen);
/* A whole number 1..MSG_COUNT_MAX. */
int interactive_parse_count(const char *line, int64_t *out, char *err, size_t errlen);
/* Seconds, 0..MSG_DELAY_MAX_S; a unit may be given ("250ms", "0.5s"). */
int interactive_parse_delay(const char *line, double *out, char *err, size_t errlen);

#endif
