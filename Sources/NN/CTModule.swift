import Tensor

/// Conv3d ("same" padding, no bias), then BN and optionally ReLU: the unit
/// CT-Net builds everything from. Without `normalized` it is the bare conv.
public final class ConvBN: Module {
    public let conv: Conv3d
    public let bn: BatchNorm3d?
    public let activated: Bool

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize k: (Int, Int, Int), groups: Int = 1,
        normalized: Bool = true, activated: Bool = true, role: ParameterRole = .joint, rng: inout SeededRNG
    ) {
        conv = Conv3d(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: k,
            padding: ((k.0 - 1) / 2, (k.1 - 1) / 2, (k.2 - 1) / 2), groups: groups, bias: false, role: role, rng: &rng)
        bn = normalized ? BatchNorm3d(channels: outputChannels) : nil
        self.activated = normalized && activated
    }

    override public var children: [(String, Module)] { [("conv", conv)] + (bn.map { [("bn", $0)] } ?? []) }

    override public func forward(_ x: Tensor) -> Tensor {
        guard let bn else { return conv(x) }
        return bn.after(conv, x, relu: activated)
    }
}

/// CT-Net's Tensor Excitation: x · sigmoid(expand(squeeze(pool(x)))). The
/// gate is computed by tensor separable convs on the same channel groups as
/// the conv it follows (unlike SE, which mixes all channels):
/// - spatial: temporal mean (N×C×1×H×W), 1×3×3 convs, gate broadcast over T;
/// - temporal: spatial mean (N×C×T×1×1), 3×1×1 convs, gate broadcast over H×W;
/// - channel: spatial mean (N×C×T×1×1), 1×1×1 convs.
/// squeeze = grouped conv C→C/reduction + BN + ReLU; expand = grouped conv back to C.
public final class TensorExcitation: Module {
    public enum Axis: String, Sendable { case spatial, temporal, channel }
    public let axis: Axis
    public let squeeze: ConvBN
    public let expand: Conv3d

    public init(channels: Int, axis: Axis, groups: Int, reduction: Int = 4, rng: inout SeededRNG) {
        let kernel = axis == .spatial ? (1, 3, 3) : axis == .temporal ? (3, 1, 1) : (1, 1, 1)
        let reduced = channels / reduction
        precondition(
            reduced % groups == 0, "Tensor Excitation: \(reduced) squeezed channels do not split into \(groups) groups")
        self.axis = axis
        squeeze = ConvBN(
            inputChannels: channels, outputChannels: reduced, kernelSize: kernel, groups: groups, rng: &rng)
        let pad = ((kernel.0 - 1) / 2, (kernel.1 - 1) / 2, (kernel.2 - 1) / 2)
        expand = Conv3d(
            inputChannels: reduced, outputChannels: channels, kernelSize: kernel, padding: pad,
            groups: groups, bias: false, rng: &rng)
    }

    override public var children: [(String, Module)] { [("squeeze", squeeze), ("expand", expand)] }

    /// The gate for x (N×C×1×H×W spatial, else N×C×T×1×1).
    public func gate(_ x: Tensor) -> Tensor {
        let (t, h, w) = (x.shape[2], x.shape[3], x.shape[4])
        let pooled = axis == .spatial ? avgPool3d(x, kernel: (t, 1, 1)) : avgPool3d(x, kernel: (1, h, w))
        return sigmoid(expand(squeeze(pooled)))
    }

    override public func forward(_ x: Tensor) -> Tensor { mul(x, gate(x)) }
}

/// How a CT-Module is built (the paper's three hyper-parameters, plus the
/// implementation's additions). Each step convolves within groups of
/// `interacting` channels (C_k), with one kernel or with parallel kernels whose
/// outputs are summed.
public struct CTDesign: Sendable {
    public struct Step: Sendable {
        public var interacting: Int
        public var kernels: [[Int]]  // each [t, h, w]
        public init(interacting: Int, kernels: [[Int]]) {
            self.interacting = interacting
            self.kernels = kernels
        }
    }
    public var steps: [Step]
    /// BN + ReLU after every conv, Tensor Excitation, and a 1×1×1 fusion conv
    /// (+ BN + ReLU) between steps: the CT-Net implementation. Off, the module
    /// is the bare tensor separable convolution of the paper's Discussion.
    public var enhanced: Bool
    /// With `enhanced`: the Tensor Excitation gates (off: CT-Net's ablation
    /// without TE, Table 2g; BN, ReLU and the fusion conv stay).
    public var excitation = true

    /// CT-Net, K = 2: C = C1×C2 with C1 = 2^⌊log2(C)/2⌋; the first step mixes
    /// C2 channels, the second C1; each step is 1×3×3 ‖ 3×1×1.
    public static func ctNet(channels c: Int) -> CTDesign {
        var c1 = 1
        while c1 * c1 * 4 <= c { c1 *= 2 }  // 2^⌊log2(C)/2⌋
        precondition(c % c1 == 0, "CT-Module: \(c) channels are not a multiple of C1 = \(c1)")
        let parallel = [[1, 3, 3], [3, 1, 1]]
        return CTDesign(
            steps: [Step(interacting: c / c1, kernels: parallel), Step(interacting: c1, kernels: parallel)],
            enhanced: true)
    }

    /// K = 1, kernel 3×3×3, C1 = C: C3D's full 3D convolution.
    public static func c3d(channels c: Int) -> CTDesign {
        CTDesign(steps: [Step(interacting: c, kernels: [[3, 3, 3]])], enhanced: false)
    }

    /// K = 2, kernels 1×3×3 then 3×1×1, C1 = C2 = C (no tensorization): R(2+1)D.
    public static func r2plus1d(channels c: Int) -> CTDesign {
        CTDesign(
            steps: [Step(interacting: c, kernels: [[1, 3, 3]]), Step(interacting: c, kernels: [[3, 1, 1]])],
            enhanced: false)
    }

    /// K = 2, C = C×1, kernels 1×1×1 then 3×3×3: CSN (point-wise, then depthwise).
    public static func csn(channels c: Int) -> CTDesign {
        CTDesign(
            steps: [Step(interacting: c, kernels: [[1, 1, 1]]), Step(interacting: 1, kernels: [[3, 3, 3]])],
            enhanced: false)
    }
}

/// One step of a CT-Module: the tensor separable convs of one sub-dimension
/// (groups of `interacting` consecutive channels), summed, with spatial,
/// temporal and channel Tensor Excitation when enhanced.
public final class CTStep: Module {
    public let branches: [ConvBN]
    public let excitations: [TensorExcitation]
    public let channelExcitation: TensorExcitation?

    init(channels: Int, step: CTDesign.Step, enhanced: Bool, excitation: Bool, rng: inout SeededRNG) {
        precondition(
            channels % step.interacting == 0,
            "CT step: \(channels) channels do not split into groups of \(step.interacting)")
        let groups = channels / step.interacting
        branches = step.kernels.map { k in
            // Roles for ITSL: a kernel without time is spatial, one without space temporal.
            let role: ParameterRole =
                k[0] == 1 && k[1] > 1 ? .spatial : k[1] == 1 && k[2] == 1 && k[0] > 1 ? .temporal : .joint
            return ConvBN(
                inputChannels: channels, outputChannels: channels, kernelSize: (k[0], k[1], k[2]), groups: groups,
                normalized: enhanced, role: role, rng: &rng)
        }
        if enhanced && excitation {
            excitations = step.kernels.map { k in
                precondition(
                    k[0] == 1 || (k[1] == 1 && k[2] == 1),
                    "Tensor Excitation needs spatial (1×k×k) or temporal (t×1×1) kernels")
                return TensorExcitation(
                    channels: channels, axis: k[0] == 1 ? .spatial : .temporal, groups: groups, rng: &rng)
            }
            channelExcitation = TensorExcitation(channels: channels, axis: .channel, groups: groups, rng: &rng)
        } else {
            excitations = []
            channelExcitation = nil
        }
    }

    override public var children: [(String, Module)] {
        branches.enumerated().map { ("conv\($0)", $1 as Module) }
            + excitations.enumerated().map { ("excite\($0)", $1 as Module) }
            + (channelExcitation.map { [("excite_channel", $0)] } ?? [])
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var sum: Tensor?
        for (i, branch) in branches.enumerated() {
            let y: Tensor
            if i < excitations.count, let bn = branch.bn, branch.activated {
                // Fused: the rectified branch output is not kept for the backward pass.
                y = bn.withReLU(branch.conv(x), gatedBy: excitations[i].gate)
            } else {
                y = excitations.indices.contains(i) ? excitations[i](branch(x)) : branch(x)
            }
            sum = sum.map { add($0, y) } ?? y
        }
        return channelExcitation.map { $0(sum!) } ?? sum!
    }
}

/// CT-Net's Channel Tensorization Module (ICLR 2021), C channels in and out,
/// N×C×T×H×W, stride 1. Channels are viewed as C1×C2 (channel c = i1·C2 + i2);
/// step 1 convolves along the C2 sub-dimension (groups of C2 consecutive
/// channels), a 1×1×1 fusion conv mixes all channels, the channels are
/// transposed to C2×C1 so that step 2 convolves along C1, and transposed back.
/// Degenerate designs (`CTDesign.c3d`, `.r2plus1d`, `.csn`) are the plain
/// convolutions the paper says they are.
public final class CTModule: Module {
    public let channels: Int
    public let design: CTDesign
    public let steps: [CTStep]
    public let fusions: [ConvBN]

    public init(channels: Int, design: CTDesign? = nil, rng: inout SeededRNG) {
        let design = design ?? .ctNet(channels: channels)
        precondition((1...2).contains(design.steps.count), "CT-Module: K must be 1 or 2")
        self.channels = channels
        self.design = design
        var steps: [CTStep] = []
        var fusions: [ConvBN] = []
        for (i, step) in design.steps.enumerated() {
            if i > 0 && design.enhanced {
                fusions.append(
                    ConvBN(inputChannels: channels, outputChannels: channels, kernelSize: (1, 1, 1), rng: &rng))
            }
            steps.append(
                CTStep(
                    channels: channels, step: step, enhanced: design.enhanced, excitation: design.excitation,
                    rng: &rng))
        }
        self.steps = steps
        self.fusions = fusions
    }

    override public var children: [(String, Module)] {
        var list: [(String, Module)] = [("step1", steps[0])]
        if let fusion = fusions.first { list.append(("fusion", fusion)) }
        if steps.count > 1 { list.append(("step2", steps[1])) }
        return list
    }

    /// Channel sub-dimensions (outer, inner) of step 1 when the two steps
    /// split the channels between them; nil when no transpose is needed.
    var tensorization: (Int, Int)? {
        guard design.steps.count == 2 else { return nil }
        let inner = design.steps[0].interacting
        let outer = channels / inner
        guard outer > 1, inner > 1, design.steps[1].interacting == outer else { return nil }
        return (outer, inner)
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = steps[0](x)
        guard steps.count > 1 else { return h }
        if let fusion = fusions.first { h = fusion(h) }
        guard let (outer, inner) = tensorization else { return steps[1](h) }
        return transposeChannels(steps[1](transposeChannels(h, outer, inner)), inner, outer)
    }
}

/// Channels viewed as a×b (c = i·b + j) reordered to b×a (c' = j·a + i).
func transposeChannels(_ x: Tensor, _ a: Int, _ b: Int) -> Tensor {
    let (n, c) = (x.shape[0], x.shape[1])
    precondition(a * b == c)
    let y = permute(reshape(x, [n, a, b, x.count / (n * c)]), [0, 2, 1, 3])
    return reshape(y, x.shape)
}
