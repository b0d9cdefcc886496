import Foundation
import Loader
import Support
import TestSupport
import Testing
import VideoIO

@testable import Prep

/// `prep shards`: WebDataset-layout tar shards that GNU tar reads back byte
/// for byte, whose members decode to the sources' frames, written resumably.
@Suite struct ShardTests {
    /// Class folders a/ and b/ with three videos (one name with a dot, one with
    /// a path over 100 bytes) and one text file posing as a video.
    private func source(_ root: String) throws -> [String: String] {
        let long = String(repeating: "a-long-folder-name/", count: 6) + "deep.mp4"
        let files = [
            "a/one.mp4": fixture("vfr.mp4"), "a/two.v1.ts": fixture("corpus/h264.ts"),
            "b/three.avi": fixture("corpus/mpeg4_bframes.avi"), "b/bad.mp4": fixture("text.mp4"),
            "b/" + long: fixture("h264_bframes.mp4")
        ]
        for (relative, from) in files {
            let to = root + "/src/" + relative
            try FileManager.default.createDirectory(
                atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        return files
    }

    @Test func shardsHoldTheVideosAsTheyAreAndReopen() throws {
        let root = try temporaryFolder("shards")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = try source(root)
        var options = ShardOptions()
        (options.shardBytes, options.quiet) = (200_000, true)
        let out = root + "/out"
        let report = try writeShards(source: root + "/src", destination: out, options: options)
        #expect(report.videos == 4 && report.failures.map(\.path) == [root + "/src/b/bad.mp4"])
        #expect(report.written.count >= 2 && report.kept.isEmpty, "200 kB shards: \(report.written)")
        // GNU tar, an independent reader: member names in order, and the videos extracted byte for byte.
        let listed = try report.written.flatMap { shard in
            String(decoding: try runTool("tar", ["-tf", out + "/" + shard]), as: UTF8.self).split(separator: "\n")
                .map(String.init)
        }
        let long = String(repeating: "a-long-folder-name/", count: 6) + "deep"
        #expect(
            listed == [
                "a/one.mp4", "a/one.json", "a/two_v1.ts", "a/two_v1.json", "b/" + long + ".mp4", "b/" + long + ".json",
                "b/three.avi", "b/three.json"
            ])
        let extracted = root + "/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        for shard in report.written { _ = try runTool("tar", ["-xf", out + "/" + shard, "-C", extracted]) }
        for (member, relative) in [
            ("a/one.mp4", "a/one.mp4"), ("a/two_v1.ts", "a/two.v1.ts"), ("b/three.avi", "b/three.avi")
        ] {
            #expect(
                FileManager.default.contents(atPath: extracted + "/" + member)
                    == FileManager.default.contents(atPath: files[relative]!), "\(member)")
        }
        let json =
            try JSONSerialization.jsonObject(
                with: FileManager.default.contents(atPath: extracted + "/a/two_v1.json")!) as! [String: Any]
        #expect(
            json["label"] as? Int == 0 && json["class"] as? String == "a" && json["source"] as? String == "a/two.v1.ts")
        #expect(json["frames"] as? Int == 50 && (json["keyframes"] as? [Int])?.first == 0)
        // Each keyframe's byte offset, as ffprobe gives the keyframe packets' positions.
        let one =
            try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: extracted + "/a/one.json")!)
            as! [String: Any]
        let packets = String(
            decoding: try runTool(
                "ffprobe",
                [
                    "-v", "error", "-select_streams", "v", "-show_entries", "packet=pos,flags", "-of", "csv=p=0",
                    files["a/one.mp4"]!
                ]),
            as: UTF8.self)
        let keyPositions = packets.split(separator: "\n").compactMap { line -> Int? in
            let fields = line.split(separator: ",")
            return fields.count == 2 && fields[1].hasPrefix("K") ? Int(fields[0]) : nil
        }
        #expect(!keyPositions.isEmpty && one["keyframe_offsets"] as? [Int] == keyPositions, "\(keyPositions) \(one)")
        // The manifest names members and where they lie, and they decode to the sources' frames.
        let manifest = try Manifest.load(report.manifestPath)
        #expect(
            manifest.count == 4 && manifest.entries.allSatisfy { $0.path.contains(".tar#") && $0.memberBytes != nil })
        for e in manifest.entries where e.path.hasSuffix("three.avi") || e.path.hasSuffix("one.mp4") {
            let plain = e.path.hasSuffix("three.avi") ? files["b/three.avi"]! : files["a/one.mp4"]!
            let expected = try VideoDecoder(path: plain).frames(at: [0, 17, 49]).map(\.pixels)
            #expect(try VideoDecoder(path: e.path).frames(at: [0, 17, 49]).map(\.pixels) == expected, "\(e.path)")
            let placed = try VideoDecoder(path: e.path, options: e.decoderOptions, index: e.storedIndex)
            #expect(try placed.frames(at: [0, 17, 49]).map(\.pixels) == expected, "\(e.path) at its offset")
            // An offset that is not the member's: a clear error, not another member's bytes.
            var moved = e.decoderOptions
            moved.memberBytes!.offset += 512
            let error = #expect(throws: VideoError.self) { try VideoDecoder(path: e.path, options: moved) }
            #expect("\(error!)".contains("does not start this member"), "\(error!)")
        }
        #expect(try String(contentsOfFile: out + "/classes.txt", encoding: .utf8) == "a\nb\n")
    }

    /// A second run keeps every shard; a lost shard is written again to the
    /// same bytes; shards planned with another size are refused, not mixed.
    @Test func shardingResumes() throws {
        let root = try temporaryFolder("shards-resume")
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try source(root)
        var options = ShardOptions()
        (options.shardBytes, options.quiet) = (200_000, true)
        let out = root + "/out"
        let first = try writeShards(source: root + "/src", destination: out, options: options)
        let lost = out + "/" + first.written[1]
        let bytes = FileManager.default.contents(atPath: lost)
        try FileManager.default.removeItem(atPath: lost)
        let second = try writeShards(source: root + "/src", destination: out, options: options)
        #expect(second.written == [first.written[1]] && second.kept.count == first.written.count - 1)
        #expect(FileManager.default.contents(atPath: lost) == bytes, "the same bytes again")
        options.shardBytes = 100_000
        #expect(throws: PrepError.self) { try writeShards(source: root + "/src", destination: out, options: options) }
    }

    /// `prep index --layout webdataset`: ClipKit's shards give back their
    /// manifest; shards made by other tools (GNU tar here) give labels from
    /// `.cls` or a JSON `class`, and a sample without one is a problem.
    @Test func webDatasetShardsAreIndexed() throws {
        let root = try temporaryFolder("shards-index")
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try source(root)
        var options = ShardOptions()
        (options.shardBytes, options.quiet) = (200_000, true)
        let report = try writeShards(source: root + "/src", destination: root + "/out", options: options)
        let shards = (report.written).map { root + "/out/" + $0 }
        let indexed = try indexWebDataset(shards: shards)
        let written = try Manifest.load(report.manifestPath)
        #expect(indexed.entries == written.entries && indexed.classes == ["a", "b"] && indexed.problems.isEmpty)

        let other = root + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        for name in ["s1", "s2", "s3"] {
            try FileManager.default.copyItem(atPath: fixture("vfr.mp4"), toPath: "\(other)/\(name).mp4")
        }
        try Data("2\n".utf8).write(to: URL(fileURLWithPath: other + "/s1.cls"))
        try Data(#"{"class": "dog", "caption": "a dog"}"#.utf8).write(to: URL(fileURLWithPath: other + "/s2.json"))
        _ = try runTool(
            "tar", ["-cf", other + "/w.tar", "-C", other, "s1.mp4", "s1.cls", "s2.json", "s2.mp4", "s3.mp4"])
        let foreign = try indexWebDataset(shards: [other + "/w.tar"])
        #expect(foreign.entries.map(\.label) == [2, 3] && foreign.classes == ["0", "1", "2", "dog"])
        #expect(foreign.entries.map { ($0.path as NSString).lastPathComponent } == ["w.tar#s1.mp4", "w.tar#s2.mp4"])
        #expect(foreign.problems.map(\.path) == [other + "/w.tar#s3.mp4"])
        #expect(sampleKey("a/b.c/clip.seg1.mp4") == ("a/b.c/clip", "seg1.mp4"))
    }

    @Test func byteSizes() {
        #expect(parseByteSize("1GB") == 1_000_000_000 && parseByteSize("64MiB") == 64 << 20)
        #expect(parseByteSize("500 mb") == 500_000_000 && parseByteSize("4096") == 4096)
        #expect(parseByteSize("lots") == nil && parseByteSize("-1GB") == nil && parseByteSize("") == nil)
    }
}
