import Foundation
import Loader
import Support

/// A run's `metrics.jsonl`: one JSON object a line, an "epoch" event after
/// every epoch and a "stage" event (a `StageResult`) after every phase.
struct RunLog {
    let path: String

    func append(_ object: [String: Any]) throws { try appendJSONLine(object, to: path) }

    /// Starts a new run: no lines.
    func clear() { try? FileManager.default.removeItem(atPath: path) }

    /// Drops lines of epochs from `epoch` on (written before an interruption, redone now).
    func trim(before epoch: Int) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return false
            }
            let e = (o["epoch"] as? Int) ?? ((o["stage"] as? [String: Any])?["epoch"] as? Int) ?? 0
            return e < epoch
        }
        try writeAtomically(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
    }

    /// The stages logged so far.
    func stages() throws -> [StageResult] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let s = o["stage"]
            else { return nil }
            return try JSONDecoder().decode(StageResult.self, from: JSONSerialization.data(withJSONObject: s))
        }
    }
}

func jsonObject<T: Encodable>(_ value: T) throws -> Any {
    try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
}
