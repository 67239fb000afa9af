/* web: the dashboard's files, embedded in the binary at build time.
 *
 * embed.cmake turns every file under src/orchestrator/web/ into a table
 * entry (generated web_files.c); any file added there is served, with a
 * content type taken from its extension. */
#ifndef ORCH_WEB_H
#define ORCH_WEB_H

#include <stddef.h>

struct web_file {
    const char *path;         /* relative to web/, e.g. "index.html", "js/app.js" */
    const char *content_type; /* e.g. "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t size;
};

/* The generated table: *count entries. Can't fail. */
const struct web_file *web_files_table(size_t *count);

/* The file at path (relative to web/), or NULL when there is none. */
const struct web_file *web_find(const char *path);

#endif
