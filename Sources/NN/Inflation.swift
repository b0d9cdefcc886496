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
/// layout (`conv1.weight`, `layer1.0.conv2.weight`, `layer1.0.downsample.0.weight`,
/// `fc.weight`, …), the names ClipKit's ResNets use:
/// - same shape: copied (BN statistics and affine, classifier, 1×1 convs);
/// - a 3D O×I×t×k×k kernel from a 2D O×I×k×k one: inflated (`inflation`);
/// - S3D's separable middle conv: its 1×k×k part from the 2D conv, its t×1×1
///   part the identity at the centre tap and its inner BN the identity (the
///   ReLU between them still clips negative values, so this block is the 2D
///   one only where the spatial conv's output is non-negative);
/// - anything else (a classifier of another size, STDCF atoms, CT-Modules)
///   keeps its initial values and is listed.
public func inflate(_ model: Module, from2D state: [String: Tensor], inflation: Inflation = .mean) -> InflationReport {
    var report = InflationReport()
    var used = Set<String>()
    // Prefixes ("layer1.0.conv2.") of S3D's separable convs.
    let separableConvs = Set(model.parameters().map(\.0).filter { $0.hasSuffix(".spatial.weight") }.map { String($0.dropLast("spatial.weight".count)) })
    for (name, target) in model.parameters() + model.buffers() {
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
                let taps = shape[2] * shape[3] * shape[4], centre = (shape[2] / 2) * shape[3] * shape[4] + (shape[3] / 2) * shape[4] + shape[4] / 2
                for c in 0..<min(shape[0], shape[1]) { values[(c * shape[1] + c) * taps + centre] = 1 }
                target.assign(values)
                report.identity.append(name)
            default:   // the inner BN: γ = 1, β = 0, mean 0, variance 1
                let one = part == "bn.weight" || part == "bn.running_var"
                target.assign([Float](repeating: one ? 1 : 0, count: target.count))
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
    for part in ["spatial.weight", "temporal.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"] where name.hasSuffix("." + part) {
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
