import ArgumentParser
import Foundation
import NN
import Tensor
import Train

extension ClipKit {
    struct BenchTrain: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "train",
            abstract: "Training-step speed and memory of a model on random clips (forward, loss, backward, SGD step).",
            discussion: "Example: clipkit bench train --model kth3l-reg3d --input 3x16x60x80 --batch 16 --steps 5 --threads 2 --json")

        @Option(help: "Model name.") var model = "kth3l-reg3d"
        @Option(help: "Clip shape CxTxHxW.") var input = "3x16x60x80"
        @Option(help: "Clips per step.") var batch = 16
        @Option(help: "Measured steps (after one warm-up step).") var steps = 5
        @Option(help: "Threads.") var threads = 2
        @Option(help: "blas (OpenBLAS threads), batch (samples split over threads) or automatic (batch when the batch has a sample for every thread).") var parallel = "automatic"
        @Option(help: "Classes.") var classes = 6
        @Option(help: "STDCF layers: composed, factored or automatic.") var execution = "automatic"
        @Option(help: "MiB of freed tensor blocks kept for reuse (fewer page faults, more resident memory).") var blockCacheMb = 512
        @Flag(help: "Print JSON.") var json = false

        struct Result: Encodable {
            var model: String, execution: String, parallel: String, threads: Int, batch: Int, steps: Int, block_cache_mb: Int
            var clips_per_s: Double, step_ms: Double, peak_rss_mb: Double, peak_tensor_mb: Double
            var gflops_per_step: Double, gflop_per_s: Double, loss: Float
        }

        func run() throws {
            guard let mode = Parallelism(rawValue: parallel) else { throw ValidationError("--parallel must be blas, batch or automatic") }
            let shape = input.split(separator: "x").compactMap { Int($0) }
            guard shape.count == 4 else { throw ValidationError("--input must look like 3x16x60x80") }
            Parallel.configure(mode: mode, threads: threads, batch: batch)
            MemoryMeter.shared.blockCacheLimitBytes = blockCacheMb << 20
            let net: Module
            do { net = try ModelZoo.make(model, classes: classes) } catch let error as ModelError {
                printError(error.description)
                throw ExitCode(1)
            }
            guard let stdcfExecution = STDCFExecution(rawValue: execution) else { throw ValidationError("--execution must be composed, factored or automatic") }
            setExecution(net, stdcfExecution)
            let forwardFlops = summarize(net, input: shape).flops
            var rng = SeededRNG(seed: 1)
            let x = Tensor(shape: [batch] + shape, values: (0..<(batch * shape.reduce(1, *))).map { _ in Float.random(in: -1..<1, using: &rng) })
            let labels = (0..<batch).map { $0 % classes }
            let optimizer = SGD(net.parameters().map(\.1), learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)
            net.train()
            var loss: Float = 0
            func step() {
                for (_, p) in net.parameters() { p.zeroGrad() }
                let l = softmaxCrossEntropy(net(x), labels: labels)
                loss = l.item
                l.backward()
                optimizer.step()
            }
            step()   // warm-up: buffers, libraries
            MemoryMeter.shared.resetPeak()
            let start = DispatchTime.now()
            for _ in 0..<steps { step() }
            let seconds = elapsed(since: start)
            // A training step is about 3× the forward FLOPs (forward, input and weight gradients).
            let stepFlops = 3.0 * Double(forwardFlops) * Double(batch)
            let result = Result(model: model, execution: execution, parallel: Parallel.mode.rawValue, threads: threads, batch: batch, steps: steps, block_cache_mb: blockCacheMb,
                                clips_per_s: Double(batch * steps) / seconds, step_ms: seconds / Double(steps) * 1000,
                                peak_rss_mb: ProcessMemory.peakMB(), peak_tensor_mb: Double(MemoryMeter.shared.peakBytes) / 1_048_576,
                                gflops_per_step: stepFlops / 1e9, gflop_per_s: stepFlops * Double(steps) / seconds / 1e9, loss: loss)
            if json { print(try jsonString(result)) } else {
                print(String(format: "%@ (%@, %d threads): %.1f clips/s, %.0f ms/step, peak RSS %.0f MB, tensors %.0f MB",
                             model, Parallel.mode.rawValue, threads, result.clips_per_s, result.step_ms, result.peak_rss_mb, result.peak_tensor_mb))
            }
        }
    }

    struct BenchGemm: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gemm",
            abstract: "The machine's cblas_sgemm speed (GFLOP/s) for square matrices.")
        @Option(help: "Matrix side.") var size = 2048
        @Option(help: "OpenBLAS threads.") var threads = 2
        @Option(help: "Repetitions.") var repeats = 5
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            BLAS.setThreads(threads)
            let gflops = measureSgemm(size: size, repeats: repeats)
            if json { print("{\"gflop_per_s\":\(gflops),\"size\":\(size),\"threads\":\(threads)}") } else {
                print(String(format: "sgemm %dx%d, %d threads: %.1f GFLOP/s", size, size, threads, gflops))
            }
        }
    }

    struct BenchConv: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "conv",
            abstract: "conv3d forward and backward GFLOP/s on kth3l's layers, against the sgemm peak.")
        @Option(help: "Batch.") var batch = 16
        @Option(help: "Threads.") var threads = 2
        @Option(help: "blas or batch.") var parallel = "batch"
        @Flag(help: "Print JSON.") var json = false

        struct Layer: Encodable { var name: String; var forward_gflop_per_s: Double; var backward_gflop_per_s: Double }
        struct Result: Encodable { var sgemm_peak_gflop_per_s: Double; var layers: [Layer]; var parallel: String }

        func run() throws {
            guard let mode = Parallelism(rawValue: parallel) else { throw ValidationError("--parallel must be blas or batch") }
            BLAS.setThreads(threads)
            let peak = measureSgemm(size: 2048, repeats: 3)
            Parallel.configure(mode: mode, threads: threads)
            var rng = SeededRNG(seed: 3)
            var layers: [Layer] = []
            for (name, c, o, t, h, w) in [("conv1", 3, 32, 16, 60, 80), ("conv2", 32, 64, 16, 30, 40), ("conv3", 64, 128, 8, 15, 20)] {
                let x = Tensor(shape: [batch, c, t, h, w], values: (0..<(batch * c * t * h * w)).map { _ in Float.random(in: -1..<1, using: &rng) })
                x.requiresGrad = name != "conv1"   // the first layer never needs dX
                let weight = Tensor.parameter([o, c, 3, 3, 3], role: .joint, values: (0..<(o * c * 27)).map { _ in Float.random(in: -0.1..<0.1, using: &rng) })
                let options = Conv3dOptions(padding: (1, 1, 1))
                let macs = Double(batch * o * t * h * w * c * 27)
                _ = GradMode.withNoGrad { conv3d(x, weight, options) }
                var start = DispatchTime.now()
                let y = conv3d(x, weight, options)
                let forward = elapsed(since: start)
                let up = Tensor(shape: y.shape, repeating: 0.01)
                start = DispatchTime.now()
                weightedSum(y, up).backward()
                let backward = elapsed(since: start)
                layers.append(Layer(name: name, forward_gflop_per_s: 2 * macs / forward / 1e9,
                                    backward_gflop_per_s: 2 * macs * (x.requiresGrad ? 2 : 1) / backward / 1e9))
            }
            let result = Result(sgemm_peak_gflop_per_s: peak, layers: layers, parallel: mode.rawValue)
            if json { print(try jsonString(result)) } else {
                print(String(format: "sgemm peak %.1f GFLOP/s", peak))
                for l in layers { print(String(format: "%@: forward %.1f GFLOP/s (%.0f%%), backward %.1f GFLOP/s (%.0f%%)", l.name,
                                               l.forward_gflop_per_s, 100 * l.forward_gflop_per_s / peak, l.backward_gflop_per_s, 100 * l.backward_gflop_per_s / peak)) }
            }
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
    let a = Tensor(shape: [size, size], repeating: 0.5), b = Tensor(shape: [size, size], repeating: 0.25)
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now()
        _ = GradMode.withNoGrad { linear(a, b, nil) }   // a · bᵀ through cblas_sgemm
        best = min(best, elapsed(since: start))
    }
    return 2 * Double(size * size * size) / best / 1e9
}
