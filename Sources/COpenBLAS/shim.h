// OpenBLAS for the Tensor engine, opened at run time (see Tensor/OpenBLAS.swift):
// the function types ClipKit looks up with dlsym, CPUID for choosing the
// kernels before OpenBLAS's constructor runs, and glibc's heap settings.
#ifndef CLIPKIT_COPENBLAS_SHIM_H
#define CLIPKIT_COPENBLAS_SHIM_H

#include <malloc.h>
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/// CBLAS's enum values (cblas.h): row-major order, no transpose, transpose.
static const int CLIPKIT_CBLAS_ROW_MAJOR = 101;
static const int CLIPKIT_CBLAS_NO_TRANS = 111;
static const int CLIPKIT_CBLAS_TRANS = 112;

/// cblas_sgemm, with CBLAS's enums passed as the ints they are.
typedef void (*clipkit_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
/// openblas_set_num_threads, openblas_get_corename / _config.
typedef void (*clipkit_set_threads_fn)(int threads);
typedef char *(*clipkit_get_string_fn)(void);

/// CPUID leaf `leaf`, sub-leaf `sub` into regs (eax, ebx, ecx, edx); zeros off x86
/// or past the highest leaf.
static inline void clipkit_cpuid(unsigned leaf, unsigned sub, unsigned regs[4]) {
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (leaf > __get_cpuid_max(leaf & 0x80000000u, 0)) return;
    __cpuid_count(leaf, sub, regs[0], regs[1], regs[2], regs[3]);
#endif
}

/// XCR0: the register states the OS saves (bit 1 SSE, 2 AVX, 5–7 AVX-512). 0 without OSXSAVE.
static inline uint64_t clipkit_xcr0(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned regs[4];
    clipkit_cpuid(1, 0, regs);
    if (!(regs[2] & (1u << 27))) return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#else
    return 0;
#endif
}

/// Returns free heap pages to the system (glibc); Tensor calls it at stage boundaries.
static inline void clipkit_malloc_trim(void) { malloc_trim(0); }

/// Keeps freed memory in the heap (glibc): blocks of any size below 2 GiB come
/// from the heap rather than their own mmap, and the heap's top is not
/// trimmed. 1 when glibc took both settings.
static inline int clipkit_keep_freed_memory(void) {
    return mallopt(M_MMAP_THRESHOLD, INT32_MAX) == 1 && mallopt(M_TRIM_THRESHOLD, INT32_MAX) == 1;
}

#endif
