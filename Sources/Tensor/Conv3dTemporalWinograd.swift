/// Winograd F(m, 3) along time (m = 2 or 4, the one-dimensional maps of
/// WinogradTransforms.swift) for 3×1×1 convolutions: R(2+1)D's temporal
/// convs. Frame shifts (Conv3dTemporal.swift) run one GEMM per tap over the
/// frames it reaches: 22 frame products at 8 frames with "same" padding.
/// Here an m-frame output tile costs α = m + 2 of them: 12 at 8 frames with
/// m = 4, 6 instead of 10 at 4 frames.
///
/// The input is transformed along time into α planes V[ξ] (C × columns),
/// one GEMM per plane M[ξ] = U[ξ] · V[ξ] (O × C times C × columns) sums over
/// the input channels, and M is transformed back to m frames. A column is
/// one pixel of one tile of one sample, and the samples of a stack sit side
/// by side in every row: the GEMMs stay wide on small frames (R50's stage 5
/// at 112: 16 pixels a frame), and OpenBLAS packs U[ξ] once a stack instead
/// of once a sample and tap.
///
///     y = Aᵀ [(G w) ⊙ (Bᵀ d)],   d: the α input frames of a tile
///
/// dX is the same convolution of dY with the kernel flipped in time and
/// transposed (`temporalTransposed`); dW runs the maps transposed, dU[ξ] =
/// (A dY)[ξ] · V[ξ]ᵀ, then dW = Gᵀ dU. The naive 7-loop convolution is the
/// twin of all three in the tests, and frame shifts run under
/// `WinogradPolicy.never` and `.space`.

extension Conv3dGeometry {
    /// The tile of a kt×1×1 convolution by Winograd along time, or nil:
    /// kernel 3, dilation 1, padding ≤ 2, at most 3/4 of the frame products
    /// of frame shifts, and ≥ 128 channels each side. The transforms write
    /// and read V and M, 1.5× the input and the output at m = 4: with R50's
    /// 64 channels of stage 2 that costs what the products save (0.90–0.97×
    /// per pass), with 128–512 the layers ran 1.04–1.5× faster
    /// (BENCHMARKS.md, "Speed, round 3 … seventeenth part"). F(4) where it
    /// does fewer products than F(2) (under `automatic`).
    var temporalWinogradTile: WinogradTile? {
        guard
            Self.winogradPolicy != .never && Self.winogradPolicy != .space && isTemporalOnly && kernel.t == 3
                && dilation.t == 1 && padding.t <= 2
                && output.t > 0 && inChannels >= 128 && outChannels >= 128
        else { return nil }
        let shifted = (0..<kernel.t).map { temporalTap($0) }.reduce(0) { $0 + $1.hi - $1.lo }
        func products(_ tile: WinogradTile) -> Int { tile.alpha * ((output.t + tile.m - 1) / tile.m) }
        let tile: WinogradTile = Self.winogradPolicy == .automatic && products(.f4) < products(.f2) ? .f4 : .f2
        return 4 * products(tile) <= 3 * shifted ? tile : nil
    }

    /// The kt×1×1 convolution that maps dY to dX: channels swapped, the
    /// kernel flipped in time (by the weight transform), padding kt − 1 − p.
    var temporalTransposed: Conv3dGeometry {
        Conv3dGeometry(
            batch: batch, inChannels: outChannels, outChannels: inChannels, groups: 1, input: output, kernel: kernel,
            stride: (1, 1, 1), padding: (kernel.t - 1 - padding.t, 0, 0), dilation: (1, 1, 1))
    }
}

/// Where the transformed tiles of V (or M) sit: tile i of sample s and
/// channel c in plane ξ starts at ξ · plane + s · sample + c · channel +
/// i · (the frame's pixels), each tile's pixels in a row.
struct TemporalTiles {
    let plane: Int, sample: Int, channel: Int
}

/// Sizes of one temporal Winograd convolution: U, and V and M for a stack.
struct TemporalWinograd {
    let g: Conv3dGeometry
    let tile: WinogradTile
    /// Output tiles of a sample along time (the last may overhang).
    let tiles: Int
    /// Samples a stack holds at most: V and M within `budget` floats.
    let samples: Int

    init(_ g: Conv3dGeometry, tile: WinogradTile, budget: Int = 4 << 20) {
        self.g = g
        self.tile = tile
        tiles = (g.output.t + tile.m - 1) / tile.m
        let perSample = tile.alpha * (g.inChannels + g.outChannels) * tiles * g.input.h * g.input.w
        samples = max(1, min(g.batch, budget / max(1, perSample)))
    }

    var alpha: Int { tile.alpha }
    /// Pixels of a frame (of the input and of the output: the same for a
    /// 3×1×1 conv; the transforms take each side's own for 3×3×3 ones).
    var plane: Int { g.input.h * g.input.w }
    /// Where V's or M's tiles sit in a stack of `count` samples with
    /// `channels` rows each: rows count · width long, a sample's tiles
    /// `width` apart, planes `channels` rows apart.
    func stacked(_ count: Int, channels: Int) -> TemporalTiles {
        TemporalTiles(plane: channels * count * width, sample: width, channel: count * width)
    }
    /// Columns of one sample in V[ξ] and M[ξ]: its tiles' pixels.
    var width: Int { tiles * plane }
    /// Floats of U: α planes of O × C (for dX, whose geometry has the
    /// channels swapped, the original's O × C, read transposed).
    var uCount: Int { alpha * g.outChannels * g.inChannels }
    /// Floats of V and M for a full stack.
    var bufferCount: Int { alpha * (g.inChannels + g.outChannels) * samples * width }

    /// For every stack [first, first + count) of the batch, in order:
    /// `body(first, count, v, m)` with room for V (α × C × count · width)
    /// and M (α × O × count · width) of its samples.
    func forEachStack(
        _ body: (_ first: Int, _ count: Int, _ v: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>) ->
            Void
    ) {
        let buffers = Storage(count: bufferCount, zeroed: false)
        for first in stride(from: 0, to: g.batch, by: samples) {
            let count = min(samples, g.batch - first)
            let v = buffers.pointer
            body(first, count, v, v + alpha * g.inChannels * count * width)
        }
        withExtendedLifetime(buffers) {}
    }

    /// Runs `body(ξ, part)` for every plane ξ and every part of 0..<`extent`
    /// (the GEMM's columns or rows), split over `workers`: the planes, and
    /// where there are more workers than planes, each plane's extent in as
    /// many parts as it takes for every worker to have one.
    func forEachProduct(workers: Int, splitting extent: Int, _ body: (_ xi: Int, _ part: Range<Int>) -> Void) {
        let parts = max(1, min(extent, (workers + alpha - 1) / alpha))
        Parallel.forEachRange(alpha * parts, workers: workers) { _, items in
            for item in items {
                let (xi, part) = item.quotientAndRemainder(dividingBy: parts)
                body(xi, (extent * part / parts)..<(extent * (part + 1) / parts))
            }
        }
    }

    /// Runs `body(s, c, i)` for every sample s of a stack of `count`, channel
    /// c of `channels` and tile i, the (sample, channel) pairs split over
    /// `workers`: the transforms' loop.
    func forEachTile(
        samples count: Int, channels: Int, workers: Int, _ body: (_ s: Int, _ c: Int, _ i: Int) -> Void
    ) {
        Parallel.forEachRange(count * channels, workers: workers) { _, rows in
            for r in rows {
                let (s, c) = r.quotientAndRemainder(dividingBy: channels)
                for i in 0..<tiles { body(s, c, i) }
            }
        }
    }
}

/// U[ξ][o][c] = (G w[o][c][0…2])[ξ], or with `flipped` (G w[o][c][2…0])[ξ]:
/// dX's kernel, transposed by its GEMMs. `w` is O × C × 3 with O =
/// `outChannels`. Per output channel, its kernels are split into three rows
/// over the input channels, then transformed with lanes over them, so that
/// each plane's row is written 8 floats at a time; the output channels are
/// split over `workers`.
func temporalWinogradWeights(
    _ w: UnsafePointer<Float>, outChannels O: Int, inChannels C: Int, tile: WinogradTile, flipped: Bool,
    into u: UnsafeMutablePointer<Float>, workers: Int
) {
    func transform<T: WinogradTransforms>(_: T.Type) {
        Parallel.forEachRange(O, workers: workers) { _, outputs in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * C) { buffer in
                let k = buffer.baseAddress!  // k[a][c]: tap a of every input channel
                for o in outputs {
                    let kernels = w + o * C * 3
                    for c in 0..<C {
                        for a in 0..<3 { k[(flipped ? 2 - a : a) * C + c] = kernels[3 * c + a] }
                    }
                    func lanes<V: SIMD>(_: V.Type, _ c: Int, _ n: Int) where V.Scalar == Float {
                        let taps: (V, V, V) = (load(k, c, n), load(k + C, c, n), load(k + 2 * C, c, n))
                        T.filter(taps.0, taps.1, taps.2) { xi, v in
                            store(v, u + (xi * O + o) * C, c, n)
                        }
                    }
                    forEachLanes(C, { lanes(SIMD8<Float>.self, $0, $1) }, { lanes(SIMD4<Float>.self, $0, $1) })
                }
            }
        }
    }
    switch tile {
    case .f2: transform(WinogradF2.self)
    case .f4: transform(WinogradF4.self)
    }
}

/// Y = conv(X, w) (or Y += with `accumulate`) for the whole batch, stack by
/// stack, from U of `temporalWinogradWeights`; for dX: dY, U of the flipped
/// kernel, `transposedWeights` and `temporalTransposed`. `epilogue` maps
/// each output channel of a sample once it is written.
func temporalWinogradForward(
    _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ layout: TemporalWinograd,
    transposedWeights: Bool = false, accumulate: Bool, epilogue: ChannelAffine? = nil, workers: Int
) {
    let g = layout.g
    let (C, O, width) = (g.inChannels, g.outChannels, layout.width)
    layout.forEachStack { first, count, v, m in
        let row = count * width
        transformTemporalInput(
            x, layout, first: first, count: count, into: v, at: layout.stacked(count, channels: C), workers: workers)
        layout.forEachProduct(workers: workers, splitting: row) { xi, columns in
            sgemm(
                transA: transposedWeights, m: O, n: columns.count, k: C, a: u + xi * O * C,
                lda: transposedWeights ? O : C, b: v + xi * C * row + columns.lowerBound, ldb: row, beta: 0,
                c: m + xi * O * row + columns.lowerBound, ldc: row)
        }
        transformTemporalOutput(
            m, at: layout.stacked(count, channels: O), layout, first: first, count: count, into: y,
            accumulate: accumulate, epilogue: epilogue, workers: workers)
    }
}

/// dW for the whole batch, written over `dw` with `overwrite`, else added
/// into: per stack V of X and the transformed dY (A dY), dU[ξ] (+)= M[ξ] ·
/// V[ξ]ᵀ with the planes split over the workers, then dW = Gᵀ dU.
func temporalWinogradBackwardWeight(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
    _ layout: TemporalWinograd, overwrite: Bool, workers: Int
) {
    let g = layout.g
    let (C, O, width) = (g.inChannels, g.outChannels, layout.width)
    guard g.batch > 0 else {  // no products: dW is zero, or as it was
        if overwrite { dw.initialize(repeating: 0, count: O * C * g.kernel.t) }
        return
    }
    let du = Storage(count: layout.uCount, zeroed: false)
    layout.forEachStack { first, count, v, m in
        let row = count * width
        transformTemporalInput(
            x, layout, first: first, count: count, into: v, at: layout.stacked(count, channels: C), workers: workers)
        transformTemporalGradient(
            dy, layout, first: first, count: count, into: m, at: layout.stacked(count, channels: O), workers: workers)
        layout.forEachProduct(workers: workers, splitting: O) { xi, rows in
            sgemm(
                transB: true, m: rows.count, n: C, k: row, a: m + xi * O * row + rows.lowerBound * row, lda: row,
                b: v + xi * C * row, ldb: row, beta: first == 0 ? 0 : 1, c: du.pointer + (xi * O + rows.lowerBound) * C,
                ldc: C)
        }
    }
    switch layout.tile {
    case .f2:
        temporalWeightGradient(WinogradF2.self, du.pointer, layout, into: dw, overwrite: overwrite, workers: workers)
    case .f4:
        temporalWeightGradient(WinogradF4.self, du.pointer, layout, into: dw, overwrite: overwrite, workers: workers)
    }
}

/// V[ξ] of samples [first, first + count), tiles placed `at`, tile i's
/// pixels from i · plane on; frames outside the input (padding, the last
/// tile's overhang) are 0.
func transformTemporalInput(
    _ x: UnsafePointer<Float>, _ layout: TemporalWinograd, first: Int, count: Int, into v: UnsafeMutablePointer<Float>,
    at place: TemporalTiles, workers: Int
) {
    let g = layout.g
    let (C, T, plane, m) = (g.inChannels, g.input.t, g.input.h * g.input.w, layout.tile.m)
    func transform<W: WinogradTransforms>(_: W.Type) {
        layout.forEachTile(samples: count, channels: C, workers: workers) { s, c, i in
            let xs = x + ((first + s) * C + c) * T * plane
            let start = i * m - g.padding.t
            let out = v + s * place.sample + c * place.channel + i * plane
            func lanes<V: SIMD>(_: V.Type, _ p: Int, _ k: Int) where V.Scalar == Float {
                W.input({ j -> V in
                    let f = start + j
                    return f >= 0 && f < T ? load(xs + f * plane, p, k) : V()
                }) { xi, value in store(value, out + xi * place.plane, p, k) }
            }
            forEachLanes(plane, { lanes(SIMD8<Float>.self, $0, $1) }, { lanes(SIMD4<Float>.self, $0, $1) })
        }
    }
    switch layout.tile {
    case .f2: transform(WinogradF2.self)
    case .f4: transform(WinogradF4.self)
    }
}

/// Y (= or += with `accumulate`) of samples [first, first + count) from M
/// (tiles placed `at`, frames of the output's size): Aᵀ over each tile's α
/// planes, the overhanging frames dropped; then `epilogue` over each output
/// channel of a sample.
func transformTemporalOutput(
    _ mp: UnsafePointer<Float>, at place: TemporalTiles, _ layout: TemporalWinograd, first: Int, count: Int,
    into y: UnsafeMutablePointer<Float>, accumulate: Bool, epilogue: ChannelAffine?, workers: Int
) {
    let g = layout.g
    let (O, To, plane) = (g.outChannels, g.output.t, g.output.h * g.output.w)
    func transform<W: WinogradTransforms>(_: W.Type) {
        layout.forEachTile(samples: count, channels: O, workers: workers) { s, o, i in
            let ys = y + ((first + s) * O + o) * To * plane
            let source = mp + s * place.sample + o * place.channel + i * plane
            func lanes<V: SIMD>(_: V.Type, _ p: Int, _ k: Int) where V.Scalar == Float {
                W.output({ xi -> V in load(source + xi * place.plane, p, k) }) { j, value in
                    let f = i * W.m + j
                    guard f < To else { return }
                    let out = ys + f * plane
                    store(accumulate ? load(out, p, k) + value : value, out, p, k)
                }
            }
            forEachLanes(plane, { lanes(SIMD8<Float>.self, $0, $1) }, { lanes(SIMD4<Float>.self, $0, $1) })
            if i == layout.tiles - 1 { epilogue?.apply(ys, count: To * plane, channel: o) }
        }
    }
    switch layout.tile {
    case .f2: transform(WinogradF2.self)
    case .f4: transform(WinogradF4.self)
    }
}

/// M[ξ] = (A dY)[ξ] of samples [first, first + count), tiles placed `at`
/// (frames of the output's size); output frames past the last (the
/// overhang) are 0.
func transformTemporalGradient(
    _ dy: UnsafePointer<Float>, _ layout: TemporalWinograd, first: Int, count: Int,
    into mp: UnsafeMutablePointer<Float>, at place: TemporalTiles, workers: Int
) {
    let g = layout.g
    let (O, To, plane) = (g.outChannels, g.output.t, g.output.h * g.output.w)
    func transform<W: WinogradTransforms>(_: W.Type) {
        layout.forEachTile(samples: count, channels: O, workers: workers) { s, o, i in
            let dys = dy + ((first + s) * O + o) * To * plane
            let out = mp + s * place.sample + o * place.channel + i * plane
            func lanes<V: SIMD>(_: V.Type, _ p: Int, _ k: Int) where V.Scalar == Float {
                W.outputGradient({ j -> V in
                    let f = i * W.m + j
                    return f < To ? load(dys + f * plane, p, k) : V()
                }) { xi, value in store(value, out + xi * place.plane, p, k) }
            }
            forEachLanes(plane, { lanes(SIMD8<Float>.self, $0, $1) }, { lanes(SIMD4<Float>.self, $0, $1) })
        }
    }
    switch layout.tile {
    case .f2: transform(WinogradF2.self)
    case .f4: transform(WinogradF4.self)
    }
}

/// dW[o][c][a] (= or +=) (Gᵀ dU[·][o][c])[a], lanes over the input channels.
private func temporalWeightGradient<W: WinogradTransforms>(
    _: W.Type, _ du: UnsafePointer<Float>, _ layout: TemporalWinograd, into dw: UnsafeMutablePointer<Float>,
    overwrite: Bool, workers: Int
) {
    let (C, O) = (layout.g.inChannels, layout.g.outChannels)
    Parallel.forEachRange(O, workers: workers) { _, outputs in
        for o in outputs {
            for c0 in stride(from: 0, to: C, by: 4) {
                let lanes = min(4, C - c0)
                let taps: (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) = W.filterTransposed { xi in
                    load(du + (xi * O + o) * C, c0, lanes)
                }
                for j in 0..<lanes {
                    let out = dw + (o * C + c0 + j) * 3
                    let (t0, t1, t2) = (taps.0[j], taps.1[j], taps.2[j])
                    if overwrite {
                        (out[0], out[1], out[2]) = (t0, t1, t2)
                    } else {
                        (out[0], out[1], out[2]) = (out[0] + t0, out[1] + t1, out[2] + t2)
                    }
                }
            }
        }
    }
}
