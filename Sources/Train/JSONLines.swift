import Foundation

/// Appends one JSON object as a line.
func appendJSONLine(_ object: [String: Any], to path: String) throws {
    var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    line.append(0x0a)
    if let handle = FileHandle(forWritingAtPath: path) {
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    } else {
        try line.write(to: URL(fileURLWithPath: path))
    }
}
