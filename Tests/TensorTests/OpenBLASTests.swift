import Foundation
import Testing

@testable import Tensor

/// CPUID words (leaf 0 eax/ebx/ecx/edx, leaf 1, leaf 7 sub-leaf 0 and 1, XCR0).
/// Zen 4 was read on an AMD EPYC 9004 (this project's machine, 2026-12-01);
/// the others carry the family/model and feature bits those CPUs report.
private struct RecordedCPU {
    var name: String
    var leaf0: [UInt32], leaf1: [UInt32], leaf7: [UInt32], leaf7sub1: [UInt32], xcr0: UInt64
    var features: CPUFeatures {
        CPUFeatures(leaf0: leaf0, leaf1: leaf1, leaf7: leaf7, leaf7sub1: leaf7sub1, xcr0: xcr0)
    }
}

// "GenuineIntel" (ebx, ecx, edx order below).
private let intel: [UInt32] = [0x20, 0x756e_6547, 0x6c65_746e, 0x4965_6e69]
private let amd: [UInt32] = [0x1c, 0x6874_7541, 0x444d_4163, 0x6974_6e65]  // "AuthenticAMD"

private let zen4 = RecordedCPU(
    name: "Zen 4 (EPYC 9004)", leaf0: amd, leaf1: [0x00a1_0f11, 0x0002_0800, 0xfffa_3203, 0x178b_fbff],
    leaf7: [0x1, 0xf1bf_07ab, 0x0040_5fc6, 0x10], leaf7sub1: [0x20, 0, 0, 0], xcr0: 0xe7)
private let sapphireRapids = RecordedCPU(
    name: "Sapphire Rapids (Xeon 8480+)", leaf0: intel,
    leaf1: [0x0008_06f8, 0x0080_0800, 0x7ffe_fbff, 0xbfeb_fbff],
    leaf7: [0x2, 0xf3bf_bffb, 0x1b41_5ffe, 0xffdd_4432], leaf7sub1: [0x1c30, 0, 0, 0], xcr0: 0x602e7)
private let emeraldRapids = RecordedCPU(
    name: "Emerald Rapids (family 6 model 207)", leaf0: intel,
    leaf1: [0x000c_06f2, 0x0080_0800, 0x7ffe_fbff, 0xbfeb_fbff],
    leaf7: [0x2, 0xf3bf_bffb, 0x1b41_5ffe, 0xffdd_4432], leaf7sub1: [0x1c30, 0, 0, 0], xcr0: 0x602e7)
private let haswell = RecordedCPU(
    name: "Haswell (i7-4770)", leaf0: intel, leaf1: [0x0003_06c3, 0x0010_0800, 0x7ffa_fbbf, 0xbfeb_fbff],
    leaf7: [0, 0x0000_27ab, 0, 0], leaf7sub1: [0, 0, 0, 0], xcr0: 0x7)
private let sandyBridge = RecordedCPU(
    name: "Sandy Bridge (i7-2600, AVX only)", leaf0: intel,
    leaf1: [0x0002_06a7, 0x0010_0800, 0x1fba_e3bf, 0xbfeb_fbff],
    leaf7: [0, 0, 0, 0], leaf7sub1: [0, 0, 0, 0], xcr0: 0x7)
private let zen2 = RecordedCPU(
    name: "Zen 2 (EPYC 7002)", leaf0: amd, leaf1: [0x0083_0f10, 0x0002_0800, 0x7ed8_320b, 0x178b_fbff],
    leaf7: [0, 0x219c_91a9, 0x0040_0004, 0], leaf7sub1: [0, 0, 0, 0], xcr0: 0x7)

@Suite struct OpenBLASCoreTests {
    @Test func cpuidDecodesVendorFamilyAndModel() {
        let z = zen4.features
        #expect(z.vendor == "AuthenticAMD" && z.family == 25 && z.model == 17)
        let e = emeraldRapids.features
        #expect(e.vendor == "GenuineIntel" && e.family == 6 && e.model == 207)
        #expect(
            sapphireRapids.features.model == 143 && haswell.features.model == 60 && sandyBridge.features.model == 42)
    }

    @Test func featuresPickTheCore() {
        #expect(zen4.features.openBLASCore == "SkylakeX", "AVX-512 with ZMM state saved")
        #expect(zen4.features.avx512bf16 && sapphireRapids.features.avx512bf16)
        #expect(sapphireRapids.features.openBLASCore == "SkylakeX")
        #expect(emeraldRapids.features.openBLASCore == "SkylakeX", "the model 0.3.21 maps to Prescott")
        #expect(haswell.features.openBLASCore == "Haswell")
        #expect(zen2.features.openBLASCore == "Zen")
        #expect(sandyBridge.features.openBLASCore == "Sandybridge")
        #expect(sandyBridge.features.names == ["avx"])
    }

    @Test func anOSThatDoesNotSaveZMMStateGetsNoAVX512() {
        var noZMM = sapphireRapids
        noZMM.xcr0 = 0x7
        #expect(!noZMM.features.usableAVX512 && noZMM.features.openBLASCore == "Haswell")
        var noYMM = haswell
        noYMM.xcr0 = 0x3
        #expect(noYMM.features.openBLASCore == nil, "no AVX without YMM state: leave it to OpenBLAS")
    }

    @Test func genericKernelsOnAnAVX2CPUAreWarnedAbout() {
        let slow = OpenBLAS(
            path: "/usr/lib/libopenblas.so.0", core: "Prescott", config: "", requestedCore: "SkylakeX", userCore: nil,
            sgemm: OpenBLAS.shared.sgemm, setThreads: nil)
        let warning = slow.warning(for: emeraldRapids.features)
        #expect(warning?.contains("OPENBLAS_CORETYPE=SkylakeX") == true)
        #expect(slow.warning(for: sandyBridge.features) == nil, "no AVX2: nothing better to run")
        let fast = OpenBLAS(
            path: "", core: "SkylakeX", config: "", requestedCore: "SkylakeX", userCore: nil,
            sgemm: OpenBLAS.shared.sgemm, setThreads: nil)
        #expect(fast.warning(for: emeraldRapids.features) == nil)
    }

    @Test func thisProcessRunsTheChosenKernels() {
        let blas = OpenBLAS.shared
        #expect(!blas.path.isEmpty)
        if blas.userCore == nil, let chosen = CPUFeatures.current.openBLASCore {
            #expect(blas.requestedCore == chosen)
            #expect(blas.core.lowercased() == chosen.lowercased(), "OpenBLAS accepted \(chosen): it runs \(blas.core)")
        }
    }
}

@Suite struct ParallelSplitTests {
    @Test func samplesAcrossThreadsOnlyWhenEveryThreadGetsOne() {
        #expect(Parallel.choose(threads: 2, batch: 16) == .batch)
        #expect(Parallel.choose(threads: 2, batch: 2) == .batch)
        #expect(Parallel.choose(threads: 2, batch: 1) == .blas)
        #expect(Parallel.choose(threads: 16, batch: 8) == .blas, "8 samples on 16 cores: threads inside each GEMM")
        #expect(Parallel.choose(threads: 64, batch: 64) == .batch)
        #expect(Parallel.choose(threads: 1, batch: 1) == .batch)
    }
}
