#include "cli.h"
#include <stdio.h>
int cmd_bench(int argc, char ** argv) { (void)argc; (void)argv; printf("bench: coming\n"); return 0; }
