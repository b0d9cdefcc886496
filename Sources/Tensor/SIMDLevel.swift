import Foundation

/// The SIMD level of the C kernels (the CKernels target: each kernel compiled
/// once per level), chosen at run time from CPUID as OpenBLAS's core is.
/// `portable` means no C kernel: the Swift paths (columns and GEMM) run.
public enum SIMDLevel: String, Sendable, CaseIterable, Comparable {
    case portable
    case avx2
    case avx512

    public static func < (a: SIMDLevel, b: SIMDLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The best level this machine and this build can run.
    public static let best: SIMDLevel = {
        #if arch(x86_64)
            let cpu = CPUFeatures.current
            if cpu.usableAVX512 { return .avx512 }
            if cpu.usableAVX2 { return .avx2 }
        #endif
        return .portable
    }()

    /// Whether this machine and build can run the level.
    public var isSupported: Bool { self <= Self.best }

    /// `CLIPKIT_SIMD` (portable, avx2 or avx512) when it names a level this
    /// machine runs (to measure a lower level, or the Swift paths, in a whole
    /// process), else `best`.
    static func fromEnvironment(_ value: String?) -> SIMDLevel {
        guard let value, let level = SIMDLevel(rawValue: value.lowercased()), level.isSupported else { return best }
        return level
    }

    /// The level of the kernels in the scope bound with
    /// `OpSettings.with(\.level, …)` (the tests run every supported level,
    /// AVX2 on AVX-512 machines too).
    public static var current: SIMDLevel { OpSettings.current.level }

    /// The level the kernels run at in this scope: `current`, never above
    /// what the machine runs.
    static var usable: SIMDLevel { min(current, best) }
}
