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
