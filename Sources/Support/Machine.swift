import Foundation

/// ClipKit's version, as reports, checkpoints' runs and the Python package give it.
public let clipKitVersion = "0.1.0"

/// /proc/cpuinfo's "model name" (the first), or "unknown".
public func cpuModelName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
            ?? "unknown"
    }
    return "unknown"
}
