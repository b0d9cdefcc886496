import Tensor

/// S3D's separable convolution: a 1×k×k spatial conv Cin→Cout (role
/// spatial, with the spatial stride), BN + ReLU, then a t×1×1 temporal conv
/// Cout→Cout (role temporal). Unlike `Rank1Conv` it is not linear.
public final class SeparableConv3d: Module {
    public let spatial: Conv3d, bn: BatchNorm3d, temporal: Conv3d
    public init(inputChannels: Int, outputChannels: Int, stride: Int = 1, bnEpsilon: Float = 1e-5, rng: inout SeededRNG)
    {
        spatial = Conv3d(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: (1, 3, 3),
            stride: (1, stride, stride),
            padding: (0, 1, 1), bias: false, role: .spatial, rng: &rng)
        bn = BatchNorm3d(channels: outputChannels, epsilon: bnEpsilon)
        temporal = Conv3d(
            inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: (3, 1, 1), padding: (1, 0, 0),
            bias: false, role: .temporal, rng: &rng)
    }
    override public var children: [(String, Module)] { [("spatial", spatial), ("bn", bn), ("temporal", temporal)] }
    override public func forward(_ x: Tensor) -> Tensor { temporal(bn.after(spatial, x, relu: true)) }
}

/// bLVNet-TAM's Temporal Aggregation Module: every channel is a learned
/// mix of itself in the previous, current and next frame (a depthwise 3×1×1
/// conv, zero-padded in time), then ReLU. The Deep Analysis supplement puts
/// it at the start of the non-identity path of every residual block (tam-*).
public final class TemporalAggregation: Module {
    public let conv: Conv3d
    public init(channels: Int, rng: inout SeededRNG) {
        conv = Conv3d(
            inputChannels: channels, outputChannels: channels, kernelSize: (3, 1, 1), padding: (1, 0, 0),
            groups: channels,
            bias: false, role: .temporal, rng: &rng)
    }
    override public var children: [(String, Module)] { [("conv", conv)] }
    override public func forward(_ x: Tensor) -> Tensor { relu(conv(x)) }
}

/// A non-local block (Wang et al., embedded Gaussian, as mmaction2's
/// NonLocal3d): θ, φ, g are 1×1×1 convs C→C/2 (with bias); every position i
/// takes y_i = Σ_j softmax_j(θ_i·φ_j) g_j over all T×H×W positions; a 1×1×1
/// conv C/2→C + BN brings y back, added to the input.
public final class NonLocalBlock: Module {
    public let theta: Conv3d, phi: Conv3d, g: Conv3d, out: Conv3d, bn: BatchNorm3d
    public init(channels c: Int, rng: inout SeededRNG) {
        let inner = c / 2
        theta = Conv3d(inputChannels: c, outputChannels: inner, kernelSize: (1, 1, 1), rng: &rng)
        phi = Conv3d(inputChannels: c, outputChannels: inner, kernelSize: (1, 1, 1), rng: &rng)
        g = Conv3d(inputChannels: c, outputChannels: inner, kernelSize: (1, 1, 1), rng: &rng)
        out = Conv3d(inputChannels: inner, outputChannels: c, kernelSize: (1, 1, 1), bias: false, rng: &rng)
        bn = BatchNorm3d(channels: c)
    }
    override public var children: [(String, Module)] {
        [("theta", theta), ("phi", phi), ("g", g), ("out", out), ("bn", bn)]
    }
    override public func forward(_ x: Tensor) -> Tensor {
        let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let inner = c / 2
        let positions = t * h * w
        let th = reshape(theta(x), [n, inner, positions])
        let ph = reshape(phi(x), [n, inner, positions])
        let gx = reshape(g(x), [n, inner, positions])
        let attention = softmaxLastAxis(batchedMatmul(th, ph, transposeA: true))  // n × positions × positions
        let y = reshape(batchedMatmul(gx, attention, transposeB: true), [n, inner, t, h, w])
        return add(bn(out(y)), x)
    }
}
