import Tensor

/// How a 2D k×k kernel becomes a t×k×k one.
public enum Inflation: String, Sendable, CaseIterable {
    /// I3D's: the 2D kernel repeated t times along time and divided by t, so a
    /// clip of identical frames gives the 2D response (away from the temporal padding).
    case mean
    /// The 2D kernel at the centre tap, zeros elsewhere: every frame gets
    /// exactly the 2D response, whatever the clip.
    case centre
}

/// What `inflate` did, by 3D name.
public struct InflationReport: Sendable {
    /// Copied as they are (BN, classifier, 1×1 convs) or inflated from t = 1.
    public var mapped: [String] = []
    /// Set to an identity so that the block computes what the 2D one did as
    /// far as it can (S3D's temporal convs: the centre tap is the identity).
    public var identity: [String] = []
    /// Kept at their initial values, with the reason.
    public var unmapped: [(name: String, reason: String)] = []
    /// 2D tensors nothing took (a classifier of another size…; BN step counters are not listed).
    public var unused: [String] = []
}

/// Builds a 3D model's weights from a 2D network's state dict in torchvision's
/// layout, the names ClipKit's ResNets (`conv1.weight`, `layer1.0.conv2.weight`,
/// `layer1.0.downsample.0.weight`, `fc.weight`, …) and InceptionV1s
/// (`conv1.conv.weight`, `inception3a.branch2.1.conv.weight`, … of
/// `torchvision.models.googlenet`; its `aux1`/`aux2` classifiers are left unused) use:
/// - same shape: copied (BN statistics and affine, classifier, 1×1 convs);
/// - a 3D O×I×t×k×k kernel from a 2D O×I×k×k one: inflated (`inflation`);
/// - S3D's separable convs: the 1×k×k part from the 2D conv, the t×1×1
///   part the identity at the centre tap and the inner BN the identity (the
///   ReLU between them still clips negative values, so this block is the 2D
///   one only where the spatial conv's output is non-negative);
/// - an STDCF layer from a 2D O×I×k×k kernel: atoms and coefficients fitted
///   by least squares (`fitSTDCF`);
/// - anything else (a classifier of another size, CT-Modules) keeps its
///   initial values and is listed.
public func inflate(_ model: Module, from2D state: [String: Tensor], inflation: Inflation = .mean) -> InflationReport {
    var report = InflationReport()
    var used = Set<String>()
    // STDCF layers: the three tensors of each are fitted together.
    for (name, module) in model.namedModules() {
        guard let layer = module as? STDCFConv, !name.isEmpty else { continue }
        let prefix = name + "."
        guard let source = state[prefix + "weight"],
            source.shape == [layer.outputChannels, layer.inputChannels, layer.spatialSize, layer.spatialSize]
        else {
            continue  // listed below as unmapped, with the reason
        }
        fitSTDCF(layer, to2D: source, inflation: inflation)
        used.insert(prefix + "weight")
        report.mapped += ["spatial_atoms", "temporal_atoms", "coefficients"].map { prefix + $0 }
    }
    let fitted = Set(report.mapped)
    // Prefixes ("layer1.0.conv2.") of S3D's separable convs.
    let separableConvs = Set(
        model.parameters().map(\.0).filter { $0.hasSuffix(".spatial.weight") }.map {
            String($0.dropLast("spatial.weight".count))
        })
    let separableBNs = Dictionary(
        uniqueKeysWithValues: model.namedModules().compactMap { name, module in
            (module as? SeparableConv3d).map { (name + ".", $0.bn) }
        })
    for (name, target) in model.parameters() + model.buffers() where !fitted.contains(name) {
        let shape = target.shape
        // S3D: "X.spatial.weight" ← "X.weight"; X's temporal conv and inner BN become identities.
        if let (prefix, part) = separablePart(name, in: separableConvs) {
            switch part {
            case "spatial.weight":
                if let source = state[prefix + "weight"], inflatable(source.shape, into: shape) {
                    target.assign(inflated(source, into: shape, inflation))
                    used.insert(prefix + "weight")
                    report.mapped.append(name)
                } else {
                    report.unmapped.append((name, "the 2D network has no k×k '\(prefix)weight' for it"))
                }
            case "temporal.weight":
                var values = [Float](repeating: 0, count: target.count)
                let taps = shape[2] * shape[3] * shape[4]
                let centre = (shape[2] / 2) * shape[3] * shape[4] + (shape[3] / 2) * shape[4] + shape[4] / 2
                for c in 0..<min(shape[0], shape[1]) { values[(c * shape[1] + c) * taps + centre] = 1 }
                target.assign(values)
                report.identity.append(name)
            default:  // the inner BN: γ = 1, β = 0, mean 0, variance 1 − ε (so that it divides by 1)
                let epsilon = separableBNs[prefix]?.epsilon ?? 0
                let value: Float = part == "bn.weight" ? 1 : part == "bn.running_var" ? 1 - epsilon : 0
                target.assign([Float](repeating: value, count: target.count))
                report.identity.append(name)
            }
            continue
        }
        guard let source = state[name] else {
            report.unmapped.append((name, "the 2D network has no '\(name)'"))
            continue
        }
        if source.shape == shape {
            target.assign(source.scalars)
        } else if source.shape.count == 4, inflatable(source.shape, into: shape) {
            target.assign(inflated(source, into: shape, inflation))
        } else {
            report.unmapped.append((name, "2D shape \(source.shape), 3D shape \(shape)"))
            continue
        }
        used.insert(name)
        report.mapped.append(name)
    }
    // torchvision's BN step counters have no use here.
    report.unused = state.keys.filter { !used.contains($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
    return report
}

/// ("layer1.0.conv2.", "spatial.weight") for a tensor of a separable conv.
private func separablePart(_ name: String, in prefixes: Set<String>) -> (String, String)? {
    for part in ["spatial.weight", "temporal.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
    where name.hasSuffix("." + part) {
        let prefix = String(name.dropLast(part.count))
        if prefixes.contains(prefix) { return (prefix, part) }
    }
    return nil
}

/// An O×I×k×k kernel fits an O×I×t×k×k one.
private func inflatable(_ source: [Int], into target: [Int]) -> Bool {
    target.count == 5 && source == [target[0], target[1], target[3], target[4]]
}

private func inflated(_ source: Tensor, into shape: [Int], _ inflation: Inflation) -> [Float] {
    let (o, i, t, area) = (shape[0], shape[1], shape[2], shape[3] * shape[4])
    let w = source.scalars
    var out = [Float](repeating: 0, count: o * i * t * area)
    for oi in 0..<(o * i) {
        for tap in 0..<t where inflation == .mean || tap == t / 2 {
            let scale: Float = inflation == .mean ? 1 / Float(t) : 1
            for k in 0..<area { out[(oi * t + tap) * area + k] = w[oi * area + k] * scale }
        }
    }
    return out
}

/// STDCF atoms and coefficients from a 2D kernel, by least squares. The 3D
/// kernel to match is W₃[o,c,τ,u] = p[τ]·W₂[o,c,u], with the temporal profile
/// p of the inflation (1/t everywhere for `mean`, the centre tap for
/// `centre`). An STDCF kernel is Σᵢⱼ α[o,c,i,j] ψᵢ[u] φⱼ[τ]. With ψ the top M
/// right singular vectors of the stacked 2D kernels (OC × k²) and φ₀ = p/|p|
/// (the other temporal atoms orthonormal to it), α[o,c,i,0] = |p|·⟨W₂[o,c], ψᵢ⟩
/// and α[·,·,·,j>0] = 0 minimise ‖W_STDCF − W₃‖ over all α, ψ, φ: the
/// temporal factor is exact, and by Eckart–Young no M spatial atoms
/// approximate every 2D kernel better than the top M singular vectors do.
public func fitSTDCF(_ layer: STDCFConv, to2D kernel: Tensor, inflation: Inflation) {
    let (o, c, m, n) = (layer.outputChannels, layer.inputChannels, layer.m, layer.n)
    let k2 = layer.spatialSize * layer.spatialSize
    let t = layer.temporalSize
    let w = kernel.scalars.map(Double.init)  // OC × k²
    // Gram matrix G = W₂ᵀW₂ (k² × k²); its top eigenvectors are the right singular vectors.
    var gram = [Double](repeating: 0, count: k2 * k2)
    for r in 0..<(o * c) { for a in 0..<k2 { for b in 0..<k2 { gram[a * k2 + b] += w[r * k2 + a] * w[r * k2 + b] } } }
    let (values, vectors) = symmetricEigen(gram, size: k2)
    let order = values.indices.sorted { values[$0] > values[$1] }
    var psi = [Double](repeating: 0, count: m * k2)
    for i in 0..<min(m, k2) { for u in 0..<k2 { psi[i * k2 + u] = vectors[u * k2 + order[i]] } }
    // φ₀ along the temporal profile, the rest orthonormal to it (Gram–Schmidt on the unit vectors).
    var profile = [Double](repeating: inflation == .mean ? 1 / Double(t) : 0, count: t)
    if inflation == .centre { profile[t / 2] = 1 }
    let norm = profile.map { $0 * $0 }.reduce(0, +).squareRoot()
    var phi: [[Double]] = [profile.map { $0 / norm }]
    var candidate = 0
    while phi.count < n && candidate < t {
        var v = [Double](repeating: 0, count: t)
        v[candidate] = 1
        candidate += 1
        for q in phi {
            let dot = zip(v, q).map(*).reduce(0, +)
            for i in 0..<t { v[i] -= dot * q[i] }
        }
        let length = v.map { $0 * $0 }.reduce(0, +).squareRoot()
        if length > 1e-6 { phi.append(v.map { $0 / length }) }
    }
    var alpha = [Float](repeating: 0, count: o * c * m * n)
    for r in 0..<(o * c) {
        for i in 0..<m {
            var dot = 0.0
            for u in 0..<k2 { dot += w[r * k2 + u] * psi[i * k2 + u] }
            alpha[(r * m + i) * n] = Float(norm * dot)
        }
    }
    layer.spatialAtoms.assign(psi.map(Float.init))
    layer.temporalAtoms.assign(phi.flatMap { $0 }.map(Float.init))
    layer.coefficients.assign(alpha)
}

/// Eigenvalues and eigenvectors (columns of a row-major size×size matrix) of
/// a symmetric matrix, by cyclic Jacobi rotations.
func symmetricEigen(_ matrix: [Double], size: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: size * size)
    for i in 0..<size { v[i * size + i] = 1 }
    for _ in 0..<100 {
        var off = 0.0
        for p in 0..<size { for q in (p + 1)..<size { off += a[p * size + q] * a[p * size + q] } }
        if off < 1e-24 { break }
        for p in 0..<size {
            for q in (p + 1)..<size where abs(a[p * size + q]) > 1e-300 {
                let theta = (a[q * size + q] - a[p * size + p]) / (2 * a[p * size + q])
                let tangent = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                let cosine = 1 / (tangent * tangent + 1).squareRoot()
                let sine = tangent * cosine
                for k in 0..<size {  // columns p, q
                    let akp = a[k * size + p]
                    let akq = a[k * size + q]
                    a[k * size + p] = cosine * akp - sine * akq
                    a[k * size + q] = sine * akp + cosine * akq
                }
                for k in 0..<size {  // rows p, q
                    let apk = a[p * size + k]
                    let aqk = a[q * size + k]
                    a[p * size + k] = cosine * apk - sine * aqk
                    a[q * size + k] = sine * apk + cosine * aqk
                }
                for k in 0..<size {
                    let vkp = v[k * size + p]
                    let vkq = v[k * size + q]
                    v[k * size + p] = cosine * vkp - sine * vkq
                    v[k * size + q] = sine * vkp + cosine * vkq
                }
            }
        }
    }
    return ((0..<size).map { a[$0 * size + $0] }, v)
}
