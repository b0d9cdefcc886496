import ArgumentParser
import Clips
import Foundation
import Loader
import Support
import Train
import VideoIO

extension ClipKit {
    struct BenchLoader: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "loader",
            abstract: "Clip loading speed and memory: the prefetching loader over a manifest.",
            discussion:
                """
                Example: clipkit bench loader --manifest train.csv --mode train --clip-len 8 --interval 8 --crop \
                224 --batch 8 --workers 2 --clips 400 --json
                """
        )

        enum Mode: String, ExpressibleByArgument { case train, test }

        @Option(help: "Manifest (CSV, JSONL or mmaction2 list).") var manifest: String
        @Option(help: "train | test (10 clips × 3 crops per video).") var mode: Mode = .train
        @Option(help: "Frames per clip.") var clipLen = 8
        @Option(help: "Stride between a clip's frames.") var interval = 8
        @Option(help: "Training crop size.") var crop = 224
        @Option(help: "Training short side range, as A-B.") var shortSide = "256-320"
        @Option(help: "Samples per batch.") var batch = 8
        @Option(help: "Worker threads.") var workers = 2
        @Option(help: "Batches in flight.") var queueDepth = 4
        @Option(help: "Samples (train) or videos (test) to load; epochs repeat as needed.") var clips = 400
        @Option(help: "Test mode: temporal clips per video.") var numClips = 10
        @Option(help: "Seed.") var seed: UInt64 = 0
        @Option(
            help:
                """
                Also write every batch loaded: PREFIX.f32 (float32 samples in order) and PREFIX.json (labels and \
                videos per batch).
                """
        ) var dump: String?
        @Flag(help: "Print JSON.") var json = false

        struct Result: Encodable {
            var mode: String
            var clips: Int
            var seconds: Double
            var clips_per_s: Double
            var peak_rss_mb: Double
            var batches: Int
            var replaced: Int
            var failed: Int
            var wait_s: Double
            var mean_queue_occupancy: Double
            var buffers: Int
            /// Remote videos: requests and bytes asked for while opening (headers, indexes) and for the
            /// clips, and the seconds the workers waited on them (summed over workers).
            var opening_requests: Int
            var opening_bytes: Int64
            var clip_requests: Int
            var clip_bytes: Int64
            var network_wait_s: Double
            var connections: Int
        }

        func run() throws {
            let manifest: Manifest
            manifest = try Manifest.load(self.manifest)
            let parts = shortSide.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] <= parts[1] else {
                throw ValidationError("--short-side must look like 256-320")
            }
            let loadMode: LoadMode =
                mode == .train
                ? .train(TrainAugment(shortSideRange: parts[0]...parts[1], cropSize: crop), variant: .full)
                : .test(numClips: numClips, crops: .three(256), shortSide: 256)
            let loader = try ClipLoader(
                manifest,
                LoaderConfig(
                    spec: ClipSpec(frames: clipLen, interval: interval, cropSize: crop), mode: loadMode, seed: seed,
                    options: LoaderOptions(batchSize: batch, workers: workers, queueDepth: queueDepth, seed: seed)))
            var loaded = 0
            var batches = 0
            var replaced = 0
            var failed = 0
            var readySum = 0
            var wait = 0.0
            var network = NetworkCounters()
            var checksum: Float = 0
            let start = DispatchTime.now()
            var epoch = 0
            var dumped = Data()
            var dumpedBatches: [[String: [Int]]] = []
            while loaded < clips {
                let iterator = loader.epoch(epoch)
                while loaded < clips, let b = try iterator.next() {
                    loaded += b.count
                    batches += 1
                    checksum += b.data[b.data.count / 2]
                    if dump != nil {
                        dumped.append(UnsafeBufferPointer(start: b.data.baseAddress, count: b.data.count))
                        dumpedBatches.append(["labels": b.labels, "videos": b.videos])
                    }
                }
                iterator.stop()
                let s = iterator.stats
                replaced += s.replaced
                failed += s.failed
                wait += s.waitSeconds
                network = network + s.network
                readySum += s.readySum
                epoch += 1
            }
            let seconds = elapsed(since: start)
            if checksum.isNaN { print("") }
            if let dump {
                try writeAtomically(dumped, to: dump + ".f32")
                try writeAtomically(try JSONSerialization.data(withJSONObject: dumpedBatches), to: dump + ".json")
            }
            let result = Result(
                mode: mode.rawValue, clips: loaded, seconds: seconds, clips_per_s: Double(loaded) / seconds,
                peak_rss_mb: ProcessMemory.peakMB(), batches: batches, replaced: replaced, failed: failed,
                wait_s: wait, mean_queue_occupancy: Double(readySum) / Double(max(batches, 1)),
                buffers: loader.buffersAllocated, opening_requests: network.openingRequests,
                opening_bytes: network.openingBytes, clip_requests: network.clipRequests,
                clip_bytes: network.clipBytes, network_wait_s: network.waitSeconds, connections: network.connections)
            if json {
                print(try jsonString(result))
            } else {
                print(
                    String(
                        format: "%d %@ in %.2f s = %.1f/s, peak RSS %.0f MB", loaded,
                        mode == .train ? "clips" : "videos",
                        seconds, result.clips_per_s, result.peak_rss_mb))
                if network.openingRequests > 0 {
                    print(
                        String(
                            format:
                                "network: %d requests for %.1f MB of clips, %d for %.1f MB of headers and indexes, "
                                + "%d connections; workers waited %.2f s",
                            network.clipRequests, Double(network.clipBytes) / 1e6, network.openingRequests,
                            Double(network.openingBytes) / 1e6, network.connections, network.waitSeconds))
                }
            }
        }
    }
}
