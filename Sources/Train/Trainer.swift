import Clips
import Distributed
import Foundation
import Loader
import NN
import Support
import Tensor

/// What one stage (ITSL phase) of a run ended with.
public struct StageResult: Codable, Sendable, Equatable {
    public var phase: String
    public var kind: String
    public var iteration: Int
    /// Global epoch (0-based) the stage ended with.
    public var epoch: Int
    /// Training input per clip, C×T×H×W.
    public var input: [Int]
    public var trainLoss: Double
    public var trainTop1: Double
    public var valTop1: Double?
    public var valTop5: Double?
    public var peakTensorMB: Double
    public var peakRSSMB: Double
}

public struct TrainSummary: Sendable {
    public var stages: [StageResult]
    public var interrupted: Bool
    public var checkpoint: String
}

/// Trains a model from a `TrainConfig`: full-size or ITSL phases, a checkpoint
/// after every epoch (and on Ctrl-C), metrics as JSONL, a live progress line.
/// Resuming continues exactly: data order comes from (seed, epoch), and the
/// checkpoint holds model, BN statistics, optimizer state and the position
/// within an interrupted epoch.
public final class Trainer {
    public let config: TrainConfig
    public let plan: ITSLPlan
    public let model: Module
    public let optimizer: Optimizer
    public let classes: [String]
    let train: Manifest
    let val: Manifest?
    /// Where progress goes: (line, complete). On a terminal every step
    /// redraws the line; otherwise only complete lines (epoch and stage ends) are printed.
    public var progress: (String, Bool) -> Void = ProgressLine().report
    /// When to stop before the plan ends (Ctrl-C, SIGUSR1; tests: after a number of steps).
    public var control = RunControl.signals
    /// Called when a phase starts (dilations and freezing applied) and when its last epoch ends (before validation).
    public var onPhaseStart: ((TrainingPhase) -> Void)?
    public var onPhaseEnd: ((TrainingPhase) -> Void)?
    /// Called after every optimizer step (tests: weights equal on every rank).
    public var onStep: (() -> Void)?
    /// The processes training together (data parallel under mpirun): the
    /// config's batch is global and split over them; rank 0 writes.
    public let world: Communicator
    /// Samples per step on this rank.
    public var localBatch: Int { config.batch / world.size }

    public var checkpointPath: String { (config.output as NSString).appendingPathComponent("checkpoint.safetensors") }
    public var metricsPath: String { (config.output as NSString).appendingPathComponent("metrics.jsonl") }
    var log: RunLog { RunLog(path: metricsPath) }
    var isWriter: Bool { world.rank == 0 }
    /// Synchronised BN: the BN layers sum their statistics over every rank during `run`.
    var syncsBatchNorm: Bool { config.syncBn && world.isDistributed }
    /// How this rank's cores are used: samples split over its threads when the local batch has one for each.
    public var parallelism: ParallelSettings { ParallelSettings(mode: .automatic, threads: threads, batch: localBatch) }
    /// Seconds of this run's steps so far (this process), for the ETA and `control.stopAfterSteps`.
    private var stepSeconds: [Double] = []

    public init(config: TrainConfig, world: Communicator = .single) throws {
        self.config = config
        self.world = world
        guard config.batch % world.size == 0 else {
            throw ConfigError(
                file: config.train,
                reason:
                    """
                    batch \(config.batch) does not divide over \(world.size) ranks; the batch is global, make it \
                    a multiple of the rank count
                    """
            )
        }
        plan = ITSLPlan(config)
        let names: [String]
        if let file = config.classes {
            names = try loadClassNames(file)
        } else {
            guard let n = config.numClasses else {
                throw ConfigError(file: config.train, reason: "give 'classes' (a class list) or 'num_classes'")
            }
            names = (0..<n).map(String.init)
        }
        classes = names
        let train = try Manifest.load(config.train, classes: names)
        let val = try config.val.map { try Manifest.load($0, classes: names) }
        for m in [train] + (val.map { [$0] } ?? []) { try m.checkLabels(classes: names.count) }
        self.train = train
        self.val = val
        model = try ModelZoo.make(
            config.model, classes: names.count, seed: config.seed,
            input: [3, config.clip.frames, config.clip.crop, config.clip.crop])
        optimizer = makeOptimizer(config.optimizer, model.parameters().map(\.1))
    }

    /// The learning rate of global epoch `e` (`scheduledLearningRate(_:plan:epoch:)`).
    public func learningRate(epoch e: Int) -> Float { scheduledLearningRate(config, plan: plan, epoch: e) }

    /// Precise BN for evaluation: statistics of full-size training clips with
    /// the test dilations (or `dilation`).
    public func recomputeStatisticsForTesting(epoch: Int, dilation: (temporal: Int, spatial: Int)? = nil) throws {
        let d = dilation ?? plan.testDilation
        let full = TrainingPhase(
            kind: .full, iteration: 1, epochs: 1, variant: .full, temporalDilation: d.temporal,
            spatialDilation: d.spatial, frozen: nil)
        try recomputeStatistics(onInputsOf: full, epoch: epoch)
    }

    /// Precise BN on the clips `phase` trains on (its stream), with its dilations.
    func recomputeStatistics(onInputsOf phase: TrainingPhase, epoch: Int) throws {
        guard config.preciseBnBatches > 0 else { return }
        applyDilation(model, temporal: phase.temporalDilation, spatial: phase.spatialDilation)
        try recomputeBatchNormStatistics(
            model, loader: try loader(for: phase), epoch: 1_000_000 + epoch, batches: config.preciseBnBatches)
        // Synchronised BN saw the global batches already; otherwise average the ranks' statistics.
        if !syncingNow { try world.averageBuffers(of: model) }
    }

    /// Threads and loader workers on this rank: the config's, at most the
    /// node's cores shared by the ranks on it.
    var threads: Int { world.isDistributed ? min(config.threads, world.coresPerRank) : config.threads }
    var workers: Int { world.isDistributed ? min(config.workers, world.coresPerRank) : config.workers }

    func loader(for phase: TrainingPhase) throws -> ClipLoader {
        try ClipLoader(
            train,
            LoaderConfig(
                spec: config.clip.spec, sampling: config.clip.sampling,
                mode: .train(config.clip.augment, variant: phase.variant), seed: config.seed,
                options: trainingLoaderOptions))
    }

    /// The training loader's options: this rank's part of every global batch,
    /// in the epoch order `shard_order` asks for.
    var trainingLoaderOptions: LoaderOptions {
        var o = LoaderOptions(
            batchSize: localBatch, workers: workers, queueDepth: 3, shuffle: true, dropLast: false,
            seed: config.seed, rank: world.rank, worldSize: world.size)
        if config.shardOrder == .grouped { o.groups = shardGroups(train) }
        return o
    }

    /// Evaluates on the validation manifest with the test dilations (nil without one).
    func validate() throws -> EvalResult? {
        guard let val else { return nil }
        let c = config.clip
        return try evaluate(
            model: model, manifest: val, classes: classes,
            spec: c.spec, sampling: c.sampling, clips: config.eval.clips, crops: config.eval.crops,
            side: c.crop, shortSide: config.eval.shortSide ?? c.crop, dilation: plan.testDilation,
            workers: workers, seed: config.seed, world: world)
    }

    /// Runs (or, with `resume`, continues) the plan. A fresh run into an
    /// output folder that holds a checkpoint already stops with an error
    /// before it writes anything, unless `overwrite` (as Hugging Face's
    /// `overwrite_output_dir`): a finished run is not lost to a typo.
    public func run(resume: Bool = false, overwrite: Bool = false) throws -> TrainSummary {
        try Parallel.with(parallelism) { try runPlan(resume: resume, overwrite: overwrite) }
    }

    /// Whether BN layers sum their statistics over the ranks right now (inside `run`).
    private var syncingNow = false

    private func runPlan(resume: Bool, overwrite: Bool) throws -> TrainSummary {
        MemoryMeter.shared.keepFreedMemory()
        if !isWriter { progress = { _, _ in } }
        if !resume && !overwrite { try checkNoRunIsThere() }
        // Started again: the old checkpoint goes with the old metrics, so that no --resume mixes the two runs.
        if !resume && overwrite && isWriter { try? FileManager.default.removeItem(atPath: checkpointPath) }
        if isWriter {
            try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        }
        let step = TrainingStep(
            model: model, optimizer: optimizer, gradients: gradientReducer(for: world, bucketMb: config.bucketMb))
        if syncsBatchNorm { useBatchNormReducer(batchNormReducer(for: world), in: model) }
        syncingNow = syncsBatchNorm
        defer {
            useBatchNormReducer(nil, in: model)
            syncingNow = false
        }
        stepSeconds = []
        var start = try startingPoint(resume: resume)
        var stages = try log.stages()
        var epoch = start.epoch
        while let (phaseIndex, epochInPhase) = plan.locate(epoch: epoch) {
            let phase = plan.phases[phaseIndex]
            let data = try startPhase(phase, fresh: epochInPhase == 0 && start.step == 0)
            let lastEpoch = epoch - epochInPhase + phase.epochs - 1
            for e in epoch...lastEpoch {
                guard let tally = try runEpoch(e, of: phase, data: data, step: step, from: start) else {
                    return TrainSummary(stages: stages, interrupted: true, checkpoint: checkpointPath)
                }
                start = RunPosition()
                if e == lastEpoch { stages.append(try endPhase(phase, epoch: e, tally: tally, data: data)) }
                try save(epoch: e + 1, step: 0, tally: StepTally())
            }
            epoch = lastEpoch + 1
        }
        return TrainSummary(stages: stages, interrupted: false, checkpoint: checkpointPath)
    }

    /// Stops (on every rank) when rank 0's output folder holds a checkpoint.
    private func checkNoRunIsThere() throws {
        let held = isWriter && FileManager.default.fileExists(atPath: checkpointPath)
        guard try world.broadcast(held ? Data() : nil) != nil else { return }
        throw runFolderHeld(config.output, resumable: true)
    }

    /// Where a run starts: the beginning, or the epoch, step and tally of the checkpoint it resumes.
    struct RunPosition {
        var epoch = 0
        var step = 0
        var tally = StepTally()
    }

    private func startingPoint(resume: Bool) throws -> RunPosition {
        guard resume else {
            if isWriter {
                log.clear()
                try log.append(runDescription())
            }
            try world.broadcastState(of: model)
            return RunPosition()
        }
        // Rank 0's checkpoint, on every rank.
        guard let bytes = try world.rootFile(checkpointPath) else {
            throw ConfigError(file: checkpointPath, reason: "no checkpoint to resume from")
        }
        let meta = try Checkpoint.load(data: bytes, path: checkpointPath, model: model, optimizer: optimizer)
        // Compared as configs, not as text: keys added or retired since the checkpoint do not count.
        guard let stored = meta["config"], (try? TrainConfig.fromJSON(stored)) == config else {
            throw ConfigError(
                file: checkpointPath,
                reason: "was written with another config; resume with the same config or start a new output folder")
        }
        let position = RunPosition(
            epoch: Int(meta["epoch"] ?? "") ?? 0, step: Int(meta["step"] ?? "") ?? 0,
            tally: StepTally(
                lossSum: Double(meta["loss_sum"] ?? "") ?? 0, correct: Int(meta["correct"] ?? "") ?? 0,
                seen: Int(meta["seen"] ?? "") ?? 0))
        if isWriter { try log.trim(before: position.epoch) }
        return position
    }

    /// What the report shows of the run: the config, the model's size, and the
    /// ClipKit, CPU and OpenBLAS it ran on, when.
    func runDescription() throws -> [String: Any] {
        let cpu = CPUFeatures.current
        return [
            "event": "run", "config": try JSONSerialization.jsonObject(with: Data(config.jsonString().utf8)),
            "parameters": model.parameterCount,
            "classes": classes.count, "train_videos": train.count, "val_videos": val?.count ?? 0,
            "clipkit": clipKitVersion, "cpu": cpuModelName(),
            "cpu_id": "\(cpu.vendor) family \(cpu.family) model \(cpu.model)",
            "blas_core": OpenBLAS.shared.core, "ranks": world.size, "threads": threads,
            "started": ISO8601DateFormatter().string(from: Date())
        ]
    }

    /// A phase's data, dilations and frozen parameters; a phase started from
    /// its beginning also starts its own memory peaks.
    private func startPhase(_ phase: TrainingPhase, fresh: Bool) throws -> ClipLoader {
        let data = try loader(for: phase)
        applyDilation(model, temporal: phase.temporalDilation, spatial: phase.spatialDilation)
        freezeOnly(model, role: phase.frozen)
        if fresh {
            MemoryMeter.shared.releaseFreedMemory()
            MemoryMeter.shared.resetPeak()
            ProcessMemory.resetPeak()
        }
        onPhaseStart?(phase)
        return data
    }

    /// Global epoch `e`, from `start.step` on (a resumed epoch carries on with
    /// its tally); the world's tally, or nil when the run stopped in it (checkpoint saved).
    private func runEpoch(
        _ e: Int, of phase: TrainingPhase, data: ClipLoader, step: TrainingStep, from start: RunPosition
    ) throws -> StepTally? {
        optimizer.learningRate = learningRate(epoch: e)
        model.train()
        let iterator = data.epoch(e, startingAt: start.step)
        var tally = start.step > 0 ? start.tally : StepTally()
        var done = start.step
        let epochStart = Date()
        while let batch = try iterator.next() {
            let t0 = Date()
            let (logits, loss) = try step(batchTensor(batch)) {
                softmaxCrossEntropy($0, labels: batch.labels)
            } check: {
                try requireFinite($0, config: config.train, epoch: e, step: done)
            }
            onStep?()
            // The world's figures, and whether any rank was asked to stop (all stop at the same step).
            let stepTally = try StepTally(
                loss: loss, logits: logits, labels: batch.labels,
                stop: control.shouldStop(afterStep: stepSeconds.count + 1)
            ).summed(over: world)
            tally += stepTally
            done += 1
            stepSeconds.append(Date().timeIntervalSince(t0))
            reportStep(phase, epoch: e, step: done, of: iterator.count, tally: tally, since: epochStart)
            if stepTally.stop && done < iterator.count {
                iterator.stop()
                try save(epoch: e, step: done, tally: tally)
                progress(
                    "interrupted: saved \(checkpointPath) at epoch \(e + 1), step \(done); continue with --resume", true
                )
                return nil
            }
        }
        if isWriter {
            try log.append([
                "event": "epoch", "epoch": e, "phase": phase.name, "lr": Double(optimizer.learningRate),
                "loss": tally.meanLoss, "top1": tally.top1,
                "clips_per_s": Double(tally.seen) / max(Date().timeIntervalSince(epochStart), 1e-9),
                "input": data.dataset.sampleShape
            ])
        }
        return tally
    }

    /// The progress line after a step, with the ETA of the whole plan from the last 20 steps.
    private func reportStep(
        _ phase: TrainingPhase, epoch e: Int, step: Int, of steps: Int, tally: StepTally, since epochStart: Date
    ) {
        let recent = stepSeconds.suffix(20)
        let remaining =
            Double(steps - step + (plan.totalEpochs - e - 1) * steps) * (recent.reduce(0, +) / Double(recent.count))
        progress(
            String(
                format: "%@ | epoch %d/%d | step %d/%d | loss %.4f | acc %.1f%% | %.1f clips/s | ETA %@",
                phase.name, e + 1, plan.totalEpochs, step, steps, tally.lossSum / Double(tally.seen),
                100 * Double(tally.correct) / Double(tally.seen),
                Double(tally.seen) / max(Date().timeIntervalSince(epochStart), 1e-9), duration(remaining)),
            step == steps)
    }

    /// The end of a phase: its memory peaks (the largest rank's), then
    /// validation on full-size clips; the stage's result, logged.
    private func endPhase(_ phase: TrainingPhase, epoch e: Int, tally: StepTally, data: ClipLoader) throws
        -> StageResult
    {
        let peaks = try world.maximum([Double(MemoryMeter.shared.peakBytes) / 1_048_576, ProcessMemory.peakMB()])
        onPhaseEnd?(phase)
        switch config.preciseBnInputs {
        case .full: try recomputeStatisticsForTesting(epoch: e)
        case .stage: try recomputeStatistics(onInputsOf: phase, epoch: e)
        }
        let result = try validate()
        applyDilation(model, temporal: phase.temporalDilation, spatial: phase.spatialDilation)
        let stage = StageResult(
            phase: phase.name, kind: phase.kind.rawValue, iteration: phase.iteration, epoch: e,
            input: data.dataset.sampleShape, trainLoss: tally.meanLoss, trainTop1: tally.top1,
            valTop1: result?.top1, valTop5: result?.top5, peakTensorMB: peaks[0], peakRSSMB: peaks[1])
        if isWriter { try log.append(["event": "stage", "stage": try jsonObject(stage)]) }
        progress(
            String(
                format: "%@ done: train loss %.4f, acc %.1f%%%@; peak memory %.0f MB tensors, %.0f MB RSS",
                phase.name, stage.trainLoss, stage.trainTop1,
                result.map { String(format: "; val top-1 %.1f%%", $0.top1) } ?? "", peaks[0], peaks[1]), true)
        return stage
    }

    /// Rank 0 writes the checkpoint (every rank holds the same weights).
    func save(epoch: Int, step: Int, tally: StepTally) throws {
        // Without synchronised BN each rank's running statistics are its own: save their mean.
        if !syncingNow { try world.averageBuffers(of: model) }
        guard world.rank == 0 else { return }
        try Checkpoint.save(
            to: checkpointPath, model: model, optimizer: optimizer, epoch: epoch,
            config: [
                "config": try config.jsonString(), "step": String(step), "loss_sum": String(tally.lossSum),
                "correct": String(tally.correct), "seen": String(tally.seen),
                "classes": classes.joined(separator: "\n"), "model": config.model,
                "test_dilation": "\(plan.testDilation.temporal),\(plan.testDilation.spatial)"
            ])
    }
}

/// The error of a fresh run into `output` when it holds a checkpoint already.
func runFolderHeld(_ output: String, resumable: Bool) -> ConfigError {
    ConfigError(
        file: output,
        reason: "holds a run already (checkpoint.safetensors); "
            + (resumable ? "continue it with --resume, " : "")
            + "start it again with --overwrite (its checkpoint and metrics are replaced), "
            + "or choose another output folder"
    )
}
