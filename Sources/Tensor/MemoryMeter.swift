import COpenBLAS
import Foundation
import Synchronization

/// Bytes held by tensor storage: live now and the high-water mark since the
/// last reset. This is the memory ITSL reports per stage.
///
/// One process-wide meter (the allocator's), its counts behind a mutex.
public final class MemoryMeter: Sendable {
    public static let shared = MemoryMeter()
    private let counts = Mutex((live: 0, peak: 0))

    public var liveBytes: Int { counts.withLock { $0.live } }
    public var peakBytes: Int { counts.withLock { $0.peak } }

    /// Keeps freed memory in the process heap for reuse instead of returning
    /// it to the system (glibc: no mmap for large blocks, no trimming of the
    /// heap's top). A training step frees and allocates the same large
    /// activations and gradients every step; given back and taken anew, each
    /// page costs a fault and a clear, which took up to 70% of a step. The
    /// heap then holds its high-water mark until `releaseFreedMemory()`.
    /// Process-wide and idempotent; `clipkit` sets it at start, and `Trainer.run`.
    /// False when the C library refused (then every large block is mapped anew).
    @discardableResult
    public func keepFreedMemory() -> Bool { clipkit_keep_freed_memory() == 1 }

    /// Returns free heap pages to the system, so that the process's resident
    /// size is what is live (a stage boundary).
    public func releaseFreedMemory() { clipkit_malloc_trim() }

    /// Starts a new high-water mark from what is live now.
    public func resetPeak() { counts.withLock { $0.peak = $0.live } }

    func allocated(_ bytes: Int) {
        counts.withLock {
            $0.live += bytes
            $0.peak = max($0.peak, $0.live)
        }
    }

    func freed(_ bytes: Int) { counts.withLock { $0.live -= bytes } }
}

/// Float32 storage from the tracked allocator.
///
/// Sendable, unchecked: the pointer and count never change; the floats behind
/// them are shared on purpose (kernels split a tensor over threads, the loader
/// fills batches on its workers), each writer on a range of its own, and the
/// split's end (concurrentPerform's return) orders the writes before any read.
final class Storage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    /// The allocation (`pointer`, or before it when `lineAligned`) and its floats.
    private let base: UnsafeMutablePointer<Float>
    private let allocated: Int
    private static let lineFloats = 16

    /// Storage made without zeroing is filled with NaNs in the scope bound
    /// with `OpSettings.with(\.poisonsUninitialised, true)`: in tests, an
    /// element a kernel was to write but missed shows.
    static var poisonsUninitialised: Bool { OpSettings.current.poisonsUninitialised }

    /// `lineAligned`: the floats start on a cache line (Winograd's packed
    /// weights, which stream whole lines). It allocates 15 floats more and
    /// starts inside; asking the allocator for the alignment instead
    /// (posix_memalign) nearly doubled a training step's RSS, as the heap
    /// stopped reusing freed blocks.
    init(count: Int, zeroed: Bool = true, lineAligned: Bool = false) {
        self.count = count
        allocated = max(count, 1) + (lineAligned ? Self.lineFloats - 1 : 0)
        base = .allocate(capacity: allocated)
        pointer =
            lineAligned
            ? UnsafeMutableRawPointer(base).alignedUp(toMultipleOf: Self.lineFloats * 4).assumingMemoryBound(
                to: Float.self) : base
        if zeroed {
            pointer.initialize(repeating: 0, count: count)
        } else if Self.poisonsUninitialised {
            pointer.initialize(repeating: .nan, count: count)
        }
        MemoryMeter.shared.allocated(allocated * 4)
    }

    deinit {
        base.deallocate()
        MemoryMeter.shared.freed(allocated * 4)
    }
}
