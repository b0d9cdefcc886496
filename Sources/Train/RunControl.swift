import Foundation
import Synchronization

/// Ctrl-C: the trainer finishes the step it is on, saves a checkpoint and
/// returns. Under mpirun any rank's request stops every rank at the same step;
/// mpirun itself kills its ranks on Ctrl-C (SIGTERM, SIGKILL a second later)
/// but forwards SIGUSR1, so `kill -USR1 <mpirun's pid>` is the graceful stop there.
///
/// A signal reaches the whole process, so its flag is process-wide: one
/// atomic, which a signal handler may set. Trainers do not read it directly;
/// they are given a `RunControl` (`.signals` reads this flag).
public enum Interrupt {
    private static let flag = Atomic<Bool>(false)

    /// Whether SIGINT or SIGUSR1 arrived since `install`.
    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Routes SIGINT and SIGUSR1 to `requested` (a second Ctrl-C still kills at once).
    public static func install() {
        for s in [SIGINT, SIGUSR1] {
            signal(s) { _ in
                if Interrupt.flag.exchange(true, ordering: .relaxed) { _exit(130) }
            }
        }
    }
}

/// When a training run stops before its plan ends. It is asked after every
/// step; under mpirun every rank stops at the step where any rank was asked.
public struct RunControl: Sendable {
    /// Whether a stop was asked for.
    public var stopRequested: @Sendable () -> Bool
    /// Stops as if asked after this many steps of this process (tests).
    public var stopAfterSteps: Int?

    public init(stopRequested: @escaping @Sendable () -> Bool, stopAfterSteps: Int? = nil) {
        self.stopRequested = stopRequested
        self.stopAfterSteps = stopAfterSteps
    }

    /// Stops on Ctrl-C or SIGUSR1 once `Interrupt.install()` has been called.
    public static var signals: RunControl { RunControl(stopRequested: { Interrupt.requested }) }

    /// Whether to stop after step `steps` (counted over the run, from 1).
    func shouldStop(afterStep steps: Int) -> Bool {
        stopRequested() || stopAfterSteps.map { steps >= $0 } == true
    }
}

/// Process memory: the kernel's resident high-water mark, resettable (Linux).
public enum ProcessMemory {
    /// Peak resident set size (VmHWM) in MB, or -1 when unknown.
    public static func peakMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Double($0) }.first ?? -1) / 1024
        }
        return -1
    }
    /// Resets VmHWM to the current RSS ("5" to /proc/self/clear_refs), so a stage's peak is its own.
    public static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
