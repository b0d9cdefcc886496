import Foundation
import Loader
import Support
import TestSupport
import Testing
import VideoIO

@testable import Prep

/// The source and destination folders under `root`, and quick options at short side 32.
private func smallResize(_ root: URL) -> (src: String, dst: String, options: ResizeOptions) {
    var options = ResizeOptions()
    (options.shortSide, options.encode.preset, options.quiet) = (32, "ultrafast", true)
    return (root.appendingPathComponent("src").path, root.appendingPathComponent("dst").path, options)
}

/// A source tree of real fixtures in two class folders, plus a broken file.
func makeSourceTree() throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("resize-\(UUID().uuidString)")
    let src = root.appendingPathComponent("src")
    for (folder, files) in [
        ("jump", ["h264_bframes.mp4", "vfr.mp4", "rotate90.mp4"]), ("run", ["mpeg4.avi", "vp9.webm", "text.mp4"])
    ] {
        let dir = src.appendingPathComponent(folder)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in files {
            try FileManager.default.copyItem(atPath: fixture(f), toPath: dir.appendingPathComponent(f).path)
        }
    }
    return root
}

@Suite(.serialized) struct ResizeTests {
    @Test func outputsHaveTheShortSideEvenSizesAllFramesAndShortGOPs() throws {
        let root = try makeSourceTree()
        defer { try? FileManager.default.removeItem(at: root) }
        var options = ResizeOptions()
        (options.shortSide, options.encode.gop, options.encode.preset, options.jobs, options.quiet) = (
            256, 4, "ultrafast", 2, true
        )
        let dst = root.appendingPathComponent("dst").path
        let report = try resizeDataset(
            source: root.appendingPathComponent("src").path, destination: dst, options: options)
        #expect(report.converted.count == 5)
        #expect(
            report.failures.map { ($0.path as NSString).lastPathComponent } == ["text.mp4"],
            "the broken file is reported")
        #expect(report.failures.first?.reason.contains("text file") == true)
        let manifest = try Manifest.load(report.manifestPath, classes: try loadClassNames(dst + "/classes.txt"))
        #expect(manifest.count == 5)
        for entry in manifest.entries {
            let name = ((entry.path as NSString).lastPathComponent as NSString).deletingPathExtension
            let sourceFolder = entry.label == 0 ? "jump" : "run"
            let sourcePath = try findVideos(under: root.appendingPathComponent("src/\(sourceFolder)").path).videos
                .first { ($0 as NSString).deletingPathExtension == name }!
            let source = try VideoDecoder(path: root.appendingPathComponent("src/\(sourceFolder)/\(sourcePath)").path)
            let out = try VideoDecoder(path: entry.path)
            let m = out.metadata
            #expect(
                min(m.width, m.height) == 256 && m.width % 2 == 0 && m.height % 2 == 0,
                "\(name): \(m.width)×\(m.height)")
            #expect(m.frames == source.frameCount, "\(name): the source's frames")
            #expect(m.rotation == source.metadata.rotation, "\(name): rotation carried over")
            #expect(
                (m.width > m.height) == (source.metadata.width > source.metadata.height), "\(name): orientation kept")
            #expect(abs(m.duration - source.metadata.duration) < 0.1, "\(name): same timestamps")
            let keys = m.keyframes + [m.frames]
            #expect(
                keys.first == 0 && zip(keys.dropFirst(), keys).allSatisfy { $0 - $1 <= 4 },
                "\(name): keyframe gaps ≤ 4: \(m.keyframes)")
            #expect(
                entry.frames == m.frames && entry.keyframes == m.keyframes && entry.width == m.width
                    && entry.height == m.height,
                "\(name): the manifest describes the file")
        }
        // A variable-rate source keeps its frame times.
        let vfrIn = try VideoDecoder(path: fixture("vfr.mp4"))
        let vfrOut = try VideoDecoder(path: dst + "/jump/vfr.mp4")
        for i in [0, 5, 17, vfrIn.frameCount - 1] {
            let t = try vfrIn.frameIndex(playedAt: Double(i) / max(vfrIn.metadata.fps, 1))
            #expect(try vfrOut.frameIndex(playedAt: Double(i) / max(vfrIn.metadata.fps, 1)) == t)
        }
    }

    @Test func aRestartRemovesLeftoversKeepsFinishedOutputsAndDoesTheRest() throws {
        let root = try makeSourceTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let (src, dst, options) = smallResize(root)
        // What a killed run leaves: one finished output and one partial file.
        try FileManager.default.createDirectory(atPath: dst + "/jump", withIntermediateDirectories: true)
        _ = try transcodeVideo(
            input: src + "/jump/vfr.mp4", output: dst + "/jump/vfr.mp4", shortSide: 32, options: options.encode)
        try Foundation.Data(repeating: 7, count: 1000).write(
            to: URL(fileURLWithPath: dst + "/jump/.h264_bframes.mp4.part"))
        let finished =
            try FileManager.default.attributesOfItem(atPath: dst + "/jump/vfr.mp4")[.modificationDate] as! Date
        let report = try resizeDataset(source: src, destination: dst, options: options)
        #expect(report.skipped == ["jump/vfr.mp4"])
        #expect(report.converted.count == 4)
        #expect(
            try FileManager.default.attributesOfItem(atPath: dst + "/jump/vfr.mp4")[.modificationDate] as! Date
                == finished)
        let leftovers = FileManager.default.enumerator(atPath: dst)!.compactMap { $0 as? String }.filter {
            $0.hasSuffix(".part")
        }
        #expect(leftovers.isEmpty)
        #expect(try Manifest.load(report.manifestPath).count == 5, "the manifest lists kept and new outputs")
    }

    /// A second run on a destination another run is writing is refused at
    /// once (it would remove that run's unfinished outputs as leftovers);
    /// once the first has let go, the destination is free again.
    @Test func oneRunWritesADestinationAtATime() throws {
        let root = try makeSourceTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let (src, dst, options) = smallResize(root)
        try FileManager.default.createDirectory(atPath: dst + "/jump", withIntermediateDirectories: true)
        let unfinished = dst + "/jump/.vfr.mp4.part"
        try Foundation.Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: unfinished))
        do {  // the first run holds the destination to the end of this block
            let first = try FolderLock(dst, for: "`clipkit prep` run")
            defer { withExtendedLifetime(first) {} }
            do {
                _ = try resizeDataset(source: src, destination: dst, options: options)
                Issue.record("a second run wrote into a held destination")
            } catch {
                let holder = "process \(getpid()) on \(ProcessInfo.processInfo.hostName)"
                #expect("\(error)".contains("another `clipkit prep` run (\(holder)) is writing here"), "\(error)")
            }
            #expect(FileManager.default.fileExists(atPath: unfinished), "the first run's work is left alone")
        }
        #expect(try resizeDataset(source: src, destination: dst, options: options).converted.count == 5)
    }

    @Test func prepFramesWritesRawframesResumablyAndTheyOpenAsTheSourcesFrames() throws {
        let root = try makeSourceTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let src = root.appendingPathComponent("src").path
        let dst = root.appendingPathComponent("dst").path
        // What a killed run leaves: a partial folder.
        try FileManager.default.createDirectory(atPath: dst + "/jump/.vfr.part", withIntermediateDirectories: true)
        try Foundation.Data([0xff, 0xd8]).write(to: URL(fileURLWithPath: dst + "/jump/.vfr.part/img_00001.jpg"))
        // Native size: there a frame of JPEG is ~35 dB from its source and ~20 dB from the next frame.
        let report = try framesDataset(source: src, destination: dst, shortSide: nil, quality: 2, jobs: 2, quiet: true)
        #expect(report.converted.count == 5)
        #expect(
            report.failures.map { ($0.path as NSString).lastPathComponent } == ["text.mp4"],
            "the broken file is reported")
        #expect(!FileManager.default.fileExists(atPath: dst + "/jump/.vfr.part"))
        let manifest = try Manifest.load(report.manifestPath)
        let rawframes = try Manifest.load(dst + "/rawframes.txt")
        #expect(manifest.count == 5 && rawframes.entries.map(\.frames) == manifest.entries.map(\.frames))
        for entry in manifest.entries {
            let name = (entry.path as NSString).lastPathComponent
            let folder = entry.label == 0 ? "jump" : "run"
            let file = try findVideos(under: src + "/" + folder).videos.first {
                ($0 as NSString).deletingPathExtension == name
            }!
            let source = try VideoDecoder(path: src + "/" + folder + "/" + file)
            #expect(
                entry.template == rawframesTemplate && entry.startIndex == 1 && entry.frames == source.frameCount,
                "\(name)")
            let frames = try VideoDecoder(path: entry.path, options: entry.decoderOptions, index: entry.storedIndex)
            #expect(frames.frameCount == source.frameCount)
            #expect(
                frames.metadata.width == source.metadata.width && frames.metadata.height == source.metadata.height,
                "\(name)")
            #expect(frames.metadata.fps == source.metadata.fps, "\(name): the source's frame rate")
            // The same pictures, once JPEG-compressed.
            let picks = [0, source.frameCount / 2, source.frameCount - 1]
            for (a, b) in zip(try frames.frames(at: picks), try source.frames(at: picks)) {
                #expect(psnr(a.pixels, b.pixels) > 30, "\(name) frame \(a.index)")
            }
        }
        let again = try framesDataset(source: src, destination: dst, shortSide: nil, quality: 2, jobs: 2, quiet: true)
        #expect(again.skipped.count == 5 && again.converted.isEmpty)
        let kept = try Manifest.load(again.manifestPath)
        #expect(kept.entries.map(\.frames) == manifest.entries.map(\.frames))
        #expect(kept.entries.map(\.fps) == manifest.entries.map(\.fps), "kept folders keep their source's frame rate")
        // At a short side, the frames have it.
        let small = try extractFrames(
            input: fixture("rotate90.mp4"), folder: root.appendingPathComponent("small").path, shortSide: 64)
        #expect(
            min(small.width, small.height) == 64 && small.width == 64 && small.frames == 50,
            "rotation applied: \(small.width)x\(small.height)")
    }

    @Test func shortSideSizesMatchFFmpegsScaleMinusTwo() {
        #expect(shortSideSize(width: 1280, height: 720, shortSide: 256) == (456, 256))
        #expect(shortSideSize(width: 320, height: 240, shortSide: 256) == (342, 256))
        #expect(shortSideSize(width: 240, height: 320, shortSide: 256) == (256, 342))
        #expect(shortSideSize(width: 171, height: 129, shortSide: 256) == (340, 256))
    }
}
