import Foundation
import TestSupport
import Testing

/// Runs the `clipkit` executable built next to the test bundle.
func clipkitExecutable() -> URL {
    let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var executable = binDir.appendingPathComponent("clipkit")
    // The test runner may live inside a .xctest bundle folder.
    for _ in 0..<3 where !FileManager.default.fileExists(atPath: executable.path) {
        executable = executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "clipkit")
    }
    return executable
}

func clipkit(_ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, stdout: Data, stderr: String)
{
    try runProcess(clipkitExecutable(), arguments, environment: environment)
}

@Suite struct CLITests {
    @Test func probeJSONHasTheContractKeys() throws {
        let result = try clipkit(["probe", fixture("rotate90.mp4"), "--json"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: result.stdout) as! [String: Any]
        for key in ["path", "codec", "width", "height", "frames", "fps", "duration", "rotation", "keyframes"] {
            #expect(object[key] != nil, "missing key \(key)")
        }
        #expect(object["frames"] as? Int == 50)
        #expect(object["width"] as? Int == 120 && object["height"] as? Int == 160)
        #expect(object["keyframes"] as? [Int] == [0, 12, 24, 36, 48])
    }

    @Test func framesWritesRawRGBInTheOrderGiven() throws {
        let result = try clipkit(["frames", fixture("hevc.mkv"), "--indices", "39,0,39"])
        #expect(result.status == 0)
        let last = try FixtureExpectations.reference("hevc_mkv_39.rgb")
        let first = try FixtureExpectations.reference("hevc_mkv_0.rgb")
        #expect(byteDifference([UInt8](result.stdout), last + first + last) == "")
    }

    @Test func framesResizes() throws {
        let short = try clipkit(["frames", fixture("h264_bframes.mp4"), "--indices", "13", "--short-side", "64"])
        #expect(short.status == 0 && short.stdout.count == 85 * 64 * 3)
        let sized = try clipkit(["frames", fixture("h264_bframes.mp4"), "--indices", "13", "--size", "85x64"])
        let reference = try FixtureExpectations.reference("h264_bframes_mp4_13_85x64.rgb")
        #expect(psnr([UInt8](sized.stdout), reference) >= 35)
        let raw = try clipkit(["frames", fixture("rotate90.mp4"), "--indices", "0", "--no-rotate"])
        #expect(byteDifference([UInt8](raw.stdout), try FixtureExpectations.reference("h264_bframes_mp4_0.rgb")) == "")
    }

    @Test(arguments: [
        "empty.mp4", "text.mp4", "audio_only.mp4", "truncated.mp4", "unsupported_codec.avi", "missing.mp4", "ref"
    ])
    func badInputPrintsOneLineAndExitsOne(_ name: String) throws {
        let result = try clipkit(["probe", fixture(name)])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(fixture(name)))
    }

    @Test func sampleMatchesTheContract() throws {
        let test = try clipkit([
            "sample", "--num-frames", "300", "--mode", "dense", "--clip-len", "8", "--interval", "8",
            "--num-clips", "3", "--test"
        ])
        #expect(test.status == 0)
        let clips = try JSONSerialization.jsonObject(with: test.stdout) as! [[Int]]
        #expect(
            clips == [
                [0, 8, 16, 24, 32, 40, 48, 56], [122, 130, 138, 146, 154, 162, 170, 178],
                [243, 251, 259, 267, 275, 283, 291, 299]
            ])
        let slowfast = try clipkit([
            "sample", "--num-frames", "300", "--mode", "dense", "--clip-len", "8", "--interval", "8",
            "--num-clips", "2", "--test", "--convention", "slowfast"
        ])
        #expect((try JSONSerialization.jsonObject(with: slowfast.stdout) as! [[Int]])[1][0] == 118)
        let a = try clipkit([
            "sample", "--num-frames", "300", "--mode", "uniform", "--clip-len", "8", "--seed", "5", "--sample-index",
            "3"
        ])
        let b = try clipkit([
            "sample", "--num-frames", "300", "--mode", "uniform", "--clip-len", "8", "--seed", "5", "--sample-index",
            "3"
        ])
        #expect(a.stdout == b.stdout && a.status == 0, "same seed and sample, same clip")
        let bad = try clipkit([
            "sample", "--num-frames", "20", "--mode", "dense", "--clip-len", "8", "--twice-sample", "--test"
        ])
        #expect(bad.status == 1 && bad.stderr.split(separator: "\n").count == 1)
    }

    @Test func prepCheckListsBrokenVideosAndBenchLoaderReports() throws {
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clipkit-cli-\(UUID().uuidString).csv"
        ).path
        defer { try? FileManager.default.removeItem(atPath: manifest) }
        let rows = ["h264_bframes.mp4", "truncated.mp4", "hevc.mkv"].enumerated().map { "\(fixture($1)),\($0)" }
        try (["path,label"] + rows).joined(separator: "\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        let check = try clipkit(["prep", "check", manifest, "--json"])
        #expect(check.status == 1)
        let report = try JSONSerialization.jsonObject(with: check.stdout) as! [String: Any]
        #expect(report["videos"] as? Int == 3)
        #expect((report["broken"] as? [[String: String]])?.map { $0["path"]! } == [fixture("truncated.mp4")])
        let bench = try clipkit([
            "bench", "loader", "--manifest", manifest, "--clip-len", "4", "--interval", "2", "--crop", "48",
            "--short-side", "64-80", "--batch", "2", "--workers", "2", "--clips", "6", "--json"
        ])
        #expect(bench.status == 0, "\(bench.stderr)")
        let result = try JSONSerialization.jsonObject(with: bench.stdout) as! [String: Any]
        #expect(
            result["clips"] as? Int == 6 && (result["clips_per_s"] as? Double ?? 0) > 0
                && (result["peak_rss_mb"] as? Double ?? 0) > 0)
        #expect((result["replaced"] as? Int ?? 0) >= 1)
        #expect(bench.stderr.contains("truncated.mp4"), "the broken video is logged")
        let missing = try clipkit(["prep", "check", "/no/such/manifest.csv"])
        #expect(missing.status == 1 && missing.stderr.contains("no such file"))
    }

    @Test func outOfRangeAndDamagedFramesExitOne() throws {
        let range = try clipkit(["frames", fixture("h264_bframes.mp4"), "--indices", "0,50"])
        #expect(range.status == 1 && range.stderr.contains("out of range"))
        let verify = try clipkit(["probe", fixture("garbage_middle.mp4"), "--verify"])
        #expect(verify.status == 1 && verify.stderr.contains("damaged frames"))
        let usage = try clipkit(["frames", fixture("h264_bframes.mp4"), "--indices", "a,b"])
        #expect(usage.status != 0 && usage.stderr.contains("--indices"))
    }
}

@Suite(.serialized) struct PrepCLITests {
    func sourceTree(copies: Int) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("prepcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("src/a"), withIntermediateDirectories: true)
        for i in 0..<copies {
            try FileManager.default.copyItem(
                atPath: fixture("h264_bframes.mp4"), toPath: root.appendingPathComponent("src/a/v\(i).mp4").path)
        }
        try FileManager.default.copyItem(
            atPath: fixture("truncated.mp4"), toPath: root.appendingPathComponent("src/a/broken.mp4").path)
        return root
    }

    @Test func resizeReportsTheBrokenFileFinishesTheRestAndExitsOne() throws {
        let root = try sourceTree(copies: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try clipkit([
            "prep", "resize", root.appendingPathComponent("src").path, root.appendingPathComponent("dst").path,
            "--short-side", "32", "--preset", "ultrafast", "--quiet"
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("broken.mp4: "), "names the file: \(r.stderr)")
        #expect(
            String(decoding: r.stdout, as: UTF8.self).contains(
                "2 converted, 0 already done, 1 failed, 0 skipped as not video"))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("dst/a/v1.mp4").path))
    }

    /// Classes are the source's first folders, whatever fails: a video beside
    /// them is converted but left out of the manifest (exit status 1), a name
    /// collision fails only its own video, and an output folder inside the
    /// source is never read back as a class.
    @Test func classesComeFromTheSourceFoldersWhateverFails() throws {
        let root = try sourceTree(copies: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        let src = root.appendingPathComponent("src")
        try FileManager.default.removeItem(at: src.appendingPathComponent("a/broken.mp4"))
        try FileManager.default.createDirectory(at: src.appendingPathComponent("b"), withIntermediateDirectories: true)
        for copy in ["b/v1.mp4", "b/v1.mkv", "stray.mp4"] {
            try FileManager.default.copyItem(
                atPath: fixture("h264_bframes.mp4"), toPath: src.appendingPathComponent(copy).path)
        }
        let out = src.appendingPathComponent("out")
        for run in 1...2 {
            let r = try clipkit([
                "prep", "resize", src.path, out.path, "--short-side", "32", "--preset", "ultrafast", "--quiet"
            ])
            #expect(r.status == 1, "run \(run): \(r.stderr)")
            #expect(r.stderr.contains("stray.mp4: not in a class folder"), "run \(run): \(r.stderr)")
            #expect(r.stderr.contains("is also the output of"), "run \(run): \(r.stderr)")
            let rows = try String(contentsOf: out.appendingPathComponent("manifest.csv"), encoding: .utf8)
                .split(separator: "\n").dropFirst().map { $0.split(separator: ",").prefix(2).joined(separator: ",") }
            #expect(rows == ["a/v0.mp4,0", "b/v1.mp4,1"], "run \(run)")
            let classes = try String(contentsOf: out.appendingPathComponent("classes.txt"), encoding: .utf8)
            #expect(classes == "a\nb\n", "run \(run)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("out").path))
        let notFolder = try clipkit(["prep", "resize", src.appendingPathComponent("stray.mp4").path, root.path + "/x"])
        #expect(notFolder.status == 1 && notFolder.stderr.contains("is a file, not a folder"), "\(notFolder.stderr)")
    }

    /// A run killed mid-way leaves only complete outputs (and hidden temp
    /// files), and the next run removes the temp files and finishes the rest.
    @Test func aKilledRunLeavesNoPartialOutputsAndTheNextFinishes() throws {
        let root = try sourceTree(copies: 12)
        defer { try? FileManager.default.removeItem(at: root) }
        let (src, dst) = (root.appendingPathComponent("src").path, root.appendingPathComponent("dst").path)
        let process = Process()
        process.executableURL = clipkitExecutable()
        process.arguments = [
            "prep", "resize", src, dst, "--short-side", "128", "--preset", "slow", "--jobs", "1", "--quiet"
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once the first output exists (or after 20 s at most).
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !FileManager.default.fileExists(atPath: dst + "/a/broken.mp4") && process.isRunning {
            if (try? FileManager.default.contentsOfDirectory(atPath: dst + "/a"))?.contains(where: {
                $0.hasSuffix(".mp4") && !$0.hasPrefix(".")
            }) == true {
                break
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let visible = ((try? FileManager.default.contentsOfDirectory(atPath: dst + "/a")) ?? []).filter {
            !$0.hasPrefix(".")
        }
        #expect(visible.count < 12, "killed before the end")
        for name in visible {
            let probe = try clipkit(["probe", dst + "/a/" + name, "--json"])
            #expect(probe.status == 0, "\(name) is complete: \(probe.stderr)")
        }
        let again = try clipkit(["prep", "resize", src, dst, "--short-side", "128", "--preset", "ultrafast", "--quiet"])
        #expect(again.status == 1, "broken.mp4 still fails")
        #expect(
            String(decoding: again.stdout, as: UTF8.self).contains(
                "\(12 - visible.count) converted, \(visible.count) already done, 1 failed"))
        let all = try FileManager.default.contentsOfDirectory(atPath: dst + "/a")
        #expect(all.filter { $0.hasSuffix(".part") }.isEmpty)
        #expect(all.filter { $0.hasSuffix(".mp4") }.count == 12)
    }

    @Test func indexAndDataCommands() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("datacli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try clipkit([
            "data", "video-mnist", root.path, "--train", "10", "--val", "0", "--test", "0", "--frames", "8",
            "--size", "32x32", "--quiet"
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let index = try clipkit([
            "prep", "index", root.appendingPathComponent("train").path, "--layout", "folders", "--probe",
            "-o", root.appendingPathComponent("index.csv").path
        ])
        #expect(index.status == 0, "\(index.stderr)")
        #expect(String(decoding: index.stdout, as: UTF8.self).hasPrefix("10 videos in 10 classes, 0 problems"))
        let bad = try clipkit([
            "prep", "index", "/nonexistent", "--layout", "folders", "-o", root.appendingPathComponent("x.csv").path
        ])
        #expect(bad.status == 1 && bad.stderr.contains("/nonexistent: no such folder"))
        let badLayout = try clipkit(["prep", "index", "/tmp", "--layout", "nope", "-o", "x.csv"])
        #expect(badLayout.status != 0 && badLayout.stderr.contains("--layout must be one of"))
    }
}

@Suite struct TrainCLITests {
    @Test func badConfigsCheckpointsAndRunFoldersAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("traincli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("c.json").path
        try #"{"model": "kth3l-nope", "train": "missing.csv", "num_classes": 3}"#.write(
            toFile: config, atomically: true, encoding: .utf8)
        let missing = try clipkit(["train", config])
        #expect(missing.status == 1 && missing.stderr.contains("missing.csv: no such file"), "\(missing.stderr)")
        let notCheckpoint = try clipkit([
            "eval", fixture("golden/tensor_ops.safetensors"), fixture("annotations/mmaction_list.txt")
        ])
        #expect(
            notCheckpoint.status == 1 && notCheckpoint.stderr.contains("not a `clipkit train` checkpoint"),
            "\(notCheckpoint.stderr)")
        let noRun = try clipkit(["report", folder.path])
        #expect(noRun.status == 1 && noRun.stderr.contains("no metrics"), "\(noRun.stderr)")
    }
}

/// The tensor bytes of a safetensors file (after its header), which hold
/// model and optimizer state; the header's metadata names the output folder.
private func tensorBytes(_ path: String) throws -> Data {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    return data.dropFirst(8 + headerLength)
}

/// A tiny Video-MNIST set in `root/data` (train.csv, test.csv): 20 training
/// and 10 test videos of 8×16×16 from 40 images of a horizontal bar, or with
/// `crossed` every other one a vertical bar.
func tinyVideoMNIST(in root: URL, crossed: Bool = false) throws {
    var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 28, 0, 0, 0, 28]
    var labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 40]
    for i in 0..<40 {
        let vertical = crossed && i % 2 == 1
        images += (0..<784).map { p -> UInt8 in
            let (along, across) = vertical ? (p / 28, p % 28) : (p % 28, p / 28)
            return (4..<24).contains(along) && (12..<16).contains(across) ? 255 : 0
        }
        labels.append(UInt8(i % 10))
    }
    try Data(images).write(to: root.appendingPathComponent("images"))
    try Data(labels).write(to: root.appendingPathComponent("labels"))
    let idx = root.path
    let made = try clipkit([
        "data", "video-mnist", root.appendingPathComponent("data").path, "--images", idx + "/images", "--labels",
        idx + "/labels",
        "--test-images", idx + "/images", "--test-labels", idx + "/labels", "--train", "20", "--val", "0", "--test",
        "10",
        "--frames", "8", "--size", "16x16", "--quiet"
    ])
    guard made.status == 0 else { throw ToolFailure(message: "clipkit data video-mnist: \(made.stderr)") }
}

@Suite struct ResumeCLITests {
    /// Interrupted (as Ctrl-C after 7 steps, mid stage-s) and resumed, a run
    /// ends with exactly the weights and optimizer state of an uninterrupted one.
    @Test func resumeIsBitIdentical() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("resumecli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try tinyVideoMNIST(in: root)
        for name in ["straight", "resumed"] {
            try """
            {"model": "kth3l-stdcf", "train": "data/train.csv", "val": "data/test.csv", "num_classes": 10,
             "clip": {"frames": 8, "crop": 16, "short_side": [16, 16], "flip": 0}, "eval": {"clips": 1, "crops": 1},
             "batch": 4, "workers": 2, "threads": 2, "output": "\(name)", "itsl": {"iterations": 1}}
            """.write(to: root.appendingPathComponent("\(name).json"), atomically: true, encoding: .utf8)
        }
        let straight = try clipkit(["train", root.appendingPathComponent("straight.json").path])
        #expect(straight.status == 0, "\(straight.stderr)")
        let stopped = try clipkit(["train", root.appendingPathComponent("resumed.json").path, "--stop-after-steps", "7"]
        )
        #expect(stopped.status == 130 && stopped.stderr.contains("interrupted: saved"), "\(stopped.stderr)")
        let resumed = try clipkit(["train", root.appendingPathComponent("resumed.json").path, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try tensorBytes(root.appendingPathComponent("straight/checkpoint.safetensors").path)
        let b = try tensorBytes(root.appendingPathComponent("resumed/checkpoint.safetensors").path)
        #expect(a.count > 100_000 && a == b, "model and optimizer state identical byte for byte")
    }
}

/// `clipkit probe` and `clipkit frames` on the real-format corpus and on a
/// frame folder, against the ffmpeg CLI's frames.
@Suite struct CLICorpusTests {
    private static let corpus = try! CorpusFile.load()

    @Test(arguments: corpus.keys.sorted())
    func framesEqualFFmpegAtScatteredIndices(_ name: String) throws {
        let e = Self.corpus[name]!
        let path = fixture("corpus/" + name)
        let probe = try clipkit(["probe", path, "--json"])
        #expect(probe.status == 0, "\(probe.stderr)")
        let object = try JSONSerialization.jsonObject(with: probe.stdout) as! [String: Any]
        #expect(object["frames"] as? Int == e.frames)
        #expect(["packets", "decoded"].contains(object["index"] as? String ?? ""))
        let picks = e.scatteredIndices(keyframes: object["keyframes"] as! [Int])
        let request = picks.reversed() + [picks[1], picks[0]]
        let result = try clipkit(["frames", path, "--indices", request.map(String.init).joined(separator: ",")])
        #expect(result.status == 0, "\(result.stderr)")
        let size = e.width * e.height * 3
        #expect(result.stdout.count == request.count * size)
        let got = (0..<request.count).map { frameAdler32(result.stdout[$0 * size..<($0 + 1) * size]) }
        #expect(got == request.map { e.adler32[$0] }, "\(name)")
    }

    @Test func frameFolderProbeAndFrames() throws {
        let folder = try temporaryFolder("cli-folder")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try runTool(
            "ffmpeg",
            [
                "-hide_banner", "-loglevel", "error", "-i", fixture("h264_bframes.mp4"), "-frames:v", "9",
                "-q:v", "3", folder + "/%05d.jpg"
            ])
        let reference = try ffmpegFrameAdler32(folder + "/%05d.jpg")
        let probe = try clipkit(["probe", folder, "--json", "--template", "{:05}.jpg", "--fps", "12.5"])
        #expect(probe.status == 0, "\(probe.stderr)")
        let object = try JSONSerialization.jsonObject(with: probe.stdout) as! [String: Any]
        #expect(
            object["frames"] as? Int == 9 && object["index"] as? String == "folder" && object["fps"] as? Double == 12.5)
        let result = try clipkit(["frames", folder, "--indices", "8,0,4"])
        #expect(result.status == 0, "\(result.stderr)")
        let size = 160 * 120 * 3
        #expect(
            (0..<3).map { frameAdler32(result.stdout[$0 * size..<($0 + 1) * size]) } == [
                reference[8], reference[0], reference[4]
            ])
        try FileManager.default.removeItem(atPath: folder + "/00005.jpg")
        let damaged = try clipkit(["frames", folder, "--indices", "4", "--template", "{:05}.jpg"])
        #expect(damaged.status == 1 && damaged.stderr.contains("damaged frames 4"), "\(damaged.stderr)")
    }
}

@Suite struct ExplainCLITests {
    /// `clipkit explain` on a briefly trained model: a PNG strip and an MP4
    /// of the right sizes, and errors that name what is wrong.
    @Test func writesTheMapAndNamesBadRequests() throws {
        let root = URL(fileURLWithPath: try temporaryFolder("explain"))
        defer { try? FileManager.default.removeItem(at: root) }
        try tinyVideoMNIST(in: root)
        try """
        {"model": "kth3l-stdcf", "train": "data/train.csv", "num_classes": 10, "epochs": 1, "batch": 4, "workers": 1, "threads": 2,
         "clip": {"frames": 8, "crop": 16, "short_side": [16, 16], "flip": 0}, "precise_bn_batches": 1, "output": "run"}
        """.write(to: root.appendingPathComponent("run.json"), atomically: true, encoding: .utf8)
        let trained = try clipkit(["train", root.appendingPathComponent("run.json").path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let checkpoint = root.appendingPathComponent("run/checkpoint.safetensors").path
        let video = root.appendingPathComponent("data/test.csv").path
        let first = try String(contentsOfFile: video, encoding: .utf8).split(separator: "\n")[1].split(separator: ",")[
            0]
        let path =
            first.hasPrefix("/")
            ? String(first) : root.appendingPathComponent("data").appendingPathComponent(String(first)).path
        let png = root.appendingPathComponent("cam.png").path
        let mp4 = root.appendingPathComponent("cam.mp4").path
        let strip = try clipkit(["explain", checkpoint, path, "-o", png])
        #expect(
            strip.status == 0 && String(decoding: strip.stdout, as: UTF8.self).contains("layer conv3"),
            "\(strip.stderr)")
        let probe = String(
            decoding: try runTool(
                "ffprobe", ["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", png]),
            as: UTF8.self)
        #expect(
            probe.trimmingCharacters(in: .whitespacesAndNewlines) == "128,16",
            "8 frames of 16×16 side by side: \(probe)")
        let movie = try clipkit(["explain", checkpoint, path, "--class", "3", "--layer", "conv2", "-o", mp4])
        #expect(
            movie.status == 0 && String(decoding: movie.stdout, as: UTF8.self).contains("class 3"), "\(movie.stderr)")
        #expect(try ffmpegFrameAdler32(mp4).count == 8)
        let layers = try clipkit(["explain", checkpoint, path, "--list-layers"])
        #expect(String(decoding: layers.stdout, as: UTF8.self).split(separator: "\n") == ["conv1", "conv2", "conv3"])
        let badClass = try clipkit(["explain", checkpoint, path, "--class", "12", "-o", png])
        #expect(badClass.status == 1 && badClass.stderr.contains("no class '12'"), "\(badClass.stderr)")
        let badLayer = try clipkit(["explain", checkpoint, path, "--layer", "fc", "-o", png])
        #expect(badLayer.status == 1 && badLayer.stderr.contains("layer 'fc'"), "\(badLayer.stderr)")
        let missing = try clipkit(["explain", checkpoint, root.appendingPathComponent("nope.mp4").path, "-o", png])
        #expect(missing.status == 1 && missing.stderr.contains("nope.mp4"), "\(missing.stderr)")
    }
}

@Suite struct ReconstructionCLITests {
    /// `task: reconstruction` on a tiny set: the loss falls, the noisy
    /// input's PSNR is the noise's own (σ = 0.2 of the range: 20·log10(1/0.2)
    /// = 13.98 dB), eval.json and the strip (clean, noisy, output rows) are
    /// written; ITSL and --resume are refused with the file's name.
    @Test func trainsScoresAndRefusesWhatItDoesNotDo() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try tinyVideoMNIST(in: root)
        func config(_ extra: String, model: String = "recon3l-reg3d") throws -> String {
            let path = root.appendingPathComponent(
                "recon\(extra.isEmpty && model.hasPrefix("recon") ? "" : "-bad").json"
            ).path
            try """
            {"model": "\(model)", "task": "reconstruction", "noise": 0.2, "train": "data/train.csv", "test": "data/test.csv",
             "clip": {"frames": 8, "interval": 1, "crop": 16, "short_side": [16, 16], "flip": 0},
             "optimizer": {"name": "adam", "lr": 0.01}, "schedule": {"name": "constant"},
             "epochs": 4, "batch": 4, "workers": 1, "threads": 1, "output": "run"\(extra)}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let run = try clipkit(["train", try config("")])
        #expect(run.status == 0, "\(run.stderr)")
        let result =
            try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("run/eval.json")))
            as! [String: Any]
        #expect(result["videos"] as? Int == 10)
        let noisy = try #require(result["noisy_psnr"] as? Double)
        let output = try #require(result["psnr"] as? Double)
        #expect(abs(noisy - 20 * log10(1 / 0.2)) < 0.2, "noisy input \(noisy) dB")
        #expect(output.isFinite)
        let epochs = try String(contentsOf: root.appendingPathComponent("run/metrics.jsonl"), encoding: .utf8).split(
            separator: "\n"
        )
        .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(epochs.count == 4)
        let losses = epochs.compactMap { $0["loss"] as? Double }
        #expect(losses.count == 4 && losses[3] < losses[0], "loss \(losses)")
        let png = try Data(contentsOf: root.appendingPathComponent("run/reconstruction.png"))
        func be32(_ at: Int) -> Int { png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        #expect(be32(16) == 8 * 16 && be32(20) == 3 * 16, "a row of 8 frames for each of clean, noisy, output")
        let itsl = try clipkit(["train", try config(#", "itsl": {"iterations": 1}"#)])
        #expect(
            itsl.status == 1 && itsl.stderr.contains("recon-bad.json") && itsl.stderr.contains("no itsl"),
            "\(itsl.stderr)")
        let wrongModel = try clipkit(["train", try config("", model: "kth3l-reg3d")])
        #expect(
            wrongModel.status == 1 && wrongModel.stderr.contains("needs a model whose output is a clip"),
            "\(wrongModel.stderr)")
        let resumed = try clipkit(["train", try config(""), "--resume"])
        #expect(resumed.status == 1 && resumed.stderr.contains("do not resume"), "\(resumed.stderr)")
    }
}

/// `clipkit predict`: the top-1 of each video is eval's on the same videos
/// and views; a broken video is reported, exit status 1, and the others are
/// still scored; a glob and a folder of videos name the same videos.
@Suite struct PredictCLITests {
    @Test func predictGivesEvalsTopOneAndGoesOnPastABrokenVideo() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("predictcli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try tinyVideoMNIST(in: root)
        try """
        {"model": "kth3l-stdcf", "train": "data/train.csv", "num_classes": 10,
         "clip": {"frames": 8, "crop": 16, "short_side": [16, 16], "flip": 0},
         "batch": 4, "workers": 2, "threads": 2, "output": "run", "epochs": 1, "precise_bn_batches": 0}
        """.write(to: root.appendingPathComponent("run.json"), atomically: true, encoding: .utf8)
        let trained = try clipkit(["train", root.appendingPathComponent("run.json").path])
        #expect(trained.status == 0, "\(trained.stderr)")
        let checkpoint = root.appendingPathComponent("run/checkpoint.safetensors").path
        // Three test videos, as a manifest for eval and as paths for predict.
        let lines = try String(contentsOf: root.appendingPathComponent("data/test.csv"), encoding: .utf8)
            .split(separator: "\n")
        let three = lines.dropFirst().prefix(3).map { String($0.split(separator: ",")[0]) }
        let paths = three.map { root.appendingPathComponent("data/" + $0).path }
        let manifest = root.appendingPathComponent("three.csv")
        try (["path,label"] + paths.map { "\($0),0" }).joined(separator: "\n").write(
            to: manifest, atomically: true, encoding: .utf8)
        let eval = try clipkit(["eval", checkpoint, manifest.path, "--views", "2x3", "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let confusion = try JSONSerialization.jsonObject(with: eval.stdout) as! [String: Any]
        // Every video has label 0: its row of the confusion matrix has a 1 at its top-1 class.
        let predictedByEval = (confusion["confusion"] as! [[Int]])[0]

        let broken = root.appendingPathComponent("broken.mp4")
        try Data("not a video".utf8).write(to: broken)
        let result = try clipkit(["predict", checkpoint] + paths + [broken.path, "--views", "2x3", "--json"])
        #expect(result.status == 1, "a broken video fails the job")
        #expect(result.stderr.contains("broken.mp4"), "\(result.stderr)")
        let predictions = try JSONSerialization.jsonObject(with: result.stdout) as! [[String: Any]]
        #expect(predictions.count == 4)
        var counts = [Int](repeating: 0, count: predictedByEval.count)
        for p in predictions.prefix(3) {
            let top = p["top"] as! [[String: Any]]
            #expect(top.count == 5 && p["failure"] == nil)
            counts[top[0]["index"] as! Int] += 1
        }
        #expect(counts == predictedByEval, "predict's top-1 classes are eval's")
        #expect(predictions[3]["failure"] is String && (predictions[3]["top"] as! [Any]).isEmpty)

        let text = try clipkit(["predict", checkpoint, paths[0], "--views", "2x3", "--top", "2"])
        #expect(
            text.status == 0 && String(decoding: text.stdout, as: UTF8.self).split(separator: "\n").count == 1,
            "\(text.stderr)")
        let folder = (paths[0] as NSString).deletingLastPathComponent
        let glob = try clipkit(["predict", checkpoint, folder + "/*.mp4", "--views", "1x1", "--json"])
        let whole = try clipkit(["predict", checkpoint, folder, "--views", "1x1", "--json"])
        #expect(glob.status == 0 && glob.stdout == whole.stdout && !glob.stdout.isEmpty, "\(glob.stderr)")
        let none = try clipkit(["predict", checkpoint, root.path + "/*.nothing"])
        #expect(none.status == 1 && none.stderr.contains("matches no file"))

        // The report of the same run: settings, axis ticks, and Grad-CAM strips from eval --explain.
        let test = root.appendingPathComponent("data/test.csv").path
        let explained = try clipkit([
            "eval", checkpoint, test, "--views", "1x1", "--explain", "1", "--save",
            root.appendingPathComponent("run/eval.json").path
        ])
        #expect(explained.status == 0, "\(explained.stderr)")
        let report = try clipkit(["report", root.appendingPathComponent("run").path])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOf: root.appendingPathComponent("run/report.html"), encoding: .utf8)
        for part in [
            "<h2>Settings</h2>", "kth3l-stdcf", "OpenBLAS core", "ClipKit", "class=\"ytick\"", "class=\"xtick\""
        ] {
            #expect(html.contains(part), "the report shows \(part)")
        }
        let images = html.components(separatedBy: "class=\"gradcam\" src=\"").dropFirst().map {
            String($0.prefix { $0 != "\"" })
        }
        #expect(!images.isEmpty && images.count <= 2, "one correct and one wrong video at most")
        for image in images {
            let png = try Data(contentsOf: root.appendingPathComponent("run/" + image))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(image) is a PNG")
        }
    }
}
