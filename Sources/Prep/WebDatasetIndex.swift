import Foundation
import Loader
import VideoIO

/// `prep index --layout webdataset`: the samples of WebDataset shards (tar
/// files whose members `<key>.<ext>` group into samples by key, the name up
/// to the first dot of its last component), as written by `prep shards`,
/// WebDataset's ShardWriter or video2dataset. A sample's video is its member
/// with a video extension; its label is `label` (a number) or `class` (a
/// name) in `<key>.json`, or the number in `<key>.cls`; ClipKit's JSON also
/// gives frames, fps, size and keyframes. Paths are `shard.tar#<member>`.
public func indexWebDataset(shards: [String]) throws -> IndexResult {
    var entries: [(entry: ManifestEntry, className: String?)] = []
    var problems: [PrepError] = []
    for shard in shards {
        let path = URL(fileURLWithPath: shard).standardizedFileURL.path
        let members = try TarArchive.members(of: path)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PrepError(path: path, reason: "cannot read")
        }
        defer { try? handle.close() }
        func text(_ m: TarMember) throws -> Data {
            guard m.size < 1 << 24 else { throw PrepError(path: "\(path)#\(m.name)", reason: "too large for a label") }
            try handle.seek(toOffset: UInt64(m.offset))
            return handle.readData(ofLength: Int(m.size))
        }
        var order: [String] = []
        var samples: [String: [String: TarMember]] = [:]
        for m in members {
            let (key, ext) = sampleKey(m.name)
            if samples[key] == nil { order.append(key) }
            samples[key, default: [:]][ext] = m
        }
        for key in order {
            let sample = samples[key]!
            guard let video = sample.first(where: { videoExtensions.contains($0.key.lowercased()) })?.value else {
                continue  // a sample without a video (images, captions alone)
            }
            let where_ = "\(path)#\(video.name)"
            do {
                var e = ManifestEntry(
                    path: where_, label: -1, memberBytes: ByteRange(offset: video.offset, size: video.size))
                var className: String?
                if let json = sample["json"] {
                    guard let meta = try JSONSerialization.jsonObject(with: try text(json)) as? [String: Any] else {
                        throw PrepError(path: "\(path)#\(json.name)", reason: "not a JSON object")
                    }
                    e.label = (meta["label"] as? Int) ?? -1
                    className = meta["class"] as? String
                    (e.frames, e.fps, e.width, e.height) = (
                        meta["frames"] as? Int, meta["fps"] as? Double, meta["width"] as? Int, meta["height"] as? Int
                    )
                    (e.keyframes, e.stream) = (meta["keyframes"] as? [Int], meta["stream"] as? Int)
                }
                if e.label < 0, let cls = sample["cls"] {
                    e.label =
                        Int(
                            String(decoding: try text(cls), as: UTF8.self).trimmingCharacters(
                                in: .whitespacesAndNewlines)) ?? -1
                }
                guard e.label >= 0 || className != nil else {
                    throw PrepError(
                        path: where_, reason: "no label: no 'label' or 'class' in \(key).json, no \(key).cls")
                }
                entries.append((e, className))
            } catch {
                problems.append(PrepError(path: where_, reason: reason(of: error)))
            }
        }
    }
    return try labelled(entries, problems: problems)
}

/// WebDataset's split of a member name: the key up to the first dot of the
/// last path component, and the extension after it.
func sampleKey(_ name: String) -> (key: String, ext: String) {
    let slash = name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex
    guard let dot = name[slash...].firstIndex(of: ".") else { return (name, "") }
    return (String(name[..<dot]), String(name[name.index(after: dot)...]))
}

/// Class names from the samples: by label where both are given, else sorted
/// names numbered in order; numeric labels alone get their numbers as names.
private func labelled(_ samples: [(entry: ManifestEntry, className: String?)], problems: [PrepError]) throws
    -> IndexResult
{
    var problems = problems
    var names: [Int: String] = [:]
    for s in samples where s.entry.label >= 0 {
        guard let name = s.className else { continue }
        if let known = names[s.entry.label], known != name {
            throw PrepError(
                path: s.entry.path, reason: "label \(s.entry.label) is '\(known)' elsewhere, '\(name)' here")
        }
        names[s.entry.label] = name
    }
    let unnumbered = Set(samples.filter { $0.entry.label < 0 }.compactMap(\.className)).subtracting(names.values)
    var next = (names.keys.max() ?? (samples.map(\.entry.label).max() ?? -1)) + 1
    for name in unnumbered.sorted() {
        names[next] = name
        next += 1
    }
    let count = max(next, (samples.map(\.entry.label).max() ?? -1) + 1)
    let classes = (0..<count).map { names[$0] ?? String($0) }
    var entries: [ManifestEntry] = []
    for s in samples {
        var e = s.entry
        if e.label < 0, let name = s.className, let label = classes.firstIndex(of: name) { e.label = label }
        if e.label < 0 {
            problems.append(PrepError(path: e.path, reason: "no label"))
            continue
        }
        entries.append(e)
    }
    return IndexResult(entries: entries, classes: classes, problems: problems)
}
