import Foundation
import Synchronization

/// A one-line progress bar on stderr: done/total, rate, ETA and failures.
/// On a terminal it redraws in place; otherwise it prints a line at most every
/// few seconds (and at the end), so logs stay short.
public final class ProgressBar: Sendable {
    private struct State {
        var done = 0
        var failed = 0
        var lastPrint = Date.distantPast
    }

    private let total: Int
    private let unit: String
    private let start = Date()
    private let interactive = isatty(STDERR_FILENO) != 0
    private let quiet: Bool
    private let state = Mutex(State())

    public init(total: Int, unit: String, quiet: Bool = false) {
        self.total = total
        self.unit = unit
        self.quiet = quiet
    }

    /// One item finished (ok or failed); redraws.
    public func advance(failed didFail: Bool = false) {
        state.withLock { state in
            state.done += 1
            if didFail { state.failed += 1 }
            draw(&state)
        }
    }

    /// The current line, e.g. "[#####-----] 12/24 videos  3.1 videos/s  ETA 0:04  1 failed".
    public var line: String { state.withLock { line(done: $0.done, failed: $0.failed) } }

    private func line(done: Int, failed: Int) -> String {
        let elapsed = max(Date().timeIntervalSince(start), 1e-6)
        let rate = Double(done) / elapsed
        let width = 24
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let eta = rate > 0 ? Int((Double(total - done) / rate).rounded()) : 0
        var text = String(
            format: "[%@] %d/%d %@  %.2f %@/s  ETA %d:%02d", bar, done, total, unit, rate, unit, eta / 60, eta % 60)
        if failed > 0 { text += "  \(failed) failed" }
        return text
    }

    /// Prints the line (under the lock, so lines never interleave).
    private func draw(_ state: inout State) {
        guard !quiet else { return }
        let final = state.done == total
        let now = Date()
        if interactive {
            let text = line(done: state.done, failed: state.failed)
            FileHandle.standardError.write(Data(("\r" + text + (final ? "\n" : "")).utf8))
        } else if final || now.timeIntervalSince(state.lastPrint) >= 5 {
            FileHandle.standardError.write(Data((line(done: state.done, failed: state.failed) + "\n").utf8))
            state.lastPrint = now
        }
    }
}

/// Runs body(i) for every i in 0..<count on up to `jobs` threads; each thread
/// takes the next index when it is done with one (videos differ in length).
/// `body` must guard whatever its calls share.
func forEachIndex(_ count: Int, jobs: Int, _ body: (Int) -> Void) {
    let next = Atomic(0)
    // Safe to share: concurrentPerform returns only after every thread has, and body guards what it shares.
    nonisolated(unsafe) let body = body
    DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, count))) { _ in
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard i < count else { return }
            body(i)
        }
    }
}
