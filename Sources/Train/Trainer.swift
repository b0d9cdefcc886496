import Clips
import Distributed
import Foundation
import Loader
import NN
import Tensor

/// Ctrl-C: the trainer finishes the step it is on, saves a checkpoint and
/// returns. Under mpirun any rank's request stops every rank at the same step;
/// mpirun itself kills its ranks on Ctrl-C (SIGTERM, SIGKILL a second later)
/// but forwards SIGUSR1, so `kill -USR1 <mpirun's pid>` is the graceful stop there.
public enum Interrupt {
    nonisolated(unsafe) public static var requested = false
    /// Routes SIGINT and SIGUSR1 to `requested` (a second Ctrl-C still kills at once).
    public static func install() {
        for s in [SIGINT, SIGUSR1] {
            signal(s) { _ in
                if Interrupt.requested { _exit(130) }
                Interrupt.requested = true
            }
        }
    }
}

/// Process memory: the kernel's resident high-water mark, resettable (Linux).
public enum ProcessMemory {
    /// Peak resident set size (VmHWM) in MB, or -1 when unknown.
    public static func peakMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Double($0) }.first ?? -1) / 1024
        }
        return -1
    }
    /// Resets VmHWM to the current RSS ("5" to /proc/self/clear_refs), so a stage's peak is its own.
    public static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}

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
    public var progress: (String, Bool) -> Void = terminalProgress
    /// Stops as if Ctrl-C came after this many steps (tests).
    public var stopAfterSteps: Int?
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

    public init(config: TrainConfig, world: Communicator = .single) throws {
        self.config = config
        self.world = world
        guard config.batch % world.size == 0 else {
            throw ConfigError(
                file: config.train,
                reason:
                    "batch \(config.batch) does not divide over \(world.size) ranks; the batch is global, make it a multiple of the rank count"
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
        for (file, m) in [(config.train, train)] + (val.map { [(config.val!, $0)] } ?? []) {
            if let bad = m.entries.first(where: { !(0..<names.count).contains($0.label) }) {
                throw ConfigError(
                    file: file, reason: "label \(bad.label) of \(bad.path) is outside the \(names.count) classes")
            }
        }
        self.train = train
        self.val = val
        model = try ModelZoo.make(
            config.model, classes: names.count, seed: config.seed,
            input: [3, config.clip.frames, config.clip.crop, config.clip.crop])
        optimizer = makeOptimizer(config.optimizer, model.parameters().map(\.1))
    }

    /// The learning rate of global epoch `e`.
    public func learningRate(epoch e: Int) -> Float {
        scheduledLearningRate(config, totalEpochs: plan.totalEpochs, epoch: e)
    }

    /// Precise BN for evaluation: statistics of full-size training clips with
    /// the test dilations (or `dilation`).
    public func recomputeStatisticsForTesting(epoch: Int, dilation: (temporal: Int, spatial: Int)? = nil) throws {
        guard config.preciseBnBatches > 0 else { return }
        let d = dilation ?? plan.testDilation
        applyDilation(model, temporal: d.temporal, spatial: d.spatial)
        let full = TrainingPhase(
            kind: .full, iteration: 1, epochs: 1, variant: .full, temporalDilation: 1, spatialDilation: 1, frozen: nil)
        try recomputeBatchNormStatistics(
            model, loader: loader(for: full), epoch: 1_000_000 + epoch, batches: config.preciseBnBatches)
        // Synchronised BN saw the global batches already; otherwise average the ranks' statistics.
        if BatchNormSync.reduce == nil { try world.averageBuffers(of: model) }
    }

    /// Threads and loader workers on this rank: the config's, at most the
    /// node's cores shared by the ranks on it.
    var threads: Int { world.isDistributed ? min(config.threads, world.coresPerRank) : config.threads }
    var workers: Int { world.isDistributed ? min(config.workers, world.coresPerRank) : config.workers }

    func loader(for phase: TrainingPhase) -> ClipLoader {
        let c = config.clip
        let augment = TrainAugment(
            shortSideRange: c.shortSide[0]...c.shortSide[1], cropSize: c.crop, flipProbability: c.flip)
        let dataset = ClipDataset(
            manifest: train, spec: ClipSpec(frames: c.frames, interval: c.interval, cropSize: c.crop),
            sampling: SamplingKind(rawValue: c.sampling) ?? .dense, mode: .train(augment, variant: phase.variant),
            seed: config.seed)
        return ClipLoader(
            dataset: dataset,
            options: LoaderOptions(
                batchSize: localBatch, workers: workers, queueDepth: 3,
                shuffle: true, dropLast: false, seed: config.seed,
                rank: world.rank, worldSize: world.size))
    }

    /// Evaluates on the validation manifest with the test dilations (nil without one).
    func validate() throws -> EvalResult? {
        guard let val else { return nil }
        let c = config.clip
        return try evaluate(
            model: model, manifest: val, classes: classes,
            spec: ClipSpec(frames: c.frames, interval: c.interval, cropSize: c.crop),
            sampling: SamplingKind(rawValue: c.sampling) ?? .dense, clips: config.eval.clips, crops: config.eval.crops,
            side: c.crop, shortSide: config.eval.shortSide ?? c.crop, dilation: plan.testDilation,
            workers: workers, seed: config.seed, world: world)
    }

    /// Runs (or, with `resume`, continues) the plan.
    public func run(resume: Bool = false) throws -> TrainSummary {
        Parallel.configure(mode: .automatic, threads: threads, batch: localBatch)
        MemoryMeter.shared.keepFreedMemory()
        let writer = world.rank == 0
        if !writer { progress = { _, _ in } }
        if writer { try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true) }
        let buckets =
            world.isDistributed ? GradientBuckets(world: world, bucketBytes: Int(config.bucketMb * 1_048_576)) : nil
        if config.syncBn && world.isDistributed {
            let world = self.world
            BatchNormSync.reduce = { sums in
                do { try world.allreduceSum(&sums) } catch {
                    FileHandle.standardError.write(Data("clipkit: synchronised batch norm: \(error)\n".utf8))
                    world.abort()
                }
            }
        }
        defer { BatchNormSync.reduce = nil }
        var startEpoch = 0
        var startStep = 0
        var carried = (loss: 0.0, correct: 0, seen: 0)
        if resume {
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
            startEpoch = Int(meta["epoch"] ?? "") ?? 0
            startStep = Int(meta["step"] ?? "") ?? 0
            carried = (
                Double(meta["loss_sum"] ?? "") ?? 0, Int(meta["correct"] ?? "") ?? 0, Int(meta["seen"] ?? "") ?? 0
            )
            if writer { try trimMetrics(before: startEpoch) }
        } else {
            if writer { try? FileManager.default.removeItem(atPath: metricsPath) }
            try world.broadcastState(of: model)
        }
        var stages = try readStages()
        let total = plan.totalEpochs
        var stepSeconds: [Double] = []
        var epoch = startEpoch
        while let (phaseIndex, epochInPhase) = plan.locate(epoch: epoch) {
            let phase = plan.phases[phaseIndex]
            let data = loader(for: phase)
            applyDilation(model, temporal: phase.temporalDilation, spatial: phase.spatialDilation)
            freezeOnly(model, role: phase.frozen)
            if epochInPhase == 0 && startStep == 0 {
                MemoryMeter.shared.releaseFreedMemory()
                MemoryMeter.shared.resetPeak()
                ProcessMemory.resetPeak()
            }
            onPhaseStart?(phase)
            // Every epoch of the phase.
            for e in epoch..<(epoch - epochInPhase + phase.epochs) {
                optimizer.learningRate = learningRate(epoch: e)
                model.train()
                let iterator = data.epoch(e, startingAt: startStep)
                var (lossSum, correct, seen) = startStep > 0 ? carried : (0, 0, 0)
                var step = startStep
                startStep = 0
                let epochStart = Date()
                while let batch = try iterator.next() {
                    let t0 = Date()
                    let x = batchTensor(batch)
                    for (_, p) in model.parameters() { p.zeroGrad() }
                    let logits = model(x)
                    let loss = softmaxCrossEntropy(logits, labels: batch.labels)
                    let l = loss.item
                    guard l.isFinite else {
                        throw ConfigError(
                            file: config.train,
                            reason: "the loss became \(l) at epoch \(e + 1) step \(step + 1); lower optimizer.lr")
                    }
                    if let buckets {
                        try buckets.backward(loss, model: model)
                    } else {
                        loss.backward()
                    }
                    optimizer.step()
                    onStep?()
                    let n = classes.count
                    let values = logits.scalars
                    var stepCorrect = 0
                    for i in 0..<batch.count where topK(Array(values[(i * n)..<((i + 1) * n)]), 1)[0] == batch.labels[i]
                    { stepCorrect += 1 }
                    // The world's figures, and whether any rank was asked to stop (all stop at the same step).
                    let stopHere = Interrupt.requested || stopAfterSteps.map { stepSeconds.count + 1 >= $0 } == true
                    var tally = [
                        Double(l) * Double(batch.count), Double(stepCorrect), Double(batch.count), stopHere ? 1 : 0
                    ]
                    try world.allreduceSum(&tally)
                    lossSum += tally[0]
                    correct += Int(tally[1])
                    seen += Int(tally[2])
                    let stopNow = tally[3] > 0
                    step += 1
                    stepSeconds.append(Date().timeIntervalSince(t0))
                    let remaining =
                        Double(iterator.count - step + (total - e - 1) * iterator.count)
                        * (stepSeconds.suffix(20).reduce(0, +) / Double(min(stepSeconds.count, 20)))
                    progress(
                        String(
                            format: "%@ | epoch %d/%d | step %d/%d | loss %.4f | acc %.1f%% | %.1f clips/s | ETA %@",
                            phase.name, e + 1, total, step, iterator.count, lossSum / Double(seen),
                            100 * Double(correct) / Double(seen),
                            Double(seen) / max(Date().timeIntervalSince(epochStart), 1e-9), duration(remaining)),
                        step == iterator.count)
                    if stopNow && step < iterator.count {
                        iterator.stop()
                        try save(epoch: e, step: step, lossSum: lossSum, correct: correct, seen: seen)
                        progress(
                            "interrupted: saved \(checkpointPath) at epoch \(e + 1), step \(step); continue with --resume",
                            true)
                        return TrainSummary(stages: stages, interrupted: true, checkpoint: checkpointPath)
                    }
                }
                let seconds = Date().timeIntervalSince(epochStart)
                let shape = data.dataset.sampleShape
                if writer {
                    try appendMetric([
                        "event": "epoch", "epoch": e, "phase": phase.name, "lr": Double(optimizer.learningRate),
                        "loss": lossSum / Double(max(seen, 1)), "top1": 100 * Double(correct) / Double(max(seen, 1)),
                        "clips_per_s": Double(seen) / max(seconds, 1e-9), "input": shape
                    ])
                }
                if e == epoch - epochInPhase + phase.epochs - 1 {
                    // End of the phase: its memory, then validation on full-size clips.
                    // The largest rank's.
                    let peaks = try world.maximum([
                        Double(MemoryMeter.shared.peakBytes) / 1_048_576, ProcessMemory.peakMB()
                    ])
                    let peakTensor = peaks[0]
                    let peakRSS = peaks[1]
                    onPhaseEnd?(phase)
                    try recomputeStatisticsForTesting(epoch: e)
                    let result = try validate()
                    applyDilation(model, temporal: phase.temporalDilation, spatial: phase.spatialDilation)
                    let stage = StageResult(
                        phase: phase.name, kind: phase.kind.rawValue, iteration: phase.iteration, epoch: e,
                        input: shape,
                        trainLoss: lossSum / Double(max(seen, 1)),
                        trainTop1: 100 * Double(correct) / Double(max(seen, 1)),
                        valTop1: result?.top1, valTop5: result?.top5, peakTensorMB: peakTensor, peakRSSMB: peakRSS)
                    stages.append(stage)
                    if writer { try appendMetric(["event": "stage", "stage": try jsonObject(stage)]) }
                    progress(
                        String(
                            format: "%@ done: train loss %.4f, acc %.1f%%%@; peak memory %.0f MB tensors, %.0f MB RSS",
                            phase.name, stage.trainLoss, stage.trainTop1,
                            result.map { String(format: "; val top-1 %.1f%%", $0.top1) } ?? "",
                            peakTensor, peakRSS), true)
                }
                try save(epoch: e + 1, step: 0, lossSum: 0, correct: 0, seen: 0)
            }
            epoch += phase.epochs - epochInPhase
        }
        return TrainSummary(stages: stages, interrupted: false, checkpoint: checkpointPath)
    }

    /// Rank 0 writes the checkpoint (every rank holds the same weights).
    func save(epoch: Int, step: Int, lossSum: Double, correct: Int, seen: Int) throws {
        // Without synchronised BN each rank's running statistics are its own: save their mean.
        if BatchNormSync.reduce == nil { try world.averageBuffers(of: model) }
        guard world.rank == 0 else { return }
        try Checkpoint.save(
            to: checkpointPath, model: model, optimizer: optimizer, epoch: epoch,
            config: [
                "config": try config.jsonString(), "step": String(step), "loss_sum": String(lossSum),
                "correct": String(correct),
                "seen": String(seen), "classes": classes.joined(separator: "\n"), "model": config.model,
                "test_dilation": "\(plan.testDilation.temporal),\(plan.testDilation.spatial)"
            ])
    }

    func appendMetric(_ object: [String: Any]) throws { try appendJSONLine(object, to: metricsPath) }

    /// Drops metric lines of epochs from `epoch` on (written before an interruption, redone now).
    func trimMetrics(before epoch: Int) throws {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return false
            }
            let e = (o["epoch"] as? Int) ?? ((o["stage"] as? [String: Any])?["epoch"] as? Int) ?? 0
            return e < epoch
        }
        try writeAtomically(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: metricsPath)
    }

    func readStages() throws -> [StageResult] {
        guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let s = o["stage"]
            else { return nil }
            return try JSONDecoder().decode(StageResult.self, from: JSONSerialization.data(withJSONObject: s))
        }
    }
}

func jsonObject<T: Encodable>(_ value: T) throws -> Any {
    try JSONSerialization.jsonObject(with: JSONEncoder().encode(value))
}

/// Progress on standard error: on a terminal every call redraws one line;
/// otherwise (a log file) complete lines are printed, and the others at most
/// once a minute so that long work still shows it is alive.
public func terminalProgress(_ line: String, _ complete: Bool) {
    if isatty(STDERR_FILENO) != 0 {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (complete ? "\n" : "")).utf8))
        return
    }
    let now = Date().timeIntervalSince1970
    progressLock.lock()
    let due = complete || now - lastLoggedProgress >= 60
    if due { lastLoggedProgress = now }
    progressLock.unlock()
    if due { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}

private let progressLock = NSLock()
nonisolated(unsafe) private var lastLoggedProgress = Date().timeIntervalSince1970

func duration(_ seconds: Double) -> String {
    let s = Int(seconds.isFinite ? max(seconds, 0) : 0)
    return s >= 3600
        ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}
