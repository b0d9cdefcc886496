import CKernels  // its x86-64 kernels are declared on x86-64 only

// The batch-reduce GEMM of Winograd's per-plane products (CKernels'
// brgemm_body.h): C = Σ over taps t of A[·][t·k …] · B shifted by t ·
// tapShift, with A (the transformed weights) packed once per pass instead
// of by every GEMM call, and the taps summed in registers instead of by one
// GEMM each that reads and writes C again. The C kernel runs at AVX-512
// only (ckernels.h says why); elsewhere the Winograd code calls OpenBLAS
// once per tap, but where a test packs U below AVX-512 (`WinogradLayout`'s
// `packed`), brgemm's products run its Swift twin on the packed weights.

/// Rows of A's packed slivers: CK_BRGEMM_ROWS (8), also where the C kernel
/// is not built.
#if arch(x86_64)
    let brgemmSliverRows = Int(CK_BRGEMM_ROWS)
#else
    let brgemmSliverRows = 8
#endif

extension SIMDLevel {
    /// Whether `brgemm`'s C kernel runs Winograd's products at this level
    /// (AVX-512); below it OpenBLAS does, once per tap.
    var runsBrgemm: Bool {
        #if arch(x86_64)
            return self == .avx512
        #else
            return false
        #endif
    }
}

/// A's packed layout for `brgemm`: m × depth in slivers of `rows` rows, each
/// sliver depth-major, the last one padded with zero rows.
struct BrgemmPacking {
    let m: Int
    let depth: Int
    let rows: Int

    /// Floats of the packed matrix.
    var count: Int { (m + rows - 1) / rows * rows * depth }

    /// Where A[i][q] goes.
    @inline(__always) func index(row i: Int, depth q: Int) -> Int {
        (i - i % rows) * depth + q * rows + i % rows
    }
}

/// c[i·ldc + j] = Σ over t < taps, p < k of A[i][t·k + p] · b[t·tapShift + p·ldb + j]
/// for i < m, j < n (written, or added with `accumulate`); A packed as
/// `BrgemmPacking(m: m, depth: taps · k, rows: brgemmSliverRows)` says. At
/// AVX-512 by the C kernel; at the levels below by `brgemmPackedNaive`,
/// for the tests that run Winograd's brgemm paths there (`WinogradLayout`'s
/// `packed`): nothing else packs U below AVX-512.
func brgemm(
    m: Int, n: Int, taps: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
    tapShift: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, level: SIMDLevel
) {
    #if arch(x86_64)
        if level == .avx512 {
            precondition(SIMDLevel.avx512.isSupported, "brgemm at AVX-512 on a CPU without it")
            ck_brgemm_avx512(
                Int64(m), Int64(n), Int64(taps), Int64(k), packedA, b, Int64(ldb), Int64(tapShift), c, Int64(ldc),
                accumulate ? 1 : 0)
            return
        }
    #endif
    brgemmPackedNaive(
        m: m, n: n, taps: taps, k: k, packedA: packedA, b: b, ldb: ldb, tapShift: tapShift, c: c, ldc: ldc,
        accumulate: accumulate)
}

/// `brgemmNaive` on A packed for `brgemm`: A unpacked first.
func brgemmPackedNaive(
    m: Int, n: Int, taps: Int, k: Int, packedA: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
    tapShift: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    let depth = taps * k
    let packing = BrgemmPacking(m: m, depth: depth, rows: brgemmSliverRows)
    let a = (0..<(m * depth)).map { packedA[packing.index(row: $0 / depth, depth: $0 % depth)] }
    brgemmNaive(
        m: m, n: n, taps: taps, k: k, a: a, lda: depth, b: b, ldb: ldb, tapShift: tapShift, c: c, ldc: ldc,
        accumulate: accumulate)
}

/// The naive twin of `brgemm`, with A unpacked (m × taps·k, row stride lda).
func brgemmNaive(
    m: Int, n: Int, taps: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    tapShift: Int, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = accumulate ? c[i * ldc + j] : 0
            for t in 0..<taps {
                for p in 0..<k { sum += a[i * lda + t * k + p] * b[t * tapShift + p * ldb + j] }
            }
            c[i * ldc + j] = sum
        }
    }
}
