/* table: plain-text tables for the terminal.
 *
 * Columns are sized to their widest cell (in columns: a UTF-8 character
 * such as the en dash of an unknown figure takes one) and separated by two
 * spaces; a right-aligned column suits numbers. A rule (a line of dashes
 * under every column) can go under the header and before any row, e.g. the
 * aggregate. */
#ifndef DLT_CLIENT_TABLE_H
#define DLT_CLIENT_TABLE_H

#include <stdio.h>

#define TABLE_MAX_COLS 32

struct table;

/* A table of ncols columns (1..TABLE_MAX_COLS) whose header is the ncols
 * strings of header (copied). Returns NULL when out of memory or ncols is out
 * of range. */
struct table *table_create(int ncols, const char *const *header);
/* Accepts NULL. */
void table_destroy(struct table *t);
/* Right-align column col (0-based); out-of-range columns are ignored. */
void table_align_right(struct table *t, int col);
/* Append a row of ncols cells (copied; NULL reads as ""). Returns 0, or -1
 * when out of memory (the table is unchanged). */
int table_add(struct table *t, const char *const *cells);
/* Put a rule before the next row added. */
void table_rule(struct table *t);
/* Write the table; every line ends in '\n' and has no trailing spaces.
 * Returns 0, or -1 when writing failed. */
int table_print(const struct table *t, FILE *out);
/* The columns s takes: its UTF-8 characters (NULL: 0). */
size_t table_width(const char *s);

#endif
