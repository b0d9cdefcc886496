import Foundation
import Loader
import Support
import VideoIO

/// Dataset layouts `prep index` reads.
public enum DatasetLayout: String, CaseIterable, Sendable {
    /// DIR/<class>/<video> (Kinetics, UCF101, HMDB51, KTH as unpacked).
    case folders
    /// mmaction2 list: `path label` per line (paths relative to --videos).
    case list
    /// Kinetics annotations: `label,youtube_id,time_start,time_end,split`;
    /// videos named `<id>_<start:06d>_<end:06d>.<ext>`, flat or in class folders.
    case kineticsCSV = "kinetics-csv"
    /// UCF101 split file (trainlist0N.txt: `Class/v_x.avi 1`, testlist0N.txt:
    /// `Class/v_x.avi`), with classInd.txt (`1 ApplyEyeMakeup`) beside it.
    case ucf101
    /// Something-Something v1: `id;label` CSV, labels file (one name per
    /// line) beside it, one folder of JPEG frames per id under --videos.
    case ssv1
    /// WebDataset tar shards: `<key>.<video ext>` with `<key>.json` or `<key>.cls`.
    case webdataset
}

public struct IndexResult: Sendable {
    public var entries: [ManifestEntry]
    public var classes: [String]
    /// Listed videos that are missing or unreadable: path and reason.
    public var problems: [PrepError]
    /// Files of a `folders` layout that are not videos (absolute paths), passed over.
    public var notVideo: [String] = []
}

/// Reads an annotation source into manifest entries (absolute paths) and class names.
public func indexDataset(_ input: String, layout: DatasetLayout, videos: String?) throws -> IndexResult {
    switch layout {
    case .folders: return try indexFolders(input)
    case .list: return try indexList(input, root: videos ?? (input as NSString).deletingLastPathComponent)
    case .kineticsCSV: return try indexKinetics(input, root: videos ?? (input as NSString).deletingLastPathComponent)
    case .ucf101: return try indexUCF101(input, root: videos ?? (input as NSString).deletingLastPathComponent)
    case .ssv1: return try indexSSv1(input, root: videos ?? (input as NSString).deletingLastPathComponent)
    case .webdataset: return try indexWebDataset(shards: [input])
    }
}

/// Fills frames, fps, size and keyframes by opening every video (`jobs` at
/// once); unreadable videos move to `problems`. With a `journal`, what each
/// video gave is kept as it comes, and videos it already holds (unchanged
/// since) are not opened again.
public func probeEntries(_ result: IndexResult, jobs: Int, quiet: Bool = true, journal: String? = nil) throws
    -> IndexResult
{
    var out = result
    var probed = [ManifestEntry?](repeating: nil, count: result.entries.count)
    var problems: [PrepError] = []
    let journal = try journal.map(ProbeJournal.init(path:))
    let lock = NSLock()
    let progress = ProgressBar(total: result.entries.count, unit: "videos", quiet: quiet)
    forEachIndex(result.entries.count, jobs: jobs) { i in
        var e = result.entries[i]
        if let kept = journal?.known(e) {
            lock.withLock { probed[i] = kept }
            progress.advance()
            return
        }
        do {
            let m = try VideoDecoder(path: e.path, options: e.decoderOptions).metadata
            // A folder's keyframes are all its frames: not worth a column.
            (e.frames, e.fps, e.width, e.height, e.keyframes) = (
                m.frames, m.fps, m.width, m.height, m.index == .folder ? nil : m.keyframes
            )
            // The stored index is the default stream's: say which one where there is a choice.
            if m.index != .folder, e.stream == nil, ((try? listVideoStreams(e.path).count) ?? 1) > 1 {
                e.stream = m.stream
            }
            journal?.record(e)
            lock.lock()
            probed[i] = e
            lock.unlock()
            progress.advance()
        } catch {
            lock.lock()
            problems.append(PrepError(path: e.path, reason: reason(of: error)))
            lock.unlock()
            progress.advance(failed: true)
        }
    }
    out.entries = probed.compactMap { $0 }
    out.problems += problems.sorted { $0.path < $1.path }
    return out
}

/// The manifest with paths relative to its own folder where they lie under it.
public func writeIndex(_ result: IndexResult, manifest: String, classList: String) throws {
    let folder = URL(fileURLWithPath: manifest).deletingLastPathComponent().standardizedFileURL.path + "/"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let entries = result.entries.map { e -> ManifestEntry in
        var e = e
        if e.path.hasPrefix(folder) { e.path = String(e.path.dropFirst(folder.count)) }
        return e
    }
    try Manifest(entries: entries).writeCSV(to: manifest)
    try writeAtomically(Data((result.classes.joined(separator: "\n") + "\n").utf8), to: classList)
}

// MARK: Layouts

func readLines(_ path: String) throws -> [String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw PrepError(
            path: path, reason: unreadableReason(path))
    }
    guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
        throw PrepError(path: path, reason: "not text")
    }
    return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map {
        $0.trimmingCharacters(in: .whitespaces)
    }
}

func absolute(_ path: String, under root: String) -> String {
    URL(fileURLWithPath: path.hasPrefix("/") ? path : (root as NSString).appendingPathComponent(path))
        .standardizedFileURL.path
}

func indexFolders(_ root: String) throws -> IndexResult {
    let found = try findVideos(under: root)
    let videos = found.videos
    let classed = videos.filter { $0.contains("/") }
    guard !classed.isEmpty else {
        throw PrepError(path: root, reason: "no videos in class folders (expected DIR/<class>/<video>)")
    }
    let classOf = { (v: String) in String(v.split(separator: "/")[0]) }
    let classes = Array(Set(classed.map(classOf))).sorted()
    let entries = classed.map {
        ManifestEntry(path: absolute($0, under: root), label: classes.firstIndex(of: classOf($0))!)
    }
    let loose = videos.filter { !$0.contains("/") }.map {
        PrepError(path: absolute($0, under: root), reason: "not in a class folder; skipped")
    }
    return IndexResult(
        entries: entries, classes: classes, problems: loose,
        notVideo: found.notVideo.map { absolute($0, under: root) })
}

func indexList(_ list: String, root: String) throws -> IndexResult {
    var entries: [ManifestEntry] = []
    var problems: [PrepError] = []
    for (n, line) in try readLines(list).enumerated() where !line.isEmpty && !line.hasPrefix("#") {
        let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
        // `path label`, or rawframes' `path frames label`.
        guard fields.count >= 2, let label = Int(fields.last!), label >= 0 else {
            throw PrepError(path: "\(list):\(n + 1)", reason: "expected 'path label', found '\(line)'")
        }
        let path = absolute(fields[0], under: root)
        if FileManager.default.fileExists(atPath: path) {
            entries.append(ManifestEntry(path: path, label: label))
        } else {
            problems.append(PrepError(path: path, reason: "listed in \(list):\(n + 1) but missing"))
        }
    }
    let classes = (0...(entries.map(\.label).max() ?? 0)).map(String.init)
    return IndexResult(entries: entries, classes: classes, problems: problems)
}

/// Splits one CSV line (RFC 4180 quotes).
func csvFields(_ line: String, separator: Character = ",") -> [String] {
    var fields: [String] = []
    var current = ""
    var quoted = false
    var chars = Array(line)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" {
                    current.append("\"")
                    chars.removeFirst()
                } else {
                    quoted = false
                }
            } else {
                current.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == separator {
            fields.append(current)
            current = ""
        } else {
            current.append(c)
        }
    }
    fields.append(current)
    return fields
}

func indexKinetics(_ csv: String, root: String) throws -> IndexResult {
    let lines = try readLines(csv)
    guard let header = lines.first.map({ csvFields($0) }), let labelColumn = header.firstIndex(of: "label"),
        let idColumn = header.firstIndex(of: "youtube_id"), let startColumn = header.firstIndex(of: "time_start"),
        let endColumn = header.firstIndex(of: "time_end")
    else {
        throw PrepError(path: csv, reason: "expected a header with label,youtube_id,time_start,time_end[,split]")
    }
    // Files on disk by stem, wherever they are under root (flat or in class folders).
    var byStem: [String: String] = [:]
    for v in (try? findVideos(under: root))?.videos ?? [] {
        byStem[((v as NSString).lastPathComponent as NSString).deletingPathExtension] = v
    }
    var rows: [(label: String, stem: String, line: Int)] = []
    for (n, line) in lines.enumerated().dropFirst() where !line.isEmpty {
        let f = csvFields(line)
        guard f.count > max(labelColumn, idColumn, startColumn, endColumn), let start = Int(f[startColumn]),
            let end = Int(f[endColumn])
        else {
            throw PrepError(
                path: "\(csv):\(n + 1)", reason: "expected label,youtube_id,time_start,time_end, found '\(line)'")
        }
        rows.append((f[labelColumn], String(format: "%@_%06d_%06d", f[idColumn], start, end), n + 1))
    }
    let classes = Array(Set(rows.map(\.label))).sorted()
    var entries: [ManifestEntry] = []
    var problems: [PrepError] = []
    for r in rows {
        if let v = byStem[r.stem] {
            entries.append(ManifestEntry(path: absolute(v, under: root), label: classes.firstIndex(of: r.label)!))
        } else {
            problems.append(
                PrepError(
                    path: absolute(r.stem + ".mp4", under: root),
                    reason: "listed in \(csv):\(r.line) but no such video under \(root)"))
        }
    }
    return IndexResult(entries: entries, classes: classes, problems: problems)
}

func indexUCF101(_ split: String, root: String) throws -> IndexResult {
    let classFile = ((split as NSString).deletingLastPathComponent as NSString).appendingPathComponent("classInd.txt")
    var classes: [String] = []
    for (n, line) in try readLines(classFile).enumerated() where !line.isEmpty {
        let f = line.split(separator: " ")
        guard f.count == 2, let number = Int(f[0]), number == classes.count + 1 else {
            throw PrepError(
                path: "\(classFile):\(n + 1)", reason: "expected '\(classes.count + 1) ClassName', found '\(line)'")
        }
        classes.append(String(f[1]))
    }
    var entries: [ManifestEntry] = []
    var problems: [PrepError] = []
    for (n, line) in try readLines(split).enumerated() where !line.isEmpty {
        let f = line.split(separator: " ").map(String.init)
        let folder = String(f[0].split(separator: "/").first ?? "")
        // trainlist: 1-based label; testlist: the class is the folder.
        guard let label = f.count > 1 ? Int(f[1]).map({ $0 - 1 }) : classes.firstIndex(of: folder),
            classes.indices.contains(label)
        else {
            throw PrepError(path: "\(split):\(n + 1)", reason: "no class for '\(line)' in \(classFile)")
        }
        let path = absolute(f[0], under: root)
        if FileManager.default.fileExists(atPath: path) {
            entries.append(ManifestEntry(path: path, label: label))
        } else {
            problems.append(PrepError(path: path, reason: "listed in \(split):\(n + 1) but missing"))
        }
    }
    return IndexResult(entries: entries, classes: classes, problems: problems)
}

func indexSSv1(_ csv: String, root: String) throws -> IndexResult {
    let folder = (csv as NSString).deletingLastPathComponent
    let labelFile = (folder as NSString).appendingPathComponent("something-something-v1-labels.csv")
    let classes = try readLines(labelFile).filter { !$0.isEmpty }
    var entries: [ManifestEntry] = []
    var problems: [PrepError] = []
    for (n, line) in try readLines(csv).enumerated() where !line.isEmpty {
        let f = line.split(separator: ";", maxSplits: 1).map(String.init)
        guard f.count == 2, let label = classes.firstIndex(of: f[1]) else {
            throw PrepError(
                path: "\(csv):\(n + 1)", reason: "expected 'id;label' with a label from \(labelFile), found '\(line)'")
        }
        let path = absolute(f[0], under: root)
        let frames =
            (try? FileManager.default.contentsOfDirectory(atPath: path))?.filter { $0.lowercased().hasSuffix(".jpg") }
            .count ?? 0
        // SSv1 ships <id>/00001.jpg …: mmaction2's filename_tmpl '{:05}.jpg', start_index 1.
        if frames > 0 {
            entries.append(
                ManifestEntry(path: path, label: label, frames: frames, template: "{:05}.jpg", startIndex: 1))
        } else {
            problems.append(PrepError(path: path, reason: "listed in \(csv):\(n + 1) but has no JPEG frames"))
        }
    }
    return IndexResult(entries: entries, classes: classes, problems: problems)
}
