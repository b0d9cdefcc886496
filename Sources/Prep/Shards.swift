import Foundation
import Loader
import Support
import VideoIO

public struct ShardOptions: Sendable {
    /// A shard closes before the member that would take it past this size (a
    /// larger video gets a shard of its own).
    public var shardBytes: Int64 = 1 << 30
    public var jobs = 1
    public var quiet = false
    public init() {}
}

public struct ShardReport: Sendable {
    /// Shards written by this run, and shards kept from an earlier one.
    public var written: [String] = []
    public var kept: [String] = []
    public var videos = 0
    public var failures: [PrepError] = []
    public var manifestPath = ""
    public var seconds = 0.0
}

/// One video's place in the shards: its member names and what its JSON member holds.
struct ShardMember {
    var entry: ManifestEntry
    var key: String
    var videoName: String { key + "." + ext }
    var ext: String
    var json: Data
    var videoBytes: Int64
    var footprint: Int64 {
        TarWriter.footprint(name: videoName, size: videoBytes)
            + TarWriter.footprint(name: key + ".json", size: Int64(json.count))
    }
}

/// `prep shards`: the videos of a manifest (or of class folders) written into
/// WebDataset-layout tar shards, `DST/shard-000000.tar`, … (`<key>.<ext>`, the
/// video's bytes as they are, then `<key>.json`: label, class, source path,
/// frames, fps, size and keyframes), plus `DST/manifest.csv` naming each video
/// as `shard-NNNNNN.tar#<key>.<ext>`, `DST/shards.json` and `DST/classes.txt`.
/// Resumable: the plan depends only on the input and the shard size, each
/// shard appears whole (temp file, then rename), and a shard already there is
/// kept when it holds the members this run would write. Unreadable videos are
/// reported and left out; the others go on.
public func writeShards(source: String, destination: String, options: ShardOptions) throws -> ShardReport {
    let start = Date()
    var report = ShardReport()
    let input = try shardInput(source)
    let probed = try probeEntries(input.result, jobs: options.jobs, quiet: options.quiet)
    report.failures = probed.problems
    var members: [ShardMember] = []
    var keys = Set<String>()
    for e in probed.entries {
        do {
            members.append(try shardMember(e, root: input.root, classes: probed.classes, taken: &keys))
        } catch {
            report.failures.append(PrepError(path: e.path, reason: reason(of: error)))
        }
    }
    try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
    try removeLeftovers(in: destination)
    let shards = planShards(members, bytes: options.shardBytes)
    let progress = ProgressBar(total: shards.count, unit: "shards", quiet: options.quiet)
    var manifest: [ManifestEntry] = []
    var index: [[String: Any]] = []
    for (number, shard) in shards.enumerated() {
        let name = String(format: "shard-%06d.tar", number)
        let path = (destination as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: path) {
            try checkKeptShard(path, holds: shard)
            report.kept.append(name)
        } else {
            try writeShard(shard, to: path)
            report.written.append(name)
        }
        progress.advance()
        let listed = Dictionary(try TarArchive.members(of: path).map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        for m in shard {
            var e = m.entry
            e.path = name + "#" + m.videoName
            e.memberBytes = listed[m.videoName].map { ByteRange(offset: $0.offset, size: $0.size) }
            manifest.append(e)
        }
        index.append(["name": name, "videos": shard.count, "bytes": try fileSize(path)])
    }
    report.videos = manifest.count
    report.manifestPath = (destination as NSString).appendingPathComponent("manifest.csv")
    try Manifest(entries: manifest).writeCSV(to: report.manifestPath)
    let summary: [String: Any] = ["shard_bytes": options.shardBytes, "shards": index]
    try writeAtomically(
        try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted]),
        to: (destination as NSString).appendingPathComponent("shards.json"))
    if !probed.classes.isEmpty {
        try writeAtomically(
            Data((probed.classes.joined(separator: "\n") + "\n").utf8),
            to: (destination as NSString).appendingPathComponent("classes.txt"))
    }
    report.seconds = Date().timeIntervalSince(start)
    return report
}

/// The entries to shard (absolute paths) and the folder keys are made relative to.
private func shardInput(_ source: String) throws -> (result: IndexResult, root: String) {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
        throw PrepError(path: source, reason: "no such file or folder")
    }
    let root = URL(fileURLWithPath: isDirectory.boolValue ? source : (source as NSString).deletingLastPathComponent)
        .standardizedFileURL.path
    if isDirectory.boolValue { return (try indexDataset(source, layout: .folders, videos: nil), root) }
    let classFile = (root as NSString).appendingPathComponent("classes.txt")
    let classes =
        (try? String(contentsOfFile: classFile, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    let manifest = try Manifest.load(source, classes: classes.isEmpty ? nil : classes)
    return (IndexResult(entries: manifest.entries, classes: classes, problems: []), root)
}

/// A video's key: its path under `root` without the extension, dots in the
/// file name made underscores (WebDataset splits a member's name at its
/// first dot), made unique with a suffix.
private func shardMember(_ e: ManifestEntry, root: String, classes: [String], taken: inout Set<String>) throws
    -> ShardMember
{
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: e.path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw PrepError(path: e.path, reason: "a frame folder; only video files go into shards")
    }
    let path = URL(fileURLWithPath: e.path).standardizedFileURL.path
    let relative =
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : (path as NSString).lastPathComponent
    let ext = (relative as NSString).pathExtension.lowercased()
    let stem = (relative as NSString).deletingPathExtension
    let folder = (stem as NSString).deletingLastPathComponent
    let file = (stem as NSString).lastPathComponent.replacingOccurrences(of: ".", with: "_")
    var key = folder.isEmpty ? file : folder + "/" + file
    let base = key
    var n = 2
    while taken.contains(key) {
        key = "\(base)_\(n)"
        n += 1
    }
    taken.insert(key)
    var meta: [String: Any] = ["label": e.label, "source": relative]
    if e.label < classes.count { meta["class"] = classes[e.label] }
    if let v = e.frames { meta["frames"] = v }
    if let v = e.fps { meta["fps"] = v }
    if let v = e.width { meta["width"] = v }
    if let v = e.height { meta["height"] = v }
    if let v = e.keyframes { meta["keyframes"] = v }
    if let v = e.stream { meta["stream"] = v }
    // Each keyframe's byte offset in the member: an open with the probe's index (for MP4, the header alone).
    let decoder = try VideoDecoder(path: e.path, options: e.decoderOptions, index: e.storedIndex)
    meta["keyframe_offsets"] = decoder.keyframeOffsets.map { $0.map { NSNumber(value: $0) } ?? NSNull() }
    let json = try JSONSerialization.data(withJSONObject: meta, options: [.sortedKeys])
    return ShardMember(
        entry: e, key: key, ext: ext.isEmpty ? "mp4" : ext, json: json, videoBytes: try fileSize(e.path))
}

/// Consecutive runs of members, each at most `bytes` (but never empty).
func planShards(_ members: [ShardMember], bytes: Int64) -> [[ShardMember]] {
    var shards: [[ShardMember]] = []
    var current: [ShardMember] = []
    var size: Int64 = 1024  // the closing blocks
    for m in members {
        if !current.isEmpty && size + m.footprint > bytes {
            shards.append(current)
            (current, size) = ([], 1024)
        }
        current.append(m)
        size += m.footprint
    }
    if !current.isEmpty { shards.append(current) }
    return shards
}

private func writeShard(_ shard: [ShardMember], to path: String) throws {
    let partial = partialName(path)
    FileManager.default.createFile(atPath: partial, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: partial) else {
        throw PrepError(path: partial, reason: "cannot write")
    }
    do {
        var tar = TarWriter(handle)
        for m in shard {
            try tar.add(m.videoName, file: m.entry.path, size: m.videoBytes)
            try tar.add(m.key + ".json", data: m.json)
        }
        try tar.finish()
        try handle.synchronize()
        try handle.close()
        try FileManager.default.moveItem(atPath: partial, toPath: path)
    } catch {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: partial)
        throw error
    }
}

/// A shard from an earlier run must hold exactly the members this run plans for it.
private func checkKeptShard(_ path: String, holds shard: [ShardMember]) throws {
    let names = try TarArchive.members(of: path).map(\.name)
    let planned = shard.flatMap { [$0.videoName, $0.key + ".json"] }
    guard names == planned else {
        throw PrepError(
            path: path,
            reason: """
                holds other members than this run would write there (another source or --shard-size?); \
                remove it, or write to another folder
                """)
    }
}

private func fileSize(_ path: String) throws -> Int64 {
    guard let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber else {
        throw PrepError(path: path, reason: "cannot read its size")
    }
    return size.int64Value
}
