import Tensor

/// The STDCF paper's KTH study net (`kth3l`): conv 3→32, BN, ReLU, max-pool
/// (1,2,2); conv 32→64, BN, ReLU, max-pool 2; conv 64→128, BN, ReLU; global
/// average pool; linear 128→classes. Convs 3×3×3, padding 1, no bias.
/// `makeConv` builds each conv (plain conv3d for `kth3l-reg3d`).
public final class KTH3L: Module {
    public let conv1: Module, bn1: BatchNorm3d, conv2: Module, bn2: BatchNorm3d, conv3: Module, bn3: BatchNorm3d
    public let fc: Linear

    public init(classes: Int, makeConv: (Int, Int, inout SeededRNG) -> Module, rng: inout SeededRNG) {
        conv1 = makeConv(3, 32, &rng)
        bn1 = BatchNorm3d(channels: 32)
        conv2 = makeConv(32, 64, &rng)
        bn2 = BatchNorm3d(channels: 64)
        conv3 = makeConv(64, 128, &rng)
        bn3 = BatchNorm3d(channels: 128)
        fc = Linear(inputFeatures: 128, outputFeatures: classes, rng: &rng)
    }

    override public var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3), ("bn3", bn3), ("fc", fc)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = bn1.after(conv1, x, reluMaxPoolFrames: 1)
        h = bn2.after(conv2, h, reluMaxPoolFrames: 2)
        h = bn3.after(conv3, h, relu: true)
        return fc(globalAvgPool(h))
    }
}

/// The STDCF paper's reconstruction net (`recon3l-*`, its §2.1.1 TR-MNIST
/// experiment; Appendix B's exact setting is not published with it): conv
/// 3→32, BN, ReLU; conv 32→32, BN, ReLU; conv 32→3. Every conv is 3×3×3
/// "same" of the family's kind, so the output is a clip of the input's shape.
public final class Recon3L: Module {
    public let conv1: Module, bn1: BatchNorm3d, conv2: Module, bn2: BatchNorm3d, conv3: Module

    public init(makeConv: (Int, Int, inout SeededRNG) -> Module, rng: inout SeededRNG) {
        conv1 = makeConv(3, 32, &rng)
        bn1 = BatchNorm3d(channels: 32)
        conv2 = makeConv(32, 32, &rng)
        bn2 = BatchNorm3d(channels: 32)
        conv3 = makeConv(32, 3, &rng)
    }

    override public var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2), ("conv3", conv3)]
    }
    override public func forward(_ x: Tensor) -> Tensor {
        conv3(bn2.after(conv2, bn1.after(conv1, x, relu: true), relu: true))
    }
}

/// The 3×3×3 "same" conv Cin→Cout of the KTH and reconstruction nets: plain
/// (reg3d), STDCF with M = 6, N = 2, or rank-1 (2+1)D.
func kthConv(_ kind: String) -> (Int, Int, inout SeededRNG) -> Module {
    { cin, cout, rng in
        switch kind {
        case "stdcf": STDCFConv(inputChannels: cin, outputChannels: cout, spatialAtoms: 6, temporalAtoms: 2, rng: &rng)
        case "rank1": Rank1Conv(inputChannels: cin, outputChannels: cout, rng: &rng)
        default:
            Conv3d(
                inputChannels: cin, outputChannels: cout, kernelSize: (3, 3, 3), padding: (1, 1, 1), bias: false,
                rng: &rng)
        }
    }
}

/// Models by name, for configs and `clipkit model summary`.
public enum ModelZoo {
    public static let names =
        [
            "kth3l-reg3d", "kth3l-stdcf", "kth3l-rank1", "kth3l-ct", "kth3l-ct-no-te", "kth3l-tt", "kth3l-tsm",
            "lenet5-3d",
            "lenet5-3dtt",
            "recon3l-reg3d", "recon3l-stdcf", "recon3l-rank1",
            "r3d50", "stdcf-r50", "r2plus1d-r50", "ctnet-r50", "tsm-r50",
            "i3d-r50", "s3d-r50", "tsn-r50", "tam-r50", "i3d-r18", "s3d-r18", "tsn-r18", "tam-r18",
            "i3d-incv1", "s3d-incv1", "tsn-incv1", "tam-incv1"
        ]
        + [
            "i3d-r50", "s3d-r50", "tsn-r50", "tam-r50", "i3d-r18", "s3d-r18", "tsn-r18", "tam-r18",
            "i3d-incv1", "s3d-incv1", "tsn-incv1", "tam-incv1"
        ].map { $0 + "-tp" } + ["nl-i3d-r50", "slowfast-r50"]

    /// `input` (C×T×H×W) matters only for models whose layer sizes follow the
    /// clip (lenet5-*); the default is Video-MNIST's 1×30×28×28.
    public static func make(_ name: String, classes: Int, seed: UInt64 = 0, input: [Int] = [1, 30, 28, 28]) throws
        -> Module
    {
        var rng = SeededRNG(seed: seed)
        if let net = smallNet(name, classes: classes, input: input, rng: &rng) { return net }
        switch name {
        case "r3d50":
            return ResNet3D(classes: classes, middle: .reg3d, rng: &rng)
        case "stdcf-r50": return ResNet3D(classes: classes, middle: .stdcf, rng: &rng)
        case "r2plus1d-r50": return ResNet3D(classes: classes, middle: .rank1, rng: &rng)
        case "ctnet-r50": return ResNet3D.ctnet(classes: classes, rng: &rng)
        case "tsm-r50": return ResNet3D(classes: classes, middle: .tsm, rng: &rng)
        case "slowfast-r50": return SlowFast(classes: classes, rng: &rng)
        case "nl-i3d-r50":
            // The Non-local paper's 5 blocks: every other block of res3 (2) and res4 (3), as mmaction2's I3D-NL.
            return ResNet3D(
                classes: classes, depth: 50, stemTime: 5, middle: { _, _ in .reg3d },
                nonLocal: { stage, block in (stage == 1 || stage == 2) && block % 2 == 0 }, rng: &rng)
        // The Deep Analysis supplement's families (ResNet.swift: stems and middle convs; Inception.swift).
        case let zooName where names.contains(zooName):
            return try supplementNet(name, classes: classes, rng: &rng)
        default:
            throw ModelError.unknownModel(name, known: names)
        }
    }

    /// The small nets of the seeds' experiments (KTH, TR-MNIST, Video-MNIST), or nil.
    static func smallNet(_ name: String, classes: Int, input: [Int], rng: inout SeededRNG) -> Module? {
        switch name {
        case "kth3l-reg3d", "kth3l-stdcf", "kth3l-rank1":
            return KTH3L(classes: classes, makeConv: kthConv(String(name.dropFirst(6))), rng: &rng)
        case "recon3l-reg3d", "recon3l-stdcf", "recon3l-rank1":
            return Recon3L(makeConv: kthConv(String(name.dropFirst(8))), rng: &rng)
        case "kth3l-ct", "kth3l-ct-no-te":
            // A CT-Module keeps its channel count: a 1×1×1 conv + BN + ReLU
            // brings Cin to Cout first, as CT-Net's bottleneck does. -no-te:
            // without Tensor Excitation (CT-Net's Table 2g ablation).
            let excitation = name == "kth3l-ct"
            return KTH3L(
                classes: classes,
                makeConv: { cin, cout, rng in
                    var design = CTDesign.ctNet(channels: cout)
                    design.excitation = excitation
                    return Sequential([
                        ("project", ConvBN(inputChannels: cin, outputChannels: cout, kernelSize: (1, 1, 1), rng: &rng)),
                        ("ct", CTModule(channels: cout, design: design, rng: &rng))
                    ])
                }, rng: &rng)
        case "kth3l-tt":
            return KTH3L(
                classes: classes,
                makeConv: { cin, cout, rng in
                    TTConv3d(inputChannels: cin, outputChannels: cout, kernelSize: (3, 3, 3), rng: &rng)
                }, rng: &rng)
        case "kth3l-tsm":
            // TSM's 2D conv after a temporal shift (1/8 of the channels each way; none of conv1's 3).
            return KTH3L(
                classes: classes,
                makeConv: { cin, cout, rng in
                    Sequential([
                        ("shift", TemporalShift()),
                        (
                            "conv",
                            Conv3d(
                                inputChannels: cin, outputChannels: cout, kernelSize: (1, 3, 3), padding: (0, 1, 1),
                                bias: false, rng: &rng)
                        )
                    ])
                }, rng: &rng)
        case "lenet5-3d":
            return LeNet5(
                classes: classes, input: input,
                makeConv: { cin, cout, pad, rng in
                    Conv3d(
                        inputChannels: cin, outputChannels: cout, kernelSize: (5, 5, 5), padding: (pad, pad, pad),
                        rng: &rng)
                }, rng: &rng)
        case "lenet5-3dtt":
            return LeNet5(
                classes: classes, input: input,
                makeConv: { cin, cout, pad, rng in
                    TTConv3d(
                        inputChannels: cin, outputChannels: cout, kernelSize: (5, 5, 5), padding: (pad, pad, pad),
                        rng: &rng)
                }, rng: &rng)
        default: return nil
        }
    }

    /// One of the Deep Analysis supplement's families: a ResNet or GoogLeNet
    /// with the family's stem and middle convs, "-tp" with temporal pooling.
    static func supplementNet(_ name: String, classes: Int, rng: inout SeededRNG) throws -> Module {
        guard let family = VideoFamily(rawValue: String(name.prefix(3))) else {
            throw ModelError.unknownModel(name, known: names)
        }
        // "-tp": with the supplement's temporal pooling.
        let pooled = name.hasSuffix("-tp")
        let base = pooled ? String(name.dropLast(3)) : name
        if base.hasSuffix("incv1") {
            return GoogLeNet3D(classes: classes, family: family, temporalPooling: pooled, rng: &rng)
        }
        let depth = base.hasSuffix("r18") ? 18 : 50
        let (stemTime, middle): (Int, BottleneckConv) =
            switch family {
            case .i3d: (5, .reg3d)
            case .s3d: (3, .separable)
            case .tsn, .tam: (1, .spatial)
            }
        return ResNet3D(
            classes: classes, depth: depth, stemTime: stemTime, middle: { _, _ in middle },
            temporalAggregation: family == .tam, temporalPooling: pooled, rng: &rng)
    }
}

/// Parameters and forward FLOPs (2 × multiply-adds) of a model for one clip.
public struct ModelSummary: Codable, Sendable {
    public struct Layer: Codable, Sendable {
        public var name: String
        public var shape: [Int]
        public var params: Int
        public var role: String
    }
    public var params: Int
    public var flops: Int
    public var layers: [Layer]
    /// Models with STDCF layers: the FLOPs with all of them composed, and all factored.
    public var composedFlops: Int?
    public var factoredFlops: Int?
}

/// Forward FLOPs of one clip with every STDCF layer composed and with every
/// one factored (STDCF §2.4), the layers' own settings restored after; nil
/// for a model without STDCF layers.
public func stdcfExecutionFlops(_ model: Module, input: [Int]) -> (composed: Int, factored: Int)? {
    let stdcf = stdcfLayers(model)
    guard !stdcf.isEmpty else { return nil }
    let kept = stdcf.map(\.execution)
    defer { for (layer, e) in zip(stdcf, kept) { layer.execution = e } }
    func flops(_ e: STDCFExecution) -> Int {
        for layer in stdcf { layer.execution = e }
        return summarize(model, input: input).flops
    }
    return (flops(.composed), flops(.factored))
}

public func summarize(_ model: Module, input: [Int]) -> ModelSummary {
    model.eval()
    let flops = FlopCounter.count { GradMode.withNoGrad { _ = model(Tensor(zeros: [1] + input)) } }
    model.train()
    let layers = model.parameters().map { name, t in
        ModelSummary.Layer(name: name, shape: t.shape, params: t.count, role: t.role?.rawValue ?? "")
    }
    return ModelSummary(params: model.parameterCount, flops: flops, layers: layers)
}

/// LeNet-5 in 3D (3DTT paper): conv 1→6 k5 pad 2, max-pool 2, conv 6→16 k5,
/// max-pool 2, linear →120 →84 →classes, ReLU between (the paper does not name
/// the activation). `makeConv(cin, cout, padding)` builds the convs: plain
/// conv3d with bias (lenet5-3d) or TTConv3d (lenet5-3dtt). The first linear
/// layer's width follows the clip size `input` (C×T×H×W).
public final class LeNet5: Module {
    public let conv1: Module, conv2: Module
    public let fc1: Linear, fc2: Linear, fc3: Linear

    public init(classes: Int, input: [Int], makeConv: (Int, Int, Int, inout SeededRNG) -> Module, rng: inout SeededRNG)
    {
        conv1 = makeConv(input[0], 6, 2, &rng)
        conv2 = makeConv(6, 16, 0, &rng)
        // T×H×W: same conv, pool 2, valid conv 5, pool 2.
        let size = input.dropFirst().map { (($0 / 2) - 4) / 2 }
        fc1 = Linear(inputFeatures: 16 * size.reduce(1, *), outputFeatures: 120, rng: &rng)
        fc2 = Linear(inputFeatures: 120, outputFeatures: 84, rng: &rng)
        fc3 = Linear(inputFeatures: 84, outputFeatures: classes, rng: &rng)
    }

    override public var children: [(String, Module)] {
        [("conv1", conv1), ("conv2", conv2), ("fc1", fc1), ("fc2", fc2), ("fc3", fc3)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = maxPool3d(relu(conv1(x)), kernel: (2, 2, 2))
        h = maxPool3d(relu(conv2(h)), kernel: (2, 2, 2))
        h = relu(fc1(reshape(h, [h.shape[0], h.count / h.shape[0]])))
        return fc3(relu(fc2(h)))
    }
}
