// OpenBLAS's CBLAS interface (cblas_sgemm and friends) for the Tensor engine.
#ifndef CLIPKIT_COPENBLAS_SHIM_H
#define CLIPKIT_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
