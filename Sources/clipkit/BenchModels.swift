import ArgumentParser
import Foundation
import NN
import Tensor
import Train

extension ClipKit {
    struct BenchModels: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "models",
            abstract:
                """
                The model table: parameters, GFLOPs, training and inference clips/s and peak tensor memory per \
                clip, per model.
                """,
            discussion: """
                The CPU version of the Deep Analysis supplement's Table 1. Random clips, SGD with momentum, one \
                warm-up step, then \
                --steps timed steps; inference is a forward pass without gradients, BN on running statistics. Memory \
                is the \
                tensor allocator's high-water mark during the timed steps above what lives between steps (weights, \
                gradients, \
                optimizer state), divided by the batch: what each more clip costs, the figure behind the supplement's \
                largest batch.
                Example: clipkit bench models --input 3x8x112x112 --batch 4
                """)
        @Option(help: "Clip shape CxTxHxW.") var input = "3x8x112x112"
        @Option(help: "Clips per step.") var batch = 4
        @Option(help: "Timed steps per model.") var steps = 2
        @Option(help: "Threads.") var threads = 2
        @Option(help: "Comma-separated model names (default: the ResNet families).") var models =
            "r3d50,i3d-r50,s3d-r50,r2plus1d-r50,stdcf-r50,tsm-r50,ctnet-r50,tsn-r50,i3d-r18,s3d-r18,tsn-r18"
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            var model: String, params: Int, gflops: Double
            var train_clips_per_s: Double, inference_clips_per_s: Double
            var train_mb_per_clip: Double, inference_mb_per_clip: Double
        }

        func run() throws {
            let shape = input.split(separator: "x").compactMap { Int($0) }
            guard shape.count == 4, shape.allSatisfy({ $0 > 0 }) else {
                throw ValidationError("--input must look like 3x8x112x112")
            }
            guard batch >= 1, steps >= 1 else { throw ValidationError("--batch and --steps must be ≥ 1") }
            let names = models.split(separator: ",").map(String.init)
            if let unknown = names.first(where: { !ModelZoo.names.contains($0) }) {
                throw ValidationError("unknown model '\(unknown)' (known: \(ModelZoo.names.joined(separator: ", ")))")
            }
            let rows = try Parallel.with(ParallelSettings(mode: .automatic, threads: threads, batch: batch)) {
                try measure(names, shape: shape)
            }
            if json { print(try jsonString(rows)) }
        }

        /// Training and inference speed and memory of each model, printed as a table row unless --json.
        func measure(_ names: [String], shape: [Int]) throws -> [Row] {
            var rng = SeededRNG(seed: 1)
            let x = Tensor(
                shape: [batch] + shape,
                values: (0..<(batch * shape.reduce(1, *))).map { _ in Float.random(in: -1..<1, using: &rng) })
            let labels = (0..<batch).map { $0 % 6 }
            var rows: [Row] = []
            if !json {
                print("model            params   GFLOPs  train clips/s  infer clips/s  train MB/clip  infer MB/clip")
            }
            for name in names {
                let net = try ModelZoo.make(name, classes: 6, input: shape)
                let summary = summarize(net, input: shape)
                let optimizer = SGD(net.parameters().map(\.1), learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
                let step = TrainingStep(model: net, optimizer: optimizer, gradients: LocalGradients())
                func trainStep() throws { try step(x) { softmaxCrossEntropy($0, labels: labels) } }
                net.train()
                try trainStep()
                MemoryMeter.shared.resetPeak()
                var base = MemoryMeter.shared.liveBytes
                var start = DispatchTime.now()
                for _ in 0..<steps { try trainStep() }
                let train = elapsed(since: start)
                let trainPeak = Double(MemoryMeter.shared.peakBytes - base) / 1_048_576
                net.eval()
                _ = GradMode.withNoGrad { net(x) }
                MemoryMeter.shared.resetPeak()
                base = MemoryMeter.shared.liveBytes
                start = DispatchTime.now()
                for _ in 0..<steps { _ = GradMode.withNoGrad { net(x) } }
                let inference = elapsed(since: start)
                let inferencePeak = Double(MemoryMeter.shared.peakBytes - base) / 1_048_576
                let row = Row(
                    model: name, params: summary.params, gflops: Double(summary.flops) / 1e9,
                    train_clips_per_s: Double(batch * steps) / train,
                    inference_clips_per_s: Double(batch * steps) / inference,
                    train_mb_per_clip: trainPeak / Double(batch), inference_mb_per_clip: inferencePeak / Double(batch))
                rows.append(row)
                if !json {
                    print(
                        name.padding(toLength: 14, withPad: " ", startingAt: 0)
                            + String(
                                format: " %7.1fM %8.1f %14.2f %14.2f %14.0f %14.0f", Double(row.params) / 1e6,
                                row.gflops,
                                row.train_clips_per_s, row.inference_clips_per_s, row.train_mb_per_clip,
                                row.inference_mb_per_clip))
                }
                MemoryMeter.shared.releaseFreedMemory()
            }
            return rows
        }
    }
}
