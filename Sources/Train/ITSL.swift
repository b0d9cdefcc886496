import Clips
import NN
import Tensor

/// One phase of training: which stream it reads, the dilations its
/// decomposed layers run with, and which parameter role is frozen.
public struct TrainingPhase: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case full
        case stageT = "stage-t"
        case stageS = "stage-s"
    }
    public var kind: Kind
    /// 1-based ITSL iteration (1 for full-size training).
    public var iteration: Int
    public var epochs: Int
    public var variant: StreamVariant
    public var temporalDilation: Int
    public var spatialDilation: Int
    public var frozen: ParameterRole?

    public var name: String { kind == .full ? "full" : "\(kind.rawValue) \(iteration)" }
}

/// ITSL (Algorithm 1 of the STDCF paper) as DESIGN.md's table, or plain
/// full-size training:
///
/// | phase | input | spatial dilation | temporal dilation | frozen |
/// |---|---|---|---|---|
/// | stage-t | T × H/β × W/β | 1 | γ | spatial (ψ) |
/// | stage-s | T/γ × H × W | β | 1 | temporal (φ) |
/// | test | T × H × W | β | γ | – |
public struct ITSLPlan: Sendable, Equatable {
    public var phases: [TrainingPhase]
    /// Dilations (temporal, spatial) for evaluation on full-size clips.
    public var testDilation: (temporal: Int, spatial: Int)

    public static func == (a: ITSLPlan, b: ITSLPlan) -> Bool {
        a.phases == b.phases && a.testDilation == b.testDilation
    }

    public init(_ config: TrainConfig) {
        guard let itsl = config.itsl else {
            phases = [
                TrainingPhase(
                    kind: .full, iteration: 1, epochs: config.epochs, variant: .full,
                    temporalDilation: 1, spatialDilation: 1, frozen: nil)
            ]
            testDilation = (1, 1)
            return
        }
        phases = (1...itsl.iterations).flatMap { i in
            [
                TrainingPhase(
                    kind: .stageT, iteration: i, epochs: itsl.stageT.epochs, variant: .spatial(beta: itsl.beta),
                    temporalDilation: itsl.gamma, spatialDilation: 1, frozen: .spatial),
                TrainingPhase(
                    kind: .stageS, iteration: i, epochs: itsl.stageS.epochs, variant: .temporal(gamma: itsl.gamma),
                    temporalDilation: 1, spatialDilation: itsl.beta, frozen: .temporal)
            ]
        }
        testDilation = (itsl.gamma, itsl.beta)
    }

    public var totalEpochs: Int { phases.reduce(0) { $0 + $1.epochs } }

    /// (phase index, epoch within the phase) of global epoch `e`.
    public func locate(epoch e: Int) -> (phase: Int, epoch: Int)? {
        var start = 0
        for (i, p) in phases.enumerated() {
            if e < start + p.epochs { return (i, e - start) }
            start += p.epochs
        }
        return nil
    }
}

/// Sets the dilation of every spatiotemporal conv in `model`: STDCF atoms,
/// the two parts of rank-1 convs, and plain convs whose padding is "same"
/// (regular 3D nets get dilation too, as ITSL prescribes). Padding follows.
public func applyDilation(_ model: Module, temporal: Int, spatial: Int) {
    switch model {
    case let stdcf as STDCFConv:
        stdcf.temporalDilation = temporal
        stdcf.spatialDilation = spatial
    case let rank1 as Rank1Conv:
        rank1.temporalDilation = temporal
        rank1.spatialDilation = spatial
    case let conv as Conv3d:
        let k = conv.weight.shape
        let o = conv.options
        let same =
            o.padding.0 == o.dilation.0 * (k[2] - 1) / 2 && o.padding.1 == o.dilation.1 * (k[3] - 1) / 2
            && o.padding.2 == o.dilation.2 * (k[4] - 1) / 2 && o.stride == (1, 1, 1)
        guard same else { return }
        let (dt, ds) = (k[2] > 1 ? temporal : 1, k[3] > 1 || k[4] > 1 ? spatial : 1)
        conv.options.dilation = (dt, ds, ds)
        conv.options.padding = (dt * (k[2] - 1) / 2, ds * (k[3] - 1) / 2, ds * (k[4] - 1) / 2)
    default:
        for (_, child) in model.children { applyDilation(child, temporal: temporal, spatial: spatial) }
    }
}

/// Freezes exactly the parameters with `role` (nil: none frozen).
public func freezeOnly(_ model: Module, role: ParameterRole?) {
    for (_, p) in model.parameters() { p.trainable = role == nil || p.role != role }
}
