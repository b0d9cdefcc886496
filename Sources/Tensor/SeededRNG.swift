/// A seedable generator (SplitMix64) for initialisation and dropout.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Counts the calling thread's forward FLOPs (2 × multiply-adds), for model summaries.
public enum FlopCounter {
    /// FLOPs of the ops `body` runs on this thread.
    public static func count(_ body: () throws -> Void) rethrows -> Int {
        let state = ThreadState.current
        state.countingFlops = true
        state.flops = 0
        defer { state.countingFlops = false }
        try body()
        return state.flops
    }

    static func add(_ multiplyAdds: Int) {
        let state = ThreadState.current
        if state.countingFlops { state.flops += 2 * multiplyAdds }
    }
}
