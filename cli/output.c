// Output files in the CLI: the check every writing command makes before loading or running a
// model, standard output as a destination ("-"), and cleanup of temporaries on Ctrl-C/SIGTERM.
#include "cli.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_output_check(const char * cmd, const char * path) {
    if (!path) return 0;
    enum gaze_status s = gaze_output_check(path);
    // data on stdout: every message (summaries, tables) goes to stderr instead
    if (!s && gaze_output_is_stdout(path)) s = gaze_output_claim_stdout();
    if (!s) return 0;
    fprintf(stderr, "gaze %s: %s\n", cmd, gaze_last_error());
    return 1;
}

int cli_figure_check(const char * cmd, const char * path) {
    if (path && gaze_plot_format_from_path(path) == GAZE_PLOT_FORMAT_AUTO) {
        fprintf(stderr, "gaze %s: %s: a figure must end in .png, .svg or .pdf\n", cmd, path);
        return 2;
    }
    return cli_output_check(cmd, path);
}

static volatile sig_atomic_t g_tty;   // stderr is a terminal: end a progress line first

// Only async-signal-safe calls: unlink (inside gaze_output_remove_temps), write, _exit.
static void on_signal(int sig) {
    gaze_output_remove_temps();
    static const char intr[] = "\ngaze: interrupted\n", term[] = "\ngaze: terminated\n";
    const char * m = sig == SIGINT ? intr : term;
    const size_t n = sig == SIGINT ? sizeof intr - 1 : sizeof term - 1;
    (void)!write(STDERR_FILENO, m + !g_tty, n - !g_tty);
    _exit(128 + sig);
}

void cli_install_signal_handlers(void) {
    g_tty = isatty(STDERR_FILENO);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    // a signal ignored by whoever started us (nohup, `cmd &` in a script) stays ignored
    const int sigs[2] = { SIGINT, SIGTERM };
    for (int i = 0; i < 2; i++) {
        struct sigaction old;
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
    }
}
