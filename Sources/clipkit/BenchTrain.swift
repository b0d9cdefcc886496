import ArgumentParser
import Distributed
import Foundation
import NN
import Tensor
import Train

extension ClipKit {
    struct BenchTrain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Training-step speed and memory of a model on random clips (forward, loss, backward, SGD step).",
            discussion: """
                Example: clipkit bench train --model kth3l-reg3d --input 3x16x60x80 --batch 16 --steps 5 --threads 2 \
                --json. \
                Under mpirun the batch is global, split over the ranks (threads: at most the node's cores per rank), \
                gradients \
                are averaged in buckets, and rank 0 prints the world's clips/s and the communication that backward \
                did not hide.
                """)

        @Option(help: "Model name.") var model = "kth3l-reg3d"
        @Option(help: "Clip shape CxTxHxW.") var input = "3x16x60x80"
        @Option(help: "Clips per step.") var batch = 16
        @Option(help: "Measured steps (after one warm-up step).") var steps = 5
        @Option(help: "Threads.") var threads = 2
        @Option(
            help:
                """
                blas (OpenBLAS threads), batch (samples split over threads) or automatic (batch when the batch \
                has a sample for every thread).
                """
        ) var parallel = "automatic"
        @Option(help: "Classes.") var classes = 6
        @Option(help: "STDCF layers: composed, factored or automatic.") var execution = "automatic"
        @Option(help: WinogradStacking.help) var winogradStacking = WinogradStacking.automatic
        @Option(help: "Under mpirun: gradient bucket size, MiB.") var bucketMb = 25.0
        @Flag(help: "Under mpirun: BatchNorm statistics over the global batch.") var syncBn = false
        @Flag(help: "Print JSON.") var json = false

        struct Result: Encodable {
            var model: String, execution: String, parallel: String, threads: Int, batch: Int, steps: Int
            var clips_per_s: Double, step_ms: Double, peak_rss_mb: Double, peak_tensor_mb: Double
            var gflops_per_step: Double, gflop_per_s: Double, loss: Float
            /// Under mpirun: ranks, waiting for gradient sums after backward (ms per step),
            /// floats summed per step, buckets.
            var ranks: Int, comm_wait_ms: Double, allreduce_mb_per_step: Double, buckets: Int
        }

        func run() throws {
            guard let mode = Parallelism(rawValue: parallel) else {
                throw ValidationError("--parallel must be blas, batch or automatic")
            }
            let shape = input.split(separator: "x").compactMap { Int($0) }
            guard shape.count == 4 else { throw ValidationError("--input must look like 3x16x60x80") }
            let world = Communicator.launchedByMPI ? Communicator.world : .single
            guard batch % world.size == 0 else {
                throw ValidationError("--batch \(batch) does not divide over \(world.size) ranks")
            }
            let batch = self.batch / world.size
            let threads = world.isDistributed ? min(self.threads, world.coresPerRank) : self.threads
            let settings = ParallelSettings(mode: mode, threads: threads, batch: batch)
            try OpSettings.with(\.winogradStacking, winogradStacking) {
                try Parallel.with(settings) {
                    try measure(shape: shape, batch: batch, world: world, settings: settings)
                }
            }
        }

        /// Times `steps` training steps of `batch` clips on this rank after a warm-up step.
        func measure(shape: [Int], batch: Int, world: Communicator, settings: ParallelSettings) throws {
            let threads = settings.threads
            let net = try ModelZoo.make(model, classes: classes)
            guard let stdcfExecution = STDCFExecution(rawValue: execution) else {
                throw ValidationError("--execution must be composed, factored or automatic")
            }
            setExecution(net, stdcfExecution)
            let forwardFlops = summarize(net, input: shape).flops
            var rng = SeededRNG(seed: 1 + UInt64(world.rank))
            let x = Tensor(
                shape: [batch] + shape,
                values: (0..<(batch * shape.reduce(1, *))).map { _ in Float.random(in: -1..<1, using: &rng) })
            let labels = (0..<batch).map { $0 % classes }
            let optimizer = SGD(net.parameters().map(\.1), learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
            net.train()
            try world.broadcastState(of: net)
            let gradients = gradientReducer(for: world, bucketMb: bucketMb)
            let buckets = gradients as? GradientBuckets
            if syncBn && world.isDistributed { useBatchNormReducer(batchNormReducer(for: world), in: net) }
            let trainingStep = TrainingStep(model: net, optimizer: optimizer, gradients: gradients)
            var loss: Float = 0
            func step() throws { loss = try trainingStep(x) { softmaxCrossEntropy($0, labels: labels) }.loss }
            try step()  // warm-up: buffers, libraries
            MemoryMeter.shared.resetPeak()
            let waited = buckets?.waitSeconds ?? 0
            try world.barrier()
            let start = DispatchTime.now()
            for _ in 0..<steps { try step() }
            try world.barrier()
            let seconds = elapsed(since: start)
            let peaks = try world.maximum([ProcessMemory.peakMB(), Double(MemoryMeter.shared.peakBytes) / 1_048_576])
            let commWait = try world.maximum([((buckets?.waitSeconds ?? 0) - waited) / Double(steps)])[0]
            let globalBatch = batch * world.size
            // A training step is about 3× the forward FLOPs (forward, input and weight gradients).
            let stepFlops = 3.0 * Double(forwardFlops) * Double(globalBatch)
            let result = Result(
                model: model, execution: execution, parallel: settings.mode.rawValue, threads: threads,
                batch: globalBatch, steps: steps,
                clips_per_s: Double(globalBatch * steps) / seconds, step_ms: seconds / Double(steps) * 1000,
                peak_rss_mb: peaks[0], peak_tensor_mb: peaks[1],
                gflops_per_step: stepFlops / 1e9, gflop_per_s: stepFlops * Double(steps) / seconds / 1e9, loss: loss,
                ranks: world.size, comm_wait_ms: commWait * 1000,
                allreduce_mb_per_step: Double(buckets?.floatsPerStep ?? 0) * 4 / 1_048_576,
                buckets: buckets?.bucketCount ?? 0)
            guard world.rank == 0 else { return }
            if json {
                print(try jsonString(result))
            } else {
                print(
                    String(
                        format: "%@ (%@, %d threads%@): %.1f clips/s, %.0f ms/step, peak RSS %.0f MB, tensors %.0f MB",
                        model, settings.mode.rawValue, threads,
                        world.isDistributed
                            ? String(
                                format: " × %d ranks, %.0f ms/step waiting for gradient sums", world.size,
                                result.comm_wait_ms) : "",
                        result.clips_per_s, result.step_ms, result.peak_rss_mb, result.peak_tensor_mb))
            }
        }
    }

    struct BenchGemm: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gemm",
            abstract: "The machine's cblas_sgemm speed (GFLOP/s) for square matrices.")
        @Option(help: "Matrix side.") var size = 2048
        @Option(help: "OpenBLAS threads.") var threads = 2
        @Option(help: "Repetitions.") var repeats = 5
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let gflops = Parallel.with(ParallelSettings(mode: .blas, threads: threads)) {
                measureSgemm(size: size, repeats: repeats)
            }
            if json {
                print("{\"gflop_per_s\":\(gflops),\"size\":\(size),\"threads\":\(threads)}")
            } else {
                print(String(format: "sgemm %dx%d, %d threads: %.1f GFLOP/s", size, size, threads, gflops))
            }
        }
    }
}

/// GFLOP/s of cblas_sgemm on square matrices (best of `repeats`).
func measureSgemm(size: Int, repeats: Int) -> Double {
    let a = Tensor(shape: [size, size], repeating: 0.5)
    let b = Tensor(shape: [size, size], repeating: 0.25)
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now()
        _ = GradMode.withNoGrad { linear(a, b, nil) }  // a · bᵀ through cblas_sgemm
        best = min(best, elapsed(since: start))
    }
    return 2 * Double(size * size * size) / best / 1e9
}
