// Portable C instantiation of the fused attention kernel (see attention_fused_impl.h):
// "vectors" of one float, so any x86-64 (or other) CPU runs the same algorithm.
#include "kernels/attention.h"

#define FN(name) name##_scalar
#define VL 1
typedef float vf;
#define V_ZERO()       0.0f
#define V_SET1(x)      (x)
#define V_LOAD(p)      (*(p))
#define V_STORE(p, x)  (*(p) = (x))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_MUL(a, b)    ((a) * (b))
#define V_ADD(a, b)    ((a) + (b))
#define V_SUB(a, b)    ((a) - (b))
#define V_MAX(a, b)    scalar_max(a, b)
#define V_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define V_DIV(a, b)    ((a) / (b))
#define V_REDUCE_ADD(v) (v)
#define V_EXP2(x)      exp2f(x)
#define V_GT_MASK(a, b) ((unsigned)((a) > (b)))   // lane i > : bit i
#define S_NV     8
#define O_NV_MAX 6

// NaN-propagating like vmaxps with the candidate second: max(acc, x) keeps a NaN x.
static inline float scalar_max(float a, float b) { return a > b ? a : b; }

#include "kernels/attention_fused_impl.h"
