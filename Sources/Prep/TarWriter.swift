import Foundation

/// Writes a POSIX tar archive (pax where a name is over 100 bytes or a
/// size over ustar's 8 GiB) as GNU tar and Python's tarfile read it. Every
/// header is deterministic: mode 0644, owner 0, modification time 0, so the
/// same members give the same bytes.
struct TarWriter {
    private let handle: FileHandle
    private(set) var bytes: Int64 = 0

    init(_ handle: FileHandle) { self.handle = handle }

    /// The bytes a member of `size` named `name` takes in an archive, headers and padding included.
    static func footprint(name: String, size: Int64) -> Int64 {
        let pax = paxRecords(name: name, size: size)
        return (pax.isEmpty ? 0 : 512 + padded(Int64(pax.utf8.count))) + 512 + padded(size)
    }

    /// `name` holding `data`.
    mutating func add(_ name: String, data: Data) throws {
        try writeHeaders(name, size: Int64(data.count))
        try write(data)
        try pad(Int64(data.count))
    }

    /// `name` holding the file at `path`, copied in 4 MiB pieces; fails if the file is not `size` bytes.
    mutating func add(_ name: String, file path: String, size: Int64) throws {
        guard let source = FileHandle(forReadingAtPath: path) else {
            throw PrepError(path: path, reason: "cannot read")
        }
        defer { try? source.close() }
        try writeHeaders(name, size: size)
        var copied: Int64 = 0
        while copied < size {
            let piece = source.readData(ofLength: Int(min(4 << 20, size - copied)))
            guard !piece.isEmpty else { throw PrepError(path: path, reason: "changed while being copied: shorter") }
            try write(piece)
            copied += Int64(piece.count)
        }
        try pad(size)
    }

    /// The two zero blocks that end an archive.
    mutating func finish() throws { try write(Data(count: 1024)) }

    private mutating func writeHeaders(_ name: String, size: Int64) throws {
        let pax = Self.paxRecords(name: name, size: size)
        if !pax.isEmpty {
            let records = Data(pax.utf8)
            try write(Self.header(name: "PaxHeaders/" + String(name.suffix(80)), size: Int64(records.count), type: "x"))
            try write(records)
            try pad(Int64(records.count))
        }
        try write(Self.header(name: name, size: size, type: "0"))
    }

    private mutating func write(_ data: Data) throws {
        try handle.write(contentsOf: data)
        bytes += Int64(data.count)
    }

    private mutating func pad(_ size: Int64) throws {
        let zeros = Self.padded(size) - size
        if zeros > 0 { try write(Data(count: Int(zeros))) }
    }

    private static func padded(_ size: Int64) -> Int64 { (size + 511) / 512 * 512 }

    /// "<length> key=value\n" records for what ustar cannot hold.
    private static func paxRecords(name: String, size: Int64) -> String {
        var out = ""
        func record(_ key: String, _ value: String) {
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while "\(length)".utf8.count + body.utf8.count != length { length += 1 }
            out += "\(length)\(body)"
        }
        if name.utf8.count > 100 { record("path", name) }
        if size >= 0o77777777777 { record("size", "\(size)") }
        return out
    }

    /// A ustar header; a name over 100 bytes is cut (its pax record carries it whole).
    private static func header(name: String, size: Int64, type: Character) -> Data {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: some Sequence<UInt8>, at offset: Int, limit: Int) {
            for (i, b) in bytes.prefix(limit).enumerated() { h[offset + i] = b }
        }
        put(name.utf8, at: 0, limit: 100)
        put("0000644".utf8, at: 100, limit: 8)
        put("0000000".utf8, at: 108, limit: 8)
        put("0000000".utf8, at: 116, limit: 8)
        put(String(format: "%011llo", min(size, 0o77777777777)).utf8, at: 124, limit: 12)
        put("00000000000".utf8, at: 136, limit: 12)
        h[156] = type.asciiValue!
        put("ustar\u{0}00".utf8, at: 257, limit: 8)
        for i in 148..<156 { h[i] = 32 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put((String(format: "%06o", sum) + "\u{0} ").utf8, at: 148, limit: 8)
        return Data(h)
    }
}
