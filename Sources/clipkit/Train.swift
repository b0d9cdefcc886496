import ArgumentParser
import Clips
import Distributed
import Foundation
import Loader
import NN
import Prep
import Support
import Tensor
import Train

extension ClipKit {
    struct TrainCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract:
                "Train a model from a config (JSON or YAML): full-size, or ITSL stages when the config has 'itsl'.",
            discussion:
                """
                Checkpoints after every epoch into the output folder; Ctrl-C saves one and exits; --resume \
                continues exactly. An output folder that holds a run already is an error unless --resume or \
                --overwrite is given.
                """
        )

        @Argument(help: "Training config (.json, .yaml).") var config: String
        @Flag(help: "Continue from the output folder's checkpoint.") var resume = false
        @Flag(help: "Start again in an output folder that holds a run (its checkpoint and metrics are replaced).")
        var overwrite = false
        @Option(
            help: ArgumentHelp(
                "Winograd convolutions: automatic, space (no tiles along time), 2x2 (F(2×2, 3×3) only) "
                    + "or never (columns, to compare).")
        )
        var winograd = "automatic"
        @Option(help: .hidden) var stopAfterSteps: Int?  // tests: as if Ctrl-C came after this many steps
        // Tests: after every step each rank appends "stage step all spatial temporal joint frozen"
        // (FNV-1a hashes of the weights by role) to PATH.rank<r>.
        @Option(help: .hidden) var weightTrace: String?

        func run() throws {
            let policy = try WinogradPolicy.option(winograd)
            try OpSettings.with(\.winogradPolicy, policy) { try train() }
        }

        func train() throws {
            let loaded = try TrainConfig.load(config)
            if loaded.task == .reconstruction { return try reconstruct(loaded) }
            let trainer = try inFile(config) { try Trainer(config: loaded, world: .world) }
            Interrupt.install()
            trainer.control.stopAfterSteps = stopAfterSteps
            if let weightTrace { traceWeights(trainer, to: "\(weightTrace).rank\(trainer.world.rank)") }
            let c = trainer.config
            let world = trainer.world
            if world.rank == 0 {
                let ranks = world.isDistributed ? " over \(world.size) ranks" : ""
                print(
                    """
                    training \(c.model) (\(trainer.model.parameterCount) parameters) on \(c.train): \
                    \(trainer.plan.phases.count) stage(s), \(trainer.plan.totalEpochs) epochs, \
                    batch \(c.batch)\(ranks); output \(c.output)
                    """)
            }
            let summary = try endingProgressLine { try trainer.run(resume: resume, overwrite: overwrite) }
            if summary.interrupted { throw AgreedExit(code: 130) }
            guard world.rank == 0 else { return }
            print("\nstage        val top-1   peak tensors   peak RSS   input")
            for s in summary.stages {
                print(
                    String(
                        format: "%-12@ %8@   %9.0f MB   %6.0f MB   %@", s.phase,
                        s.valTop1.map { String(format: "%.1f%%", $0) } ?? "–",
                        s.peakTensorMB, s.peakRSSMB, s.input.map(String.init).joined(separator: "x")))
            }
            print("checkpoint: \(summary.checkpoint)")
        }

        /// `task: reconstruction` (Train/Reconstruction.swift): one process, full-size.
        func reconstruct(_ c: TrainConfig) throws {
            let world = Communicator.world
            guard !world.isDistributed, !resume else {
                throw ErrorInFile(config, "reconstruction runs train in one process and do not resume")
            }
            let trainer = try inFile(config) { try ReconstructionTrainer(config: c) }
            trainer.writeImage = { rgb, width, height, path in try writePNG(rgb, width: width, height: height, to: path)
            }
            print(
                """
                training \(c.model) (\(trainer.model.parameterCount) parameters) to remove noise σ = \(c.noise) \
                from \(c.train): 
                """
                    + "\(c.epochs) epochs, batch \(c.batch); output \(c.output)")
            _ = try endingProgressLine { try trainer.run(overwrite: overwrite) }
            print("checkpoint: \(trainer.checkpointPath)")
            guard let test = c.test else { return }
            let result: ReconstructionResult
            let strip = (c.output as NSString).appendingPathComponent("reconstruction.png")
            result = try trainer.evaluate(
                try Manifest.load(test, classes: try c.classes.map(loadClassNames)), strip: strip)

            for f in result.failed { printError(f) }
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            try writeAtomically(
                try encoder.encode(result), to: (c.output as NSString).appendingPathComponent("eval.json"))
            if let psnr = result.psnr, let noisy = result.noisyPSNR {
                print(
                    String(
                        format: "test: %d videos, PSNR %.2f dB (the noisy input: %.2f dB)", result.videos, psnr, noisy))
            } else {
                printError("\(test): no test video could be decoded")
            }
            if !result.failed.isEmpty || result.psnr == nil { throw ExitCode(1) }
        }
    }

    struct EvalCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval",
            abstract: "Multi-view evaluation of a checkpoint: K clips × crops per video, softmax averaged.",
            discussion:
                """
                A video that cannot be read is reported and the others are still scored; the exit status is then 1. \
                Labels must be among the checkpoint's classes.
                """)

        @Argument(help: "Checkpoint written by `clipkit train`.") var checkpoint: String
        @Argument(help: "Manifest of the videos to evaluate.") var manifest: String
        @Option(help: "Clips × crops per video (crops 1 or 3).") var views = "10x3"
        @Option(help: "Dilations t,s of the decomposed layers (default: the run's test dilations).") var dilation:
            String?
        @Option(help: "Tempo τ: clips sampled at τ × the trained frame interval.") var tempo = 1
        @Option(help: "Short side frames are resized to (default: the training crop).") var shortSide: Int?
        @Option(help: "Worker threads.") var workers = 2
        @Option(
            help:
                """
                Recompute BN statistics over this many batches of the run's training clips first (precise BN; for \
                checkpoints trained without it).
                """
        ) var preciseBn = 0
        @Option(help: "Also write the result here (JSON).") var save: String?
        @Option(
            help:
                """
                Grad-CAM strips of up to N correctly and N wrongly classified videos into explain/ beside the \
                checkpoint, for the report.
                """
        ) var explain = 0
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let views = try parseViews(views)
            if let save { try prepareOutput(save) }  // before the evaluation, not after it
            try inFile(checkpoint) {
                let (config, classes, model) = try loadTrainedModel(checkpoint)
                var d = ITSLPlan(config).testDilation
                if let dilation {
                    let v = dilation.split(separator: ",").compactMap { Int($0) }
                    guard v.count == 2, v.allSatisfy({ $0 >= 1 }) else {
                        throw ValidationError("--dilation must be t,s, e.g. 2,2")
                    }
                    d = (v[0], v[1])
                }
                let world = Communicator.world
                let threads = world.isDistributed ? world.coresPerRank : ProcessInfo.processInfo.activeProcessorCount
                try Parallel.with(ParallelSettings(mode: .batch, threads: threads)) {
                    try evaluateRun(
                        config: config, classes: classes, model: model, views: views, dilation: d, world: world)
                }
            }
        }

        /// Precise BN when asked, then the evaluation; rank 0 reports.
        func evaluateRun(
            config: TrainConfig, classes: [String], model: NN.Module, views: (clips: Int, crops: Int),
            dilation d: (temporal: Int, spatial: Int), world: Communicator
        ) throws {
            if preciseBn > 0 {
                // The run's training clips, from the checkpoint's config.
                var c = config
                c.preciseBnBatches = preciseBn
                let trainer = try Trainer(config: c, world: world)
                try Checkpoint.load(from: checkpoint, model: trainer.model, optimizer: nil)
                try trainer.recomputeStatisticsForTesting(epoch: 0, dilation: d)
                try model.load(trainer.model.stateDict())
            }
            let m = try Manifest.load(manifest, classes: classes)
            let c = config.clip
            let line = ProgressLine()
            let progress: ((String, Bool) -> Void)? = json || world.rank != 0 ? nil : { line.report($0, $1) }
            let result = try evaluate(
                model: model, manifest: m, classes: classes,
                spec: ClipSpec(frames: c.frames, interval: c.interval, cropSize: c.crop),
                sampling: c.sampling, clips: views.clips, crops: views.crops,
                side: c.crop,
                shortSide: shortSide ?? config.eval.shortSide ?? c.crop, dilation: d, tempo: tempo,
                workers: world.isDistributed ? min(workers, world.coresPerRank) : workers, seed: config.seed,
                world: world, progress: progress)
            // Every rank has the result; rank 0 reports it, and every rank ends with status 1 when a video failed.
            let someFailed = !result.failed.isEmpty
            guard world.rank == 0 else {
                if someFailed { throw AgreedExit(code: 1) }
                return
            }
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(result)
            if let save { try writeAtomically(data, to: save) }
            if json {
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(
                    String(
                        format:
                            """
                            %d videos, %@ views, dilation t=%d s=%d: video top-1 %.2f%%, top-5 %.2f%%, clip top-1 \
                            %.2f%%, %d failed (%.1f s)
                            """,
                        result.videos, result.views, d.temporal, d.spatial, result.top1, result.top5,
                        result.clipTop1, result.failed.count, result.seconds))
                for f in result.failed { printError("failed: \(f.path): \(f.reason)") }
            }
            if explain > 0 {
                try explainSome(result, manifest: m, config: config, model: model, dilation: d)
            }
            if someFailed { throw AgreedExit(code: 1) }
        }

        /// `--explain N`: strips of the first N correct and the first N wrong videos (manifest order),
        /// and explain.json listing them, beside the checkpoint.
        func explainSome(
            _ result: EvalResult, manifest: Manifest, config: TrainConfig, model: NN.Module,
            dilation d: (temporal: Int, spatial: Int)
        ) throws {
            let predicted = result.predicted ?? []
            let scored = manifest.entries.indices.filter { predicted.indices.contains($0) && predicted[$0] >= 0 }
            let right = scored.filter { predicted[$0] == manifest.entries[$0].label }.prefix(explain)
            let wrong = scored.filter { predicted[$0] != manifest.entries[$0].label }.prefix(explain)
            let folder = ((checkpoint as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
                "explain")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            model.eval()
            applyDilation(model, temporal: d.temporal, spatial: d.spatial)
            var entries: [[String: Any]] = []
            for (k, i) in (Array(right) + Array(wrong)).enumerated() {
                let entry = manifest.entries[i]
                let image = "explain/\(k)-\(predicted[i] == entry.label ? "correct" : "wrong").png"
                let folderOfRun = (folder as NSString).deletingLastPathComponent
                let map = try explainStrip(
                    model: model, config: config, video: entry.path, target: predicted[i],
                    to: (folderOfRun as NSString).appendingPathComponent(image))
                entries.append([
                    "video": entry.path, "label": result.classes[entry.label], "predicted": result.classes[map.target],
                    "probability": Double(map.probabilities[map.target]), "correct": predicted[i] == entry.label,
                    "image": image
                ])
            }
            let json = try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys])
            try writeAtomically(json, to: (folder as NSString).deletingLastPathComponent + "/explain.json")
            if !json.isEmpty && !self.json { print("explain: \(entries.count) Grad-CAM strips in \(folder)") }
        }
    }

    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Write RUN_DIR/report.html: curves, accuracy and peak memory per stage, confusion matrix.")
        @Argument(help: "Output folder of `clipkit train`.") var directory: String
        func run() throws {
            print(try writeReport(runDirectory: directory))
        }
    }
}

/// Runs training; on an error the progress line is ended first, so that the
/// message starts a line of its own.
func endingProgressLine<T>(_ body: () throws -> T) rethrows -> T {
    do { return try body() } catch {
        FileHandle.standardError.write(Data("\n".utf8))
        throw error
    }
}

/// Appends a line of weight hashes per step (see `--weight-trace`).
private func traceWeights(_ trainer: Trainer, to path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: path) else { return }
    var phase = ""
    var step = 0
    trainer.onPhaseStart = {
        phase = $0.name.replacingOccurrences(of: " ", with: "-")
        step = 0
    }
    trainer.onStep = {
        step += 1
        func hash(_ role: ParameterRole?) -> String {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for (_, p) in trainer.model.parameters() where role == nil || p.role == role {
                p.withValues { v in for i in 0..<p.count { h = (h ^ UInt64(v[i].bitPattern)) &* 0x100_0000_01b3 } }
            }
            return String(h, radix: 16)
        }
        let frozen = trainer.model.parameters().first { !$0.1.trainable }?.1.role?.rawValue ?? "none"
        let line = "\(phase) \(step) \(hash(nil)) \(hash(.spatial)) \(hash(.temporal)) \(hash(.joint)) \(frozen)\n"
        handle.write(Data(line.utf8))
    }
}

/// The config, class names and model (weights loaded) of a `clipkit train` checkpoint.
func loadTrainedModel(_ checkpoint: String, classes file: String? = nil) throws -> (TrainConfig, [String], NN.Module) {
    let (_, meta) = try Safetensors.read(checkpoint)
    guard let text = meta["config"], let config = try? TrainConfig.fromJSON(text) else {
        throw ConfigError(file: checkpoint, reason: "not a `clipkit train` checkpoint (no config in its metadata)")
    }
    let classes: [String]
    if let file {
        classes = try loadClassNames(file)
    } else if let stored = meta["classes"] {
        classes = stored.split(separator: "\n").map(String.init)
    } else {
        throw ConfigError(file: checkpoint, reason: "holds no class names; give them with --classes FILE")
    }
    let model = try ModelZoo.make(
        config.model, classes: classes.count, seed: config.seed,
        input: [3, config.clip.frames, config.clip.crop, config.clip.crop])
    try Checkpoint.load(from: checkpoint, model: model, optimizer: nil)
    return (config, classes, model)
}
