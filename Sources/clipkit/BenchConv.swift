import ArgumentParser
import Foundation
import Tensor

extension ClipKit {
    struct BenchConv: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "conv",
            abstract:
                "Forward, dX and dW time of every convolution shape of a model, and the algorithm each one takes.",
            discussion: """
                The layers are those of kth3l (16 × 3×16×60×80 by default) or of a ResNet-50 (r3d50, stdcf-r50 \
                composed: 3×3×3 middles; r2plus1d-r50: 1×3×3 and 3×1×1) at --input; `count` is how often the \
                shape occurs in the network. Times are medians of 3 runs after a warm-up, in ms. --list prints \
                the shapes only (JSON), for tools/bench/conv_peer.py.
                Example: clipkit bench conv --layers r3d50 --input 3x8x112x112 --batch 4 --json
                """)
        @Option(help: "kth3l, r3d50, stdcf-r50 or r2plus1d-r50.") var layers = "kth3l"
        @Option(help: "Clip shape CxTxHxW (default: the model's bench shape).") var input: String?
        @Option(help: "Batch (default: 16 for kth3l, 4 for the R50s).") var batch: Int?
        @Option(help: "Threads.") var threads = 2
        @Option(help: "blas, batch or automatic.") var parallel = "automatic"
        @Option(
            help: ArgumentHelp(
                "automatic; space: no tiles along time; 2x2: Winograd F(2×2, 3×3) only; "
                    + "never: no Winograd (to measure what they gain).")
        )
        var winograd = "automatic"
        @Option(help: WinogradStacking.help) var stacking = WinogradStacking.automatic
        @Option(help: "Only the layers with these names (comma-separated), e.g. to profile one.") var only: String?
        @Flag(help: "Print the layer shapes as JSON and stop.") var list = false
        @Flag(help: "Print JSON.") var json = false

        struct Result: Encodable {
            var model: String, batch: Int, parallel: String, threads: Int
            var sgemm_peak_gflop_per_s: Double
            var layers: [LayerTime]
        }

        func run() throws {
            guard let mode = Parallelism(rawValue: parallel) else {
                throw ValidationError("--parallel must be blas, batch or automatic")
            }
            let isKTH = layers == "kth3l"
            let shape = (input ?? (isKTH ? "3x16x60x80" : "3x8x112x112")).split(separator: "x").compactMap { Int($0) }
            guard shape.count == 4 else { throw ValidationError("--input must look like 3x8x112x112") }
            let batch = self.batch ?? (isKTH ? 16 : 4)
            var specs: [ConvLayer]
            switch layers {
            case "kth3l": specs = ConvLayer.kth3l(batch: batch, input: shape)
            case "r3d50", "stdcf-r50", "r2plus1d-r50":
                specs = ConvLayer.resnet50(batch: batch, input: shape, rank1: layers == "r2plus1d-r50")
            default: throw ValidationError("--layers must be kth3l, r3d50, stdcf-r50 or r2plus1d-r50")
            }
            if let only {
                let names = only.split(separator: ",").map(String.init)
                let unknown = names.filter { name in !specs.contains { $0.name == name } }
                guard unknown.isEmpty else {
                    throw ValidationError(
                        "--only: no layer \(unknown.joined(separator: ", ")) in \(layers) "
                            + "(layers: \(specs.map(\.name).joined(separator: ", ")))")
                }
                specs = specs.filter { names.contains($0.name) }
            }
            if list {
                print(try jsonString(specs))
                return
            }
            let settings = ParallelSettings(mode: mode, threads: threads, batch: batch)
            let policy = try WinogradPolicy.option(winograd)
            let times = OpSettings.with(\.winogradPolicy, policy) {
                OpSettings.with(\.winogradStacking, stacking) {
                    Parallel.with(settings) { specs.map { $0.measure() } }
                }
            }
            // After the layers: OpenBLAS's own threads spin for a while after
            // a multithreaded GEMM, and took a core from the first layer's
            // batch-parallel forward pass when the peak came first.
            let peak = Parallel.with(ParallelSettings(mode: .blas, threads: threads)) {
                measureSgemm(size: 2048, repeats: 3)
            }
            let result = Result(
                model: layers, batch: batch, parallel: settings.mode.rawValue, threads: threads,
                sgemm_peak_gflop_per_s: peak, layers: times)
            if json {
                print(try jsonString(result))
                return
            }
            print(
                String(format: "sgemm peak %.1f GFLOP/s; %@, batch %d, %@", peak, layers, batch, settings.mode.rawValue)
            )
            for t in times {
                print(
                    String(
                        format: "%@ ×%d (%@): forward %.1f ms (%.0f GFLOP/s), dX %.1f ms, dW %.1f ms", t.name, t.count,
                        t.algorithm, t.forward_ms, t.gflops / t.forward_ms * 1000, t.dx_ms ?? 0, t.dw_ms))
            }
        }
    }
}

/// One convolution shape of a model (as `torch.nn.functional.conv3d` takes it).
struct ConvLayer: Codable {
    var name: String
    /// How often the shape occurs in the network.
    var count: Int
    var batch: Int, cin: Int, cout: Int
    var input: [Int], kernel: [Int], stride: [Int], padding: [Int]
    /// Whether training needs dX (not for the first layer).
    var input_grad: Bool

    static func kth3l(batch: Int, input: [Int]) -> [ConvLayer] {
        let (t, h, w) = (input[1], input[2], input[3])
        return [
            ("conv1", input[0], 32, [t, h, w]), ("conv2", 32, 64, [t, h / 2, w / 2]),
            ("conv3", 64, 128, [t / 2, h / 4, w / 4])
        ].map { name, cin, cout, size in
            ConvLayer(
                name: name, count: 1, batch: batch, cin: cin, cout: cout, input: size, kernel: [3, 3, 3],
                stride: [1, 1, 1], padding: [1, 1, 1], input_grad: name != "conv1")
        }
    }

    /// A 3D ResNet-50's convolutions (Sources/NN/ResNet.swift): the stem,
    /// then per stage the first block's strided 1×1×1 and shortcut, the later
    /// blocks' 1×1×1, the middle convs and the expanding 1×1×1.
    static func resnet50(batch: Int, input: [Int], rank1: Bool) -> [ConvLayer] {
        func layer(_ name: String, _ count: Int, _ cin: Int, _ cout: Int, _ size: [Int], _ k: [Int], _ s: Int = 1)
            -> ConvLayer
        {
            ConvLayer(
                name: name, count: count, batch: batch, cin: cin, cout: cout, input: size, kernel: k, stride: [1, s, s],
                padding: k.map { $0 / 2 }, input_grad: name != "stem")
        }
        var (t, h, w) = (input[1], input[2], input[3])
        var layers = [layer("stem", 1, input[0], 64, [t, h, w], [3, 7, 7], 2)]
        (h, w) = ((h - 1) / 2 + 1, (w - 1) / 2 + 1)  // stem, stride 2
        (h, w) = ((h - 1) / 2 + 1, (w - 1) / 2 + 1)  // max pool 3×3, stride 2, padding 1
        var cin = 64
        for (stage, (blocks, width)) in zip([3, 4, 6, 3], [64, 128, 256, 512]).enumerated() {
            let s = stage > 0 ? 2 : 1
            let prefix = "res\(stage + 2)"
            let (hs, ws) = ((h - 1) / s + 1, (w - 1) / s + 1)
            layers.append(layer("\(prefix).conv1-first", 1, cin, width, [t, h, w], [1, 1, 1], s))
            if blocks > 1 {
                layers.append(layer("\(prefix).conv1", blocks - 1, 4 * width, width, [t, hs, ws], [1, 1, 1]))
            }
            if rank1 {
                layers.append(layer("\(prefix).conv2-spatial", blocks, width, width, [t, hs, ws], [1, 3, 3]))
                layers.append(layer("\(prefix).conv2-temporal", blocks, width, width, [t, hs, ws], [3, 1, 1]))
            } else {
                layers.append(layer("\(prefix).conv2", blocks, width, width, [t, hs, ws], [3, 3, 3]))
            }
            layers.append(layer("\(prefix).conv3", blocks, width, 4 * width, [t, hs, ws], [1, 1, 1]))
            layers.append(layer("\(prefix).shortcut", 1, cin, 4 * width, [t, h, w], [1, 1, 1], s))
            (cin, h, w) = (4 * width, hs, ws)
        }
        return layers
    }

    var options: Conv3dOptions {
        Conv3dOptions(
            stride: (stride[0], stride[1], stride[2]), padding: (padding[0], padding[1], padding[2]))
    }

    var geometry: Conv3dGeometry {
        Conv3dGeometry(inputShape: [batch, cin] + input, weightShape: [cout, cin] + kernel, options: options)
    }

    /// Medians of 3 timed runs after a warm-up, in ms: the forward pass
    /// without gradients, and the backward pass for dX alone and for dW
    /// alone, less the time to make the output gradient (measured apart).
    func measure() -> LayerTime {
        var rng = SeededRNG(seed: 3)
        let x = Tensor(
            shape: [batch, cin] + input, values: rng.uniformFloats(batch * cin * input.reduce(1, *), in: -1..<1))
        let weightValues = rng.uniformFloats(cout * cin * kernel.reduce(1, *), in: -0.1..<0.1)
        let plainWeight = Tensor(shape: [cout, cin] + kernel, values: weightValues)
        let weight = Tensor.parameter([cout, cin] + kernel, role: .joint, values: weightValues)
        let g = geometry
        let outputShape = [batch, cout, g.output.t, g.output.h, g.output.w]
        let up = Tensor(shape: outputShape, repeating: 0.01)
        let leaf = Tensor(zeros: outputShape)
        leaf.requiresGrad = true
        let forward = medianMs { timed { _ = GradMode.withNoGrad { conv3d(x, plainWeight, options) } } }
        // The backward pass from weightedSum(y, up), its forward untimed.
        func backward(_ make: () -> Tensor) -> Double {
            medianMs {
                let loss = weightedSum(make(), up)
                return timed { loss.backward() }
            }
        }
        let upstream = backward {
            leaf.zeroGrad()
            return leaf
        }
        let dw =
            backward {
                weight.zeroGrad()
                return conv3d(x, weight, options)
            } - upstream
        var dx: Double?
        if input_grad {
            x.requiresGrad = true
            dx =
                backward {
                    x.zeroGrad()
                    return conv3d(x, plainWeight, options)
                } - upstream
            x.requiresGrad = false
        }
        return LayerTime(
            name: name, count: count, algorithm: g.algorithm, gflops: 2 * Double(g.multiplyAdds) / 1e9,
            forward_ms: forward, dx_ms: dx.map { max($0, 0) }, dw_ms: max(dw, 0))
    }
}

/// The median in ms of 3 runs of `run` (which returns the seconds it timed), after a warm-up run.
private func medianMs(_ run: () -> Double) -> Double {
    _ = run()
    return (0..<3).map { _ in run() }.sorted()[1] * 1000
}

/// The seconds `body` takes.
private func timed(_ body: () -> Void) -> Double {
    let start = DispatchTime.now()
    body()
    return elapsed(since: start)
}

struct LayerTime: Encodable {
    var name: String, count: Int, algorithm: String
    /// Forward GFLOPs (2 × multiply-adds) of one pass.
    var gflops: Double
    var forward_ms: Double, dx_ms: Double?, dw_ms: Double
}
