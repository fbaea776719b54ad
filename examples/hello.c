// The README's C example: load MiniLM, run a sentence, print the attention of one head.
// Build against an installed gaze: cc hello.c $(pkg-config --cflags --libs gaze) -o hello
#include <gaze.h>
#include <stdio.h>

int main(int argc, char ** argv) {
    const char * text = argc > 1 ? argv[1] : "The cat sat on the mat.";
    struct gaze_model * m;
    if (gaze_model_load(&m, "minilm")) { fprintf(stderr, "%s\n", gaze_last_error()); return 1; }
    int64_t layer = 2, head = 5;                       // capture just this head
    struct gaze_run_opts opts = { .layers = &layer, .n_layers = 1, .heads = &head, .n_heads = 1 };
    struct gaze_run run;
    if (gaze_model_run(m, text, NULL, &opts, &run)) {
        fprintf(stderr, "%s\n", gaze_last_error());
        gaze_model_free(m);
        return 1;
    }
    printf("gaze %s: layer %lld, head %lld, %lld tokens\n", gaze_version(), (long long)layer,
           (long long)head, (long long)run.T);
    const float * a = run.layers[0].attn;              // [1 head, Tq, T], rows sum to 1
    for (int64_t i = 0; i < run.Tq; i++) {
        printf("%-8s", run.tokens[run.q_rows[i]]);
        for (int64_t j = 0; j < run.T; j++) printf(" %.4f", a[i * run.T + j]);
        printf("\n");
    }
    gaze_run_free(&run);
    gaze_model_free(m);
    return 0;
}
