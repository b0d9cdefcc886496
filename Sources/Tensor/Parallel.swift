import Foundation

/// How the cores are used: OpenBLAS threads inside each GEMM, or samples of
/// the batch split across threads with single-threaded GEMMs; `automatic`
/// chooses between them from the batch size (see `Parallel.choose`).
public enum Parallelism: String, Sendable {
    case blas
    case batch
    case automatic
}

/// The parallelism in force for the ops of one piece of work: a mode (never
/// `automatic`) and a thread count. Settings are bound to a scope with
/// `Parallel.with`, not set globally: two trainers, or two tests running at
/// once, each use their own.
public struct ParallelSettings: Sendable, Equatable {
    public var mode: Parallelism
    public var threads: Int

    /// `automatic` resolves the mode for batches of `batch` samples (`threads` when not given).
    public init(mode: Parallelism, threads: Int, batch: Int? = nil) {
        self.threads = max(1, threads)
        self.mode = mode == .automatic ? Parallel.choose(threads: self.threads, batch: batch ?? self.threads) : mode
    }

    /// Outside any `Parallel.with`: samples split over every core.
    public static let machine = ParallelSettings(mode: .batch, threads: ProcessInfo.processInfo.activeProcessorCount)
}

public enum Parallel {
    /// The settings of the enclosing `Parallel.with` (task-local, in
    /// `OpSettings`: each task and thread that binds them sees its own).
    public static var settings: ParallelSettings { OpSettings.current.parallel }

    /// Runs `body` with `settings`: the ops it runs split their work that way,
    /// and each GEMM they call runs that many OpenBLAS threads in `blas` mode,
    /// one in `batch` mode (`BLAS.threads`), until `body` returns.
    public static func with<R>(_ settings: ParallelSettings, _ body: () throws -> R) rethrows -> R {
        try OpSettings.with(\.parallel, settings, body)
    }

    static var threads: Int { settings.threads }

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
    /// `workers`), and runs `body(worker, range)` on each, in parallel. Each
    /// worker's ops see the scope's settings (`OpSettings`) but batch mode
    /// at the scope's threads, wherever it runs (concurrentPerform runs some
    /// workers on the calling thread, which alone would see the scope's own
    /// settings, and the others on its pool's threads, which would see the
    /// defaults): so their GEMMs run one OpenBLAS thread each, and the same
    /// bits come out run after run.
    static func forEachRange(_ count: Int, workers requested: Int, _ body: (Int, Range<Int>) -> Void) {
        let workers = min(requested, count)
        if workers <= 1 {
            body(0, 0..<count)
            return
        }
        var inner = OpSettings.current
        inner.parallel = ParallelSettings(mode: .batch, threads: threads)
        // Safe to share: the call returns only when every worker has, and the workers get disjoint ranges.
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: workers) { [inner] w in
            let lo = count * w / workers
            let hi = count * (w + 1) / workers
            if lo < hi { inner.bind { body(w, lo..<hi) } }
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

    static var workerCount: Int {
        let s = settings
        return s.mode == .batch ? s.threads : 1
    }
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
