import CKernels  // its x86-64 kernels are declared on x86-64 only

/// Winograd's weight gradient (the forward's linear maps transposed, see
/// Conv3dWinograd.swift): dU[ξ] = Σ (A dy Aᵀ)[ξ] · V[ξ]ᵀ over a worker's
/// samples, or over the batch with dU's planes split over the workers; then
/// dW = Gᵀ dU G once.

/// dU's `planes` (of `weightCount` floats; those planes overwritten) for
/// `samples`, the transpose of the forward's linear maps: dU[ξ] = Σ over
/// output frames and tiles of (A dy Aᵀ)[ξ] · V[ξ]ᵀ. The transforms always
/// make every plane. `winogradWeightGradient` then makes dW = Gᵀ dU G,
/// once for the dU of all workers.
func winogradBackwardWeight(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, du: UnsafeMutablePointer<Float>,
    _ layout: WinogradLayout, samples: Range<Int>, planes: Range<Int>? = nil, scratch: UnsafeMutablePointer<Float>
) {
    let g = layout.g
    let (C, O, tiles, depth) = (g.inChannels, g.outChannels, layout.tiles, layout.depth)
    let (v, m, blocks) = layout.parts(scratch)
    let (vPlane, mPlane, vRow, mRow) = (layout.vPlane, layout.mPlane, layout.vRow, layout.mRow)
    let planes = planes ?? 0..<layout.planes
    (du + planes.lowerBound * O * depth).initialize(repeating: 0, count: planes.count * O * depth)
    for n in samples {
        let dys = dy + n * O * g.outputVolume
        forEachGroup(x + n * C * g.inputVolume, layout, v: v, blocks: blocks) { local, first, frames in
            transformGradientFrames(dys, layout, first: first, frames: frames, into: m, blocks: blocks)
            // dU[ξ][a] += M[ξ] (O × frames · tiles) · V[ξ] at frames local + a …ᵀ.
            for xi in planes {
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

/// M of one sample's output-gradient frames [first, first + frames) (every
/// output channel's, `rowStride` floats apart, planes `planeStride` apart;
/// by default the layout's `mRow` and `mPlane`).
func transformGradientFrames(
    _ dys: UnsafePointer<Float>, _ layout: WinogradLayout, first: Int, frames: Int, into m: UnsafeMutablePointer<Float>,
    rowStride: Int? = nil, planeStride: Int? = nil, blocks: UnsafeMutablePointer<Float>
) {
    let o = layout.g.output
    let (rowStride, planeStride) = (rowStride ?? layout.mRow, planeStride ?? layout.mPlane)
    for oc in 0..<layout.g.outChannels {
        transformOutputGradient(
            dys + (oc * o.t + first) * o.h * o.w, frames: frames, layout, into: m + oc * rowStride,
            planeStride: planeStride, scratch: blocks)
    }
}

extension WinogradLayout {
    /// Whether every output frame of a sample is one chunk and one GEMM
    /// group: V and M of a whole sample at once.
    var isOneGroup: Bool { frames == g.output.t && group == frames }
}

/// All of dU for the batch, where `splitsPlanes` and `isOneGroup` hold (R50's
/// stages 4 and 5): V and M of every sample first, the samples split over
/// the workers; then dU's planes split over them, each block dU[ξ][a] (O ×
/// C floats, 1 MB at stage 5) summed over the samples one after another,
/// so that it stays in L2 between them. Sample by sample (each worker
/// transforming every sample, then adding it to all its planes), each block
/// left the caches between one sample and the next: dU is 50 MB at stage 5.
func winogradBackwardWeightByPlane(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, du: UnsafeMutablePointer<Float>,
    _ layout: WinogradLayout, workers: Int
) {
    precondition(layout.isOneGroup, "winogradBackwardWeightByPlane: a sample's frames are not one group")
    let g = layout.g
    let o = g.output
    let (C, O, depth) = (g.inChannels, g.outChannels, layout.depth)
    let (vCount, mCount) = (layout.vCount, layout.planes * layout.mPlane)
    let transforms = Storage(count: g.batch * (vCount + mCount), zeroed: false)
    let (v, m) = (transforms.pointer, transforms.pointer + g.batch * vCount)
    let scratch = Scratch()
    let blocksCount = layout.planes * layout.blockLanes
    for worker in 0..<workers { _ = scratch.buffer(worker, count: blocksCount) }
    Parallel.forEachRange(g.batch, workers: workers) { worker, samples in
        let blocks = scratch.buffer(worker, count: blocksCount)
        for n in samples {
            transformChunk(
                x + n * C * g.inputVolume, layout, first: 0, frames: o.t, into: v + n * vCount, blocks: blocks)
            transformGradientFrames(
                dy + n * O * g.outputVolume, layout, first: 0, frames: o.t, into: m + n * mCount, blocks: blocks)
        }
    }
    // dU[ξ][a] = Σ over samples of M[ξ] (O × frames · tiles) · V[ξ] at frames a …ᵀ.
    Parallel.forEachRange(layout.planes, workers: workers) { _, planes in
        for xi in planes {
            for a in 0..<g.kernel.t {
                for n in 0..<g.batch {
                    sgemm(
                        transB: true, m: O, n: C, k: o.t * layout.tiles, a: m + n * mCount + xi * layout.mPlane,
                        lda: layout.mRow, b: v + n * vCount + xi * layout.vPlane + a * layout.tiles, ldb: layout.vRow,
                        beta: n == 0 ? 0 : 1, c: du + xi * O * depth + a * C, ldc: depth)
                }
            }
        }
    }
}

/// dW += Gᵀ dU[ξ][o][a·C + c] G for every (output channel, input channel,
/// tap), or dW = it with `overwrite` (dW's floats need no values then): the
/// weight gradient from `winogradBackwardWeight`'s dU, output channels split
/// over `workers` threads. By the C kernel of the layout's level
/// (ck_winograd_weight_gradient), or at `.portable` by the Swift loops
/// below, its twin (the same operations in the same order).
func winogradWeightGradient(
    _ du: UnsafePointer<Float>, _ layout: WinogradLayout, into dw: UnsafeMutablePointer<Float>,
    overwrite: Bool = false, workers: Int = 1
) {
    #if arch(x86_64)
        if layout.level != .portable {
            let kernel = layout.level == .avx512 ? ck_winograd_weight_gradient_avx512 : ck_winograd_weight_gradient_avx2
            let g = layout.g
            Parallel.forEachRange(g.outChannels, workers: workers) { _, outputs in
                kernel(
                    Int32(layout.tile.m), du, Int64(g.outChannels * layout.depth), Int64(layout.depth),
                    Int64(g.inChannels), Int64(g.kernel.t), Int64(outputs.lowerBound), Int64(outputs.upperBound), dw,
                    overwrite ? 1 : 0)
            }
            return
        }
    #endif
    switch layout.tile {
    case .f2: winogradWeightGradient(WinogradF2.self, du, layout, into: dw, overwrite: overwrite, workers: workers)
    case .f4: winogradWeightGradient(WinogradF4.self, du, layout, into: dw, overwrite: overwrite, workers: workers)
    }
}

/// Per output channel and tap, lanes over the input channels: dU is read 8
/// floats at a time from each plane, and the nine sums of each channel are
/// added into its 3 × 3 kernel (written, with `overwrite`).
private func winogradWeightGradient<T: WinogradTransforms>(
    _: T.Type, _ du: UnsafePointer<Float>, _ layout: WinogradLayout, into dw: UnsafeMutablePointer<Float>,
    overwrite: Bool, workers: Int
) {
    let g = layout.g
    let kt = g.kernel.t
    let C = g.inChannels
    let O = g.outChannels
    let alpha = layout.tile.alpha
    let depth = layout.depth
    let plane = O * depth
    Parallel.forEachRange(O, workers: workers) { _, outputs in
        // The nine results of 8 channels.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * 8) { buffer in
            let results = buffer.baseAddress!
            for o in outputs {
                for a in 0..<kt {
                    let p = du + o * depth + a * C
                    func transform<V: SIMD>(_: V.Type, _ c: Int, _ lanes: Int) where V.Scalar == Float {
                        withUnsafeTemporaryAllocation(of: V.self, capacity: 3 * alpha) { h in  // dU G: α × 3
                            for i in 0..<alpha {
                                (h[3 * i], h[3 * i + 1], h[3 * i + 2]) = T.filterTransposed { j -> V in
                                    load(p + (i * alpha + j) * plane, c, lanes)
                                }
                            }
                            // Gᵀ (dU G), column by column: results[(row · 3 + column) · 8 + lane].
                            for column in 0..<3 {
                                let (r0, r1, r2) = T.filterTransposed { i in h[3 * i + column] }
                                store(r0, results + column * 8, 0, lanes)
                                store(r1, results + (3 + column) * 8, 0, lanes)
                                store(r2, results + (6 + column) * 8, 0, lanes)
                            }
                        }
                        for lane in 0..<lanes {
                            let out = dw + ((o * C + c + lane) * kt + a) * 9
                            for e in 0..<9 {
                                out[e] = overwrite ? results[e * 8 + lane] : out[e] + results[e * 8 + lane]
                            }
                        }
                    }
                    forEachLanes(C, { transform(SIMD8<Float>.self, $0, $1) }, { transform(SIMD4<Float>.self, $0, $1) })
                }
            }
        }
    }
}
