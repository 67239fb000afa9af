/* ids: unique identifiers for tests, reports and driver nodes.
 *
 * An id is PREFIX + wall-clock milliseconds (base 36) + 64 random bits + a
 * per-process counter, so two ids made in the same millisecond, in one process
 * or in two, do not collide. Ids use only [A-Za-z0-9_-]. */
#ifndef DLT_IDS_H
#define DLT_IDS_H

#include <stddef.h>

#define ID_MAX 64

/* Write a new id into buf (at least ID_MAX bytes is always enough when the
 * prefix is at most 16 characters). Returns 0, or -1 when buf is too small
 * (buf then holds an empty string). */
int id_new(const char *prefix, char *buf, size_t buflen);

/* Return 1 when s is a valid id as accepted from the wire: 1..ID_MAX-1
 * characters of [A-Za-z0-9_.:-]; else 0. */
int id_valid(const char *s);

#endif
