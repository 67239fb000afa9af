/* interactive: the three questions answered from a FILE*, as a pipe or a
 * person would answer them: good answers, bad answers with and without
 * retry, the end of input, over-long lines. */
#define _POSIX_C_SOURCE 200809L
#include "interactive.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Answer from text; returns interactive_ask's result; prompts in *shown. */
static int ask(const char *text, int retry, struct interactive_answers *a, char *err, size_t errlen,
               char **shown)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(in);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    int rc = interactive_ask(in, out, retry, a, err, errlen);
    fclose(in);
    fclose(out);
    if (shown)
        *shown = buf;
    else
        free(buf);
    return rc;
}

static void test_avalanche(void **state)
{
    (void)state;
    struct interactive_answers a;
    char err[300];
    char *shown = NULL;
    assert_int_equal(ask("1\n500\n", 0, &a, err, sizeof err, &shown), 0);
    assert_int_equal(a.type, TEST_AVALANCHE);
    assert_int_equal(a.count, 500);
    assert_true(a.delay_s == 0);
    /* Avalanche is not asked for a delay. */
    assert_non_null(strstr(shown, "Test type (1 or 2): "));
    assert_non_null(strstr(shown, "Messages per driver: "));
    assert_null(strstr(shown, "Delay"));
    free(shown);
    /* Names, spaces and CRLF line ends are fine too. */
    assert_int_equal(ask("  Avalanche \r\n 7\r\n", 0, &a, err, sizeof err, NULL), 0);
    assert_int_equal(a.type, TEST_AVALANCHE);
    assert_int_equal(a.count, 7);
}

static void test_tsunami(void **state)
{
    (void)state;
    struct interactive_answers a;
    char err[300];
    assert_int_equal(ask("2\n100\n0.5\n", 0, &a, err, sizeof err, NULL), 0);
    assert_int_equal(a.type, TEST_TSUNAMI);
    assert_int_equal(a.count, 100);
    assert_true(a.delay_s == 0.5);
    assert_int_equal(ask("tsunami\n3\n250ms", 0, &a, err, sizeof err, NULL), 0); /* no last \n */
    assert_true(a.delay_s == 0.25);
    assert_int_equal(ask("2\n3\n0\n", 0, &a, err, sizeof err, NULL), 0);
    assert_true(a.delay_s == 0);
}

static void test_bad_answers_fail_without_retry(void **state)
{
    (void)state;
    struct interactive_answers a;
    char err[300];
    static const struct {
        const char *in;
        const char *why;
    } cases[] = {
        {"3\n10\n", "'3' is not a test type"},
        {"\n", "give 1 (Avalanche) or 2 (Tsunami)"},
        {"1\n0\n", "messages per driver"},
        {"1\nten\n", "not a whole number"},
        {"1\n1000000001\n", "out of range"},
        {"2\n10\n-1\n", "negative"},
        {"2\n10\n2h\n", "too long"},
        {"2\n10\nsoon\n", "not a duration"},
        {"", "no answer for the test type (end of input)"},
        {"1\n", "no answer for the number of messages per driver (end of input)"},
        {"2\n5\n", "no answer for the delay between messages (end of input)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        if (ask(cases[i].in, 0, &a, err, sizeof err, NULL) != -1)
            fail_msg("input %zu was accepted", i);
        if (!strstr(err, cases[i].why))
            fail_msg("input %zu: '%s' does not say '%s'", i, err, cases[i].why);
        assert_null(strchr(err, '\n'));
    }
}

static void test_retry_asks_again(void **state)
{
    (void)state;
    struct interactive_answers a;
    char err[300];
    char *shown = NULL;
    assert_int_equal(ask("x\n9\n2\nmany\n-4\n40\nlater\n1.5\n", 1, &a, err, sizeof err, &shown), 0);
    assert_int_equal(a.type, TEST_TSUNAMI);
    assert_int_equal(a.count, 40);
    assert_true(a.delay_s == 1.5);
    assert_non_null(strstr(shown, "'x' is not a test type"));
    assert_non_null(strstr(shown, "please try again"));
    /* Each question is asked once more after each bad answer. */
    int asked = 0;
    for (const char *p = shown; (p = strstr(p, "Test type (1 or 2): ")); p++)
        asked++;
    assert_int_equal(asked, 3);
    free(shown);
    /* The end of input ends the retries. */
    assert_int_equal(ask("x\ny\n", 1, &a, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "end of input"));
}

static void test_long_line(void **state)
{
    (void)state;
    size_t n = 5000;
    char *text = malloc(n + 16);
    memset(text, '1', n);
    memcpy(text + n, "\n1\n5\n", 6);
    struct interactive_answers a;
    char err[300];
    assert_int_equal(ask(text, 0, &a, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "too long"));
    /* With retry the rest of the long line is skipped, not read as answers. */
    assert_int_equal(ask(text, 1, &a, err, sizeof err, NULL), 0);
    assert_int_equal(a.type, TEST_AVALANCHE);
    assert_int_equal(a.count, 5);
    free(text);
}

static void test_parsers(void **state)
{
    (void)state;
    enum test_type t;
    int64_t c;
    double d;
    char err[200];
    assert_int_equal(interactive_parse_type("2", &t, err, sizeof err), 0);
    assert_int_equal(t, TEST_TSUNAMI);
    assert_int_equal(interactive_parse_type("12", &t, err, sizeof err), -1);
    assert_int_equal(interactive_parse_count(" 1000000000 ", &c, err, sizeof err), 0);
    assert_int_equal(c, 1000000000);
    assert_int_equal(interactive_parse_count("1.5", &c, err, sizeof err), -1);
    assert_int_equal(interactive_parse_delay("10ms", &d, err, sizeof err), 0);
    assert_true(d > 0.00999 && d < 0.01001);
    assert_int_equal(interactive_parse_delay("3600", &d, err, sizeof err), 0);
    assert_int_equal(interactive_parse_delay("3601", &d, err, sizeof err), -1);
    assert_int_equal(interactive_parse_delay("nan", &d, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avalanche),
        cmocka_unit_test(test_tsunami),
        cmocka_unit_test(test_bad_answers_fail_without_retry),
        cmocka_unit_test(test_retry_asks_again),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
