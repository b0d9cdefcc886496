import Foundation
import Testing
import TestSupport

/// Runs the `clipkit` executable built next to the test bundle.
private func clipkit(_ arguments: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
    let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var executable = binDir.appendingPathComponent("clipkit")
    // The test runner may live inside a .xctest bundle folder.
    for _ in 0..<3 where !FileManager.default.fileExists(atPath: executable.path) {
        executable = executable.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("clipkit")
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, stdout, String(decoding: stderr, as: UTF8.self))
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

    @Test(arguments: ["empty.mp4", "text.mp4", "audio_only.mp4", "truncated.mp4", "unsupported_codec.avi", "missing.mp4", "ref"])
    func badInputPrintsOneLineAndExitsOne(_ name: String) throws {
        let result = try clipkit(["probe", fixture(name)])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(fixture(name)))
    }

    @Test func sampleMatchesTheContract() throws {
        let test = try clipkit(["sample", "--num-frames", "300", "--mode", "dense", "--clip-len", "8", "--interval", "8",
                                "--num-clips", "3", "--test"])
        #expect(test.status == 0)
        let clips = try JSONSerialization.jsonObject(with: test.stdout) as! [[Int]]
        #expect(clips == [[0, 8, 16, 24, 32, 40, 48, 56], [122, 130, 138, 146, 154, 162, 170, 178],
                          [243, 251, 259, 267, 275, 283, 291, 299]])
        let slowfast = try clipkit(["sample", "--num-frames", "300", "--mode", "dense", "--clip-len", "8", "--interval", "8",
                                    "--num-clips", "2", "--test", "--convention", "slowfast"])
        #expect((try JSONSerialization.jsonObject(with: slowfast.stdout) as! [[Int]])[1][0] == 118)
        let a = try clipkit(["sample", "--num-frames", "300", "--mode", "uniform", "--clip-len", "8", "--seed", "5", "--sample-index", "3"])
        let b = try clipkit(["sample", "--num-frames", "300", "--mode", "uniform", "--clip-len", "8", "--seed", "5", "--sample-index", "3"])
        #expect(a.stdout == b.stdout && a.status == 0, "same seed and sample, same clip")
        let bad = try clipkit(["sample", "--num-frames", "20", "--mode", "dense", "--clip-len", "8", "--twice-sample", "--test"])
        #expect(bad.status == 1 && bad.stderr.split(separator: "\n").count == 1)
    }

    @Test func prepCheckListsBrokenVideosAndBenchLoaderReports() throws {
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("clipkit-cli-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: manifest) }
        let rows = ["h264_bframes.mp4", "truncated.mp4", "hevc.mkv"].enumerated().map { "\(fixture($1)),\($0)" }
        try (["path,label"] + rows).joined(separator: "\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        let check = try clipkit(["prep", "check", manifest, "--json"])
        #expect(check.status == 1)
        let report = try JSONSerialization.jsonObject(with: check.stdout) as! [String: Any]
        #expect(report["videos"] as? Int == 3)
        #expect((report["broken"] as? [[String: String]])?.map { $0["path"]! } == [fixture("truncated.mp4")])
        let bench = try clipkit(["bench", "loader", "--manifest", manifest, "--clip-len", "4", "--interval", "2", "--crop", "48",
                                 "--short-side", "64-80", "--batch", "2", "--workers", "2", "--clips", "6", "--json"])
        #expect(bench.status == 0, "\(bench.stderr)")
        let result = try JSONSerialization.jsonObject(with: bench.stdout) as! [String: Any]
        #expect(result["clips"] as? Int == 6 && (result["clips_per_s"] as? Double ?? 0) > 0 && (result["peak_rss_mb"] as? Double ?? 0) > 0)
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
