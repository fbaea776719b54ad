// gaze CLI entry: `gaze <command> [args]`. Each command lives in cli/cmd_<name>.c.
#include "cli.h"
#include <stdio.h>
#include <string.h>

struct cli_command {
    const char * name;
    int (*fn)(int argc, char ** argv);
    const char * help;
};

// First line "gaze X.Y.Z" alone, for scripts; then the kernels' ISA this CPU gets.
static int cmd_version(int argc, char ** argv) {
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: gaze version | gaze --version\n\n"
               "Prints \"gaze X.Y.Z\", then the instruction set the kernels use here (GAZE_ISA lowers it).\n");
        return 0;
    }
    printf("gaze %s\nisa: %s\n", gaze_version(), gaze_isa_name(gaze_isa_active()));
    return 0;
}

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
    { "merge", cmd_merge, "combine the shard files of gaze corpus or gaze evaluate: gaze merge part0.json part1.json -o all.json" },
    { "ablate", cmd_ablate, "head importance by ablating each head in the real forward pass: gaze ablate MODEL \"text\" [--mean]" },
    { "explain", cmd_explain, "token attributions by a method (attention, rollout, flow, value-norm, alti, value-zeroing, occlusion, logit-lens, ...): gaze explain METHOD RUN | MODEL \"text\"" },
    { "evaluate", cmd_evaluate, "faithfulness (ERASER, deletion/insertion) and plausibility of attribution methods: gaze evaluate MODEL data.jsonl" },
    { "bias",  cmd_bias,  "per-head attention mass on a swapped word across counterfactual pairs, with bootstrap intervals: gaze bias MODEL pairs.jsonl" },
    { "view",  cmd_view,  "self-contained offline HTML viewer (head, model, heatmap, q/k, steps): gaze view RUN | MODEL \"text\" -o out.html" },
    { "version", cmd_version, "print the version and the instruction set in use (also gaze --version)" },
};

// The message is for people: the library's sentence, without the status enum's name.
int cli_fail(enum gaze_status s) {
    (void)s;
    const char * m = gaze_last_error();
    fprintf(stderr, "%s%s\n", strncmp(m, "gaze ", 5) ? "gaze: " : "", m);   // "gaze fetch: ..." as is
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
    fprintf(f, "\ngaze help COMMAND (or gaze COMMAND --help) describes a command's flags and their defaults.\n");
}

// gaze help [COMMAND]: the overview, or the command's own --help (stdout, exit 0).
static int help(int argc, char ** argv) {
    if (argc < 3) { usage(stdout); return 0; }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[2], commands[i].name)) {
            static char flag[] = "--help";
            char * args[] = { argv[2], flag, NULL };
            return commands[i].fn(2, args);
        }
    fprintf(stderr, "gaze help: unknown command '%s'\n", argv[2]);
    usage(stderr);
    return 2;
}

int main(int argc, char ** argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(argc - 1, argv + 1);
    if (!strcmp(argv[1], "help")) return help(argc, argv);
    cli_install_signal_handlers();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "gaze: unknown command '%s'\n", cli_safe(argv[1]));
    usage(stderr);
    return 2;
}
