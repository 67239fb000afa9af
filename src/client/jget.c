#include "jget.h"

#include <math.h>
#include <stdlib.h>

static double jget_value(const cJSON *it, double fallback)
{
    if (cJSON_IsNumber(it) && isfinite(it->valuedouble))
        return it->valuedouble;
    if (cJSON_IsString(it) && it->valuestring && *it->valuestring) {
        char *end = NULL;
        double v = strtod(it->valuestring, &end);
        if (end && !*end && isfinite(v))
            return v;
    }
    return fallback;
}

double jget_num(const cJSON *o, const char *key, double fallback)
{
    if (!cJSON_IsObject(o))
        return fallback;
    return jget_value(cJSON_GetObjectItemCaseSensitive(o, key), fallback);
}

int64_t jget_int(const cJSON *o, const char *key, int64_t fallback)
{
    double v = jget_num(o, key, NAN);
    if (isnan(v))
        return fallback;
    if (v >= 9.2e18)
        return INT64_MAX;
    if (v <= -9.2e18)
        return INT64_MIN;
    return (int64_t)v;
}

const char *jget_str(const cJSON *o, const char *key, const char *fallback)
{
    if (!cJSON_IsObject(o))
        return fallback;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(it) && it->valuestring ? it->valuestring : fallback;
}

int jget_bool(const cJSON *o, const char *key, int fallback)
{
    if (!cJSON_IsObject(o))
        return fallback;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsTrue(it))
        return 1;
    if (cJSON_IsFalse(it))
        return 0;
    return fallback;
}

const cJSON *jget_obj(const cJSON *o, const char *key)
{
    if (!cJSON_IsObject(o))
        return NULL;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsObject(it) ? it : NULL;
}

const cJSON *jget_arr(const cJSON *o, const char *key)
{
    if (!cJSON_IsObject(o))
        return NULL;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsArray(it) ? it : NULL;
}
