// Recycled big arrays: the captured tensors of a run (attention weights: ~0.8 MiB per MiniLM
// layer at 128 tokens, ~9 MiB per SmolLM2 layer at 512) come and go with every run. Fresh
// memory from the kernel is faulted in and zeroed page by page on first touch: ~2 ms of a
// 34 ms one-thread MiniLM run, paid again on every run of a loop (corpus statistics, ablation
// sweeps, benchmarks) because glibc hands the freed blocks back to the kernel. Freed blocks
// are kept instead (at most recycle_max() bytes in all) and given to the next request they fit.
// The cap is 1/16 of physical memory, between 64 MiB and 1 GiB: a SmolLM2 run capturing its
// 512-token prompt holds 283 MB (30 layers x 9 heads x 512^2 floats), which a 64 MiB cap
// sent back to the kernel after every run, to be faulted and zeroed in again by the next.
// Blocks of 2 MiB and more start on a 2 MiB boundary and are advised onto transparent huge
// pages (THP "madvise" mode): 512 times fewer page faults when a fresh block is first written.
// Under AddressSanitizer nothing is kept, so a use after free is still reported.
#include "core/core.h"
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RECYCLE_SLOTS     256
#define RECYCLE_MIN_CAP   ((size_t)64 << 20)
#define RECYCLE_MAX_CAP   ((size_t)1 << 30)
#define RECYCLE_HEADER    64               // keeps the payload 64-byte aligned
#define RECYCLE_HUGE      ((size_t)2 << 20)
#define RECYCLE_MAGIC     0x67617a6572637963ull

#if defined(__SANITIZE_ADDRESS__)
#define RECYCLE_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RECYCLE_ON 0
#endif
#endif
#ifndef RECYCLE_ON
#define RECYCLE_ON 1
#endif

struct recycle_header {   // the RECYCLE_HEADER bytes before each payload
    uint64_t magic;
    size_t   cap;         // payload bytes
    void *   base;        // what posix_memalign returned (free's argument)
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static void *  g_slot[RECYCLE_SLOTS];   // payload pointers of kept blocks, NULL = empty
static size_t  g_held;                  // payload bytes kept
static size_t  g_max;                   // the cap, computed once under g_lock (0: not yet)

static size_t cap_of(void * p) { return ((struct recycle_header *)((char *)p - RECYCLE_HEADER))->cap; }

static size_t recycle_max(void) {   // called with g_lock held
    if (!g_max) {
        const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        size_t m = pages > 0 && page > 0 ? (size_t)pages / 16 * (size_t)page : RECYCLE_MIN_CAP;
        g_max = GAZE_MIN(GAZE_MAX(m, RECYCLE_MIN_CAP), RECYCLE_MAX_CAP);
    }
    return g_max;
}

void * gaze_alloc_recycled(size_t n) {
    const size_t cap = n ? (n + 63) & ~(size_t)63 : 64;
    if (cap < n || cap > SIZE_MAX - RECYCLE_HEADER) {
        gaze_error(GAZE_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    if (RECYCLE_ON) {   // the smallest kept block that fits without wasting more than half
        pthread_mutex_lock(&g_lock);
        int best = -1;
        for (int i = 0; i < RECYCLE_SLOTS; i++) {
            if (!g_slot[i]) continue;
            const size_t c = cap_of(g_slot[i]);
            if (c >= cap && c / 2 <= cap && (best < 0 || c < cap_of(g_slot[best]))) best = i;
        }
        void * p = NULL;
        if (best >= 0) {
            p = g_slot[best];
            g_slot[best] = NULL;
            g_held -= cap_of(p);
        }
        pthread_mutex_unlock(&g_lock);
        if (p) return p;
    }
    // a big block: the payload on a 2 MiB boundary (the header in the small page before it)
    const bool huge = cap >= RECYCLE_HUGE && cap <= SIZE_MAX - RECYCLE_HUGE;
    const size_t align = huge ? RECYCLE_HUGE : 64, lead = huge ? RECYCLE_HUGE : RECYCLE_HEADER;
    void * base = NULL;
    if (posix_memalign(&base, align, cap + lead) != 0) {
        gaze_error(GAZE_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    char * p = (char *)base + lead;
    if (huge) (void)madvise(p, cap & ~(RECYCLE_HUGE - 1), MADV_HUGEPAGE);   // advisory: failure is harmless
    struct recycle_header * h = (struct recycle_header *)(p - RECYCLE_HEADER);
    h->magic = RECYCLE_MAGIC;
    h->cap = cap;
    h->base = base;
    return p;
}

void gaze_free_recycled(void * p) {
    if (!p) return;
    struct recycle_header * h = (struct recycle_header *)((char *)p - RECYCLE_HEADER);
    GAZE_ASSERT(h->magic == RECYCLE_MAGIC);   // only blocks from gaze_alloc_recycled come here
    if (RECYCLE_ON) {
        pthread_mutex_lock(&g_lock);
        bool kept = false;
        if (h->cap <= recycle_max() - g_held)
            for (int i = 0; i < RECYCLE_SLOTS && !kept; i++)
                if (!g_slot[i]) { g_slot[i] = p; g_held += h->cap; kept = true; }
        pthread_mutex_unlock(&g_lock);
        if (kept) return;
    }
    free(h->base);
}

void gaze_release_memory(void) {
    pthread_mutex_lock(&g_lock);
    void * keep[RECYCLE_SLOTS];
    memcpy(keep, g_slot, sizeof keep);
    memset(g_slot, 0, sizeof g_slot);
    g_held = 0;
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < RECYCLE_SLOTS; i++)
        if (keep[i]) free(((struct recycle_header *)((char *)keep[i] - RECYCLE_HEADER))->base);
}
