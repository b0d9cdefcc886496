import Foundation
import Synchronization

/// Progress on standard error: on a terminal every report redraws one line;
/// otherwise (a log file) complete lines are printed, and the others at most
/// once a minute so that long work still shows it is alive. Each line keeps
/// its own clock.
public final class ProgressLine: Sendable {
    private let lastLogged = Mutex(Date().timeIntervalSince1970)
    private let onTerminal = isatty(STDERR_FILENO) != 0

    public init() {}

    /// Shows `line`; `complete` lines end an epoch, a stage or a job.
    public func report(_ line: String, _ complete: Bool) {
        if onTerminal {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (complete ? "\n" : "")).utf8))
            return
        }
        let now = Date().timeIntervalSince1970
        let due = lastLogged.withLock { last in
            guard complete || now - last >= 60 else { return false }
            last = now
            return true
        }
        if due { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}

/// m:ss, or h:mm:ss from an hour on.
func duration(_ seconds: Double) -> String {
    let s = Int(seconds.isFinite ? max(seconds, 0) : 0)
    return s >= 3600
        ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}
