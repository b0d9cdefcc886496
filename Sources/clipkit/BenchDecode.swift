import ArgumentParser
import Clips
import Foundation
import VideoIO

extension ClipKit {
    struct BenchDecode: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decode",
            abstract: "Decode speed: full sequential decode, or clips of frames at a stride from random windows.")

        @Argument(help: "Video files (not needed with --plan).") var files: [String] = []
        @Option(help: "full | clips | opens (open, decode one frame, close; RSS before and after)") var mode: String =
            "clips"
        @Option(help: "Opens per file (opens mode).") var opens = 1000
        @Option(help: "Frames per clip.") var clipLen = 8
        @Option(help: "Stride between frames of a clip.") var interval = 8
        @Option(help: "Clips per file (clips mode).") var clipsPerFile = 10
        @Option(help: "Seed for the window starts.") var seed: UInt64 = 0
        @Option(help: "Write the clip plan (file, indices) as JSON here, for peers to replay.") var planOut: String?
        @Option(help: "Read the clip plan from here instead of drawing one.") var plan: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let result: Result
            switch mode {
            case "full": result = try benchFull()
            case "clips": result = try benchClips()
            case "opens": result = try benchOpens()
            default: throw ValidationError("--mode must be full, clips or opens")
            }
            if json {
                print(try jsonString(result))
            } else {
                print(
                    String(
                        format: "%@: %d frames in %.3f s = %.1f frames/s", mode, result.frames, result.seconds,
                        result.frames_per_s))
            }

        }

        struct Result: Encodable {
            var mode: String
            var frames: Int
            var seconds: Double
            var frames_per_s: Double
            var files: Int
            var seeks: Int
            var frames_decoded: Int
            var opens_per_s: Double? = nil
            var rss_mb_before: Double? = nil
            var rss_mb_after: Double? = nil
        }

        /// Opens every file `opens` times (decoding frame 0 each time): the
        /// resident set must not grow with the number of opens.
        func benchOpens() throws -> Result {
            var decoded = 0
            func cycle() throws {
                for file in files {
                    let decoder = try VideoDecoder(path: file)
                    _ = try decoder.frames(at: [0])
                    decoded += decoder.counters.framesDecoded
                }
            }
            for _ in 0..<10 { try cycle() }  // warm-up: allocator pools, library state
            let before = residentMegabytes()
            let start = DispatchTime.now()
            for _ in 0..<opens { try cycle() }
            let seconds = elapsed(since: start)
            let count = opens * files.count
            return Result(
                mode: "opens", frames: count, seconds: seconds, frames_per_s: Double(count) / seconds,
                files: files.count, seeks: 0, frames_decoded: decoded,
                opens_per_s: Double(count) / seconds, rss_mb_before: before, rss_mb_after: residentMegabytes())
        }

        func benchFull() throws -> Result {
            var frames = 0
            var decoded = 0
            var seeks = 0
            var checksum = 0
            let start = DispatchTime.now()
            for file in files {
                let decoder = try VideoDecoder(path: file)
                try decoder.decodeAll { _, bytes in
                    frames += 1
                    checksum &+= Int(bytes[bytes.count / 2])
                }
                decoded += decoder.counters.framesDecoded
                seeks += decoder.counters.seeks
            }
            let seconds = elapsed(since: start)
            if checksum == -1 { print("") }  // keeps the conversion from being optimised away
            return Result(
                mode: "full", frames: frames, seconds: seconds, frames_per_s: Double(frames) / seconds,
                files: files.count, seeks: seeks, frames_decoded: decoded)
        }

        struct PlannedClip: Codable {
            var file: String
            var indices: [Int]
        }

        func benchClips() throws -> Result {
            let clips: [PlannedClip]
            if let plan {
                clips = try JSONDecoder().decode([PlannedClip].self, from: Data(contentsOf: URL(fileURLWithPath: plan)))
            } else {
                var rng = SampleRNG(seed: seed)
                var drawn: [PlannedClip] = []
                for file in files {
                    let count = try VideoDecoder(path: file).frameCount
                    let span = (clipLen - 1) * interval + 1
                    for _ in 0..<clipsPerFile {
                        let start = count > span ? Int(rng.next() % UInt64(count - span + 1)) : 0
                        drawn.append(
                            PlannedClip(
                                file: file, indices: (0..<clipLen).map { min(start + $0 * interval, count - 1) }))
                    }
                }
                clips = drawn
            }
            if let planOut {
                try Data(try jsonString(clips).utf8).write(to: URL(fileURLWithPath: planOut), options: .atomic)
            }
            var frames = 0
            var decoded = 0
            var seeks = 0
            var buffer: [UInt8] = []
            let start = DispatchTime.now()
            for clip in clips {
                // One open per clip, as a data loader does.
                let decoder = try VideoDecoder(path: clip.file)
                let bytes = clip.indices.count * (try decoder.frameBytes(.native))
                if buffer.count < bytes { buffer = [UInt8](repeating: 0, count: bytes) }
                try buffer.withUnsafeMutableBytes { try decoder.frames(at: clip.indices, into: $0) }
                frames += clip.indices.count
                decoded += decoder.counters.framesDecoded
                seeks += decoder.counters.seeks
            }
            let seconds = elapsed(since: start)
            return Result(
                mode: "clips", frames: frames, seconds: seconds, frames_per_s: Double(frames) / seconds,
                files: Set(clips.map(\.file)).count, seeks: seeks, frames_decoded: decoded)
        }
    }
}

/// Current resident set size in MiB (VmRSS from /proc/self/status).
func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? -1
        return kb / 1024
    }
    return -1
}

func elapsed(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
