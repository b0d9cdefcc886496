import COpenBLAS
import Foundation

/// Bytes held by tensor storage: live now and the high-water mark since the
/// last reset. This is the memory ITSL reports per stage.
public final class MemoryMeter: @unchecked Sendable {
    public static let shared = MemoryMeter()
    private let lock = NSLock()
    private var live = 0
    private var peak = 0

    public var liveBytes: Int { lock.lock(); defer { lock.unlock() }; return live }
    public var peakBytes: Int { lock.lock(); defer { lock.unlock() }; return peak }

    /// Most bytes of freed large blocks kept for reuse (default 512 MiB; 0
    /// disables the cache). Reuse saves page faults; the cache counts towards
    /// the process's resident memory, not towards `liveBytes`.
    public var blockCacheLimitBytes: Int {
        get { BlockCache.shared.limitBytes }
        set { BlockCache.shared.limitBytes = max(0, newValue); if newValue == 0 { BlockCache.shared.clear() } }
    }

    /// Frees the cached blocks and returns free heap pages to the system, so
    /// that the process's resident size is what is live (a stage boundary).
    public func releaseCachedMemory() {
        BlockCache.shared.clear()
        clipkit_malloc_trim()
    }

    /// Starts a new high-water mark from what is live now.
    public func resetPeak() { lock.lock(); peak = live; lock.unlock() }

    func allocated(_ bytes: Int) {
        lock.lock(); live += bytes; if live > peak { peak = live }; lock.unlock()
    }

    func freed(_ bytes: Int) { lock.lock(); live -= bytes; lock.unlock() }
}

/// Freed large blocks kept for reuse, by exact size: training repeats the same
/// shapes every step, and a reused block costs no page faults. Small blocks
/// go straight back to malloc. The meter counts live tensors, not this cache.
final class BlockCache: @unchecked Sendable {
    static let shared = BlockCache()
    /// Blocks smaller than this (in floats) are not cached.
    static let minimumCount = 1 << 16
    private let lock = NSLock()
    private var blocks: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var cachedBytes = 0
    /// Most bytes kept; beyond it, freed blocks are released.
    var limitBytes = 512 << 20

    func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        guard count >= Self.minimumCount else { return nil }
        lock.lock(); defer { lock.unlock() }
        guard let block = blocks[count]?.popLast() else { return nil }
        cachedBytes -= count * 4
        return block
    }

    /// Keeps `block` for reuse; false when it should be deallocated instead.
    func give(_ block: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        guard count >= Self.minimumCount else { return false }
        lock.lock(); defer { lock.unlock() }
        guard cachedBytes + count * 4 <= limitBytes else { return false }
        blocks[count, default: []].append(block)
        cachedBytes += count * 4
        return true
    }

    /// Releases every cached block.
    func clear() {
        lock.lock(); defer { lock.unlock() }
        for (_, list) in blocks { for b in list { b.deallocate() } }
        blocks = [:]
        cachedBytes = 0
    }
}

/// Float32 storage from the tracked allocator.
final class Storage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int, zeroed: Bool = true) {
        self.count = count
        pointer = BlockCache.shared.take(count) ?? .allocate(capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: count) }
        MemoryMeter.shared.allocated(count * 4)
    }

    deinit {
        if !BlockCache.shared.give(pointer, count: count) { pointer.deallocate() }
        MemoryMeter.shared.freed(count * 4)
    }
}
