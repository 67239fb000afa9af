/* libFuzzer target: option value parsing (durations, numbers, HOST:PORT,
 * ids). The first byte picks the parser; the rest is the text. */
#include "ids.h"
#include "opts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    char err[256], host[256];
    int64_t i = 0;
    double d = 0;
    int port = -1;
    switch (data[0] % 5) {
    case 0:
        if (opt_parse_duration_us(s, 1000, 3600000000LL, &i, err, sizeof err) == 0 &&
            (i < 0 || i > 3600000000LL))
            abort();
        break;
    case 1:
        if (opt_parse_int64(s, -5, 1000000, &i, err, sizeof err) == 0 && (i < -5 || i > 1000000))
            abort();
        break;
    case 2:
        if (opt_parse_double(s, 0, 1, &d, err, sizeof err) == 0 && !(d >= 0 && d <= 1))
            abort();
        break;
    case 3:
        if (opt_parse_hostport(s, host, sizeof host, &port, err, sizeof err) == 0 &&
            (port < 0 || port > 65535 || host[0] == '\0'))
            abort();
        break;
    case 4: {
        char buf[ID_MAX];
        opt_format_duration((int64_t)size * 977, buf, sizeof buf);
        if (id_valid(s) && strlen(s) >= ID_MAX)
            abort();
        break;
    }
    }
    free(s);
    return 0;
}
