// Recycled big arrays: the captured tensors of a run (attention weights: ~0.8 MiB per MiniLM
// layer at 128 tokens, ~9 MiB per SmolLM2 layer at 512) come and go with every run. Fresh
// memory from the kernel is faulted in and zeroed page by page on first touch: ~2 ms of a
// 34 ms one-thread MiniLM run, paid again on every run of a loop (corpus statistics, ablation
// sweeps, benchmarks) because glibc hands the freed blocks back to the kernel. Freed blocks
// are kept instead (at most RECYCLE_MAX_BYTES in all) and given to the next request they fit.
// Under AddressSanitizer nothing is kept, so a use after free is still reported.
#include "core/core.h"
#include <pthread.h>
#include <string.h>

#define RECYCLE_SLOTS     64
#define RECYCLE_MAX_BYTES ((size_t)64 << 20)
#define RECYCLE_HEADER    64               // keeps the payload 64-byte aligned
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
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static void *  g_slot[RECYCLE_SLOTS];   // payload pointers of kept blocks, NULL = empty
static size_t  g_held;                  // payload bytes kept

static size_t cap_of(void * p) { return ((struct recycle_header *)((char *)p - RECYCLE_HEADER))->cap; }

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
    void * base = NULL;
    if (posix_memalign(&base, 64, cap + RECYCLE_HEADER) != 0) {
        gaze_error(GAZE_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    struct recycle_header * h = base;
    h->magic = RECYCLE_MAGIC;
    h->cap = cap;
    return (char *)base + RECYCLE_HEADER;
}

void gaze_free_recycled(void * p) {
    if (!p) return;
    struct recycle_header * h = (struct recycle_header *)((char *)p - RECYCLE_HEADER);
    GAZE_ASSERT(h->magic == RECYCLE_MAGIC);   // only blocks from gaze_alloc_recycled come here
    if (RECYCLE_ON) {
        pthread_mutex_lock(&g_lock);
        bool kept = false;
        if (h->cap <= RECYCLE_MAX_BYTES - g_held)
            for (int i = 0; i < RECYCLE_SLOTS && !kept; i++)
                if (!g_slot[i]) { g_slot[i] = p; g_held += h->cap; kept = true; }
        pthread_mutex_unlock(&g_lock);
        if (kept) return;
    }
    free(h);
}

void gaze_release_memory(void) {
    pthread_mutex_lock(&g_lock);
    void * keep[RECYCLE_SLOTS];
    memcpy(keep, g_slot, sizeof keep);
    memset(g_slot, 0, sizeof g_slot);
    g_held = 0;
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < RECYCLE_SLOTS; i++)
        if (keep[i]) free((char *)keep[i] - RECYCLE_HEADER);
}
