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
