/// Winograd F(2×2, 3×3) (Lavin and Gray, "Fast Algorithms for Convolutional
/// Neural Networks", 2016) for 3D convolutions whose spatial kernel is 3×3 at
/// stride 1, applied to every temporal tap. A 2×2 output tile costs 16
/// multiply-adds per input channel and tap instead of vol2col + GEMM's 36, and
/// no column matrix is built: the input is transformed into 16 planes V[ξ]
/// (4 floats per input pixel, against vol2col's 27), then for every group of
/// output frames, ξ and tap a one GEMM M[ξ] += U[ξ][a] · V[ξ] (shifted by a
/// frames) sums over the input channels, then M is transformed back to 2×2
/// tiles. Grouping frames keeps GEMMs wide on small frames (R50's stage 4:
/// 16 tiles a frame).
///
///     y = Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A,   d: the 4×4 input patch of a tile
///
/// The backward pass over data is the same convolution of dY with the flipped,
/// transposed kernel (`Conv3dGeometry.transposedForData`); the weight gradient
/// runs the forward's linear maps transposed (`winogradBackwardWeight`). The
/// naive 7-loop convolution is the twin of all three in the tests.

/// Whether convolutions may run by Winograd (see `Conv3dGeometry.usesWinograd`).
public enum WinogradPolicy: String, Sendable {
    case automatic, never
}

extension Conv3dGeometry {
    /// Whether the forward pass and the backward pass over data run by
    /// Winograd: one group, 3×3 spatial kernel, stride and dilation 1, and
    /// enough channels for the GEMMs to outweigh the transforms (the 3-channel
    /// first layer of a net stays on vol2col). A sample also needs
    /// `winogradMinimumColumns` tiles over all its output frames: U is
    /// transformed three times a step (forward, dX, dW) and packed by every
    /// GEMM, a cost in O · C · kt that only enough columns repay.
    var usesWinograd: Bool {
        Self.winogradPolicy == .automatic && groups == 1 && kernel.h == 3 && kernel.w == 3 && stride == (1, 1, 1)
            && dilation == (1, 1, 1)
            && padding.h <= 2 && padding.w <= 2 && padding.t < kernel.t
            && inChannels >= 8 && outChannels >= 8
            && output.t * winogradTiles.h * winogradTiles.w >= Self.winogradMinimumColumns
    }

    /// `never` keeps every convolution in the scope bound with
    /// `$winogradPolicy.withValue` off Winograd (`bench conv --winograd never`,
    /// to measure what Winograd gains per layer). `conv3d` reads it once, in
    /// the forward pass; its backward pass takes the same path wherever it runs.
    @TaskLocal public static var winogradPolicy = WinogradPolicy.automatic

    /// R50's middle convs at 4 × 3×8×112×112: stage 4 (8 frames of 16
    /// tiles, 128) gained 17% of the r3d50 step on Winograd; stage 5 (8 × 4,
    /// and 4 × 16 at 224) ran as fast as through columns but took 76–97 MB
    /// more (U and per-worker dU of 512 × 3 · 512 × 16 floats).
    static let winogradMinimumColumns = 128

    /// 2×2 output tiles of a frame, down and across (the last ones may overhang).
    var winogradTiles: (h: Int, w: Int) { ((output.h + 1) / 2, (output.w + 1) / 2) }

    /// The convolution that maps dY to dX when stride and dilation are 1: the
    /// kernel flipped in t, h and w with channels swapped, padding k − 1 − p.
    var transposedForData: Conv3dGeometry {
        Conv3dGeometry(
            batch: batch, inChannels: outChannels, outChannels: inChannels, groups: 1,
            input: output, kernel: kernel, stride: (1, 1, 1),
            padding: (kernel.t - 1 - padding.t, 2 - padding.h, 2 - padding.w), dilation: (1, 1, 1))
    }
}

/// Sizes of one Winograd convolution's buffers.
struct WinogradLayout {
    let g: Conv3dGeometry
    let tilesH: Int, tilesW: Int
    /// Output frames per chunk: V holds `inputFrames` = frames + kt − 1 frames.
    let frames: Int
    /// Output frames per GEMM (M holds them): enough for `columns` GEMM
    /// columns, so that small frames still make GEMMs wide enough to repay
    /// packing U.
    let group: Int

    init(_ g: Conv3dGeometry, budget: Int = 2 << 20, columns: Int = 256) {
        self.g = g
        let o = g.output
        (tilesH, tilesW) = g.winogradTiles
        let perFrame = 16 * g.inChannels * tilesH * tilesW
        let most = max(1, budget / perFrame - (g.kernel.t - 1))
        let chunks = (o.t + most - 1) / most
        frames = (o.t + chunks - 1) / chunks  // balanced chunks
        group = min(frames, max(1, (columns + tilesH * tilesW - 1) / (tilesH * tilesW)))
    }

    var tiles: Int { tilesH * tilesW }
    var inputFrames: Int { frames + g.kernel.t - 1 }
    /// GEMM depth: every tap's input channels.
    var depth: Int { g.kernel.t * g.inChannels }
    /// Floats of U (shared by the workers).
    var weightCount: Int { 16 * g.outChannels * depth }
    /// Input rows padded to whole tiles: 2 · tilesW + 2 columns.
    var rowWidth: Int { 2 * tilesW + 2 }
    /// Floats between V[ξ] and V[ξ + 1]; V[ξ] is C × inputFrames × tiles,
    /// so for every tap a the chunk's frames a … a + frames − 1 are one
    /// C × (frames · tiles) matrix with row stride `vRow`.
    var vPlane: Int { g.inChannels * vRow }
    var vRow: Int { inputFrames * tiles }
    private var vCount: Int { 16 * vPlane }
    /// Floats between M[ξ] and M[ξ + 1]; M[ξ] is O × group × tiles, row stride `mRow`.
    var mPlane: Int { g.outChannels * mRow }
    var mRow: Int { group * tiles }
    private var mCount: Int { 16 * mPlane }
    /// Floats of one worker's scratch: V, M and rows (a padded input row and
    /// a ring of four transformed ones of 4 · tilesW; or 8 · tilesW of Aᵀ m
    /// and two output rows; or two dY rows and 8 · tilesW of them along w).
    var scratchCount: Int { vCount + mCount + rowWidth + 16 * tilesW }

    func parts(_ scratch: UnsafeMutablePointer<Float>) -> (
        v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        rows: UnsafeMutablePointer<Float>
    ) {
        (scratch, scratch + vCount, scratch + vCount + mCount)
    }
}

/// G · (a, b, c): the filter transform along one axis, 3 → 4.
@inline(__always) private func filterTransform(_ a: Float, _ b: Float, _ c: Float) -> (Float, Float, Float, Float) {
    (a, 0.5 * (a + b + c), 0.5 * (a - b + c), c)
}

/// Gᵀ · (a, b, c, d): its transpose, 4 → 3 (for the weight gradient).
@inline(__always) private func filterTransformTransposed(_ a: Float, _ b: Float, _ c: Float, _ d: Float) -> (
    Float, Float, Float
) {
    (a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d)
}

/// U[ξ][o][a·C + c] = (G w[o][c][a] Gᵀ)[ξ], output channels split over
/// `workers` threads. With `flipped`, `layout.g` is a `transposedForData`
/// geometry and `w` the original weight (O′ × C′ × kt × 3 × 3 with O′ =
/// g.inChannels): the kernel is read flipped and transposed.
func winogradWeights(
    _ w: UnsafePointer<Float>, _ layout: WinogradLayout, flipped: Bool, into u: UnsafeMutablePointer<Float>,
    workers: Int = 1
) {
    let g = layout.g
    let kt = g.kernel.t
    let C = g.inChannels
    let O = g.outChannels
    let depth = layout.depth
    let plane = O * depth
    Parallel.forEachRange(O, workers: workers) { _, outputs in
        for o in outputs {
            for a in 0..<kt {
                for c in 0..<C {
                    // k[i] for i in 0..<9, row-major 3 × 3.
                    let base = flipped ? ((c * O + o) * kt + (kt - 1 - a)) * 9 : ((o * C + c) * kt + a) * 9
                    @inline(__always) func k(_ i: Int) -> Float { flipped ? w[base + 8 - i] : w[base + i] }
                    // G k: 4 × 3, column by column.
                    let (g00, g10, g20, g30) = filterTransform(k(0), k(3), k(6))
                    let (g01, g11, g21, g31) = filterTransform(k(1), k(4), k(7))
                    let (g02, g12, g22, g32) = filterTransform(k(2), k(5), k(8))
                    // (G k) Gᵀ: 4 × 4, row by row, into the 16 planes.
                    let out = u + o * depth + a * C + c
                    @inline(__always) func row(_ i: Int, _ a: Float, _ b: Float, _ c: Float) {
                        (
                            out[(4 * i) * plane], out[(4 * i + 1) * plane], out[(4 * i + 2) * plane],
                            out[(4 * i + 3) * plane]
                        ) = filterTransform(a, b, c)
                    }
                    row(0, g00, g01, g02)
                    row(1, g10, g11, g12)
                    row(2, g20, g21, g22)
                    row(3, g30, g31, g32)
                }
            }
        }
    }
}

/// dW += Gᵀ dU[ξ][o][a·C + c] G for every (output channel, input channel,
/// tap): the weight gradient from `winogradBackwardWeight`'s dU, output
/// channels split over `workers` threads.
func winogradWeightGradient(
    _ du: UnsafePointer<Float>, _ layout: WinogradLayout, into dw: UnsafeMutablePointer<Float>,
    workers: Int = 1
) {
    let g = layout.g
    let kt = g.kernel.t
    let C = g.inChannels
    let O = g.outChannels
    let depth = layout.depth
    let plane = O * depth
    Parallel.forEachRange(O, workers: workers) { _, outputs in
        for o in outputs {
            for c in 0..<C {
                for a in 0..<kt {
                    let p = du + o * depth + a * C + c
                    // dU G: 4 × 3, row by row.
                    let h0 = filterTransformTransposed(p[0], p[plane], p[2 * plane], p[3 * plane])
                    let h1 = filterTransformTransposed(p[4 * plane], p[5 * plane], p[6 * plane], p[7 * plane])
                    let h2 = filterTransformTransposed(p[8 * plane], p[9 * plane], p[10 * plane], p[11 * plane])
                    let h3 = filterTransformTransposed(p[12 * plane], p[13 * plane], p[14 * plane], p[15 * plane])
                    // Gᵀ (dU G), column by column.
                    let out = dw + ((o * C + c) * kt + a) * 9
                    let (r00, r10, r20) = filterTransformTransposed(h0.0, h1.0, h2.0, h3.0)
                    let (r01, r11, r21) = filterTransformTransposed(h0.1, h1.1, h2.1, h3.1)
                    let (r02, r12, r22) = filterTransformTransposed(h0.2, h1.2, h2.2, h3.2)
                    out[0] += r00
                    out[1] += r01
                    out[2] += r02
                    out[3] += r10
                    out[4] += r11
                    out[5] += r12
                    out[6] += r20
                    out[7] += r21
                    out[8] += r22
                }
            }
        }
    }
}

/// Y = conv(X, w) (or Y += with `accumulate`) for `samples`, from U of
/// `winogradWeights`; `epilogue` maps each output frame (the sum, with
/// `accumulate`) as it is written.
func winogradForward(
    _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    _ layout: WinogradLayout, samples: Range<Int>, scratch: UnsafeMutablePointer<Float>, accumulate: Bool,
    epilogue: ChannelAffine? = nil
) {
    let g = layout.g
    let o = g.output
    let C = g.inChannels
    let O = g.outChannels
    let tiles = layout.tiles
    let depth = layout.depth
    let (v, m, rows) = layout.parts(scratch)
    let vPlane = layout.vPlane
    let mPlane = layout.mPlane
    let vRow = layout.vRow
    let mRow = layout.mRow
    for n in samples {
        let ys = y + n * O * g.outputVolume
        forEachGroup(x + n * C * g.inputVolume, layout, v: v, rows: rows) { local, first, frames in
            // M[ξ] = Σ over taps a of U[ξ][a] (O × C) · V[ξ] at frames local + a … (C × frames · tiles).
            for xi in 0..<16 {
                for a in 0..<g.kernel.t {
                    sgemm(
                        m: O, n: frames * tiles, k: C, a: u + xi * O * depth + a * C, lda: depth,
                        b: v + xi * vPlane + (local + a) * tiles, ldb: vRow, beta: a == 0 ? 0 : 1, c: m + xi * mPlane,
                        ldc: mRow)
                }
            }
            for oc in 0..<O {
                for l in 0..<frames {
                    let frame = ys + (oc * o.t + first + l) * o.h * o.w
                    transformOutput(
                        m + oc * mRow + l * tiles, layout, planeStride: mPlane, into: frame, accumulate: accumulate,
                        rows: rows)
                    epilogue?.apply(frame, count: o.h * o.w, channel: oc)
                }
            }
        }
    }
}

/// dU (`weightCount` floats, overwritten) for `samples`, the transpose of
/// the forward's linear maps: dU[ξ] = Σ over output frames and tiles of
/// (A dy Aᵀ)[ξ] · V[ξ]ᵀ. `winogradWeightGradient` then makes dW = Gᵀ dU G,
/// once for the dU of all workers.
func winogradBackwardWeight(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, du: UnsafeMutablePointer<Float>,
    _ layout: WinogradLayout, samples: Range<Int>, scratch: UnsafeMutablePointer<Float>
) {
    let g = layout.g
    let o = g.output
    let C = g.inChannels
    let O = g.outChannels
    let tiles = layout.tiles
    let depth = layout.depth
    let (v, m, rows) = layout.parts(scratch)
    let vPlane = layout.vPlane
    let mPlane = layout.mPlane
    let vRow = layout.vRow
    let mRow = layout.mRow
    du.initialize(repeating: 0, count: layout.weightCount)
    for n in samples {
        let dys = dy + n * O * g.outputVolume
        forEachGroup(x + n * C * g.inputVolume, layout, v: v, rows: rows) { local, first, frames in
            for oc in 0..<O {
                for l in 0..<frames {
                    transformOutputGradient(
                        dys + (oc * o.t + first + l) * o.h * o.w, layout, into: m + oc * mRow + l * tiles,
                        planeStride: mPlane, rows: rows)
                }
            }
            // dU[ξ][a] += M[ξ] (O × frames · tiles) · V[ξ] at frames local + a …ᵀ.
            for xi in 0..<16 {
                for a in 0..<g.kernel.t {
                    sgemm(
                        transB: true, m: O, n: C, k: frames * tiles, a: m + xi * mPlane, lda: mRow,
                        b: v + xi * vPlane + (local + a) * tiles, ldb: vRow, beta: 1, c: du + xi * O * depth + a * C,
                        ldc: depth)
                }
            }
        }
    }
}

/// Transforms the input frames of one sample into V, a chunk of output
/// frames at a time, and calls `body(local, first, frames)` for every group
/// of output frames [first, first + frames) of the chunk, whose first tap is
/// V's frame `local`; frames outside the input (temporal padding) are 0.
private func forEachGroup(
    _ xs: UnsafePointer<Float>, _ layout: WinogradLayout, v: UnsafeMutablePointer<Float>,
    rows: UnsafeMutablePointer<Float>, _ body: (_ local: Int, _ first: Int, _ frames: Int) -> Void
) {
    let g = layout.g
    let C = g.inChannels
    let tiles = layout.tiles
    let vPlane = layout.vPlane
    let vRow = layout.vRow
    var first = 0
    while first < g.output.t {
        let frames = min(layout.frames, g.output.t - first)
        for f in 0..<(frames + g.kernel.t - 1) {
            let ti = first - g.padding.t + f
            for c in 0..<C {
                let dst = v + c * vRow + f * tiles
                if ti < 0 || ti >= g.input.t {
                    for xi in 0..<16 { (dst + xi * vPlane).initialize(repeating: 0, count: tiles) }
                } else {
                    transformInput(
                        xs + (c * g.input.t + ti) * g.input.h * g.input.w, layout, into: dst, planeStride: vPlane,
                        rows: rows)
                }
            }
        }
        for local in stride(from: 0, to: frames, by: layout.group) {
            body(local, first + local, min(layout.group, frames - local))
        }
        first += frames
    }
}

/// Bᵀ d B for every tile of one input frame and channel (`frame`: H × W),
/// into V[ξ] at `dst + ξ · planeStride`, tiles in row-major order. Each padded
/// input row is transformed along w once (d B: columns 2tx … 2tx + 3 →
/// 4 values per tile) into a ring of four, since consecutive tile rows share
/// two input rows; Bᵀ then combines four such rows, contiguous over tiles.
private func transformInput(
    _ frame: UnsafePointer<Float>, _ layout: WinogradLayout, into dst: UnsafeMutablePointer<Float>,
    planeStride: Int, rows: UnsafeMutablePointer<Float>
) {
    let g = layout.g
    let width = layout.rowWidth
    let tilesW = layout.tilesW
    let H = g.input.h
    let W = g.input.w
    let ph = g.padding.h
    let pw = g.padding.w
    let padded = rows
    let ring = rows + width  // ring slot s: 4 × tilesW values of padded row ≡ s (mod 4)
    // The input columns that land inside a padded row: j − pw ∈ [0, W).
    let lo = pw
    let hi = min(width, W + pw)
    func transformRow(_ r: Int) {
        let h = r - ph
        let out = ring + (r % 4) * 4 * tilesW
        if h < 0 || h >= H || lo >= hi {
            out.initialize(repeating: 0, count: 4 * tilesW)
            return
        }
        if lo > 0 { padded.initialize(repeating: 0, count: lo) }
        (padded + lo).update(from: frame + h * W, count: hi - lo)
        if hi < width { (padded + hi).initialize(repeating: 0, count: width - hi) }
        // d B: c0 − c2, c1 + c2, c2 − c1, c1 − c3.
        for tx in 0..<tilesW {
            let c0 = padded[2 * tx]
            let c1 = padded[2 * tx + 1]
            let c2 = padded[2 * tx + 2]
            let c3 = padded[2 * tx + 3]
            out[tx] = c0 - c2
            out[tilesW + tx] = c1 + c2
            out[2 * tilesW + tx] = c2 - c1
            out[3 * tilesW + tx] = c1 - c3
        }
    }
    transformRow(0)
    transformRow(1)
    for ty in 0..<layout.tilesH {
        transformRow(2 * ty + 2)
        transformRow(2 * ty + 3)
        let r0 = ring + ((2 * ty) % 4) * 4 * tilesW
        let r1 = ring + ((2 * ty + 1) % 4) * 4 * tilesW
        let r2 = ring + ((2 * ty + 2) % 4) * 4 * tilesW
        let r3 = ring + ((2 * ty + 3) % 4) * 4 * tilesW
        // Bᵀ (d B): rows d0 − d2, d1 + d2, d2 − d1, d1 − d3, for each of the 4 column values l.
        for l in 0..<4 {
            let a0 = r0 + l * tilesW
            let a1 = r1 + l * tilesW
            let a2 = r2 + l * tilesW
            let a3 = r3 + l * tilesW
            let out0 = dst + l * planeStride + ty * tilesW
            let out1 = out0 + 4 * planeStride
            let out2 = out1 + 4 * planeStride
            let out3 = out2 + 4 * planeStride
            func combine<V: SIMD>(_: V.Type, _ i: Int, _ k: Int) where V.Scalar == Float {
                let d0: V = load(a0, i, k)
                let d1: V = load(a1, i, k)
                let d2: V = load(a2, i, k)
                let d3: V = load(a3, i, k)
                store(d0 - d2, out0, i, k)
                store(d1 + d2, out1, i, k)
                store(d2 - d1, out2, i, k)
                store(d1 - d3, out3, i, k)
            }
            forEachLanes(tilesW, { combine(SIMD8<Float>.self, $0, $1) }, { combine(SIMD4<Float>.self, $0, $1) })
        }
    }
}

/// Aᵀ m A for every tile of one output frame and channel (M[ξ] at
/// `m + ξ · planeStride`), written (or added) into `frame` (Ho × Wo). Per row
/// of tiles, Aᵀ over the 16 planes first (loops contiguous over the tiles),
/// then A along w into two output rows.
private func transformOutput(
    _ m: UnsafePointer<Float>, _ layout: WinogradLayout, planeStride: Int,
    into frame: UnsafeMutablePointer<Float>, accumulate: Bool, rows: UnsafeMutablePointer<Float>
) {
    let o = layout.g.output
    let tilesW = layout.tilesW
    // s[i][l]: row i of Aᵀ m for column l (8 × tilesW), then the two output rows (2 × 2 tilesW).
    let s = rows
    let top = rows + 8 * tilesW
    let bottom = top + 2 * tilesW
    for ty in 0..<layout.tilesH {
        let mt = m + ty * tilesW
        // Aᵀ m over rows: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3 (per column l).
        for l in 0..<4 {
            let m0 = mt + l * planeStride
            let m1 = m0 + 4 * planeStride
            let m2 = m1 + 4 * planeStride
            let m3 = m2 + 4 * planeStride
            let s0 = s + l * tilesW
            let s1 = s + (4 + l) * tilesW
            func combine<V: SIMD>(_: V.Type, _ i: Int, _ k: Int) where V.Scalar == Float {
                let a: V = load(m0, i, k)
                let b: V = load(m1, i, k)
                let c: V = load(m2, i, k)
                let d: V = load(m3, i, k)
                store(a + b + c, s0, i, k)
                store(b - c - d, s1, i, k)
            }
            forEachLanes(tilesW, { combine(SIMD8<Float>.self, $0, $1) }, { combine(SIMD4<Float>.self, $0, $1) })
        }
        // (Aᵀ m) A over columns: r0 = c0 + c1 + c2, r1 = c1 − c2 − c3.
        for half in 0..<2 {
            let out = half == 0 ? top : bottom
            let c0 = s + 4 * half * tilesW
            let c1 = c0 + tilesW
            let c2 = c1 + tilesW
            let c3 = c2 + tilesW
            for tx in 0..<tilesW {
                out[2 * tx] = c0[tx] + c1[tx] + c2[tx]
                out[2 * tx + 1] = c1[tx] - c2[tx] - c3[tx]
            }
        }
        for i in 0..<min(2, o.h - 2 * ty) {
            let src = i == 0 ? top : bottom
            let dst = frame + (2 * ty + i) * o.w
            if accumulate {
                for j in 0..<o.w { dst[j] += src[j] }
            } else {
                dst.update(from: src, count: o.w)
            }
        }
    }
}

/// A dy Aᵀ for every 2×2 tile of one output-gradient frame and channel
/// (`frame`: Ho × Wo; outside it, 0) into M[ξ] at `m + ξ · planeStride`.
/// Per row of tiles, the two dy rows are transformed along w into 8 rows
/// contiguous over the tiles, then along h into the 16 planes.
private func transformOutputGradient(
    _ frame: UnsafePointer<Float>, _ layout: WinogradLayout, into m: UnsafeMutablePointer<Float>,
    planeStride: Int, rows: UnsafeMutablePointer<Float>
) {
    let o = layout.g.output
    let tilesW = layout.tilesW
    let width = 2 * tilesW
    let top = rows
    let bottom = rows + width
    // along[r][j]: dy row r (top, bottom) along w, (y0, y0 + y1, y0 − y1, −y1)[j] per tile: 8 × tilesW.
    let along = rows + 2 * width
    for ty in 0..<layout.tilesH {
        for i in 0..<2 {
            let row = i == 0 ? top : bottom
            let h = 2 * ty + i
            if h < o.h {
                row.update(from: frame + h * o.w, count: o.w)
                if o.w < width { (row + o.w).initialize(repeating: 0, count: width - o.w) }
            } else {
                row.initialize(repeating: 0, count: width)
            }
            let out = along + 4 * i * tilesW
            for tx in 0..<tilesW {
                let y0 = row[2 * tx]
                let y1 = row[2 * tx + 1]
                out[tx] = y0
                out[tilesW + tx] = y0 + y1
                out[2 * tilesW + tx] = y0 - y1
                out[3 * tilesW + tx] = -y1
            }
        }
        // Along h: plane 4i + j takes (a, a + b, a − b, −b)[i] of a = along[0][j], b = along[1][j].
        let mt = m + ty * tilesW
        for j in 0..<4 {
            let a = along + j * tilesW
            let b = along + (4 + j) * tilesW
            let p0 = mt + j * planeStride
            let p1 = p0 + 4 * planeStride
            let p2 = p1 + 4 * planeStride
            let p3 = p2 + 4 * planeStride
            func combine<V: SIMD>(_: V.Type, _ i: Int, _ k: Int) where V.Scalar == Float {
                let x: V = load(a, i, k)
                let y: V = load(b, i, k)
                store(x, p0, i, k)
                store(x + y, p1, i, k)
                store(x - y, p2, i, k)
                store(V() - y, p3, i, k)
            }
            forEachLanes(tilesW, { combine(SIMD8<Float>.self, $0, $1) }, { combine(SIMD4<Float>.self, $0, $1) })
        }
    }
}

// MARK: Lanes for the transforms' row loops, whose pointers the compiler
// cannot prove disjoint, so it would not vectorise them itself.

/// Runs `eight(i, 8)` over 0..<n while 8 lanes remain, then `four(i, k)`
/// with k ≤ 4 (the last one partial).
@inline(__always) private func forEachLanes(_ n: Int, _ eight: (Int, Int) -> Void, _ four: (Int, Int) -> Void) {
    var i = 0
    while i + 8 <= n {
        eight(i, 8)
        i += 8
    }
    while i < n {
        let k = min(4, n - i)
        four(i, k)
        i += k
    }
}

/// Lanes i..<i + k of `p` (k ≤ V.scalarCount; the rest 0).
@inline(__always) private func load<V: SIMD>(_ p: UnsafePointer<Float>, _ i: Int, _ k: Int) -> V
where V.Scalar == Float {
    if k == V.scalarCount { return UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
    var v = V()
    for j in 0..<k { v[j] = p[i + j] }
    return v
}

/// Stores the first k lanes of `v` at p[i...].
@inline(__always) private func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ k: Int)
where V.Scalar == Float {
    if k == V.scalarCount {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
        return
    }
    for j in 0..<k { p[i + j] = v[j] }
}
