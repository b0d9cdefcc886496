import Tensor

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
        let h = bn2.after(conv2, bn1.after(conv1, tam?(x) ?? x, relu: true))
        return addReLU(into: h, shortcut?(x) ?? x)
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

    override public func forward(_ x: Tensor) -> Tensor { run(x, owned: false) }
    override public func forward(owned x: Tensor) -> Tensor { run(x, owned: true) }

    /// In inference the last conv is added into the shortcut's output, or
    /// into the input itself when the caller owns it (`BatchNorm3d.after`).
    private func run(_ x: Tensor, owned: Bool) -> Tensor {
        let residual = shortcut?(x)
        var h = bn1.after(conv1, tam?(x) ?? x, relu: true)
        h = bn2?.after(conv2, h, relu: true) ?? conv2(h)
        let y = bn3.after(conv3, h, addingReLU: residual ?? x, overwriting: residual != nil || owned)
        return nonLocal?(y) ?? y
    }
}
