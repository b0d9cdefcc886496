import COpenBLAS

/// What the CPU can run, from CPUID and XCR0: enough to choose OpenBLAS's kernels.
public struct CPUFeatures: Sendable, Equatable, Codable {
    public var vendor: String
    public var family: Int
    public var model: Int
    public var avx: Bool
    public var avx2: Bool
    public var fma: Bool
    public var avx512f: Bool
    public var avx512dq: Bool
    public var avx512bw: Bool
    public var avx512vl: Bool
    public var avx512bf16: Bool
    /// The OS saves YMM state (XCR0 bits 1–2): AVX may be used.
    public var osSavesYMM: Bool
    /// The OS saves ZMM and mask state (XCR0 bits 5–7): AVX-512 may be used.
    public var osSavesZMM: Bool

    /// Decodes raw CPUID words: leaf 0 (ebx, edx, ecx: the vendor), leaf 1
    /// (eax: family and model; ecx: FMA bit 12, OSXSAVE 27, AVX 28), leaf 7
    /// sub-leaf 0 (ebx: AVX2 5, AVX512F 16, DQ 17, BW 30, VL 31), leaf 7
    /// sub-leaf 1 (eax: AVX512_BF16 5) and XCR0.
    public init(leaf0: [UInt32], leaf1: [UInt32], leaf7: [UInt32], leaf7sub1: [UInt32], xcr0: UInt64) {
        func bit(_ word: UInt32, _ n: Int) -> Bool { word >> UInt32(n) & 1 == 1 }
        let vendorBytes = [leaf0[1], leaf0[3], leaf0[2]].flatMap { w in
            (0..<4).map { UInt8((w >> UInt32(8 * $0)) & 0xff) }
        }
        vendor = String(decoding: vendorBytes.filter { $0 != 0 }, as: UTF8.self)
        let eax = leaf1[0]
        let baseFamily = Int(eax >> 8 & 0xf)
        let baseModel = Int(eax >> 4 & 0xf)
        family = baseFamily == 0xf ? baseFamily + Int(eax >> 20 & 0xff) : baseFamily
        model = (baseFamily == 0x6 || baseFamily == 0xf) ? baseModel | Int(eax >> 16 & 0xf) << 4 : baseModel
        let osxsave = bit(leaf1[2], 27)
        osSavesYMM = osxsave && xcr0 & 0x6 == 0x6
        osSavesZMM = osSavesYMM && xcr0 & 0xe0 == 0xe0
        avx = bit(leaf1[2], 28)
        fma = bit(leaf1[2], 12)
        avx2 = bit(leaf7[1], 5)
        avx512f = bit(leaf7[1], 16)
        avx512dq = bit(leaf7[1], 17)
        avx512bw = bit(leaf7[1], 30)
        avx512vl = bit(leaf7[1], 31)
        avx512bf16 = bit(leaf7sub1[0], 5)
    }

    /// This machine's.
    public static let current: CPUFeatures = {
        func leaf(_ n: UInt32, _ sub: UInt32 = 0) -> [UInt32] {
            var regs: [UInt32] = [0, 0, 0, 0]
            regs.withUnsafeMutableBufferPointer { clipkit_cpuid(n, sub, $0.baseAddress!) }
            return regs
        }
        return CPUFeatures(leaf0: leaf(0), leaf1: leaf(1), leaf7: leaf(7), leaf7sub1: leaf(7, 1), xcr0: clipkit_xcr0())
    }()

    /// AVX-512 with the subsets OpenBLAS's SkylakeX kernels use, and the OS saving ZMM state.
    public var usableAVX512: Bool { osSavesZMM && avx512f && avx512dq && avx512bw && avx512vl }
    public var usableAVX2: Bool { osSavesYMM && avx && avx2 && fma }

    /// The features that matter for speed, by name.
    public var names: [String] {
        [
            ("avx", avx && osSavesYMM), ("avx2", usableAVX2), ("fma", fma && osSavesYMM),
            ("avx512f", avx512f && osSavesZMM),
            ("avx512dq", avx512dq && osSavesZMM), ("avx512bw", avx512bw && osSavesZMM),
            ("avx512vl", avx512vl && osSavesZMM),
            ("avx512_bf16", avx512bf16 && osSavesZMM)
        ].filter(\.1).map(\.0)
    }

    /// The OpenBLAS core (`OPENBLAS_CORETYPE`) for these features, following
    /// OpenBLAS's own fallback order, restricted to names that Debian 12's
    /// OpenBLAS 0.3.21 accepts (checked one by one with `OPENBLAS_VERBOSE=2`):
    /// it does not accept "Cooperlake" (it says "Core not found" and goes back
    /// to detection, which gives Prescott on CPUs it does not know), and
    /// Cooperlake's sgemm kernels are SkylakeX's, so AVX-512 CPUs get SkylakeX.
    /// nil: nothing better than OpenBLAS's own detection.
    public var openBLASCore: String? {
        if usableAVX512 { return "SkylakeX" }
        if usableAVX2 { return vendor == "AuthenticAMD" || vendor == "HygonGenuine" ? "Zen" : "Haswell" }
        if avx && osSavesYMM { return "Sandybridge" }
        return nil
    }
}
