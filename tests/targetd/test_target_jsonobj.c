/* jsonobj: the object /test holds: merging, refusals, the size limit,
 * UTF-8, and merges from several threads at once. */
#include "jsonobj.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static enum jsonobj_rc merge(struct jsonobj *j, const char *body, char *out, size_t outlen,
                             char *err)
{
    char *text = NULL;
    size_t len = 0;
    enum jsonobj_rc rc = jsonobj_merge(j, body, strlen(body), &text, &len, err, 160);
    if (rc == JSONOBJ_OK) {
        assert_non_null(text);
        assert_int_equal(len, strlen(text));
        snprintf(out, outlen, "%s", text);
        free(text);
    } else {
        assert_null(text);
        assert_true(err[0] != '\0');
        assert_null(strchr(err, '"'));
        assert_null(strchr(err, '\\'));
    }
    return rc;
}

static void held_is(struct jsonobj *j, const char *want)
{
    size_t len = 0;
    char *text = jsonobj_get(j, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(want));
    assert_string_equal(text, want);
    free(text);
}

static void test_merge(void **state)
{
    (void)state;
    struct jsonobj j;
    assert_int_equal(jsonobj_init(&j, 1 << 20), 0);
    held_is(&j, "{}");
    char out[512], err[160];
    assert_int_equal(merge(&j, "{\"a\": 1, \"b\": {\"c\": [1, 2]}}", out, sizeof out, err),
                     JSONOBJ_OK);
    assert_string_equal(out, "{\"a\":1,\"b\":{\"c\":[1,2]}}");
    /* Top level only: b is replaced whole, not merged into; a key that
     * differs in case is another key; a repeated key's last value wins. */
    assert_int_equal(merge(&j, " {\"b\": {\"d\": null}, \"A\": true, \"a\": \"x\", \"a\": 2}\n",
                           out, sizeof out, err),
                     JSONOBJ_OK);
    assert_string_equal(out, "{\"a\":2,\"b\":{\"d\":null},\"A\":true}");
    assert_int_equal(merge(&j, "{}", out, sizeof out, err), JSONOBJ_OK);
    assert_string_equal(out, "{\"a\":2,\"b\":{\"d\":null},\"A\":true}");
    held_is(&j, "{\"a\":2,\"b\":{\"d\":null},\"A\":true}");
    jsonobj_destroy(&j);
}

static void test_refused(void **state)
{
    (void)state;
    struct jsonobj j;
    assert_int_equal(jsonobj_init(&j, 1 << 20), 0);
    char out[64], err[160];
    assert_int_equal(merge(&j, "{\"keep\": 1}", out, sizeof out, err), JSONOBJ_OK);
    static const char *bad[] = {
        "",
        "   ",
        "[1, 2]",
        "\"s\"",
        "3",
        "null",
        "true",
        "{\"a\": }",
        "{\"a\": 1",
        "{a: 1}",
        "{\"a\": 1} {\"b\": 2}",
        "{\"a\": 1} x",
        "{\"a\": NaN}",
        "{'a': 1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(merge(&j, bad[i], out, sizeof out, err), JSONOBJ_BAD);
        held_is(&j, "{\"keep\":1}");
    }
    assert_int_equal(merge(&j, "[1]", out, sizeof out, err), JSONOBJ_BAD);
    assert_string_equal(err, "body must be a JSON object");
    assert_int_equal(merge(&j, "{\"a\":", out, sizeof out, err), JSONOBJ_BAD);
    assert_non_null(strstr(err, "not valid JSON"));

    /* A NUL byte, and bytes that are not UTF-8, inside a string. */
    char *text = NULL;
    size_t len = 0;
    static const char nul[] = "{\"a\": 1}\0{\"b\": 2}";
    assert_int_equal(jsonobj_merge(&j, nul, sizeof nul - 1, &text, &len, err, sizeof err),
                     JSONOBJ_BAD);
    assert_null(text);
    static const char latin1[] = "{\"caf\xe9\": 1}";
    assert_int_equal(jsonobj_merge(&j, latin1, sizeof latin1 - 1, &text, &len, err, sizeof err),
                     JSONOBJ_BAD);
    assert_string_equal(err, "body is not valid UTF-8");
    static const char utf8[] = "{\"caf\xc3\xa9\": \"\xf0\x9f\x98\x80\"}";
    assert_int_equal(jsonobj_merge(&j, utf8, sizeof utf8 - 1, &text, &len, err, sizeof err),
                     JSONOBJ_OK);
    free(text);
    /* Nesting past cJSON's limit (1000) is refused, not a crash. */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 16);
    assert_non_null(deep);
    size_t n = 0;
    n += (size_t)sprintf(deep, "{\"d\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_int_equal(jsonobj_merge(&j, deep, n, &text, &len, err, sizeof err), JSONOBJ_BAD);
    free(deep);
    jsonobj_destroy(&j);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"plain", 1},
        {"\xc3\xa9", 1},
        {"\xe2\x82\xac", 1},
        {"\xf4\x8f\xbf\xbf", 1},
        {"\xc3", 0},
        {"\xa9", 0},
        {"\xc0\xaf", 0},
        {"\xe0\x80\xaf", 0},
        {"\xed\xa0\x80", 0},
        {"\xf4\x90\x80\x80", 0},
        {"\xf8\x88\x80\x80\x80", 0},
        {"\xe2\x82", 0},
        {"\xf0\x8f\xbf\xbf", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(jsonobj_utf8_ok((const unsigned char *)cases[i].s, strlen(cases[i].s)),
                         cases[i].ok);
}

static void test_limit(void **state)
{
    (void)state;
    struct jsonobj j;
    assert_int_equal(jsonobj_init(&j, 20), 0);
    char out[64], err[160];
    /* {"a":"0123456789"} is 18 bytes: in. */
    assert_int_equal(merge(&j, "{\"a\": \"0123456789\"}", out, sizeof out, err), JSONOBJ_OK);
    /* Adding ,"b":1 makes 24: refused, and nothing of it is merged. */
    assert_int_equal(merge(&j, "{\"b\": 1}", out, sizeof out, err), JSONOBJ_TOO_LARGE);
    assert_non_null(strstr(err, "24 bytes"));
    assert_non_null(strstr(err, "20"));
    held_is(&j, "{\"a\":\"0123456789\"}");
    assert_int_equal(merge(&j, "{\"c\": 0, \"a\": 1}", out, sizeof out, err), JSONOBJ_OK);
    assert_string_equal(out, "{\"a\":1,\"c\":0}");
    /* Replacing with a smaller value gets back under the limit. */
    assert_int_equal(merge(&j, "{\"a\": \"012345678901234567890\"}", out, sizeof out, err),
                     JSONOBJ_TOO_LARGE);
    held_is(&j, "{\"a\":1,\"c\":0}");
    jsonobj_destroy(&j);
}

#define THREADS 4
#define PER_THREAD 250

struct worker {
    struct jsonobj *j;
    int id;
    int failed;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char body[64], err[160];
        snprintf(body, sizeof body, "{\"t%d_%d\": %d, \"last\": %d}", w->id, i, i, w->id);
        char *text = NULL;
        size_t len = 0;
        if (jsonobj_merge(w->j, body, strlen(body), &text, &len, err, sizeof err) != JSONOBJ_OK)
            w->failed++;
        free(text);
        text = jsonobj_get(w->j, &len);
        if (!text)
            w->failed++;
        free(text);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct jsonobj j;
    assert_int_equal(jsonobj_init(&j, 1 << 20), 0);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){&j, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].failed, 0);
    }
    size_t len = 0;
    char *text = jsonobj_get(&j, &len);
    cJSON *o = cJSON_Parse(text);
    free(text);
    assert_non_null(o);
    assert_int_equal(cJSON_GetArraySize(o), THREADS * PER_THREAD + 1);
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < PER_THREAD; k++) {
            char key[32];
            snprintf(key, sizeof key, "t%d_%d", i, k);
            cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
            assert_non_null(v);
            assert_int_equal(v->valueint, k);
        }
    }
    cJSON_Delete(o);
    jsonobj_destroy(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge), cmocka_unit_test(test_refused), cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_limit), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
