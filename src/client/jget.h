/* jget: lenient reads from the orchestrator's JSON answers.
 *
 * The client shows what the API sends and must never crash on an answer
 * shaped differently from docs/API.md: a missing field, a null or a value of
 * the wrong type reads as the fallback. None of these can fail. */
#ifndef DLT_CLIENT_JGET_H
#define DLT_CLIENT_JGET_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* The number at o[key]; a numeric string is accepted; else fallback. */
double jget_num(const cJSON *o, const char *key, double fallback);
/* The number as an integer, clamped to the int64 range; else fallback. */
int64_t jget_int(const cJSON *o, const char *key, int64_t fallback);
/* The string at o[key] (borrowed from o); else fallback. */
const char *jget_str(const cJSON *o, const char *key, const char *fallback);
/* 1 for true, 0 for false; else fallback. */
int jget_bool(const cJSON *o, const char *key, int fallback);
/* o[key] when it is an object (or array), else NULL. */
const cJSON *jget_obj(const cJSON *o, const char *key);
const cJSON *jget_arr(const cJSON *o, const char *key);

#endif
