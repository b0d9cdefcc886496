import Foundation
import Tensor

/// How an STDCF layer runs; both give the same outputs and gradients.
public enum STDCFExecution: String, Sendable {
    /// Rebuild W = Σ α·ψ·φ and run one (dilated) conv3d: 2·Cin·Cout·t·k²·THW FLOPs.
    case composed
    /// Spatial-atom conv, temporal-atom conv, 1×1×1 coefficient conv:
    /// about 2·Cin·Cout·M·N·THW FLOPs (plus the small atom convs).
    case factored
    /// Factored only when it needs at least 4× fewer FLOPs: its atom
    /// convolutions are tiny grouped convs far below GEMM efficiency, and its
    /// intermediates (Cin·M and Cin·M·N channels at full resolution) cost
    /// memory traffic and training memory. Measured on kth3l (t·k²/(M·N) =
    /// 2.25): composed trains 2× faster with 2.5× less memory.
    case automatic
}

/// Spatiotemporal joint filter decomposition (STDCF, NeurIPS 2021): M spatial
/// atoms ψ (k×k), N temporal atoms φ (length t) and joint coefficients α
/// (Cout×Cin×M×N); W = Σᵢⱼ α·ψᵢ·φⱼ. Input N×C×T×H×W, "same" padding for the
/// current dilations, stride 1, no bias.
///
/// Roles: ψ spatial, φ temporal, α joint (ITSL freezes by role). Dilations can
/// change at any time, and atoms can be swapped for others of the same count
/// (another size): α is kept.
///
/// Initialisation (ours; the paper gives none): each atom set is orthonormal
/// (Gram–Schmidt on uniform random vectors), and α ~ U(±a) with
/// a = √(t·k² / (M·N)) / √(Cin·t·k²), so that W has the entry variance of
/// PyTorch's default conv3d initialisation.
public final class STDCFConv: Module, EpilogueConvolution {
    public private(set) var spatialAtoms: Tensor
    public private(set) var temporalAtoms: Tensor
    public let coefficients: Tensor
    public var spatialDilation = 1
    public var temporalDilation = 1
    public var execution: STDCFExecution = .automatic

    public init(
        inputChannels: Int, outputChannels: Int, spatialAtoms m: Int, temporalAtoms n: Int,
        spatialSize k: Int = 3, temporalSize t: Int = 3, rng: inout SeededRNG
    ) {
        spatialAtoms = .parameter([m, k, k], role: .spatial, values: orthonormalRows(m, k * k, rng: &rng))
        temporalAtoms = .parameter([n, t], role: .temporal, values: orthonormalRows(n, t, rng: &rng))
        let bound = (Float(t * k * k) / Float(m * n)).squareRoot() / Float(inputChannels * t * k * k).squareRoot()
        coefficients = .parameter(
            [outputChannels, inputChannels, m, n], role: .joint,
            values: uniformValues(outputChannels * inputChannels * m * n, bound: bound, rng: &rng))
    }

    override public var ownParameters: [(String, Tensor)] {
        [("spatial_atoms", spatialAtoms), ("temporal_atoms", temporalAtoms), ("coefficients", coefficients)]
    }

    public var inputChannels: Int { coefficients.shape[1] }
    public var outputChannels: Int { coefficients.shape[0] }
    public var m: Int { coefficients.shape[2] }
    public var n: Int { coefficients.shape[3] }
    public var spatialSize: Int { spatialAtoms.shape[1] }
    public var temporalSize: Int { temporalAtoms.shape[1] }

    /// Replaces the spatial atoms by `atoms` (M×k'×k', same M); α is kept.
    public func swapSpatialAtoms(_ atoms: [Float], size: Int) {
        precondition(atoms.count == m * size * size, "need \(m) atoms of \(size)×\(size)")
        let trainable = spatialAtoms.trainable
        spatialAtoms = .parameter([m, size, size], role: .spatial, values: atoms)
        spatialAtoms.trainable = trainable
    }

    /// Replaces the temporal atoms by `atoms` (N×t', same N); α is kept.
    public func swapTemporalAtoms(_ atoms: [Float], size: Int) {
        precondition(atoms.count == n * size, "need \(n) atoms of length \(size)")
        let trainable = temporalAtoms.trainable
        temporalAtoms = .parameter([n, size], role: .temporal, values: atoms)
        temporalAtoms.trainable = trainable
    }

    /// The 3D filter W (Cout×Cin×t×k×k) from α, ψ, φ.
    public func composedFilter() -> Tensor { composeSTDCF(alpha: coefficients, psi: spatialAtoms, phi: temporalAtoms) }

    /// FLOPs per output position of each execution.
    public var costs: (composed: Int, factored: Int) {
        let (cin, cout, k, t) = (inputChannels, outputChannels, spatialSize, temporalSize)
        return (2 * cin * cout * t * k * k, 2 * (cin * m * k * k + cin * m * n * t + cout * cin * m * n))
    }

    public var chosenExecution: STDCFExecution {
        switch execution {
        case .automatic: return 4 * costs.factored <= costs.composed ? .factored : .composed
        default: return execution
        }
    }

    override public func forward(_ x: Tensor) -> Tensor { run(x, then: nil) }

    public func forward(_ x: Tensor, then epilogue: ChannelAffine) -> Tensor { run(x, then: epilogue) }

    private func run(_ x: Tensor, then epilogue: ChannelAffine?) -> Tensor {
        let (k, t) = (spatialSize, temporalSize)
        let sp = spatialDilation * (k - 1) / 2
        let tp = temporalDilation * (t - 1) / 2
        if chosenExecution == .composed {
            return conv3d(
                x, composedFilter(),
                Conv3dOptions(padding: (tp, sp, sp), dilation: (temporalDilation, spatialDilation, spatialDilation)),
                then: epilogue)
        }
        let cin = inputChannels
        // Spatial atoms on every input channel: groups = Cin, M outputs each.
        let psi = reshape(spatialAtoms, [m, 1, 1, k, k])
        let z = conv3d(
            x, concat(Array(repeating: psi, count: cin), axis: 0),
            Conv3dOptions(padding: (0, sp, sp), dilation: (1, spatialDilation, spatialDilation), groups: cin))
        // Temporal atoms on every (channel, spatial atom): groups = Cin·M, N outputs each.
        let phi = reshape(temporalAtoms, [n, 1, t, 1, 1])
        let yij = conv3d(
            z, concat(Array(repeating: phi, count: cin * m), axis: 0),
            Conv3dOptions(padding: (tp, 0, 0), dilation: (temporalDilation, 1, 1), groups: cin * m))
        // Joint coefficients: a 1×1×1 conv over the Cin·M·N responses.
        return conv3d(yij, reshape(coefficients, [outputChannels, cin * m * n, 1, 1, 1]), then: epilogue)
    }
}

/// Sets the execution of every STDCF layer in `module`.
public func setExecution(_ module: Module, _ execution: STDCFExecution) {
    for layer in stdcfLayers(module) { layer.execution = execution }
}

/// The STDCF layers of `module`, in order.
public func stdcfLayers(_ module: Module) -> [STDCFConv] {
    (module as? STDCFConv).map { [$0] } ?? module.children.flatMap { stdcfLayers($0.1) }
}

/// R(2+1)D's rank-1 decomposition: a 1×k×k spatial conv Cin→Cout (role
/// spatial), then a t×1×1 temporal conv Cout→Cout (role temporal), with nothing
/// in between (linear). "Same" padding, no bias.
public final class Rank1Conv: Module, EpilogueConvolution {
    public let spatial: Conv3d
    public let temporal: Conv3d
    public init(
        inputChannels: Int, outputChannels: Int, spatialSize k: Int = 3, temporalSize t: Int = 3, rng: inout SeededRNG
    ) {
        spatial = Conv3d(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: (1, k, k),
            padding: (0, (k - 1) / 2, (k - 1) / 2), bias: false, role: .spatial, rng: &rng)
        temporal = Conv3d(
            inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: (t, 1, 1),
            padding: ((t - 1) / 2, 0, 0), bias: false, role: .temporal, rng: &rng)
    }
    override public var children: [(String, Module)] { [("spatial", spatial), ("temporal", temporal)] }
    /// Dilations (ITSL applies them per stage).
    public var spatialDilation: Int {
        get { spatial.options.dilation.h }
        set {
            spatial.options.dilation = (1, newValue, newValue)
            let p = newValue * (spatial.weight.shape[3] - 1) / 2
            spatial.options.padding = (0, p, p)
        }
    }
    public var temporalDilation: Int {
        get { temporal.options.dilation.t }
        set {
            temporal.options.dilation = (newValue, 1, 1)
            temporal.options.padding = (newValue * (temporal.weight.shape[2] - 1) / 2, 0, 0)
        }
    }
    override public func forward(_ x: Tensor) -> Tensor { temporal(spatial(x)) }
    public func forward(_ x: Tensor, then epilogue: ChannelAffine) -> Tensor {
        temporal.forward(spatial(x), then: epilogue)
    }
}

/// TSM's temporal shift (parameter-free): 1/8 of the channels from the next
/// frame, 1/8 from the previous one.
public final class TemporalShift: Module {
    public let fold: Int
    public init(fold: Int = 8) { self.fold = fold }
    override public func forward(_ x: Tensor) -> Tensor { temporalShift(x, fold: fold) }
}

/// `count` orthonormal rows of length `length` (count ≤ length): Gram–Schmidt
/// on uniform random vectors.
func orthonormalRows(_ count: Int, _ length: Int, rng: inout SeededRNG) -> [Float] {
    precondition(count <= length, "\(count) orthonormal atoms need length ≥ \(count)")
    var rows: [[Double]] = []
    while rows.count < count {
        var v = (0..<length).map { _ in Double.random(in: -1..<1, using: &rng) }
        for r in rows {
            let dot = zip(v, r).map(*).reduce(0, +)
            v = zip(v, r).map { $0 - dot * $1 }
        }
        let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
        if norm > 1e-6 { rows.append(v.map { $0 / norm }) }
    }
    return rows.flatMap { $0.map(Float.init) }
}

/// 3DTT (temporally factorised 3D kernels, Ras et al. 2019): each output
/// channel's kernel is a 2D slice K0 (per input channel) and T−1 affine
/// transforms (s, r, tx, ty), each next slice bilinearly resampled from the
/// previous one (sequential mode). Identity initialisation (s = 1, r = tx =
/// ty = 0); K0 uniform like PyTorch's conv3d default. The built kernel runs as
/// an ordinary conv3d ("same" padding). Parameters: kh·kw·Cin·Cout + 4·(T−1)·Cout.
/// Roles: K0 spatial, transforms temporal.
public final class TTConv3d: Module, EpilogueConvolution {
    public let k0: Tensor
    public let transforms: Tensor
    public let temporalSize: Int
    public var options: Conv3dOptions

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int, Int), padding: (Int, Int, Int)? = nil,
        rng: inout SeededRNG
    ) {
        let (t, kh, kw) = kernelSize
        let bound = 1 / Float(inputChannels * t * kh * kw).squareRoot()
        k0 = .parameter(
            [outputChannels, inputChannels, kh, kw], role: .spatial,
            values: uniformValues(outputChannels * inputChannels * kh * kw, bound: bound, rng: &rng))
        transforms = .parameter(
            [outputChannels, t - 1, 4], role: .temporal,
            values: (0..<(outputChannels * (t - 1))).flatMap { _ in [Float(1), 0, 0, 0] })
        temporalSize = t
        options = Conv3dOptions(padding: padding ?? ((t - 1) / 2, (kh - 1) / 2, (kw - 1) / 2))
    }

    override public var ownParameters: [(String, Tensor)] { [("k0", k0), ("transforms", transforms)] }

    /// The full kernel (Cout×Cin×T×kh×kw).
    public func kernel() -> Tensor { composeTT(k0: k0, transforms: transforms, temporalSize: temporalSize) }

    override public func forward(_ x: Tensor) -> Tensor { conv3d(x, kernel(), options) }
    public func forward(_ x: Tensor, then epilogue: ChannelAffine) -> Tensor {
        conv3d(x, kernel(), options, then: epilogue)
    }
}
