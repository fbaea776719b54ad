// Shared by the analysis commands (gaze heads, rollout, flow): where the run comes from (a run
// file, or MODEL "text" run live), token labels fitted to a column, per-token bars.
#ifndef GAZE_ANALYSIS_CLI_H
#define GAZE_ANALYSIS_CLI_H
#include "cli.h"

struct acli_source {
    const char * cmd;      // "heads", ...: names the command in messages
    bool         no_file;  // -f FILE is not a source flag of this command
    const char * src;      // RUN.safetensors, or a model (path or fetched name)
    const char * text;     // with a model: the input; NULL for a run file
    const char * text_file; // -f FILE ('-': stdin): the input read from a file
    char *       text_owned; // the text read from text_file (acli_source_text); free it
    const char * pair;     // encoders: second sentence, or NULL
    bool         exact;    // quantized models: f32-dequantized weights
    int          n_threads;
    bool         kind_given; // --kind: which attention of an encoder-decoder run
    int          kind;      // enum gaze_kind when kind_given
    bool         images;    // the command takes MODEL IMAGE: --image-size WxH is a source flag
    int64_t      image_w, image_h; // --image-size (0: the processor's size)
};

// Parses the source flags shared by every analysis command at argv[*i] (--pair, --exact,
// --threads, --kind, -f FILE unless s->no_file, --image-size WxH when s->images); returns 1 when consumed (advancing *i past a
// value), 0 when not a source flag, -1 when a value is missing, -2 when a value is invalid
// (the message printed: exit 2).
int  acli_source_flag(struct acli_source * s, int argc, char ** argv, int * i);
// After parsing: reads -f FILE into s->text (refusing a text given twice). CLI exit code.
int  acli_source_text(struct acli_source * s);
// Commands whose work is a model's forward pass scored end to end (ablate, bias, evaluate):
// --kind given is refused, saying why (exit 2, message printed); 0 otherwise.
int  acli_no_kind(const struct acli_source * s, const char * why);
bool acli_is_run_file(const char * path);
// Loads the run file or runs the model on text (every layer, head and row), then keeps the
// attention kind asked (--kind; cli_select_kind). CLI exit code.
int  acli_load_run(const char * cmd, const struct acli_source * s, struct gaze_run * run);

// Rollout and flow: the run must hold every query row (else exit 2, saying so); a note on stderr
// when it holds only some layers or heads. CLI exit code.
int  acli_need_full_run(const char * cmd, const struct gaze_run * run);

// Writes token s to f as exactly width display columns: control characters and newlines
// escaped, long tokens cut with "…", short ones padded with spaces (width < 0: at most -width
// columns, no padding).
void acli_label(FILE * f, const char * s, int width);
// One line per token: index, label, a bar of eighth blocks scaled to the maximum (width
// columns), the value; mark (or -1) gets a '>' in front. ascii: '#' bars.
void acli_bars(FILE * f, const double * v, int64_t T, const char * const * labels, int64_t mark,
               int width, bool ascii);
// --fusion mean|max|min; false when unknown.
bool acli_parse_fusion(const char * v, enum gaze_head_fusion * f);
const char * acli_fusion_name(enum gaze_head_fusion f);
// --token I|first|cls|last (NULL: token 0 for encoders, the last token for decoders) -> *tok.
// CLI exit code.
int acli_parse_token(const char * cmd, const struct gaze_run * run, const char * s, int64_t * tok);
enum acli_format { ACLI_FORMAT_TABLE = 0, ACLI_FORMAT_JSON, ACLI_FORMAT_CSV };

// Terminal heatmap of v [L, H] (NaN drawn as 0): rows labelled by layers [L] ("L3"), columns
// by heads [H] ("h2"); either may be NULL (0, 1, ...). CLI exit code.
// Also draw every grid printed by acli_grid into this figure (.png/.svg/.pdf); NULL: off.
void acli_set_grid_figure(const char * path);
// --grid-plot without --grid, or --grid with --json/--csv: refused (exit 2, message printed).
int acli_check_grid(const char * cmd, bool grid, bool machine);
// cli_output_check of that figure (before any work). CLI exit code.
int acli_check_grid_figure(const char * cmd);
int acli_grid(const double * v, int64_t L, int64_t H, const int64_t * layers, const int64_t * heads,
              const char * title);
// Corpus statistics: table (mean ± std of the main metrics, labels from the means), JSON or CSV
// (every metric's mean, std, count), or with grid >= 0 the layer × head grid of that metric's mean.
int acli_print_stats(const struct gaze_head_stats * st, enum acli_format fmt, int grid,
                     const struct gaze_head_thresholds * th);
// Prints a double for JSON/CSV/tables: NaN as the given text ("-", "", "null").
void acli_num(FILE * f, double v, int prec, int width, const char * nan_text);
// A bar value: fixed point from 1e-3 up, scientific below (a decoder's rollout spans 1 .. 1e-9).
void acli_value(FILE * f, double v);
// Share of row v [T] on token 0 when it is at least GAZE_SINK_COLLAPSE and token 0 is not the
// output itself (rollout or flow collapsed onto the attention sink), else 0.
#define ACLI_SINK_COLLAPSE 0.99
double acli_sink_collapse(const double * v, int64_t T, int64_t tok);

// gaze corpus/evaluate --shard S (cmd: "corpus"): "i/n", or "auto" from GAZE_SHARD/GAZE_SHARDS, else a Slurm job array
// (SLURM_ARRAY_TASK_ID - MIN) / STEP of COUNT (cli/shard.c). from gets what chose it
// ("--shard", "GAZE_SHARD", "SLURM_ARRAY_TASK_ID"). CLI exit code (2: message printed).
int cli_shard_parse(const char * cmd, const char * s, int64_t * index, int64_t * n, char * from, size_t from_size);

// One shard file as gaze merge checks it, whatever it holds (corpus statistics, evaluate parts).
struct cli_shard_file {
    const char *    path;
    int64_t         n_shards;
    const uint8_t * shards;      // [n_shards] 1: held
    int64_t         input_size;  // -1: unknown (standard input, an older gaze): not checked
    uint64_t        input_hash;
    bool            complete;
};
// gaze merge's checks of n files before anything is merged (cli/shard.c): mixed shard counts,
// other inputs and a shard given twice are refused; missing or unfinished shards too unless
// allow_partial (then a warning; *partial says so). resume names the command that finishes an
// unfinished shard ("gaze corpus --resume"). Returns 0 or 1 (refused, the files named).
int cli_shard_check(const struct cli_shard_file * f, int n, bool allow_partial, const char * resume, bool * partial);
#endif
