import ArgumentParser
import Foundation
import NN
import Tensor

extension ClipKit {
    struct Model: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Models: summaries and initial checkpoints.", subcommands: [Summary.self, Init.self])

        struct Summary: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Parameters and forward FLOPs (2 × multiply-adds) of a model for one clip.")
            @Argument(help: "Model name (\(ModelZoo.names.joined(separator: ", "))).") var name: String
            @Option(help: "Clip shape CxTxHxW.") var input = "3x16x112x112"
            @Option(help: "Classes.") var classes = 6
            @Option(help: "STDCF layers: composed, factored or automatic (FLOPs are those of the execution that runs).")
            var execution = "automatic"
            @Flag(
                help:
                    """
                    Print JSON: {"params", "flops", "layers": [...]}, and "composedFlops", "factoredFlops" for models \
                    with STDCF layers.
                    """
            )
            var json = false

            func run() throws {
                let shape = input.split(separator: "x").compactMap { Int($0) }
                guard shape.count == 4 else { throw ValidationError("--input must look like 3x16x112x112") }
                guard let stdcf = STDCFExecution(rawValue: execution) else {
                    throw ValidationError("--execution must be composed, factored or automatic")
                }
                let model = try makeModel(name, classes: classes, input: shape)
                setExecution(model, stdcf)
                var s = summarize(model, input: shape)
                if let both = stdcfExecutionFlops(model, input: shape) {
                    (s.composedFlops, s.factoredFlops) = (both.composed, both.factored)
                }
                if json {
                    print(try jsonString(s))
                } else {
                    let width = (s.layers.map(\.name.count).max() ?? 0) + 1
                    for l in s.layers {
                        let name = l.name.padding(toLength: width, withPad: " ", startingAt: 0)
                        print("\(name) \(l.shape)  \(l.params)  \(l.role)")
                    }
                    print(
                        String(
                            format: "%@: %d parameters, %.3f GFLOPs per %@ clip", name, s.params, Double(s.flops) / 1e9,
                            input))
                    if let composed = s.composedFlops, let factored = s.factoredFlops {
                        print(
                            String(
                                format: "STDCF layers all composed: %.3f GFLOPs; all factored: %.3f GFLOPs (%.3f×)",
                                Double(composed) / 1e9, Double(factored) / 1e9, Double(factored) / Double(composed)))
                    }
                }
            }
        }

        struct Init: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a model's initial weights as safetensors (metadata: model, classes, seed).",
                discussion: """
                    --from-2d takes a 2D network's weights in torchvision's layout (the state dict of \
                    torchvision.models.resnet50, \
                    resnet18 or googlenet, saved with safetensors) and inflates them: t×k×k kernels from k×k ones \
                    (--inflate mean: repeated and \
                    divided by t, as I3D; centre: at the centre tap), BN and 1×1 convs copied. What could not be \
                    mapped is listed. \
                    Example: clipkit model init i3d-r50 --from-2d resnet50.safetensors --classes 400 -o i3d.safetensors
                    """)
            @Argument(help: "Model name.") var name: String
            @Option(name: .shortAndLong, help: "Output .safetensors file.") var output: String
            @Option(help: "Classes.") var classes = 6
            @Option(help: "Seed.") var seed: UInt64 = 0
            @Option(
                name: .customLong("from-2d"),
                help: "A 2D network's weights (torchvision layout, .safetensors) to inflate.") var from2d: String?
            @Option(help: "mean (I3D) or centre.") var inflate = "mean"

            func run() throws {
                let model = try makeModel(name, classes: classes, seed: seed)
                if let from2d {
                    guard let inflation = Inflation(rawValue: inflate) else {
                        throw ValidationError("--inflate must be mean or centre")
                    }
                    let state: [String: Tensor]
                    state = try Safetensors.read(from2d).tensors
                    let report = NN.inflate(model, from2D: state, inflation: inflation)
                    guard !report.mapped.isEmpty else {
                        printError(
                            """
                            \(from2d): no tensor matches \(name)'s names (expected torchvision's: conv1.weight, \
                            layer1.0.conv1.weight, … or GoogLeNet's conv1.conv.weight, \
                            inception3a.branch1.conv.weight, …)
                            """
                        )
                        throw ExitCode(1)
                    }
                    print(
                        """
                        \(from2d): \(report.mapped.count) tensors mapped (\(inflate) inflation), \
                        \(report.identity.count) set to identities
                        """
                    )
                    for (n, reason) in report.unmapped { print("  kept initial: \(n): \(reason)") }
                    if !report.unused.isEmpty { print("  unused 2D tensors: \(report.unused.joined(separator: ", "))") }
                }
                try Safetensors.write(
                    model.stateDict(), metadata: ["model": name, "classes": String(classes), "seed": String(seed)],
                    to: output)

                print("wrote \(output): \(name), \(model.parameterCount) parameters")
            }
        }
    }
}

func makeModel(_ name: String, classes: Int, seed: UInt64 = 0, input: [Int] = [1, 30, 28, 28]) throws -> NN.Module {
    try ModelZoo.make(name, classes: classes, seed: seed, input: input)
}
