import Foundation

/// A one-line progress bar on stderr: done/total, rate, ETA and failures.
/// On a terminal it redraws in place; otherwise it prints a line at most every
/// few seconds (and at the end), so logs stay short.
public final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let unit: String
    private let start = Date()
    private let lock = NSLock()
    private let interactive = isatty(STDERR_FILENO) != 0
    private var lastPrint = Date.distantPast
    private(set) var done = 0
    private(set) var failed = 0
    private let quiet: Bool

    public init(total: Int, unit: String, quiet: Bool = false) {
        self.total = total
        self.unit = unit
        self.quiet = quiet
    }

    /// One item finished (ok or failed); redraws.
    public func advance(failed didFail: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        if didFail { failed += 1 }
        draw(final: done == total)
    }

    /// The current line, e.g. "[#####-----] 12/24 videos  3.1 videos/s  ETA 0:04  1 failed".
    public var line: String {
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

    private func draw(final: Bool) {
        guard !quiet else { return }
        let now = Date()
        if interactive {
            FileHandle.standardError.write(Data(("\r" + line + (final ? "\n" : "")).utf8))
        } else if final || now.timeIntervalSince(lastPrint) >= 5 {
            FileHandle.standardError.write(Data((line + "\n").utf8))
            lastPrint = now
        }
    }
}

/// Runs body(i) for every i in 0..<count on up to `jobs` threads; each thread
/// takes the next index when it is done with one (videos differ in length).
func forEachIndex(_ count: Int, jobs: Int, _ body: (Int) -> Void) {
    let lock = NSLock()
    var next = 0
    DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, count))) { _ in
        while true {
            lock.lock()
            let i = next
            next += 1
            lock.unlock()
            guard i < count else { return }
            body(i)
        }
    }
}
