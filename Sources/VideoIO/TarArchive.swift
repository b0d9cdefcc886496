import CFFmpeg
import Foundation
import Support
import Synchronization

/// One file inside a tar archive: where its bytes are.
public struct TarMember: Sendable, Equatable {
    public var name: String
    /// The first byte of the member's data in the archive.
    public var offset: Int64
    public var size: Int64
}

/// Where a tar member's data lies in its archive, when a manifest says so
/// (its `offset` and `size` columns): the member then opens without the
/// archive being listed, once the header before `offset` agrees.
public struct ByteRange: Sendable, Equatable, Hashable {
    public var offset: Int64
    public var size: Int64
    public init(offset: Int64, size: Int64) { (self.offset, self.size) = (offset, size) }
}

/// A video inside a tar archive, named `archive.tar#member` (WebDataset's
/// shards, video2dataset's output): the archive's path and the member's name.
public struct TarMemberPath: Sendable, Equatable {
    public var archive: String
    public var member: String

    /// `path` split at the first `#` that follows a `.tar`, when the part
    /// before it is a file and `path` itself is not one (a file may have `#`
    /// in its name); nil for any other path.
    public init?(_ path: String) {
        if isRemoteLocation(path) {
            // https://host/shard.tar#member, or …/shard.tar?presigned-query#member
            guard let hash = path.lastIndex(of: "#") else { return nil }
            let archive = String(path[..<hash])
            guard archive.split(separator: "?", maxSplits: 1)[0].lowercased().hasSuffix(".tar") else { return nil }
            self.archive = archive
            member = String(path[path.index(after: hash)...])
            return
        }
        var search = path.startIndex
        while let hash = path[search...].firstIndex(of: "#") {
            let archive = String(path[..<hash])
            if archive.lowercased().hasSuffix(".tar") {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: archive, isDirectory: &isDirectory),
                    !isDirectory.boolValue, !FileManager.default.fileExists(atPath: path)
                else { return nil }
                self.archive = archive
                member = String(path[path.index(after: hash)...])
                return
            }
            search = path.index(after: hash)
        }
        return nil
    }

    public var text: String { "\(archive)#\(member)" }
}

/// The members of tar archives (POSIX ustar and pax, GNU long names and
/// base-256 sizes for members of 8 GiB and more), read from the headers
/// alone: a header is 512 bytes, then the data rounded up to 512. Listings
/// are kept per archive version, so an archive is walked once per process.
public enum TarArchive {
    /// The member called `name` in `archive`.
    public static func member(_ name: String, in archive: String) throws -> TarMember {
        let listing = try self.listing(of: archive)
        guard let found = listing.byName[name] else {
            let members = listing.members
            let some = members.prefix(3).map(\.name).joined(separator: ", ") + (members.count > 3 ? ", …" : "")
            let listed = "\(members.count) members" + (some.isEmpty ? "" : ": \(some)")
            throw VideoError.cannotOpen(
                path: "\(archive)#\(name)", reason: "no member '\(name)' in the tar archive (\(listed))")
        }
        guard found.offset + found.size <= listing.size else {
            throw cutShort(
                "\(archive)#\(name)", at: listing.size, member: ByteRange(offset: found.offset, size: found.size))
        }
        return found
    }

    /// Checks that `range` holds the member `name` of `archive`, from the
    /// header block right before it (read through `read(offset, count)`):
    /// a regular file's header with a sound checksum, the member's name (or,
    /// for names of 100 bytes and more, which pax and GNU headers carry
    /// elsewhere, its first bytes) and its size (or a size too large for the
    /// header's field).
    static func check(
        _ range: ByteRange, named name: String, in archive: String, read: (Int64, Int) throws -> [UInt8]
    ) throws {
        let path = "\(archive)#\(name)"
        let offset = range.offset - 512
        guard offset >= 0, range.offset % 512 == 0, range.size >= 0 else {
            throw VideoError.cannotOpen(path: path, reason: "offset \(range.offset) cannot start a tar member's data")
        }
        let header = try read(offset, 512)
        func mismatch(_ what: String) -> VideoError {
            .cannotOpen(path: path, reason: "the manifest's offset \(range.offset) does not start this member: \(what)")
        }
        guard header.count == 512 else { throw mismatch("the archive ends before it") }
        guard (try? checkSum(header, archive: archive, offset: offset)) != nil,
            [UInt8(ascii: "0"), 0, UInt8(ascii: "7")].contains(header[156])
        else { throw mismatch("no file's header at byte \(offset)") }
        let stored = ustarName(header)
        guard stored == name || (name.utf8.count >= 100 && name.hasPrefix(stored)) else {
            throw mismatch("the header at byte \(offset) names '\(stored)'")
        }
        let size = try number(header[124..<136], archive: archive, offset: offset)
        guard size == range.size || (range.size > 0o77777777777 && size == 0) else {
            throw mismatch("the header at byte \(offset) gives \(size) bytes, the manifest \(range.size)")
        }
    }

    /// `check` on a local archive, which must also hold the member's last byte.
    static func check(_ range: ByteRange, named name: String, in archive: String) throws {
        guard let handle = FileHandle(forReadingAtPath: archive) else { throw VideoError.fileNotFound(path: archive) }
        defer { try? handle.close() }
        try check(range, named: name, in: archive) { offset, count in
            try handle.seek(toOffset: UInt64(offset))
            return [UInt8](handle.readData(ofLength: count))
        }
        let end = Int64(try handle.seekToEnd())
        guard range.offset + range.size <= end else { throw cutShort("\(archive)#\(name)", at: end, member: range) }
    }

    /// The error for a member (`path`) whose archive ends at byte `end`, before the member's last.
    static func cutShort(_ path: String, at end: Int64, member: ByteRange) -> VideoError {
        .cannotOpen(
            path: path,
            reason:
                "the tar archive is cut short: it ends \(end - member.offset) bytes into the member's \(member.size)")
    }

    /// Every regular file of `archive` (a path or an http(s) URL), in order.
    public static func members(of archive: String) throws -> [TarMember] { try listing(of: archive).members }

    /// An archive's members, by name too (a later member of one name wins, as
    /// tar extracts it), and its size. A local archive is listed again when it
    /// changes; a remote one once per process (ranged reads of its headers).
    private struct Listing {
        var version: String
        var size: Int64
        var members: [TarMember]
        var byName: [String: TarMember]

        init(version: String, size: Int64, members: [TarMember]) {
            (self.version, self.size, self.members) = (version, size, members)
            byName = Dictionary(members.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        }
    }

    private static func listing(of archive: String) throws -> Listing {
        if isRemoteLocation(archive) {
            if let known = cache.withLock({ $0[archive] }) { return known }
            var reader: UnsafeMutablePointer<cffmpeg_http>? = try openRemoteReader(archive)
            defer { cffmpeg_http_free(&reader) }
            let known = reader!.pointee.size
            let size = known > 0 ? known : .max  // a server that gives no length: read to the end blocks
            let listing = try walk(archive, size: size) { offset, count in
                try readRemote(reader!, at: offset, count: count, url: archive)
            }
            let entry = Listing(version: "", size: size, members: listing)
            cache.withLock { $0[archive] = entry }
            return entry
        }
        var info = stat()
        guard stat(archive, &info) == 0 else { throw VideoError.fileNotFound(path: archive) }
        let version = "\(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ino)"
        if let known = cache.withLock({ $0[archive] }), known.version == version { return known }
        guard let handle = FileHandle(forReadingAtPath: archive) else {
            throw VideoError.cannotOpen(path: archive, reason: "permission denied")
        }
        defer { try? handle.close() }
        let listing = try walk(archive, size: Int64(info.st_size)) { offset, count in
            try handle.seek(toOffset: UInt64(offset))
            return [UInt8](handle.readData(ofLength: count))
        }
        let entry = Listing(version: version, size: Int64(info.st_size), members: listing)
        cache.withLock { $0[archive] = entry }
        return entry
    }

    private static let cache = Mutex<[String: Listing]>([:])

    /// The headers of an archive of `fileSize` bytes, through `read(offset, count)`.
    private static func walk(
        _ archive: String, size fileSize: Int64, read: (Int64, Int) throws -> [UInt8]
    ) throws -> [TarMember] {
        var members: [TarMember] = []
        var offset: Int64 = 0
        var longName: String?  // from a GNU 'L' or pax 'path' record, for the next member
        var paxSize: Int64?
        while offset + 512 <= fileSize {
            let header = try read(offset, 512)
            guard header.count == 512 else { break }
            if header.allSatisfy({ $0 == 0 }) { break }  // the end-of-archive blocks
            try checkSum(header, archive: archive, offset: offset)
            let size = try paxSize ?? number(header[124..<136], archive: archive, offset: offset)
            let dataOffset = offset + 512
            let type = header[156]
            func data() throws -> [UInt8] {
                guard size < 1 << 24, dataOffset + size <= fileSize else {
                    throw VideoError.cannotOpen(
                        path: archive, reason: "tar header at byte \(offset) announces \(size) bytes the file lacks")
                }
                return try read(dataOffset, Int(size))
            }
            switch type {
            case UInt8(ascii: "L"):
                longName = cString(try data()[...])
            case UInt8(ascii: "x"):
                let records = paxRecords(try data())
                if let path = records["path"] { longName = path }
                if let text = records["size"], let value = Int64(text) { paxSize = value }
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                let name = longName ?? ustarName(header)
                members.append(TarMember(name: name, offset: dataOffset, size: size))
                (longName, paxSize) = (nil, nil)
            default:  // directories, links, pax globals ('g'), …: no data to read as a video
                if type != UInt8(ascii: "g") { (longName, paxSize) = (nil, nil) }
            }
            offset = dataOffset + (size + 511) / 512 * 512
        }
        return members
    }

    private static func checkSum(_ header: [UInt8], archive: String, offset: Int64) throws {
        let stored = try number(header[148..<156], archive: archive, offset: offset)
        let sum = header.enumerated().reduce(0) { $0 + Int64((148..<156).contains($1.offset) ? 32 : $1.element) }
        guard stored == sum else {
            throw VideoError.cannotOpen(
                path: archive, reason: "not a tar archive, or damaged: the header at byte \(offset) fails its checksum")
        }
    }

    /// An octal field, or GNU's base-256 (first byte's high bit set) for large values.
    private static func number(_ field: ArraySlice<UInt8>, archive: String, offset: Int64) throws -> Int64 {
        if let first = field.first, first & 0x80 != 0 {
            return field.dropFirst().reduce(Int64(first & 0x7f)) { $0 << 8 | Int64($1) }
        }
        let digits = field.drop { $0 == 32 }.prefix { $0 != 0 && $0 != 32 }
        guard let value = Int64(digits.isEmpty ? "0" : String(decoding: digits, as: UTF8.self), radix: 8) else {
            throw VideoError.cannotOpen(
                path: archive, reason: "not a tar archive, or damaged: a bad number in the header at byte \(offset)")
        }
        return value
    }

    private static func ustarName(_ header: [UInt8]) -> String {
        let name = cString(header[0..<100])
        let isUstar = header[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? cString(header[345..<500]) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    private static func cString(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// pax records: "<length> <key>=<value>\n", one after another.
    private static func paxRecords(_ data: [UInt8]) -> [String: String] {
        var records: [String: String] = [:]
        var at = 0
        while at < data.count {
            guard let space = data[at...].firstIndex(of: 32),
                let length = Int(String(decoding: data[at..<space], as: UTF8.self)), length > 0,
                at + length <= data.count
            else { break }
            let record = String(decoding: data[(space + 1)..<(at + length - 1)], as: UTF8.self)
            if let equals = record.firstIndex(of: "=") {
                records[String(record[..<equals])] = String(record[record.index(after: equals)...])
            }
            at += length
        }
        return records
    }
}
