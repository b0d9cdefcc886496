// Does OpenBLAS's sgemm give the same bits for the same call? A diagnostic
// for run-to-run differences in training (BENCHMARKS.md, twentieth part:
// Zen 4 under the SkylakeX core trained differently from run to run, under
// Haswell bit-equal). Built and run by blas_repro.sh.
//
// For each of `shapes` random calls (both orders and transposes, alpha 1,
// beta 0 or 1; M, N, K over the ranges the engine's GEMMs take), it compares
// C against the first call's, bit for bit, when the call is
//   again      made again, the same buffers (one thread);
//   moved      made on copies of A, B and C that start 4 to 60 bytes past a
//              64-byte boundary (one thread);
//   together   made by two threads at once, each on its own copies, as the
//              engine's batch-parallel workers do (OpenBLAS at one thread);
//   2 threads  made with openblas_set_num_threads(2): OpenBLAS splits C
//              (and, past its block depth, K) otherwise then, so rounding
//              differences here are expected; they are not run-to-run
//              unless the thread count changes between runs.
// Arguments: shapes (300), a seed, the largest K (2304). It prints how many
// shapes differ in each way, the first few of each with their largest
// difference.
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

typedef struct {
    int row_major, ta, tb, m, n, k;
    float beta;
} Shape;

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {  // SplitMix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int between(int lo, int hi) { return lo + (int)(next() % (uint64_t)(hi - lo + 1)); }
static float uniform(void) { return (float)((next() >> 40) * (1.0 / (1 << 24))) * 2.0f - 1.0f; }

typedef struct {
    Shape s;
    const float *a, *b, *c0;
    size_t na, nb, nc;
    int offset;  // floats past a 64-byte boundary
    float *c;    // result (inside its own allocation)
    void *blocks[3];
} Call;

static float *copy_at(const float *src, size_t n, int offset, void **block) {
    char *p = aligned_alloc(64, ((n + (size_t)offset) * sizeof(float) + 63) / 64 * 64);
    *block = p;
    float *dst = (float *)p + offset;
    memcpy(dst, src, n * sizeof(float));
    return dst;
}

static void *run(void *arg) {
    Call *call = arg;
    const Shape *s = &call->s;
    float *a = copy_at(call->a, call->na, call->offset, &call->blocks[0]);
    float *b = copy_at(call->b, call->nb, call->offset, &call->blocks[1]);
    call->c = copy_at(call->c0, call->nc, call->offset, &call->blocks[2]);
    enum CBLAS_ORDER order = s->row_major ? CblasRowMajor : CblasColMajor;
    enum CBLAS_TRANSPOSE ta = s->ta ? CblasTrans : CblasNoTrans, tb = s->tb ? CblasTrans : CblasNoTrans;
    // Leading dimensions of the stored (not the transposed) matrices.
    int a_rows = s->ta ? s->k : s->m, a_cols = s->ta ? s->m : s->k;
    int b_rows = s->tb ? s->n : s->k, b_cols = s->tb ? s->k : s->n;
    int lda = s->row_major ? a_cols : a_rows, ldb = s->row_major ? b_cols : b_rows;
    int ldc = s->row_major ? s->n : s->m;
    cblas_sgemm(order, ta, tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, s->beta, call->c, ldc);
    return NULL;
}

static void release(Call *call) {
    for (int i = 0; i < 3; i++) free(call->blocks[i]);
}

static int same(const float *x, const float *y, size_t n) { return memcmp(x, y, n * sizeof(float)) == 0; }

// The largest difference, in units of the largest magnitude of x.
static double spread(const float *x, const float *y, size_t n) {
    double most = 0, scale = 0;
    for (size_t j = 0; j < n; j++) {
        double d = x[j] > y[j] ? (double)x[j] - y[j] : (double)y[j] - x[j];
        double m = x[j] < 0 ? -(double)x[j] : x[j];
        if (d > most) most = d;
        if (m > scale) scale = m;
    }
    return scale > 0 ? most / scale : most;
}

enum { WAYS = 4 };
static const char *names[WAYS] = {"again", "moved", "together", "2 threads"};

// The calls of each way in each_way's calls[]: together makes two.
static const int way_calls[WAYS][2] = {{0, -1}, {1, -1}, {2, 3}, {4, -1}};

// Makes the call each way into calls[] (the caller releases them); ok[v]
// says whether way v gave first's bits, other[v] is a result of way v (one
// that differs, if any does).
static void each_way(const Call *first, Call calls[5], const float *other[WAYS], int ok[WAYS]) {
    calls[0] = *first;  // again
    run(&calls[0]);
    calls[1] = *first;  // moved
    calls[1].offset = 1 + (int)(next() % 15);
    run(&calls[1]);
    pthread_t t[2];  // together
    for (int w = 0; w < 2; w++) {
        calls[2 + w] = *first;
        calls[2 + w].offset = w * 3;
        pthread_create(&t[w], NULL, run, &calls[2 + w]);
    }
    for (int w = 0; w < 2; w++) pthread_join(t[w], NULL);
    openblas_set_num_threads(2);  // 2 threads
    calls[4] = *first;
    run(&calls[4]);
    openblas_set_num_threads(1);
    for (int v = 0; v < WAYS; v++) {
        ok[v] = 1;
        other[v] = calls[way_calls[v][0]].c;
        for (int k = 0; k < 2 && way_calls[v][k] >= 0; k++) {
            const float *c = calls[way_calls[v][k]].c;
            if (same(first->c, c, first->nc)) continue;
            ok[v] = 0;
            other[v] = c;
        }
    }
}

int main(int argc, char **argv) {
    int shapes = argc > 1 ? atoi(argv[1]) : 300;
    if (argc > 2) state = strtoull(argv[2], NULL, 10);
    int most_k = argc > 3 ? atoi(argv[3]) : 2304;
    int differ[WAYS] = {0};
    openblas_set_num_threads(1);
    printf("OpenBLAS core %s, %d shapes\n", openblas_get_corename(), shapes);
    for (int i = 0; i < shapes; i++) {
        Shape s = {(int)(next() & 1), (int)(next() & 1), (int)(next() & 1), between(8, 512), between(8, 4096),
                   between(9, most_k), (next() & 1) ? 1.0f : 0.0f};
        size_t na = (size_t)s.m * s.k, nb = (size_t)s.k * s.n, nc = (size_t)s.m * s.n;
        float *a = malloc(na * sizeof(float)), *b = malloc(nb * sizeof(float)), *c0 = malloc(nc * sizeof(float));
        for (size_t j = 0; j < na; j++) a[j] = uniform();
        for (size_t j = 0; j < nb; j++) b[j] = uniform();
        for (size_t j = 0; j < nc; j++) c0[j] = uniform();
        Call first = {s, a, b, c0, na, nb, nc, 0, NULL, {0}}, calls[5];
        run(&first);
        const float *other[WAYS];
        int ok[WAYS];
        each_way(&first, calls, other, ok);
        for (int v = 0; v < WAYS; v++) {
            if (ok[v] || differ[v]++ >= 5) continue;
            printf("  %-9s differs: %s A%s B%s M %d N %d K %d beta %g, by up to %.1e of max |C|\n", names[v],
                   s.row_major ? "row" : "col", s.ta ? "ᵀ" : "", s.tb ? "ᵀ" : "", s.m, s.n, s.k, s.beta,
                   spread(first.c, other[v], nc));
        }
        release(&first);
        for (int c = 0; c < 5; c++) release(&calls[c]);
        free(a);
        free(b);
        free(c0);
    }
    for (int v = 0; v < WAYS; v++) printf("%-9s %d of %d shapes differ\n", names[v], differ[v], shapes);
    return 0;
}
