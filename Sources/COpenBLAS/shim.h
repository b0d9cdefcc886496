// OpenBLAS's CBLAS interface (cblas_sgemm and friends) for the Tensor engine.
#ifndef CLIPKIT_COPENBLAS_SHIM_H
#define CLIPKIT_COPENBLAS_SHIM_H
#include <cblas.h>

#include <malloc.h>
/// Returns free heap pages to the system (glibc); Tensor calls it at stage boundaries.
static inline void clipkit_malloc_trim(void) { malloc_trim(0); }

#endif
