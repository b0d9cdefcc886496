import CKernels  // its x86-64 kernels are declared on x86-64 only

/// The linear maps of Winograd F(m×m, 3×3) (Lavin and Gray, 2016) for
/// m = 2 and m = 4, and the block transforms built from them. Input tiles
/// are α × α with α = m + 2; plane ξ = i·α + j holds element (i, j) of a
/// transformed tile (i down, j across).
///
///     y = Aᵀ [(G w Gᵀ) ⊙ (Bᵀ d B)] A
///
/// F(4×4, 3×3) interpolates at 0, ±1, ±2 and ∞: 36 multiplies per 16 outputs
/// against F(2×2, 3×3)'s 16 per 4, at the price of larger constants (up to
/// 8 in Aᵀ), so its float32 error is larger; KernelTests states and tests it.

/// The output tile of a Winograd convolution: F(2×2, 3×3) or F(4×4, 3×3).
public enum WinogradTile: Int, Sendable, CaseIterable {
    case f2 = 2
    case f4 = 4

    /// Output tile side m.
    var m: Int { rawValue }
    /// Input tile side α = m + 2.
    var alpha: Int { rawValue + 2 }
    /// Transformed planes: α².
    var planes: Int { alpha * alpha }
    /// "2x2" or "4x4".
    public var name: String { "\(rawValue)x\(rawValue)" }
}

/// One-dimensional transforms of one tile size, applied along h or w. The
/// vector ones read their operands through `value(i)` and hand results to
/// `result(i, v)`, lanes over tiles; both closures are inlined.
protocol WinogradTransforms {
    /// Output tile side m.
    static var m: Int { get }
    /// Bᵀ d: α values → α.
    static func input<V: SIMD>(_ value: (Int) -> V, _ result: (Int, V) -> Void) where V.Scalar == Float
    /// Aᵀ p: α → m.
    static func output<V: SIMD>(_ value: (Int) -> V, _ result: (Int, V) -> Void) where V.Scalar == Float
    /// A y: m → α (its transpose, for the weight gradient).
    static func outputGradient<V: SIMD>(_ value: (Int) -> V, _ result: (Int, V) -> Void) where V.Scalar == Float
    /// G (a, b, c): 3 → α.
    static func filter<V: SIMD>(_ a: V, _ b: V, _ c: V, _ result: (Int, V) -> Void) where V.Scalar == Float
    /// Gᵀ p: α → 3.
    static func filterTransposed<V: SIMD>(_ value: (Int) -> V) -> (V, V, V) where V.Scalar == Float
}

/// F(2×2, 3×3): interpolation at 0, ±1 and ∞.
enum WinogradF2: WinogradTransforms {
    static let m = 2

    @inline(__always) static func input<V: SIMD>(_ d: (Int) -> V, _ r: (Int, V) -> Void) where V.Scalar == Float {
        let (d0, d1, d2, d3) = (d(0), d(1), d(2), d(3))
        r(0, d0 - d2)
        r(1, d1 + d2)
        r(2, d2 - d1)
        r(3, d1 - d3)
    }

    @inline(__always) static func output<V: SIMD>(_ p: (Int) -> V, _ r: (Int, V) -> Void) where V.Scalar == Float {
        let (p0, p1, p2, p3) = (p(0), p(1), p(2), p(3))
        r(0, p0 + p1 + p2)
        r(1, p1 - p2 - p3)
    }

    @inline(__always) static func outputGradient<V: SIMD>(_ y: (Int) -> V, _ r: (Int, V) -> Void)
    where V.Scalar == Float {
        let (y0, y1) = (y(0), y(1))
        r(0, y0)
        r(1, y0 + y1)
        r(2, y0 - y1)
        r(3, -y1)
    }

    @inline(__always) static func filter<V: SIMD>(_ a: V, _ b: V, _ c: V, _ r: (Int, V) -> Void)
    where V.Scalar == Float {
        r(0, a)
        r(1, 0.5 * (a + b + c))
        r(2, 0.5 * (a - b + c))
        r(3, c)
    }

    @inline(__always) static func filterTransposed<V: SIMD>(_ p: (Int) -> V) -> (V, V, V) where V.Scalar == Float {
        let (p0, p1, p2, p3) = (p(0), p(1), p(2), p(3))
        return (p0 + 0.5 * (p1 + p2), 0.5 * (p1 - p2), 0.5 * (p1 + p2) + p3)
    }
}

/// F(4×4, 3×3): interpolation at 0, ±1, ±2 and ∞.
///
///     Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
///     G  = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1]
///     Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
enum WinogradF4: WinogradTransforms {
    static let m = 4

    /// G's fractions as multipliers (1/6, 1/12 and 1/24 rounded to Float,
    /// as weights_body.h's wino_filter8 has them): a division costs
    /// several multiplications' time, and the weight transforms made 54
    /// of them for every 8 kernels.
    private enum Reciprocal {
        @inline(__always) static var of6: Float { 1 / 6 }
        @inline(__always) static var of12: Float { 1 / 12 }
        @inline(__always) static var of24: Float { 1 / 24 }
    }

    @inline(__always) static func input<V: SIMD>(_ d: (Int) -> V, _ r: (Int, V) -> Void) where V.Scalar == Float {
        let (d0, d1, d2, d3, d4, d5) = (d(0), d(1), d(2), d(3), d(4), d(5))
        let e = d4 - d2
        let f = d1 - d3
        r(0, 4 * d0 - 5 * d2 + d4)
        r(1, d3 + d4 - 4 * (d1 + d2))
        r(2, d4 - d3 + 4 * (d1 - d2))
        r(3, e - 2 * f)
        r(4, e + 2 * f)
        r(5, 4 * d1 - 5 * d3 + d5)
    }

    @inline(__always) static func output<V: SIMD>(_ p: (Int) -> V, _ r: (Int, V) -> Void) where V.Scalar == Float {
        let (p0, p1, p2, p3, p4, p5) = (p(0), p(1), p(2), p(3), p(4), p(5))
        let s12 = p1 + p2
        let d12 = p1 - p2
        let s34 = p3 + p4
        let d34 = p3 - p4
        r(0, p0 + s12 + s34)
        r(1, d12 + 2 * d34)
        r(2, s12 + 4 * s34)
        r(3, d12 + 8 * d34 + p5)
    }

    @inline(__always) static func outputGradient<V: SIMD>(_ y: (Int) -> V, _ r: (Int, V) -> Void)
    where V.Scalar == Float {
        let (y0, y1, y2, y3) = (y(0), y(1), y(2), y(3))
        let even = y0 + y2
        let odd = y1 + y3
        let even4 = y0 + 4 * y2
        let odd8 = 2 * y1 + 8 * y3
        r(0, y0)
        r(1, even + odd)
        r(2, even - odd)
        r(3, even4 + odd8)
        r(4, even4 - odd8)
        r(5, y3)
    }

    @inline(__always) static func filter<V: SIMD>(_ a: V, _ b: V, _ c: V, _ r: (Int, V) -> Void)
    where V.Scalar == Float {
        let ac = a + c
        let quarter = a * Reciprocal.of24 + c * Reciprocal.of6
        r(0, a * 0.25)
        r(1, -(ac + b) * Reciprocal.of6)
        r(2, -(ac - b) * Reciprocal.of6)
        r(3, quarter + b * Reciprocal.of12)
        r(4, quarter - b * Reciprocal.of12)
        r(5, c)
    }

    @inline(__always) static func filterTransposed<V: SIMD>(_ p: (Int) -> V) -> (V, V, V) where V.Scalar == Float {
        let (p0, p1, p2, p3, p4, p5) = (p(0), p(1), p(2), p(3), p(4), p(5))
        return (
            p0 * 0.25 - (p1 + p2) * Reciprocal.of6 + (p3 + p4) * Reciprocal.of24,
            (p2 - p1) * Reciprocal.of6 + (p3 - p4) * Reciprocal.of12, (p3 + p4 - p1 - p2) * Reciprocal.of6 + p5
        )
    }
}

// MARK: Tile transforms, a block of frames of one channel at a time

// The transforms run their lanes over every tile of a block of frames
// (`WinogradLayout.blockFrames`, about 256 tiles), which V and M hold
// contiguously for one channel: per row of tiles, a 28×28 frame has only 7
// F(4×4) tiles, too few for 8 lanes. Gathering the α×α patches first
// (`winogradGather`, a row's tiles split by phase) leaves every transform a
// pass over whole vectors.

/// V[ξ] at `dst + ξ · planeStride` = (Bᵀ d B)[ξ] for every tile of input
/// frames `times` (indices into `channel`'s T frames of H × W; those outside
/// are 0) of one channel, frame by frame `layout.tiles` apart.
func transformInput(
    _ channel: UnsafePointer<Float>, times: Range<Int>, _ layout: WinogradLayout,
    into dst: UnsafeMutablePointer<Float>, planeStride: Int, scratch: UnsafeMutablePointer<Float>
) {
    switch layout.tile {
    case .f2:
        transformInput(
            WinogradF2.self, channel, times: times, layout, into: dst, planeStride: planeStride, scratch: scratch)
    case .f4:
        transformInput(
            WinogradF4.self, channel, times: times, layout, into: dst, planeStride: planeStride, scratch: scratch)
    }
}

/// Aᵀ p A for every tile of `frames` output frames of one channel (M[ξ] at
/// `p + ξ · planeStride`, frame by frame `layout.tiles` apart), written (or
/// added) into `frames` consecutive Ho × Wo frames at `y`.
func transformOutput(
    _ p: UnsafePointer<Float>, frames: Int, _ layout: WinogradLayout, planeStride: Int,
    into y: UnsafeMutablePointer<Float>, accumulate: Bool, scratch: UnsafeMutablePointer<Float>
) {
    switch layout.tile {
    case .f2:
        transformOutput(
            WinogradF2.self, p, frames: frames, layout, planeStride: planeStride, into: y, accumulate: accumulate,
            scratch: scratch)
    case .f4:
        transformOutput(
            WinogradF4.self, p, frames: frames, layout, planeStride: planeStride, into: y, accumulate: accumulate,
            scratch: scratch)
    }
}

/// M[ξ] at `p + ξ · planeStride` = (A dy Aᵀ)[ξ] for every m×m tile of
/// `frames` consecutive output-gradient frames (Ho × Wo at `dy`; outside
/// them, 0) of one channel.
func transformOutputGradient(
    _ dy: UnsafePointer<Float>, frames: Int, _ layout: WinogradLayout, into p: UnsafeMutablePointer<Float>,
    planeStride: Int, scratch: UnsafeMutablePointer<Float>
) {
    switch layout.tile {
    case .f2:
        transformOutputGradient(
            WinogradF2.self, dy, frames: frames, layout, into: p, planeStride: planeStride, scratch: scratch)
    case .f4:
        transformOutputGradient(
            WinogradF4.self, dy, frames: frames, layout, into: p, planeStride: planeStride, scratch: scratch)
    }
}

/// Per block of frames: the patches gathered and Bᵀ across them into Q[i][l]
/// (row i of every tile; `winogradGatherFrame`), then Bᵀ down into the planes.
private func transformInput<T: WinogradTransforms>(
    _: T.Type, _ channel: UnsafePointer<Float>, times: Range<Int>, _ layout: WinogradLayout,
    into dst: UnsafeMutablePointer<Float>, planeStride: Int, scratch: UnsafeMutablePointer<Float>
) {
    let g = layout.g
    let alpha = layout.tile.alpha
    let tiles = layout.tiles
    let (H, W) = (g.input.h, g.input.w)
    let across = scratch
    for start in stride(from: times.lowerBound, to: times.upperBound, by: layout.blockFrames) {
        let count = min(layout.blockFrames, times.upperBound - start)
        let n = count * tiles
        for k in 0..<count {
            let t = start + k
            // Frames outside the input are zeros.
            let frame = t >= 0 && t < g.input.t ? channel + t * H * W : nil
            winogradGatherFrame(
                layout, across: .input, frame, height: H, width: W, padding: (g.padding.h, g.padding.w),
                into: across + k * tiles, stride: n)
        }
        let out = dst + (start - times.lowerBound) * tiles
        for l in 0..<alpha {
            winogradMap(
                T.self, .input, layout.level, across + l * n, stride: alpha * n, into: out + l * planeStride,
                stride: alpha * planeStride, lanes: n)
        }
    }
}

/// Per block of frames: Aᵀ down the planes into S[r][l], then Aᵀ across
/// into each tile's m×m values in the frames (`winogradScatterFrame`;
/// overhanging ones dropped).
private func transformOutput<T: WinogradTransforms>(
    _: T.Type, _ p: UnsafePointer<Float>, frames: Int, _ layout: WinogradLayout, planeStride: Int,
    into y: UnsafeMutablePointer<Float>, accumulate: Bool, scratch: UnsafeMutablePointer<Float>
) {
    let o = layout.g.output
    let alpha = layout.tile.alpha
    let tiles = layout.tiles
    let down = scratch  // m × α × n
    for start in stride(from: 0, to: frames, by: layout.blockFrames) {
        let count = min(layout.blockFrames, frames - start)
        let n = count * tiles
        let pb = p + start * tiles
        for l in 0..<alpha {
            winogradMap(
                T.self, .output, layout.level, pb + l * planeStride, stride: alpha * planeStride, into: down + l * n,
                stride: alpha * n, lanes: n)
        }
        for k in 0..<count {
            winogradScatterFrame(
                layout, down + k * tiles, stride: n, into: y + (start + k) * o.h * o.w, accumulate: accumulate)
        }
    }
}

/// Per block of frames: the m×m tiles of dY gathered (0 beyond the frame) and
/// A across them into S[r][l] (`winogradGatherFrame`), then A down into the
/// planes.
private func transformOutputGradient<T: WinogradTransforms>(
    _: T.Type, _ dy: UnsafePointer<Float>, frames: Int, _ layout: WinogradLayout, into p: UnsafeMutablePointer<Float>,
    planeStride: Int, scratch: UnsafeMutablePointer<Float>
) {
    let o = layout.g.output
    let alpha = layout.tile.alpha
    let tiles = layout.tiles
    let across = scratch  // m × α × n
    for start in stride(from: 0, to: frames, by: layout.blockFrames) {
        let count = min(layout.blockFrames, frames - start)
        let n = count * tiles
        for k in 0..<count {
            winogradGatherFrame(
                layout, across: .outputGradient, dy + (start + k) * o.h * o.w, height: o.h, width: o.w,
                padding: (0, 0), into: across + k * tiles, stride: n)
        }
        let out = p + start * tiles
        for l in 0..<alpha {
            winogradMap(
                T.self, .outputGradient, layout.level, across + l * n, stride: alpha * n, into: out + l * planeStride,
                stride: alpha * planeStride, lanes: n)
        }
    }
}

/// The three one-dimensional maps of a tile size.
enum WinogradMap {
    /// Bᵀ: α → α.
    case input
    /// Aᵀ: α → m.
    case output
    /// A: m → α.
    case outputGradient

    #if arch(x86_64)
        /// CKernels' constant for the map.
        var kind: Int32 {
            switch self {
            case .input: Int32(CK_WINOGRAD_INPUT)
            case .output: Int32(CK_WINOGRAD_OUTPUT)
            case .outputGradient: Int32(CK_WINOGRAD_OUTPUT_GRADIENT)
            }
        }
    #endif
}

/// `map` of `T` over `lanes` contiguous lanes: its inputs at `src + j · srcStride`,
/// its outputs to `dst + r · dstStride` (not overlapping them), by the C
/// kernel of `level` (CKernels' ck_winograd_map), or at `.portable` by the
/// Swift maps, its naive twin.
func winogradMap<T: WinogradTransforms>(
    _: T.Type, _ map: WinogradMap, _ level: SIMDLevel, _ src: UnsafePointer<Float>, stride srcStride: Int,
    into dst: UnsafeMutablePointer<Float>, stride dstStride: Int, lanes: Int
) {
    #if arch(x86_64)
        if level != .portable {
            let kernel = level == .avx512 ? ck_winograd_map_avx512 : ck_winograd_map_avx2
            kernel(Int32(T.m), map.kind, src, Int64(srcStride), dst, Int64(dstStride), Int64(lanes))
            return
        }
    #endif
    func chunk<V: SIMD>(_: V.Type, _ x: Int, _ k: Int) where V.Scalar == Float {
        let value = { (j: Int) -> V in load(src + j * srcStride, x, k) }
        let result = { (r: Int, v: V) in store(v, dst + r * dstStride, x, k) }
        switch map {
        case .input: T.input(value, result)
        case .output: T.output(value, result)
        case .outputGradient: T.outputGradient(value, result)
        }
    }
    forEachLanes(lanes, { chunk(SIMD8<Float>.self, $0, $1) }, { chunk(SIMD4<Float>.self, $0, $1) })
}

/// The patches of a frame's tiles (`layout`'s tilesH × tilesW), α × α for
/// the map `across` Bᵀ, m × m for A, each row of a patch through the map: with
/// P[i][j] of tile (ty, tx) = frame[h · width + w], h = m · ty + i − padding.h
/// and w = m · tx + j − padding.w, or 0 where that is outside the height ×
/// width frame (not read), or everywhere when frame is nil,
/// dst[(i · α + l) · stride + ty · tilesW + tx] = across(P[i])[l].
/// By the C kernel of the layout's level (ck_winograd_gather_frame), or at
/// `.portable` by the loops here, its twin (the same arithmetic, so the same
/// values).
func winogradGatherFrame(
    _ layout: WinogradLayout, across map: WinogradMap, _ frame: UnsafePointer<Float>?, height: Int, width: Int,
    padding: (h: Int, w: Int), into dst: UnsafeMutablePointer<Float>, stride: Int
) {
    precondition(map != .output, "the gathers take Bᵀ or A across")
    let (m, tilesH, tilesW, tiles) = (layout.tile.m, layout.tilesH, layout.tilesW, layout.tiles)
    let taps = map == .input ? layout.tile.alpha : m
    #if arch(x86_64)
        if layout.level != .portable {
            let kernel = layout.level == .avx512 ? ck_winograd_gather_frame_avx512 : ck_winograd_gather_frame_avx2
            kernel(
                Int32(m), map.kind, frame, Int64(height), Int64(width), Int64(padding.h),
                Int64(padding.w), Int64(tilesH), Int64(tilesW), dst, Int64(stride))
            return
        }
    #endif
    withUnsafeTemporaryAllocation(of: Float.self, capacity: taps * taps * tiles) { patches in
        let patches = patches.baseAddress!
        for i in 0..<taps {
            for j in 0..<taps {
                let out = patches + (i * taps + j) * tiles
                for ty in 0..<tilesH {
                    let h = m * ty + i - padding.h
                    for tx in 0..<tilesW {
                        let w = m * tx + j - padding.w
                        let inside = (0..<height).contains(h) && (0..<width).contains(w)
                        out[ty * tilesW + tx] = inside ? frame.map { $0[h * width + w] } ?? 0 : 0
                    }
                }
            }
        }
        for i in 0..<taps {
            winogradMap(
                layout.tile, map, .portable, patches + i * taps * tiles, stride: tiles,
                into: dst + i * layout.tile.alpha * stride, stride: stride, lanes: tiles)
        }
    }
}

/// The output tiles into a height × width frame (the layout's output):
/// with S[r][l] of tile (ty, tx) at src[(r · α + l) · stride + ty · tilesW + tx]
/// (r < m, l < α), Aᵀ across gives the tile's row r, written (or added when
/// `accumulate`) to frame row m · ty + r, columns m · tx …; rows and columns
/// past the frame are dropped. By ck_winograd_scatter_frame, or at
/// `.portable` by its twin here.
func winogradScatterFrame(
    _ layout: WinogradLayout, _ src: UnsafePointer<Float>, stride: Int, into frame: UnsafeMutablePointer<Float>,
    accumulate: Bool
) {
    let (m, alpha, tilesH, tilesW, tiles) = (
        layout.tile.m, layout.tile.alpha, layout.tilesH, layout.tilesW, layout.tiles
    )
    let (height, width) = (layout.g.output.h, layout.g.output.w)
    #if arch(x86_64)
        if layout.level != .portable {
            let kernel = layout.level == .avx512 ? ck_winograd_scatter_frame_avx512 : ck_winograd_scatter_frame_avx2
            kernel(
                Int32(m), src, Int64(stride), frame, Int64(height), Int64(width), Int64(tilesH), Int64(tilesW),
                accumulate ? 1 : 0)
            return
        }
    #endif
    withUnsafeTemporaryAllocation(of: Float.self, capacity: m * m * tiles) { values in
        let values = values.baseAddress!  // element (r, j) of every tile
        for r in 0..<m {
            winogradMap(
                layout.tile, .output, .portable, src + r * alpha * stride, stride: stride, into: values + r * m * tiles,
                stride: tiles, lanes: tiles)
        }
        for ty in 0..<tilesH {
            for r in 0..<min(m, height - m * ty) {
                let row = frame + (m * ty + r) * width
                for j in 0..<m {
                    for tx in 0..<tilesW where m * tx + j < width {
                        let value = values[(r * m + j) * tiles + ty * tilesW + tx]
                        if accumulate { row[m * tx + j] += value } else { row[m * tx + j] = value }
                    }
                }
            }
        }
    }
}

/// `winogradMap` of the tile size's maps.
func winogradMap(
    _ tile: WinogradTile, _ map: WinogradMap, _ level: SIMDLevel, _ src: UnsafePointer<Float>, stride srcStride: Int,
    into dst: UnsafeMutablePointer<Float>, stride dstStride: Int, lanes: Int
) {
    switch tile {
    case .f2:
        winogradMap(
            WinogradF2.self, map, level, src, stride: srcStride, into: dst, stride: dstStride, lanes: lanes)
    case .f4:
        winogradMap(
            WinogradF4.self, map, level, src, stride: srcStride, into: dst, stride: dstStride, lanes: lanes)
    }
}

// MARK: Lanes for the transforms' row loops, whose pointers the compiler
// cannot prove disjoint, so it would not vectorise them itself.

/// Runs `eight(i, 8)` over 0..<n while 8 lanes remain, then `four(i, k)`
/// with k ≤ 4 (the last one partial).
@inline(__always) func forEachLanes(_ n: Int, _ eight: (Int, Int) -> Void, _ four: (Int, Int) -> Void) {
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
@inline(__always) func load<V: SIMD>(_ p: UnsafePointer<Float>, _ i: Int, _ k: Int) -> V
where V.Scalar == Float {
    if k == V.scalarCount { return UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
    var v = V()
    for j in 0..<k { v[j] = p[i + j] }
    return v
}

/// Stores the first k lanes of `v` at p[i...].
@inline(__always) func store<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ k: Int)
where V.Scalar == Float {
    if k == V.scalarCount {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
        return
    }
    for j in 0..<k { p[i + j] = v[j] }
}
