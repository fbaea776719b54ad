// --shard i/n | auto (gaze corpus, gaze evaluate): auto takes the shard from the environment of a batch job.
// GAZE_SHARD / GAZE_SHARDS first (set by hand they beat a scheduler's variables, e.g. a split of
// one's own inside a Slurm allocation), then a Slurm job array: index = (SLURM_ARRAY_TASK_ID -
// SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP, n = SLURM_ARRAY_TASK_COUNT, so --array=0-7,
// --array=1-8 and --array=0-14:2 all give shards 0..7 of 8.
#include "analysis_cli.h"
#include <stdlib.h>
#include <string.h>

// Parses environment variable name as an integer in lo..hi; 0 ok, 1 unset, -1 bad (printed).
static int env_int(const char * cmd, const char * name, int64_t lo, int64_t hi, int64_t * out) {
    const char * v = getenv(name);
    if (!v || !*v) return 1;
    char flag[64];
    snprintf(flag, sizeof flag, "--shard auto: %s", name);
    return cli_int(cmd, flag, v, lo, hi, out) ? -1 : 0;
}

int cli_shard_parse(const char * cmd, const char * s, int64_t * index, int64_t * n, char * from, size_t from_size) {
    if (strcmp(s, "auto")) {
        char i_s[32], n_s[32];
        const char * slash = strchr(s, '/');
        const size_t ni = slash ? (size_t)(slash - s) : 0;
        if (!slash || ni >= sizeof i_s || strlen(slash + 1) >= sizeof n_s) {
            fprintf(stderr, "gaze %s: --shard: '%s' is not i/n (0 <= i < n, e.g. 0/4) or auto\n", cmd, s);
            return 2;
        }
        memcpy(i_s, s, ni);
        i_s[ni] = '\0';
        strcpy(n_s, slash + 1);
        if (cli_int(cmd, "--shard n", n_s, 1, 1000000, n) || cli_int(cmd, "--shard i", i_s, 0, *n - 1, index)) return 2;
        snprintf(from, from_size, "--shard");
        return 0;
    }
    int64_t id, cnt, lo = 0, hi = -1, step = 1;
    int a = env_int(cmd, "GAZE_SHARDS", 1, 1000000, &cnt), b = a < 0 ? 1 : env_int(cmd, "GAZE_SHARD", 0, INT64_MAX, &id);
    if (a < 0 || b < 0) return 2;
    if (!a || !b) {
        if (a || b) {
            fprintf(stderr, "gaze %s: --shard auto: %s is set but %s is not: set both (GAZE_SHARD=i GAZE_SHARDS=n, 0 <= i < n)\n", cmd,
                    a ? "GAZE_SHARD" : "GAZE_SHARDS", a ? "GAZE_SHARDS" : "GAZE_SHARD");
            return 2;
        }
        if (id >= cnt) {
            fprintf(stderr, "gaze %s: --shard auto: GAZE_SHARD=%lld is outside 0..%lld (GAZE_SHARDS=%lld)\n", cmd, (long long)id,
                    (long long)(cnt - 1), (long long)cnt);
            return 2;
        }
        *index = id;
        *n = cnt;
        snprintf(from, from_size, "GAZE_SHARD");
        return 0;
    }
    if ((a = env_int(cmd, "SLURM_ARRAY_TASK_ID", 0, INT64_MAX / 4, &id)) < 0) return 2;
    if (a) {
        fprintf(stderr, "gaze %s: --shard auto: none of GAZE_SHARD/GAZE_SHARDS or SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT "
                        "is set (run it in a Slurm job array, sbatch --array=0-7, or set GAZE_SHARD=i GAZE_SHARDS=n)\n", cmd);
        return 2;
    }
    if (env_int(cmd, "SLURM_ARRAY_TASK_MIN", 0, INT64_MAX / 4, &lo) < 0 || env_int(cmd, "SLURM_ARRAY_TASK_MAX", 0, INT64_MAX / 4, &hi) < 0 ||
        env_int(cmd, "SLURM_ARRAY_TASK_STEP", 1, INT64_MAX / 4, &step) < 0)
        return 2;
    b = env_int(cmd, "SLURM_ARRAY_TASK_COUNT", 1, 1000000, &cnt);
    if (b < 0) return 2;
    if (b && hi >= lo) cnt = (hi - lo) / step + 1;   // older Slurm: COUNT unset, MIN/MAX/STEP known
    else if (b) {
        fprintf(stderr, "gaze %s: --shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT (or "
                        "SLURM_ARRAY_TASK_MIN/MAX) is not\n", cmd);
        return 2;
    }
    if (hi >= lo && (hi - lo) / step + 1 != cnt) {
        fprintf(stderr, "gaze %s: --shard auto: the Slurm array is not a range (SLURM_ARRAY_TASK_MIN=%lld, MAX=%lld, "
                        "COUNT=%lld): use --array=0-%lld\n", cmd, (long long)lo, (long long)hi, (long long)cnt, (long long)(cnt - 1));
        return 2;
    }
    if (id < lo || (id - lo) % step || (id - lo) / step >= cnt) {
        fprintf(stderr, "gaze %s: --shard auto: SLURM_ARRAY_TASK_ID=%lld is not one of %lld tasks from "
                        "SLURM_ARRAY_TASK_MIN=%lld in steps of %lld (SLURM_ARRAY_TASK_COUNT): use a range, --array=0-%lld\n", cmd,
                (long long)id, (long long)cnt, (long long)lo, (long long)step, (long long)(cnt - 1));
        return 2;
    }
    *index = (id - lo) / step;
    *n = cnt;
    snprintf(from, from_size, "SLURM_ARRAY_TASK_ID");
    return 0;
}

int cli_shard_check(const struct cli_shard_file * f, int n_files, bool allow_partial, const char * resume, bool * partial_out) {
    if (partial_out) *partial_out = false;
    // Older files carry no input identity (and split by line index modulo n): merged as before.
    bool legacy = false;
    for (int i = 0; i < n_files; i++)
        if (f[i].input_size < 0) {
            fprintf(stderr, "gaze merge: note: %s records no input identity (standard input or an older gaze): its corpus "
                            "contents and missing shards are not checked\n", cli_safe(f[i].path));
            legacy = true;
        }
    const int64_t n = f[0].n_shards;
    for (int i = 1; i < n_files; i++) {
        if (f[i].n_shards != n) {
            fprintf(stderr, "gaze merge: mixed shard counts: %s is split into %lld shards, %s into %lld (run every shard "
                            "with the same n)\n", cli_safe(f[0].path), (long long)n, cli_safe(f[i].path), (long long)f[i].n_shards);
            return 1;
        }
        if (f[0].input_size >= 0 && f[i].input_size >= 0 &&
            (f[i].input_size != f[0].input_size || f[i].input_hash != f[0].input_hash)) {
            fprintf(stderr, "gaze merge: %s and %s were computed on different inputs (%s: %lld bytes, hash %016llx; %s: %lld "
                            "bytes, hash %016llx)\n", cli_safe(f[0].path), cli_safe(f[i].path), cli_safe(f[0].path),
                    (long long)f[0].input_size, (unsigned long long)f[0].input_hash, cli_safe(f[i].path),
                    (long long)f[i].input_size, (unsigned long long)f[i].input_hash);
            return 1;
        }
    }
    int * owner = malloc((size_t)n * sizeof *owner);
    if (!owner) { fprintf(stderr, "gaze merge: out of memory\n"); return 1; }
    for (int64_t k = 0; k < n; k++) owner[k] = -1;
    for (int i = 0; i < n_files; i++)
        for (int64_t k = 0; k < n; k++) {
            if (!f[i].shards[k]) continue;
            if (owner[k] >= 0) {
                fprintf(stderr, "gaze merge: shard %lld/%lld given twice: %s, %s (it would count twice)\n", (long long)k,
                        (long long)n, cli_safe(f[owner[k]].path), cli_safe(f[i].path));
                free(owner);
                return 1;
            }
            owner[k] = i;
        }
    // missing and unfinished shards: the merge would cover part of the input
    int64_t missing = 0;
    for (int64_t k = 0; k < n; k++) missing += owner[k] < 0;
    bool partial = false;
    const char * what = allow_partial ? "warning" : "error";
    if (missing && !legacy) {
        fprintf(stderr, "gaze merge: %s: missing shard%s ", what, missing > 1 ? "s" : "");
        int64_t shown = 0;
        for (int64_t k = 0; k < n && shown < 20; k++)
            if (owner[k] < 0) fprintf(stderr, "%s%lld", shown++ ? ", " : "", (long long)k);
        fprintf(stderr, "%s of %lld\n", missing > shown ? ", ..." : "", (long long)n);
        partial = true;
    }
    free(owner);
    for (int i = 0; i < n_files && !legacy; i++)
        if (!f[i].complete) {
            fprintf(stderr, "gaze merge: %s: %s is unfinished (interrupted, --deadline or --limit: %s completes it)\n", what,
                    cli_safe(f[i].path), resume);
            partial = true;
        }
    if (partial_out) *partial_out = partial;
    if (partial && !allow_partial) {
        fprintf(stderr, "gaze merge: refused: the result would cover part of the input (--allow-partial merges anyway)\n");
        return 1;
    }
    return 0;
}
