import Foundation
import Loader
import TestSupport
import Testing
import VideoIO

@testable import Prep

/// A temporary folder with `files` (relative paths) copied from a real fixture video.
func videoTree(_ files: [String]) throws -> String {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("index-\(UUID().uuidString)").path
    for f in files {
        let path = (root as NSString).appendingPathComponent(f)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("vp9.webm"), toPath: path)
    }
    return root
}

@Suite struct ImporterTests {
    @Test func classFolders() throws {
        let root = try videoTree(["walk/1.mp4", "box/2.avi", "box/3.mkv", "loose.mp4"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try indexDataset(root, layout: .folders, videos: nil)
        #expect(r.classes == ["box", "walk"])
        #expect(r.entries.map { ($0.path as NSString).lastPathComponent } == ["2.avi", "3.mkv", "1.mp4"])
        #expect(r.entries.map(\.label) == [0, 0, 1])
        #expect(r.problems.map(\.reason) == ["not in a class folder; skipped"])
    }

    @Test func kineticsCSVWithQuotedLabelsAndAMissingVideo() throws {
        let root = try videoTree([
            "abseiling/0wR5jVB-WPk_000417_000427.mp4", "3caPS4FHFF8_000036_000046.mkv",
            "--07WQ2iBlw_000001_000011.mp4", "zumba/NyGXAX8hHjY_000052_000062.mp4"
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try indexDataset(fixture("annotations/kinetics_val.csv"), layout: .kineticsCSV, videos: root)
        #expect(r.classes == ["abseiling", "playing guitar, acoustic", "zumba"])
        #expect(r.entries.map(\.label) == [0, 0, 1, 2])
        #expect(r.problems.count == 1 && r.problems[0].path.hasSuffix("missing_vid_000010_000020.mp4"))
    }

    @Test func ucf101SplitFiles() throws {
        let root = try videoTree([
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", "ApplyLipstick/v_ApplyLipstick_g08_c02.avi",
            "Archery/v_Archery_g08_c03.avi", "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
            "Archery/v_Archery_g01_c01.avi"
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let train = try indexDataset(fixture("annotations/ucf101/trainlist01.txt"), layout: .ucf101, videos: root)
        #expect(train.classes == ["ApplyEyeMakeup", "ApplyLipstick", "Archery"])
        #expect(train.entries.map(\.label) == [0, 1, 2] && train.problems.isEmpty)
        let test = try indexDataset(fixture("annotations/ucf101/testlist01.txt"), layout: .ucf101, videos: root)
        #expect(test.entries.map(\.label) == [0, 2], "test lists carry no label: the folder is the class")
    }

    @Test func somethingSomethingV1FrameFolders() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ssv1-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (id, n) in [("100218", 3), ("48032", 2)] {
            try FileManager.default.createDirectory(atPath: root + "/\(id)", withIntermediateDirectories: true)
            for i in 1...n {
                FileManager.default.createFile(
                    atPath: root + String(format: "/%@/%05d.jpg", id, i), contents: Data([0xff, 0xd8]))
            }
        }
        let r = try indexDataset(
            fixture("annotations/ssv1/something-something-v1-train.csv"), layout: .ssv1, videos: root)
        #expect(r.classes.count == 3)
        #expect(r.entries.map(\.label) == [1, 0] && r.entries.map(\.frames) == [3, 2])
        #expect(r.problems.count == 1 && r.problems[0].path.hasSuffix("/1000"))
    }

    @Test func somethingSomethingV1ManifestOpensItsFolders() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ssv1-real-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for id in ["100218", "48032"] {
            _ = try extractFrames(
                input: fixture("h264_bframes.mp4"), folder: root + "/" + id, shortSide: 64, template: "{:05}.jpg")
        }
        let r = try indexDataset(
            fixture("annotations/ssv1/something-something-v1-train.csv"), layout: .ssv1, videos: root)
        let manifest = root + "/train.csv"
        try writeIndex(try probeEntries(r, jobs: 2), manifest: manifest, classList: root + "/classes.txt")
        let loaded = try Manifest.load(manifest)
        #expect(loaded.entries.count == 2)
        for e in loaded.entries {
            #expect(e.template == "{:05}.jpg" && e.startIndex == 1 && e.frames == 50 && e.width == 85 && e.height == 64)
            let decoder = try VideoDecoder(path: e.path, options: e.decoderOptions, index: e.storedIndex)
            let reference = try ffmpegFrameAdler32(e.path + "/%05d.jpg")
            #expect(
                try decoder.frames(at: [49, 0, 20]).map { frameAdler32($0.pixels) } == [
                    reference[49], reference[0], reference[20]
                ])
        }
    }

    @Test func mmactionListAndProbeAndWrite() throws {
        let root = try videoTree(["jump/a.mp4", "run/b.mp4"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        var r = try indexDataset(fixture("annotations/mmaction_list.txt"), layout: .list, videos: root)
        #expect(r.entries.map(\.label) == [0, 1] && r.problems.count == 1, "run/c.mp4 is missing")
        r = try probeEntries(r, jobs: 2)
        #expect(r.entries.allSatisfy { $0.frames != nil && $0.keyframes?.first == 0 && $0.width != nil })
        let manifest = root + "/train.csv"
        try writeIndex(r, manifest: manifest, classList: root + "/classes.txt")
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        #expect(text.contains("\njump/a.mp4,0,"), "paths relative to the manifest")
        let loaded = try Manifest.load(manifest)
        #expect(loaded.entries.map(\.frames) == r.entries.map(\.frames))
    }

    /// An interrupted probe resumes from its journal: an unchanged video's
    /// record is taken as it is (not opened again: the doctored frame count
    /// shows), a video whose file changed is probed again.
    @Test func probingResumesFromItsJournal() throws {
        let root = try videoTree(["jump/a.mp4", "run/b.mp4"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try indexDataset(root, layout: .folders, videos: nil)
        let journal = root + "/probe.jsonl"
        let first = try probeEntries(r, jobs: 2, journal: journal)
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && first.entries.allSatisfy { $0.frames == 40 })
        let doctored = lines.map {
            $0.contains("a.mp4") ? $0.replacingOccurrences(of: "\"frames\":40", with: "\"frames\":999") : String($0)
        }
        try (doctored.joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: root + "/run/b.mp4")
        try FileManager.default.copyItem(atPath: fixture("vfr.mp4"), toPath: root + "/run/b.mp4")
        let second = try probeEntries(r, jobs: 2, journal: journal)
        let frames = Dictionary(
            uniqueKeysWithValues: second.entries.map { (($0.path as NSString).lastPathComponent, $0.frames) })
        #expect(frames["a.mp4"] == 999, "kept from the journal")
        #expect(frames["b.mp4"] == (try VideoDecoder(path: fixture("vfr.mp4")).frameCount), "probed again")
    }

    @Test func malformedLinesNameFileAndLine() throws {
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).txt").path
        try "a.mp4 zero\n".write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(throws: PrepError(path: bad + ":1", reason: "expected 'path label', found 'a.mp4 zero'")) {
            try indexDataset(bad, layout: .list, videos: "/tmp")
        }
    }
}
