import ArgumentParser
import Clips
import Foundation
import VideoIO

extension ClipKit {
    struct BenchViews: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "views",
            abstract:
                "Test-time input speed: K clips × 3 crops per video (decode, crop, normalise to V×C×T×H×W floats).")

        @Argument(help: "Video files.") var files: [String]
        @Option(help: "Frames per clip.") var clipLen = 8
        @Option(help: "Stride between a clip's frames.") var interval = 8
        @Option(help: "Temporal clips per video.") var numClips = 10
        @Option(help: "Short side and crop size.") var size = 256
        @Option(help: "Passes over the files.") var repeats = 1
        @Flag(help: "Print JSON.") var json = false

        struct Result: Encodable {
            var videos: Int
            var seconds: Double
            var videos_per_s: Double
            var views: Int
            var frames_decoded: Int
            var checksum: Double
        }

        func run() throws {
            var output: [Float] = []
            var decoded: [UInt8] = []
            var videos = 0
            var views = 0
            var framesDecoded = 0
            var checksum = 0.0
            let start = DispatchTime.now()
            for _ in 0..<repeats {
                for file in files {
                    let decoder = try VideoDecoder(path: file)
                    var rng = SampleRNG(seed: 0)
                    let clips = try DenseSampling(clipLength: clipLen, frameInterval: interval, numClips: numClips)
                        .clips(frameCount: decoder.frameCount, test: true, rng: &rng)
                    let plan = ViewPlan(
                        clips: clips, width: decoder.metadata.width, height: decoder.metadata.height,
                        shortSide: size, crops: .three(size))
                    let frameBytes = try decoder.frameBytes(plan.decodeFormat)
                    if decoded.count < plan.frames.count * frameBytes {
                        decoded = [UInt8](repeating: 0, count: plan.frames.count * frameBytes)
                    }
                    let floats = plan.views.count * plan.viewFloats
                    if output.count < floats { output = [Float](repeating: 0, count: floats) }
                    try decoded.withUnsafeMutableBytes {
                        try decoder.frames(at: plan.frames, format: plan.decodeFormat, into: $0)
                    }
                    decoded.withUnsafeBufferPointer { d in
                        output.withUnsafeMutableBufferPointer {
                            plan.writeViews(
                                decoded: d.baseAddress!, normalization: .imagenet, into: $0.baseAddress!)
                        }
                    }
                    checksum += Double(output[floats / 2])
                    videos += 1
                    views += plan.views.count
                    framesDecoded += decoder.counters.framesDecoded
                }
            }
            let seconds = elapsed(since: start)
            let result = Result(
                videos: videos, seconds: seconds, videos_per_s: Double(videos) / seconds,
                views: views, frames_decoded: framesDecoded, checksum: checksum)
            if json {
                print(try jsonString(result))
            } else {
                print(
                    String(
                        format: "%d videos (%d views) in %.3f s = %.2f videos/s", videos, views, seconds,
                        result.videos_per_s))
            }

        }
    }
}
