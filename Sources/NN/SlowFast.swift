import Tensor

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
        var slow = stemPool(slowStemBN.after(slowStem, everyAlphaFrame(x), relu: true))
        var fast = stemPool(fastStemBN.after(fastStem, x, relu: true))
        for stage in 0..<4 {
            if stage < laterals.count { slow = concat([slow, relu(laterals[stage](fast))], axis: 1) }
            slow = slowStages[stage](slow)
            fast = fastStages[stage](fast)
        }
        return fc(concat([globalAvgPool(slow), globalAvgPool(fast)], axis: 1))
    }
}
