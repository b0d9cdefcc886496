import Distributed
import Foundation
import Loader
import Support
import VideoIO

public struct PrepError: Error, CustomStringConvertible, Equatable, Codable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

public struct ResizeOptions: Sendable {
    public var shortSide = 256
    public var encode = EncodeOptions()
    public var jobs = 1
    public var quiet = false
    public init() {}
}

public struct ResizeReport: Sendable {
    public var converted: [String] = []
    /// Outputs already present from an earlier run.
    public var skipped: [String] = []
    public var failures: [PrepError] = []
    /// Files under the source that are not videos (still images, text, …), relative to it.
    public var notVideo: [String] = []
    /// Videos beside the class folders rather than in one, relative to the
    /// source: converted, but left out of the manifest (they have no class).
    public var outsideClasses: [String] = []
    /// The manifest written ("" when no video was converted).
    public var manifestPath = ""
    public var seconds = 0.0
}

/// The temporary name an output is written under before it is renamed into place.
func partialName(_ output: String) -> String {
    let url = URL(fileURLWithPath: output)
    return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".part").path
}

/// `prep resize`: every video under `source` re-encoded into `destination`
/// (tree kept, `<stem>.mp4`) at `shortSide`, keyframes at least every `gop`
/// frames. See `convertDataset` for resuming, failures and the manifest.
public func resizeDataset(source: String, destination: String, options: ResizeOptions, world: Communicator = .single)
    throws -> ResizeReport
{
    try convertDataset(
        source: source, destination: destination, jobs: options.jobs, quiet: options.quiet, world: world,
        output: { ((($0 as NSString).deletingPathExtension) as NSString).appendingPathExtension("mp4")! },
        convert: { input, partial in
            try transcodeVideo(input: input, output: partial, shortSide: options.shortSide, options: options.encode)
        },
        describe: { _, output in EncodedVideo(try VideoDecoder(path: output).metadata) })
}

/// The file name template `prep frames` writes (mmaction2's rawframes).
public let rawframesTemplate = "img_{:05}.jpg"

/// `prep frames`: every video under `source` as a folder of JPEG frames in
/// `destination` (tree kept, `<stem>/img_00001.jpg` …, mmaction2's
/// rawframes), scaled to `shortSide` (nil keeps the size). The manifest lists
/// the folders with their frame count, the source's fps, the template and start index 1.
public func framesDataset(
    source: String, destination: String, shortSide: Int?, quality: Int,
    jobs: Int, quiet: Bool, world: Communicator = .single
) throws -> ResizeReport {
    let folder = FrameFolderOptions(template: rawframesTemplate, startIndex: 1)
    return try convertDataset(
        source: source, destination: destination, jobs: jobs, quiet: quiet, world: world, template: rawframesTemplate,
        output: { ($0 as NSString).deletingPathExtension },
        convert: { input, partial in
            try extractFrames(
                input: input, folder: partial, shortSide: shortSide, quality: quality,
                template: rawframesTemplate)
        },
        describe: { input, output in
            // A folder has no timing: its frame rate is the source's.
            var kept = EncodedVideo(try VideoDecoder(path: output, options: DecoderOptions(folder: folder)).metadata)
            kept.fps = try VideoDecoder(path: input).metadata.fps
            return kept
        })
}

/// Every video under `source` converted into one output under `destination`
/// (tree kept, named by `output`). Outputs already there are kept
/// (resumable, described by `describe(input, output)`); each new one is written under a
/// hidden temp name and renamed when complete, and temp files left by a
/// killed run are removed first. A failing video is reported and the rest go
/// on. Writes `manifest.csv` (frames, fps, size, keyframes; `template` and
/// start index 1 for frame folders, plus mmaction2's `rawframes.txt`) and,
/// when the videos sit in class folders, `classes.txt`, into `destination`.
/// With a distributed `world`, rank r converts videos r, r + size, …; the
/// outcomes are gathered and rank 0 alone writes the lists; every rank
/// returns the whole report.
func convertDataset(
    source: String, destination: String, jobs: Int, quiet: Bool, world: Communicator = .single, template: String? = nil,
    output outputName: (String) -> String,
    convert: @escaping @Sendable (String, String) throws -> EncodedVideo,
    describe: @escaping @Sendable (String, String) throws -> EncodedVideo
) throws -> ResizeReport {
    let started = Date()
    let found = try videosToConvert(source: source, destination: destination)
    let videos = found.videos
    let held = try holdDestination(destination, world: world)
    defer { withExtendedLifetime(held) {} }

    var report = ResizeReport()
    report.notVideo = found.notVideo
    let outputs = outputNames(videos, outputName, collisions: &report.failures)

    let mine = Array(stride(from: world.rank, to: videos.count, by: world.size))
    let progress = ProgressBar(
        total: mine.count, unit: world.isDistributed ? "videos (rank 0's share)" : "videos",
        quiet: quiet || world.rank != 0)
    var results = [EncodedVideo?](repeating: nil, count: videos.count)
    // This rank's conversions (name collisions, the same on every rank, are in report.failures).
    var failures: [PrepError] = []
    var converted: [String] = []
    var skipped: [String] = []
    let lock = NSLock()
    forEachIndex(mine.count, jobs: jobs) { k in
        let i = mine[k]
        guard !outputs[i].isEmpty else {
            progress.advance(failed: true)
            return
        }
        let input = (source as NSString).appendingPathComponent(videos[i])
        let output = (destination as NSString).appendingPathComponent(outputs[i])
        do {
            let (result, fresh) = try convertOne(input: input, output: output, convert: convert, describe: describe)
            lock.lock()
            results[i] = result
            if fresh { converted.append(videos[i]) } else { skipped.append(videos[i]) }
            lock.unlock()
            progress.advance()
        } catch {
            lock.lock()
            failures.append(PrepError(path: input, reason: reason(of: error)))
            lock.unlock()
            progress.advance(failed: true)
        }
    }

    if world.isDistributed {
        (results, failures, converted, skipped) = try gatherOutcomes(
            world, results: results, failures: failures,
            converted: converted, skipped: skipped)
    }

    let (entries, classes, outsideClasses) = manifestEntries(
        results, videos: videos, outputs: outputs, template: template)
    report.outsideClasses = outsideClasses
    report.manifestPath = entries.isEmpty ? "" : (destination as NSString).appendingPathComponent("manifest.csv")
    report.converted = converted.sorted()
    report.skipped = skipped.sorted()
    report.failures = (report.failures + failures).sorted { $0.path < $1.path }
    guard world.rank == 0 else {
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
    try writeLists(entries, classes: classes, template: template, manifest: report.manifestPath, in: destination)
    report.seconds = Date().timeIntervalSince(started)
    return report
}

/// Each source's output name; a source whose name another source already
/// has (the same stem in one folder) gets "" and a failure in `collisions`.
private func outputNames(
    _ videos: [String], _ outputName: (String) -> String, collisions: inout [PrepError]
) -> [String] {
    var outputs: [String] = []
    var claimed: [String: String] = [:]
    for video in videos {
        let output = outputName(video)
        if let first = claimed[output] {
            collisions.append(
                PrepError(
                    path: video, reason: "its output \(output) is also the output of \(first); rename one of them"))
            outputs.append("")
        } else {
            claimed[output] = video
            outputs.append(output)
        }
    }
    return outputs
}

/// The manifest's entries of the converted videos, the classes, and the
/// videos left out. The classes are the first folders of the sources, when
/// any source sits in one (torchvision's `DatasetFolder`): a video beside
/// them has no class and is left out. With no folders, every video has
/// label 0 and there are no classes. Sources, not outputs, give the
/// classes, so a failed video changes no other video's label.
private func manifestEntries(
    _ results: [EncodedVideo?], videos: [String], outputs: [String], template: String?
) -> (entries: [ManifestEntry], classes: [String], outsideClasses: [String]) {
    let folders = videos.map { $0.split(separator: "/").count > 1 ? String($0.split(separator: "/")[0]) : "" }
    let classes = Array(Set(folders.filter { !$0.isEmpty })).sorted()
    var entries: [ManifestEntry] = []
    var outside: [String] = []
    for (i, result) in results.enumerated() {
        guard let r = result else { continue }
        let label = classes.isEmpty ? 0 : classes.firstIndex(of: folders[i])
        guard let label else {
            outside.append(videos[i])
            continue
        }
        entries.append(
            ManifestEntry(
                path: outputs[i], label: label, frames: r.frames, fps: r.fps,
                width: r.width, height: r.height, keyframes: template == nil ? r.keyframes : nil,
                template: template, startIndex: template == nil ? nil : 1))
    }
    return (entries, classes, outside)
}

/// `folder`'s path relative to `parent` when it lies inside it; throws when they are the same folder.
private func folder(_ folder: String, inside parent: String) throws -> String? {
    func resolved(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
    let (inner, outer) = (resolved(folder), resolved(parent))
    if inner == outer { throw PrepError(path: folder, reason: "is the source folder; give another output folder") }
    return inner.hasPrefix(outer + "/") ? String(inner.dropFirst(outer.count + 1)) : nil
}

/// The manifest, mmaction2's rawframes list (frame folders) and the class list.
private func writeLists(
    _ entries: [ManifestEntry], classes: [String], template: String?, manifest: String, in destination: String
) throws {
    if !entries.isEmpty { try Manifest(entries: entries).writeCSV(to: manifest) }
    if template != nil && !entries.isEmpty {
        // The same list as mmaction2's rawframes annotation: `frame_dir total_frames label`.
        let lines = entries.map { "\($0.path) \($0.frames ?? 0) \($0.label)\n" }.joined()
        try writeAtomically(Data(lines.utf8), to: (destination as NSString).appendingPathComponent("rawframes.txt"))
    }
    if !classes.isEmpty {
        try writeAtomically(
            Data((classes.joined(separator: "\n") + "\n").utf8),
            to: (destination as NSString).appendingPathComponent("classes.txt"))
    }
}

/// The videos under `source`, none of them inside `destination` (an earlier
/// run's outputs are never read back); throws when there are none.
private func videosToConvert(source: String, destination: String) throws -> FoundVideos {
    var found = try findVideos(under: source)
    if let inside = try folder(destination, inside: source) {
        found.videos.removeAll { $0.hasPrefix(inside + "/") }
        found.notVideo.removeAll { $0.hasPrefix(inside + "/") }
    }
    guard !found.videos.isEmpty else {
        throw PrepError(path: source, reason: "no video files found (\(found.notVideo.count) files that are not video)")
    }
    return found
}

/// Rank 0 makes `destination`, holds it for the job (one run writes there at
/// a time) and removes a killed run's leftovers, before any rank writes.
private func holdDestination(_ destination: String, world: Communicator) throws -> FolderLock? {
    var held: FolderLock? = nil
    if world.rank == 0 {
        try makeFolder(destination)
        held = try FolderLock(destination, for: "`clipkit prep` run")
        try removeLeftovers(in: destination)
    }
    try world.barrier()
    return held
}

/// Every rank's conversions, merged (the same on every rank).
private func gatherOutcomes(
    _ world: Communicator, results: [EncodedVideo?], failures: [PrepError], converted: [String],
    skipped: [String]
) throws -> ([EncodedVideo?], [PrepError], [String], [String]) {
    struct Part: Codable {
        var results: [Int: EncodedVideo]
        var failures: [PrepError]
        var converted: [String]
        var skipped: [String]
    }
    var own = [Int: EncodedVideo]()
    for (i, r) in results.enumerated() { if let r { own[i] = r } }
    let mine = Part(results: own, failures: failures, converted: converted, skipped: skipped)
    var merged = results
    var all = Part(results: [:], failures: [], converted: [], skipped: [])
    for bytes in try world.allgather([UInt8](try JSONEncoder().encode(mine))) {
        let part = try JSONDecoder().decode(Part.self, from: Data(bytes))
        for (i, r) in part.results { merged[i] = r }
        all.failures += part.failures
        all.converted += part.converted
        all.skipped += part.skipped
    }
    return (merged, all.failures, all.converted, all.skipped)
}

/// Converts one video unless its output exists; returns its description and
/// whether it was converted now.
func convertOne(
    input: String, output: String, convert: (String, String) throws -> EncodedVideo,
    describe: (String, String) throws -> EncodedVideo
) throws -> (EncodedVideo, Bool) {
    if FileManager.default.fileExists(atPath: output) {
        // Finished in an earlier run (outputs appear only by rename): describe it.
        return (try describe(input, output), false)
    }
    try FileManager.default.createDirectory(
        atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let partial = partialName(output)
    do {
        let result = try convert(input, partial)
        guard rename(partial, output) == 0 else {
            let why = String(cString: strerror(errno))
            throw PrepError(
                path: output,
                reason: "cannot rename the finished output into place (\(why); is another run writing here?)")
        }
        return (result, true)
    } catch {
        try? FileManager.default.removeItem(atPath: partial)
        throw error
    }
}

/// Removes hidden `.name.part` files and folders a killed run left behind.
func removeLeftovers(in root: String) throws {
    guard let walker = FileManager.default.enumerator(atPath: root) else { return }
    var leftovers: [String] = []
    while let relative = walker.nextObject() as? String {
        let name = (relative as NSString).lastPathComponent
        if name.hasPrefix("."), name.hasSuffix(".part") {
            leftovers.append(relative)
            walker.skipDescendants()
        }
    }
    for relative in leftovers {
        try FileManager.default.removeItem(atPath: (root as NSString).appendingPathComponent(relative))
    }
}

/// The reason part of an error, without the path (the caller prints the path).
func reason(of error: Error) -> String {
    if let e = error as? VideoError { return e.reason }
    if let e = error as? PrepError { return e.reason }
    return "\(error)"
}
