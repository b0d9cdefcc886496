import Foundation
import Tensor

/// Learning rate as a function of the epoch (PyTorch's schedulers, closed form).
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    case constant
    /// × gamma every `size` epochs (StepLR).
    case step(size: Int, gamma: Float)
    /// × gamma at each milestone (MultiStepLR).
    case multiStep(milestones: [Int], gamma: Float)
    /// Half a cosine from the base rate to `minimum` over `epochs` (CosineAnnealingLR).
    case cosine(epochs: Int, minimum: Float)

    public func rate(base: Float, epoch: Int) -> Float {
        switch self {
        case .constant: return base
        case .step(let size, let gamma): return base * pow(gamma, Float(epoch / max(size, 1)))
        case .multiStep(let milestones, let gamma):
            return base * pow(gamma, Float(milestones.filter { $0 <= epoch }.count))
        case .cosine(let epochs, let minimum):
            let t = Float(min(epoch, epochs)) / Float(max(epochs, 1))
            return minimum + (base - minimum) * (1 + cos(Float.pi * t)) / 2
        }
    }
}

/// Linear warm-up (LinearLR) in front of a schedule: from base·startFactor at
/// epoch 0 to base at `epochs`, then `schedule` counted from the warm-up's end.
public struct Warmup: Sendable, Equatable, Codable {
    public var epochs: Int
    public var startFactor: Float
    public init(epochs: Int, startFactor: Float = 0.1) {
        self.epochs = epochs
        self.startFactor = startFactor
    }

    public func rate(base: Float, epoch: Int, then schedule: LearningRateSchedule) -> Float {
        guard epoch < epochs else { return schedule.rate(base: base, epoch: epoch - epochs) }
        return base * (startFactor + (1 - startFactor) * Float(epoch) / Float(epochs))
    }
}

/// ReduceLROnPlateau (mode min): after `patience` epochs without a relative
/// improvement of `threshold`, multiply the rate by `factor` (not below `minimum`).
public final class ReduceOnPlateau {
    public let factor: Float, patience: Int, threshold: Float, minimum: Float
    public private(set) var best = Float.infinity
    private var badEpochs = 0

    public init(factor: Float = 0.1, patience: Int = 10, threshold: Float = 1e-4, minimum: Float = 0) {
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.minimum = minimum
    }

    /// The rate to use after an epoch whose monitored loss was `metric`.
    public func update(rate: Float, metric: Float) -> Float {
        if metric < best * (1 - threshold) {
            best = metric
            badEpochs = 0
            return rate
        }
        badEpochs += 1
        guard badEpochs > patience else { return rate }
        badEpochs = 0
        return max(minimum, rate * factor)
    }
}

/// The config's optimizer over `parameters`.
func makeOptimizer(_ o: TrainConfig.OptimizerConfig, _ parameters: [Tensor]) -> Optimizer {
    switch o.name {
    case .adam: Adam(parameters, learningRate: o.lr, weightDecay: o.weightDecay)
    case .adamw: Adam.adamW(parameters, learningRate: o.lr, weightDecay: o.weightDecay)
    case .sgd:
        SGD(parameters, learningRate: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov)
    }
}

/// The config's learning rate for global epoch `e` of `plan`: the schedule
/// over all its epochs, or, with `itsl.schedule: per_stage`, over the
/// epochs of e's stage, restarted (warm-up included) in every stage.
func scheduledLearningRate(_ config: TrainConfig, plan: ITSLPlan, epoch e: Int) -> Float {
    if config.itsl?.schedule == .perStage, let (phase, within) = plan.locate(epoch: e) {
        return scheduledLearningRate(config, totalEpochs: plan.phases[phase].epochs, epoch: within)
    }
    return scheduledLearningRate(config, totalEpochs: plan.totalEpochs, epoch: e)
}

/// The config's learning rate for global epoch `e` of `totalEpochs` (warm-up, then the schedule).
func scheduledLearningRate(_ config: TrainConfig, totalEpochs: Int, epoch e: Int) -> Float {
    let s = config.schedule
    let schedule: LearningRateSchedule
    switch s.name {
    case .constant: schedule = .constant
    case .step: schedule = .step(size: s.stepSize, gamma: s.gamma)
    case .cosine: schedule = .cosine(epochs: max(totalEpochs - s.warmupEpochs, 1), minimum: s.minLr)
    }
    if s.warmupEpochs > 0 && e < s.warmupEpochs {
        return Warmup(epochs: s.warmupEpochs).rate(base: config.optimizer.lr, epoch: e, then: schedule)
    }
    return schedule.rate(base: config.optimizer.lr, epoch: e - s.warmupEpochs)
}
