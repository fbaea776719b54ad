// Attention transforms (analysis/aggregate.c) against small hand-computed cases: head mean/max,
// hiding special tokens with renormalisation, WordPiece and BPE word grouping, the group rule
// (sum to, mean from), block means, differences; then random maps whose rows must still sum
// to 1 after every transform.
#include "check.h"
#include "gaze.h"
#include <stdlib.h>
#include <string.h>

static bool near(float a, float b) { return fabsf(a - b) <= 1e-6f; }

static void test_reduce(void) {
    // h0 = [[1, 0], [.5, .5]], h1 = [[0, 1], [.25, .75]]
    const float w[8] = { 1, 0, 0.5f, 0.5f, 0, 1, 0.25f, 0.75f };
    float out[4];
    CHECK(gaze_attn_reduce_heads(w, 2, 2, 2, NULL, 0, GAZE_HEAD_REDUCE_MEAN, out) == GAZE_OK, "mean");
    CHECK(near(out[0], 0.5f) && near(out[1], 0.5f) && near(out[2], 0.375f) && near(out[3], 0.625f),
          "mean = %g %g %g %g", out[0], out[1], out[2], out[3]);
    CHECK(gaze_attn_reduce_heads(w, 2, 2, 2, NULL, 0, GAZE_HEAD_REDUCE_MAX, out) == GAZE_OK, "max");
    CHECK(near(out[0], 1) && near(out[1], 1) && near(out[2], 0.5f) && near(out[3], 0.75f),
          "max = %g %g %g %g", out[0], out[1], out[2], out[3]);
    const int64_t one = 1;
    CHECK(gaze_attn_reduce_heads(w, 2, 2, 2, &one, 1, GAZE_HEAD_REDUCE_MEAN, out) == GAZE_OK, "subset");
    CHECK(near(out[0], 0) && near(out[1], 1) && near(out[2], 0.25f) && near(out[3], 0.75f), "subset = head 1");
    const int64_t bad = 2;
    CHECK(gaze_attn_reduce_heads(w, 2, 2, 2, &bad, 1, GAZE_HEAD_REDUCE_MEAN, out) == GAZE_ERR_INVALID_ARG, "head out of range");
    CHECK(gaze_attn_reduce_heads(w, 2, 2, 2, NULL, 0, (enum gaze_head_reduce)7, out) == GAZE_ERR_INVALID_ARG, "bad reduction");
}

static void test_drop(void) {
    // [CLS] a b [SEP]; row 1 = .5 .2 .2 .1 -> keep a, b: .5 .5; row 2 all on specials -> 0 0
    const float w[16] = {
        1, 0, 0, 0,
        0.5f, 0.2f, 0.2f, 0.1f,
        0.6f, 0, 0, 0.4f,
        0.25f, 0.25f, 0.25f, 0.25f,
    };
    const uint8_t drop[4] = { 1, 0, 0, 1 };
    float out[16];
    int64_t nq = -1, nk = -1;
    CHECK(gaze_attn_drop_tokens(w, 1, 4, 4, drop, drop, out, &nq, &nk) == GAZE_OK, "drop");
    CHECK(nq == 2 && nk == 2, "kept %lld x %lld", (long long)nq, (long long)nk);
    CHECK(near(out[0], 0.5f) && near(out[1], 0.5f), "row a renormalised: %g %g", out[0], out[1]);
    CHECK(out[2] == 0 && out[3] == 0, "row with weight only on specials stays zero: %g %g", out[2], out[3]);
    // dropping only rows keeps the values (no renormalisation needed)
    CHECK(gaze_attn_drop_tokens(w, 1, 4, 4, drop, NULL, out, &nq, &nk) == GAZE_OK && nq == 2 && nk == 4, "rows only");
    CHECK(near(out[0], 0.5f) && near(out[3], 0.1f) && near(out[4], 0.6f), "rows only values");
}

static void test_words_wordpiece(void) {
    const char * tok[5] = { "[CLS]", "play", "##ing", "ball", "[SEP]" };
    const uint8_t sp[5] = { 1, 0, 0, 0, 1 };
    struct gaze_words w;
    CHECK(gaze_words_init(&w, tok, 5, sp, GAZE_WORD_STYLE_AUTO, false) == GAZE_OK, "init");
    CHECK(w.n_words == 4, "4 words, got %lld", (long long)w.n_words);
    if (w.n_words == 4) {
        CHECK(!strcmp(w.text[0], "[CLS]") && !strcmp(w.text[1], "playing") && !strcmp(w.text[2], "ball") &&
              !strcmp(w.text[3], "[SEP]"), "texts %s|%s|%s|%s", w.text[0], w.text[1], w.text[2], w.text[3]);
        CHECK(w.first[1] == 1 && w.count[1] == 2 && w.first[2] == 3 && w.count[2] == 1, "word -> tokens");
        CHECK(w.token_word[0] == 0 && w.token_word[1] == 1 && w.token_word[2] == 1 && w.token_word[4] == 3, "token -> word");
    }
    gaze_words_free(&w);
    CHECK(gaze_words_init(&w, tok, 5, sp, GAZE_WORD_STYLE_WORDPIECE, true) == GAZE_OK, "init hidden");
    CHECK(w.n_words == 2 && w.token_word[0] == -1 && w.token_word[4] == -1 && w.token_word[2] == 0, "hidden specials");
    // attention: rows of 5 tokens
    const float a[25] = {
        0.2f, 0.2f, 0.2f, 0.2f, 0.2f,
        0.1f, 0.3f, 0.1f, 0.3f, 0.2f,
        0.3f, 0.1f, 0.3f, 0.1f, 0.2f,
        0.5f, 0.1f, 0.1f, 0.1f, 0.2f,
        0.0f, 0.0f, 0.0f, 0.0f, 1.0f,
    };
    float out[25];
    CHECK(gaze_attn_words(a, 1, 5, 5, NULL, &w, out) == GAZE_OK, "attn_words hidden");
    // playing -> playing: mean over rows 1, 2 of (a[i][1] + a[i][2]) = (.4 + .4) / 2 = .4;
    // playing -> ball: (.3 + .1) / 2 = .2; renormalised by .6: 2/3 and 1/3.
    // ball -> playing: .2, ball -> ball: .1 -> 2/3, 1/3
    CHECK(near(out[0], 2.0f / 3) && near(out[1], 1.0f / 3) && near(out[2], 2.0f / 3) && near(out[3], 1.0f / 3),
          "word map %g %g %g %g", out[0], out[1], out[2], out[3]);
    gaze_words_free(&w);
    CHECK(gaze_words_init(&w, tok, 5, sp, GAZE_WORD_STYLE_WORDPIECE, false) == GAZE_OK, "init kept");
    CHECK(gaze_attn_words(a, 1, 5, 5, NULL, &w, out) == GAZE_OK, "attn_words kept");
    // 4 words: row playing = (.1+.3)/2, (.3+.1 + .1+.3)/2, (.3+.1)/2, (.2+.2)/2 = .2 .4 .2 .2
    CHECK(near(out[4], 0.2f) && near(out[5], 0.4f) && near(out[6], 0.2f) && near(out[7], 0.2f),
          "row playing %g %g %g %g", out[4], out[5], out[6], out[7]);
    for (int r = 0; r < 4; r++) {
        float s = 0;
        for (int c = 0; c < 4; c++) s += out[r * 4 + c];
        CHECK(near(s, 1), "word row %d sums to %g", r, s);
    }
    // query rows at tokens 2 and 4 only: words [CLS] and ball get zero rows
    const int64_t rows[2] = { 2, 4 };
    CHECK(gaze_attn_words(a + 10, 1, 2, 5, rows, &w, out) == GAZE_OK, "subset rows");
    // a + 10 holds rows 2 and 3 of a; row at token 2 -> word 1 alone: .3, .4, .1, .2
    CHECK(out[0] == 0 && near(out[4], 0.3f) && near(out[5], 0.4f) && out[8] == 0 && near(out[12], 0.5f),
          "subset rows values %g %g %g %g", out[0], out[4], out[5], out[12]);
    const int64_t bad_rows[2] = { 2, 5 };
    CHECK(gaze_attn_words(a + 10, 1, 2, 5, bad_rows, &w, out) == GAZE_ERR_INVALID_ARG, "row out of range refused");
    CHECK(gaze_attn_words(a, 1, 5, 4, NULL, &w, out) == GAZE_ERR_INVALID_ARG, "key count mismatch refused");
    gaze_words_free(&w);
}

static void test_words_bpe(void) {
    const char * tok[11] = { "Hello", ",", " wor", "ld", "\n", "The", " 2", "0", "2", "4", "<|im_end|>" };
    uint8_t sp[11] = { 0 };
    for (int i = 0; i < 11; i++) sp[i] = gaze_token_is_special_text(tok[i]);
    CHECK(sp[10] == 1 && sp[0] == 0, "special by spelling");
    struct gaze_words w;
    CHECK(gaze_words_init(&w, tok, 11, sp, GAZE_WORD_STYLE_AUTO, false) == GAZE_OK, "bpe init");
    const char * want[6] = { "Hello,", " world", "\n", "The", " 2024", "<|im_end|>" };
    CHECK(w.n_words == 6, "6 words, got %lld", (long long)w.n_words);
    for (int i = 0; i < 6 && w.n_words == 6; i++) CHECK(!strcmp(w.text[i], want[i]), "word %d = '%s'", i, w.text[i]);
    CHECK(w.n_words == 6 && w.first[4] == 6 && w.count[4] == 4, "digits joined");
    gaze_words_free(&w);
    const char * g[4] = { "Ġthe", "Ġca", "t", "▁dog" };
    CHECK(gaze_words_init(&w, g, 4, NULL, GAZE_WORD_STYLE_BPE, false) == GAZE_OK && w.n_words == 3, "Ġ / ▁ starts");
    if (w.n_words == 3) CHECK(!strcmp(w.text[1], "Ġcat") && !strcmp(w.text[2], "▁dog"), "Ġcat ▁dog");
    gaze_words_free(&w);
    CHECK(gaze_words_init(&w, g, 4, NULL, GAZE_WORD_STYLE_NONE, false) == GAZE_OK && w.n_words == 4, "style none");
    gaze_words_free(&w);
    CHECK(gaze_words_init(&w, g, 0, NULL, GAZE_WORD_STYLE_NONE, false) == GAZE_ERR_INVALID_ARG, "no tokens refused");
}

static void test_special(void) {
    CHECK(gaze_token_is_special_text("<|im_start|>"), "im_start");
    CHECK(gaze_token_is_special_text("[SEP]") && gaze_token_is_special_text("<s>"), "[SEP] <s>");
    CHECK(!gaze_token_is_special_text("<|a b|>") && !gaze_token_is_special_text("hello") &&
          !gaze_token_is_special_text("<|") && !gaze_token_is_special_text("[UNK]"), "not special");
    struct gaze_run run;
    gaze_run_init(&run);
    const char * tok[3] = { "[CLS]", "<s>", "[SEP]" };
    const int32_t ids[3] = { 101, 5, 102 };
    CHECK(gaze_run_set_tokens(&run, 3, tok, NULL, ids, NULL) == GAZE_OK, "tokens");
    uint8_t sp[3];
    CHECK(gaze_run_special_tokens(&run, sp) == GAZE_OK && sp[0] && sp[1] && sp[2], "by spelling without sequence ids");
    run.sequence_ids = malloc(3);
    run.sequence_ids[0] = -1; run.sequence_ids[1] = 0; run.sequence_ids[2] = -1;
    CHECK(gaze_run_special_tokens(&run, sp) == GAZE_OK && sp[0] && !sp[1] && sp[2], "sequence ids win");
    gaze_run_free(&run);
}

static void test_group_block_diff(void) {
    const float w[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    float out[4];
    CHECK(gaze_attn_block_mean(w, 3, 3, 2, 2, out) == GAZE_OK, "block mean");
    CHECK(near(out[0], 3) && near(out[1], 4.5f) && near(out[2], 7.5f) && near(out[3], 9), "blocks %g %g %g %g",
          out[0], out[1], out[2], out[3]);
    CHECK(gaze_attn_block_mean(w, 3, 3, 0, 2, out) == GAZE_ERR_INVALID_ARG, "block 0 refused");
    const int64_t rg[3] = { 0, 0, -1 }, cg[3] = { 1, 0, 1 }, bad[3] = { 0, 2, 0 };
    CHECK(gaze_attn_group(w, 1, 3, 3, rg, 1, cg, 2, false, out) == GAZE_OK, "group");
    // row group 0 = mean of rows 0, 1; col group 0 = col 1, group 1 = cols 0 + 2
    CHECK(near(out[0], 3.5f) && near(out[1], 7), "group %g %g", out[0], out[1]);
    CHECK(gaze_attn_group(w, 1, 3, 3, bad, 2, cg, 2, false, out) == GAZE_ERR_INVALID_ARG, "group id out of range");
    const float b[4] = { 0.5f, 0, 0.25f, 1 };
    const float a[4] = { 0.25f, 0.5f, 0.25f, 0 };
    float d[4], m = -1;
    CHECK(gaze_attn_diff(a, b, 4, d, &m) == GAZE_OK && near(d[0], -0.25f) && near(d[1], 0.5f) && d[2] == 0 &&
          near(d[3], -1) && near(m, 1), "diff");
    const float inf[1] = { INFINITY };
    CHECK(gaze_attn_diff(inf, a, 1, d, &m) == GAZE_ERR_NUMERIC, "non-finite refused");
}

// Random softmax rows and random word partitions: rows sum to 1 after grouping (no hiding:
// exact by the rule; hiding: by renormalisation, unless the row had no weight left).
static void test_random(unsigned seed) {
    srand(seed);
    printf("random seed %u\n", seed);
    for (int iter = 0; iter < 50; iter++) {
        const int T = 2 + rand() % 40, H = 1 + rand() % 3;
        float * w = malloc(sizeof(float) * (size_t)(H * T * T)), * out = malloc(sizeof(float) * (size_t)(H * T * T));
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                float s = 0, * r = w + (h * T + i) * T;
                for (int j = 0; j < T; j++) s += r[j] = expf(4.0f * rand() / (float)RAND_MAX);
                for (int j = 0; j < T; j++) r[j] /= s;
            }
        const char ** tok = malloc(sizeof(char *) * (size_t)T);
        uint8_t * sp = malloc((size_t)T);
        for (int i = 0; i < T; i++) {
            int r = rand() % 4;
            tok[i] = r == 0 ? "##x" : r == 1 ? "[SEP]" : "ab";
            sp[i] = r == 1;
        }
        for (int hide = 0; hide < 2; hide++) {
            struct gaze_words wd;
            if (gaze_words_init(&wd, tok, T, sp, GAZE_WORD_STYLE_WORDPIECE, hide) != GAZE_OK) { CHECK(0, "init"); continue; }
            if (gaze_attn_words(w, H, T, T, NULL, &wd, out) != GAZE_OK) { CHECK(0, "words"); gaze_words_free(&wd); continue; }
            int bad = 0;
            const int64_t W = wd.n_words;
            for (int64_t r = 0; r < H * W; r++) {
                double s = 0;
                for (int64_t c = 0; c < W; c++) s += out[r * W + c];
                if (W > 0 && fabs(s - 1) > 1e-5) bad++;
            }
            CHECK(bad == 0, "iter %d hide %d: %d of %lld word rows do not sum to 1", iter, hide, bad, (long long)(H * W));
            gaze_words_free(&wd);
        }
        free(w); free(out); free(tok); free(sp);
    }
}

int main(void) {
    test_reduce();
    test_drop();
    test_words_wordpiece();
    test_words_bpe();
    test_special();
    test_group_block_diff();
    const char * env = getenv("GAZE_SEED");
    test_random(env ? (unsigned)strtoul(env, NULL, 10) : 12345u);
    return check_summary("test_aggregate");
}
