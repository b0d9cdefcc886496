import Foundation

/// How the two cores are used: OpenBLAS threads inside each GEMM, or samples
/// of the batch split across threads with single-threaded GEMMs.
public enum Parallelism: String, Sendable {
    case blas
    case batch
}

public enum Parallel {
    nonisolated(unsafe) public private(set) static var mode: Parallelism = .batch
    nonisolated(unsafe) public private(set) static var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    public static func configure(mode: Parallelism, threads: Int) {
        self.mode = mode
        self.threads = max(1, threads)
        BLAS.setThreads(mode == .blas ? self.threads : 1)
    }

    /// Splits 0..<count into contiguous ranges, one per worker (at most
    /// `workers`), and runs `body(worker, range)` on each, in parallel.
    static func forEachRange(_ count: Int, workers requested: Int, _ body: (Int, Range<Int>) -> Void) {
        let workers = min(requested, count)
        if workers <= 1 { body(0, 0..<count); return }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { body(w, lo..<hi) }
        }
    }

    static var workerCount: Int { mode == .batch ? threads : 1 }
}

/// Scratch buffers (tracked) of at least `count` floats, one per worker.
final class Scratch {
    private var buffers: [Storage] = []
    func buffer(_ worker: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while buffers.count <= worker { buffers.append(Storage(count: 0)) }
        if buffers[worker].count < count { buffers[worker] = Storage(count: count, zeroed: false) }
        return buffers[worker].pointer
    }
}
