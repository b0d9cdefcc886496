import Foundation
import Loader
import VideoIO

/// What a probe of many videos has learnt so far, appended to a JSON-lines
/// file as it goes, so that an interrupted `prep index --probe` resumes where
/// it stopped: a video whose source is still the same version (size, times
/// and inode; a tar member's archive and place) is not opened again. Remote
/// videos have no version to compare, and are probed again.
final class ProbeJournal {
    let path: String
    private var kept: [String: ManifestEntry] = [:]  // read from the file at init, never changed after
    private let handle: FileHandle
    private let lock = NSLock()  // the workers' appends

    init(path: String) throws {
        self.path = path
        let lines = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n") ?? []
        for line in lines {
            // A line cut by the interruption is not JSON: skipped, that video is probed again.
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                let version = o["version"] as? String, let entryPath = o["path"] as? String
            else { continue }
            var e = ManifestEntry(path: entryPath, label: 0)
            (e.frames, e.fps, e.width, e.height) = (
                o["frames"] as? Int, o["fps"] as? Double, o["width"] as? Int, o["height"] as? Int
            )
            (e.keyframes, e.stream) = (o["keyframes"] as? [Int], o["stream"] as? Int)
            kept[entryPath + "\n" + version] = e
        }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw PrepError(path: path, reason: "cannot write the probe journal")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw PrepError(path: path, reason: "cannot write the probe journal")
        }
        self.handle = handle
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    /// `e` with what an earlier run learnt of it, when its source has not changed since.
    func known(_ e: ManifestEntry) -> ManifestEntry? {
        guard let version = sourceVersion(e.path) else { return nil }
        guard let found = kept[e.path + "\n" + version] else { return nil }
        var out = e
        (out.frames, out.fps, out.width, out.height) = (found.frames, found.fps, found.width, found.height)
        (out.keyframes, out.stream) = (found.keyframes, e.stream ?? found.stream)
        return out
    }

    /// Keeps what was learnt of `e` (a local source only).
    func record(_ e: ManifestEntry) {
        guard let version = sourceVersion(e.path) else { return }
        var o: [String: Any] = ["path": e.path, "version": version]
        if let v = e.frames { o["frames"] = v }
        if let v = e.fps { o["fps"] = v }
        if let v = e.width { o["width"] = v }
        if let v = e.height { o["height"] = v }
        if let v = e.keyframes { o["keyframes"] = v }
        if let v = e.stream { o["stream"] = v }
        guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]) else { return }
        lock.withLock { handle.write(data + Data("\n".utf8)) }
    }
}
