import ArgumentParser
import Foundation
import Loader
import NN
import Prep
import Tensor
import Train

extension ClipKit {
    struct Predict: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Top classes of videos by a trained checkpoint (no labels needed; the views and scores of eval).",
            discussion: """
                Each input is a video file, a frame folder, a folder of videos (every video under it) or a glob \
                ('clips/*.avi', quoted so that the shell leaves it). The checkpoint's class names are used; \
                --classes gives them for checkpoints written before they were stored. A video that cannot be \
                read is reported and the others are still scored; the exit status is then 1.
                Example: clipkit predict run/checkpoint.safetensors video.mp4 'more/*.mp4' --top 3
                """)
        @Argument(help: "Checkpoint written by `clipkit train`.") var checkpoint: String
        @Argument(help: "Videos, frame folders, folders of videos or globs.") var inputs: [String]
        @Option(help: "Clips × crops per video (crops 1 or 3).") var views = "10x3"
        @Option(help: "Class list, one name a line (for checkpoints without class names).") var classes: String?
        @Option(help: "Classes to print per video.") var top = 5
        @Option(help: "Worker threads.") var workers = 2
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (clips, crops) = try parseViews(views)
            guard top >= 1 else { throw ValidationError("--top must be ≥ 1") }
            let (config, names, model) = try inFile(checkpoint) { try loadTrainedModel(checkpoint, classes: classes) }
            let (paths, unusable) = videoInputs(inputs)
            guard !paths.isEmpty else {
                for u in unusable { printError("failed: \(u.path): \(u.failure!)") }
                throw ExitCode(1)
            }
            let videos = Manifest(entries: paths.map { ManifestEntry(path: $0, label: 0) }, source: "the videos given")
            let views = TestViews(
                config: config, clips: clips, crops: crops, dilation: ITSLPlan(config).testDilation)
            let line = ProgressLine()
            let predictions =
                try Parallel.with(
                    ParallelSettings(mode: .batch, threads: ProcessInfo.processInfo.activeProcessorCount)
                ) {
                    try predict(
                        model: model, videos: videos, classes: names, views: views, top: top, workers: workers,
                        seed: config.seed, progress: json || paths.count < 2 ? nil : { line.report($0, $1) })
                } + unusable
            if json {
                print(try jsonString(predictions))
            } else {
                for p in predictions where p.failure == nil {
                    let scores = p.top.map { String(format: "%@ %.3f", $0.label, $0.probability) }
                    print("\(p.path): \(scores.joined(separator: ", "))")
                }
            }
            let failed = predictions.filter { $0.failure != nil }
            for p in failed { printError("failed: \(p.path): \(p.failure!)") }
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }
}

/// `--views KxC`: K clips, C crops (1 or 3).
func parseViews(_ text: String) throws -> (clips: Int, crops: Int) {
    let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
    guard parts.count == 2, parts[0] >= 1, parts[1] == 1 || parts[1] == 3 else {
        throw ValidationError("--views must be KxC with C = 1 or 3, e.g. 10x3")
    }
    return (parts[0], parts[1])
}

/// The videos the inputs name, in order: a file or a frame folder as it is,
/// a folder of videos as every video under it (sorted), a glob as what it
/// matches (sorted). An input that names nothing, or a folder that cannot be
/// listed, is returned as a failed prediction, and the others are kept.
func videoInputs(_ inputs: [String]) -> (paths: [String], unusable: [Prediction]) {
    var paths: [String] = []
    var unusable: [Prediction] = []
    for input in inputs {
        let matches = input.contains(where: { "*?[".contains($0) }) ? glob(input) : [input]
        if matches.isEmpty { unusable.append(Prediction(path: input, top: [], failure: "matches no file")) }
        for path in matches {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                unusable.append(Prediction(path: path, top: [], failure: "no such file or folder"))
                continue
            }
            guard isDirectory.boolValue else {
                paths.append(path)
                continue
            }
            do {
                let found = try findVideos(under: path)
                paths +=
                    found.videos.isEmpty ? [path] : found.videos.map { (path as NSString).appendingPathComponent($0) }
            } catch {
                unusable.append(Prediction(path: path, top: [], failure: "\(error)"))
            }
        }
    }
    return (paths, unusable)
}

/// The paths matching a shell pattern, sorted.
private func glob(_ pattern: String) -> [String] {
    var result = glob_t()
    defer { globfree(&result) }
    guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
    return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
}
