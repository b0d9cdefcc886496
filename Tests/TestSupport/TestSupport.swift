import Foundation

/// The repository's root folder (tests read `Fixtures/` from it).
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Path of a file in `Fixtures/`.
public func fixture(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// Peak signal-to-noise ratio in dB between two 8-bit images (infinity when equal).
public func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count, "psnr: sizes differ (\(a.count) vs \(b.count))")
    var sum = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        sum += d * d
    }
    if sum == 0 { return .infinity }
    return 10 * log10(255 * 255 / (sum / Double(a.count)))
}

/// Largest absolute difference between two byte arrays.
public func maxAbsDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

/// `Fixtures/expected.json`, written by `tools/make-fixtures.sh`.
public struct FixtureExpectations: Decodable, Sendable {
    public struct Video: Decodable, Sendable {
        public let codec: String
        public let pix_fmt: String
        public let width: Int
        public let height: Int
        public let frames: Int
        public let keyframes: [Int]
        public let rotation: Int
        public let references: [String: String]
        public let frame_times: [Double]?
    }
    public struct Resized: Decodable, Sendable {
        public let video: String
        public let index: Int
        public let width: Int
        public let height: Int
        public let reference: String
    }
    public let videos: [String: Video]
    public let resized: [Resized]
    public let garbage_middle_bytes: [Int]

    public static func load() throws -> FixtureExpectations {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("expected.json")))
        return try JSONDecoder().decode(FixtureExpectations.self, from: data)
    }

    /// Reference rgb24 bytes the ffmpeg CLI decoded.
    public static func reference(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture("ref/" + name))))
    }
}

/// "" when `a` and `b` are the same bytes, else a short description of how they differ
/// (never the bytes themselves: failures stay readable).
public func byteDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
    if a.count != b.count { return "sizes differ: \(a.count) vs \(b.count) bytes" }
    if a == b { return "" }
    let differing = zip(a, b).filter { $0 != $1 }.count
    return "\(differing) of \(a.count) bytes differ, max difference \(maxAbsDifference(a, b))"
}

/// "" when every |a - b| ≤ atol + rtol·|b|, else where and by how much (never all values).
public func closeness(_ a: [Float], _ b: [Float], rtol: Float = 1e-4, atol: Float = 1e-5) -> String {
    if a.count != b.count { return "sizes differ: \(a.count) vs \(b.count)" }
    var worst = 0
    var worstExcess: Float = 0
    var bad = 0
    for i in 0..<a.count {
        let excess = abs(a[i] - b[i]) - (atol + rtol * abs(b[i]))
        if excess > 0 || a[i].isNaN != b[i].isNaN {
            bad += 1
            if excess > worstExcess || worstExcess == 0 {
                worstExcess = excess
                worst = i
            }
        }
    }
    return bad == 0 ? "" : "\(bad) of \(a.count) differ; worst at \(worst): \(a[worst]) vs \(b[worst])"
}

/// Adler-32 as FFmpeg's framecrc muxer computes it (starting from 0, not 1),
/// as "0x%08x": what `tools/make-corpus.sh` stored for every frame.
public func frameAdler32(_ bytes: some Collection<UInt8>) -> String {
    var a: UInt32 = 0
    var b: UInt32 = 0
    for byte in bytes {
        a = (a + UInt32(byte)) % 65521
        b = (b + a) % 65521
    }
    return "0x" + String(format: "%08x", (b << 16) | a)
}

/// `Fixtures/corpus/corpus.json`, written by `tools/make-corpus.sh`: the frame
/// count of `ffprobe -count_frames` and the framecrc of every rgb24 frame the
/// ffmpeg CLI decodes.
public struct CorpusFile: Decodable, Sendable {
    public let codec: String
    public let pix_fmt: String
    public let width: Int
    public let height: Int
    public let frames: Int
    public let adler32: [String]

    public static func load() throws -> [String: CorpusFile] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("corpus/corpus.json")))
        return try JSONDecoder().decode([String: CorpusFile].self, from: data)
    }

    /// The issue's scattered indices: first, second, either side of every
    /// keyframe, the middle, the last two.
    public func scatteredIndices(keyframes: [Int]) -> [Int] {
        var picks: Set<Int> = [0, 1, frames / 2, frames - 2, frames - 1]
        for k in keyframes { picks.formUnion([k - 1, k, k + 1]) }
        return picks.filter { $0 >= 0 && $0 < frames }.sorted()
    }
}

/// `values` in a fixed scrambled order (sorted by a multiplicative hash of
/// position and `salt`): a "random" request order that every run repeats.
public func scrambled<T>(_ values: [T], salt: Int) -> [T] {
    values.indices.sorted { a, b in
        let (ha, hb) = ((a &+ salt) &* 0x9E37_79B1 & 0xffff, (b &+ salt) &* 0x9E37_79B1 & 0xffff)
        return ha == hb ? a < b : ha < hb
    }.map { values[$0] }
}

/// Runs `executable` with `arguments` (and `environment` added to this
/// process's); its exit status, standard output and error.
public func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, stdout: Data, stderr: String)
{
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, stdout, String(decoding: stderr, as: UTF8.self))
}

/// Runs a tool found on PATH (`ffmpeg`, …); returns its standard output, or
/// throws with its standard error when it exits non-zero.
public func runTool(_ tool: String, _ arguments: [String]) throws -> Data {
    let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), [tool] + arguments)
    guard result.status == 0 else {
        throw ToolFailure(message: "\(tool) \(arguments.joined(separator: " ")): \(result.stderr)")
    }
    return result.stdout
}

public struct ToolFailure: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The Adler-32 of every rgb24 frame the ffmpeg CLI decodes from `input`
/// (a file, or an image pattern such as `dir/img_%05d.jpg`).
/// `extraOutput` goes before the output options (`-map 0:1`, `-an`).
public func ffmpegFrameAdler32(_ input: String, extraInput: [String] = [], extraOutput: [String] = []) throws
    -> [String]
{
    let text = String(
        decoding: try runTool(
            "ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-threads", "1"] + extraInput + ["-i", input] + extraOutput
                + ["-vf", "format=rgb24", "-fps_mode", "passthrough", "-f", "framecrc", "-"]),
        as: UTF8.self)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
        String($0.split(separator: ",").last!).trimmingCharacters(in: .whitespaces)
    }
}

/// A fresh empty folder under the system's temporary folder.
public func temporaryFolder(_ name: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("clipkit-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}
