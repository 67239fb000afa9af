/* jsonobj: the JSON object /test holds, merged into key by key.
 *
 * The object starts as {}. jsonobj_merge parses a body that must be a JSON
 * object (UTF-8, nothing after it) and sets each of its top-level keys in
 * the held object, replacing a value already there; the result, printed
 * without spaces, may not pass the limit, or nothing is merged. Every call
 * takes the object's lock, so any number of threads may share it. */
#ifndef DLT_TARGET_JSONOBJ_H
#define DLT_TARGET_JSONOBJ_H

#include <pthread.h>
#include <stddef.h>

struct jsonobj {
    pthread_mutex_t lock;
    struct cJSON *obj; /* the object held */
    char *text;        /* obj printed, kept current */
    size_t len;        /* strlen(text) */
    size_t limit;      /* longest text allowed */
};

enum jsonobj_rc {
    JSONOBJ_OK = 0,
    JSONOBJ_BAD,       /* not a JSON object: a 400 */
    JSONOBJ_TOO_LARGE, /* the merged object would pass the limit: a 413 */
    JSONOBJ_NOMEM      /* out of memory: a 500 */
};

/* Start with {}; limit is the longest printed object allowed. 0 or -1. */
int jsonobj_init(struct jsonobj *j, size_t limit);
void jsonobj_destroy(struct jsonobj *j);

/* Merge body[0..len) into the object. On JSONOBJ_OK *out is a malloc'd copy
 * of the merged object's text (its length in *outlen); otherwise *out is
 * NULL and err holds why, in words fit for {"error": "..."} (no quotes or
 * backslashes). */
enum jsonobj_rc jsonobj_merge(struct jsonobj *j, const char *body, size_t len, char **out,
                              size_t *outlen, char *err, size_t errlen);

/* A malloc'd copy of the object's text, or NULL when out of memory. */
char *jsonobj_get(struct jsonobj *j, size_t *outlen);

/* 1 when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF). */
int jsonobj_utf8_ok(const unsigned char *s, size_t len);

#endif
