// The process's own peak resident memory, for benchmarks that report peak_mib. getrusage's
// ru_maxrss survives exec, so a process started from a large one (a Python harness) would
// report the parent's peak; VmHWM of /proc/self/status belongs to this address space.
#include "gaze.h"
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int64_t gaze_peak_rss_kib(void) {
    FILE * f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6) && sscanf(line + 6, "%ld", &kib) == 1) break;
    if (f) fclose(f);
    if (kib < 0) {   // no /proc: ru_maxrss, which may include a parent's peak
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

void gaze_peak_rss_reset(void) {
    FILE * f = fopen("/proc/self/clear_refs", "w");   // "5": VmHWM = current RSS (Linux >= 4.0)
    if (f) { fputs("5", f); fclose(f); }
}
