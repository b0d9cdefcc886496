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
            try Parallel.with(settings) { try measure(shape: shape, batch: batch, world: world, settings: settings) }
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
            BLAS.setThreads(threads)
            let gflops = measureSgemm(size: size, repeats: repeats)
            if json {
                print("{\"gflop_per_s\":\(gflops),\"size\":\(size),\"threads\":\(threads)}")
            } else {
                print(String(format: "sgemm %dx%d, %d threads: %.1f GFLOP/s", size, size, threads, gflops))
            }
        }
    }

    struct BenchConv: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "conv",
            abstract:
                "conv3d forward and backward GFLOP/s on kth3l's layers (best of 3 warm runs), against the sgemm peak.")
        @Option(help: "Batch.") var batch = 16
        @Option(help: "Threads.") var threads = 2
        @Option(help: "blas or batch.") var parallel = "batch"
        @Flag(help: "Print JSON.") var json = false

        struct Layer: Encodable {
            var name: String
            var forward_gflop_per_s: Double
            var backward_gflop_per_s: Double
        }
        struct Result: Encodable {
            var sgemm_peak_gflop_per_s: Double
            var layers: [Layer]
            var parallel: String
        }

        func run() throws {
            guard let mode = Parallelism(rawValue: parallel) else {
                throw ValidationError("--parallel must be blas or batch")
            }
            BLAS.setThreads(threads)
            let peak = measureSgemm(size: 2048, repeats: 3)
            let layers = Parallel.with(ParallelSettings(mode: mode, threads: threads)) { measureLayers() }
            let result = Result(sgemm_peak_gflop_per_s: peak, layers: layers, parallel: mode.rawValue)
            if json {
                print(try jsonString(result))
            } else {
                print(String(format: "sgemm peak %.1f GFLOP/s", peak))
                for l in layers {
                    print(
                        String(
                            format: "%@: forward %.1f GFLOP/s (%.0f%%), backward %.1f GFLOP/s (%.0f%%)", l.name,
                            l.forward_gflop_per_s, 100 * l.forward_gflop_per_s / peak, l.backward_gflop_per_s,
                            100 * l.backward_gflop_per_s / peak))
                }
            }
        }

        /// Forward and backward speed of kth3l's three convolutions.
        func measureLayers() -> [Layer] {
            var rng = SeededRNG(seed: 3)
            var layers: [Layer] = []
            for (name, c, o, t, h, w) in [
                ("conv1", 3, 32, 16, 60, 80), ("conv2", 32, 64, 16, 30, 40), ("conv3", 64, 128, 8, 15, 20)
            ] {
                let x = Tensor(
                    shape: [batch, c, t, h, w],
                    values: (0..<(batch * c * t * h * w)).map { _ in Float.random(in: -1..<1, using: &rng) })
                x.requiresGrad = name != "conv1"  // the first layer never needs dX
                let weight = Tensor.parameter(
                    [o, c, 3, 3, 3], role: .joint,
                    values: (0..<(o * c * 27)).map { _ in Float.random(in: -0.1..<0.1, using: &rng) })
                let options = Conv3dOptions(padding: (1, 1, 1))
                let macs = Double(batch * o * t * h * w * c * 27)
                let outputShape = [batch, o, t, h, w]
                let up = Tensor(shape: outputShape, repeating: 0.01)
                // The backward is driven by a weighted sum, whose own backward writes the whole
                // output gradient (157 MB for conv1 at batch 16): that part is timed alone on a
                // leaf of the output's shape and subtracted. Best of 3 after a warm-up run.
                let leaf = Tensor(zeros: outputShape)
                leaf.requiresGrad = true
                var forward = Double.infinity
                var backward = Double.infinity
                var upstream = Double.infinity
                for run in 0..<4 {
                    let warm = run > 0
                    leaf.zeroGrad()
                    var start = DispatchTime.now()
                    weightedSum(leaf, up).backward()
                    if warm { upstream = min(upstream, elapsed(since: start)) }
                    x.zeroGrad()
                    weight.zeroGrad()
                    start = DispatchTime.now()
                    let y = conv3d(x, weight, options)
                    if warm { forward = min(forward, elapsed(since: start)) }
                    start = DispatchTime.now()
                    weightedSum(y, up).backward()
                    if warm { backward = min(backward, elapsed(since: start)) }
                }
                let convBackward = max(backward - upstream, 1e-9)
                layers.append(
                    Layer(
                        name: name, forward_gflop_per_s: 2 * macs / forward / 1e9,
                        backward_gflop_per_s: 2 * macs * (x.requiresGrad ? 2 : 1) / convBackward / 1e9))
            }
            return layers
        }
    }
}

/// Sets the execution of every STDCF layer in `module`.
func setExecution(_ module: NN.Module, _ execution: STDCFExecution) {
    if let layer = module as? STDCFConv { layer.execution = execution }
    for (_, child) in module.children { setExecution(child, execution) }
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
