// Run-time CPU dispatch and thread defaults. One binary runs on any x86-64 and uses what the
// CPU has; GAZE_ISA in the environment (or gaze_set_isa) lowers the choice for testing.
#include "core/core.h"
#include <omp.h>
#include <string.h>
#include <unistd.h>

static int g_isa = -1;
static int g_threads = 0;

static enum gaze_isa isa_detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma"))
        return GAZE_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return GAZE_ISA_AVX2;
#endif
    return GAZE_ISA_SCALAR;
}

enum gaze_isa gaze_isa_active(void) {
    int isa = __atomic_load_n(&g_isa, __ATOMIC_RELAXED);
    if (isa >= 0) return (enum gaze_isa)isa;
    enum gaze_isa best = isa_detect();
    const char * env = getenv("GAZE_ISA");
    if (env) {
        if (!strcmp(env, "scalar")) best = GAZE_ISA_SCALAR;
        else if (!strcmp(env, "avx2") && best >= GAZE_ISA_AVX2) best = GAZE_ISA_AVX2;
    }
    __atomic_store_n(&g_isa, (int)best, __ATOMIC_RELAXED);
    return best;
}

const char * gaze_isa_name(enum gaze_isa isa) {
    switch (isa) {
        case GAZE_ISA_SCALAR: return "scalar";
        case GAZE_ISA_AVX2:   return "avx2";
        case GAZE_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

enum gaze_status gaze_set_isa(enum gaze_isa isa) {
    if ((int)isa < 0 || isa > isa_detect())
        return gaze_error(GAZE_ERR_UNSUPPORTED, "ISA %s is not supported by this CPU (best: %s)",
                          gaze_isa_name(isa), gaze_isa_name(isa_detect()));
    __atomic_store_n(&g_isa, (int)isa, __ATOMIC_RELAXED);
    return GAZE_OK;
}

int gaze_default_threads(void) {
    const int set = __atomic_load_n(&g_threads, __ATOMIC_RELAXED);   // runs on other threads read it
    if (set > 0) return set;
    const char * env = getenv("GAZE_THREADS");
    int n = env ? atoi(env) : 0;
    if (n <= 0) n = omp_get_num_procs();   // this machine: 2 vCPUs, 1 thread per core
    if (n <= 0) n = 1;
    return n;
}

void gaze_set_default_threads(int n) { __atomic_store_n(&g_threads, n > 0 ? n : 0, __ATOMIC_RELAXED); }
