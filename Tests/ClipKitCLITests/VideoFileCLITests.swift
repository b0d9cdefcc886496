import Foundation
import TestSupport
import Testing

/// Stream choice and the index cache, through separate `clipkit` processes.
@Suite struct StreamChoiceCLITests {
    let path = fixture("two_video_streams.mp4")

    @Test func probeListsEveryVideoStream() throws {
        let result = try clipkit(["probe", path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as! [String: Any]
        #expect(object["stream"] as? Int == 1 && object["width"] as? Int == 480)
        let streams = object["streams"] as! [[String: Any]]
        #expect(streams.map { $0["index"] as? Int } == [0, 1])
        #expect(streams.map { $0["frames"] as? Int } == [25, 25])
        #expect(streams.map { $0["width"] as? Int } == [320, 480])
        #expect(streams.map { $0["codec"] as? String } == ["h264", "h264"])
        #expect(streams.map { $0["chosenByDefault"] as? Bool } == [false, true])
    }

    @Test(arguments: [0, 1])
    func framesOfAChosenStreamAreTheCLIsMapped(_ stream: Int) throws {
        let (w, h) = stream == 0 ? (320, 180) : (480, 270)
        let truth = [UInt8](
            try runTool(
                "ffmpeg",
                [
                    "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", path,
                    "-map", "0:\(stream)", "-vf", "format=rgb24", "-f", "rawvideo", "-"
                ]))
        let frame = w * h * 3
        let indices = [24, 3, 11, 0]
        let result = try clipkit([
            "frames", path, "--stream", "\(stream)", "--indices", indices.map(String.init).joined(separator: ",")
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = indices.flatMap { truth[$0 * frame..<($0 + 1) * frame] }
        #expect(byteDifference([UInt8](result.stdout), expected) == "")
    }

    @Test func aStreamThatIsNotVideoNamesTheFileAndItsStreams() throws {
        for command in [["probe", path, "--stream", "2"], ["frames", path, "--stream", "3", "--indices", "0"]] {
            let result = try clipkit(command)
            #expect(result.status == 1)
            #expect(
                result.stderr.contains("two_video_streams.mp4") && result.stderr.contains("is not a video stream")
                    && result.stderr.contains("0: video h264 320x180") && result.stderr.contains("2: audio aac"),
                "\(result.stderr)")
        }
    }
}

/// A decoding scan is kept in `$CLIPKIT_CACHE`: the next process opens the
/// file without decoding it, and a changed file or a damaged entry is scanned again.
@Suite struct IndexCacheCLITests {
    func origin(_ path: String, cache: String) throws -> String {
        let result = try clipkit(["probe", path, "--json"], environment: ["CLIPKIT_CACHE": cache])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as! [String: Any]
        return object["indexOrigin"] as? String ?? "?"
    }

    func entries(_ cache: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache + "/index-v1").sorted()
    }

    @Test(arguments: ["xvid_unpacked.avi", "mpeg4_bframes.avi", "h264.ts"])
    func aSecondProcessOpensWithoutAScan(_ name: String) throws {
        let folder = try temporaryFolder("index-cache")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let copy = folder + "/" + name
        let cache = folder + "/cache"
        try FileManager.default.copyItem(atPath: fixture("corpus/" + name), toPath: copy)
        #expect(try origin(copy, cache: cache) == "scan")
        #expect(try origin(copy, cache: cache) == "cache")
        #expect(try entries(cache).count == 1)
        // The kept index gives the CLI's frames, from a third process.
        let corpus = try CorpusFile.load()[name]!
        let indices = [corpus.frames - 1, 30, 13, 0]
        let result = try clipkit(
            ["frames", copy, "--indices", indices.map(String.init).joined(separator: ",")],
            environment: ["CLIPKIT_CACHE": cache])
        let bytes = [UInt8](result.stdout)
        let size = bytes.count / indices.count
        #expect(result.status == 0 && size == corpus.width * corpus.height * 3)
        for (slot, i) in indices.enumerated() {
            #expect(frameAdler32(Array(bytes[slot * size..<(slot + 1) * size])) == corpus.adler32[i], "frame \(i)")
        }
    }

    @Test func aChangedFileOrADamagedEntryIsScannedAgain() throws {
        let folder = try temporaryFolder("index-cache")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let copy = folder + "/clip.ts"
        let cache = folder + "/cache"
        try FileManager.default.copyItem(atPath: fixture("corpus/h264.ts"), toPath: copy)
        #expect(try origin(copy, cache: cache) == "scan")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: copy)
        #expect(try origin(copy, cache: cache) == "scan")
        #expect(try origin(copy, cache: cache) == "cache")
        // A different file under the same name: another size, another index.
        try FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: fixture("corpus/h264_wrap.ts"), toPath: copy)
        #expect(try origin(copy, cache: cache) == "scan")
        // One flipped byte, then a cut entry.
        let entry = cache + "/index-v1/" + (try entries(cache))[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: entry)!)
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: entry))
        #expect(try origin(copy, cache: cache) == "scan")
        try Data(bytes.prefix(40)).write(to: URL(fileURLWithPath: entry))
        #expect(try origin(copy, cache: cache) == "scan")
        #expect(try origin(copy, cache: cache) == "cache")
        #expect(try entries(cache).count == 1)
    }

    @Test func concurrentWritersLeaveOneWholeEntry() throws {
        let folder = try temporaryFolder("index-cache")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let copy = folder + "/clip.avi"
        let cache = folder + "/cache"
        try FileManager.default.copyItem(atPath: fixture("corpus/xvid_packed.avi"), toPath: copy)
        var environment = ProcessInfo.processInfo.environment
        environment["CLIPKIT_CACHE"] = cache
        let processes = (0..<6).map { _ -> Process in
            let p = Process()
            p.executableURL = clipkitExecutable()
            p.arguments = ["probe", copy, "--json"]
            p.environment = environment
            p.standardOutput = FileHandle.nullDevice
            return p
        }
        for p in processes { try p.run() }
        for p in processes { p.waitUntilExit() }
        #expect(processes.allSatisfy { $0.terminationStatus == 0 })
        let left = try entries(cache)
        #expect(left.count == 1, "\(left)")  // no temporary files left
        #expect(try origin(copy, cache: cache) == "cache")
    }

    @Test func anUnwritableCacheOnlyMeansScansAreNotKept() throws {
        let folder = try temporaryFolder("index-cache")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let copy = folder + "/clip.ts"
        let cache = folder + "/not-a-folder"
        try FileManager.default.copyItem(atPath: fixture("corpus/h264.ts"), toPath: copy)
        try Data("x".utf8).write(to: URL(fileURLWithPath: cache))
        #expect(try origin(copy, cache: cache) == "scan")
        #expect(try origin(copy, cache: cache) == "scan")
    }
}

/// Colour through `clipkit frames`: every `cli` case of the pairwise colour
/// plan against the ffmpeg CLI (each call of a request is one process).
@Suite struct ColourCLITests {
    @Test func thePlanHasCLICases() { #expect(((try? ColourCase.load(path: "cli")) ?? []).count >= 4) }

    @Test(arguments: (try? ColourCase.load(path: "cli")) ?? [])
    func framesEqualTheCLI(_ c: ColourCase) throws {
        var options: [String] = []
        var (width, height) = (64, 48)
        if c.output == "short_side" {
            options = ["--short-side", "\(ColourCase.shortSide)"]
            let probe = try clipkit(["frames", c.video, "--indices", "0"] + options)
            height = ColourCase.shortSide
            width = probe.stdout.count / (3 * height)
        } else if c.output == "size" {
            (width, height) = ColourCase.size
            options = ["--size", "\(width)x\(height)"]
        }
        let truth = try c.cliFrames(width: width, height: height)
        let frame = width * height * 3
        for call in c.calls {
            let result = try clipkit(
                ["frames", c.video, "--indices", call.map(String.init).joined(separator: ",")] + options)
            #expect(result.status == 0 && result.stdout.count == call.count * frame, "\(result.stderr)")
            guard result.stdout.count == call.count * frame else { continue }
            let bytes = [UInt8](result.stdout)
            for (slot, index) in call.enumerated() {
                let ours = Array(bytes[slot * frame..<(slot + 1) * frame])
                if let problem = c.mismatch(ours, truth[index], frame: index) { Issue.record("\(problem)") }
            }
        }
    }
}

/// `prep` takes every file libavformat opens as a video of more than one
/// frame, whatever its extension, and counts (and with --verbose lists) the rest.
@Suite struct PrepFileChoiceCLITests {
    @Test func resizeConvertsOneFileOfEveryCorpusFormat() throws {
        let root = try temporaryFolder("prep-every-format")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: fixture("corpus")).filter {
            !$0.hasSuffix(".json")
        }
        for name in names {  // distinct stems: mpeg2.vob and mpeg2.m2v become mpeg2_vob.vob and mpeg2_m2v.m2v
            let ext = (name as NSString).pathExtension
            let stem = (name as NSString).deletingPathExtension + "_" + ext
            try FileManager.default.copyItem(atPath: fixture("corpus/" + name), toPath: "\(root)/src/\(stem).\(ext)")
        }
        let r = try clipkit([
            "prep", "resize", root + "/src", root + "/dst", "--short-side", "32", "--preset", "ultrafast", "--quiet"
        ])
        let out = String(decoding: r.stdout, as: UTF8.self)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(out.contains("\(names.count) converted, 0 already done, 0 failed, 0 skipped as not video"), "\(out)")
    }

    @Test func unknownExtensionsAreProbedAndStillsAreSkippedAndListed() throws {
        let root = try temporaryFolder("prep-probe")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let src = root + "/src"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("corpus/h264.ts"), toPath: src + "/broadcast.dat")
        try FileManager.default.copyItem(atPath: fixture("corpus/wmv1.asf"), toPath: src + "/old.asf")
        try FileManager.default.copyItem(atPath: fixture("corpus/mpeg2.m2v"), toPath: src + "/raw.m2v")
        func make(_ arguments: [String]) throws {
            _ = try runTool("ffmpeg", ["-v", "error", "-f", "lavfi"] + arguments)
        }
        try make(["-i", "testsrc2=size=64x48:duration=0.4", src + "/moving.gif"])
        try make(["-i", "testsrc2=size=64x48", "-frames:v", "1", src + "/still.gif"])
        try make(["-i", "testsrc2=size=64x48", "-frames:v", "1", src + "/photo.jpg"])
        try make(["-i", "testsrc2=size=64x48", "-frames:v", "1", "-f", "image2", "-c:v", "png", src + "/picture.bin"])
        try make(["-i", "sine=duration=0.5", "-c:a", "flac", src + "/music.ogg"])
        try Data("notes\n".utf8).write(to: URL(fileURLWithPath: src + "/readme.txt"))
        try Data("ANSI art, as release notes ship it\n".utf8).write(to: URL(fileURLWithPath: src + "/release.nfo"))
        for command in ["resize", "frames"] {
            let r = try clipkit([
                "prep", command, src, root + "/" + command, "--short-side", "32", "--quiet", "--verbose"
            ])
            let out = String(decoding: r.stdout, as: UTF8.self)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(
                out.contains(
                    "4 \(command == "resize" ? "converted" : "extracted"), 0 already done, 0 failed, 6 skipped as not video"
                ), "\(out)")
            let listed = out.split(separator: "\n").filter { $0.hasPrefix("not video: ") }.map {
                String($0.dropFirst(11))
            }
            #expect(
                listed == ["music.ogg", "photo.jpg", "picture.bin", "readme.txt", "release.nfo", "still.gif"], "\(out)")
        }
        let manifest = try String(contentsOfFile: root + "/resize/manifest.csv", encoding: .utf8)
        for stem in ["broadcast", "old", "raw", "moving"] { #expect(manifest.contains("\(stem).mp4"), "\(manifest)") }
    }

    @Test func indexCountsWhatIsNotVideo() throws {
        let root = try temporaryFolder("prep-index")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/data/jump", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("corpus/mpeg2.m2v"), toPath: root + "/data/jump/a.m2v")
        try FileManager.default.copyItem(atPath: fixture("corpus/h264.ts"), toPath: root + "/data/jump/b.bin")
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/data/jump/notes.txt"))
        let r = try clipkit(["prep", "index", root + "/data", "--layout", "folders", "-o", root + "/m.csv", "--verbose"]
        )
        let out = String(decoding: r.stdout, as: UTF8.self)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(out.contains("2 videos in 1 classes, 0 problems, 1 skipped as not video"), "\(out)")
        #expect(out.contains("not video: \(root)/data/jump/notes.txt"), "\(out)")
    }

    /// A probed index is the default stream's: the manifest says which stream that is.
    @Test func probedIndexNamesTheStreamOfAFileWithSeveral() throws {
        let root = try temporaryFolder("prep-index-stream")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/data/wave", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("two_video_streams.mp4"), toPath: root + "/data/wave/two.mp4")
        try FileManager.default.copyItem(atPath: fixture("h264_bframes.mp4"), toPath: root + "/data/wave/one.mp4")
        let r = try clipkit(["prep", "index", root + "/data", "--layout", "folders", "-o", root + "/m.csv", "--probe"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOfFile: root + "/m.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.first?.hasSuffix(",stream") == true, "\(lines)")
        #expect(
            lines.contains { $0.contains("two.mp4") && $0.hasSuffix(",1") }
                && lines.contains { $0.contains("one.mp4") && $0.hasSuffix(",") },
            "\(lines)")
    }
}
