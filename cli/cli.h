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
int cmd_explain(int argc, char ** argv);
int cmd_evaluate(int argc, char ** argv);
// gaze merge of gaze evaluate part files (cli/cmd_evaluate.c): argv as gaze merge got it.
int cmd_evaluate_merge(int argc, char ** argv);
int cmd_bias(int argc, char ** argv);

// Prints "gaze: <message>" for the last library error and returns the CLI exit code 1.
int cli_fail(enum gaze_status s);
// Prints "gaze CMD: <message>" for the last library error, without the message's own "CMD: "
// prefix (no "gaze plot: plot: ..."), and returns rc.
int cli_fail_cmd(const char * cmd, int rc);
// Before any long work: whether the output path (NULL: none) can be written; prints
// "gaze CMD: cannot create PATH: reason" and returns the exit code 1 if not. For standard output
// ("-") it moves messages printed on stdout to stderr (gaze_output_claim_stdout).
int cli_output_check(const char * cmd, const char * path);
// The same for a figure, whose format comes from its name (.png, .svg, .pdf; else exit code 2).
int cli_figure_check(const char * cmd, const char * path);
// SIGINT/SIGTERM remove temporary output files, print "gaze: interrupted", exit 128 + signal.
void cli_install_signal_handlers(void);
// s (a token, model name, path, ...) escaped for the terminal (gaze_term_escape), for printf
// arguments: valid until eight more calls; at most 1023 bytes. "" for NULL.
const char * cli_safe(const char * s);
// "0,2-4" -> sorted unique indices in [0, limit); returns a CLI exit code (0 ok), prints errors.
int cli_parse_index_list(const char * flag, const char * s, int64_t limit, int64_t ** out, int64_t * n);

// Strict numbers for every numeric flag (no atoi/atof in cli/): the whole value must be the
// number, in range. On failure they print "gaze CMD: FLAG: 'S' is not an integer in LO..HI" (or
// "a number in [LO, HI)") and return the exit code 2; 0 when *out was set. hi == INT64_MAX
// reads ">= lo"; an infinite hi reads ">= lo" / "> lo".
enum { CLI_OPEN_LO = 1u, CLI_OPEN_HI = 2u };   // cli_double: the bound itself is excluded
int cli_int(const char * cmd, const char * flag, const char * s, int64_t lo, int64_t hi, int64_t * out);
int cli_int32(const char * cmd, const char * flag, const char * s, int lo, int hi, int * out);
int cli_u64(const char * cmd, const char * flag, const char * s, uint64_t * out);
int cli_double(const char * cmd, const char * flag, const char * s, double lo, double hi, unsigned open,
               double * out);
// A length with its unit (3.25in, 234pt, 8cm, 80mm) in points, 0.5 in .. 100 in.
int cli_length_pt(const char * cmd, const char * flag, const char * s, double * out);
// A byte size: 1048576, 512K, 512M, 4G, 1T (powers of 1024; an optional B or iB after the unit).
int cli_size(const char * cmd, const char * flag, const char * s, int64_t * out);
int cli_float(const char * cmd, const char * flag, const char * s, double lo, double hi, unsigned open, float * out);

// A gaze run file by its content (a safetensors header with gaze.format_version metadata), not by
// its name.
bool cli_is_run_file(const char * path);
// 0 when path is a run file; else prints why not and returns 2 ("no such file", "is a model:
// give MODEL \"text\"", weights without gaze metadata) or 1 (a damaged file: the reader's error).
int cli_need_run_file(const char * cmd, const char * path);

// Text given with -f FILE ("-": stdin), for inputs longer than argv allows: at most
// CLI_MAX_TEXT_BYTES, valid UTF-8, no NUL byte, not empty; one trailing newline dropped.
#define CLI_MAX_TEXT_BYTES (64 << 20)
int cli_read_text(const char * cmd, const char * path, char ** out);
// With file set: reads it into *owned (free it) and points *text at it; refuses a text given
// both ways. Without: leaves *text. CLI exit code.
int cli_text_source(const char * cmd, const char * file, const char ** text, char ** owned);
// Seconds on the monotonic clock (cli/progress.c): for the times commands print.
double cli_now(void);
// A run of attention summaries only: replaced by the run of its block pyramid
// (gaze_run_summary_blocks, at most max_side blocks a side), with a note on stderr; other
// runs untouched. Returns an exit code (0: go on).
int cli_summary_blocks(const char * cmd, struct gaze_run * run, int64_t max_side);

// --kind encoder|decoder|cross -> *kind (enum gaze_kind); CLI exit code (2: message printed).
int cli_parse_kind(const char * cmd, const char * v, int * kind);
// The run becomes its attention of that kind, in place (kind -1: the encoder side of an
// encoder-decoder run, any other run as it is). On an enc-dec run says on stderr which kind is
// used and which others the run holds (unless quiet); a kind the run lacks: exit 2, naming the
// kinds it has. CLI exit code.
int cli_select_kind(const char * cmd, struct gaze_run * run, int kind, bool quiet);

// Image inputs of vision models (cli/image_input.c). An existing file with PNG/JPEG magic
// bytes, or named *.png / *.jpg / *.jpeg (then its decoder names what is wrong with it).
bool cli_is_image_path(const char * path);
// Decodes path and runs the vision model on it; says on stderr how long decoding took
// (unless quiet). The run is initialised either way.
enum gaze_status cli_run_image(struct gaze_model * model, const char * path, const struct gaze_run_opts * opts,
                               struct gaze_run * run, bool quiet);
// The summary of an image run: grid, patch size, and the top classes with their labels.
void cli_print_image_run(const struct gaze_model * model, const struct gaze_run * run);
// --image-size WxH (every command that runs MODEL IMAGE: run, heads, rollout, flow, diff, view,
// plot): each side 1..4096; the model checks the patch multiple. CLI exit code (2: message
// printed, naming cmd).
int cli_image_size(const char * cmd, const char * v, int64_t * w, int64_t * h);
// After the input is known: --image-size given (w > 0) without an image input is refused
// (exit 2, saying why); 0 otherwise.
int cli_image_size_applies(const char * cmd, int64_t w, bool image_input);
// CLIP: runs the text tower on each of texts [n] and attaches the text runs and logits_per_image
// to the image run (run->texts, run->clip_logits); with image (the file the run was made from)
// also each vision head's drop of the logits (run->clip_head_drops: L·H + 1 image passes,
// announced on stderr unless quiet), which gaze plot --kind clip weights the rollout by.
enum gaze_status cli_clip_texts(struct gaze_model * model, struct gaze_run * run, const char * const * texts, int n,
                                const struct gaze_run_opts * image_opts, const char * image, bool quiet);
void cli_print_clip(const struct gaze_run * run);
// --patch R,C of an image run -> the token index of that patch (*query). CLI exit code.
int cli_patch_query(const struct gaze_run * run, const char * s, int64_t * query);
#endif
