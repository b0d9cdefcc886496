import COpenBLAS
import Foundation

/// Bytes held by tensor storage: live now and the high-water mark since the
/// last reset. This is the memory ITSL reports per stage.
public final class MemoryMeter: @unchecked Sendable {
    public static let shared = MemoryMeter()
    private let lock = NSLock()
    private var live = 0
    private var peak = 0

    public var liveBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return live
    }
    public var peakBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return peak
    }

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
    public func resetPeak() {
        lock.lock()
        peak = live
        lock.unlock()
    }

    func allocated(_ bytes: Int) {
        lock.lock()
        live += bytes
        if live > peak { peak = live }
        lock.unlock()
    }

    func freed(_ bytes: Int) {
        lock.lock()
        live -= bytes
        lock.unlock()
    }
}

/// Float32 storage from the tracked allocator.
final class Storage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int, zeroed: Bool = true) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: count) }
        MemoryMeter.shared.allocated(count * 4)
    }

    deinit {
        pointer.deallocate()
        MemoryMeter.shared.freed(count * 4)
    }
}
