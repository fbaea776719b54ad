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
// s (a token, model name, path, ...) escaped for the terminal (gaze_term_escape), for printf
// arguments: valid until eight more calls; at most 1023 bytes. "" for NULL.
const char * cli_safe(const char * s);
// "0,2-4" -> sorted unique indices in [0, limit); returns a CLI exit code (0 ok), prints errors.
int cli_parse_index_list(const char * flag, const char * s, int64_t limit, int64_t ** out, int64_t * n);
#endif
