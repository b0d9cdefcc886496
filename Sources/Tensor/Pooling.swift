import CKernels  // its x86-64 kernels are declared on x86-64 only
import Foundation

/// Runs body(plane) for planes 0..<count split over the worker threads.
func forEachPlane(_ count: Int, _ body: (Range<Int>) -> Void) {
    Parallel.forEachRange(count, workers: Parallel.threads) { _, range in body(range) }
}

/// PyTorch's pooled length of `size` for a window `kernel`, `stride` and
/// `padding` (−∞) on both ends; in ceil mode a last, partial window counts
/// when it starts inside the input or its left padding.
func pooledLength(_ size: Int, kernel: Int, stride: Int, padding: Int, ceilMode: Bool) -> Int {
    let span = size + 2 * padding - kernel
    var out = (ceilMode ? (span + stride - 1) : span) / stride + 1
    if ceilMode && (out - 1) * stride >= size + padding { out -= 1 }
    return out
}

/// Max pooling over (kt, kh, kw) windows with the given stride, `padding`
/// of −∞ on both ends of each axis, and PyTorch's `ceil_mode` (GoogLeNet's
/// pools). x: N×C×T×H×W. Saves each window's argmax as a one-byte offset.
public func maxPool3d(
    _ x: Tensor, kernel: (Int, Int, Int), stride: (Int, Int, Int)? = nil, padding: (Int, Int, Int) = (0, 0, 0),
    ceilMode: Bool = false
) -> Tensor {
    let s = stride ?? kernel
    let p = padding
    precondition(kernel.0 * kernel.1 * kernel.2 <= 256, "maxPool3d windows are at most 256 elements")
    precondition(
        p.0 <= kernel.0 / 2 && p.1 <= kernel.1 / 2 && p.2 <= kernel.2 / 2,
        "maxPool3d padding is at most half the window")
    let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    precondition(
        t + 2 * p.0 >= kernel.0 && h + 2 * p.1 >= kernel.1 && w + 2 * p.2 >= kernel.2,
        "maxPool3d: the input \(x.shape) is smaller than the window")
    let g = PoolWindows(
        input: (t, h, w), kernel: kernel, stride: s, padding: p,
        output: (
            pooledLength(t, kernel: kernel.0, stride: s.0, padding: p.0, ceilMode: ceilMode),
            pooledLength(h, kernel: kernel.1, stride: s.1, padding: p.1, ceilMode: ceilMode),
            pooledLength(w, kernel: kernel.2, stride: s.2, padding: p.2, ceilMode: ceilMode)
        ))
    let y = Tensor.empty([n, c, g.output.t, g.output.h, g.output.w])
    var argmax = [UInt8](repeating: 0, count: y.count)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    let level = SIMDLevel.usable
    // 2×2 (×1 or ×2 in time) windows at their own stride, as kth3l uses:
    // straight-line compares in the generic order (offset = (i·kh + j)·kw + k).
    let pairs =
        kernel.1 == 2 && kernel.2 == 2 && s.1 == 2 && s.2 == 2 && (kernel.0 == 1 || kernel.0 == 2) && s.0 == kernel.0
        && p == (0, 0, 0) && !ceilMode
    argmax.withUnsafeMutableBufferPointer { am in
        let amp = am.baseAddress!
        forEachPlane(n * c) { planes in
            for plane in planes {
                let (x, y, a) = (xp + plane * g.inPlane, yp + plane * g.outPlane, amp + plane * g.outPlane)
                if pairs { g.maxOfPairs(x, y, a, level) } else { g.maxOfWindows(x, y, a) }
            }
        }
    }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        // The 2×2 windows' backward pass writes a new gradient whole (no zeroing pass first).
        let (dx, fresh) = pairs ? xn.gradBufferForWrite() : (xn.gradBuffer(), false)
        let dyp = dy.storage.pointer
        argmax.withUnsafeBufferPointer { am in
            let amp = am.baseAddress!
            forEachPlane(n * c) { planes in
                for plane in planes {
                    let (dy, a, dx) = (dyp + plane * g.outPlane, amp + plane * g.outPlane, dx + plane * g.inPlane)
                    if pairs {
                        g.scatterPairs(dy, a, into: dx, write: fresh, level)
                    } else {
                        g.scatter(dy, a, into: dx)
                    }
                }
            }
        }
    }
}

/// The windows of a max-pooling over one T×H×W plane; the argmax of each
/// window is its offset (i·kh + j)·kw + k from the window's origin.
struct PoolWindows {
    let input: (t: Int, h: Int, w: Int)
    let kernel: (Int, Int, Int)
    let stride: (Int, Int, Int)
    let padding: (Int, Int, Int)
    let output: (t: Int, h: Int, w: Int)
    var inPlane: Int { input.t * input.h * input.w }
    var outPlane: Int { output.t * output.h * output.w }

    /// 2×2 windows (×1 or ×2 in time) at their own stride, no padding, by
    /// the C kernel of `level` (ck_max_pool_pairs), or at `.portable` by its
    /// twin here: 8 windows at a time from the even and odd lanes of 16-float
    /// loads, with no branches (compares on random data mispredict half the
    /// time), then the row's last windows one by one. Strict > keeps the
    /// first maximum, as in PyTorch and `maxOfWindows`. With `reluAffine`
    /// (scale, shift), the windows are of max(0, x·scale + shift), mapped as
    /// they are loaded (batch norm and ReLU fused into the pool, with
    /// `batchNormAffine`'s operations).
    func maxOfPairs(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<UInt8>,
        _ level: SIMDLevel, reluAffine: (scale: Float, shift: Float)? = nil
    ) {
        #if arch(x86_64)
            if level != .portable {
                let pool = level == .avx512 ? ck_max_pool_pairs_avx512 : ck_max_pool_pairs_avx2
                pool(
                    x, y, argmax, Int32(kernel.0), Int64(input.h), Int64(input.w), Int64(output.t), Int64(output.h),
                    Int64(output.w), reluAffine == nil ? 0 : 1, reluAffine?.scale ?? 1, reluAffine?.shift ?? 0)
                return
            }
        #endif
        let (h, w) = (input.h, input.w)
        let frames = kernel.0
        // z < 0 → 0, so that −0 and NaN stay as the C kernels' max(0, z) leaves them.
        @inline(__always) func mapped(_ v: SIMD16<Float>) -> SIMD16<Float> {
            guard let (scale, shift) = reluAffine else { return v }
            let z = v * scale + shift
            return z.replacing(with: 0, where: z .< 0)
        }
        @inline(__always) func mapped(_ v: Float) -> Float {
            guard let (scale, shift) = reluAffine else { return v }
            let z = v * scale + shift
            return z < 0 ? 0 : z
        }
        var out = 0
        for a in 0..<output.t {
            for b in 0..<output.h {
                // The window's rows in offset order: (i · 2 + j) · 2 + k for frame i, row j, column k.
                let r0 = x + (a * frames * h + 2 * b) * w
                func row(_ r: Int) -> UnsafePointer<Float> { r0 + (r >> 1) * h * w + (r & 1) * w }
                var d = 0
                while d + 8 <= output.w {
                    var maxima = EightMaxima()
                    for r in 0..<2 * frames {
                        let v = mapped(UnsafeRawPointer(row(r) + 2 * d).loadUnaligned(as: SIMD16<Float>.self))
                        maxima.take(v.evenHalf, at: 2 * r)
                        maxima.take(v.oddHalf, at: 2 * r + 1)
                    }
                    maxima.store(y + out, argmax + out)
                    d += 8
                    out += 8
                }
                while d < output.w {
                    var best = mapped(r0[2 * d])
                    var offset: UInt8 = 0
                    for r in 0..<2 * frames {
                        for k in 0..<2 where mapped(row(r)[2 * d + k]) > best {
                            best = mapped(row(r)[2 * d + k])
                            offset = UInt8(2 * r + k)
                        }
                    }
                    y[out] = best
                    argmax[out] = offset
                    d += 1
                    out += 1
                }
            }
        }
    }

    /// `scatter` for the windows of `maxOfPairs`: the offset's bits are the
    /// frame, row and column in the window (no divisions). With `write`, dx
    /// is written whole (0 where no maximum lands) instead of added to. By
    /// ck_max_pool_pairs_backward, or at `.portable` by its twin here.
    func scatterPairs(
        _ dy: UnsafePointer<Float>, _ argmax: UnsafePointer<UInt8>, into dx: UnsafeMutablePointer<Float>, write: Bool,
        _ level: SIMDLevel
    ) {
        #if arch(x86_64)
            if level != .portable {
                let scatter = level == .avx512 ? ck_max_pool_pairs_backward_avx512 : ck_max_pool_pairs_backward_avx2
                scatter(
                    dy, argmax, dx, Int32(kernel.0), Int64(input.t), Int64(input.h), Int64(input.w), Int64(output.t),
                    Int64(output.h), Int64(output.w), write ? 0 : 1, nil)
                return
            }
        #endif
        if write { dx.initialize(repeating: 0, count: inPlane) }
        forEachPair { window, a, b, d in dx[pairElement(a, b, d, Int(argmax[window]))] += dy[window] }
    }

    /// Runs body(window, a, b, d) over the windows of `maxOfPairs` in order.
    @inline(__always) func forEachPair(_ body: (_ window: Int, _ a: Int, _ b: Int, _ d: Int) -> Void) {
        var window = 0
        for a in 0..<output.t {
            for b in 0..<output.h {
                for d in 0..<output.w {
                    body(window, a, b, d)
                    window += 1
                }
            }
        }
    }

    /// The input index of the element at `offset` of pair window (a, b, d):
    /// the offset's bits are the frame, row and column in the window.
    @inline(__always) func pairElement(_ a: Int, _ b: Int, _ d: Int, _ offset: Int) -> Int {
        let (h, w) = (input.h, input.w)
        return (a * kernel.0 * h + 2 * b) * w + (offset >> 2) * h * w + (offset >> 1 & 1) * w + 2 * d + offset & 1
    }

    /// Any window, stride and padding (−∞ outside the input). Windows 3 wide
    /// at stride 2 with padding 1 across (the R50 stems' pool) run 8 at a time
    /// where their columns are inside the row.
    func maxOfWindows(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<UInt8>
    ) {
        let (t, h, w) = input
        let (s, p) = (stride, padding)
        let threeWide = kernel.2 == 3 && s.2 == 2 && p.2 == 1
        var out = 0
        for a in 0..<output.t {
            for b in 0..<output.h {
                // The window's origin (in the padding when negative) and its frames and rows inside the input.
                let (t0, h0) = (a * s.0 - p.0, b * s.1 - p.1)
                let frames = max(0, -t0)..<min(kernel.0, t - t0)
                let rows = max(0, -h0)..<min(kernel.1, h - h0)
                var d = 0
                while d < output.w {
                    if threeWide && d >= 1 && d + 8 <= output.w && 2 * d + 16 <= w - 1 {
                        maxOfEightWindows(x, frames, rows, origin: (t0, h0), column: 2 * d - 1, y + out, argmax + out)
                        d += 8
                        out += 8
                        continue
                    }
                    // Offsets count from the origin. The first maximum wins ties, as in PyTorch.
                    let w0 = d * s.2 - p.2
                    var best = -Float.infinity
                    var bestOffset = -1
                    for i in frames {
                        for j in rows {
                            let row = x + ((t0 + i) * h + (h0 + j)) * w + w0
                            for k in max(0, -w0)..<min(kernel.2, w - w0) where row[k] > best || bestOffset < 0 {
                                best = row[k]
                                bestOffset = (i * kernel.1 + j) * kernel.2 + k
                            }
                        }
                    }
                    y[out] = best
                    argmax[out] = UInt8(bestOffset)
                    d += 1
                    out += 1
                }
            }
        }
    }

    /// 8 windows 3 wide at stride 2 whose columns, from `column`, are inside
    /// the rows: columns k = 0, 1 from the even and odd lanes of a 16-float
    /// load, k = 2 from the even lanes of the next; in offset order, the first
    /// element taken, then strictly greater ones (as `maxOfWindows`).
    private func maxOfEightWindows(
        _ x: UnsafePointer<Float>, _ frames: Range<Int>, _ rows: Range<Int>, origin: (t: Int, h: Int), column: Int,
        _ y: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<UInt8>
    ) {
        var maxima = EightMaxima()
        for i in frames {
            for j in rows {
                let row = UnsafeRawPointer(x + ((origin.t + i) * input.h + origin.h + j) * input.w + column)
                let near = row.loadUnaligned(as: SIMD16<Float>.self)
                let far = row.loadUnaligned(fromByteOffset: 8, as: SIMD16<Float>.self)
                let base = (i * kernel.1 + j) * 3
                maxima.take(near.evenHalf, at: base)
                maxima.take(near.oddHalf, at: base + 1)
                maxima.take(far.evenHalf, at: base + 2)
            }
        }
        maxima.store(y, argmax)
    }

    /// The backward pass: each output's gradient to its window's maximum.
    func scatter(_ dy: UnsafePointer<Float>, _ argmax: UnsafePointer<UInt8>, into dx: UnsafeMutablePointer<Float>) {
        let (h, w) = (input.h, input.w)
        let (s, p) = (stride, padding)
        var out = 0
        for a in 0..<output.t {
            for b in 0..<output.h {
                for d in 0..<output.w {
                    let offset = Int(argmax[out])
                    let k = offset % kernel.2
                    let j = (offset / kernel.2) % kernel.1
                    let i = offset / (kernel.1 * kernel.2)
                    dx[((a * s.0 - p.0 + i) * h + (b * s.1 - p.1 + j)) * w + d * s.2 - p.2 + k] += dy[out]
                    out += 1
                }
            }
        }
    }
}

/// The running maxima of 8 windows and the offsets they came from: the
/// first value taken, then strictly greater ones, so the first maximum wins
/// ties (as PyTorch, and the windows' scalar loops).
private struct EightMaxima {
    var best = SIMD8<Float>(repeating: 0)
    var offset = SIMD8<Int32>(repeating: 0)
    var empty = true

    mutating func take(_ v: SIMD8<Float>, at: Int) {
        if empty {
            best = v
            offset = SIMD8(repeating: Int32(at))
            empty = false
        } else {
            let greater = v .> best
            best.replace(with: v, where: greater)
            offset.replace(with: Int32(at), where: greater)
        }
    }

    func store(_ y: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(y).storeBytes(of: best, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(argmax).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: offset), as: SIMD8<UInt8>.self)
    }
}

/// Average pooling over (kt, kh, kw) windows, no padding.
public func avgPool3d(_ x: Tensor, kernel: (Int, Int, Int), stride: (Int, Int, Int)? = nil) -> Tensor {
    let s = stride ?? kernel
    let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    if s == kernel && kernel == (t, 1, 1) { return meanOverTime(x) }
    if s == kernel && kernel == (1, h, w) { return meanOverSpace(x) }
    let (to, ho, wo) = ((t - kernel.0) / s.0 + 1, (h - kernel.1) / s.1 + 1, (w - kernel.2) / s.2 + 1)
    let y = Tensor.empty([n, c, to, ho, wo])
    let scale = 1 / Float(kernel.0 * kernel.1 * kernel.2)
    func forEachWindow(_ body: (Int, Int) -> Void) {  // (output index, input index)
        var out = 0
        for plane in 0..<(n * c) {
            let base = plane * t * h * w
            for a in 0..<to {
                for b in 0..<ho {
                    for d in 0..<wo {
                        for i in 0..<kernel.0 {
                            for j in 0..<kernel.1 {
                                for k in 0..<kernel.2 {
                                    body(out, base + ((a * s.0 + i) * h + (b * s.1 + j)) * w + d * s.2 + k)
                                }
                            }
                        }
                        out += 1
                    }
                }
            }
        }
    }
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    yp.initialize(repeating: 0, count: y.count)
    forEachWindow { o, i in yp[o] += xp[i] * scale }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        forEachWindow { o, i in dx[i] += dyp[o] * scale }
    }
}

/// Mean over T: N×C×T×H×W → N×C×1×H×W (CT-Net's T-Pool), planes in parallel.
func meanOverTime(_ x: Tensor) -> Tensor {
    let (nc, t, area) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3] * x.shape[4])
    let y = Tensor.empty([x.shape[0], x.shape[1], 1, x.shape[3], x.shape[4]])
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    let scale = 1 / Float(t)
    forEachPlane(nc) { planes in
        for p in planes {
            let out = yp + p * area
            out.initialize(repeating: 0, count: area)
            for i in 0..<t {
                let row = xp + (p * t + i) * area
                for k in 0..<area { out[k] += row[k] }
            }
            for k in 0..<area { out[k] *= scale }
        }
    }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        forEachPlane(nc) { planes in
            for p in planes {
                let g = dyp + p * area
                for i in 0..<t {
                    let row = dx + (p * t + i) * area
                    for k in 0..<area { row[k] += g[k] * scale }
                }
            }
        }
    }
}

/// Mean over H×W: N×C×T×H×W → N×C×T×1×1 (CT-Net's S-Pool), planes in parallel.
func meanOverSpace(_ x: Tensor) -> Tensor {
    let (rows, area) = (x.shape[0] * x.shape[1] * x.shape[2], x.shape[3] * x.shape[4])
    let y = Tensor.empty([x.shape[0], x.shape[1], x.shape[2], 1, 1])
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    let scale = 1 / Float(area)
    forEachPlane(rows) { range in
        for r in range {
            let row = xp + r * area
            var sum: Float = 0
            for k in 0..<area { sum += row[k] }
            yp[r] = sum * scale
        }
    }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        forEachPlane(rows) { range in
            for r in range {
                let row = dx + r * area
                let g = dyp[r] * scale
                for k in 0..<area { row[k] += g }
            }
        }
    }
}

/// Mean over T×H×W: N×C×T×H×W → N×C.
public func globalAvgPool(_ x: Tensor) -> Tensor {
    let (n, c) = (x.shape[0], x.shape[1])
    let volume = x.count / (n * c)
    let y = Tensor.empty([n, c])
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    for plane in 0..<(n * c) {
        var sum: Float = 0
        let base = xp + plane * volume
        for i in 0..<volume { sum += base[i] }
        yp[plane] = sum / Float(volume)
    }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        for plane in 0..<(n * c) {
            let g = dyp[plane] / Float(volume)
            let base = dx + plane * volume
            for i in 0..<volume { base[i] += g }
        }
    }
}

/// Max pooling over time only: windows of `kernel` frames every `stride`
/// frames, `padding` frames of −∞ on both ends (PyTorch's max_pool3d with
/// kernel (k, 1, 1), stride (s, 1, 1), padding (p, 0, 0)); the first maximum
/// wins ties. x: N×C×T×H×W.
public func temporalMaxPool(_ x: Tensor, kernel: Int = 3, stride: Int = 2, padding: Int = 1) -> Tensor {
    let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    precondition(
        kernel >= 1 && stride >= 1 && padding >= 0 && padding <= kernel / 2,
        "temporalMaxPool: kernel ≥ 1, stride ≥ 1, padding ≤ kernel / 2")
    let to = (t + 2 * padding - kernel) / stride + 1
    let area = h * w
    let y = Tensor.empty([n, c, to, h, w])
    // For every output element, the input frame it took.
    var source = [Int32](repeating: 0, count: y.count)
    let xp = x.storage.pointer
    let yp = y.storage.pointer
    source.withUnsafeMutableBufferPointer { sp in
        let sp = sp.baseAddress!
        forEachPlane(n * c) { planes in
            for plane in planes {
                for a in 0..<to {
                    let first = max(0, a * stride - padding)
                    let last = min(t - 1, a * stride - padding + kernel - 1)
                    let out = (plane * to + a) * area
                    for k in 0..<area {
                        var best = xp[(plane * t + first) * area + k]
                        var frame = first
                        if first < last {
                            for f in (first + 1)...last where xp[(plane * t + f) * area + k] > best {
                                best = xp[(plane * t + f) * area + k]
                                frame = f
                            }
                        }
                        yp[out + k] = best
                        sp[out + k] = Int32(frame)
                    }
                }
            }
        }
    }
    let xn = x.node
    return y.record([x]) { dy in
        guard let xn else { return }
        let dx = xn.gradBuffer()
        let dyp = dy.storage.pointer
        source.withUnsafeBufferPointer { sp in
            // Planes own disjoint input elements.
            forEachPlane(n * c) { planes in
                for plane in planes {
                    for a in 0..<to {
                        for k in 0..<area {
                            let out = (plane * to + a) * area + k
                            dx[(plane * t + Int(sp[out])) * area + k] += dyp[out]
                        }
                    }
                }
            }
        }
    }
}
