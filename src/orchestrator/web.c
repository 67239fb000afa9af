#include "web.h"

#include <string.h>

const struct web_file *web_find(const char *path)
{
    size_t n = 0;
    const struct web_file *t = web_files_table(&n);
    for (size_t i = 0; path && i < n; i++)
        if (strcmp(t[i].path, path) == 0)
            return &t[i];
    return NULL;
}
