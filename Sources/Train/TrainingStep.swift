import Distributed
import Foundation
import NN
import Tensor

/// How backward leaves in every trainable parameter the gradient the optimizer steps with.
public protocol GradientReducer: AnyObject {
    /// Runs `loss.backward()` and whatever the gradients need across processes.
    func backward(_ loss: Tensor, model: Module) throws
}

/// One process: the gradients of its own batch, as backward leaves them.
public final class LocalGradients: GradientReducer {
    public init() {}
    public func backward(_ loss: Tensor, model: Module) throws { loss.backward() }
}

/// The gradient reducer for `world`: local in one process, averaged in
/// buckets of about `bucketMb` MiB across several (`GradientBuckets`).
public func gradientReducer(for world: Communicator, bucketMb: Double) -> GradientReducer {
    world.isDistributed ? GradientBuckets(world: world, bucketBytes: Int(bucketMb * 1_048_576)) : LocalGradients()
}

/// The BatchNorm reducer of synchronised BN over `world`: each layer's sums
/// over every process. A failed sum cannot be recovered from in the middle of
/// a layer, so it aborts every process with the reason.
public func batchNormReducer(for world: Communicator) -> BatchNormReducer {
    { sums in
        do { try world.allreduceSum(&sums) } catch {
            FileHandle.standardError.write(Data("clipkit: synchronised batch norm: \(error)\n".utf8))
            world.abort()
        }
    }
}

/// One optimisation step, the same for classification, every ITSL stage,
/// reconstruction and `bench train`: forward, the objective, backward through
/// the gradient reducer, the optimizer's step.
public struct TrainingStep {
    public let model: Module
    public let optimizer: Optimizer
    public let gradients: GradientReducer

    public init(model: Module, optimizer: Optimizer, gradients: GradientReducer) {
        self.model = model
        self.optimizer = optimizer
        self.gradients = gradients
    }

    /// Trains on `input`; returns the model's output and the loss. `check`
    /// sees the loss before backward and may throw to stop (a loss that is not finite).
    @discardableResult
    public func callAsFunction(
        _ input: Tensor, objective: (Tensor) -> Tensor, check: (Float) throws -> Void = { _ in }
    ) throws -> (output: Tensor, loss: Float) {
        for (_, p) in model.parameters() { p.zeroGrad() }
        let output = model(input)
        let loss = objective(output)
        let value = loss.item
        try check(value)
        try gradients.backward(loss, model: model)
        optimizer.step()
        return (output, value)
    }
}

/// The error for a loss that is not finite: it names the config and where the run was.
func requireFinite(_ loss: Float, config file: String, epoch: Int, step: Int) throws {
    guard loss.isFinite else {
        throw ConfigError(
            file: file, reason: "the loss became \(loss) at epoch \(epoch + 1) step \(step + 1); lower optimizer.lr")
    }
}

/// What training steps add up to: the loss summed over samples, the correct
/// top-1 predictions, the samples, and whether a stop was asked for.
public struct StepTally: Sendable, Equatable {
    public var lossSum = 0.0
    public var correct = 0
    public var seen = 0
    public var stop = false

    public init(lossSum: Double = 0, correct: Int = 0, seen: Int = 0, stop: Bool = false) {
        (self.lossSum, self.correct, self.seen, self.stop) = (lossSum, correct, seen, stop)
    }

    /// One classification step: the batch's mean loss and its logits (N×classes) against the labels.
    init(loss: Float, logits: Tensor, labels: [Int], stop: Bool) {
        let n = logits.shape[1]
        let values = logits.scalars
        let correct = labels.indices.filter { i in topK(Array(values[(i * n)..<((i + 1) * n)]), 1)[0] == labels[i] }
        self.init(lossSum: Double(loss) * Double(labels.count), correct: correct.count, seen: labels.count, stop: stop)
    }

    public var meanLoss: Double { lossSum / Double(max(seen, 1)) }
    /// Top-1 accuracy, percent.
    public var top1: Double { 100 * Double(correct) / Double(max(seen, 1)) }

    /// The sum over every process of `world` (one allreduce); `stop` if any process's is.
    public func summed(over world: Communicator) throws -> StepTally {
        var values = [lossSum, Double(correct), Double(seen), stop ? 1 : 0]
        try world.allreduceSum(&values)
        return StepTally(lossSum: values[0], correct: Int(values[1]), seen: Int(values[2]), stop: values[3] > 0)
    }

    public static func += (a: inout StepTally, b: StepTally) {
        a.lossSum += b.lossSum
        a.correct += b.correct
        a.seen += b.seen
        a.stop = a.stop || b.stop
    }
}
