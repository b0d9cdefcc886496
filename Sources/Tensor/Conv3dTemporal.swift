/// kt×1×1 convolutions with stride 1 and no spatial padding (R(2+1)D's
/// temporal convs): a sample's input is C × (T·H·W), so shifting it by whole
/// frames is an offset into the same matrix. Each tap is then one GEMM over
/// the output frames it reaches, on the input in place: no column matrix on
/// the way in, no col2vol on the way back.

extension Conv3dGeometry {
    var isTemporalOnly: Bool {
        groups == 1 && kernel.h == 1 && kernel.w == 1 && kernel.t > 1 && stride == (1, 1, 1) && padding.h == 0
            && padding.w == 0 && dilation.h == 1 && dilation.w == 1
    }

    /// The output frames [lo, hi) that tap `a` reaches, and the input frame of `lo`.
    func temporalTap(_ a: Int) -> (lo: Int, hi: Int, input: Int) {
        let shift = a * dilation.t - padding.t  // input frame = output frame + shift
        let lo = max(0, -shift)
        let hi = min(output.t, input.t - shift)
        return (lo, max(lo, hi), lo + shift)
    }
}

/// Y (= or +=, with `accumulate`) for `samples`: Σ over taps a of W[:, :, a] ·
/// X shifted by a's frames, then `epilogue` over each sample's output. The
/// tap that reaches every output frame goes first and writes; when none
/// does (padding wider than the kernel's reach), the output is zeroed first.
func temporalForward(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    _ g: Conv3dGeometry, samples: Range<Int>, accumulate: Bool, epilogue: ChannelAffine?
) {
    let (C, O) = (g.inChannels, g.outChannels)
    let plane = g.input.h * g.input.w
    let (P, inputVolume) = (g.outputVolume, g.inputVolume)
    let taps = tapMajor(w, g)
    let (order, full) = g.temporalOrder { $0.lo == 0 && $0.hi == g.output.t }
    for n in samples {
        let xs = x + n * C * inputVolume
        let ys = y + n * O * P
        if !full && !accumulate { ys.initialize(repeating: 0, count: O * P) }
        for (i, a) in order.enumerated() {
            let tap = g.temporalTap(a)
            guard tap.hi > tap.lo else { continue }
            sgemm(
                m: O, n: (tap.hi - tap.lo) * plane, k: C, a: taps.tap(a), lda: C, b: xs + tap.input * plane,
                ldb: inputVolume, beta: accumulate || i > 0 || !full ? 1 : 0, c: ys + tap.lo * plane, ldc: P)
        }
        if let epilogue { for c in 0..<O { epilogue.apply(ys + c * P, count: P, channel: c) } }
    }
}

/// dX for `samples`: per tap, Wᵀ[:, :, a] · dY into the frames it came from,
/// added into `dx`, or written over the samples' planes with `overwrite`: the
/// tap whose frames are the whole input goes first and writes (when none
/// is, the planes are zeroed first).
func temporalBackwardData(
    _ w: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: Conv3dGeometry,
    samples: Range<Int>, overwrite: Bool = false
) {
    let (C, O) = (g.inChannels, g.outChannels)
    let plane = g.input.h * g.input.w
    let taps = tapMajor(w, g)
    let (order, full) = g.temporalOrder { $0.input == 0 && $0.hi - $0.lo == g.input.t }
    for n in samples {
        let dxs = dx + n * C * g.inputVolume
        if overwrite && !full { g.zeroInputPlanes(dx, samples: n..<(n + 1)) }
        for (i, a) in order.enumerated() {
            let tap = g.temporalTap(a)
            guard tap.hi > tap.lo else { continue }
            sgemm(
                transA: true, m: C, n: (tap.hi - tap.lo) * plane, k: O, a: taps.tap(a), lda: C,
                b: dy + n * O * g.outputVolume + tap.lo * plane, ldb: g.outputVolume,
                beta: overwrite && i == 0 && full ? 0 : 1, c: dxs + tap.input * plane, ldc: g.inputVolume)
        }
    }
}

/// dW for `samples`: per tap, dY · (X shifted by the tap's frames)ᵀ, added
/// into `dw`, or written over it with `overwrite`.
func temporalBackwardWeight(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ g: Conv3dGeometry,
    samples: Range<Int>, overwrite: Bool = false
) {
    let (C, O, kt) = (g.inChannels, g.outChannels, g.kernel.t)
    let plane = g.input.h * g.input.w
    let taps = TapMatrices(g, zeroed: true)
    for n in samples {
        for a in 0..<kt {
            let tap = g.temporalTap(a)
            guard tap.hi > tap.lo else { continue }
            sgemm(
                transB: true, m: O, n: C, k: (tap.hi - tap.lo) * plane, a: dy + n * O * g.outputVolume + tap.lo * plane,
                lda: g.outputVolume, b: x + n * C * g.inputVolume + tap.input * plane, ldb: g.inputVolume, beta: 1,
                c: taps.tap(a), ldc: C)
        }
    }
    taps.put(into: dw, adding: !overwrite)
}

extension Conv3dGeometry {
    /// The taps in the order a temporal pass runs them: first the one that
    /// `covers` (its products then write the whole plane), if any, and
    /// whether there is one.
    fileprivate func temporalOrder(
        covers: ((lo: Int, hi: Int, input: Int)) -> Bool
    ) -> (order: [Int], full: Bool) {
        let taps = Array(0..<kernel.t)
        guard let full = taps.first(where: { covers(temporalTap($0)) }) else { return (taps, false) }
        return ([full] + taps.filter { $0 != full }, true)
    }
}

/// The weights O × C × kt as kt matrices O × C, one per tap (a GEMM needs
/// unit stride along one side; in the weight, channels are kt apart).
private final class TapMatrices {
    let storage: Storage
    let (outChannels, inChannels, kt): (Int, Int, Int)

    /// Zeros, or left to be written when not `zeroed`.
    init(_ g: Conv3dGeometry, zeroed: Bool) {
        (outChannels, inChannels, kt) = (g.outChannels, g.inChannels, g.kernel.t)
        storage = Storage(count: outChannels * inChannels * kt, zeroed: zeroed)
    }

    func tap(_ a: Int) -> UnsafeMutablePointer<Float> { storage.pointer + a * outChannels * inChannels }

    /// Index of weight (o, c, a) in the O × C × kt layout.
    @inline(__always) func weightIndex(_ o: Int, _ c: Int, _ a: Int) -> Int { (o * inChannels + c) * kt + a }

    /// dW += these matrices (or dW = them, when not `adding`), back in the weight's layout.
    func put(into dw: UnsafeMutablePointer<Float>, adding: Bool) {
        for a in 0..<kt {
            let m = tap(a)
            for o in 0..<outChannels {
                for c in 0..<inChannels {
                    let value = m[o * inChannels + c]
                    if adding { dw[weightIndex(o, c, a)] += value } else { dw[weightIndex(o, c, a)] = value }
                }
            }
        }
    }
}

/// The weight `w` of `g` as tap matrices.
private func tapMajor(_ w: UnsafePointer<Float>, _ g: Conv3dGeometry) -> TapMatrices {
    let taps = TapMatrices(g, zeroed: false)
    for a in 0..<g.kernel.t {
        let m = taps.tap(a)
        for o in 0..<g.outChannels {
            for c in 0..<g.inChannels { m[o * g.inChannels + c] = w[taps.weightIndex(o, c, a)] }
        }
    }
    return taps
}
