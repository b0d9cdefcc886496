import Foundation

/// A file that could not be written: the path and the reason.
public struct FileWriteError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Why `path` could not be read as a file: "no such file", "is a folder,
/// not a file", or "cannot read" with the system's reason.
public func unreadableReason(_ path: String) -> String {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return "no such file" }
    if isFolder.boolValue { return "is a folder, not a file" }
    return access(path, R_OK) == 0 ? "cannot read" : "cannot read (\(String(cString: strerror(errno))))"
}

/// Makes `path` writable before long work that ends by writing it: creates
/// its folder when missing, and throws, naming the path and the reason,
/// when the folder cannot be made or written, or `path` is a folder.
public func prepareOutput(_ path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    let manager = FileManager.default
    var isFolder: ObjCBool = false
    if manager.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
        throw FileWriteError(path: path, reason: "is a folder, not a file")
    }
    guard !folder.isEmpty else { return }
    try makeFolder(folder)
    if access(folder, W_OK) != 0 {
        throw FileWriteError(path: path, reason: "cannot write in \(folder) (\(String(cString: strerror(errno))))")
    }
}

/// Creates `folder` (and its parents) when missing; throws, naming it and
/// the reason, when it is a file or cannot be made.
public func makeFolder(_ folder: String) throws {
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
        guard isFolder.boolValue else { throw FileWriteError(path: folder, reason: "is a file, not a folder") }
        return
    }
    do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw FileWriteError(
            path: folder, reason: "cannot make the folder (\((error as NSError).localizedDescription))")
    }
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
