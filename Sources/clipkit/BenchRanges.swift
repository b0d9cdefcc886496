import ArgumentParser
import Clips
import Foundation
import Loader
import Support
import VideoIO

extension ClipKit {
    struct BenchRanges: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ranges",
            abstract: "What remote clip reads cost: the requests and bytes of each training clip's open and decode.",
            discussion:
                """
                One clip after another, in one thread, each from a fresh open as the loader does: a video of \
                the manifest (in turn), a dense clip (mmaction2's sampling, seeded). For every clip it prints \
                the frames, then the requests and bytes asked for while opening (header, index) and while \
                decoding the clip, so that a server's log can be read against them. \
                Example: clipkit bench ranges --manifest urls.csv --clips 64 --json
                """
        )

        @Option(help: "Manifest of http(s) videos or tar members (CSV, JSONL or mmaction2 list).") var manifest: String
        @Option(help: "Frames per clip.") var clipLen = 8
        @Option(help: "Stride between a clip's frames.") var interval = 8
        @Option(help: "Clips to read.") var clips = 64
        @Option(help: "Seed.") var seed: UInt64 = 0
        @Flag(help: "Print JSON.") var json = false

        struct Clip: Encodable {
            var video: String
            var frames: [Int]
            var opening_requests: Int
            var opening_bytes: Int64
            var clip_requests: Int
            var clip_bytes: Int64
            var wait_s: Double
        }

        func run() throws {
            let manifest = try Manifest.load(self.manifest)
            let sampling = DenseSampling(clipLength: clipLen, frameInterval: interval)
            var records: [Clip] = []
            for i in 0..<clips {
                let entry = manifest.entries[i % manifest.count]
                let decoder = try VideoDecoder(
                    path: entry.path, options: entry.decoderOptions, index: entry.storedIndex)
                guard let opened = decoder.network else {
                    throw ValidationError("\(redactedLocations(entry.path)) is not remote: nothing to count")
                }
                var rng = SampleRNG(seed: seed, epoch: 0, sample: i)
                let frames = try sampling.clips(frameCount: decoder.frameCount, test: false, rng: &rng)[0]
                _ = try decoder.frames(at: Array(Set(frames)).sorted())
                let spent = decoder.network!
                records.append(
                    Clip(
                        video: redactedLocations(entry.path), frames: frames, opening_requests: opened.openingRequests,
                        opening_bytes: opened.openingBytes, clip_requests: spent.clipRequests,
                        clip_bytes: spent.clipBytes, wait_s: spent.waitSeconds))
            }
            if json {
                print(try jsonString(records))
                return
            }
            let clipBytes = records.map(\.clip_bytes).reduce(0, +)
            let openingBytes = records.map(\.opening_bytes).reduce(0, +)
            print(
                String(
                    format: "%d clips: %.1f kB and %.2f requests a clip, %.1f kB and %.2f requests an open",
                    records.count, Double(clipBytes) / 1e3 / Double(records.count),
                    Double(records.map(\.clip_requests).reduce(0, +)) / Double(records.count),
                    Double(openingBytes) / 1e3 / Double(records.count),
                    Double(records.map(\.opening_requests).reduce(0, +)) / Double(records.count)))
        }
    }
}
