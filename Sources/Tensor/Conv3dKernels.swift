/// Sizes of one 3D convolution. Layouts: input N×C×T×H×W, weight
/// O×(C/groups)×kt×kh×kw, output N×O×To×Ho×Wo.
public struct Conv3dGeometry: Equatable, Sendable {
    public var batch: Int, inChannels: Int, outChannels: Int, groups: Int
    public var input: (t: Int, h: Int, w: Int)
    public var kernel: (t: Int, h: Int, w: Int)
    public var stride: (t: Int, h: Int, w: Int)
    public var padding: (t: Int, h: Int, w: Int)
    public var dilation: (t: Int, h: Int, w: Int)

    public static func == (a: Conv3dGeometry, b: Conv3dGeometry) -> Bool {
        a.batch == b.batch && a.inChannels == b.inChannels && a.outChannels == b.outChannels && a.groups == b.groups
            && a.input == b.input && a.kernel == b.kernel && a.stride == b.stride && a.padding == b.padding
            && a.dilation == b.dilation
    }

    public var output: (t: Int, h: Int, w: Int) {
        func size(_ i: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int { (i + 2 * p - d * (k - 1) - 1) / s + 1 }
        return (
            size(input.t, kernel.t, stride.t, padding.t, dilation.t),
            size(input.h, kernel.h, stride.h, padding.h, dilation.h),
            size(input.w, kernel.w, stride.w, padding.w, dilation.w)
        )
    }
    var outputShape: [Int] {
        let o = output
        return [batch, outChannels, o.t, o.h, o.w]
    }
    var groupIn: Int { inChannels / groups }
    var groupOut: Int { outChannels / groups }
    /// Rows of a column matrix: C/g · kt · kh · kw.
    var columnRows: Int { groupIn * kernel.t * kernel.h * kernel.w }
    var inputVolume: Int { input.t * input.h * input.w }
    var outputVolume: Int {
        let o = output
        return o.t * o.h * o.w
    }
    /// Multiply-adds of the forward pass.
    public var multiplyAdds: Int { batch * outChannels * outputVolume * columnRows }
    /// A 1×1×1 convolution with stride 1 and no padding: the input plane of a
    /// sample and group already is its column matrix (C/g × P, row stride P),
    /// so the GEMMs read and write it in place, with no vol2col or col2vol.
    /// These are two thirds of a ResNet bottleneck's convolutions.
    var isPointwise: Bool {
        kernel == (1, 1, 1) && stride == (1, 1, 1) && padding == (0, 0, 0)
    }
    /// Zeroes the input planes (C × T × H × W) of `samples` at `x`: an input
    /// gradient that is new, before a pass that adds into it.
    func zeroInputPlanes(_ x: UnsafeMutablePointer<Float>, samples: Range<Int>) {
        let sampleSize = inChannels * inputVolume
        (x + samples.lowerBound * sampleSize).initialize(repeating: 0, count: samples.count * sampleSize)
    }
    /// Floats of column buffer one worker needs (0 for pointwise and temporal-only convolutions).
    var columnBufferCount: Int { isPointwise || isTemporalOnly ? 0 : columnRows * columnChunk(self) }
}

/// Output positions per column chunk: whole output rows (multiples of Wo),
/// so that the column buffer stays near `budget` floats (8 MB by default).
func columnChunk(_ g: Conv3dGeometry, budget: Int = 2 << 20) -> Int {
    if g.isPointwise { return g.outputVolume }  // no buffer: one GEMM over the whole plane
    let rowWidth = g.output.w
    let rows = max(1, budget / max(1, g.columnRows * rowWidth))
    return min(g.outputVolume, rows * rowWidth)
}

/// ⌈a / b⌉ and ⌊a / b⌋ for b > 0 and any sign of a.
@inline(__always) func ceilDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }
@inline(__always) func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

/// For kernel column offset `shift` (d·dilation - padding): the output columns
/// [lo, hi) whose input column wo·stride + shift lies inside the row.
@inline(__always) func validColumns(_ g: Conv3dGeometry, shift: Int) -> (lo: Int, hi: Int) {
    let lo = max(0, ceilDivide(-shift, g.stride.w))
    let hi = min(g.output.w, floorDivide(g.input.w - 1 - shift, g.stride.w) + 1)
    return (lo, max(lo, hi))
}

/// Walks output positions [first, first + count) (whole output rows) of one
/// sample and group, for every (channel, tap, output row): `body(dst, r,
/// input, lo, hi)` gets the column buffer's row for that channel and tap, the
/// output row `r` within the chunk, the offset in the input of the element that
/// output column 0 would read (nil when the tap's row is outside the input), and
/// the output columns [lo, hi) that read inside the row.
@inline(__always)
private func forEachTapRow(
    _ g: Conv3dGeometry, first: Int, count: Int,
    _ body: (_ columnRow: Int, _ r: Int, _ input: Int?, _ lo: Int, _ hi: Int) -> Void
) {
    let o = g.output
    precondition(first % o.w == 0 && count % o.w == 0, "column chunks are whole output rows")
    let firstRow = first / o.w
    let rows = count / o.w
    var columnRow = 0
    for c in 0..<g.groupIn {
        for a in 0..<g.kernel.t {
            for b in 0..<g.kernel.h {
                for d in 0..<g.kernel.w {
                    let shift = d * g.dilation.w - g.padding.w
                    let (lo, hi) = validColumns(g, shift: shift)
                    for r in 0..<rows {
                        let to = (firstRow + r) / o.h
                        let ho = (firstRow + r) % o.h
                        let ti = to * g.stride.t - g.padding.t + a * g.dilation.t
                        let hiRow = ho * g.stride.h - g.padding.h + b * g.dilation.h
                        let inside = ti >= 0 && ti < g.input.t && hiRow >= 0 && hiRow < g.input.h
                        body(
                            columnRow, r,
                            inside ? c * g.inputVolume + (ti * g.input.h + hiRow) * g.input.w + shift : nil, lo, hi)
                    }
                    columnRow += 1
                }
            }
        }
    }
}

/// For a 1×1×1 kernel without padding (a strided one: R50's downsampling
/// convs and shortcuts), whose column row of channel c is that channel's
/// input subsampled: `body(c, r, input)` for every channel and output row
/// [first, first + count) of one sample and group, with the offset of the
/// row's first input. No tap can fall outside the input, and rows at
/// stages 4 and 5 are 4–7 floats: the general walk's per-row bounds cost
/// more than its copies there.
@inline(__always)
private func forEachPointwiseRow(
    _ g: Conv3dGeometry, first: Int, count: Int, _ body: (_ c: Int, _ r: Int, _ input: Int) -> Void
) {
    let o = g.output
    precondition(first % o.w == 0 && count % o.w == 0, "column chunks are whole output rows")
    let (firstRow, rows) = (first / o.w, count / o.w)
    let (frameStep, rowStep) = (g.stride.t * g.input.h * g.input.w, g.stride.h * g.input.w)
    for c in 0..<g.groupIn {
        var (to, ho) = (firstRow / o.h, firstRow % o.h)
        for r in 0..<rows {
            body(c, r, c * g.inputVolume + to * frameStep + ho * rowStep)
            ho += 1
            if ho == o.h { (to, ho) = (to + 1, 0) }
        }
    }
}

extension Conv3dGeometry {
    /// A 1×1×1 kernel without padding: `forEachPointwiseRow` walks its columns.
    var isPointwiseUnpadded: Bool { kernel == (1, 1, 1) && padding == (0, 0, 0) }
}

/// Fills `col` (columnRows × count) with the input patches of output positions
/// [first, first + count) for one sample and group; out-of-range taps are 0.
/// `first` and `count` are whole output rows: every (channel, tap, row) is one
/// contiguous copy at stride 1.
func vol2col(_ x: UnsafePointer<Float>, _ g: Conv3dGeometry, first: Int, count: Int, col: UnsafeMutablePointer<Float>) {
    let width = g.output.w
    if g.isPointwiseUnpadded {
        let step = g.stride.w
        forEachPointwiseRow(g, first: first, count: count) { c, r, input in
            let (src, dst) = (x + input, col + c * count + r * width)
            for wo in 0..<width { dst[wo] = src[wo * step] }
        }
        return
    }
    forEachTapRow(g, first: first, count: count) { columnRow, r, input, lo, hi in
        let outRow = col + columnRow * count + r * width
        guard let input, lo < hi else {
            outRow.initialize(repeating: 0, count: width)
            return
        }
        if lo > 0 { outRow.initialize(repeating: 0, count: lo) }
        let src = x + input
        if g.stride.w == 1 {
            (outRow + lo).update(from: src + lo, count: hi - lo)
        } else if g.stride.w == 2 {
            // The even lanes of 16 (the stem's and strided convs' rows); the
            // last 1–8 one at a time, so that no load passes the row's last input.
            var wo = lo
            while wo + 8 < hi {
                let pair = UnsafeRawPointer(src + 2 * wo).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(outRow + wo).storeBytes(of: pair.evenHalf, as: SIMD8<Float>.self)
                wo += 8
            }
            for wo in wo..<hi { outRow[wo] = src[2 * wo] }
        } else {
            for wo in lo..<hi { outRow[wo] = src[wo * g.stride.w] }
        }
        if hi < width { (outRow + hi).initialize(repeating: 0, count: width - hi) }
    }
}

/// Adds the columns back into the input gradient (the transpose of vol2col).
func col2vol(_ col: UnsafePointer<Float>, _ g: Conv3dGeometry, first: Int, count: Int, dx: UnsafeMutablePointer<Float>)
{
    let width = g.output.w
    if g.isPointwiseUnpadded {
        let step = g.stride.w
        forEachPointwiseRow(g, first: first, count: count) { c, r, input in
            let (src, dst) = (col + c * count + r * width, dx + input)
            for wo in 0..<width { dst[wo * step] += src[wo] }
        }
        return
    }
    forEachTapRow(g, first: first, count: count) { columnRow, r, input, lo, hi in
        guard let input, lo < hi else { return }
        let dst = dx + input
        let inRow = col + columnRow * count + r * width
        if g.stride.w == 1 {
            for wo in lo..<hi { dst[wo] += inRow[wo] }
        } else if g.stride.w == 2 {
            var wo = lo
            while wo + 8 < hi {
                var pair = UnsafeRawPointer(dst + 2 * wo).loadUnaligned(as: SIMD16<Float>.self)
                pair.evenHalf += UnsafeRawPointer(inRow + wo).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(dst + 2 * wo).storeBytes(of: pair, as: SIMD16<Float>.self)
                wo += 8
            }
            for wo in wo..<hi { dst[2 * wo] += inRow[wo] }
        } else {
            for wo in lo..<hi { dst[wo * g.stride.w] += inRow[wo] }
        }
    }
}

/// Calls `body(sample, input, output, weight, first, count)` for every
/// sample in `samples`, group and chunk of output positions, with the element
/// offsets of that sample-group's input and output planes and of the group's
/// weights.
private func forEachColumnChunk(
    _ g: Conv3dGeometry, samples: Range<Int>, chunk: Int? = nil,
    _ body: (_ sample: Int, _ input: Int, _ output: Int, _ weight: Int, _ first: Int, _ count: Int) -> Void
) {
    let chunk = chunk ?? columnChunk(g)
    let P = g.outputVolume
    for n in samples {
        for group in 0..<g.groups {
            let input = (n * g.inChannels + group * g.groupIn) * g.inputVolume
            let output = (n * g.outChannels + group * g.groupOut) * P
            let weight = group * g.groupOut * g.columnRows
            var first = 0
            while first < P {
                let count = min(chunk, P - first)
                body(n, input, output, weight, first, count)
                first += count
            }
        }
    }
}

/// Conv3d forward for `samples`: vol2col, then Y = W · col (Y += with
/// `accumulate`) per group and chunk, each chunk's rows mapped by `epilogue`
/// right after its GEMM.
/// `chunk` (output positions, whole output rows) replaces the chunk size the
/// budget gives, here and in the backward passes below: tests drive many
/// chunks through small shapes with it.
func conv3dForward(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    _ g: Conv3dGeometry, samples: Range<Int>, col: UnsafeMutablePointer<Float>, accumulate: Bool = false,
    epilogue: ChannelAffine? = nil, chunk: Int? = nil
) {
    if g.isTemporalOnly {
        temporalForward(x, w, y, g, samples: samples, accumulate: accumulate, epilogue: epilogue)
        return
    }
    let P = g.outputVolume
    let K = g.columnRows
    let beta: Float = accumulate ? 1 : 0
    // A pointwise conv's GEMM covers a whole plane, unless an epilogue is to
    // map its output: then pieces of about 1 MB, still in cache when mapped.
    let chunk = chunk ?? (g.isPointwise && epilogue != nil ? min(P, max(512, (1 << 18) / g.groupOut)) : nil)
    forEachColumnChunk(g, samples: samples, chunk: chunk) { _, input, output, weight, first, count in
        if g.isPointwise {
            sgemm(
                m: g.groupOut, n: count, k: K, a: w + weight, lda: K, b: x + input + first, ldb: P, beta: beta,
                c: y + output + first, ldc: P)
        } else {
            vol2col(x + input, g, first: first, count: count, col: col)
            sgemm(
                m: g.groupOut, n: count, k: K, a: w + weight, lda: K, b: col, ldb: count, beta: beta,
                c: y + output + first, ldc: P)
        }
        guard let epilogue else { return }
        let channel0 = (output / P) % g.outChannels
        for r in 0..<g.groupOut {
            epilogue.apply(y + output + r * P + first, count: count, channel: channel0 + r)
        }
    }
}

/// dW for `samples`: dY · colᵀ per group and chunk, added into `dw`, or
/// written over it with `overwrite` (each group's first product then takes
/// beta 0, so `dw` need not be initialised).
func conv3dBackwardWeight(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
    _ g: Conv3dGeometry, samples: Range<Int>, col: UnsafeMutablePointer<Float>, overwrite: Bool = false,
    chunk: Int? = nil
) {
    if g.isTemporalOnly {
        temporalBackwardWeight(x, dy, dw, g, samples: samples, overwrite: overwrite)
        return
    }
    let P = g.outputVolume
    let K = g.columnRows
    forEachColumnChunk(g, samples: samples, chunk: chunk) { n, input, output, weight, first, count in
        let beta: Float = overwrite && n == samples.lowerBound && first == 0 ? 0 : 1
        if g.isPointwise {
            sgemm(
                transB: true, m: g.groupOut, n: K, k: count, a: dy + output + first, lda: P, b: x + input + first,
                ldb: P, beta: beta, c: dw + weight, ldc: K)
            return
        }
        vol2col(x + input, g, first: first, count: count, col: col)
        sgemm(
            transB: true, m: g.groupOut, n: K, k: count, a: dy + output + first, lda: P, b: col, ldb: count,
            beta: beta, c: dw + weight, ldc: K)
    }
}

/// dX for `samples`: col = Wᵀ · dY per group and chunk, then col2vol, added
/// into `dx`, or written over the samples' planes with `overwrite` (they
/// need not be initialised: a pointwise conv's product takes beta 0, and the
/// columns' path zeroes them before col2vol adds).
func conv3dBackwardData(
    _ w: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    _ g: Conv3dGeometry, samples: Range<Int>, col: UnsafeMutablePointer<Float>, overwrite: Bool = false,
    chunk: Int? = nil
) {
    if g.isTemporalOnly {
        temporalBackwardData(w, dy, dx, g, samples: samples, overwrite: overwrite)
        return
    }
    let P = g.outputVolume
    let K = g.columnRows
    if overwrite && !g.isPointwise { g.zeroInputPlanes(dx, samples: samples) }
    forEachColumnChunk(g, samples: samples, chunk: chunk) { _, input, output, weight, first, count in
        if g.isPointwise {  // dX = (or +=) Wᵀ · dY straight into the input gradient
            sgemm(
                transA: true, m: K, n: count, k: g.groupOut, a: w + weight, lda: K, b: dy + output + first, ldb: P,
                beta: overwrite ? 0 : 1, c: dx + input + first, ldc: P)
            return
        }
        sgemm(
            transA: true, m: K, n: count, k: g.groupOut, a: w + weight, lda: K, b: dy + output + first, ldb: P, c: col,
            ldc: count)
        col2vol(col, g, first: first, count: count, dx: dx + input)
    }
}

// MARK: Naive twins (direct loops, for tests)

func conv3dForwardNaive(_ x: [Float], _ w: [Float], _ g: Conv3dGeometry) -> [Float] {
    let o = g.output
    var y = [Float](repeating: 0, count: g.batch * g.outChannels * g.outputVolume)
    for n in 0..<g.batch {
        for oc in 0..<g.outChannels {
            let group = oc / g.groupOut
            for to in 0..<o.t {
                for ho in 0..<o.h {
                    for wo in 0..<o.w {
                        var sum: Float = 0
                        for c in 0..<g.groupIn {
                            for a in 0..<g.kernel.t {
                                for b in 0..<g.kernel.h {
                                    for d in 0..<g.kernel.w {
                                        let ti = to * g.stride.t - g.padding.t + a * g.dilation.t
                                        let hi = ho * g.stride.h - g.padding.h + b * g.dilation.h
                                        let wi = wo * g.stride.w - g.padding.w + d * g.dilation.w
                                        guard ti >= 0, ti < g.input.t, hi >= 0, hi < g.input.h, wi >= 0, wi < g.input.w
                                        else { continue }
                                        let ic = group * g.groupIn + c
                                        sum +=
                                            x[
                                                (((n * g.inChannels + ic) * g.input.t + ti) * g.input.h + hi)
                                                    * g.input.w + wi]
                                            * w[
                                                (((oc * g.groupIn + c) * g.kernel.t + a) * g.kernel.h + b) * g.kernel.w
                                                    + d]
                                    }
                                }
                            }
                        }
                        y[(((n * g.outChannels + oc) * o.t + to) * o.h + ho) * o.w + wo] = sum
                    }
                }
            }
        }
    }
    return y
}

/// (dX, dW) of the naive convolution for output gradient `dy`.
func conv3dBackwardNaive(_ x: [Float], _ w: [Float], _ dy: [Float], _ g: Conv3dGeometry) -> (dx: [Float], dw: [Float]) {
    let o = g.output
    var dx = [Float](repeating: 0, count: x.count)
    var dw = [Float](repeating: 0, count: w.count)
    for n in 0..<g.batch {
        for oc in 0..<g.outChannels {
            let group = oc / g.groupOut
            for to in 0..<o.t {
                for ho in 0..<o.h {
                    for wo in 0..<o.w {
                        let grad = dy[(((n * g.outChannels + oc) * o.t + to) * o.h + ho) * o.w + wo]
                        for c in 0..<g.groupIn {
                            for a in 0..<g.kernel.t {
                                for b in 0..<g.kernel.h {
                                    for d in 0..<g.kernel.w {
                                        let ti = to * g.stride.t - g.padding.t + a * g.dilation.t
                                        let hi = ho * g.stride.h - g.padding.h + b * g.dilation.h
                                        let wi = wo * g.stride.w - g.padding.w + d * g.dilation.w
                                        guard ti >= 0, ti < g.input.t, hi >= 0, hi < g.input.h, wi >= 0, wi < g.input.w
                                        else { continue }
                                        let xi =
                                            (((n * g.inChannels + group * g.groupIn + c) * g.input.t + ti) * g.input.h
                                                + hi) * g.input.w + wi
                                        let wi2 =
                                            (((oc * g.groupIn + c) * g.kernel.t + a) * g.kernel.h + b) * g.kernel.w + d
                                        dx[xi] += grad * w[wi2]
                                        dw[wi2] += grad * x[xi]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return (dx, dw)
}

// MARK: Depthwise (groups = C = O): direct kernels, no columns

/// Depthwise forward for samples in `samples`; the innermost loop runs along W.
func depthwiseConv3dForward(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    _ g: Conv3dGeometry, samples: Range<Int>
) {
    let o = g.output
    let ksize = g.kernel.t * g.kernel.h * g.kernel.w
    for n in samples {
        for c in 0..<g.inChannels {
            let xs = x + (n * g.inChannels + c) * g.inputVolume
            let ys = y + (n * g.inChannels + c) * g.outputVolume
            let ws = w + c * ksize
            ys.initialize(repeating: 0, count: g.outputVolume)
            for a in 0..<g.kernel.t {
                for b in 0..<g.kernel.h {
                    for d in 0..<g.kernel.w {
                        let weight = ws[(a * g.kernel.h + b) * g.kernel.w + d]
                        for to in 0..<o.t {
                            let ti = to * g.stride.t - g.padding.t + a * g.dilation.t
                            guard ti >= 0 && ti < g.input.t else { continue }
                            for ho in 0..<o.h {
                                let hi = ho * g.stride.h - g.padding.h + b * g.dilation.h
                                guard hi >= 0 && hi < g.input.h else { continue }
                                let src = xs + (ti * g.input.h + hi) * g.input.w
                                let dst = ys + (to * o.h + ho) * o.w
                                let shift = d * g.dilation.w - g.padding.w
                                // wo range where wi = wo*s + shift is inside the row
                                let lo = max(0, (-shift + g.stride.w - 1) / g.stride.w)
                                let hiW = min(o.w, (g.input.w - shift + g.stride.w - 1) / g.stride.w)
                                if lo >= hiW { continue }
                                if g.stride.w == 1 {
                                    for wo in lo..<hiW { dst[wo] += weight * src[wo + shift] }
                                } else {
                                    for wo in lo..<hiW { dst[wo] += weight * src[wo * g.stride.w + shift] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Depthwise backward: dX (+=) and dW (+=).
func depthwiseConv3dBackward(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?,
    _ g: Conv3dGeometry, samples: Range<Int>
) {
    let o = g.output
    let ksize = g.kernel.t * g.kernel.h * g.kernel.w
    for n in samples {
        for c in 0..<g.inChannels {
            let xs = x + (n * g.inChannels + c) * g.inputVolume
            let dys = dy + (n * g.inChannels + c) * g.outputVolume
            let dxs = dx.map { $0 + (n * g.inChannels + c) * g.inputVolume }
            for a in 0..<g.kernel.t {
                for b in 0..<g.kernel.h {
                    for d in 0..<g.kernel.w {
                        let k = c * ksize + (a * g.kernel.h + b) * g.kernel.w + d
                        let weight = w[k]
                        var wsum: Float = 0
                        for to in 0..<o.t {
                            let ti = to * g.stride.t - g.padding.t + a * g.dilation.t
                            guard ti >= 0 && ti < g.input.t else { continue }
                            for ho in 0..<o.h {
                                let hi = ho * g.stride.h - g.padding.h + b * g.dilation.h
                                guard hi >= 0 && hi < g.input.h else { continue }
                                let rowOffset = (ti * g.input.h + hi) * g.input.w
                                let grad = dys + (to * o.h + ho) * o.w
                                let shift = d * g.dilation.w - g.padding.w
                                let lo = max(0, (-shift + g.stride.w - 1) / g.stride.w)
                                let hiW = min(o.w, (g.input.w - shift + g.stride.w - 1) / g.stride.w)
                                if lo >= hiW { continue }
                                for wo in lo..<hiW {
                                    let wi = wo * g.stride.w + shift
                                    wsum += grad[wo] * xs[rowOffset + wi]
                                    if let dxs { dxs[rowOffset + wi] += grad[wo] * weight }
                                }
                            }
                        }
                        dw?[k] += wsum
                    }
                }
            }
        }
    }
}

extension Conv3dGeometry {
    /// The geometry of `conv3d` on an N×C×T×H×W input of `inputShape` with
    /// an O×(C/groups)×kt×kh×kw weight of `weightShape`.
    public init(inputShape x: [Int], weightShape w: [Int], options: Conv3dOptions) {
        self.init(
            batch: x[0], inChannels: x[1], outChannels: w[0], groups: options.groups, input: (x[2], x[3], x[4]),
            kernel: (w[2], w[3], w[4]), stride: options.stride, padding: options.padding, dilation: options.dilation)
    }

    /// How `conv3d` computes this convolution: "depthwise" (direct loops),
    /// "winograd-4x4" or "winograd-2x2" (F(m×m, 3×3); "-stacked" where the
    /// batch's samples share its GEMMs), "winograd-4-temporal" or
    /// "winograd-2-temporal" (3×1×1: F(m, 3) along time), "frame-shift" (kt×1×1: a GEMM per tap on
    /// the input in place), "pointwise" (GEMMs on the input in place) or
    /// "columns" (vol2col + GEMM), "direct-avx2" or "direct-avx512" (the stems' C kernel).
    public var algorithm: String {
        if groups == inChannels && groups == outChannels { return "depthwise" }
        if let level = directLevel { return "direct-\(level.rawValue)" }
        if let (tile, planes) = spatioTemporal { return "winograd-t\(tile.m)+" + planes.algorithm }
        if let tile = winogradTile { return "winograd-\(tile.name)" + (stacksWinograd ? "-stacked" : "") }
        if let tile = temporalWinogradTile { return "winograd-\(tile.m)-temporal" }
        if isTemporalOnly { return "frame-shift" }
        return isPointwise ? "pointwise" : "columns"
    }
}
