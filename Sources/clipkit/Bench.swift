import ArgumentParser
import Tensor

extension ClipKit {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure ClipKit (compare with peers via tools/bench).",
            subcommands: [
                BenchDecode.self, BenchViews.self, BenchLoader.self, BenchTrain.self, BenchGemm.self, BenchConv.self,
                BenchAllreduce.self, BenchModels.self, BenchEval.self, BenchRanges.self
            ])
    }
}

extension WinogradStacking: ExpressibleByArgument {
    /// The help of `bench conv --stacking` and `bench train --winograd-stacking`.
    static let help = ArgumentHelp(
        "Winograd over stacked samples: automatic (where no brgemm runs), always (AVX-512 too) or never "
            + "(to measure what stacks gain).")
}

extension WinogradPolicy {
    /// The policy that `bench conv --winograd` or `train --winograd` names.
    static func option(_ name: String) throws -> WinogradPolicy {
        guard let policy = WinogradPolicy(rawValue: name) else {
            throw ValidationError("--winograd must be automatic, space, 2x2 or never")
        }
        return policy
    }
}
