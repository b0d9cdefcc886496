import Foundation
import Support

/// What a decoding scan learns about one video stream, as it is kept between
/// opens: the decoder's frames in output order, the frames it flagged as
/// keyframes, and the timestamps of the packets flagged as keyframes.
struct ScanRecord: Equatable {
    /// Best-effort timestamp of each frame (`ffNoPTS` where it had none).
    var frameTimestamps: [Int64]
    /// Output-order indices of the frames the decoder flagged as keyframes.
    var keyframes: [Int]
    /// Decode (else presentation) timestamps of the packets flagged as keyframes, in file order.
    var keyPackets: [Int64]
}

/// What names one version of a local source (a file, or a tar member with its
/// archive's version and place): the same text until the bytes may have
/// changed; nil for a remote source, or a file that cannot be read.
public func sourceVersion(_ path: String) -> String? {
    IndexCacheKey.file(path, stream: 0).map { "\($0.source)\n\($0.version)" }
}

/// Names one video stream in one version of its source, for the index caches.
/// `source` says where the bytes are (`file:` and a real path, or `tar:`, the
/// archive's real path, `#` and the member's name), `version` what makes them
/// this version (size and modification time), so a changed source never
/// matches an entry made before the change.
struct IndexCacheKey: Hashable {
    let source: String
    let version: String
    let stream: Int

    /// A local file: its real path (links resolved), size, modification and
    /// status-change times (ns) and inode, so that a file replaced by a copy
    /// that kept size and mtime (`cp -p`, `rsync -t`) is a new version too.
    static func file(_ path: String, stream: Int) -> IndexCacheKey? {
        if isRemoteLocation(path) { return nil }  // no version to tell a changed object by: scanned at each open
        if let member = TarMemberPath(path) {
            // A tar member: the archive's version and where the member lies in it.
            guard let archive = file(member.archive, stream: stream),
                let range = try? TarArchive.member(member.member, in: member.archive)
            else { return nil }
            return IndexCacheKey(
                source: "tar:" + archive.source.dropFirst("file:".count) + "#" + member.member,
                version: archive.version + " offset=\(range.offset) size=\(range.size)", stream: stream)
        }
        var info = stat()
        guard stat(path, &info) == 0, let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        let version =
            "size=\(info.st_size) mtime=\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) "
            + "ctime=\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec) inode=\(info.st_ino)"
        return IndexCacheKey(source: "file:" + String(cString: real), version: version, stream: stream)
    }

    /// Whether the scan is also kept on disk: a file's (one entry a file,
    /// replaced by its next version), not bytes' (streamed samples would add
    /// an entry each, never replaced); bytes keep theirs in this process.
    var keptOnDisk: Bool { !source.hasPrefix("bytes:") }

    /// Bytes in memory: their digest and size.
    static func bytes(_ memory: VideoBytes, stream: Int) -> IndexCacheKey {
        IndexCacheKey(source: "bytes:" + memory.digest, version: "size=\(memory.count)", stream: stream)
    }

    /// The key of what `demuxer` reads: its bytes in memory, else its file.
    static func of(_ demuxer: Demuxer, stream: Int) -> IndexCacheKey? {
        demuxer.memory.map { bytes($0, stream: stream) } ?? file(demuxer.path, stream: stream)
    }

    /// The whole key, as stored in an entry and compared on reading.
    var text: String { "\(source)\n\(version)\nstream=\(stream)" }
    /// The entry's file name: the same for every version of a source, so a
    /// new version replaces the old entry.
    var fileName: String { String(format: "%016llx.idx", fnv1a64(Array("\(source)\nstream=\(stream)".utf8))) }
}

/// Where an open's frame index came from.
public enum IndexOrigin: String, Sendable, Codable {
    /// Built at this open: from the packets, a decoding scan, or a folder listing.
    case scan
    /// A decoding scan made earlier in this process.
    case memory
    /// A decoding scan made by an earlier process, read from the index cache folder.
    case cache
    /// Given by the caller (a manifest's `frames` and `keyframes`).
    case manifest
}

/// Decoding scans made in this process, ready to use (the timestamp lookup
/// made): a loader opens the same videos every epoch, and a scan decodes the whole file. An entry counts only for the
/// version of the file it was made from. Shared by every decoder of the
/// process, so it is guarded by a lock.
final class DecodedIndexCache: @unchecked Sendable {  // safe: every access to the dictionaries holds `lock`
    static let shared = DecodedIndexCache()
    /// Files remembered at most (oldest forgotten first); an entry is a few KB.
    let capacity = 16_384
    private let lock = NSLock()
    private var entries: [IndexCacheKey: DecodedIndex] = [:]
    private var order: [IndexCacheKey] = []
    /// Times each source's stored scan was used (tests).
    private var hitCounts: [String: Int] = [:]

    func hits(for path: String) -> Int {
        guard let source = IndexCacheKey.file(path, stream: 0)?.source else { return 0 }
        lock.lock()
        defer { lock.unlock() }
        return hitCounts[source, default: 0]
    }

    func index(for key: IndexCacheKey) -> DecodedIndex? {
        lock.lock()
        defer { lock.unlock() }
        guard let index = entries[key] else { return nil }
        hitCounts[key.source, default: 0] += 1
        return index
    }

    func store(_ index: DecodedIndex, for key: IndexCacheKey) {
        lock.lock()
        defer { lock.unlock() }
        if entries.updateValue(index, forKey: key) == nil { order.append(key) }
        while order.count > capacity { entries[order.removeFirst()] = nil }
    }
}

/// Decoding scans kept on disk, so that the next process opens the file
/// without decoding it: one small file per stream in `$CLIPKIT_CACHE`, else
/// `~/.cache/clipkit`, under `index-v1/` (a change to what a scan records
/// takes a new folder name). Entries are a few KB per video and are never
/// evicted; deleting the folder is always safe. An entry holds its whole key and a
/// checksum; one whose key, length or checksum does not match is ignored and
/// written again. Entries are written to a temporary file and renamed, so
/// concurrent writers (MPI ranks, two loaders) leave one whole entry. A
/// folder that cannot be written only means scans are not kept.
struct IndexDiskCache {
    let folder: String

    /// The folder the environment names, or nil when there is no home either.
    static func fromEnvironment() -> IndexDiskCache? {
        if let value = getenv("CLIPKIT_CACHE"), value.pointee != 0 {
            return IndexDiskCache(folder: String(cString: value) + "/index-v1")
        }
        guard let home = getenv("HOME"), home.pointee != 0 else { return nil }
        return IndexDiskCache(folder: String(cString: home) + "/.cache/clipkit/index-v1")
    }

    func path(for key: IndexCacheKey) -> String { folder + "/" + key.fileName }

    /// The entry for `key`, or nil when there is none or it is stale or damaged.
    func record(for key: IndexCacheKey) -> ScanRecord? {
        guard let data = FileManager.default.contents(atPath: path(for: key)) else { return nil }
        return decodeEntry([UInt8](data), key: key)
    }

    /// Writes the entry for `key` (temp file, then rename); false when the folder cannot be written.
    @discardableResult
    func store(_ record: ScanRecord, for key: IndexCacheKey) -> Bool {
        let target = path(for: key)
        let temporary = "\(target).\(getpid()).\(UInt32.random(in: 0 ... .max)).tmp"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(encodeEntry(record, key: key)).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, target) == 0 else {
                unlink(temporary)
                return false
            }
            return true
        } catch {
            unlink(temporary)
            return false
        }
    }
}

private let entryMagic = Array("CKIDX01\n".utf8)

/// magic, key (length + UTF-8), three Int64 arrays (count + values), FNV-1a 64 of all before it; little-endian.
func encodeEntry(_ record: ScanRecord, key: IndexCacheKey) -> [UInt8] {
    var bytes = entryMagic
    func append(_ value: Int64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    let keyBytes = Array(key.text.utf8)
    append(Int64(keyBytes.count))
    bytes += keyBytes
    for list in [record.frameTimestamps, record.keyframes.map(Int64.init), record.keyPackets] {
        append(Int64(list.count))
        list.forEach(append)
    }
    append(Int64(bitPattern: fnv1a64(bytes)))
    return bytes
}

/// The record in `bytes`, or nil unless it is whole, undamaged and made for `key`.
func decodeEntry(_ bytes: [UInt8], key: IndexCacheKey) -> ScanRecord? {
    guard bytes.count >= entryMagic.count + 8, bytes.starts(with: entryMagic) else { return nil }
    let body = bytes.count - 8
    guard UInt64(bitPattern: readInt64(bytes, at: body)) == fnv1a64(bytes[..<body]) else { return nil }
    var offset = entryMagic.count
    func next() -> Int64? {
        guard offset + 8 <= body else { return nil }
        defer { offset += 8 }
        return readInt64(bytes, at: offset)
    }
    func list() -> [Int64]? {
        guard let count = next(), count >= 0, count <= Int64((body - offset) / 8) else { return nil }
        return (0..<Int(count)).map { _ in next()! }
    }
    guard let keyLength = next(), keyLength >= 0, keyLength <= Int64(body - offset),
        String(decoding: bytes[offset..<offset + Int(keyLength)], as: UTF8.self) == key.text
    else { return nil }
    offset += Int(keyLength)
    guard let timestamps = list(), let keyframes = list(), let keyPackets = list(), offset == body,
        keyframes.allSatisfy({ $0 >= 0 && $0 < Int64(timestamps.count) })
    else { return nil }
    return ScanRecord(frameTimestamps: timestamps, keyframes: keyframes.map { Int($0) }, keyPackets: keyPackets)
}

private func readInt64(_ bytes: [UInt8], at offset: Int) -> Int64 {
    (0..<8).reduce(Int64(0)) { $0 | Int64(bytes[offset + $1]) << (8 * Int64($1)) }
}

/// FNV-1a, 64 bits: names and checks cache entries (not for anything adversarial).
func fnv1a64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}
