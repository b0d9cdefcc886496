import Tensor

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
        var h = stemPool(stemBN.after(stem, x, relu: true))
        for (i, stage) in stages.enumerated() {
            if temporalPooling && i > 0 { h = temporalMaxPool(h) }
            h = stage(owned: h)
        }
        return fc(globalAvgPool(h))
    }
}
