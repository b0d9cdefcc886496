import Tensor

/// The middle (k×k×k) convolution of a 3D ResNet bottleneck.
public enum BottleneckConv: String, Sendable {
    /// 3×3×3 conv3d (r3d50).
    case reg3d
    /// STDCF with M = 6 spatial and N = 2 temporal atoms (stdcf-r50).
    case stdcf
    /// Rank-1 (2+1)D: 1×3×3 then 3×1×1 (r2plus1d-r50).
    case rank1
    /// Temporal shift, then a 1×3×3 conv (tsm-r50).
    case tsm
    /// A 1×3×3 conv: the 2D ResNet block CT-Net keeps where it has no CT-Module.
    case spatial
    /// CT-Module (ctnet-r50); it ends in its own excitation, so no BN + ReLU follows.
    case ct
    /// S3D's separable conv: 1×3×3, BN + ReLU, then 3×1×1 (s3d-*).
    case separable
}

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
    override public func forward(_ x: Tensor) -> Tensor { temporal(bn.withReLU(spatial(x))) }
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

/// The k×k×k conv of kind `kind`, Cin→Cout. Only plain convs (reg3d,
/// spatial, separable) take a spatial stride: ResNet-18's blocks stride there.
func middleConv(_ kind: BottleneckConv, _ cin: Int, _ cout: Int, stride: Int = 1, rng: inout SeededRNG) -> Module {
    precondition(stride == 1 || [.reg3d, .spatial, .separable].contains(kind), "\(kind) convs have no stride")
    switch kind {
    case .reg3d:
        return Conv3d(
            inputChannels: cin, outputChannels: cout, kernelSize: (3, 3, 3), stride: (1, stride, stride),
            padding: (1, 1, 1), bias: false, rng: &rng)
    case .stdcf:
        return STDCFConv(inputChannels: cin, outputChannels: cout, spatialAtoms: 6, temporalAtoms: 2, rng: &rng)
    case .rank1:
        return Rank1Conv(inputChannels: cin, outputChannels: cout, rng: &rng)
    case .tsm:
        return Sequential([
            ("shift", TemporalShift()),
            (
                "conv",
                Conv3d(
                    inputChannels: cin, outputChannels: cout, kernelSize: (1, 3, 3), padding: (0, 1, 1), bias: false,
                    rng: &rng)
            )
        ])
    case .spatial:
        return Conv3d(
            inputChannels: cin, outputChannels: cout, kernelSize: (1, 3, 3), stride: (1, stride, stride),
            padding: (0, 1, 1), bias: false, rng: &rng)
    case .ct:
        return CTModule(channels: cout, rng: &rng)
    case .separable:
        return SeparableConv3d(inputChannels: cin, outputChannels: cout, stride: stride, rng: &rng)
    }
}

/// ResNet's stem pool, torchvision's 3×3 max pool with stride 2 and padding
/// 1 on every frame (mmaction2's and PySlowFast's 1×3×3 one), so inflated 2D
/// weights see the windows they were trained with.
func stemPool(_ x: Tensor) -> Tensor { maxPool3d(x, kernel: (1, 3, 3), stride: (1, 2, 2), padding: (0, 1, 1)) }

/// The strided 1×1×1 conv + BN shortcut of a block whose shape changes.
func projectionShortcut(_ cin: Int, _ cout: Int, stride: Int, rng: inout SeededRNG) -> Sequential {
    Sequential([
        (
            "0",
            Conv3d(
                inputChannels: cin, outputChannels: cout, kernelSize: (1, 1, 1), stride: (1, stride, stride),
                bias: false, rng: &rng)
        ),
        ("1", BatchNorm3d(channels: cout))
    ])
}

/// A ResNet-18/34 basic block: middle conv (Cin→w, spatial stride) + BN +
/// ReLU → middle conv (w→w) + BN, plus the shortcut, then ReLU.
public final class BasicBlock: Module {
    public let tam: TemporalAggregation?
    public let conv1: Module, bn1: BatchNorm3d, conv2: Module, bn2: BatchNorm3d
    public let shortcut: Sequential?

    public init(
        inputChannels: Int, width: Int, stride: Int, middle: BottleneckConv, temporalAggregation: Bool = false,
        rng: inout SeededRNG
    ) {
        tam = temporalAggregation ? TemporalAggregation(channels: inputChannels, rng: &rng) : nil
        conv1 = middleConv(middle, inputChannels, width, stride: stride, rng: &rng)
        bn1 = BatchNorm3d(channels: width)
        conv2 = middleConv(middle, width, width, rng: &rng)
        bn2 = BatchNorm3d(channels: width)
        shortcut =
            stride != 1 || inputChannels != width
            ? projectionShortcut(inputChannels, width, stride: stride, rng: &rng) : nil
    }

    override public var children: [(String, Module)] {
        (tam.map { [("tam", $0)] } ?? []) + [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
            + (shortcut.map { [("downsample", $0)] } ?? [])
    }

    override public func forward(_ x: Tensor) -> Tensor {
        let h = bn2(conv2(bn1.withReLU(conv1(tam?(x) ?? x))))
        return addReLU(h, shortcut?(x) ?? x)
    }
}

/// A ResNet bottleneck: 1×1×1 (Cin→w, spatial stride here, as ResNet v1) →
/// middle conv (w→w) → 1×1×1 (w→4w), BN after each, ReLU after the first two
/// and after the residual sum; a strided 1×1×1 conv + BN on the shortcut when
/// shapes change.
public final class Bottleneck: Module {
    public let tam: TemporalAggregation?
    public let conv1: Conv3d, bn1: BatchNorm3d, conv2: Module, bn2: BatchNorm3d?, conv3: Conv3d, bn3: BatchNorm3d
    public let shortcut: Sequential?
    /// A non-local block on the block's output (nl-i3d-r50).
    public let nonLocal: NonLocalBlock?

    /// `temporalKernel`: SlowFast's kt×1×1 first conv (1: ResNet's 1×1×1).
    public init(
        inputChannels: Int, width: Int, stride: Int, middle: BottleneckConv, temporalAggregation: Bool = false,
        nonLocal: Bool = false, temporalKernel: Int = 1, rng: inout SeededRNG
    ) {
        let out = width * 4
        tam = temporalAggregation ? TemporalAggregation(channels: inputChannels, rng: &rng) : nil
        conv1 = Conv3d(
            inputChannels: inputChannels, outputChannels: width, kernelSize: (temporalKernel, 1, 1),
            stride: (1, stride, stride),
            padding: (temporalKernel / 2, 0, 0), bias: false, rng: &rng)
        bn1 = BatchNorm3d(channels: width)
        conv2 = middleConv(middle, width, width, rng: &rng)
        bn2 = middle == .ct ? nil : BatchNorm3d(channels: width)
        conv3 = Conv3d(inputChannels: width, outputChannels: out, kernelSize: (1, 1, 1), bias: false, rng: &rng)
        bn3 = BatchNorm3d(channels: out)
        shortcut =
            stride != 1 || inputChannels != out
            ? projectionShortcut(inputChannels, out, stride: stride, rng: &rng) : nil
        self.nonLocal = nonLocal ? NonLocalBlock(channels: out, rng: &rng) : nil
    }

    override public var children: [(String, Module)] {
        (tam.map { [("tam", $0)] } ?? []) + [("conv1", conv1), ("bn1", bn1), ("conv2", conv2)]
            + (bn2.map { [("bn2", $0)] } ?? [])
            + [("conv3", conv3), ("bn3", bn3)]
            + (shortcut.map { [("downsample", $0)] } ?? []) + (nonLocal.map { [("non_local", $0)] } ?? [])
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = bn1.withReLU(conv1(tam?(x) ?? x))
        h = conv2(h)
        if let bn2 { h = bn2.withReLU(h) }
        h = bn3(conv3(h))
        let y = addReLU(h, shortcut?(x) ?? x)
        return nonLocal?(y) ?? y
    }
}

/// A 3D ResNet-50 (or -18): stem conv 3→64 (t×7×7, stride 1×2×2) + BN +
/// ReLU + max-pool 1×3×3 (stride 1×2×2, padding 0×1×1, `stemPool`); stages of [3, 4, 6, 3] bottlenecks (ResNet-18: [2,
/// 2, 2, 2] basic blocks) of widths 64, 128, 256, 512 (spatial stride 2
/// entering stages 2–4, full temporal resolution throughout); global average
/// pool; linear 2048 (512)→classes.
///
/// The families differ in the stem's t and the middle convs: r3d50 (3, 3×3×3),
/// i3d (5, 3×3×3: the Deep Analysis supplement's I3D), s3d (3, separable),
/// tsn (1, 1×3×3: a 2D ResNet on every frame; averaging its per-frame logits
/// equals the global pool's logits, since the classifier is linear), tam
/// (tsn with a `TemporalAggregation` opening every block's residual path),
/// r2plus1d, stdcf, tsm. `ctnet` is CT-Net's R50 instead: a 2D ResNet-50
/// with CT-Modules in 7 blocks, the odd-numbered blocks of each stage
/// (1 + 2 + 3 + 1), as the paper's default "replace 7 blocks".
public final class ResNet3D: Module {
    public let stem: Conv3d, stemBN: BatchNorm3d
    public let stages: [Sequential]
    public let fc: Linear
    /// The supplement's temporal pooling: a max pool of 3 frames, stride 2,
    /// beside each of the last three spatial downsamplings (entering stages 2–4).
    public let temporalPooling: Bool

    public convenience init(classes: Int, middle: BottleneckConv, rng: inout SeededRNG) {
        self.init(classes: classes, stemTime: 3, middle: { _, _ in middle }, rng: &rng)
    }

    /// CT-Net R50 (see above).
    public static func ctnet(classes: Int, rng: inout SeededRNG) -> ResNet3D {
        ResNet3D(classes: classes, stemTime: 1, middle: { _, block in block % 2 == 1 ? .ct : .spatial }, rng: &rng)
    }

    /// `middle(stage, block)` picks each block's middle conv (0-based indices);
    /// `depth` is 50 (bottlenecks) or 18 (basic blocks).
    public init(
        classes: Int, depth: Int = 50, stemTime: Int, middle: (Int, Int) -> BottleneckConv,
        temporalAggregation: Bool = false,
        temporalPooling: Bool = false, nonLocal: (Int, Int) -> Bool = { _, _ in false }, rng: inout SeededRNG
    ) {
        precondition(depth == 50 || depth == 18, "ResNet depth 18 or 50")
        self.temporalPooling = temporalPooling
        stem = Conv3d(
            inputChannels: 3, outputChannels: 64, kernelSize: (stemTime, 7, 7), stride: (1, 2, 2),
            padding: (stemTime / 2, 3, 3), bias: false, rng: &rng)
        stemBN = BatchNorm3d(channels: 64)
        var channels = 64
        var built: [Sequential] = []
        let blocks = depth == 50 ? [3, 4, 6, 3] : [2, 2, 2, 2]
        for (stage, (count, width)) in zip(blocks, [64, 128, 256, 512]).enumerated() {
            var layers: [(String, Module)] = []
            for b in 0..<count {
                let stride = b == 0 && stage > 0 ? 2 : 1
                if depth == 50 {
                    layers.append(
                        (
                            String(b),
                            Bottleneck(
                                inputChannels: channels, width: width, stride: stride, middle: middle(stage, b),
                                temporalAggregation: temporalAggregation, nonLocal: nonLocal(stage, b), rng: &rng)
                        ))
                    channels = width * 4
                } else {
                    layers.append(
                        (
                            String(b),
                            BasicBlock(
                                inputChannels: channels, width: width, stride: stride, middle: middle(stage, b),
                                temporalAggregation: temporalAggregation, rng: &rng)
                        ))
                    channels = width
                }
            }
            built.append(Sequential(layers))
        }
        stages = built
        fc = Linear(inputFeatures: channels, outputFeatures: classes, rng: &rng)
    }

    override public var children: [(String, Module)] {
        [("conv1", stem), ("bn1", stemBN)] + stages.enumerated().map { ("layer\($0 + 1)", $1) } + [("fc", fc)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = stemPool(stemBN.withReLU(stem(x)))
        for (i, stage) in stages.enumerated() {
            if temporalPooling && i > 0 { h = temporalMaxPool(h) }
            h = stage(h)
        }
        return fc(globalAvgPool(h))
    }
}

/// SlowFast-R50 (Feichtenhofer et al., 8×8: α = 8, β = 1/8), in ClipKit's
/// ResNet conventions (`stemPool`, stride on each stage's first 1×1×1
/// conv). The fast pathway sees every frame with β × the channels; the slow
/// one every α-th frame. Stems: slow 1×7×7, fast 5×7×7. Bottlenecks' first
/// conv is 3×1×1 in every fast stage and in the slow res4 and res5 (1×1×1
/// before), their middle conv 1×3×3. After the stem and res2–res4 a lateral
/// conv (7×1×1, stride α in time, 2 × the fast channels) + BN + ReLU carries
/// the fast features into the slow pathway, concatenated on channels. Both
/// pathways are pooled and concatenated (2048 + 256) for the classifier.
public final class SlowFast: Module {
    public let alpha: Int
    public let slowStem: Conv3d, slowStemBN: BatchNorm3d, fastStem: Conv3d, fastStemBN: BatchNorm3d
    public let slowStages: [Sequential], fastStages: [Sequential]
    public let laterals: [Sequential]
    public let fc: Linear

    public init(classes: Int, alpha: Int = 8, betaInverse: Int = 8, rng: inout SeededRNG) {
        self.alpha = alpha
        let fastStemWidth = 64 / betaInverse
        slowStem = Conv3d(
            inputChannels: 3, outputChannels: 64, kernelSize: (1, 7, 7), stride: (1, 2, 2), padding: (0, 3, 3),
            bias: false, rng: &rng)
        slowStemBN = BatchNorm3d(channels: 64)
        fastStem = Conv3d(
            inputChannels: 3, outputChannels: fastStemWidth, kernelSize: (5, 7, 7), stride: (1, 2, 2),
            padding: (2, 3, 3),
            bias: false, rng: &rng)
        fastStemBN = BatchNorm3d(channels: fastStemWidth)
        func lateral(_ fastChannels: Int, _ rng: inout SeededRNG) -> Sequential {
            Sequential([
                (
                    "conv",
                    Conv3d(
                        inputChannels: fastChannels, outputChannels: 2 * fastChannels, kernelSize: (7, 1, 1),
                        stride: (alpha, 1, 1),
                        padding: (3, 0, 0), bias: false, rng: &rng)
                ),
                ("bn", BatchNorm3d(channels: 2 * fastChannels))
            ])
        }
        var lats = [lateral(fastStemWidth, &rng)]
        var slowIn = 64 + 2 * fastStemWidth
        var fastIn = fastStemWidth
        var slow: [Sequential] = []
        var fast: [Sequential] = []
        for (stage, (count, width)) in zip([3, 4, 6, 3], [64, 128, 256, 512]).enumerated() {
            var s: [(String, Module)] = []
            var f: [(String, Module)] = []
            let fastWidth = width / betaInverse
            for b in 0..<count {
                let stride = b == 0 && stage > 0 ? 2 : 1
                s.append(
                    (
                        String(b),
                        Bottleneck(
                            inputChannels: b == 0 ? slowIn : width * 4, width: width, stride: stride, middle: .spatial,
                            temporalKernel: stage >= 2 ? 3 : 1, rng: &rng)
                    ))
                f.append(
                    (
                        String(b),
                        Bottleneck(
                            inputChannels: b == 0 ? fastIn : fastWidth * 4, width: fastWidth, stride: stride,
                            middle: .spatial,
                            temporalKernel: 3, rng: &rng)
                    ))
            }
            slow.append(Sequential(s))
            fast.append(Sequential(f))
            fastIn = fastWidth * 4
            slowIn = width * 4 + (stage < 3 ? 2 * fastIn : 0)
            if stage < 3 { lats.append(lateral(fastIn, &rng)) }
        }
        slowStages = slow
        fastStages = fast
        laterals = lats
        fc = Linear(inputFeatures: 2048 + 2048 / betaInverse, outputFeatures: classes, rng: &rng)
    }

    override public var children: [(String, Module)] {
        [("slow_conv1", slowStem), ("slow_bn1", slowStemBN), ("fast_conv1", fastStem), ("fast_bn1", fastStemBN)]
            + slowStages.enumerated().map { ("slow_layer\($0 + 1)", $1) }
            + fastStages.enumerated().map { ("fast_layer\($0 + 1)", $1) }
            + laterals.enumerated().map { ("lateral\($0 + 1)", $1) } + [("fc", fc)]
    }

    /// Every α-th frame of a clip (the slow pathway's input; no gradient, as it is data).
    func everyAlphaFrame(_ x: Tensor) -> Tensor {
        let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
        let frames = (t + alpha - 1) / alpha
        let area = h * w
        let out = Tensor(zeros: [n, c, frames, h, w])
        x.withValues { source in
            out.withValues { target in
                for plane in 0..<(n * c) {
                    for f in 0..<frames {
                        (target + (plane * frames + f) * area).update(
                            from: source + (plane * t + f * alpha) * area, count: area)
                    }
                }
            }
        }
        return out
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var slow = stemPool(slowStemBN.withReLU(slowStem(everyAlphaFrame(x))))
        var fast = stemPool(fastStemBN.withReLU(fastStem(x)))
        for stage in 0..<4 {
            if stage < laterals.count { slow = concat([slow, relu(laterals[stage](fast))], axis: 1) }
            slow = slowStages[stage](slow)
            fast = fastStages[stage](fast)
        }
        return fc(concat([globalAvgPool(slow), globalAvgPool(fast)], axis: 1))
    }
}
