import Foundation

/// An exclusive hold on a folder for one run that writes into it, for as
/// long as the value lives: an advisory `flock` on `.clipkit.lock` inside it,
/// which the system lets go of when the process ends, however it ends. A
/// second run on the same folder is refused at once, naming the first one's
/// process and host, instead of both writing (and removing each other's
/// unfinished outputs) there. On a file system without locks (Lustre
/// without `-o flock`, NFS without lockd) the folder is not held, and a
/// warning says so.
public final class FolderLock {
    private let descriptor: Int32

    /// Holds `folder` (which must exist) or throws, naming the folder and why.
    public init(_ folder: String, for job: String) throws {
        let path = (folder as NSString).appendingPathComponent(".clipkit.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileWriteError(path: folder, reason: "cannot make \(path) (\(String(cString: strerror(errno))))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let why = errno
            guard why == EWOULDBLOCK else {
                let message =
                    "clipkit: warning: \(folder) is not held for this \(job): its file system has no "
                    + "locks (\(String(cString: strerror(why)))); run one job at a time there\n"
                FileHandle.standardError.write(Data(message.utf8))
                descriptor = fd
                return
            }
            let holder = FolderLock.holder(fd)
            close(fd)
            throw FileWriteError(
                path: folder,
                reason: "another \(job) (\(holder)) is writing here; wait for it to end, or choose another folder")
        }
        let mine = Array("\(getpid()) \(ProcessInfo.processInfo.hostName)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = mine.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// "process N on HOST", from what the holder wrote, or "another process".
    private static func holder(_ fd: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 300)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        let words = String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard let pid = words.first.flatMap({ Int($0) }) else { return "another process" }
        return words.count > 1 ? "process \(pid) on \(words[1])" : "process \(pid)"
    }
}
