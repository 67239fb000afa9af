/* jsonobj: the JSON object /test holds, merged into key by key. */
#include "jsonobj.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jsonobj_utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0; /* a continuation byte first, 0xc0/0xc1, or past 0xf4 */
        }
        if (len - i - 1 < n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

int jsonobj_init(struct jsonobj *j, size_t limit)
{
    memset(j, 0, sizeof *j);
    j->limit = limit;
    j->obj = cJSON_CreateObject();
    j->text = j->obj ? cJSON_PrintUnformatted(j->obj) : NULL;
    if (!j->text || pthread_mutex_init(&j->lock, NULL) != 0) {
        cJSON_free(j->text);
        cJSON_Delete(j->obj);
        j->obj = NULL;
        j->text = NULL;
        return -1;
    }
    j->len = strlen(j->text);
    return 0;
}

void jsonobj_destroy(struct jsonobj *j)
{
    if (!j->obj)
        return;
    pthread_mutex_destroy(&j->lock);
    cJSON_free(j->text);
    cJSON_Delete(j->obj);
    j->obj = NULL;
    j->text = NULL;
}

static char *jsonobj_copy(const char *text, size_t len)
{
    char *c = malloc(len + 1);
    if (c)
        memcpy(c, text, len + 1);
    return c;
}

/* Parse body as one JSON object and nothing else. */
static cJSON *jsonobj_parse(const char *body, size_t len, char *err, size_t errlen)
{
    if (memchr(body, '\0', len)) {
        snprintf(err, errlen, "body is not valid JSON (a NUL byte)");
        return NULL;
    }
    if (!jsonobj_utf8_ok((const unsigned char *)body, len)) {
        snprintf(err, errlen, "body is not valid UTF-8");
        return NULL;
    }
    char *z = malloc(len + 1);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(z, body, len);
    z[len] = '\0';
    const char *end = NULL;
    /* The terminating NUL is part of the buffer, so that "require it"
     * means: nothing but spaces after the value. */
    cJSON *v = cJSON_ParseWithLengthOpts(z, len + 1, &end, 1);
    if (!v) {
        size_t at = end && end >= z ? (size_t)(end - z) : 0;
        snprintf(err, errlen, "body is not valid JSON (at byte %zu)", at > len ? len : at);
    } else if (!cJSON_IsObject(v)) {
        snprintf(err, errlen, "body must be a JSON object");
        cJSON_Delete(v);
        v = NULL;
    }
    free(z);
    return v;
}

enum jsonobj_rc jsonobj_merge(struct jsonobj *j, const char *body, size_t len, char **out,
                              size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    err[0] = '\0';
    /* cJSON's parser records its last error in a global: parse under the
     * lock too, so that threads never race on it. */
    pthread_mutex_lock(&j->lock);
    cJSON *merged = NULL;
    char *text = NULL;
    cJSON *in = jsonobj_parse(body, len, err, errlen);
    enum jsonobj_rc rc = strcmp(err, "out of memory") == 0 ? JSONOBJ_NOMEM : JSONOBJ_BAD;
    if (!in)
        goto done;
    rc = JSONOBJ_NOMEM;
    snprintf(err, errlen, "out of memory");
    /* Merged into a copy, so that a result too large leaves the object as
     * it was. */
    merged = cJSON_Duplicate(j->obj, 1);
    if (!merged)
        goto done;
    while (in->child) {
        cJSON *item = cJSON_DetachItemViaPointer(in, in->child);
        cJSON *old = cJSON_GetObjectItemCaseSensitive(merged, item->string);
        /* The item keeps its own key in both cases. */
        if (old) {
            if (!cJSON_ReplaceItemViaPointer(merged, old, item)) {
                cJSON_Delete(item);
                goto done;
            }
        } else {
            cJSON_AddItemToArray(merged, item);
        }
    }
    text = cJSON_PrintUnformatted(merged);
    if (!text)
        goto done;
    size_t n = strlen(text);
    if (n > j->limit) {
        snprintf(err, errlen, "the merged object would be %zu bytes, over the limit of %zu", n,
                 j->limit);
        rc = JSONOBJ_TOO_LARGE;
        goto done;
    }
    char *copy = jsonobj_copy(text, n);
    if (!copy)
        goto done;
    cJSON_Delete(j->obj);
    cJSON_free(j->text);
    j->obj = merged;
    j->text = text;
    j->len = n;
    merged = NULL;
    text = NULL;
    *out = copy;
    *outlen = n;
    err[0] = '\0';
    rc = JSONOBJ_OK;
done:
    pthread_mutex_unlock(&j->lock);
    cJSON_free(text);
    cJSON_Delete(merged);
    cJSON_Delete(in);
    return rc;
}

char *jsonobj_get(struct jsonobj *j, size_t *outlen)
{
    pthread_mutex_lock(&j->lock);
    char *c = jsonobj_copy(j->text, j->len);
    *outlen = c ? j->len : 0;
    pthread_mutex_unlock(&j->lock);
    return c;
}
