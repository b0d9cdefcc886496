// Winograd's per-plane products as winogradForward runs them, one sample,
// one thread: OpenBLAS (one cblas_sgemm per plane and tap, as at AVX2)
// against CKernels' ck_brgemm_avx512 (one call per plane, U packed once),
// interleaved, 15 rounds; prints GFLOP/s (mean and best) and the ratio of
// the bests. Built and run by brgemm_vs_openblas.sh; AVX-512 machines only.
//
// usage: brgemm_vs_openblas O C kt tiles frames group planes
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "ckernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s O C kt tiles frames group planes\n", argv[0]);
        return 1;
    }
    const long O = atol(argv[1]), C = atol(argv[2]), kt = atol(argv[3]), tiles = atol(argv[4]);
    const long frames = atol(argv[5]), group = atol(argv[6]), planes = atol(argv[7]);
    const long rows = CK_BRGEMM_ROWS, v_row = (frames + kt - 1) * tiles, v_plane = C * v_row, depth = kt * C;
    const long n = group * tiles, m_plane = O * n, packed_plane = (O + rows - 1) / rows * rows * depth;
    float *v = malloc(sizeof(float) * planes * v_plane), *u = malloc(sizeof(float) * planes * O * depth);
    float *packed = calloc(planes * packed_plane, sizeof(float));
    float *m1 = malloc(sizeof(float) * planes * m_plane), *m2 = malloc(sizeof(float) * planes * m_plane);
    srand(1);
    for (long i = 0; i < planes * v_plane; i++) v[i] = rand() / (float)RAND_MAX - .5f;
    for (long i = 0; i < planes * O * depth; i++) u[i] = rand() / (float)RAND_MAX - .5f;
    for (long xi = 0; xi < planes; xi++)
        for (long o = 0; o < O; o++)
            for (long q = 0; q < depth; q++)
                packed[xi * packed_plane + (o - o % rows) * depth + q * rows + o % rows] = u[(xi * O + o) * depth + q];
    const int rounds = 15;
    double best[2] = {1e9, 1e9}, sum[2] = {0, 0};
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        for (long local = 0; local < frames; local += group)
            for (long xi = 0; xi < planes; xi++)
                for (long a = 0; a < kt; a++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, n, C, 1, u + xi * O * depth + a * C,
                                depth, v + xi * v_plane + (local + a) * tiles, v_row, a ? 1 : 0, m1 + xi * m_plane, n);
        double t1 = now();
        for (long local = 0; local < frames; local += group)
            for (long xi = 0; xi < planes; xi++)
                ck_brgemm_avx512(O, n, kt, C, packed + xi * packed_plane, v + xi * v_plane + local * tiles, v_row,
                                 tiles, m2 + xi * m_plane, n, 0);
        double t2 = now();
        double t[2] = {t1 - t0, t2 - t1};
        for (int k = 0; k < 2; k++) {
            sum[k] += t[k];
            if (t[k] < best[k]) best[k] = t[k];
        }
    }
    double worst = 0;
    for (long i = 0; i < planes * m_plane; i++) {
        double d = m1[i] - m2[i];
        if (d < 0) d = -d;
        if (d > worst) worst = d;
    }
    const double flop = 2.0 * planes * O * n * depth * ((frames + group - 1) / group);
    printf("O %ld, C %ld, kt %ld, %ld columns, %ld planes: OpenBLAS %.1f (best %.1f), brgemm %.1f (best %.1f) "
           "GFLOP/s; bests' ratio %.2f; largest difference %.1g\n",
           O, C, kt, n, planes, flop * rounds / sum[0] * 1e-9, flop / best[0] * 1e-9, flop * rounds / sum[1] * 1e-9,
           flop / best[1] * 1e-9, best[0] / best[1], worst);
    return worst < 1e-3 ? 0 : 1;
}
