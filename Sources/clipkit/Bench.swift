import ArgumentParser

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
