import Foundation

/// How the cores are used: OpenBLAS threads inside each GEMM, or samples of
/// the batch split across threads with single-threaded GEMMs; `automatic`
/// chooses between them from the batch size (see `Parallel.choose`).
public enum Parallelism: String, Sendable {
    case blas
    case batch
    case automatic
}

public enum Parallel {
    /// The mode in force (never `automatic`: that is resolved by `configure`).
    nonisolated(unsafe) public private(set) static var mode: Parallelism = .batch
    nonisolated(unsafe) public private(set) static var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Sets the mode for `threads` threads; `automatic` resolves it for
    /// batches of `batch` samples.
    public static func configure(mode: Parallelism, threads: Int, batch: Int? = nil) {
        self.threads = max(1, threads)
        self.mode = mode == .automatic ? choose(threads: self.threads, batch: batch ?? self.threads) : mode
        BLAS.setThreads(self.mode == .blas ? self.threads : 1)
    }

    /// The split for a batch: samples across threads when the batch gives
    /// every thread at least one sample (no synchronisation inside a layer,
    /// single-threaded GEMMs that keep their panels in each core's cache:
    /// 1.25–1.5× OpenBLAS's own threads on kth3l with 2 cores); otherwise all
    /// threads inside each GEMM, so that no core idles (batch 1, or batch 8 on
    /// a 16-core machine). The two are not mixed: OpenBLAS 0.3's pthread build
    /// serialises concurrent multithreaded GEMM calls behind one lock.
    public static func choose(threads: Int, batch: Int) -> Parallelism {
        batch >= threads ? .batch : .blas
    }

    /// Splits 0..<count into contiguous ranges, one per worker (at most
    /// `workers`), and runs `body(worker, range)` on each, in parallel.
    static func forEachRange(_ count: Int, workers requested: Int, _ body: (Int, Range<Int>) -> Void) {
        let workers = min(requested, count)
        if workers <= 1 {
            body(0, 0..<count)
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers
            let hi = count * (w + 1) / workers
            if lo < hi { body(w, lo..<hi) }
        }
    }

    /// Runs body(span) over 0..<count in contiguous spans, split over the
    /// threads when there is enough work (else on this thread): for
    /// element-wise passes over whole tensors.
    public static func forEachSpan(_ count: Int, _ body: (Range<Int>) -> Void) {
        if count >= 65_536 {
            forEachRange(count, workers: threads) { _, span in body(span) }
        } else {
            body(0..<count)
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
