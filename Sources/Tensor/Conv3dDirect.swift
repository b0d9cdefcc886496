import CKernels  // its x86-64 kernels are declared on x86-64 only

/// Direct convolution for layers with few input channels: the stems (3
/// colour channels in, 32–64 out, 3×3×3 or 3×7×7 kernels). Through columns
/// their GEMMs are 27–147 deep per input channel (81 for kth3l's conv1, 441
/// for R50's 3×7×7 stem) against tens of thousands of columns: the column
/// matrix (that many floats per output position) costs more memory
/// traffic than the multiplies. The C kernel (CKernels/direct_conv_body.h)
/// keeps a tile of 4 output channels × up to 16 (AVX2) or 64 (AVX-512)
/// positions in registers over every tap, reading the input from a padded,
/// phase-split copy of the sample (3 channels: 1–13 MB), and writes each
/// output once. dW (direct_grad_body.h) runs such loops with a tile of 2
/// channels × 6 taps (AVX-512: 4 × 6), summed over blocks of about 1,024
/// positions; at AVX-512 with 64 channels or more (R50's stems) it keeps
/// the output channels in the lanes instead (direct_grad_lanes_body.h), on
/// blocks of dY transposed (tiles of 4 vectors of channels × 5 taps).
/// `conv3dForwardNaive`, `conv3dBackwardNaive` and the column path are its
/// twins in the tests.
extension Conv3dGeometry {
    /// The level of the C kernel `conv3d` runs this convolution with, or nil:
    /// one group, at most 4 input channels, stride 1 or 2 across, and a
    /// padded sample small enough for 32-bit offsets.
    var directLevel: SIMDLevel? {
        let level = SIMDLevel.usable
        guard
            level != .portable && groups == 1 && inChannels <= Self.directMaximumInChannels
                && (stride.w == 1 || stride.w == 2)
                && DirectConvLayout(self).sampleCount < Int(Int32.max)
        else { return nil }
        return level
    }

    /// Past 4 input channels the column matrix's GEMMs are deep enough to run near peak.
    static let directMaximumInChannels = 4
}

/// A sample's padded, phase-split input: [c][t][h][phase][i], each phase row
/// `rowLength` floats (ckernels.h), and the offset of every tap in it.
struct DirectConvLayout {
    let g: Conv3dGeometry
    let phases: Int
    let rowLength: Int
    let paddedT: Int, paddedH: Int

    init(_ g: Conv3dGeometry) {
        self.g = g
        phases = g.stride.w
        let o = g.output
        let reach = g.dilation.w * (g.kernel.w - 1) / phases
        let rounding = Int(CK_DIRECT_ROW_ROUNDING)
        rowLength = max(
            (o.w + rounding - 1) / rounding * rounding + reach, (g.input.w + 2 * g.padding.w + phases - 1) / phases)
        paddedT = g.input.t + 2 * g.padding.t
        paddedH = g.input.h + 2 * g.padding.h
    }

    var rowStride: Int { phases * rowLength }
    var frameStride: Int { paddedH * rowStride }
    var channelStride: Int { paddedT * frameStride }
    var sampleCount: Int { g.inChannels * channelStride }
    var taps: Int { g.columnRows }

    /// Offsets of the taps (c, kt, kh, kw), in the weight's order.
    var tapOffsets: [Int32] {
        var offsets: [Int32] = []
        offsets.reserveCapacity(taps)
        for c in 0..<g.inChannels {
            for a in 0..<g.kernel.t {
                for b in 0..<g.kernel.h {
                    for e in 0..<g.kernel.w {
                        let across = e * g.dilation.w
                        let offset =
                            c * channelStride + a * g.dilation.t * frameStride + b * g.dilation.h * rowStride
                            + across % phases * rowLength + across / phases
                        offsets.append(Int32(offset))
                    }
                }
            }
        }
        return offsets
    }

    /// Copies sample `x` (C×T×H×W) into `p`: zeros around, each row split into its phases.
    func pad(_ x: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>) {
        p.initialize(repeating: 0, count: sampleCount)
        let (t, h, w) = g.input
        for c in 0..<g.inChannels {
            for i in 0..<t {
                for j in 0..<h {
                    let source = x + ((c * t + i) * h + j) * w
                    let row =
                        p + c * channelStride + (i + g.padding.t) * frameStride + (j + g.padding.h) * rowStride
                    if phases == 1 {
                        (row + g.padding.w).update(from: source, count: w)
                    } else {
                        for k in 0..<w {
                            let q = k + g.padding.w
                            row[q % phases * rowLength + q / phases] = source[k]
                        }
                    }
                }
            }
        }
    }

    /// Rows (output frames × output rows) of one sample.
    var rows: Int { g.output.t * g.output.h }

    /// The sample pieces the work is split into for `threads`: whole samples
    /// when the batch has one for every thread, else rows of each (each
    /// worker then pads the samples it has pieces of: a small cost beside
    /// the convolution).
    func pieces(threads: Int) -> Int { g.batch >= threads ? 1 : min(threads, rows) }

    /// The workers `forEachPiece` runs for `threads` (its worker indices are below it).
    func workers(threads: Int) -> Int { min(threads, g.batch * pieces(threads: threads)) }

    #if arch(x86_64)
        /// Runs body with the C kernels' geometry.
        func withGeometry<R>(_ body: (UnsafePointer<ck_direct_geometry>) -> R) -> R {
            let offsets = tapOffsets
            return offsets.withUnsafeBufferPointer { taps in
                var geometry = ck_direct_geometry(
                    tap_offsets: taps.baseAddress, taps: Int32(taps.count), out_channels: Int32(g.outChannels),
                    out_h: Int32(g.output.h), out_w: Int32(g.output.w), t_step: Int64(g.stride.t * frameStride),
                    h_step: Int64(g.stride.h * rowStride), channel_stride: Int64(g.outputVolume))
                return body(&geometry)
            }
        }
    #endif

    /// Runs body(sample, rows, padded sample) over every piece of work, split
    /// over `threads`; each worker pads a sample once for its pieces of it.
    func forEachPiece(
        _ x: UnsafePointer<Float>, threads: Int,
        _ body: (_ worker: Int, _ sample: Int, _ rows: Range<Int>, _ padded: UnsafePointer<Float>) -> Void
    ) {
        let pieces = pieces(threads: threads)
        let scratch = Scratch()
        for worker in 0..<workers(threads: threads) { _ = scratch.buffer(worker, count: sampleCount) }
        let sampleSize = g.inChannels * g.inputVolume
        Parallel.forEachRange(g.batch * pieces, workers: threads) { worker, range in
            let padded = scratch.buffer(worker, count: sampleCount)
            var current = -1
            for item in range {
                let (n, piece) = item.quotientAndRemainder(dividingBy: pieces)
                if n != current {
                    pad(x + n * sampleSize, into: padded)
                    current = n
                }
                body(worker, n, rows * piece / pieces..<rows * (piece + 1) / pieces, padded)
            }
        }
    }
}

/// y (N×O×To×Ho×Wo) ← the convolution of x with w, plus y when `accumulate`,
/// then `epilogue`, by the direct kernel of `level`.
func directForward(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ g: Conv3dGeometry,
    level: SIMDLevel, threads: Int, accumulate: Bool, epilogue: ChannelAffine?
) {
    #if arch(x86_64)
        let layout = DirectConvLayout(g)
        let weights = packedByTiles(w, channels: g.outChannels, taps: layout.taps)
        let outputSize = g.outChannels * g.outputVolume
        let scale = epilogue?.scale ?? []
        let shift = epilogue?.shift ?? []
        weights.withUnsafeBufferPointer { wt in
            scale.withUnsafeBufferPointer { scale in
                shift.withUnsafeBufferPointer { shift in
                    layout.withGeometry { geometry in
                        layout.forEachPiece(x, threads: threads) { _, n, rows, padded in
                            let kernel = level == .avx512 ? ck_direct_forward_avx512 : ck_direct_forward_avx2
                            kernel(
                                geometry, padded, wt.baseAddress, y + n * outputSize, Int32(rows.lowerBound),
                                Int32(rows.upperBound), accumulate ? 1 : 0,
                                epilogue == nil ? nil : scale.baseAddress, shift.baseAddress,
                                epilogue?.relu == true ? 1 : 0)
                        }
                    }
                }
            }
        }
    #else
        preconditionFailure("directForward: no C kernels on this architecture (directLevel is nil here)")
    #endif
}

/// dw (O×C×kt×kh×kw) += the weight gradient of the convolution for dY, by
/// the direct kernel of `level`, from per-worker partial sums.
func directBackwardWeight(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ g: Conv3dGeometry,
    level: SIMDLevel, threads: Int
) {
    #if arch(x86_64)
        let layout = DirectConvLayout(g)
        let count = layout.taps * g.outChannels
        let workers = layout.workers(threads: threads)
        // One [taps][O] partial sum per worker, summed and transposed at the end.
        var partial = [Float](repeating: 0, count: workers * count)
        let outputSize = g.outChannels * g.outputVolume
        partial.withUnsafeMutableBufferPointer { partial in
            let sums = partial.baseAddress!
            layout.withGeometry { geometry in
                // The channels in the lanes where a tile fills (each worker transposes blocks of dY in its
                // own part of `transposed`).
                let inLanes = level == .avx512 && g.outChannels >= Int(CK_DIRECT_GRAD_LANES_CHANNELS)
                let scratchCount = inLanes ? Int(ck_direct_weight_grad_lanes_scratch_avx512(geometry)) : 0
                let transposed = Storage(count: workers * scratchCount, zeroed: false)
                layout.forEachPiece(x, threads: threads) { worker, n, rows, padded in
                    let (dyp, sum) = (dy + n * outputSize, sums + worker * count)
                    let (first, end) = (Int32(rows.lowerBound), Int32(rows.upperBound))
                    if inLanes {
                        ck_direct_weight_grad_lanes_avx512(
                            geometry, padded, dyp, sum, first, end, transposed.pointer + worker * scratchCount)
                    } else {
                        let kernel = level == .avx512 ? ck_direct_weight_grad_avx512 : ck_direct_weight_grad_avx2
                        kernel(geometry, padded, dyp, sum, first, end)
                    }
                }
            }
            for worker in 1..<max(1, workers) {
                for i in 0..<count { sums[i] += sums[worker * count + i] }
            }
            for o in 0..<g.outChannels {
                for tap in 0..<layout.taps { dw[o * layout.taps + tap] += sums[tap * g.outChannels + o] }
            }
        }
    #else
        preconditionFailure("directBackwardWeight: no C kernels on this architecture (directLevel is nil here)")
    #endif
}

/// The O × taps weight packed as ckernels.h describes: tiles of n channels
/// tap by tap, then the last O mod n channels one by one.
private func packedByTiles(_ w: UnsafePointer<Float>, channels: Int, taps: Int) -> [Float] {
    let n = Int(CK_DIRECT_TILE_CHANNELS)
    return [Float](unsafeUninitializedCapacity: channels * taps) { buffer, initialized in
        let full = channels / n * n
        for o in 0..<channels {
            let (first, width) = o < full ? (o / n * n, n) : (o, 1)
            for t in 0..<taps { buffer[first * taps + t * width + o - first] = w[o * taps + t] }
        }
        initialized = channels * taps
    }
}
