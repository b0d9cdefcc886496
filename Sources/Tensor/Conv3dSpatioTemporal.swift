/// 3×3×3 convolutions by Winograd along time and space: F(m, 3) along time
/// (the maps of Conv3dTemporalWinograd.swift) around the 1×3×3 path of
/// Conv3dWinograd.swift. Per temporal tap, F(m×m, 3×3) does 22 frame
/// products at 8 frames with "same" padding; here the input is transformed
/// along time into α = m + 2 volumes V[ζ] of ⌈To / m⌉ frames each, the
/// kernel into α 1×3×3 kernels U[ζ] = (G w)[ζ], and the convolution is α
/// convolutions M[ζ] = conv(V[ζ], U[ζ]) with a 1×3×3 kernel (each by
/// Winograd in space, stacked over the batch where a sample has few tiles),
/// mapped back by Aᵀ along time: 12 frame products at 8 frames with m = 4.
///
/// The backward pass runs the α convolutions' own backward passes on dM =
/// A dY (V and U made again from X and w), then dX = the adjoint of Bᵀ
/// (B, the overlapping tiles' frames summed) and dW = Gᵀ dU.
///
/// Both passes run the batch in chunks of samples (the α convolutions'
/// batch), so that V, dV and dM stay within a bound however large the batch.

extension Conv3dGeometry {
    /// The tile along time and the geometry of the α 1×3×3 convolutions,
    /// where a 3×3×3 convolution that runs by Winograd in space does at most
    /// 2/3 of the multiplies that way: frames large enough that the 1×3×3
    /// convolutions on ⌈To / m⌉ frames still take Winograd. Only under
    /// `WinogradPolicy.automatic`.
    ///
    /// Where the 1×3×3 convolutions have fewer than 128 tiles a sample
    /// (`winogradMinimumColumns(.portable)`, below which they stack the
    /// samples without brgemm), the path is taken only with ≥ 64 channels each side
    /// (`spatioTemporalSmallPlaneChannels`): the transforms along time cost
    /// memory passes in proportion to the channels, the products save in
    /// proportion to their product. Measured one layer at a time with
    /// tools/bench/bench_policies.py against `--winograd space`
    /// (BENCHMARKS.md, "Speed, round 3 … nineteenth part"), Zen 3, the three
    /// passes together:
    /// - left: kth3l's conv2 on ITSL's stage-t clips (32 input channels,
    ///   16 frames of 15×15, 64 tiles a sample), where the path took 1.36×
    ///   the time (the stage-t step 1.11× faster without it, paired);
    /// - taken: kth3l's conv2 at full size and on stage-s clips (320 and 128
    ///   tiles), about 1.1× faster; its conv3 on stage-s clips (64 and 128
    ///   channels, 16 tiles) 1.23×, on stage-t and full-size clips (8 and 40
    ///   tiles) as fast either way; r3d50's res2.conv2 at 4 × 8 × 112²
    ///   (64 channels, 98 tiles) 1.06×.
    ///
    /// The planes' batch is a chunk of the batch (`spatioTemporalChunk`):
    /// a divisor of it whose samples' input and output hold at most 8M
    /// floats (`spatioTemporalBudget`); V, dV and dM of a chunk are 1.5× them
    /// each in the backward pass. With 2 workers kth3l's conv2 (batch 16)
    /// runs in chunks of 4, and `eval`'s 30 views of 8 × 224² in chunks of
    /// 2 (R50's stages 2 and 3). The budget was
    /// measured on kth3l's step (BENCHMARKS.md, "Speed, round 3 …
    /// eighteenth part"): peak tensor memory 364 MB with 4M floats (the two
    /// convs did not gain), 385 MB with 8M, 435 MB with 16M, and 548 MB
    /// with whole batches, where the two convs ran no faster than in chunks
    /// of 8.
    var spatioTemporal: (tile: WinogradTile, planes: Conv3dGeometry)? {
        guard Self.winogradPolicy == .automatic, kernel.t == 3, dilation.t == 1, padding.t <= 2, output.t > 0,
            let spatial = winogradTile, let chunk = spatioTemporalChunk
        else { return nil }
        func products(_ tile: WinogradTile) -> Int { tile.alpha * ((output.t + tile.m - 1) / tile.m) }
        let tile: WinogradTile = products(.f4) < products(.f2) ? .f4 : .f2
        let planes = Conv3dGeometry(
            batch: chunk, inChannels: inChannels, outChannels: outChannels, groups: 1,
            input: ((output.t + tile.m - 1) / tile.m, input.h, input.w), kernel: (1, 3, 3), stride: (1, 1, 1),
            padding: (0, padding.h, padding.w), dilation: (1, 1, 1))
        guard let planar = planes.winogradTile,
            planes.winogradTilesPerSample(planar) >= Self.winogradMinimumColumns(.portable)
                || min(inChannels, outChannels) >= Self.spatioTemporalSmallPlaneChannels
        else { return nil }
        func perFrame(_ g: Conv3dGeometry, _ tile: WinogradTile) -> Int {
            let (h, w) = g.winogradTiles(tile)
            return tile.planes * h * w
        }
        let shifted = (0..<kernel.t).map { temporalTap($0) }.reduce(0) { $0 + $1.hi - $1.lo }
        let now = perFrame(self, spatial) * shifted
        let then = tile.alpha * planes.input.t * perFrame(planes, planar)
        return 3 * then <= 2 * now ? (tile, planes) : nil
    }

    /// The largest divisor of the batch within `spatioTemporalBudget`, a
    /// multiple of the workers where one fits (each worker then has as many
    /// of a chunk's samples); nil where one sample does not fit.
    var spatioTemporalChunk: Int? {
        guard batch > 0 else { return nil }
        let perSample = inChannels * inputVolume + outChannels * outputVolume
        let fits = (1...batch).filter { batch % $0 == 0 && $0 * perSample <= Self.spatioTemporalBudget }
        return fits.last { $0 % Parallel.workerCount == 0 } ?? fits.last
    }
}

/// The α 1×3×3 convolutions of a 3×3×3 one, and their buffers' sizes (for
/// a chunk of the batch).
struct SpatioTemporal {
    let g: Conv3dGeometry
    let tile: WinogradTile
    /// The 1×3×3 convolutions' geometry, whose batch is the chunk.
    let planes: Conv3dGeometry
    let layout: TemporalWinograd

    init(_ g: Conv3dGeometry, tile: WinogradTile, planes: Conv3dGeometry) {
        (self.g, self.tile, self.planes) = (g, tile, planes)
        layout = TemporalWinograd(g, tile: tile)
    }

    var alpha: Int { tile.alpha }
    /// Samples a chunk holds, and the first sample of each.
    var chunk: Int { planes.batch }
    var chunks: StrideTo<Int> { stride(from: 0, to: g.batch, by: chunk) }
    var vPlane: Int { chunk * g.inChannels * planes.inputVolume }
    var mPlane: Int { chunk * g.outChannels * planes.outputVolume }
    var uPlane: Int { g.outChannels * g.inChannels * 9 }
    var vTiles: TemporalTiles {
        TemporalTiles(plane: vPlane, sample: g.inChannels * planes.inputVolume, channel: planes.inputVolume)
    }
    var mTiles: TemporalTiles {
        TemporalTiles(plane: mPlane, sample: g.outChannels * planes.outputVolume, channel: planes.outputVolume)
    }

    /// U[ζ] = (G w)[ζ] along the taps, each an O × C × 1 × 3 × 3 kernel.
    func weights(_ w: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>, workers: Int) {
        func transform<T: WinogradTransforms>(_: T.Type) {
            Parallel.forEachRange(g.outChannels * g.inChannels, workers: workers) { _, kernels in
                for k in kernels {
                    let (base, out) = (w + k * 27, u + k * 9)
                    func lanes<V: SIMD>(_: V.Type, _ i: Int, _ n: Int) where V.Scalar == Float {
                        let taps: (V, V, V) = (load(base, i, n), load(base + 9, i, n), load(base + 18, i, n))
                        T.filter(taps.0, taps.1, taps.2) { zeta, v in store(v, out + zeta * uPlane, i, n) }
                    }
                    forEachLanes(9, { lanes(SIMD8<Float>.self, $0, $1) }, { lanes(SIMD4<Float>.self, $0, $1) })
                }
            }
        }
        switch tile {
        case .f2: transform(WinogradF2.self)
        case .f4: transform(WinogradF4.self)
        }
    }

    /// dW (= with `overwrite`, else +=) Gᵀ dU along the taps.
    func weightGradient(
        _ du: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>, overwrite: Bool, workers: Int
    ) {
        func transform<T: WinogradTransforms>(_: T.Type) {
            Parallel.forEachRange(g.outChannels * g.inChannels, workers: workers) { _, kernels in
                for k in kernels {
                    let (source, out) = (du + k * 9, dw + k * 27)
                    func lanes<V: SIMD>(_: V.Type, _ i: Int, _ n: Int) where V.Scalar == Float {
                        let taps: (V, V, V) = T.filterTransposed { zeta in load(source + zeta * uPlane, i, n) }
                        func put(_ tap: V, _ at: UnsafeMutablePointer<Float>) {
                            store(overwrite ? tap : load(at, i, n) + tap, at, i, n)
                        }
                        put(taps.0, out)  // no array literal: this runs O · C times
                        put(taps.1, out + 9)
                        put(taps.2, out + 18)
                    }
                    forEachLanes(9, { lanes(SIMD8<Float>.self, $0, $1) }, { lanes(SIMD4<Float>.self, $0, $1) })
                }
            }
        }
        switch tile {
        case .f2: transform(WinogradF2.self)
        case .f4: transform(WinogradF4.self)
        }
    }

    /// dX of the chunk from sample `first` (= where `fresh`, else +=) the
    /// adjoint of Bᵀ over dV: each tile's α frames B dV[·], summed where
    /// tiles overlap, frames outside the input dropped.
    func inputGradient(
        _ dv: UnsafePointer<Float>, first: Int, into dx: UnsafeMutablePointer<Float>, fresh: Bool, workers: Int
    ) {
        let (C, T, plane, m) = (g.inChannels, g.input.t, g.input.h * g.input.w, tile.m)
        func transform<W: WinogradTransforms>(_: W.Type) {
            // Bᵀ as a matrix: b[ζ · α + j], from the map of unit vectors.
            var b = [Float](repeating: 0, count: alpha * alpha)
            for j in 0..<alpha {
                let unit = { (i: Int) -> SIMD4<Float> in i == j ? SIMD4(repeating: 1) : SIMD4() }
                W.input(unit, { zeta, v in b[zeta * alpha + j] = v[0] })
            }
            Parallel.forEachRange(chunk * C, workers: workers) { _, rows in
                for r in rows {
                    let (s, c) = r.quotientAndRemainder(dividingBy: C)
                    let xs = dx + (first * C + r) * T * plane
                    if fresh { xs.initialize(repeating: 0, count: T * plane) }
                    for i in 0..<layout.tiles {
                        let start = i * m - g.padding.t
                        let source = dv + s * vTiles.sample + c * vTiles.channel + i * plane
                        func lanes<V: SIMD>(_: V.Type, _ p: Int, _ k: Int) where V.Scalar == Float {
                            for j in 0..<alpha where start + j >= 0 && start + j < T {
                                var sum = V()
                                for zeta in 0..<alpha where b[zeta * alpha + j] != 0 {
                                    sum += b[zeta * alpha + j] * (load(source + zeta * vTiles.plane, p, k) as V)
                                }
                                let out = xs + (start + j) * plane
                                store(load(out, p, k) + sum, out, p, k)
                            }
                        }
                        forEachLanes(plane, { lanes(SIMD8<Float>.self, $0, $1) }, { lanes(SIMD4<Float>.self, $0, $1) })
                    }
                }
            }
        }
        switch tile {
        case .f2: transform(WinogradF2.self)
        case .f4: transform(WinogradF4.self)
        }
    }
}

/// A 3×3×3 convolution's way by Winograd along time and space: its α
/// convolutions and their path, fixed in the forward pass (a class: a
/// `ConvPath` holds it).
final class SpatioTemporalPath {
    let convolutions: SpatioTemporal
    let path: ConvPath
    init(_ g: Conv3dGeometry, tile: WinogradTile, planes: Conv3dGeometry) {
        convolutions = SpatioTemporal(g, tile: tile, planes: planes)
        path = ConvPath(planes)
    }
}

/// Y = conv(X, w) (or Y += with `accumulate`), `epilogue` mapping each
/// output channel of a sample once written: U along time, then chunk by
/// chunk V along time, the α convolutions and Aᵀ along time.
func spatioTemporalForward(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ way: SpatioTemporalPath,
    accumulate: Bool, epilogue: ChannelAffine?
) {
    let st = way.convolutions
    let workers = way.path.workers
    let u = Storage(count: st.alpha * st.uPlane, zeroed: false)
    let v = Storage(count: st.alpha * st.vPlane, zeroed: false)
    let m = Storage(count: st.alpha * st.mPlane, zeroed: false)
    st.weights(w, into: u.pointer, workers: workers)
    for first in st.chunks {
        transformTemporalInput(
            x, st.layout, first: first, count: st.chunk, into: v.pointer, at: st.vTiles, workers: workers)
        for zeta in 0..<st.alpha {
            convolve(
                v.pointer + zeta * st.vPlane, u.pointer + zeta * st.uPlane, m.pointer + zeta * st.mPlane, st.planes,
                way.path, accumulate: false, epilogue: nil)
        }
        transformTemporalOutput(
            m.pointer, at: st.mTiles, st.layout, first: first, count: st.chunk, into: y, accumulate: accumulate,
            epilogue: epilogue, workers: workers)
    }
}

/// dX (written where fresh, else added into) and dW (written with
/// `overwrite`, else added into): chunk by chunk dM = A dY, the α
/// convolutions' backward passes on V and U made again (dU summed over the
/// chunks) and B's adjoint; then Gᵀ along time.
func spatioTemporalBackward(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
    dx: (pointer: UnsafeMutablePointer<Float>, fresh: Bool)?, dw: UnsafeMutablePointer<Float>?, overwrite: Bool,
    _ way: SpatioTemporalPath
) {
    let st = way.convolutions
    let workers = way.path.workers
    let u = Storage(count: st.alpha * st.uPlane, zeroed: false)
    let v = dw.map { _ in Storage(count: st.alpha * st.vPlane, zeroed: false) }  // dW's input only
    let dm = Storage(count: st.alpha * st.mPlane, zeroed: false)
    let dv = dx.map { _ in Storage(count: st.alpha * st.vPlane, zeroed: false) }
    let du = dw.map { _ in Storage(count: st.alpha * st.uPlane, zeroed: false) }
    st.weights(w, into: u.pointer, workers: workers)
    for first in st.chunks {
        if let v {
            transformTemporalInput(
                x, st.layout, first: first, count: st.chunk, into: v.pointer, at: st.vTiles, workers: workers)
        }
        transformTemporalGradient(
            dy, st.layout, first: first, count: st.chunk, into: dm.pointer, at: st.mTiles, workers: workers)
        for zeta in 0..<st.alpha {
            // Without dW, generalBackward reads no input: any pointer will do.
            generalBackward(
                (v ?? u).pointer + (v == nil ? 0 : zeta * st.vPlane), u.pointer + zeta * st.uPlane,
                dm.pointer + zeta * st.mPlane,
                dx: dv.map { ($0.pointer + zeta * st.vPlane, true) },
                partial: du.map { [$0.pointer + zeta * st.uPlane] } ?? [],
                overwritesWeightGradient: first == 0, st.planes, winograd: way.path.winograd, way.path)
        }
        if let dx, let dv {
            st.inputGradient(dv.pointer, first: first, into: dx.pointer, fresh: dx.fresh, workers: workers)
        }
    }
    if let dw, let du { st.weightGradient(du.pointer, into: dw, overwrite: overwrite, workers: workers) }
}
