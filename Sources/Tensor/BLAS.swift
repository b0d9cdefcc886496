import COpenBLAS

/// OpenBLAS threading.
public enum BLAS {
    public static func setThreads(_ count: Int) { OpenBLAS.shared.setThreads?(Int32(max(1, count))) }
    public static var threads: Int { OpenBLAS.shared.getThreads.map { Int($0()) } ?? 1 }
}

private let sgemmFunction = OpenBLAS.shared.sgemm

/// Row-major C (m×n, ldc) = alpha·op(A)·op(B) + beta·C, with op(A) m×k and op(B) k×n.
func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    sgemmFunction(
        CLIPKIT_CBLAS_ROW_MAJOR, transA ? CLIPKIT_CBLAS_TRANS : CLIPKIT_CBLAS_NO_TRANS,
        transB ? CLIPKIT_CBLAS_TRANS : CLIPKIT_CBLAS_NO_TRANS,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The naive twin of `sgemm`, for tests.
func sgemmNaive(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = 0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                sum += av * bv
            }
            c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j])
        }
    }
}
