import Tensor

/// The Deep Analysis supplement's video architectures on one backbone.
public enum VideoFamily: String, Sendable, CaseIterable {
    /// Every k×k conv becomes 3×k×k (the stem t×7×7).
    case i3d
    /// Every 3×3 conv becomes S3D's separable 1×3×3, BN + ReLU, 3×1×1 (the stem is not factorised).
    case s3d
    /// 2D convs on every frame (1×k×k); the classifier averages the frames.
    case tsn
    /// TSN with a `TemporalAggregation` module (see the backbones for where).
    case tam
}

/// torchvision's GoogLeNet `BasicConv2d` in 3D: a conv without bias, BN
/// (ε 10⁻³, as torchvision's) and ReLU. The conv is a `Conv3d` or, for S3D's
/// 3×3 convs, a `SeparableConv3d`.
public final class BasicConv3d: Module {
    public let conv: Module, bn: BatchNorm3d

    /// The 2D k×k conv (stride and padding in space) as `family` builds it;
    /// `stemTime` is the stem's temporal extent (its 7×7 conv), or nil for the
    /// other convs, whose temporal extent the family gives (3 for I3D's 3×3).
    init(
        _ family: VideoFamily, _ cin: Int, _ cout: Int, kernel k: Int, stride: Int = 1, padding: Int = 0,
        stemTime: Int? = nil,
        rng: inout SeededRNG
    ) {
        if family == .s3d && k == 3 {
            precondition(stride == 1 && padding == 1, "S3D's separable convs are 3×3, stride 1, padding 1")
            conv = SeparableConv3d(inputChannels: cin, outputChannels: cout, bnEpsilon: 1e-3, rng: &rng)
        } else {
            let t = stemTime ?? (family == .i3d && k > 1 ? 3 : 1)
            conv = Conv3d(
                inputChannels: cin, outputChannels: cout, kernelSize: (t, k, k), stride: (1, stride, stride),
                padding: (t / 2, padding, padding), bias: false, rng: &rng)
        }
        bn = BatchNorm3d(channels: cout, epsilon: 1e-3)
    }

    override public var children: [(String, Module)] { [("conv", conv), ("bn", bn)] }
    override public func forward(_ x: Tensor) -> Tensor { bn.after(conv, x, relu: true) }
}

/// GoogLeNet's Inception module (torchvision's layout and names): a 1×1
/// branch; 1×1 then 3×3; 1×1 then 3×3 (torchvision's "5×5" branch is 3×3);
/// a 3×3 max pool (stride 1, padding 1) then 1×1; concatenated on channels.
/// The 3D families build the convs as `BasicConv3d` does; the pool is 3×3×3
/// for I3D and S3D (as the supplement's code), 1×3×3 for TSN and TAM.
public final class InceptionModule: Module {
    public let branch1: BasicConv3d, branch2: Sequential, branch3: Sequential, branch4: Sequential
    public let outputChannels: Int

    init(
        _ family: VideoFamily, _ cin: Int, _ ch1x1: Int, _ ch3x3red: Int, _ ch3x3: Int, _ ch5x5red: Int, _ ch5x5: Int,
        _ poolProj: Int,
        rng: inout SeededRNG
    ) {
        branch1 = BasicConv3d(family, cin, ch1x1, kernel: 1, rng: &rng)
        branch2 = Sequential([
            ("0", BasicConv3d(family, cin, ch3x3red, kernel: 1, rng: &rng)),
            ("1", BasicConv3d(family, ch3x3red, ch3x3, kernel: 3, padding: 1, rng: &rng))
        ])
        branch3 = Sequential([
            ("0", BasicConv3d(family, cin, ch5x5red, kernel: 1, rng: &rng)),
            ("1", BasicConv3d(family, ch5x5red, ch5x5, kernel: 3, padding: 1, rng: &rng))
        ])
        let t = family == .i3d || family == .s3d ? 3 : 1
        branch4 = Sequential([
            ("0", MaxPool3d((t, 3, 3), stride: (1, 1, 1), padding: (t / 2, 1, 1), ceilMode: true)),
            ("1", BasicConv3d(family, cin, poolProj, kernel: 1, rng: &rng))
        ])
        outputChannels = ch1x1 + ch3x3 + ch5x5 + poolProj
    }

    override public var children: [(String, Module)] {
        [("branch1", branch1), ("branch2", branch2), ("branch3", branch3), ("branch4", branch4)]
    }
    override public func forward(_ x: Tensor) -> Tensor {
        concat([branch1(x), branch2(x), branch3(x), branch4(x)], axis: 1)
    }
}

/// InceptionV1 (GoogLeNet, torchvision's layout and parameter names, without
/// the auxiliary classifiers) as the supplement's I3D, S3D, TSN and TAM:
/// conv1 7×7/2 → max pool 3/2 → conv2 1×1 → conv3 3×3 → max pool 3/2 →
/// inception 3a, 3b → max pool 3/2 → 4a–4e → max pool 2/2 → 5a, 5b → global
/// average pool → linear 1024→classes. The spatial pools are torchvision's
/// (ceil mode, no padding), so inflated ImageNet weights see the windows they
/// were trained with.
///
/// - The stem is 7×7×7 for I3D and 3×7×7 for S3D (both as the supplement's
///   code, neither with a temporal stride), 1×7×7 for TSN and TAM.
/// - TAM: a `TemporalAggregation` after conv1, conv2, conv3 and every
///   inception module (`tam1`, `tam3a`, …), as the supplement's code places them.
/// - `temporalPooling` ("-tp"): a max pool of 3 frames, stride 2, after the
///   last three spatial pools (the supplement's five positions are the stem's
///   stride and the four pools).
public final class GoogLeNet3D: Module {
    public let family: VideoFamily
    public let temporalPooling: Bool
    public let conv1: BasicConv3d, conv2: BasicConv3d, conv3: BasicConv3d
    public let inceptions: [(String, InceptionModule)]
    /// TAM only: by the name of the layer each follows ("1", "3a", …).
    public let tams: [String: TemporalAggregation]
    public let fc: Linear

    /// torchvision's widths: name, then ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj.
    static let widths: [(String, [Int])] = [
        ("3a", [64, 96, 128, 16, 32, 32]), ("3b", [128, 128, 192, 32, 96, 64]),
        ("4a", [192, 96, 208, 16, 48, 64]), ("4b", [160, 112, 224, 24, 64, 64]), ("4c", [128, 128, 256, 24, 64, 64]),
        ("4d", [112, 144, 288, 32, 64, 64]), ("4e", [256, 160, 320, 32, 128, 128]),
        ("5a", [256, 160, 320, 32, 128, 128]), ("5b", [384, 192, 384, 48, 128, 128])
    ]

    public init(classes: Int, family: VideoFamily, temporalPooling: Bool = false, rng: inout SeededRNG) {
        self.family = family
        self.temporalPooling = temporalPooling
        let stemTime = family == .i3d ? 7 : family == .s3d ? 3 : 1
        conv1 = BasicConv3d(family, 3, 64, kernel: 7, stride: 2, padding: 3, stemTime: stemTime, rng: &rng)
        conv2 = BasicConv3d(family, 64, 64, kernel: 1, rng: &rng)
        conv3 = BasicConv3d(family, 64, 192, kernel: 3, padding: 1, rng: &rng)
        var tams: [String: TemporalAggregation] = [:]
        if family == .tam {
            for (name, channels) in [("1", 64), ("2", 64), ("3", 192)] {
                tams[name] = TemporalAggregation(channels: channels, rng: &rng)
            }
        }
        var channels = 192
        var built: [(String, InceptionModule)] = []
        for (name, w) in Self.widths {
            let module = InceptionModule(family, channels, w[0], w[1], w[2], w[3], w[4], w[5], rng: &rng)
            channels = module.outputChannels
            built.append((name, module))
            if family == .tam { tams[name] = TemporalAggregation(channels: channels, rng: &rng) }
        }
        inceptions = built
        self.tams = tams
        fc = Linear(inputFeatures: channels, outputFeatures: classes, rng: &rng)
    }

    override public var children: [(String, Module)] {
        func tam(_ name: String) -> [(String, Module)] { tams[name].map { [("tam" + name, $0)] } ?? [] }
        return [("conv1", conv1)] + tam("1") + [("conv2", conv2)] + tam("2") + [("conv3", conv3)] + tam("3")
            + inceptions.flatMap { [("inception" + $0.0, $0.1 as Module)] + tam($0.0) } + [("fc", fc)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        func tam(_ name: String, _ h: Tensor) -> Tensor { tams[name]?(h) ?? h }
        /// torchvision's spatial pool, then (with temporal pooling) the temporal one.
        func pool(_ h: Tensor, _ k: Int, temporal: Bool) -> Tensor {
            let pooled = maxPool3d(h, kernel: (1, k, k), stride: (1, 2, 2), ceilMode: true)
            return temporal && temporalPooling ? temporalMaxPool(pooled) : pooled
        }
        var h = pool(tam("1", conv1(x)), 3, temporal: false)
        h = tam("3", conv3(tam("2", conv2(h))))
        h = pool(h, 3, temporal: true)
        for (name, module) in inceptions {
            h = tam(name, module(h))
            if name == "3b" { h = pool(h, 3, temporal: true) }
            if name == "4e" { h = pool(h, 2, temporal: true) }
        }
        return fc(globalAvgPool(h))
    }
}
