/* yamljson: a YAML document read as the JSON value it spells, for test
 * definition files.
 *
 * Mappings become objects, sequences arrays. A plain scalar is null (null,
 * ~, empty), a boolean (true, false), a number (as JSON writes one), or else
 * a string; a quoted or block scalar is always a string. Keys are strings.
 * Refused, with the line and column: anchors and aliases, tags, a key given
 * twice, a mapping key that is not a scalar, more than one document, and
 * nesting deeper than YAMLJSON_DEPTH_MAX. */
#ifndef DLT_CLIENT_YAMLJSON_H
#define DLT_CLIENT_YAMLJSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define YAMLJSON_DEPTH_MAX 64

/* Parse len bytes of text. Returns the value (the caller's, cJSON_Delete),
 * or NULL with one reason in err. */
cJSON *yamljson_parse(const char *text, size_t len, char *err, size_t errlen);

#endif
