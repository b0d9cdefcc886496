import COpenBLAS
import Foundation

/// OpenBLAS's threads. OpenBLAS keeps one thread count for the whole process,
/// read at the start of each call, while every `Parallel.with` scope wants its
/// own: blas mode all its threads inside each GEMM, batch mode one per worker.
/// A count set per scope leaked into GEMMs that other scopes ran at the same
/// time (two tests, a trainer beside an evaluation), and two threads sum in
/// another order than one, so bit-equal runs came out different now and then.
/// So the count stays at 1, and a GEMM that wants more sets it for its own
/// call alone, holding off the other GEMMs meanwhile. Two threads' GEMMs never
/// ran side by side anyway: OpenBLAS 0.3's pthread build serialises them.
public enum BLAS {
    /// The OpenBLAS threads of a GEMM called here: the scope's threads in blas mode, else 1.
    public static var threads: Int {
        let settings = Parallel.settings
        return settings.mode == .blas ? settings.threads : 1
    }

    /// Runs `call` (one OpenBLAS call) at the scope's `threads`: alongside other one-thread
    /// calls, or alone with OpenBLAS's count raised for it.
    static func run(_ call: () -> Void) {
        let threads = threads
        if threads <= 1 {
            gate.shared(call)
        } else {
            gate.exclusive {
                setThreads?(Int32(threads))
                call()
                setThreads?(1)
            }
        }
    }

    private static let setThreads = OpenBLAS.shared.setThreads
    private static let gate: ReadersWriterLock = {
        setThreads?(1)
        return ReadersWriterLock()
    }()
}

/// A pthread readers–writer lock that lets a waiting writer in ahead of new
/// readers (glibc's default lets a steady stream of readers starve it). The
/// other way round, blas-mode scopes running at once pass the lock from
/// writer to writer, and one-thread GEMMs wait for a gap between their
/// calls: slower, never stuck. (OpenBLAS's OpenMP build works the same way:
/// with its count at 1 a call runs one thread whatever OpenMP's setting.)
private final class ReadersWriterLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
            pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    func shared(_ body: () -> Void) {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        body()
    }

    func exclusive(_ body: () -> Void) {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        body()
    }
}

private let sgemmFunction = OpenBLAS.shared.sgemm

/// Row-major C (m×n, ldc) = alpha·op(A)·op(B) + beta·C, with op(A) m×k and op(B) k×n.
func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    BLAS.run {
        sgemmFunction(
            CLIPKIT_CBLAS_ROW_MAJOR, transA ? CLIPKIT_CBLAS_TRANS : CLIPKIT_CBLAS_NO_TRANS,
            transB ? CLIPKIT_CBLAS_TRANS : CLIPKIT_CBLAS_NO_TRANS,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
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
