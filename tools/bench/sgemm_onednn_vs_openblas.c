// One thread of oneDNN's dnnl_sgemm against OpenBLAS's cblas_sgemm on R50
// GEMM shapes (one sample's forward, dX and dW products), best of 9
// interleaved rounds each. A measurement for a possible second GEMM
// provider (BENCHMARKS.md, issue 28, sixth part); ClipKit does not use
// oneDNN. Needs libdnnl-dev, which tools/install-deps.sh does not install.
//   clang -O2 -o /tmp/sgemm_onednn tools/bench/sgemm_onednn_vs_openblas.c \
//       -I/usr/include/x86_64-linux-gnu -lopenblas -ldnnl
//   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX /tmp/sgemm_onednn
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <cblas.h>
#include <dnnl.h>  // Debian 12: libdnnl-dev (oneDNN 2.6.3)
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main() {
    // Row-major m, n, k, transA, transB: the R50 layers' GEMMs of one sample.
    int shapes[][5] = {{64,6272,1728,0,0},{128,3136,3456,0,0},{256,784,6912,0,0},{512,128,13824,0,0},
                       {256,392,1024,0,0},{1024,392,256,0,0},{1024,392,256,1,0},{256,1024,392,0,1},{512,128,2048,0,0},{2048,128,512,1,0},{512,2048,128,0,1},{512,13824,128,0,1}};
    int ns = sizeof shapes / sizeof shapes[0];
    for (int s = 0; s < ns; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], ta = shapes[s][3], tb = shapes[s][4];
        float *a = malloc(4L*m*k), *b = malloc(4L*k*n), *c1 = malloc(4L*m*n), *c2 = malloc(4L*m*n);
        for (long i = 0; i < (long)m*k; i++) a[i] = rand()/(float)RAND_MAX-.5f;
        for (long i = 0; i < (long)k*n; i++) b[i] = rand()/(float)RAND_MAX-.5f;
        int lda = ta ? m : k, ldb = tb ? k : n;
        double b1 = 1e9, b2 = 1e9;
        for (int r = 0; r < 9; r++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, ta?CblasTrans:CblasNoTrans, tb?CblasTrans:CblasNoTrans, m,n,k,1,a,lda,b,ldb,0,c1,n);
            double t1 = now();
            dnnl_sgemm(ta?'T':'N', tb?'T':'N', m, n, k, 1, a, lda, b, ldb, 0, c2, n);
            double t2 = now();
            if (t1-t0 < b1) b1 = t1-t0; if (t2-t1 < b2) b2 = t2-t1;
        }
        double md = 0; for (long i = 0; i < (long)m*n; i++) { double d = c1[i]-c2[i]; if (d<0) d=-d; if (d>md) md=d; }
        double fl = 2.0*m*n*k;
        printf("%5d %5d %5d %s%s: OpenBLAS %6.1f  oneDNN %6.1f GFLOP/s  ratio %.2f  maxdiff %.1g\n", m,n,k, ta?"T":"N", tb?"T":"N", fl/b1*1e-9, fl/b2*1e-9, b1/b2, md);
        free(a); free(b); free(c1); free(c2);
    }
}
