// The gaze command-line tool: one file per subcommand (cli/cmd_<name>.c), dispatched by main.c.
#ifndef GAZE_CLI_H
#define GAZE_CLI_H
#include "gaze.h"

int cmd_demo(int argc, char ** argv);
int cmd_run(int argc, char ** argv);
int cmd_show(int argc, char ** argv);
int cmd_plot(int argc, char ** argv);
int cmd_bench(int argc, char ** argv);
int cmd_fetch(int argc, char ** argv);
int cmd_info(int argc, char ** argv);
int cmd_heads(int argc, char ** argv);
int cmd_rollout(int argc, char ** argv);
int cmd_flow(int argc, char ** argv);
int cmd_diff(int argc, char ** argv);
int cmd_corpus(int argc, char ** argv);
int cmd_merge(int argc, char ** argv);
int cmd_ablate(int argc, char ** argv);
int cmd_view(int argc, char ** argv);

// Prints "gaze: <message>" for the last library error and returns the CLI exit code 1.
int cli_fail(enum gaze_status s);
// Before any long work: whether the output path (NULL: none) can be written; prints
// "gaze CMD: cannot create PATH: reason" and returns the exit code 1 if not. For standard output
// ("-") it moves messages printed on stdout to stderr (gaze_output_claim_stdout).
int cli_output_check(const char * cmd, const char * path);
// The same for a figure, whose format comes from its name (.png, .svg, .pdf; else exit code 2).
int cli_figure_check(const char * cmd, const char * path);
// SIGINT/SIGTERM remove temporary output files, print "gaze: interrupted", exit 128 + signal.
void cli_install_signal_handlers(void);
// "0,2-4" -> sorted unique indices in [0, limit); returns a CLI exit code (0 ok), prints errors.
int cli_parse_index_list(const char * flag, const char * s, int64_t limit, int64_t ** out, int64_t * n);
#endif
