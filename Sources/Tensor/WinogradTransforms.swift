/// The linear maps of Winograd F(m×m, 3×3) (Lavin and Gray, 2016) for
/// m = 2 and m = 4, and the per-frame transforms built from them. Input tiles
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
    /// Bᵀ d: α values → α.
    static func input<V: SIMD>(_ value: (Int) -> V, _ result: (Int, V) -> Void) where V.Scalar == Float
    /// Aᵀ p: α → m.
    static func output<V: SIMD>(_ value: (Int) -> V, _ result: (Int, V) -> Void) where V.Scalar == Float
    /// A y: m → α (its transpose, for the weight gradient).
    static func outputGradient<V: SIMD>(_ value: (Int) -> V, _ result: (Int, V) -> Void) where V.Scalar == Float
    /// G (a, b, c): 3 → α.
    static func filter(_ a: Float, _ b: Float, _ c: Float, _ result: (Int, Float) -> Void)
    /// Gᵀ p: α → 3.
    static func filterTransposed(_ value: (Int) -> Float) -> (Float, Float, Float)
}

/// F(2×2, 3×3): interpolation at 0, ±1 and ∞.
enum WinogradF2: WinogradTransforms {
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

    @inline(__always) static func filter(_ a: Float, _ b: Float, _ c: Float, _ r: (Int, Float) -> Void) {
        r(0, a)
        r(1, 0.5 * (a + b + c))
        r(2, 0.5 * (a - b + c))
        r(3, c)
    }

    @inline(__always) static func filterTransposed(_ p: (Int) -> Float) -> (Float, Float, Float) {
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

    @inline(__always) static func filter(_ a: Float, _ b: Float, _ c: Float, _ r: (Int, Float) -> Void) {
        let ac = a + c
        let quarter = a / 24 + c / 6
        r(0, a / 4)
        r(1, -(ac + b) / 6)
        r(2, -(ac - b) / 6)
        r(3, quarter + b / 12)
        r(4, quarter - b / 12)
        r(5, c)
    }

    @inline(__always) static func filterTransposed(_ p: (Int) -> Float) -> (Float, Float, Float) {
        let (p0, p1, p2, p3, p4, p5) = (p(0), p(1), p(2), p(3), p(4), p(5))
        return (
            p0 / 4 - (p1 + p2) / 6 + (p3 + p4) / 24, (p2 - p1) / 6 + (p3 - p4) / 12, (p3 + p4 - p1 - p2) / 6 + p5
        )
    }
}

// MARK: Frame transforms (one frame of one channel), each specialised per tile size

/// Bᵀ d B for every tile of one input frame and channel (`frame`: H × W),
/// into V[ξ] at `dst + ξ · planeStride`, tiles in row-major order.
func transformInput(
    _ frame: UnsafePointer<Float>, _ layout: WinogradLayout, into dst: UnsafeMutablePointer<Float>,
    planeStride: Int, rows: UnsafeMutablePointer<Float>
) {
    switch layout.tile {
    case .f2: transformInput(WinogradF2.self, frame, layout, into: dst, planeStride: planeStride, rows: rows)
    case .f4: transformInput(WinogradF4.self, frame, layout, into: dst, planeStride: planeStride, rows: rows)
    }
}

/// Aᵀ p A for every tile of one output frame and channel (M[ξ] at
/// `m + ξ · planeStride`), written (or added) into `frame` (Ho × Wo).
func transformOutput(
    _ m: UnsafePointer<Float>, _ layout: WinogradLayout, planeStride: Int,
    into frame: UnsafeMutablePointer<Float>, accumulate: Bool, rows: UnsafeMutablePointer<Float>
) {
    switch layout.tile {
    case .f2:
        transformOutput(
            WinogradF2.self, m, layout, planeStride: planeStride, into: frame, accumulate: accumulate, rows: rows)
    case .f4:
        transformOutput(
            WinogradF4.self, m, layout, planeStride: planeStride, into: frame, accumulate: accumulate, rows: rows)
    }
}

/// A dy Aᵀ for every m×m tile of one output-gradient frame and channel
/// (`frame`: Ho × Wo; outside it, 0) into M[ξ] at `m + ξ · planeStride`.
func transformOutputGradient(
    _ frame: UnsafePointer<Float>, _ layout: WinogradLayout, into m: UnsafeMutablePointer<Float>,
    planeStride: Int, rows: UnsafeMutablePointer<Float>
) {
    switch layout.tile {
    case .f2: transformOutputGradient(WinogradF2.self, frame, layout, into: m, planeStride: planeStride, rows: rows)
    case .f4: transformOutputGradient(WinogradF4.self, frame, layout, into: m, planeStride: planeStride, rows: rows)
    }
}

/// Each padded input row is transformed along w once (d B: columns
/// m·tx … m·tx + α − 1 → α values per tile, through α phase rows so that the
/// lanes run over tiles) into a ring of α, since consecutive tile rows share
/// two input rows; Bᵀ then combines α such rows, contiguous over tiles.
private func transformInput<T: WinogradTransforms>(
    _: T.Type, _ frame: UnsafePointer<Float>, _ layout: WinogradLayout, into dst: UnsafeMutablePointer<Float>,
    planeStride: Int, rows: UnsafeMutablePointer<Float>
) {
    let g = layout.g
    let (m, alpha) = (layout.tile.m, layout.tile.alpha)
    let width = layout.rowWidth
    let tilesW = layout.tilesW
    let (H, W) = (g.input.h, g.input.w)
    let ph = g.padding.h
    let padded = rows
    let phases = rows + width  // α × tilesW: padded[m·tx + j] at j · tilesW + tx
    let ring = phases + alpha * tilesW  // slot s: α × tilesW values of padded row ≡ s (mod α)
    let slot = alpha * tilesW
    // The input columns that land inside a padded row: j − pw ∈ [0, W).
    let lo = g.padding.w
    let hi = min(width, W + lo)
    func transformRow(_ r: Int) {
        let h = r - ph
        let out = ring + (r % alpha) * slot
        if h < 0 || h >= H || lo >= hi {
            out.initialize(repeating: 0, count: slot)
            return
        }
        if lo > 0 { padded.initialize(repeating: 0, count: lo) }
        (padded + lo).update(from: frame + h * W, count: hi - lo)
        if hi < width { (padded + hi).initialize(repeating: 0, count: width - hi) }
        for tx in 0..<tilesW {
            for j in 0..<alpha { phases[j * tilesW + tx] = padded[m * tx + j] }
        }
        func along<V: SIMD>(_: V.Type, _ i: Int, _ k: Int) where V.Scalar == Float {
            T.input({ j -> V in load(phases + j * tilesW, i, k) }, { l, v in store(v, out + l * tilesW, i, k) })
        }
        forEachLanes(tilesW, { along(SIMD8<Float>.self, $0, $1) }, { along(SIMD4<Float>.self, $0, $1) })
    }
    for r in 0..<(alpha - m) { transformRow(r) }
    for ty in 0..<layout.tilesH {
        for r in (m * ty + alpha - m)..<(m * ty + alpha) { transformRow(r) }
        let first = m * ty
        let out = dst + ty * tilesW
        // Bᵀ (d B) down the α rows, for each of the α column values l.
        for l in 0..<alpha {
            let column = ring + l * tilesW
            func down<V: SIMD>(_: V.Type, _ i: Int, _ k: Int) where V.Scalar == Float {
                T.input(
                    { j -> V in load(column + ((first + j) % alpha) * slot, i, k) },
                    { r, v in store(v, out + (r * alpha + l) * planeStride, i, k) })
            }
            forEachLanes(tilesW, { down(SIMD8<Float>.self, $0, $1) }, { down(SIMD4<Float>.self, $0, $1) })
        }
    }
}

/// Per row of tiles, Aᵀ down the α rows of planes first (lanes over the
/// tiles), then A along w into the m output rows.
private func transformOutput<T: WinogradTransforms>(
    _: T.Type, _ p: UnsafePointer<Float>, _ layout: WinogradLayout, planeStride: Int,
    into frame: UnsafeMutablePointer<Float>, accumulate: Bool, rows: UnsafeMutablePointer<Float>
) {
    let o = layout.g.output
    let (m, alpha) = (layout.tile.m, layout.tile.alpha)
    let tilesW = layout.tilesW
    let s = rows  // m × α × tilesW: row r of Aᵀ p, column l, at (r · α + l) · tilesW
    let phases = rows + m * alpha * tilesW  // m × tilesW: output column m·tx + j at j · tilesW + tx
    for ty in 0..<layout.tilesH {
        let pt = p + ty * tilesW
        for l in 0..<alpha {
            func down<V: SIMD>(_: V.Type, _ i: Int, _ k: Int) where V.Scalar == Float {
                T.output(
                    { r -> V in load(pt + (r * alpha + l) * planeStride, i, k) },
                    { r, v in store(v, s + (r * alpha + l) * tilesW, i, k) })
            }
            forEachLanes(tilesW, { down(SIMD8<Float>.self, $0, $1) }, { down(SIMD4<Float>.self, $0, $1) })
        }
        for r in 0..<min(m, o.h - m * ty) {
            let sr = s + r * alpha * tilesW
            func along<V: SIMD>(_: V.Type, _ i: Int, _ k: Int) where V.Scalar == Float {
                T.output({ l -> V in load(sr + l * tilesW, i, k) }, { j, v in store(v, phases + j * tilesW, i, k) })
            }
            forEachLanes(tilesW, { along(SIMD8<Float>.self, $0, $1) }, { along(SIMD4<Float>.self, $0, $1) })
            let dst = frame + (m * ty + r) * o.w
            for j in 0..<min(m, o.w) {
                let phase = phases + j * tilesW
                var tx = 0
                if accumulate {
                    for x in stride(from: j, to: o.w, by: m) {
                        dst[x] += phase[tx]
                        tx += 1
                    }
                } else {
                    for x in stride(from: j, to: o.w, by: m) {
                        dst[x] = phase[tx]
                        tx += 1
                    }
                }
            }
        }
    }
}

/// Per row of tiles, the m dy rows are transformed along w (through m phase
/// rows) into α rows each, contiguous over the tiles, then down h into the
/// α² planes.
private func transformOutputGradient<T: WinogradTransforms>(
    _: T.Type, _ frame: UnsafePointer<Float>, _ layout: WinogradLayout, into p: UnsafeMutablePointer<Float>,
    planeStride: Int, rows: UnsafeMutablePointer<Float>
) {
    let o = layout.g.output
    let (m, alpha) = (layout.tile.m, layout.tile.alpha)
    let tilesW = layout.tilesW
    let width = m * tilesW
    let row = rows  // one dy row, 0 beyond Wo
    let phases = row + width  // m × tilesW: row[m·tx + j] at j · tilesW + tx
    let along = phases + width  // m × α × tilesW: dy row i along w, value l, at (i · α + l) · tilesW
    for ty in 0..<layout.tilesH {
        for i in 0..<m {
            let h = m * ty + i
            if h < o.h {
                row.update(from: frame + h * o.w, count: o.w)
                if o.w < width { (row + o.w).initialize(repeating: 0, count: width - o.w) }
            } else {
                row.initialize(repeating: 0, count: width)
            }
            for tx in 0..<tilesW {
                for j in 0..<m { phases[j * tilesW + tx] = row[m * tx + j] }
            }
            let out = along + i * alpha * tilesW
            func across<V: SIMD>(_: V.Type, _ x: Int, _ k: Int) where V.Scalar == Float {
                T.outputGradient(
                    { j -> V in load(phases + j * tilesW, x, k) }, { l, v in store(v, out + l * tilesW, x, k) })
            }
            forEachLanes(tilesW, { across(SIMD8<Float>.self, $0, $1) }, { across(SIMD4<Float>.self, $0, $1) })
        }
        let pt = p + ty * tilesW
        for l in 0..<alpha {
            func down<V: SIMD>(_: V.Type, _ x: Int, _ k: Int) where V.Scalar == Float {
                T.outputGradient(
                    { i -> V in load(along + (i * alpha + l) * tilesW, x, k) },
                    { r, v in store(v, pt + (r * alpha + l) * planeStride, x, k) })
            }
            forEachLanes(tilesW, { down(SIMD8<Float>.self, $0, $1) }, { down(SIMD4<Float>.self, $0, $1) })
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
