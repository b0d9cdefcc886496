import Foundation
import Support
import VideoIO

/// One video of a dataset. `frames` and `keyframes`, when stored (by
/// `prep index`), let the decoder skip its index scan.
public struct ManifestEntry: Sendable, Equatable {
    /// Absolute path (relative paths resolve against the manifest's folder).
    public var path: String
    public var label: Int
    public var frames: Int?
    public var fps: Double?
    public var width: Int?
    public var height: Int?
    public var keyframes: [Int]?
    /// Frame folders: file name template (`img_{:05}.jpg`) and the number of
    /// the first frame, as mmaction2's `filename_tmpl` and `start_index`.
    public var template: String?
    public var startIndex: Int?
    /// The container's index of the video stream to read (nil: the default one).
    public var stream: Int?
    /// A tar member's place in its archive (the `offset` and `size` columns):
    /// it then opens without the archive being listed.
    public var memberBytes: ByteRange?

    public init(
        path: String, label: Int, frames: Int? = nil, fps: Double? = nil, width: Int? = nil,
        height: Int? = nil, keyframes: [Int]? = nil, template: String? = nil, startIndex: Int? = nil,
        stream: Int? = nil, memberBytes: ByteRange? = nil
    ) {
        self.memberBytes = memberBytes
        self.path = path
        self.label = label
        self.frames = frames
        self.fps = fps
        self.width = width
        self.height = height
        self.keyframes = keyframes
        self.template = template
        self.startIndex = startIndex
        self.stream = stream
    }

    /// The stored index, when the manifest has one. A frame folder with a
    /// template needs only its frame count (every frame is a keyframe).
    public var storedIndex: FrameIndex? {
        guard let frames, frames > 0 else { return nil }
        if template != nil { return FrameIndex(frameCount: frames, keyframes: keyframes ?? []) }
        guard let keyframes, !keyframes.isEmpty else { return nil }
        return FrameIndex(frameCount: frames, keyframes: keyframes)
    }

    /// How to open this entry: frame folders take the template, start index
    /// and fps (30 when the manifest has none) from here.
    public var decoderOptions: DecoderOptions {
        DecoderOptions(
            folder: FrameFolderOptions(template: template, startIndex: startIndex ?? 1, fps: fps ?? 30),
            stream: stream, memberBytes: memberBytes)
    }
}

public struct ManifestError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var reason: String
    public var description: String { line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)" }

    public init(file: String, line: Int?, reason: String) {
        (self.file, self.line, self.reason) = (file, line, reason)
    }
}

/// A dataset's list of videos and labels: CSV with a header (`path,label`
/// required, or `shard,member,label` for tar members; `frames,fps,width,
/// height,keyframes,template,start_index,stream,offset,size` optional,
/// keyframes as space-separated indices, offset and size a tar member's
/// bytes in its archive), JSONL with the same keys,
/// or an mmaction2 list file (`path label` per line, or rawframes'
/// `folder total_frames label`). Labels may be class names when `classes` is given.
public struct Manifest: Sendable {
    public var entries: [ManifestEntry]
    public var source: String

    public init(entries: [ManifestEntry], source: String = "") {
        self.entries = entries
        self.source = source
    }

    public var count: Int { entries.count }

    public static func load(_ path: String, classes: [String]? = nil) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ManifestError(
                file: path, line: nil,
                reason: unreadableReason(path))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError(file: path, line: nil, reason: "not UTF-8 text")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        let entries: [ManifestEntry]
        if path.hasSuffix(".jsonl") {
            entries = try parseJSONL(lines, file: path, folder: folder, classes: classes)
        } else if path.hasSuffix(".csv") {
            entries = try parseCSV(lines, file: path, folder: folder, classes: classes)
        } else {
            entries = try parseList(lines, file: path, folder: folder, classes: classes)
        }
        guard !entries.isEmpty else { throw ManifestError(file: path, line: nil, reason: "no videos listed") }
        return Manifest(entries: entries, source: path)
    }

    /// Throws, naming the first, when a label is not one of `classes` classes.
    public func checkLabels(classes: Int) throws {
        if let bad = entries.first(where: { !(0..<classes).contains($0.label) }) {
            throw ManifestError(
                file: source, line: nil, reason: "label \(bad.label) of \(bad.path) is outside the \(classes) classes")
        }
    }

    /// Writes CSV (temp file, then rename).
    public func writeCSV(to path: String) throws {
        let folders = entries.contains { $0.template != nil || $0.startIndex != nil }
        let streams = entries.contains { $0.stream != nil }
        let members = entries.contains { $0.memberBytes != nil }
        var text =
            "path,label,frames,fps,width,height,keyframes" + (folders ? ",template,start_index" : "")
            + (streams ? ",stream" : "") + (members ? ",offset,size" : "") + "\n"
        for e in entries {
            var fields: [String] = [csvQuote(e.path), String(e.label)]
            fields.append(e.frames.map { String($0) } ?? "")
            fields.append(e.fps.map { String($0) } ?? "")
            fields.append(e.width.map { String($0) } ?? "")
            fields.append(e.height.map { String($0) } ?? "")
            let keys: [String] = (e.keyframes ?? []).map { String($0) }
            fields.append(keys.joined(separator: " "))
            if folders { fields += [e.template.map(csvQuote) ?? "", e.startIndex.map { String($0) } ?? ""] }
            if streams { fields.append(e.stream.map { String($0) } ?? "") }
            if members {
                fields += [e.memberBytes.map { String($0.offset) } ?? "", e.memberBytes.map { String($0.size) } ?? ""]
            }
            text += fields.joined(separator: ",") + "\n"
        }
        try writeAtomically(Data(text.utf8), to: path)
    }
}

/// Class names, one per line (line i is label i).
public func loadClassNames(_ path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw ManifestError(file: path, line: nil, reason: "cannot read the class list")
    }
    return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
        !$0.isEmpty
    }
}

private func resolve(_ path: String, _ folder: URL) -> String {
    path.hasPrefix("/") || isRemoteLocation(path) ? path : folder.appendingPathComponent(path).standardizedFileURL.path
}

private func label(_ text: String, classes: [String]?, file: String, line: Int) throws -> Int {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if let value = Int(trimmed), value >= 0 { return value }
    if let classes, let index = classes.firstIndex(of: trimmed) { return index }
    throw ManifestError(
        file: file, line: line,
        reason: classes == nil
            ? "label '\(trimmed)' is not a non-negative integer (give a class list to use names)"
            : "label '\(trimmed)' is neither an integer nor a known class")
}

private func parseList(_ lines: [String], file: String, folder: URL, classes: [String]?) throws -> [ManifestEntry] {
    var entries: [ManifestEntry] = []
    for (i, raw) in lines.enumerated() {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty || line.hasPrefix("#") { continue }
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2 else { throw ManifestError(file: file, line: i + 1, reason: "expected 'path label'") }
        // mmaction2 rawframes lists: `folder total_frames label`.
        if parts.count >= 3, let frames = Int(parts[parts.count - 2]), Int(parts.last!) != nil || classes != nil {
            let path = resolve(parts.dropLast(2).joined(separator: " "), folder)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                entries.append(
                    ManifestEntry(
                        path: path, label: try label(String(parts.last!), classes: classes, file: file, line: i + 1),
                        frames: frames))
                continue
            }
        }
        let path = parts.dropLast().joined(separator: " ")
        entries.append(
            ManifestEntry(
                path: resolve(path, folder),
                label: try label(String(parts.last!), classes: classes, file: file, line: i + 1)))
    }
    return entries
}

private func parseCSV(_ lines: [String], file: String, folder: URL, classes: [String]?) throws -> [ManifestEntry] {
    guard let headerLine = lines.first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else { return [] }
    let header = try csvFields(headerLine, file: file, line: 1).map {
        $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    if let twice = header.first(where: { name in !name.isEmpty && header.filter { $0 == name }.count > 1 }) {
        throw ManifestError(file: file, line: 1, reason: "the header has '\(twice)' twice")
    }
    func column(_ name: String) -> Int? { header.firstIndex(of: name) }
    let members = column("shard").flatMap { shard in column("member").map { (shard, $0) } }
    guard let labelColumn = column("label"), column("path") != nil || members != nil else {
        throw ManifestError(
            file: file, line: 1,
            reason:
                "the header needs 'path' (or 'shard' and 'member') and 'label' columns, got "
                + header.joined(separator: ",")
        )
    }
    var entries: [ManifestEntry] = []
    for (i, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        let fields = try csvFields(line, file: file, line: i + 1)
        guard fields.count == header.count else {
            throw ManifestError(
                file: file, line: i + 1, reason: "\(fields.count) fields, the header has \(header.count)")
        }
        func value(_ name: String) -> String? {
            column(name).map { fields[$0].trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        func int(_ name: String) throws -> Int? {
            guard let text = value(name) else { return nil }
            guard let v = Int(text) else {
                throw ManifestError(file: file, line: i + 1, reason: "\(name) '\(text)' is not an integer")
            }
            return v
        }
        let path =
            members.map { "\(fields[$0.0].trimmingCharacters(in: .whitespaces))#\(fields[$0.1])" }
            ?? fields[column("path")!]
        let keyframes = try value("keyframes").map { text -> [Int] in
            try text.split(separator: " ").map {
                guard let k = Int($0) else {
                    throw ManifestError(file: file, line: i + 1, reason: "keyframes must be space-separated integers")
                }
                return k
            }
        }
        entries.append(
            ManifestEntry(
                path: resolve(path, folder),
                label: try label(fields[labelColumn], classes: classes, file: file, line: i + 1),
                frames: try int("frames"), fps: value("fps").flatMap(Double.init),
                width: try int("width"), height: try int("height"), keyframes: keyframes,
                template: value("template"), startIndex: try int("start_index"),
                stream: try stream(int("stream"), file: file, line: i + 1),
                memberBytes: try memberBytes(int("offset"), int("size"), file: file, line: i + 1)))
    }
    return entries
}

/// A manifest's `offset` and `size`: both or neither.
private func memberBytes(_ offset: Int?, _ size: Int?, file: String, line: Int) throws -> ByteRange? {
    switch (offset, size) {
    case (nil, nil): return nil
    case (let offset?, let size?) where offset >= 512 && size >= 0:
        return ByteRange(offset: Int64(offset), size: Int64(size))
    default:
        throw ManifestError(
            file: file, line: line,
            reason: "offset and size go together: where a tar member's data starts (≥ 512) and its bytes")
    }
}

private func parseJSONL(_ lines: [String], file: String, folder: URL, classes: [String]?) throws -> [ManifestEntry] {
    var entries: [ManifestEntry] = []
    for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw ManifestError(file: file, line: i + 1, reason: "not a JSON object")
        }
        let member = (object["shard"] as? String).flatMap { s in (object["member"] as? String).map { "\(s)#\($0)" } }
        guard let path = member ?? object["path"] as? String else {
            throw ManifestError(file: file, line: i + 1, reason: "missing 'path' (or 'shard' and 'member')")
        }
        let labelValue: Int
        if let n = object["label"] as? Int {
            labelValue = n
        } else if let s = object["label"] as? String {
            labelValue = try label(s, classes: classes, file: file, line: i + 1)
        } else {
            throw ManifestError(file: file, line: i + 1, reason: "missing 'label'")
        }
        entries.append(
            ManifestEntry(
                path: resolve(path, folder), label: labelValue, frames: object["frames"] as? Int,
                fps: (object["fps"] as? NSNumber)?.doubleValue, width: object["width"] as? Int,
                height: object["height"] as? Int, keyframes: object["keyframes"] as? [Int],
                template: object["template"] as? String, startIndex: object["start_index"] as? Int,
                stream: try stream(object["stream"].map { $0 as? Int ?? -1 }, file: file, line: i + 1),
                memberBytes: try memberBytes(
                    object["offset"] as? Int, object["size"] as? Int, file: file, line: i + 1)))
    }
    return entries
}

/// A manifest's `stream` value: a container stream index, 0 or more.
private func stream(_ value: Int?, file: String, line: Int) throws -> Int? {
    if let value, value < 0 {
        throw ManifestError(file: file, line: line, reason: "stream must be a stream index (an integer ≥ 0)")
    }
    return value
}

/// Splits one CSV line (RFC 4180 quotes; no newlines inside fields).
private func csvFields(_ line: String, file: String, line number: Int) throws -> [String] {
    var fields: [String] = []
    var current = ""
    var quoted = false
    var chars = Array(line.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))).makeIterator()
    while let c = chars.next() {
        if quoted {
            if c == "\"" {
                if let next = chars.next() {
                    if next == "\"" {
                        current.append("\"")
                    } else {
                        quoted = false
                        if next == "," {
                            fields.append(current)
                            current = ""
                        } else {
                            current.append(next)
                        }
                    }
                } else {
                    quoted = false
                }
            } else {
                current.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            fields.append(current)
            current = ""
        } else {
            current.append(c)
        }
    }
    if quoted { throw ManifestError(file: file, line: number, reason: "unterminated quote") }
    fields.append(current)
    return fields
}

private func csvQuote(_ s: String) -> String {
    s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}
