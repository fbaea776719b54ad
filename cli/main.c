// gaze CLI entry: `gaze <command> [args]`. Each command lives in cli/cmd_<name>.c.
#include "cli.h"
#include <stdio.h>
#include <string.h>

struct cli_command {
    const char * name;
    int (*fn)(int argc, char ** argv);
    const char * help;
};

static const struct cli_command commands[] = {
    { "demo",  cmd_demo,  "attention of a synthetic example, as a terminal heatmap" },
    { "bench", cmd_bench, "benchmarks: gaze bench attention [flags]" },
    { "run",   cmd_run,   "run a model on text and save the captured attention: gaze run MODEL \"text\" -o run.safetensors" },
    { "show",  cmd_show,  "terminal heatmap of a saved run or a live model: gaze show RUN | MODEL \"text\"" },
    { "plot",  cmd_plot,  "figures (PNG, SVG, PDF): heatmap, model view, head view, bars: gaze plot RUN -o out.png" },
    { "info",  cmd_info,  "describe a safetensors or GGUF file, a run file or a model folder" },
    { "fetch", cmd_fetch, "download a known model (minilm, smollm2) and print its path" },
    { "heads", cmd_heads, "per-head metrics, detectors and labels: gaze heads RUN | MODEL \"text\"; gaze heads --induction MODEL" },
    { "rollout", cmd_rollout, "attention rollout to an output token: gaze rollout RUN | MODEL \"text\" [--token I]" },
    { "flow",  cmd_flow,  "attention flow (max-flow) to an output token: gaze flow RUN | MODEL \"text\" [--token I]" },
    { "diff",  cmd_diff,  "per-head Jensen-Shannon divergence of two runs: gaze diff A B | MODEL \"a\" \"b\" | MODEL_A MODEL_B \"text\"" },
    { "corpus", cmd_corpus, "per-head metrics averaged over a text file, one document a line: gaze corpus MODEL file.txt [-o stats.json] [--shard i/n]" },
    { "merge", cmd_merge, "combine gaze corpus shard files: gaze merge part0.json part1.json -o all.json" },
    { "ablate", cmd_ablate, "head importance by ablating each head in the real forward pass: gaze ablate MODEL \"text\" [--mean]" },
    { "view",  cmd_view,  "self-contained offline HTML viewer (head, model, heatmap, q/k, steps): gaze view RUN | MODEL \"text\" -o out.html" },
};

int cli_fail(enum gaze_status s) {
    fprintf(stderr, "gaze: %s (%s)\n", gaze_last_error(), gaze_status_name(s));
    return 1;
}

const char * cli_safe(const char * s) {
    static char ring[8][1024];   // eight arguments of one printf at most
    static unsigned next;
    char * b = ring[next++ % 8];
    gaze_term_escape(b, sizeof ring[0], s, GAZE_TERM_NUL);
    return b;
}

static void usage(FILE * f) {
    fprintf(f, "usage: gaze <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char ** argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "gaze: unknown command '%s'\n", cli_safe(argv[1]));
    usage(stderr);
    return 2;
}
