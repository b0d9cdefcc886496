import Foundation
import Testing

@testable import Tensor

/// The batch-reduce GEMM (Brgemm.swift, CKernels' brgemm_body.h), which
/// runs at AVX-512 only, against its naive twin: rows that leave a short
/// last sliver, columns around one, two and three vectors of 16 lanes
/// (a strip is 3), depths across the kernel's depth blocks, one tap and three,
/// written and added, with NaNs wherever it must not read or write.
@Suite struct BrgemmTests {
    struct Shape: CustomStringConvertible {
        let m, n, taps, k: Int
        var description: String { "\(m)×\(n), \(taps) taps of \(k)" }
    }
    static let shapes = [
        Shape(m: 1, n: 1, taps: 1, k: 1), Shape(m: 3, n: 7, taps: 1, k: 5), Shape(m: 8, n: 16, taps: 3, k: 4),
        Shape(m: 9, n: 17, taps: 3, k: 32), Shape(m: 13, n: 33, taps: 1, k: 300), Shape(m: 16, n: 47, taps: 3, k: 100),
        Shape(m: 17, n: 48, taps: 2, k: 129), Shape(m: 5, n: 49, taps: 3, k: 90), Shape(m: 24, n: 101, taps: 3, k: 64),
        Shape(m: 4, n: 160, taps: 1, k: 513)
    ]

    @Test(.enabled(if: SIMDLevel.avx512.isSupported, "brgemm needs an AVX-512 machine: skipped here"))
    func brgemmEqualsItsNaiveTwin() {
        let level = SIMDLevel.avx512
        for (index, s) in Self.shapes.enumerated() {
            let seed = UInt64(40 + 4 * index)
            let depth = s.taps * s.k
            // B: k rows of ldb floats per tap, taps tapShift apart, with a
            // margin of NaNs past each row's n columns and past the last tap.
            let ldb = s.n + 5
            let tapShift = s.k * ldb + 3
            var b = [Float](repeating: .nan, count: (s.taps - 1) * tapShift + s.k * ldb)
            let values = randomValues(b.count, seed: seed)
            for t in 0..<s.taps {
                for p in 0..<s.k {
                    for j in 0..<s.n { b[t * tapShift + p * ldb + j] = values[t * tapShift + p * ldb + j] }
                }
            }
            let a = randomValues(s.m * depth, seed: seed + 1)
            let packing = BrgemmPacking(m: s.m, depth: depth, rows: brgemmSliverRows)
            var packed = [Float](repeating: 0, count: packing.count)
            for i in 0..<s.m {
                for q in 0..<depth { packed[packing.index(row: i, depth: q)] = a[i * depth + q] }
            }
            // C: ldc past n, NaN there; 2 rows of NaN past m.
            let ldc = s.n + 3
            let before = randomValues((s.m + 2) * ldc, seed: seed + 2)
            for accumulate in [false, true] {
                var c = before
                var expected = before
                for i in 0..<(s.m + 2) {
                    for j in 0..<ldc where i >= s.m || j >= s.n { c[i * ldc + j] = .nan }
                }
                brgemm(
                    m: s.m, n: s.n, taps: s.taps, k: s.k, packedA: packed, b: b, ldb: ldb,
                    tapShift: tapShift, c: &c, ldc: ldc, accumulate: accumulate, level: level)
                brgemmNaive(
                    m: s.m, n: s.n, taps: s.taps, k: s.k, a: a, lda: depth, b: b, ldb: ldb, tapShift: tapShift,
                    c: &expected, ldc: ldc, accumulate: accumulate)
                var worst: Float = 0
                var outside = 0
                for i in 0..<(s.m + 2) {
                    for j in 0..<ldc {
                        if i >= s.m || j >= s.n {
                            if !c[i * ldc + j].isNaN { outside += 1 }
                        } else {
                            worst = max(worst, abs(c[i * ldc + j] - expected[i * ldc + j]))
                        }
                    }
                }
                // Sums of up to 1,539 products of values in [−1, 1): float rounding only.
                #expect(
                    worst <= 1e-5 * Float(depth).squareRoot() * 4, "\(level), \(s), accumulate \(accumulate): \(worst)")
                #expect(outside == 0, "\(level), \(s), accumulate \(accumulate): \(outside) floats written outside C")
            }
        }
    }

    /// A 3×3 convolution with `taps` temporal taps ("same" padding) and
    /// random weights, for the weight transforms' tests.
    static func weightCase(_ inChannels: Int, _ outChannels: Int, _ taps: Int, seed: UInt64) -> (
        Conv3dGeometry, [Float]
    ) {
        let g = Conv3dGeometry(
            batch: 1, inChannels: inChannels, outChannels: outChannels, groups: 1, input: (4, 8, 8),
            kernel: (taps, 3, 3), stride: (1, 1, 1), padding: (taps / 2, 1, 1), dilation: (1, 1, 1))
        return (g, randomValues(outChannels * inChannels * taps * 9, seed: seed + UInt64(inChannels * taps)))
    }

    /// Winograd's weights packed for brgemm by the C kernel
    /// (packed_weights_body.h) equal the Swift twin's exactly, forward and
    /// flipped for the data gradient: short last slivers (13 and 12 output
    /// channels), even channel counts on a cache-line aligned U (its lines
    /// streamed: 6 forward, 12 flipped) and on an unaligned one, odd counts
    /// (a channel alone: 5 forward, 13 flipped), one tap and three; nothing
    /// written past U.
    @Test(
        .enabled(if: SIMDLevel.avx512.isSupported, "the packed weights need an AVX-512 machine: skipped here"),
        arguments: WinogradTile.allCases)
    func packedWeightsEqualTheSwiftTwin(_ tile: WinogradTile) {
        for (inChannels, outChannels, taps) in [(6, 13, 3), (5, 13, 3), (6, 13, 1), (5, 12, 3)] {
            let (g, w) = Self.weightCase(inChannels, outChannels, taps, seed: 90)
            for flipped in [false, true] {
                let layout = WinogradLayout(
                    flipped ? g.transposedForData : g, tile: tile, level: .avx512, stacking: .automatic)
                #expect(layout.packing != nil)
                let guardCount = 64
                func transform(_ level: SIMDLevel, offset: Int) -> [Float] {
                    let u = Storage(count: layout.uCount + guardCount + offset, zeroed: false, lineAligned: true)
                    #expect(Int(bitPattern: u.pointer) % 64 == 0, "U starts on a cache line")
                    u.pointer.initialize(repeating: .nan, count: u.count)
                    winogradWeights(w, layout, flipped: flipped, into: u.pointer + offset, workers: 2, level: level)
                    return Array(UnsafeBufferPointer(start: u.pointer + offset, count: layout.uCount + guardCount))
                }
                let twin = transform(.portable, offset: 0)
                #expect(!twin[..<layout.uCount].contains { $0.isNaN }, "the twin writes every float of U")
                for offset in [0, 1] {
                    let c = transform(.avx512, offset: offset)
                    let what =
                        "\(tile), C \(layout.g.inChannels), O \(layout.g.outChannels), \(taps) taps, offset \(offset)"
                    let equal = c[..<layout.uCount] == twin[..<layout.uCount]
                    #expect(equal, "U, \(what)")
                    #expect(c[layout.uCount...].allSatisfy { $0.isNaN }, "written past U, \(what)")
                }
            }
        }
    }

    /// Winograd's unpacked weights (OpenBLAS's U, at AVX2) by the C kernel
    /// (weights_body.h) at every level this machine runs equal the Swift
    /// twin's exactly, forward and flipped: input channel counts around the
    /// 8 lanes (5, 8, 13, 16), one tap and three; nothing written past U.
    @Test(arguments: WinogradTile.allCases, SIMDLevel.allCases.filter { $0 != .portable && $0.isSupported })
    func unpackedWeightsEqualTheSwiftTwin(_ tile: WinogradTile, _ level: SIMDLevel) {
        for (inChannels, outChannels, taps) in [(5, 13, 3), (8, 6, 3), (13, 5, 1), (16, 9, 3)] {
            let (g, w) = Self.weightCase(inChannels, outChannels, taps, seed: 70)
            for flipped in [false, true] {
                let layout = WinogradLayout(
                    flipped ? g.transposedForData : g, tile: tile, level: .portable, stacking: .automatic)
                #expect(layout.packing == nil)
                func transform(_ level: SIMDLevel) -> [Float] {
                    var u = [Float](repeating: .nan, count: layout.uCount + 64)
                    winogradWeights(w, layout, flipped: flipped, into: &u, workers: 2, level: level)
                    return u
                }
                let (twin, c) = (transform(.portable), transform(level))
                let what = "\(tile), \(level), C \(layout.g.inChannels), O \(layout.g.outChannels), \(taps) taps"
                #expect(!twin[..<layout.uCount].contains { $0.isNaN }, "the twin writes every float of U, \(what)")
                let equal = c[..<layout.uCount] == twin[..<layout.uCount]
                #expect(equal, "U, \(what)")
                #expect(c[layout.uCount...].allSatisfy { $0.isNaN }, "written past U, \(what)")
            }
        }
    }
}
