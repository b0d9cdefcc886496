import CKernels  // its x86-64 kernels are declared on x86-64 only

/// Winograd F(m×m, 3×3) with m = 2 or 4 (Lavin and Gray, "Fast Algorithms
/// for Convolutional Neural Networks", 2016; the maps are in
/// WinogradTransforms.swift) for 3D convolutions whose spatial kernel is 3×3
/// at stride 1, applied to every temporal tap. An m×m output tile costs α²
/// multiply-adds (α = m + 2) per input channel and tap instead of 9·m², and
/// no column matrix is built: the input is transformed into α² planes V[ξ]
/// (α²/m² floats per input pixel, against vol2col's 27), then for every group
/// of output frames, ξ and tap one GEMM M[ξ] += U[ξ][a] · V[ξ] (shifted by a
/// frames) sums over the input channels, then M is transformed back to m×m
/// tiles. Grouping frames keeps GEMMs wide on small frames (R50's stage 4 at
/// 112: 16 2×2 tiles a frame).
///
///     y = Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A,   d: the α×α input patch of a tile
///
/// The backward pass over data is the same convolution of dY with the flipped,
/// transposed kernel (`Conv3dGeometry.transposedForData`); the weight gradient
/// runs the forward's linear maps transposed (`winogradBackwardWeight`). The
/// naive 7-loop convolution is the twin of all three in the tests.

/// Which convolutions may run by Winograd, and with which tiles (see
/// `Conv3dGeometry.winogradTile`).
public enum WinogradPolicy: String, Sendable {
    /// F(4×4, 3×3) where a sample, or a stack of samples, has enough tiles
    /// and it saves a third of F(2×2)'s multiplies, else F(2×2, 3×3); along
    /// time F(4, 3) where it does fewer frame products than F(2, 3), for
    /// 3×1×1 convs and around the 3×3×3 ones' spatial tiles
    /// (`spatioTemporal`).
    case automatic
    /// As `automatic` in space, but nothing along time: 3×3×3 convs per
    /// temporal tap, 3×1×1 ones by frame shifts (to measure what the tiles
    /// along time gain, or to keep their larger float32 error out).
    case space
    /// F(2×2, 3×3) only, and F(2, 3) along time for 3×1×1 convs (3×3×3
    /// ones per temporal tap), to measure what the larger tiles gain.
    case small = "2x2"
    /// Never: every convolution through columns or its other kernels
    /// (3×1×1 ones by frame shifts).
    case never
}

extension Conv3dGeometry {
    /// The tiles the forward pass and the backward pass over data run with
    /// by Winograd, or nil: one group, 3×3 spatial kernel, stride and
    /// dilation 1, and enough channels for the GEMMs to outweigh the
    /// transforms (the 3-channel first layer of a net stays on vol2col). A
    /// sample also needs `winogradMinimumColumns` tiles over all its output
    /// frames: U is transformed three times a step (forward, dX, dW) and,
    /// without brgemm, packed by every GEMM, a cost in O · C · kt that only
    /// enough columns repay. Else the batch may have them: its samples then
    /// share the GEMMs (`WinogradStack.takes`: without brgemm, or with it
    /// under `WinogradStacking.always`). F(4×4) is taken where it does at
    /// most 2/3 of F(2×2)'s multiplies (36 per 4×4 tile against 16 per 2×2
    /// tile, with the overhanging tiles) and a sample has the minimum of its
    /// tiles, or a stack of samples has 128 (OpenBLAS's minimum, where
    /// stacks were measured): 28×28 frames 0.56 of them, 7×7 ones 0.56 (per
    /// sample with brgemm; over stacks of 4 without it, R50's stage 4 at 4 ×
    /// 8 × 112² and stage 5 at 8 × 224², 1.06–1.38× per layer against F(2×2)
    /// per sample: BENCHMARKS.md, "Speed, round 3 … sixteenth part"), 14×14
    /// ones 0.73, where its narrower GEMMs lost ("… second part").
    var winogradTile: WinogradTile? {
        guard
            Self.winogradPolicy != .never && groups == 1 && kernel.h == 3 && kernel.w == 3 && stride == (1, 1, 1)
                && dilation == (1, 1, 1) && padding.h <= 2 && padding.w <= 2 && padding.t < kernel.t
                && inChannels >= 8 && outChannels >= 8
        else { return nil }
        let tiles = winogradTilesPerSample
        let minimum = Self.winogradMinimumColumns(.usable)
        // Too few tiles a sample: the batch's samples share GEMMs
        // (`WinogradStack`) where they have `columns` together.
        func stacks(_ tile: WinogradTile, columns: Int) -> Bool {
            batch * tiles(tile) >= columns && stacksSamples(tilesPerSample: tiles(tile))
        }
        let f4Saves =
            (Self.winogradPolicy == .automatic || Self.winogradPolicy == .space)
            && 3 * WinogradTile.f4.planes * tiles(.f4) <= 2 * WinogradTile.f2.planes * tiles(.f2)
        if f4Saves && (tiles(.f4) >= minimum || stacks(.f4, columns: Self.winogradMinimumColumns(.portable))) {
            return .f4
        }
        if tiles(.f2) >= minimum { return .f2 }
        return stacks(.f2, columns: minimum) ? .f2 : nil
    }

    var usesWinograd: Bool { winogradTile != nil }

    /// Whether the forward pass's samples share Winograd's GEMMs
    /// (`WinogradStack`), under the bound policy at the usable level.
    var stacksWinograd: Bool {
        guard let tile = winogradTile else { return false }
        return stacksSamples(tilesPerSample: winogradTilesPerSample(tile))
    }

    /// `WinogradStack.takes` at the usable level under the bound policy.
    private func stacksSamples(tilesPerSample: Int) -> Bool {
        WinogradStack.takes(
            self, tilesPerSample: tilesPerSample, brgemm: SIMDLevel.usable.runsBrgemm, stacking: Self.winogradStacking)
    }

    /// The bound settings (`OpSettings`) that choose a convolution's path.
    public static var winogradPolicy: WinogradPolicy { OpSettings.current.winogradPolicy }
    public static var winogradStacking: WinogradStacking { OpSettings.current.winogradStacking }
    static var spatioTemporalBudget: Int { OpSettings.current.spatioTemporalBudget }
    static var spatioTemporalSmallPlaneChannels: Int { OpSettings.current.spatioTemporalSmallPlaneChannels }

    /// The tiles a sample needs for Winograd. With OpenBLAS per tap (no
    /// brgemm), which packs U again in every call: 128. R50's middle convs at
    /// 4 × 3×8×112×112: stage 4 (8 frames of 16 2×2 tiles, 128) gained 17% of
    /// the r3d50 step on F(2×2); stage 5 (8 × 4, and 4 × 16 at 224) ran as
    /// fast as through columns but took 76–97 MB more (U and per-worker dU of
    /// 512 × 3 · 512 × 16 floats). With brgemm (U packed once a pass): 32,
    /// stage 5 at 112, the smallest measured. There r3d50's res5.conv2 took
    /// 40–43 ms forward, 49–51 dX, 55–57 dW against columns' 59–68, 56–90
    /// and 68–86, and r2plus1d-r50's 1×3×3 one 12–16, 15–19 and 16–19
    /// against 22–31, 19–22 and 24–32 (BENCHMARKS.md, "Speed, round 3 …
    /// seventh part"). Samples with fewer tiles may share the GEMMs where
    /// the batch has that many (`WinogradStack`; fourteenth part).
    static func winogradMinimumColumns(_ level: SIMDLevel) -> Int { level.runsBrgemm ? 32 : 128 }

    /// m×m output tiles of a frame, down and across (the last ones may overhang).
    func winogradTiles(_ tile: WinogradTile) -> (h: Int, w: Int) {
        ((output.h + tile.m - 1) / tile.m, (output.w + tile.m - 1) / tile.m)
    }

    /// The tiles of a sample's output frames with `tile`.
    func winogradTilesPerSample(_ tile: WinogradTile) -> Int {
        let (h, w) = winogradTiles(tile)
        return output.t * h * w
    }

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
    let tile: WinogradTile
    let tilesH: Int, tilesW: Int
    /// Output frames per chunk: V holds `inputFrames` = frames + kt − 1 frames.
    let frames: Int
    /// Output frames per GEMM (M holds them): enough for `columns` GEMM
    /// columns, so that small frames still make GEMMs wide enough to repay
    /// packing U.
    let group: Int
    /// The level of the transforms' one-dimensional maps (`winogradMap`):
    /// the convolution's, read once in its forward pass.
    let level: SIMDLevel
    /// How U's planes are packed for `brgemm`, or nil where OpenBLAS runs
    /// the products, once per tap (below AVX-512: U[ξ] is O × depth).
    let packing: BrgemmPacking?
    /// Where its samples share the GEMMs (`WinogradStack`): the
    /// convolution's, read once in its forward pass.
    let stacking: WinogradStacking

    /// `packed` (brgemm; by default where the level runs it) lets a test
    /// run brgemm's products below AVX-512, by its Swift twin.
    init(
        _ g: Conv3dGeometry, tile: WinogradTile, level: SIMDLevel, stacking: WinogradStacking,
        packed: Bool? = nil, budget: Int = 2 << 20, columns: Int = 256
    ) {
        self.g = g
        self.tile = tile
        self.level = level
        self.stacking = stacking
        packing =
            packed ?? level.runsBrgemm
            ? BrgemmPacking(m: g.outChannels, depth: g.kernel.t * g.inChannels, rows: brgemmSliverRows) : nil
        let o = g.output
        (tilesH, tilesW) = g.winogradTiles(tile)
        let perFrame = tile.planes * g.inChannels * tilesH * tilesW
        let most = max(1, budget / perFrame - (g.kernel.t - 1))
        let chunks = (o.t + most - 1) / most
        frames = (o.t + chunks - 1) / chunks  // balanced chunks
        group = min(frames, max(1, (columns + tilesH * tilesW - 1) / (tilesH * tilesW)))
    }

    var planes: Int { tile.planes }
    var tiles: Int { tilesH * tilesW }
    var inputFrames: Int { frames + g.kernel.t - 1 }
    /// GEMM depth: every tap's input channels.
    var depth: Int { g.kernel.t * g.inChannels }
    /// Floats of dU (one per worker, or one shared where `splitsPlanes`): O × depth a plane.
    var weightCount: Int { planes * g.outChannels * depth }
    /// Whether the backward pass over weights splits dU's planes over the
    /// workers, each summing every sample into its planes of one shared dU,
    /// rather than the samples, each worker summing a dU of its own (added
    /// up after): where dU holds more floats than the batch's V and M, as
    /// at R50's stage 5 (dU 50 MB, 5× the batch's V and M at 112). There
    /// the split saves a dU per worker and the pass that adds them. Where a
    /// sample's frames are one group (`isOneGroup`), V and M of the batch
    /// are made once first (`winogradBackwardWeightByPlane`); else each
    /// worker transforms every sample.
    func splitsPlanes(workers: Int) -> Bool { workers > 1 && weightCount > g.batch * (vCount + mCount) }
    /// Floats between U[ξ] and U[ξ + 1].
    var uPlane: Int { packing?.count ?? g.outChannels * depth }
    /// Floats of U (shared by the workers).
    var uCount: Int { planes * uPlane }
    /// Floats between V[ξ] and V[ξ + 1]; V[ξ] is C × inputFrames × tiles,
    /// so for every tap a the chunk's frames a … a + frames − 1 are one
    /// C × (frames · tiles) matrix with row stride `vRow`.
    var vPlane: Int { g.inChannels * vRow }
    var vRow: Int { inputFrames * tiles }
    var vCount: Int { planes * vPlane }
    /// Floats between M[ξ] and M[ξ + 1]; M[ξ] is O × group × tiles, row stride `mRow`.
    var mPlane: Int { g.outChannels * mRow }
    var mRow: Int { group * tiles }
    private var mCount: Int { planes * mPlane }
    /// Frames whose tiles the transforms take in one block: about 256 lanes.
    var blockFrames: Int { max(1, 256 / tiles) }
    var blockLanes: Int { blockFrames * tiles }
    /// Floats of one worker's scratch: V, M and the transforms' block (the
    /// input's: α² × blockLanes; the others need less).
    var scratchCount: Int { vCount + mCount + planes * blockLanes }

    func parts(_ scratch: UnsafeMutablePointer<Float>) -> (
        v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
        blocks: UnsafeMutablePointer<Float>
    ) {
        (scratch, scratch + vCount, scratch + vCount + mCount)
    }
}

/// U[ξ][o][a·C + c] = (G w[o][c][a] Gᵀ)[ξ] (`layout.uCount` floats; each
/// plane packed for `brgemm` where `layout.packing` says so), split over
/// `workers` threads. With `flipped`, `layout.g` is a `transposedForData`
/// geometry and `w` the original weight (O′ × C′ × kt × 3 × 3 with O′ =
/// g.inChannels): the kernel is read flipped and transposed.
///
/// Packed, it runs ck_winograd_weights_packed_avx512 at AVX-512 (the
/// layout's level, or `level` when given), or its Swift twin
/// (`winogradWeightsPacked`) below it; unpacked, ck_winograd_weights at
/// the level, or its Swift twin at `.portable`.
func winogradWeights(
    _ w: UnsafePointer<Float>, _ layout: WinogradLayout, flipped: Bool, into u: UnsafeMutablePointer<Float>,
    workers: Int = 1, level: SIMDLevel? = nil
) {
    func transform<T: WinogradTransforms>(_: T.Type) {
        if let packing = layout.packing {
            #if arch(x86_64)
                if (level ?? layout.level) == .avx512 {
                    let g = layout.g
                    let slivers = (g.outChannels + packing.rows - 1) / packing.rows
                    Parallel.forEachRange(slivers, workers: workers) { _, range in
                        ck_winograd_weights_packed_avx512(
                            Int32(T.m), w, u, Int64(g.outChannels), Int64(g.inChannels), Int64(g.kernel.t),
                            flipped ? 1 : 0, Int64(layout.uPlane), Int64(range.lowerBound), Int64(range.upperBound))
                    }
                    return
                }
            #endif
            winogradWeightsPacked(T.self, w, layout, packing, flipped: flipped, into: u, workers: workers)
        } else {
            #if arch(x86_64)
                let at = level ?? layout.level
                if at != .portable {
                    let kernel = at == .avx512 ? ck_winograd_weights_avx512 : ck_winograd_weights_avx2
                    let g = layout.g
                    Parallel.forEachRange(g.outChannels, workers: workers) { _, range in
                        kernel(
                            Int32(T.m), w, u, Int64(g.outChannels), Int64(g.inChannels), Int64(g.kernel.t),
                            flipped ? 1 : 0, Int64(range.lowerBound), Int64(range.upperBound))
                    }
                    return
                }
            #endif
            winogradWeights(T.self, w, layout, flipped: flipped, into: u, workers: workers)
        }
    }
    switch layout.tile {
    case .f2: transform(WinogradF2.self)
    case .f4: transform(WinogradF4.self)
    }
}

/// The 3 × 3 kernel of output channel o, input channel c and tap a, at w[base + step · i] for i < 9.
@inline(__always) private func kernelStart(
    _ g: Conv3dGeometry, o: Int, c: Int, a: Int, flipped: Bool
) -> (base: Int, step: Int) {
    let kt = g.kernel.t
    return flipped
        ? (((c * g.outChannels + o) * kt + (kt - 1 - a)) * 9 + 8, -1) : (((o * g.inChannels + c) * kt + a) * 9, 1)
}

/// G k Gᵀ of `V.scalarCount` kernels at once, k(i) holding their i-th
/// taps, each result (i, j) passed to `write(i · α + j, value)`.
@inline(__always) private func transformKernels<T: WinogradTransforms, V: SIMD>(
    _: T.Type, _ k: (Int) -> V, _ write: (Int, V) -> Void
) where V.Scalar == Float {
    let alpha = T.m + 2
    withUnsafeTemporaryAllocation(of: V.self, capacity: 3 * alpha) { gk in  // G k: α × 3
        for column in 0..<3 {
            T.filter(k(column), k(3 + column), k(6 + column)) { i, v in gk[3 * i + column] = v }
        }
        // (G k) Gᵀ: α × α, row by row.
        for i in 0..<alpha {
            T.filter(gk[3 * i], gk[3 * i + 1], gk[3 * i + 2]) { j, v in write(i * alpha + j, v) }
        }
    }
}

/// Unpacked: per output channel and tap, the 3 × 3 kernels of all input
/// channels are gathered into nine rows over the channels, then transformed
/// with lanes over the channels, so that each plane is written 8 floats at
/// a time.
private func winogradWeights<T: WinogradTransforms>(
    _: T.Type, _ w: UnsafePointer<Float>, _ layout: WinogradLayout, flipped: Bool, into u: UnsafeMutablePointer<Float>,
    workers: Int
) {
    let g = layout.g
    let C = g.inChannels
    let depth = layout.depth
    let plane = g.outChannels * depth
    Parallel.forEachRange(g.outChannels, workers: workers) { _, outputs in
        // k[i][c] (9 × C).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * C) { buffer in
            let k = buffer.baseAddress!
            for o in outputs {
                for a in 0..<g.kernel.t {
                    for c in 0..<C {
                        let (base, step) = kernelStart(g, o: o, c: c, a: a, flipped: flipped)
                        for i in 0..<9 { k[i * C + c] = w[base + step * i] }
                    }
                    let out = u + o * depth + a * C
                    func transform<V: SIMD>(_: V.Type, _ c: Int, _ lanes: Int) where V.Scalar == Float {
                        transformKernels(T.self, { i -> V in load(k + i * C, c, lanes) }) { p, v in
                            store(v, out + p * plane, c, lanes)
                        }
                    }
                    forEachLanes(C, { transform(SIMD8<Float>.self, $0, $1) }, { transform(SIMD4<Float>.self, $0, $1) })
                }
            }
        }
    }
}

/// Packed for `brgemm`: a sliver's rows (output channels) of one depth
/// index (tap, input channel) are contiguous, so per sliver, tap and input
/// channel the sliver's kernels are gathered into nine rows of lanes over
/// the output channels (0 past the last one) and transformed together, each
/// plane written a sliver row at a time.
private func winogradWeightsPacked<T: WinogradTransforms>(
    _: T.Type, _ w: UnsafePointer<Float>, _ layout: WinogradLayout, _ packing: BrgemmPacking, flipped: Bool,
    into u: UnsafeMutablePointer<Float>, workers: Int
) {
    typealias V = SIMD8<Float>
    precondition(packing.rows == V.scalarCount, "Winograd's weights are packed in slivers of 8 rows only")
    let g = layout.g
    let O = g.outChannels
    let C = g.inChannels
    let rows = packing.rows
    let uPlane = layout.uPlane
    Parallel.forEachRange((O + rows - 1) / rows, workers: workers) { _, slivers in
        // k[c][i][lane]: the sliver's kernels of one tap, gathered for all
        // input channels before any is loaded as vectors (writing lanes of
        // a vector in memory one by one and loading it at once stalls).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: C * 9 * rows) { buffer in
            let k = buffer.baseAddress!
            for sliver in slivers {
                let lanes = min(rows, O - sliver * rows)
                for a in 0..<g.kernel.t {
                    if lanes < rows { k.initialize(repeating: 0, count: C * 9 * rows) }
                    for c in 0..<C {
                        for lane in 0..<lanes {
                            let (base, step) = kernelStart(g, o: sliver * rows + lane, c: c, a: a, flipped: flipped)
                            for i in 0..<9 { k[(c * 9 + i) * rows + lane] = w[base + step * i] }
                        }
                    }
                    for c in 0..<C {
                        let out = u + packing.index(row: sliver * rows, depth: a * C + c)
                        transformKernels(T.self, { i -> V in load(k + (c * 9 + i) * rows, 0, rows) }) { p, v in
                            store(v, out + p * uPlane, 0, rows)
                        }
                    }
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
    let (v, m, blocks) = layout.parts(scratch)
    let vPlane = layout.vPlane
    let mPlane = layout.mPlane
    let vRow = layout.vRow
    let mRow = layout.mRow
    let packed = layout.packing != nil
    let uPlane = layout.uPlane
    for n in samples {
        let ys = y + n * O * g.outputVolume
        forEachGroup(x + n * C * g.inputVolume, layout, v: v, blocks: blocks) { local, first, frames in
            // M[ξ] = Σ over taps a of U[ξ][a] (O × C) · V[ξ] at frames local + a … (C × frames · tiles).
            for xi in 0..<layout.planes {
                if packed {
                    brgemm(
                        m: O, n: frames * tiles, taps: g.kernel.t, k: C, packedA: u + xi * uPlane,
                        b: v + xi * vPlane + local * tiles, ldb: vRow, tapShift: tiles, c: m + xi * mPlane, ldc: mRow,
                        accumulate: false, level: layout.level)
                } else {
                    for a in 0..<g.kernel.t {
                        sgemm(
                            m: O, n: frames * tiles, k: C, a: u + xi * uPlane + a * C, lda: depth,
                            b: v + xi * vPlane + (local + a) * tiles, ldb: vRow, beta: a == 0 ? 0 : 1,
                            c: m + xi * mPlane, ldc: mRow)
                    }
                }
            }
            for oc in 0..<O {
                let out = ys + (oc * o.t + first) * o.h * o.w
                transformOutput(
                    m + oc * mRow, frames: frames, layout, planeStride: mPlane, into: out, accumulate: accumulate,
                    scratch: blocks)
                epilogue?.apply(out, count: frames * o.h * o.w, channel: oc)
            }
        }
    }
}

/// Transforms the input frames of one sample into V, a chunk of output
/// frames at a time, and calls `body(local, first, frames)` for every group
/// of output frames [first, first + frames) of the chunk, whose first tap is
/// V's frame `local`; frames outside the input (temporal padding) are 0.
func forEachGroup(
    _ xs: UnsafePointer<Float>, _ layout: WinogradLayout, v: UnsafeMutablePointer<Float>,
    blocks: UnsafeMutablePointer<Float>, _ body: (_ local: Int, _ first: Int, _ frames: Int) -> Void
) {
    let g = layout.g
    var first = 0
    while first < g.output.t {
        let frames = min(layout.frames, g.output.t - first)
        transformChunk(xs, layout, first: first, frames: frames, into: v, blocks: blocks)
        for local in stride(from: 0, to: frames, by: layout.group) {
            body(local, first + local, min(layout.group, frames - local))
        }
        first += frames
    }
}

/// V of one sample's chunk of output frames [first, first + frames): every
/// input frame their taps reach (0 outside the input). A channel's row is
/// `rowStride` floats after the one before, a plane `planeStride` after the
/// one before (by default the layout's: `vRow`, `vPlane`).
func transformChunk(
    _ xs: UnsafePointer<Float>, _ layout: WinogradLayout, first: Int, frames: Int, into v: UnsafeMutablePointer<Float>,
    rowStride: Int? = nil, planeStride: Int? = nil, blocks: UnsafeMutablePointer<Float>
) {
    let g = layout.g
    let times = (first - g.padding.t)..<(first - g.padding.t + frames + g.kernel.t - 1)
    let (rowStride, planeStride) = (rowStride ?? layout.vRow, planeStride ?? layout.vPlane)
    for c in 0..<g.inChannels {
        transformInput(
            xs + c * g.input.t * g.input.h * g.input.w, times: times, layout, into: v + c * rowStride,
            planeStride: planeStride, scratch: blocks)
    }
}
