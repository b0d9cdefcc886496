import Foundation

/// A file that could not be written: the path and the reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Writes `data` to a temporary file beside `path`, then renames it into
/// place: a reader sees the old file or the new one, never half of one.
public func writeAtomically(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())-\(UUID().uuidString.prefix(8))"
    do { try data.write(to: URL(fileURLWithPath: temporary)) } catch {
        throw FileWriteError(path: path, reason: "cannot write (\((error as NSError).localizedDescription))")
    }
    if rename(temporary, path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(atPath: temporary)
        throw FileWriteError(path: path, reason: "cannot rename the finished file into place (\(reason))")
    }
}
