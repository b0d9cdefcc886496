import Foundation
import Loader
import NN
import Prep
import Tensor
import TestSupport
import Testing
import VideoIO

@testable import Train

/// A tiny Video-MNIST (bars in 10 motions, 8 frames of 16×16) and a config for it.
func tinyRun(itsl: Bool, iterations: Int = 1, name: String = UUID().uuidString) throws -> (TrainConfig, URL) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("train-\(name)")
    let data = root.appendingPathComponent("data")
    if !FileManager.default.fileExists(atPath: data.appendingPathComponent("train.csv").path) {
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let bar: [UInt8] = (0..<784).map { (4..<24).contains($0 % 28) && (12..<16).contains($0 / 28) ? 255 : 0 }
        var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 28, 0, 0, 0, 28]
        var labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 40]
        for i in 0..<40 {
            images += bar
            labels.append(UInt8(i % 10))
        }
        try Foundation.Data(images).write(to: data.appendingPathComponent("images"))
        try Foundation.Data(labels).write(to: data.appendingPathComponent("labels"))
        var o = SyntheticOptions()
        (o.trainImages, o.trainLabels, o.testImages, o.testLabels) = (
            (data.path + "/images"), (data.path + "/labels"), (data.path + "/images"), (data.path + "/labels")
        )
        (o.train, o.val, o.test, o.frames, o.width, o.height, o.quiet, o.jobs) = (20, 0, 10, 8, 16, 16, true, 2)
        _ = try writeSyntheticDataset(out: data.path, options: o)
    }
    var config = TrainConfig(model: "kth3l-stdcf", train: data.path + "/train.csv")
    config.val = data.path + "/test.csv"
    config.numClasses = 10
    config.clip.frames = 8
    config.clip.crop = 16
    config.clip.shortSide = [16, 16]
    config.clip.flip = 0
    config.eval.clips = 1
    config.eval.crops = 1
    config.batch = 4
    config.workers = 2
    config.threads = 2
    config.epochs = 2
    config.optimizer.lr = 0.05
    config.output = root.appendingPathComponent("run").path
    if itsl {
        var plan = TrainConfig.ITSL()
        plan.iterations = iterations
        config.itsl = plan
    }
    return (config, root)
}

func snapshot(_ model: Module, role: ParameterRole) -> [String: [Float]] {
    Dictionary(uniqueKeysWithValues: model.parameters().filter { $0.1.role == role }.map { ($0.0, $0.1.scalars) })
}

func stdcfLayers(_ m: Module) -> [STDCFConv] {
    if let s = m as? STDCFConv { return [s] }
    return m.children.flatMap { stdcfLayers($0.1) }
}

@Suite(.serialized) struct ITSLTests {
    @Test func frozenAtomsStayFixedAndDilationsFollowTheTable() throws {
        let (config, root) = try tinyRun(itsl: true, iterations: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let trainer = try Trainer(config: config)
        trainer.progress = { _, _ in }
        var atStart: [String: [Float]] = [:]
        var seen: [String] = []
        var startJoint: [String: [Float]] = [:]
        trainer.onPhaseStart = { phase in
            seen.append(phase.name)
            let layers = stdcfLayers(trainer.model)
            #expect(layers.count == 3)
            // (temporal, spatial): stage-t (γ, 1), stage-s (1, β).
            let expected = phase.kind == .stageT ? (2, 1) : (1, 2)
            #expect(
                layers.allSatisfy { ($0.temporalDilation, $0.spatialDilation) == expected }, "\(phase.name) dilations")
            atStart = snapshot(trainer.model, role: phase.frozen!)
            startJoint = snapshot(trainer.model, role: .joint)
        }
        trainer.onPhaseEnd = { phase in
            #expect(
                snapshot(trainer.model, role: phase.frozen!) == atStart,
                "\(phase.name): the frozen \(phase.frozen!) atoms did not move")
            let other: ParameterRole = phase.frozen == .spatial ? .temporal : .spatial
            #expect(snapshot(trainer.model, role: other) != [:])
            #expect(snapshot(trainer.model, role: .joint) != startJoint, "\(phase.name): α and BN trained")
        }
        let summary = try trainer.run()
        #expect(seen == ["stage-t 1", "stage-s 1", "stage-t 2", "stage-s 2"])
        #expect(summary.stages.map(\.input) == [[3, 8, 8, 8], [3, 4, 16, 16], [3, 8, 8, 8], [3, 4, 16, 16]])
        #expect(summary.stages.allSatisfy { $0.valTop1 != nil && $0.peakTensorMB > 0 })
        // Spatial atoms did train in stage-s (they are not frozen forever).
        let layers = stdcfLayers(trainer.model)
        #expect(
            layers.allSatisfy { ($0.temporalDilation, $0.spatialDilation) == (1, 2) }, "left as the last stage set them"
        )
    }

    @Test func resumingAfterAnInterruptionGivesTheSameWeights() throws {
        let (config, root) = try tinyRun(itsl: true)
        defer { try? FileManager.default.removeItem(at: root) }
        var straight = config
        straight.output = root.appendingPathComponent("straight").path
        let a = try Trainer(config: straight)
        a.progress = { _, _ in }
        _ = try a.run()

        let b = try Trainer(config: config)
        b.progress = { _, _ in }
        b.control.stopAfterSteps = 7  // in the middle of stage-s (5 steps per epoch)
        #expect(try b.run().interrupted)
        let c = try Trainer(config: config)
        c.progress = { _, _ in }
        let resumed = try c.run(resume: true)
        #expect(!resumed.interrupted && resumed.stages.count == 2)
        // Bit-identical in a process of its own (ClipKitCLITests); here other
        // suites may switch the global thread settings mid-run, which changes
        // summation order, so allow for rounding.
        let wa = a.model.stateDict()
        let wc = c.model.stateDict()
        for (name, t) in wa {
            #expect(
                zip(t.scalars, wc[name]!.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) },
                "\(name) the same after resume")
        }
        let straightStages = try a.log.stages()
        #expect(resumed.stages.count == straightStages.count)
        // Metrics: one line per epoch, none duplicated by the interruption.
        let lines = try String(contentsOfFile: c.metricsPath, encoding: .utf8).split(separator: "\n").filter {
            $0.contains("\"event\":\"epoch\"")
        }
        #expect(lines.count == 2)
    }
}

@Suite struct EvaluationTests {
    /// Two views of three classes, softmax by hand: [1/4, 1/2, 1/4] and
    /// [1/5, 1/5, 3/5]; the video score is their mean, whose best class (2)
    /// is not the first view's.
    @Test func viewAveragingIsTheMeanOfPerViewSoftmax() {
        let logits: [Float] = [0, log(2), 0, 0, 0, log(3)]
        let mean = averageViewProbabilities(logits, views: 2, classes: 3)
        #expect(zip(mean, [0.225, 0.35, 0.425] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(topK(mean, 1) == [2])
        #expect(topK(mean, 3) == [2, 1, 0])
    }

    /// Precise BN over one batch: bn1's running mean and (unbiased) variance
    /// become exactly that batch's statistics of conv1's output.
    @Test func preciseBatchNormUsesTheBatchStatistics() throws {
        let (config, root) = try tinyRun(itsl: false)
        defer { try? FileManager.default.removeItem(at: root) }
        var c = config
        c.preciseBnBatches = 1
        let trainer = try Trainer(config: c)
        try trainer.recomputeStatisticsForTesting(epoch: 0)
        let net = trainer.model as! KTH3L
        // The same batch again (same epoch, same seed), through conv1 only.
        let loader = try trainer.loader(for: trainer.plan.phases[0])
        let batch = try loader.epoch(1_000_000).next()!
        let x = Tensor(
            shape: [batch.count] + batch.sampleShape,
            values: Array(batch.data.prefix(batch.count * batch.sampleShape.reduce(1, *))))
        let h = GradMode.withNoGrad { net.conv1(x) }
        let (n, ch) = (h.shape[0], h.shape[1])
        let vol = h.count / (n * ch)
        for k in [0, 7, 31] {
            var values: [Double] = []
            for s in 0..<n { for i in 0..<vol { values.append(Double(h.scalars[(s * ch + k) * vol + i])) } }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
            #expect(abs(Double(net.bn1.runningMean.scalars[k]) - mean) < 1e-4 * max(1, abs(mean)))
            #expect(abs(Double(net.bn1.runningVar.scalars[k]) - variance) < 1e-3 * max(1, variance))
        }
        #expect(net.bn1.momentum == 0.1, "momentum restored")
    }

    /// `precise_bn_inputs: stage`: after a run, BN holds the statistics of the
    /// last stage's own clips (stage-s: half the frames, spatial dilation 2),
    /// recomputed the same way again; `full` leaves other ones.
    @Test func preciseBatchNormCanUseTheStagesOwnInputs() throws {
        func runningMean(_ inputs: TrainConfig.PreciseBNInputs) throws -> (run: [Float], stage: [Float]) {
            let (config, root) = try tinyRun(itsl: true)
            defer { try? FileManager.default.removeItem(at: root) }
            var c = config
            c.preciseBnBatches = 1
            c.preciseBnInputs = inputs
            let trainer = try Trainer(config: c)
            trainer.progress = { _, _ in }
            _ = try trainer.run()
            let net = trainer.model as! KTH3L
            let run = net.bn2.runningMean.scalars
            let last = trainer.plan.phases.last!
            #expect(last.kind == .stageS)
            try trainer.recomputeStatistics(onInputsOf: last, epoch: trainer.plan.totalEpochs - 1)
            return (run, net.bn2.runningMean.scalars)
        }
        func gap(_ r: (run: [Float], stage: [Float])) -> Float { zip(r.run, r.stage).map { abs($0 - $1) }.max()! }
        let stage = try runningMean(.stage)
        #expect(gap(stage) < 1e-5, "the same statistics, up to the threads' summation order")
        let full = try runningMean(.full)
        #expect(gap(full) > 1e-3)
        let json = #"{"model": "kth3l-stdcf", "train": "x", "precise_bn_inputs": "stage"}"#
        #expect(try TrainConfig.fromJSON(json).preciseBnInputs == .stage)
        #expect(throws: (any Error).self) {
            try TrainConfig.fromJSON(#"{"model": "m", "train": "x", "precise_bn_inputs": "all"}"#)
        }
    }

    @Test func evaluatesEveryVideoWithTheViewsAsked() throws {
        let (config, root) = try tinyRun(itsl: false)
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try ModelZoo.make("kth3l-reg3d", classes: 10)
        let m = try Manifest.load(config.val!)
        let r = try evaluate(
            model: model, manifest: m, classes: (0..<10).map(String.init),
            spec: .init(frames: 8, interval: 1, cropSize: 16),
            sampling: .dense, clips: 2, crops: 3, side: 16, shortSide: 16, dilation: (1, 1))
        #expect(r.videos == 10 && r.views == "2x3" && r.failed.isEmpty)
        #expect(r.confusion.flatMap { $0 }.reduce(0, +) == 10)
        #expect(r.top5 >= r.top1)
    }
}

/// The same tiny dataset as folders of JPEG frames (`prep frames`' writer),
/// listed once as a CSV manifest with template and start index, and once as
/// an mmaction2 rawframes list (`folder total_frames label`).
@Suite struct FrameFolderTrainingTests {
    @Test func aFrameFolderManifestTrainsAndEvaluates() throws {
        let (config, root) = try tinyRun(itsl: false)
        defer { try? FileManager.default.removeItem(at: root) }
        let frames = root.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        func convert(_ manifest: String, _ name: String) throws -> (String, String) {
            var entries: [ManifestEntry] = []
            var list = ""
            for (i, e) in try Manifest.load(manifest).entries.enumerated() {
                let folder = frames.appendingPathComponent("\(name)-\(i)").path
                let written = try extractFrames(
                    input: e.path, folder: folder, shortSide: nil, quality: 2, template: rawframesTemplate)
                entries.append(
                    ManifestEntry(
                        path: folder, label: e.label, frames: written.frames, fps: written.fps,
                        template: rawframesTemplate, startIndex: 1))
                list += "\(name)-\(i) \(written.frames) \(e.label)\n"
            }
            let csv = frames.appendingPathComponent(name + ".csv").path
            try Manifest(entries: entries).writeCSV(to: csv)
            let txt = frames.appendingPathComponent(name + ".txt").path
            try list.write(toFile: txt, atomically: true, encoding: .utf8)
            return (csv, txt)
        }
        let (trainCSV, _) = try convert(config.train, "train")
        let (testCSV, testList) = try convert(config.val!, "test")
        var folders = config
        folders.train = trainCSV
        folders.val = testCSV
        folders.epochs = 1
        folders.output = root.appendingPathComponent("run-folders").path
        let trainer = try Trainer(config: folders)
        trainer.progress = { _, _ in }
        let summary = try trainer.run()
        #expect(!summary.interrupted && summary.stages.count == 1)

        let listed = try Manifest.load(testList)
        #expect(listed.entries.map(\.frames) == (try Manifest.load(testCSV)).entries.map(\.frames))
        for manifest in [try Manifest.load(testCSV), listed] {
            #expect(
                manifest.entries.allSatisfy { e in
                    var d: ObjCBool = false
                    return FileManager.default.fileExists(atPath: e.path, isDirectory: &d) && d.boolValue
                })
            let model = try ModelZoo.make("kth3l-reg3d", classes: 10)
            let r = try evaluate(
                model: model, manifest: manifest, classes: (0..<10).map(String.init),
                spec: .init(frames: 8, interval: 1, cropSize: 16), sampling: .dense, clips: 2, crops: 3,
                side: 16, shortSide: 16, dilation: (1, 1))
            #expect(r.videos == 10 && r.failed.isEmpty, "\(r.failed)")
        }
    }
}

@Suite struct ConfigTests {
    @Test func yamlAndJSONGiveTheSameConfigWithDefaults() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        {"model": "kth3l-stdcf", "train": "t.csv", "num_classes": 6, "clip": {"frames": 8, "crop": 60, "short_side": [60, 60]},
         "itsl": {"beta": 2, "gamma": 2, "stage_t": {"epochs": 2}}}
        """.write(to: folder.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try """
        # the same, in YAML
        model: kth3l-stdcf
        train: t.csv
        num_classes: 6
        clip:
          frames: 8
          crop: 60
          short_side: [60, 60]
        itsl:
          beta: 2
          gamma: 2
          stage_t:
            epochs: 2
        """.write(to: folder.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        let a = try TrainConfig.load(folder.appendingPathComponent("a.json").path)
        let b = try TrainConfig.load(folder.appendingPathComponent("a.yaml").path)
        #expect(a == b)
        #expect(a.train == folder.appendingPathComponent("t.csv").path, "paths relative to the config")
        #expect(
            a.itsl?.iterations == 3 && a.itsl?.stageT.epochs == 2 && a.itsl?.stageS.epochs == 1,
            "defaults fill the rest")
        #expect(a.clip.interval == 1 && a.batch == 8)
    }

    @Test func typosAndMissingKeysAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let typo = folder.appendingPathComponent("typo.json").path
        try #"{"model": "x", "train": "t.csv", "clip": {"frame": 8}}"#.write(
            toFile: typo, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try TrainConfig.load(typo) }
        do { _ = try TrainConfig.load(typo) } catch let e as ConfigError {
            #expect(e.reason.hasPrefix("unknown key 'clip.frame'"))
        }
        let missing = folder.appendingPathComponent("missing.json").path
        try #"{"model": "x"}"#.write(toFile: missing, atomically: true, encoding: .utf8)
        do { _ = try TrainConfig.load(missing) } catch let e as ConfigError { #expect(e.reason == "missing 'train'") }
        let mistyped = folder.appendingPathComponent("mistyped.json").path
        try #"{"model": "x", "train": "t.csv", "itsl": {"stage_t": {"epochs": "two"}}}"#.write(
            toFile: mistyped, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try TrainConfig.load(mistyped) }
        do { _ = try TrainConfig.load(mistyped) } catch let e as ConfigError {
            #expect(e.reason.hasPrefix("'itsl.stage_t.epochs': "), "named as the config spells it: \(e.reason)")
        }
        for (entry, key) in [(#""batch": 4.5"#, "batch"), (#""clip": {"crop": 16, "frames": 8.5}"#, "clip.frames")] {
            let fractional = folder.appendingPathComponent("fractional.json").path
            try #"{"model": "x", "train": "t.csv", \#(entry)}"#.write(
                toFile: fractional, atomically: true, encoding: .utf8)
            #expect(throws: ConfigError(file: fractional, reason: "'\(key)': a value of the wrong type")) {
                try TrainConfig.load(fractional)
            }
        }
        let retired = folder.appendingPathComponent("retired.json").path
        try #"{"model": "x", "train": "t.csv", "block_cache_mb": 128}"#.write(
            toFile: retired, atomically: true, encoding: .utf8)
        let config = try TrainConfig.load(retired)
        #expect(config.model == "x", "a retired key is ignored")
        // A checkpoint's config from before the key was retired still reads as the same config.
        let stored = try config.jsonString().replacingOccurrences(
            of: "\"batch\"", with: "\"block_cache_mb\":128,\"batch\"")
        let restored = try TrainConfig.fromJSON(stored)
        #expect(stored.contains("block_cache_mb") && restored == config)
    }

    /// Words are decoded into enums once, when the config is read: a wrong
    /// word names its key (as the config spells it) and the choices; the
    /// stored JSON keeps the words. Values that cannot train are named too.
    @Test(arguments: [
        (#""clip": {"sampling": "dens"}"#, "clip.sampling must be dense, slowfast or uniform, not 'dens'"),
        (#""optimizer": {"name": "sdg"}"#, "optimizer.name must be sgd, adam or adamw, not 'sdg'"),
        (#""schedule": {"name": "linear"}"#, "schedule.name must be constant, cosine or step, not 'linear'"),
        (#""task": "detection""#, "task must be classification or reconstruction, not 'detection'"),
        (#""itsl": {"schedule": "stage"}"#, "itsl.schedule must be global or per_stage, not 'stage'"),
        (#""shard_order": "random""#, "shard_order must be mixed or grouped, not 'random'"),
        (#""epochs": 0"#, "epochs must be ≥ 1"),
        (#""optimizer": {"lr": -1}"#, "optimizer: lr must be > 0, weight_decay ≥ 0 and momentum in [0, 1)"),
        (
            #""itsl": {"stage_t": {"epochs": 0}, "stage_s": {"epochs": 0}}"#,
            "itsl: stage_t.epochs and stage_s.epochs must be ≥ 0, and one of them ≥ 1"
        )
    ])
    func wrongWordsNameTheirKey(_ entry: String, _ reason: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try #"{"model": "kth3l-stdcf", "train": "t.csv", \#(entry)}"#.write(
            toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError(file: file, reason: reason)) { try TrainConfig.load(file) }
        var config = TrainConfig(model: "kth3l-stdcf", train: "t.csv")
        config.clip.sampling = .uniform
        config.optimizer.name = .adamw
        let json = try config.jsonString()
        #expect(json.contains(#""sampling":"uniform""#) && json.contains(#""name":"adamw""#))
        #expect(try TrainConfig.fromJSON(json) == config)
    }

    /// `itsl.schedule`: one cosine over all stages' epochs (global), or the
    /// whole schedule, warm-up included, again in every stage (per_stage).
    @Test func theITSLScheduleRunsGloballyOrPerStage() throws {
        var config = TrainConfig(model: "kth3l-stdcf", train: "x")
        config.optimizer.lr = 0.1
        config.schedule.warmupEpochs = 1
        var itsl = TrainConfig.ITSL()
        itsl.iterations = 2
        itsl.stageT = .init(epochs: 4)
        itsl.stageS = .init(epochs: 4)
        config.itsl = itsl
        let plan = ITSLPlan(config)
        let global = (0..<16).map { scheduledLearningRate(config, plan: plan, epoch: $0) }
        #expect(global == (0..<16).map { scheduledLearningRate(config, totalEpochs: 16, epoch: $0) })
        #expect(global[4] > global[12] && global[12] > global[15])
        config.itsl?.schedule = .perStage
        let perStage = (0..<16).map { scheduledLearningRate(config, plan: plan, epoch: $0) }
        let stage = (0..<4).map { scheduledLearningRate(config, totalEpochs: 4, epoch: $0) }
        #expect(perStage == stage + stage + stage + stage)
        #expect(stage[0] < stage[1] && stage[1] > stage[3], "warm-up, then the decay, in every stage")
        // The word is stored and read back.
        let json = try config.jsonString()
        let back = try TrainConfig.fromJSON(json)
        #expect(json.contains(#""schedule":"per_stage""#) && back == config)
    }

    @Test func theITSLPlanIsTheTable() {
        var config = TrainConfig(model: "kth3l-stdcf", train: "x")
        config.itsl = TrainConfig.ITSL()
        let plan = ITSLPlan(config)
        #expect(
            plan.phases.map(\.name) == ["stage-t 1", "stage-s 1", "stage-t 2", "stage-s 2", "stage-t 3", "stage-s 3"])
        #expect(plan.phases[0].variant == .spatial(beta: 2) && plan.phases[0].frozen == .spatial)
        #expect((plan.phases[0].temporalDilation, plan.phases[0].spatialDilation) == (2, 1))
        #expect(plan.phases[1].variant == .temporal(gamma: 2) && plan.phases[1].frozen == .temporal)
        #expect((plan.phases[1].temporalDilation, plan.phases[1].spatialDilation) == (1, 2))
        #expect(plan.testDilation == (2, 2))
    }
}

@Suite struct TrainingEngineTests {
    /// The tally of a step: the batch's loss times its size, the top-1 hits;
    /// summed over a world of one it is itself; `+=` adds and keeps a stop.
    @Test func aStepTallyCountsAndSums() throws {
        let logits = Tensor(shape: [3, 2], values: [2, 1, 0, 5, 3, 1])
        let step = StepTally(loss: 0.5, logits: logits, labels: [0, 0, 0], stop: false)
        #expect(step == StepTally(lossSum: 1.5, correct: 2, seen: 3, stop: false))
        #expect(try step.summed(over: .single) == step)
        var epoch = StepTally()
        epoch += step
        epoch += StepTally(lossSum: 0.5, correct: 1, seen: 1, stop: true)
        #expect(epoch == StepTally(lossSum: 2, correct: 3, seen: 4, stop: true))
        #expect(epoch.meanLoss == 0.5 && epoch.top1 == 75)
    }

    @Test func runControlStopsAfterTheStepsItIsGiven() {
        var control = RunControl(stopRequested: { false })
        #expect(!control.shouldStop(afterStep: 100))
        control.stopAfterSteps = 3
        #expect(!control.shouldStop(afterStep: 2) && control.shouldStop(afterStep: 3))
        #expect(RunControl(stopRequested: { true }).shouldStop(afterStep: 1))
    }

    /// The step: gradients zeroed, then the objective's; the check sees the
    /// loss before backward, and a throw leaves the weights as they were.
    @Test func aTrainingStepStepsAndChecksFirst() throws {
        let model = try ModelZoo.make("kth3l-reg3d", classes: 3, input: [3, 4, 16, 16])
        let optimizer = SGD(model.parameters().map(\.1), learningRate: 0.1, momentum: 0, weightDecay: 0)
        let step = TrainingStep(model: model, optimizer: optimizer, gradients: LocalGradients())
        let x = Tensor(shape: [2, 3, 4, 16, 16], values: (0..<(2 * 3 * 4 * 256)).map { Float($0 % 7) / 7 })
        let before = model.parameters().map { $0.1.scalars }
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try step(x, objective: { softmaxCrossEntropy($0, labels: [0, 1]) }, check: { _ in throw Refused() })
        }
        #expect(model.parameters().map { $0.1.scalars } == before, "no step after a refused loss")
        let (output, loss) = try step(x) { softmaxCrossEntropy($0, labels: [0, 1]) }
        #expect(output.shape == [2, 3] && loss.isFinite)
        #expect(model.parameters().map { $0.1.scalars } != before, "the optimizer stepped")
        #expect(throws: ConfigError.self) { try requireFinite(.nan, config: "c.json", epoch: 0, step: 0) }
    }
}

/// The recipes in configs/: each loads, names a model of the zoo and a
/// paper's table, and trains one step of its own model, optimizer and
/// schedule on a tiny manifest with the input shrunk to 3×4×32×32.
@Suite(.serialized) struct RecipeTests {
    static let folder = repositoryRoot.appendingPathComponent("configs")
    static let recipes = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { $0.hasSuffix(".yaml") }.sorted()

    @Test func theRecipesAreThere() {
        for model in [
            "tsn-r50", "i3d-r50", "s3d-r50", "tam-r50", "nl-i3d-r50", "slowfast-r50", "r2plus1d-r50", "stdcf-r50",
            "stdcf-r50-itsl"
        ] {
            #expect(Self.recipes.contains("kinetics400-\(model).yaml"), "\(model)")
        }
    }

    @Test(arguments: recipes)
    func aRecipeLoadsAndTrainsOneStep(_ name: String) throws {
        let path = Self.folder.appendingPathComponent(name).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("Table") || text.contains("section"), "names the paper's table or section")
        var config = try TrainConfig.load(path)
        #expect(ModelZoo.names.contains(config.model))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let manifest = root.appendingPathComponent("train.csv")
        // Two steps an epoch: the run stops inside the first epoch.
        let videos = ["h264_bframes.mp4", "vp9.webm", "hevc.mkv", "mpeg4.avi"]
        try (["path,label"] + videos.enumerated().map { "\(fixture($1)),\($0)" }).joined(separator: "\n").write(
            to: manifest, atomically: true, encoding: .utf8)
        config.train = manifest.path
        config.val = nil
        config.classes = nil
        config.numClasses = 400
        (config.clip.frames, config.clip.interval, config.clip.crop, config.clip.shortSide) = (4, 1, 32, [32, 40])
        (config.batch, config.workers, config.threads) = (2, 2, 2)
        config.output = root.appendingPathComponent("run").path
        let trainer = try Trainer(config: config)
        trainer.progress = { _, _ in }
        trainer.control = RunControl(stopRequested: { false }, stopAfterSteps: 1)
        let before = trainer.model.parameters().map { $0.1.scalars }
        let summary = try trainer.run()
        #expect(summary.interrupted, "stopped after its one step, with a checkpoint")
        #expect(trainer.model.parameters().map { $0.1.scalars } != before, "the step changed the weights")
        #expect(FileManager.default.fileExists(atPath: trainer.checkpointPath))
    }
}
