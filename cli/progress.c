// The progress line shared by the long commands (see progress.h).
#include "progress.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

// Seconds on the monotonic clock: every timing the CLI prints.
double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(struct cli_progress * p, const char * label, bool quiet) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->on = !quiet && isatty(STDERR_FILENO);
}

static int columns(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

// "42s", "3m05s", "2h07m"
static void fmt_duration(char * out, size_t n, double s) {
    if (!(s < 360000)) { snprintf(out, n, "--"); return; }
    const long t = (long)(s + 0.5);
    if (t < 60) snprintf(out, n, "%lds", t);
    else if (t < 3600) snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(out, n, "%ldh%02ldm", t / 3600, t % 3600 / 60);
}

static void append(char * buf, size_t cap, size_t * len, const char * fmt, ...) {
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    const int k = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k > 0) *len = *len + (size_t)k < cap ? *len + (size_t)k : cap - 1;
}

void cli_progress_update(struct cli_progress * p, int64_t done, int64_t total, const char * what) {
    if (!p || !p->on) return;
    const double now = cli_now();
    if (!p->started) { p->started = true; p->t0 = now; p->done0 = done; }
    // the first call draws at once (something shows from the start), the last so the counts
    // end right; in between at most 10 lines a second
    else if (done == p->shown || (now - p->last < 0.1 && !(total >= 0 && done >= total))) return;
    p->last = now;
    p->shown = done;
    const double dt = now - p->t0, rate = dt > 0 ? (double)(done - p->done0) / dt : 0;
    char line[512], r[32], eta[32];
    size_t len = 0;
    const int max = columns() - 1;   // one row: a wrapped line cannot be redrawn with \r
    append(line, sizeof line, &len, "%s: ", p->label);
    // the bar goes first when the columns are short: the counts, rate and ETA matter more
    const size_t bar_at = len;
    if (total > 0) {
        enum { BAR = 20 };
        const int fill = (int)((double)BAR * (double)(done < total ? done : total) / (double)total);
        append(line, sizeof line, &len, "[%.*s%*s] %lld/%lld %s", fill, "####################", BAR - fill, "",
               (long long)done, (long long)total, what);
    } else {
        append(line, sizeof line, &len, "%lld %s", (long long)done, what);
    }
    if (done > p->done0) snprintf(r, sizeof r, rate < 10 ? "%.2f" : rate < 100 ? "%.1f" : "%.0f", rate);
    else snprintf(r, sizeof r, "--");
    append(line, sizeof line, &len, "  %s %s/s", r, what);
    if (total > 0) {
        fmt_duration(eta, sizeof eta, done >= total ? 0 : rate > 0 ? (double)(total - done) / rate : 1e9);
        append(line, sizeof line, &len, "  ETA %s", eta);
    }
    if (p->note[0]) append(line, sizeof line, &len, "  %s", p->note);
    if ((int)len > max && total > 0) {   // drop "[####    ] " (20 + 3 columns)
        memmove(line + bar_at, line + bar_at + 23, len - bar_at - 23 + 1);
        len -= 23;
    }
    int w = (int)len;
    if (w > max) w = max;
    fprintf(stderr, "\r%.*s%*s", w, line, p->width > w ? p->width - w : 0, "");
    fflush(stderr);
    p->width = w;
}

void cli_progress_clear(struct cli_progress * p) {
    if (!p || !p->on || !p->width) return;
    fprintf(stderr, "\r%*s\r", p->width, "");
    fflush(stderr);
    p->width = 0;
}

static void hook_fn(void * user, int64_t done, int64_t total, const char * what) {
    cli_progress_update(user, done, total, what);
}

struct gaze_progress cli_progress_hook(struct cli_progress * p) {
    struct gaze_progress g = { NULL, NULL };
    if (p && p->on) { g.fn = hook_fn; g.user = p; }
    return g;
}

enum gaze_status cli_model_load(struct gaze_model ** model, const char * path, const char * cmd, bool quiet) {
    char label[64];
    snprintf(label, sizeof label, "gaze %s: loading", cmd);
    struct cli_progress p;
    cli_progress_init(&p, label, quiet);
    struct gaze_progress g = cli_progress_hook(&p);
    enum gaze_status s = gaze_model_load_progress(model, path, &g);
    cli_progress_clear(&p);
    return s;
}
