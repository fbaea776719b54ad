// The gaze command-line tool: one file per subcommand (cli/cmd_<name>.c), dispatched by main.c.
#ifndef GAZE_CLI_H
#define GAZE_CLI_H
#include "gaze.h"

int cmd_demo(int argc, char ** argv);
int cmd_bench(int argc, char ** argv);

// Prints "gaze: <message>" for the last library error and returns the CLI exit code 1.
int cli_fail(enum gaze_status s);
#endif
