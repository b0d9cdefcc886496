import Tensor

/// A convolution that can map its output per channel as it writes it: how
/// inference runs BN (on running statistics) and ReLU without passes or
/// tensors of their own (`BatchNorm3d.after`).
public protocol EpilogueConvolution: Module {
    /// forward(x) mapped by `epilogue`; only without gradients.
    func forward(_ x: Tensor, then epilogue: ChannelAffine) -> Tensor
}

/// 3D convolution. Input N×C×T×H×W, weight O×(C/groups)×kt×kh×kw.
public final class Conv3d: Module, EpilogueConvolution {
    public let weight: Tensor
    public let bias: Tensor?
    public var options: Conv3dOptions

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: (Int, Int, Int), stride: (Int, Int, Int) = (1, 1, 1),
        padding: (Int, Int, Int) = (0, 0, 0), dilation: (Int, Int, Int) = (1, 1, 1), groups: Int = 1,
        bias: Bool = true, role: ParameterRole = .joint, rng: inout SeededRNG
    ) {
        let fanIn = inputChannels / groups * kernelSize.0 * kernelSize.1 * kernelSize.2
        let bound = 1 / Float(fanIn).squareRoot()
        let shape = [outputChannels, inputChannels / groups, kernelSize.0, kernelSize.1, kernelSize.2]
        weight = .parameter(shape, role: role, values: uniformValues(shape.reduce(1, *), bound: bound, rng: &rng))
        self.bias =
            bias
            ? .parameter([outputChannels], role: role, values: uniformValues(outputChannels, bound: bound, rng: &rng))
            : nil
        options = Conv3dOptions(stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    override public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    override public func forward(_ x: Tensor) -> Tensor {
        let y = conv3d(x, weight, options)
        guard let bias else { return y }
        return add(y, reshape(bias, [1, bias.count, 1, 1, 1]))
    }

    public func forward(_ x: Tensor, then epilogue: ChannelAffine) -> Tensor {
        conv3d(x, weight, options, then: bias.map { epilogue.afterBias($0) } ?? epilogue)
    }
}

/// Batch normalisation over channels of N×C×T×H×W (PyTorch's BatchNorm3d:
/// momentum 0.1, ε 1e-5, γ = 1, β = 0). Its parameters are `joint`: trained in every ITSL stage.
public final class BatchNorm3d: Module {
    public let weight: Tensor, bias: Tensor
    public let runningMean: Tensor, runningVar: Tensor
    public var momentum: Float = 0.1, epsilon: Float = 1e-5
    /// Synchronised BN in training: the statistics' sums over every process (see `useBatchNormReducer`).
    public var reducer: BatchNormReducer?

    public init(channels: Int, epsilon: Float = 1e-5) {
        self.epsilon = epsilon
        weight = .parameter([channels], role: .joint, values: Array(repeating: 1, count: channels))
        bias = .parameter([channels], role: .joint, values: Array(repeating: 0, count: channels))
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(shape: [channels], repeating: 1)
    }

    override public var ownParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    override public var ownBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    override public func forward(_ x: Tensor) -> Tensor {
        batchNorm(
            x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
            training: training, momentum: momentum, epsilon: epsilon, reducer: reducer)
    }

    /// relu(self(x)) · gate(relu(self(x))) without keeping the rectified tensor (see batchNormReLUGated).
    public func withReLU(_ x: Tensor, gatedBy gate: (Tensor) -> Tensor) -> Tensor {
        batchNormReLUGated(
            x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
            training: training, momentum: momentum, epsilon: epsilon, reducer: reducer, gate: gate)
    }

    /// self(conv(x)), rectified when `relu`. In inference (eval mode, no
    /// gradient recorded) the convolution applies the normalisation and the
    /// ReLU to its output as it writes it, so they make no tensor and no pass
    /// over memory of their own.
    public func after(_ conv: Module, _ x: Tensor, relu: Bool = false) -> Tensor {
        guard isInference(conv), let conv = conv as? EpilogueConvolution else {
            let y = conv(x)
            return relu ? withReLU(y) : self(y)
        }
        return conv.forward(x, then: inferenceAffine(relu: relu))
    }

    /// maxPool3d(relu(self(conv(x))), kernel: (frames, 2, 2)), kth3l's
    /// pools. In inference with a convolution that takes an epilogue, BN and
    /// the ReLU run inside it, as in `after(_:_:relu:)`; otherwise BN, the
    /// ReLU and the pool are one op (`batchNormReLUMaxPool`), which makes no
    /// tensor of conv(x)'s size.
    public func after(_ conv: Module, _ x: Tensor, reluMaxPoolFrames frames: Int) -> Tensor {
        if isInference(conv), conv is EpilogueConvolution {
            return maxPool3d(after(conv, x, relu: true), kernel: (frames, 2, 2))
        }
        return batchNormReLUMaxPool(
            conv(x), gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
            training: training, momentum: momentum, epsilon: epsilon, reducer: reducer, frames: frames)
    }

    /// relu(self(conv(x)) + residual): a bottleneck's end. In inference, when
    /// the caller owns `residual` (`overwriting`), this layer is folded into
    /// the convolution's weights, the convolution is added into `residual`,
    /// and the sum is rectified as it is written: no tensor of the output's
    /// size is made (without `overwriting`, BN and the ReLU still run inside
    /// the convolution, and the sum in place). Wherever gradients are
    /// recorded (or a hook on the convolution needs its output), BN, the sum
    /// and the ReLU are one op (`batchNormAddReLU`), unless a hook needs this
    /// layer's own output.
    public func after(_ conv: Conv3d, _ x: Tensor, addingReLU residual: Tensor, overwriting: Bool) -> Tensor {
        if !isInference(conv) && onOutput == nil {
            return batchNormAddReLU(
                conv(x), gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
                residual: residual, training: training, momentum: momentum, epsilon: epsilon, reducer: reducer)
        }
        guard overwriting, isInference(conv) else { return addReLU(into: after(conv, x), residual) }
        let scale = inferenceAffine(relu: true)
        let weight = conv.weight.scalars
        let perChannel = weight.count / scale.channels
        let folded = (0..<weight.count).map { weight[$0] * scale.scale[$0 / perChannel] }
        let shift = conv.bias.map { scale.afterBias($0) }?.shift ?? scale.shift
        return conv3d(
            x, Tensor(shape: conv.weight.shape, values: folded), conv.options, addingTo: residual,
            then: ChannelAffine(scale: [Float](repeating: 1, count: scale.channels), shift: shift, relu: true))
    }

    /// Eval mode, no gradient recorded and no hooks: BN can run inside `conv`.
    private func isInference(_ conv: Module) -> Bool {
        !training && !GradMode.isEnabled && onOutput == nil && conv.onOutput == nil
    }

    /// This layer on its running statistics (eval mode) as a per-channel map.
    public func inferenceAffine(relu: Bool) -> ChannelAffine {
        ChannelAffine(
            gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar, epsilon: epsilon, relu: relu)
    }

    /// relu(self(x)) as one op, which keeps less memory for the backward pass.
    public func withReLU(_ x: Tensor) -> Tensor {
        batchNormReLU(
            x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
            training: training, momentum: momentum, epsilon: epsilon, reducer: reducer)
    }
}

/// Gives every BatchNorm3d layer of `model` the reducer that sums its
/// statistics over the processes training together (synchronised BN), or
/// none (`nil`: each process normalises with its own batch).
public func useBatchNormReducer(_ reducer: BatchNormReducer?, in model: Module) {
    for (_, module) in model.namedModules() {
        if let bn = module as? BatchNorm3d { bn.reducer = reducer }
    }
}

public final class ReLU: Module {
    override public init() {}
    override public func forward(_ x: Tensor) -> Tensor { relu(x) }
}

public final class MaxPool3d: Module {
    public let kernel: (Int, Int, Int), stride: (Int, Int, Int), padding: (Int, Int, Int), ceilMode: Bool
    public init(
        _ kernel: (Int, Int, Int), stride: (Int, Int, Int)? = nil, padding: (Int, Int, Int) = (0, 0, 0),
        ceilMode: Bool = false
    ) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
        self.ceilMode = ceilMode
    }
    override public func forward(_ x: Tensor) -> Tensor {
        maxPool3d(x, kernel: kernel, stride: stride, padding: padding, ceilMode: ceilMode)
    }
}

public final class AvgPool3d: Module {
    public let kernel: (Int, Int, Int), stride: (Int, Int, Int)
    public init(_ kernel: (Int, Int, Int), stride: (Int, Int, Int)? = nil) {
        self.kernel = kernel
        self.stride = stride ?? kernel
    }
    override public func forward(_ x: Tensor) -> Tensor { avgPool3d(x, kernel: kernel, stride: stride) }
}

/// Mean over T×H×W: N×C×T×H×W → N×C.
public final class GlobalAvgPool3d: Module {
    override public init() {}
    override public func forward(_ x: Tensor) -> Tensor { globalAvgPool(x) }
}

/// x (N×F) · Wᵀ + b.
public final class Linear: Module {
    public let weight: Tensor, bias: Tensor?
    public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true, rng: inout SeededRNG) {
        let bound = 1 / Float(inputFeatures).squareRoot()
        weight = .parameter(
            [outputFeatures, inputFeatures], role: .joint,
            values: uniformValues(outputFeatures * inputFeatures, bound: bound, rng: &rng))
        self.bias =
            bias
            ? .parameter([outputFeatures], role: .joint, values: uniformValues(outputFeatures, bound: bound, rng: &rng))
            : nil
    }
    override public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
    override public func forward(_ x: Tensor) -> Tensor {
        linear(x.rank == 2 ? x : reshape(x, [x.shape[0], x.count / x.shape[0]]), weight, bias)
    }
}

public final class Dropout: Module {
    public let p: Float
    private var rng: SeededRNG
    public init(p: Float, seed: UInt64 = 0) {
        self.p = p
        rng = SeededRNG(seed: seed)
    }
    override public func forward(_ x: Tensor) -> Tensor { dropout(x, p: p, training: training, using: &rng) }
}

/// Layers applied in order; names are their positions ("0", "1", …) unless
/// given. A convolution followed by BN runs as `BatchNorm3d.after`.
public final class Sequential: Module {
    public let layers: [(String, Module)]
    public init(_ layers: [(String, Module)]) { self.layers = layers }
    public convenience init(_ layers: [Module]) { self.init(layers.enumerated().map { (String($0), $1) }) }
    override public var children: [(String, Module)] { layers }
    override public func forward(_ x: Tensor) -> Tensor { run(x, owned: false) }
    override public func forward(owned x: Tensor) -> Tensor { run(x, owned: true) }

    /// A layer gets its input as `owned` when it is a new tensor made by the
    /// layers before (nothing else reads it), not the Sequential's own input
    /// passed on unchanged (as dropout in eval mode does).
    private func run(_ x: Tensor, owned: Bool) -> Tensor {
        var h = x
        var owned = owned
        var i = 0
        while i < layers.count {
            let input = h
            if i + 1 < layers.count, layers[i].1 is EpilogueConvolution, let bn = layers[i + 1].1 as? BatchNorm3d {
                h = bn.after(layers[i].1, h)
                i += 2
            } else {
                h = owned ? layers[i].1(owned: h) : layers[i].1(h)
                i += 1
            }
            owned = owned || h !== input
        }
        return h
    }
}
