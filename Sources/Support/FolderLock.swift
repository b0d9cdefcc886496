import Foundation

/// An exclusive hold on a folder for one run that writes into it, for as
/// long as the value lives: an advisory `flock` on `.clipkit.lock` inside it,
/// which the system lets go of when the process ends, however it ends. A
/// second run on the same folder is refused at once, naming the first one's
/// process, instead of both writing (and removing each other's unfinished
/// outputs) there.
public final class FolderLock {
    private let descriptor: Int32

    /// Holds `folder` (which must exist) or throws, naming the folder and why.
    public init(_ folder: String, for job: String) throws {
        let path = (folder as NSString).appendingPathComponent(".clipkit.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileWriteError(path: folder, reason: "cannot make \(path) (\(String(cString: strerror(errno))))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = FolderLock.holder(fd)
            close(fd)
            throw FileWriteError(
                path: folder,
                reason: "another \(job) (\(holder)) is writing here; wait for it to end, or choose another folder")
        }
        let mine = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = mine.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// "process N", from the pid the holder wrote, or "another process".
    private static func holder(_ fd: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let text = String(decoding: bytes.prefix(max(0, count)), as: UTF8.self)
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)).map { "process \($0)" } ?? "another process"
    }
}
