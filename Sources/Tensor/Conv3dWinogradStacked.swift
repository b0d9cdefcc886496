/// Winograd over several samples at once, where a sample has too few tiles
/// for GEMMs of its own: R50's stage 5 (32 2×2 tiles a sample at 4 ×
/// 3×8×112×112, 64 at 2 × 3×4×224×224). Sample by sample, each of
/// OpenBLAS's GEMMs there packs U[ξ] (O × C) for 32 or 64 columns, and
/// without brgemm those layers went through columns instead. Here the
/// samples of a stack are transformed side by side, V[ξ] and M[ξ] holding
/// them one after another in every row, so that one GEMM per plane and tap
/// covers the whole stack, with the planes split over the workers: in the
/// forward pass and dX one brgemm call per plane where brgemm runs (under
/// `WinogradStacking.always`), in dW always OpenBLAS's.
///
/// In a stack of S samples, V[ξ] is C × (S · width) and M[ξ] O × (S · width),
/// with `width` = (To + kt − 1) · tiles: a sample's columns are its input
/// frames' tiles. Tap a's GEMM runs over the first S · width − (kt − 1) · tiles
/// columns of M, reading V a · tiles columns on: column j of sample s, frame
/// f < To, reads that sample's frame f + a. The (kt − 1) · tiles columns past
/// a sample's output frames mix two samples; the output transform never reads
/// them, and the weight gradient zeroes them in M first.
struct WinogradStack {
    let layout: WinogradLayout
    /// Samples a stack holds at most: about `columns` GEMM columns.
    let samples: Int

    /// A stack for `layout`, or nil where its samples take GEMMs of their own
    /// (see `takes`, under the layout's `stacking`).
    init?(_ layout: WinogradLayout, columns: Int = 256) {
        let perSample = layout.g.output.t * layout.tiles
        guard
            Self.takes(
                layout.g, tilesPerSample: perSample, brgemm: layout.packing != nil, stacking: layout.stacking)
        else { return nil }
        self.layout = layout
        samples = min(layout.g.batch, max(1, columns / perSample))
    }

    /// Whether the samples of `g`, with `tilesPerSample` tiles each, share
    /// Winograd's GEMMs: more than one sample, fewer tiles a sample than
    /// OpenBLAS's GEMMs need (`winogradMinimumColumns(.portable)`, 128), and
    /// at least 2 (kt − 1) output frames, so that a stack's GEMMs drop at most
    /// a third of their columns (the (kt − 1) · tiles past each sample's
    /// output frames: 20% for R50's 3×3×3 convs at 8 frames, a third at 4,
    /// none for 1×3×3 ones). Under `.automatic` also no `brgemm`: stacks were
    /// measured where OpenBLAS runs the products (BENCHMARKS.md, fourteenth
    /// part), not yet at AVX-512, where brgemm packs U once a pass and runs
    /// stage 5 sample by sample (`.always` stacks there too, to measure it).
    static func takes(
        _ g: Conv3dGeometry, tilesPerSample: Int, brgemm: Bool, stacking: WinogradStacking
    ) -> Bool {
        switch stacking {
        case .never: return false
        case .automatic where brgemm: return false
        case .automatic, .always:
            return g.batch > 1 && tilesPerSample < Conv3dGeometry.winogradMinimumColumns(.portable)
                && g.output.t >= 2 * (g.kernel.t - 1)
        }
    }

    var g: Conv3dGeometry { layout.g }
    /// Columns of one sample in V[ξ] and M[ξ]: its input frames' tiles.
    var width: Int { (g.output.t + g.kernel.t - 1) * layout.tiles }
    /// Floats of V and M for a full stack.
    var bufferCount: Int { layout.planes * (g.inChannels + g.outChannels) * samples * width }
    /// GEMM columns for a stack of `count` samples (its row is count · width long).
    func columns(_ count: Int) -> Int { count * width - (g.kernel.t - 1) * layout.tiles }
    /// Floats of one worker's transform blocks.
    var blocksCount: Int { layout.planes * layout.blockLanes }

    /// For every stack [first, first + count) of the batch, in order: V of
    /// its samples (rows count · width long) made from `x`, the samples split
    /// over `workers`, then `body(first, count, v, m, scratch)`, with room
    /// for M after V and each worker's transform blocks in `scratch`.
    func forEachStack(
        transforming x: UnsafePointer<Float>, workers: Int,
        _ body: (
            _ first: Int, _ count: Int, _ v: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
            _ scratch: Scratch
        ) -> Void
    ) {
        let transforms = Storage(count: bufferCount, zeroed: false)
        let scratch = Scratch()
        for worker in 0..<workers { _ = scratch.buffer(worker, count: blocksCount) }
        let C = g.inChannels
        for first in stride(from: 0, to: g.batch, by: samples) {
            let count = min(samples, g.batch - first)
            let (v, rowLength) = (transforms.pointer, count * width)
            Parallel.forEachRange(count, workers: workers) { worker, local in
                let blocks = scratch.buffer(worker, count: blocksCount)
                for s in local {
                    transformChunk(
                        x + (first + s) * C * g.inputVolume, layout, first: 0, frames: g.output.t,
                        into: v + s * width, rowStride: rowLength, planeStride: C * rowLength, blocks: blocks)
                }
            }
            body(first, count, v, v + layout.planes * C * rowLength, scratch)
        }
        withExtendedLifetime(transforms) {}  // V and M are read through pointers until here
    }
}

/// Y = conv(X, w) (or Y += with `accumulate`) for the whole batch, stack by
/// stack, from U of `winogradWeights`; `epilogue` maps each output frame as
/// it is written.
func winogradForwardStacked(
    _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ stack: WinogradStack,
    accumulate: Bool, epilogue: ChannelAffine? = nil, workers: Int
) {
    let layout = stack.layout
    let g = stack.g
    let (C, O, tiles, depth, width) = (g.inChannels, g.outChannels, layout.tiles, layout.depth, stack.width)
    stack.forEachStack(transforming: x, workers: workers) { first, count, v, m, scratch in
        let rowLength = count * width
        // M[ξ] = Σ over taps a of U[ξ][a] (O × C) · V[ξ] from column a · tiles on.
        Parallel.forEachRange(layout.planes, workers: workers) { _, planes in
            for xi in planes {
                if layout.packing != nil {
                    brgemm(
                        m: O, n: stack.columns(count), taps: g.kernel.t, k: C, packedA: u + xi * layout.uPlane,
                        b: v + xi * C * rowLength, ldb: rowLength, tapShift: tiles, c: m + xi * O * rowLength,
                        ldc: rowLength, accumulate: false, level: layout.level)
                    continue
                }
                for a in 0..<g.kernel.t {
                    sgemm(
                        m: O, n: stack.columns(count), k: C, a: u + xi * layout.uPlane + a * C, lda: depth,
                        b: v + xi * C * rowLength + a * tiles, ldb: rowLength, beta: a == 0 ? 0 : 1,
                        c: m + xi * O * rowLength, ldc: rowLength)
                }
            }
        }
        Parallel.forEachRange(count, workers: workers) { worker, local in
            let blocks = scratch.buffer(worker, count: stack.blocksCount)
            for s in local {
                for oc in 0..<O {
                    let out = y + ((first + s) * O + oc) * g.outputVolume
                    transformOutput(
                        m + oc * rowLength + s * width, frames: g.output.t, layout, planeStride: O * rowLength,
                        into: out, accumulate: accumulate, scratch: blocks)
                    epilogue?.apply(out, count: g.outputVolume, channel: oc)
                }
            }
        }
    }
}

/// dU (`layout.weightCount` floats, overwritten) for the whole batch, stack
/// by stack: V and the transformed dY of a stack's samples (M's columns past
/// each sample's output frames zeroed), then dU[ξ][a] (+)= M[ξ] · (V[ξ] from
/// column a · tiles on)ᵀ, one GEMM per plane and tap with the planes split
/// over the workers. `winogradWeightGradient` then makes dW = Gᵀ dU G.
func winogradBackwardWeightStacked(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, du: UnsafeMutablePointer<Float>, _ stack: WinogradStack,
    workers: Int
) {
    let layout = stack.layout
    let g = stack.g
    let (C, O, tiles, depth, width) = (g.inChannels, g.outChannels, layout.tiles, layout.depth, stack.width)
    let outputColumns = g.output.t * tiles
    stack.forEachStack(transforming: x, workers: workers) { first, count, v, m, scratch in
        let rowLength = count * width
        Parallel.forEachRange(count, workers: workers) { worker, local in
            let blocks = scratch.buffer(worker, count: stack.blocksCount)
            for s in local {
                transformGradientFrames(
                    dy + (first + s) * O * g.outputVolume, layout, first: 0, frames: g.output.t,
                    into: m + s * width, rowStride: rowLength, planeStride: O * rowLength, blocks: blocks)
                guard width > outputColumns else { continue }
                for r in 0..<(layout.planes * O) {
                    (m + r * rowLength + s * width + outputColumns).initialize(
                        repeating: 0, count: width - outputColumns)
                }
            }
        }
        Parallel.forEachRange(layout.planes, workers: workers) { _, planes in
            for xi in planes {
                for a in 0..<g.kernel.t {
                    sgemm(
                        transB: true, m: O, n: C, k: stack.columns(count), a: m + xi * O * rowLength,
                        lda: rowLength, b: v + xi * C * rowLength + a * tiles, ldb: rowLength,
                        beta: first == 0 ? 0 : 1, c: du + xi * O * depth + a * C, ldc: depth)
                }
            }
        }
    }
}

/// Where convolutions' samples share Winograd's GEMMs (`WinogradStack`),
/// bound with `OpSettings.with(\.winogradStacking, …)` (`bench conv
/// --stacking`, `bench train --winograd-stacking`: to measure what stacks
/// gain, and to try them at AVX-512).
public enum WinogradStacking: String, Sendable, CaseIterable {
    /// Where no brgemm runs (AVX2 and `portable`), as measured.
    case automatic
    /// With brgemm too (AVX-512): one brgemm per plane over a stack.
    case always
    /// Never: every sample's products of its own, or columns.
    case never
}
