#include "cli.h"
#include <stdio.h>
int cmd_demo(int argc, char ** argv) { (void)argc; (void)argv; printf("demo: coming\n"); return 0; }
