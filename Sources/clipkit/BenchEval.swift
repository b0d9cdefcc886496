import ArgumentParser
import Foundation
import NN
import Tensor
import Train

extension ClipKit {
    struct BenchEval: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval",
            abstract: "Inference speed and memory of `eval`'s forward pass: every view of a video in one batch.",
            discussion: """
                Random views (clips × crops of CxTxHxW) stand for one video each; the model runs in eval mode \
                without gradients, exactly as `clipkit eval` scores a batch, and the per-view softmax is averaged. \
                One warm-up video, then --videos timed ones.
                Example: clipkit bench eval --model r3d50 --input 3x8x224x224 --clips 10 --crops 3 --videos 2 --json
                """)

        @Option(help: "Model name.") var model = "r3d50"
        @Option(help: "View shape CxTxHxW.") var input = "3x8x224x224"
        @Option(help: "Temporal clips per video.") var clips = 10
        @Option(help: "Crops per clip.") var crops = 3
        @Option(help: "Timed videos (after one warm-up video).") var videos = 2
        @Option(help: "Threads.") var threads = 2
        @Option(help: "Classes.") var classes = 400
        @Option(help: "STDCF layers: composed, factored or automatic.") var execution = "automatic"
        @Flag(help: "Print JSON.") var json = false

        struct Result: Encodable {
            var model: String, execution: String, threads: Int, views: Int, videos: Int
            var videos_per_s: Double, video_ms: Double, peak_rss_mb: Double, peak_tensor_mb: Double
            var gflops_per_video: Double, gflop_per_s: Double, checksum: Double
        }

        func run() throws {
            let shape = input.split(separator: "x").compactMap { Int($0) }
            guard shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--input must look like 3x8x224x224")
            }
            guard clips >= 1, crops >= 1, videos >= 1 else {
                throw ValidationError("--clips, --crops and --videos must be ≥ 1")
            }
            guard let stdcfExecution = STDCFExecution(rawValue: execution) else {
                throw ValidationError("--execution must be composed, factored or automatic")
            }
            let views = clips * crops
            let net = try ModelZoo.make(model, classes: classes, input: shape)
            setExecution(net, stdcfExecution)
            let flops = Double(summarize(net, input: shape).flops) * Double(views)
            var rng = SeededRNG(seed: 1)
            let x = Tensor(shape: [views] + shape, values: rng.uniformFloats(views * shape.reduce(1, *), in: -1..<1))
            let settings = ParallelSettings(mode: .automatic, threads: threads, batch: views)
            let result = Parallel.with(settings) {
                var checksum = 0.0
                func video() {
                    let scores = averageViewProbabilities(inferenceLogits(net, x), views: views, classes: classes)
                    checksum += Double(scores.reduce(0, +))
                }
                net.eval()
                video()  // warm-up: buffers, libraries
                MemoryMeter.shared.resetPeak()
                let start = DispatchTime.now()
                for _ in 0..<videos { video() }
                let seconds = elapsed(since: start)
                return Result(
                    model: model, execution: execution, threads: threads, views: views, videos: videos,
                    videos_per_s: Double(videos) / seconds, video_ms: seconds / Double(videos) * 1000,
                    peak_rss_mb: ProcessMemory.peakMB(),
                    peak_tensor_mb: Double(MemoryMeter.shared.peakBytes) / 1_048_576,
                    gflops_per_video: flops / 1e9, gflop_per_s: flops * Double(videos) / seconds / 1e9,
                    checksum: checksum / Double(videos + 1))
            }
            if json {
                print(try jsonString(result))
            } else {
                print(
                    String(
                        format: "%@ (%d views of %@, %d threads): %.3f videos/s, %.0f ms/video, %.0f GFLOP/s, "
                            + "peak RSS %.0f MB, tensors %.0f MB",
                        model, views, input, threads, result.videos_per_s, result.video_ms, result.gflop_per_s,
                        result.peak_rss_mb, result.peak_tensor_mb))
            }
        }
    }
}
