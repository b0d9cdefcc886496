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

    /// Starts a new high-water mark from what is live now.
    public func resetPeak() { lock.lock(); peak = live; lock.unlock() }

    func allocated(_ bytes: Int) {
        lock.lock(); live += bytes; if live > peak { peak = live }; lock.unlock()
    }

    func freed(_ bytes: Int) { lock.lock(); live -= bytes; lock.unlock() }
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
