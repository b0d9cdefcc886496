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
}

/// A ResNet bottleneck: 1×1×1 (Cin→w, spatial stride here, as ResNet v1) →
/// middle conv (w→w) → 1×1×1 (w→4w), BN after each, ReLU after the first two
/// and after the residual sum; a strided 1×1×1 conv + BN on the shortcut when
/// shapes change.
public final class Bottleneck: Module {
    public let conv1: Conv3d, bn1: BatchNorm3d, conv2: Module, bn2: BatchNorm3d?, conv3: Conv3d, bn3: BatchNorm3d
    public let shortcut: Sequential?

    public init(inputChannels: Int, width: Int, stride: Int, middle: BottleneckConv, rng: inout SeededRNG) {
        let out = width * 4
        conv1 = Conv3d(inputChannels: inputChannels, outputChannels: width, kernelSize: (1, 1, 1), stride: (1, stride, stride), bias: false, rng: &rng)
        bn1 = BatchNorm3d(channels: width)
        switch middle {
        case .reg3d:
            conv2 = Conv3d(inputChannels: width, outputChannels: width, kernelSize: (3, 3, 3), padding: (1, 1, 1), bias: false, rng: &rng)
        case .stdcf:
            conv2 = STDCFConv(inputChannels: width, outputChannels: width, spatialAtoms: 6, temporalAtoms: 2, rng: &rng)
        case .rank1:
            conv2 = Rank1Conv(inputChannels: width, outputChannels: width, rng: &rng)
        case .tsm:
            conv2 = Sequential([("shift", TemporalShift()),
                                ("conv", Conv3d(inputChannels: width, outputChannels: width, kernelSize: (1, 3, 3), padding: (0, 1, 1), bias: false, rng: &rng))])
        case .spatial:
            conv2 = Conv3d(inputChannels: width, outputChannels: width, kernelSize: (1, 3, 3), padding: (0, 1, 1), bias: false, rng: &rng)
        case .ct:
            conv2 = CTModule(channels: width, rng: &rng)
        }
        bn2 = middle == .ct ? nil : BatchNorm3d(channels: width)
        conv3 = Conv3d(inputChannels: width, outputChannels: out, kernelSize: (1, 1, 1), bias: false, rng: &rng)
        bn3 = BatchNorm3d(channels: out)
        shortcut = stride != 1 || inputChannels != out
            ? Sequential([("0", Conv3d(inputChannels: inputChannels, outputChannels: out, kernelSize: (1, 1, 1), stride: (1, stride, stride), bias: false, rng: &rng)),
                          ("1", BatchNorm3d(channels: out))])
            : nil
    }

    override public var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2)] + (bn2.map { [("bn2", $0)] } ?? []) + [("conv3", conv3), ("bn3", bn3)]
            + (shortcut.map { [("downsample", $0)] } ?? [])
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = bn1.withReLU(conv1(x))
        h = conv2(h)
        if let bn2 { h = bn2.withReLU(h) }
        h = bn3(conv3(h))
        return relu(add(h, shortcut?(x) ?? x))
    }
}

/// A 3D ResNet-50: stem conv 3→64 (3×7×7, stride 1×2×2) + BN + ReLU + max-pool
/// 1×2×2; stages of [3, 4, 6, 3] bottlenecks of widths 64, 128, 256, 512
/// (spatial stride 2 entering stages 2–4, full temporal resolution
/// throughout); global average pool; linear 2048→classes.
///
/// `ctnet` is CT-Net's R50 instead: a 2D ResNet-50 (1×7×7 stem, 1×3×3 middle
/// convs) with CT-Modules in 7 blocks, the odd-numbered blocks of each stage
/// (1 + 2 + 3 + 1), as the paper's default "replace 7 blocks".
public final class ResNet3D50: Module {
    public let stem: Conv3d, stemBN: BatchNorm3d
    public let stages: [Sequential]
    public let fc: Linear

    public convenience init(classes: Int, middle: BottleneckConv, rng: inout SeededRNG) {
        self.init(classes: classes, stemTime: 3, middle: { _, _ in middle }, rng: &rng)
    }

    /// CT-Net R50 (see above).
    public static func ctnet(classes: Int, rng: inout SeededRNG) -> ResNet3D50 {
        ResNet3D50(classes: classes, stemTime: 1, middle: { _, block in block % 2 == 1 ? .ct : .spatial }, rng: &rng)
    }

    /// `middle(stage, block)` picks each bottleneck's middle conv (0-based indices).
    public init(classes: Int, stemTime: Int, middle: (Int, Int) -> BottleneckConv, rng: inout SeededRNG) {
        stem = Conv3d(inputChannels: 3, outputChannels: 64, kernelSize: (stemTime, 7, 7), stride: (1, 2, 2),
                      padding: (stemTime / 2, 3, 3), bias: false, rng: &rng)
        stemBN = BatchNorm3d(channels: 64)
        var channels = 64
        var built: [Sequential] = []
        for (stage, (blocks, width)) in zip([3, 4, 6, 3], [64, 128, 256, 512]).enumerated() {
            var layers: [(String, Module)] = []
            for b in 0..<blocks {
                layers.append((String(b), Bottleneck(inputChannels: channels, width: width, stride: b == 0 && stage > 0 ? 2 : 1,
                                                     middle: middle(stage, b), rng: &rng)))
                channels = width * 4
            }
            built.append(Sequential(layers))
        }
        stages = built
        fc = Linear(inputFeatures: 2048, outputFeatures: classes, rng: &rng)
    }

    override public var children: [(String, Module)] {
        [("conv1", stem), ("bn1", stemBN)] + stages.enumerated().map { ("layer\($0 + 1)", $1) } + [("fc", fc)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = maxPool3d(stemBN.withReLU(stem(x)), kernel: (1, 2, 2))
        for stage in stages { h = stage(h) }
        return fc(globalAvgPool(h))
    }
}
