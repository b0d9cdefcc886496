import CKernels  // its x86-64 kernels are declared on x86-64 only

// Batch norm's passes over one channel of one sample: the C kernels of a SIMD
// level (CKernels' batch_norm_body.h), or at `.portable` the Swift loops
// below, their twins. The elementwise passes equal their twins exactly (the
// same multiplies and adds, unfused); the sums differ only in their order.

/// (Σx, Σx²) of `count` floats.
func sumAndSquares(_ x: UnsafePointer<Float>, count: Int, level: SIMDLevel) -> (Float, Float) {
    #if arch(x86_64)
        if level != .portable {
            let kernel = level == .avx512 ? ck_bn_sums_avx512 : ck_bn_sums_avx2
            return twoSums { kernel(x, Int64(count), $0) }
        }
    #endif
    // 16 lanes: a single running sum is one long chain of dependent adds that
    // no compiler may reorder, and it made the statistics pass several times
    // slower than the memory it reads.
    var sum = SIMD16<Float>()
    var squares = SIMD16<Float>()
    let raw = UnsafeRawPointer(x)
    var i = 0
    while i + 16 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        sum += v
        squares += v * v
        i += 16
    }
    var s = sum.sum()
    var q = squares.sum()
    while i < count {
        s += x[i]
        q += x[i] * x[i]
        i += 1
    }
    return (s, q)
}

/// BN backward's (Σdz, Σdz·x̂) with x̂ = (x − mean)·invStd, where dz is dy, or
/// 0 where the fused ReLU's input x·reluScale + reluShift was ≤ 0.
func gradientSums(
    _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, mean: Float, invStd: Float,
    reluScale: Float?, reluShift: Float, level: SIMDLevel
) -> (Float, Float) {
    #if arch(x86_64)
        if level != .portable {
            let kernel = level == .avx512 ? ck_bn_gradient_sums_avx512 : ck_bn_gradient_sums_avx2
            return twoSums {
                kernel(dy, x, Int64(count), mean, invStd, reluScale == nil ? 0 : 1, reluScale ?? 0, reluShift, $0)
            }
        }
    #endif
    var sumDz = SIMD16<Float>()
    var sumDzXhat = SIMD16<Float>()
    let rawDy = UnsafeRawPointer(dy)
    let rawX = UnsafeRawPointer(x)
    var i = 0
    while i + 16 <= count {
        var d = rawDy.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let v = rawX.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        if let k = reluScale { d.replace(with: 0, where: v * k + reluShift .<= 0) }
        sumDz += d
        sumDzXhat += d * ((v - mean) * invStd)
        i += 16
    }
    var a = sumDz.sum()
    var b = sumDzXhat.sum()
    while i < count {
        let d = reluScale.map { x[i] * $0 + reluShift <= 0 ? 0 : dy[i] } ?? dy[i]
        a += d
        b += d * ((x[i] - mean) * invStd)
        i += 1
    }
    return (a, b)
}

/// `gradientSums` for relu(BN(x) + residual): dz is dy where the op's
/// output `gate` is > 0, else 0 (also where it is NaN, as in `addReLU`'s
/// gradient); dz is also written to `ds` (the residual's gradient), or added
/// to it when `accumulate`.
func gatedGradientSums(
    _ dy: UnsafePointer<Float>, gate: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, mean: Float,
    invStd: Float, ds: UnsafeMutablePointer<Float>?, accumulate: Bool, level: SIMDLevel
) -> (Float, Float) {
    #if arch(x86_64)
        if level != .portable {
            let kernel = level == .avx512 ? ck_bn_gated_gradient_sums_avx512 : ck_bn_gated_gradient_sums_avx2
            return twoSums { kernel(dy, gate, x, Int64(count), mean, invStd, ds, accumulate ? 1 : 0, $0) }
        }
    #endif
    var sumDz = SIMD16<Float>()
    var sumDzXhat = SIMD16<Float>()
    let (rawDy, rawGate, rawX) = (UnsafeRawPointer(dy), UnsafeRawPointer(gate), UnsafeRawPointer(x))
    var i = 0
    while i + 16 <= count {
        var d = rawDy.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        d.replace(with: 0, where: .!(rawGate.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) .> 0))
        if let ds {
            let raw = UnsafeMutableRawPointer(ds)
            let sum = accumulate ? raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) + d : d
            raw.storeBytes(of: sum, toByteOffset: i * 4, as: SIMD16<Float>.self)
        }
        sumDz += d
        sumDzXhat += d * ((rawX.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - mean) * invStd)
        i += 16
    }
    var a = sumDz.sum()
    var b = sumDzXhat.sum()
    while i < count {
        let d = gate[i] > 0 ? dy[i] : 0
        if let ds { ds[i] = accumulate ? ds[i] + d : d }
        a += d
        b += d * ((x[i] - mean) * invStd)
        i += 1
    }
    return (a, b)
}

/// y = max((x·scale + shift) + add, 0) over `count` floats: relu(BN(x) +
/// residual), as `addReLU` writes it (a NaN sum stays NaN).
func batchNormAffineAddReLU(
    _ x: UnsafePointer<Float>, add: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
    scale: Float, shift: Float, level: SIMDLevel
) {
    #if arch(x86_64)
        if level != .portable {
            let kernel = level == .avx512 ? ck_bn_affine_add_relu_avx512 : ck_bn_affine_add_relu_avx2
            kernel(x, add, y, Int64(count), scale, shift)
            return
        }
    #endif
    for i in 0..<count { y[i] = max((x[i] * scale + shift) + add[i], 0) }
}

/// y = x·scale + shift, then max(0, ·) when `relu`, over `count` floats.
func batchNormAffine(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float, relu: Bool,
    level: SIMDLevel
) {
    #if arch(x86_64)
        if level != .portable {
            let kernel = level == .avx512 ? ck_bn_affine_avx512 : ck_bn_affine_avx2
            kernel(x, y, Int64(count), scale, shift, relu ? 1 : 0)
            return
        }
    #endif
    if relu {
        for i in 0..<count { y[i] = max(0, x[i] * scale + shift) }
    } else {
        for i in 0..<count { y[i] = x[i] * scale + shift }
    }
}

/// BN backward's dx over `count` floats: k·(dz − a − (x − mean)·invStd·b)
/// with the batch's `statistics` (training), else k·dz; dz as in
/// `gradientSums` with reluScale k and reluShift `shift`, or as in
/// `gatedGradientSums` where a `gate` is given (and `relu` is false).
/// Written, or added to dx when `accumulate`.
func batchNormInputGradient(
    _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, count: Int, k: Float,
    shift: Float, relu: Bool, gate: UnsafePointer<Float>? = nil,
    statistics: (a: Float, b: Float, mean: Float, invStd: Float)?, accumulate: Bool, level: SIMDLevel
) {
    precondition(gate == nil || !relu, "batchNormInputGradient: a gate or the ReLU, not both")
    #if arch(x86_64)
        if level != .portable {
            let (a, b, mean, invStd) = statistics ?? (0, 0, 0, 0)
            let (training, add) = (Int32(statistics == nil ? 0 : 1), Int32(accumulate ? 1 : 0))
            let kernel = level == .avx512 ? ck_bn_input_gradient_avx512 : ck_bn_input_gradient_avx2
            kernel(dy, gate, x, dx, Int64(count), k, shift, relu ? 1 : 0, training, a, b, mean, invStd, add)
            return
        }
    #endif
    // `i` indexes the gate; g and xv are dy[i] and x[i].
    @inline(__always) func dz(_ g: Float, _ xv: Float, _ i: Int) -> Float {
        if let gate { return gate[i] > 0 ? g : 0 }
        return relu && xv * k + shift <= 0 ? 0 : g
    }
    // Written or added, with the branch outside the loops.
    func each(_ value: (Int) -> Float) {
        if accumulate {
            for i in 0..<count { dx[i] += value(i) }
        } else {
            for i in 0..<count { dx[i] = value(i) }
        }
    }
    if let s = statistics {
        each { i in k * (dz(dy[i], x[i], i) - s.a - (x[i] - s.mean) * s.invStd * s.b) }
    } else {
        each { i in k * dz(dy[i], x[i], i) }
    }
}

/// The two floats a sums kernel writes.
@inline(__always) private func twoSums(_ kernel: (UnsafeMutablePointer<Float>) -> Void) -> (Float, Float) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2) { sums in
        kernel(sums.baseAddress!)
        return (sums[0], sums[1])
    }
}

/// The naive twins of the reductions, for tests (sums in Double).
func sumAndSquaresNaive(_ x: [Float]) -> (Double, Double) {
    (x.reduce(0) { $0 + Double($1) }, x.reduce(0) { $0 + Double($1) * Double($1) })
}
