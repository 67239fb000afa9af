/* log: leveled diagnostics on stderr, one line each, with a UTC time.
 *
 * With cli (main-level option parsing), the only module in src/common that
 * writes anything; other modules report through return codes and error
 * buffers, and main-level code decides what to log. Thread-safe: each line is written with one fprintf. */
#ifndef DLT_LOG_H
#define DLT_LOG_H

enum log_level { LOGL_DEBUG = 0, LOGL_INFO, LOGL_WARN, LOGL_ERROR, LOGL_OFF };

/* Set the program name printed on each line (borrowed; keep it alive). */
void log_set_name(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parse "debug", "info", "warn"/"warning", "error" or "off".
 * Returns 0, or -1 for an unknown name (out is untouched). */
int log_parse_level(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A sink with the bus_log_fn shape (bus.h): level is an enum log_level.
 * Lets main-level code route library diagnostics to the log. */
void log_sink(void *opaque, int level, const char *msg);

#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOGL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOGL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)

#endif
