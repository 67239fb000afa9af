#define _POSIX_C_SOURCE 200809L
#include "watch.h"

#include "jget.h"
#include "shape.h"
#include "stats.h"
#include "table.h"
#include "view.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define WATCH_BAR_WIDTH 30

static int64_t watch_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void watch_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    /* An interrupt cuts the sleep short; the loop then looks at it. */
    nanosleep(&ts, NULL);
}

/* The figures the bar and the line show. */
struct watch_view {
    const char *state;
    struct stats s;
    int64_t done, total;
    double pct;
};

static void watch_view_of(const cJSON *test, struct watch_view *v)
{
    v->state = jget_str(test, "state", "?");
    stats_from_json(jget_obj(test, "aggregate"), &v->s);
    v->done = stats_done(&v->s);
    /* The drivers' own figures may be fresher than the merged aggregate
     * while a test runs: progress shows whichever is further on. */
    int64_t sum_done = 0, sum_err = 0;
    int err_known = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, jget_arr(test, "per_driver"))
    {
        struct stats ds;
        stats_from_json(d, &ds);
        sum_done += stats_done(&ds);
        sum_err += ds.errors;
        err_known |= ds.has_errors;
    }
    if (sum_done > v->done)
        v->done = sum_done;
    if (err_known && (!v->s.has_errors || sum_err > v->s.errors)) {
        v->s.errors = sum_err;
        v->s.has_errors = 1;
    }
    v->total = view_total_requests(test);
    v->pct = v->total > 0 ? 100.0 * (double)v->done / (double)v->total : 0;
    /* A test with a duration or stages is as far on as its clock, or its
     * count when that is further. */
    int64_t run_ms = view_run_ms(test), start_ms = jget_int(test, "start_at_ms", 0);
    if (run_ms > 0 && start_ms > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t el = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - start_ms;
        double tp = el > 0 ? 100.0 * (double)el / (double)run_ms : 0;
        if (tp > v->pct)
            v->pct = tp;
    }
    if (v->pct > 100)
        v->pct = 100;
}

/* Cut s to its first cols columns, never inside a UTF-8 character. */
static void watch_cut(char *s, size_t cols)
{
    size_t w = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) == 0x80)
            continue;
        if (w++ == cols) {
            *p = '\0';
            return;
        }
    }
}

/* The figures as text: a number, or STATS_UNKNOWN. */
struct watch_figures {
    char rps[32], p50[32], p99[32], errors[32];
};

static void watch_figures_of(const struct watch_view *v, int line, struct watch_figures *f)
{
    stats_fmt_num(v->s.has_rps, v->s.rps, line ? 1 : 0, f->rps, sizeof f->rps);
    const enum stats_lat lat[2] = {LAT_MEDIAN, LAT_P99};
    char *out[2] = {f->p50, f->p99};
    for (int i = 0; i < 2; i++) {
        stats_fmt_num(v->s.has_lat[lat[i]], v->s.lat[lat[i]], 2, out[i], sizeof f->p50);
        if (v->s.has_lat[lat[i]])
            strncat(out[i], "ms", sizeof f->p50 - strlen(out[i]) - 1);
    }
    stats_fmt_count(v->s.has_errors, v->s.errors, f->errors, sizeof f->errors);
}

void watch_format_bar(const cJSON *test, double elapsed_s, int columns, char *buf, size_t buflen)
{
    struct watch_view v;
    watch_view_of(test, &v);
    if (strcmp(v.state, "CREATED") == 0 || strcmp(v.state, "CONFIGURED") == 0) {
        snprintf(buf, buflen, "%s  waiting for the drivers to get ready  %.1fs", v.state,
                 elapsed_s);
        return;
    }
    char total[32], rest[256];
    if (v.total > 0)
        snprintf(total, sizeof total, "%lld", (long long)v.total);
    else
        snprintf(total, sizeof total, "?");
    struct watch_figures f;
    watch_figures_of(&v, 0, &f);
    int rest_len =
        snprintf(rest, sizeof rest, "%5.1f%%  %lld/%s  %s req/s  p50 %s  p99 %s  errors %s  %.1fs",
                 v.pct, (long long)v.done, total, f.rps, f.p50, f.p99, f.errors, elapsed_s);
    rest_len = (int)table_width(rest);
    /* On a narrow terminal: single spaces, and no elapsed time. */
    if (columns > 0 && columns - 1 - (int)strlen(v.state) - 4 - rest_len < 10) {
        snprintf(rest, sizeof rest, "%.1f%% %lld/%s %s req/s p50 %s p99 %s errors %s", v.pct,
                 (long long)v.done, total, f.rps, f.p50, f.p99, f.errors);
        rest_len = (int)table_width(rest);
    }
    /* The bar takes what the terminal leaves, up to WATCH_BAR_WIDTH; with
     * less than 5 columns left there is no bar. */
    int width = WATCH_BAR_WIDTH;
    if (columns > 0) {
        width = columns - 1 - (int)strlen(v.state) - 4 - rest_len;
        if (width > WATCH_BAR_WIDTH)
            width = WATCH_BAR_WIDTH;
    }
    if (width < 5) {
        snprintf(buf, buflen, "%s %s", v.state, rest);
        return;
    }
    char bar[WATCH_BAR_WIDTH + 1];
    int fill = (int)(v.pct / 100.0 * width + 0.5);
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    snprintf(buf, buflen, "%s [%s] %s", v.state, bar, rest);
}

void watch_format_line(const cJSON *test, double elapsed_s, char *buf, size_t buflen)
{
    struct watch_view v;
    watch_view_of(test, &v);
    struct watch_figures f;
    watch_figures_of(&v, 1, &f);
    snprintf(buf, buflen, "t=%.1fs state=%s done=%lld/%lld (%.1f%%) rps=%s p50=%s p99=%s errors=%s",
             elapsed_s, v.state, (long long)v.done, (long long)v.total, v.pct, f.rps, f.p50, f.p99,
             f.errors);
}

int watch_test(struct http_client *h, const char *id, const struct watch_opts *o, cJSON **final,
               char *err, size_t errlen)
{
    *final = NULL;
    char path[128];
    snprintf(path, sizeof path, "/api/tests/%s", id);
    char stop_path[160];
    snprintf(stop_path, sizeof stop_path, "/api/tests/%s/stop", id);
    const int64_t t0 = watch_now_ms();
    /* Plain lines go out on a 1 s grid from the start: polling every
     * WATCH_POLL_MS alone would space them up to 1.3 s apart. */
    int64_t last_ok = t0, next_line = t0;
    int stop_sent = 0, drawn = 0;
    char last_state[32] = "";
    char why[512] = "";
    for (;;) {
        int64_t now = watch_now_ms();
        if (o->interrupts && *o->interrupts >= 2) {
            snprintf(err, errlen, "interrupted; test %s may still be running", id);
            goto fail;
        }
        if (o->interrupts && *o->interrupts >= 1 && !stop_sent) {
            stop_sent = 1;
            if (o->out && drawn && o->tty)
                fputc('\n', o->out);
            drawn = 0;
            fprintf(stderr,
                    "load-client: interrupted: stopping test %s (interrupt again to "
                    "leave it running)\n",
                    id);
            cJSON *ans = NULL;
            long st = 0;
            char serr[512];
            if (http_json(h, "POST", stop_path, NULL, &ans, &st, serr, sizeof serr) < 0 &&
                st != 409)
                fprintf(stderr, "load-client: %s\n", serr);
            cJSON_Delete(ans);
        }
        if (o->max_ms > 0 && now - t0 > o->max_ms) {
            snprintf(err, errlen,
                     "test %s did not end within the --wait-timeout; it may still be "
                     "running",
                     id);
            goto fail;
        }
        cJSON *test = NULL;
        long status = 0;
        if (http_json(h, "GET", path, NULL, &test, &status, why, sizeof why) < 0) {
            /* A test that does not exist will not appear later; anything
             * else may be a restart of the orchestrator: keep trying. */
            if (status == 404 || status == 400 || status == 401) {
                snprintf(err, errlen, "%s", why);
                goto fail;
            }
            if (now - last_ok > WATCH_FAIL_BUDGET_MS) {
                snprintf(err, errlen, "%s (for %ds while following test %s)", why,
                         WATCH_FAIL_BUDGET_MS / 1000, id);
                goto fail;
            }
            watch_sleep_ms(WATCH_POLL_MS);
            continue;
        }
        last_ok = now;
        /* An answer of another shape is no test to follow (and waiting on
         * a state that cannot end would never return). */
        if (shape_test(test, why, sizeof why) < 0) {
            snprintf(err, errlen, "the orchestrator's answer to GET %s is not as documented: %s",
                     path, why);
            cJSON_Delete(test);
            goto fail;
        }
        const char *state = jget_str(test, "state", "");
        int fin = stats_state_final(state);
        double elapsed = (double)(watch_now_ms() - t0) / 1000.0;
        if (o->out) {
            char line[512];
            if (o->tty) {
                watch_format_bar(test, elapsed, o->columns, line, sizeof line);
                /* A line wider than the terminal would wrap, and '\r' would
                 * then redraw only its last part. */
                if (o->columns > 1)
                    watch_cut(line, (size_t)o->columns - 1);
                fprintf(o->out, "\r%s\033[K", line);
                drawn = 1;
                if (fin) {
                    fputc('\n', o->out);
                    drawn = 0;
                }
                fflush(o->out);
            } else if (fin || now >= next_line || strcmp(state, last_state) != 0) {
                watch_format_line(test, elapsed, line, sizeof line);
                fprintf(o->out, "%s\n", line);
                fflush(o->out);
                /* On the grid while it keeps up; a line for a new state
                 * starts a new one. */
                next_line = now >= next_line ? next_line + 1000 : now + 1000;
                if (next_line <= now)
                    next_line = now + 1000;
            }
        }
        snprintf(last_state, sizeof last_state, "%s", state);
        if (fin) {
            *final = test;
            return 0;
        }
        cJSON_Delete(test);
        int64_t wake = now + WATCH_POLL_MS, after = watch_now_ms();
        if (o->out && !o->tty && next_line < wake)
            wake = next_line;
        if (after < wake)
            watch_sleep_ms(wake - after);
    }
fail:
    if (o->out && drawn && o->tty) {
        fputc('\n', o->out);
        fflush(o->out);
    }
    return -1;
}
