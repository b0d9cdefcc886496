import Foundation
import NN
import Tensor

/// A Grad-CAM map of one clip (Selvaraju et al.; mmaction2's `GradCAM`):
/// the chosen layer's activations A (C×T'×H'×W') weighted by the mean of
/// ∂score/∂A over each channel, summed over channels, rectified, brought to
/// the clip's T×H×W (nearest in time, bilinear in space) and scaled to [0, 1].
public struct ClassActivationMap: Sendable {
    /// T×H×W values in [0, 1], time-major.
    public var values: [Float]
    public var frames: Int, height: Int, width: Int
    /// The layer used and the size of its map before upsampling (T', H', W').
    public var layer: String
    public var layerSize: [Int]
    /// The class explained and the model's softmax over the classes.
    public var target: Int
    public var probabilities: [Float]
}

public struct GradCAMError: Error, CustomStringConvertible {
    public var description: String
}

/// The names of `model`'s modules whose output on `clip` is N×C×T×H×W, in
/// the order they finish (the last one is nearest the classifier).
public func spatiotemporalLayers(_ model: Module, clip: Tensor) -> [String] {
    var names: [String] = []
    let modules = model.namedModules().filter { !$0.0.isEmpty }
    for (name, module) in modules { module.onOutput = { y in if y.rank == 5 { names.append(name) } } }
    defer { for (_, module) in modules { module.onOutput = nil } }
    model.eval()
    _ = GradMode.withNoGrad { model(clip) }
    return names
}

/// Grad-CAM of `clip` (1×C×T×H×W) for class `target` (default: the
/// predicted one) at `layer` (default: the last module with an
/// N×C×T×H×W output). BN runs on its running statistics.
public func gradCAM(model: Module, clip: Tensor, layer requested: String? = nil, target requestedClass: Int? = nil)
    throws -> ClassActivationMap
{
    guard clip.rank == 5, clip.shape[0] == 1 else {
        throw GradCAMError(description: "Grad-CAM takes one clip (1×C×T×H×W), got \(clip.shape)")
    }
    let layer = try chooseLayer(model, clip: clip, requested: requested)
    guard let module = model.namedModules().first(where: { $0.0 == layer })?.1 else {
        throw GradCAMError(description: "no layer '\(layer)'")
    }
    var activation: Tensor?
    module.onOutput = { y in
        activation = y
        y.retainGrad()
    }
    defer { module.onOutput = nil }
    model.eval()
    // Gradients for the activations only: parameters keep theirs as they were.
    let saved = model.parameters().map { ($0.1, $0.1.grad) }
    defer { for (p, g) in saved { p.grad = g } }
    let logits = model(clip)
    let classes = logits.count
    let scores = logits.scalars
    let top = scores.max() ?? 0
    let e = scores.map { exp($0 - top) }
    let probabilities = e.map { $0 / e.reduce(0, +) }
    let target = requestedClass ?? scores.indices.max { scores[$0] < scores[$1] }!
    guard (0..<classes).contains(target) else {
        throw GradCAMError(description: "class \(target) is outside the model's \(classes) classes")
    }
    guard let a = activation else { throw GradCAMError(description: "layer '\(layer)' did not run") }
    var pick = [Float](repeating: 0, count: classes)
    pick[target] = 1
    weightedSum(logits, Tensor(shape: logits.shape, values: pick)).backward()
    guard let gradient = a.grad else {
        throw GradCAMError(description: "no gradient reached layer '\(layer)' (is it frozen or after the classifier?)")
    }
    let (c, t, h, w) = (a.shape[1], a.shape[2], a.shape[3], a.shape[4])
    let plane = t * h * w
    let values = a.scalars
    let grads = gradient.scalars
    var map = [Float](repeating: 0, count: plane)
    for ch in 0..<c {
        let weight = grads[(ch * plane)..<((ch + 1) * plane)].reduce(0, +) / Float(plane)
        for i in 0..<plane { map[i] += weight * values[ch * plane + i] }
    }
    map = map.map { max(0, $0) }
    let (frames, height, width) = (clip.shape[2], clip.shape[3], clip.shape[4])
    var out = upsample(map, from: (t, h, w), to: (frames, height, width))
    if let peak = out.max(), peak > 0 { out = out.map { $0 / peak } }
    return ClassActivationMap(
        values: out, frames: frames, height: height, width: width, layer: layer, layerSize: [t, h, w],
        target: target, probabilities: probabilities)
}

/// The layer Grad-CAM looks at: `requested`, which must have an N×C×T×H×W
/// output, or else the last module that has one.
private func chooseLayer(_ model: Module, clip: Tensor, requested: String?) throws -> String {
    let candidates = spatiotemporalLayers(model, clip: clip)
    if let requested {
        guard candidates.contains(requested) else {
            let known = Array(Set(candidates)).sorted().joined(separator: ", ")
            throw GradCAMError(
                description: "layer '\(requested)' has no N×C×T×H×W output (layers that do: \(known))")
        }
        return requested
    } else {
        guard let last = candidates.last else {
            throw GradCAMError(description: "the model has no module with an N×C×T×H×W output")
        }
        return last
    }
}

/// A T'×H'×W' map brought to T×H×W: nearest in time, bilinear in space.
private func upsample(
    _ map: [Float], from source: (t: Int, h: Int, w: Int), to size: (frames: Int, height: Int, width: Int)
) -> [Float] {
    let (t, h, w) = source
    let (frames, height, width) = size
    var out = [Float](repeating: 0, count: frames * height * width)
    for f in 0..<frames {
        let source = min(t - 1, f * t / frames)
        for y in 0..<height {
            // Bilinear, half-pixel centres (align_corners = false).
            let sy = max(0, min(Float(h - 1), (Float(y) + 0.5) * Float(h) / Float(height) - 0.5))
            let y0 = Int(sy)
            let y1 = min(h - 1, y0 + 1)
            let fy = sy - Float(y0)
            for x in 0..<width {
                let sx = max(0, min(Float(w - 1), (Float(x) + 0.5) * Float(w) / Float(width) - 0.5))
                let x0 = Int(sx)
                let x1 = min(w - 1, x0 + 1)
                let fx = sx - Float(x0)
                let base = source * h * w
                let top = map[base + y0 * w + x0] * (1 - fx) + map[base + y0 * w + x1] * fx
                let bottom = map[base + y1 * w + x0] * (1 - fx) + map[base + y1 * w + x1] * fx
                out[(f * height + y) * width + x] = top * (1 - fy) + bottom * fy
            }
        }
    }
    return out
}

/// The map blended over the clip's frames as mmaction2's `vis_cam` does:
/// half the frame, half a jet-coloured heat map. `frames` is T×H×W×3 RGB.
public func blendHeatMap(_ map: ClassActivationMap, frames: [UInt8], alpha: Float = 0.5) -> [UInt8] {
    precondition(frames.count == map.values.count * 3, "one RGB pixel per map value")
    var out = [UInt8](repeating: 0, count: frames.count)
    for (i, v) in map.values.enumerated() {
        let heat = jet(v)
        for k in 0..<3 {
            out[i * 3 + k] = UInt8(max(0, min(255, (1 - alpha) * Float(frames[i * 3 + k]) + alpha * heat[k])).rounded())
        }
    }
    return out
}

/// Matplotlib's jet colour map at v in [0, 1], as 0…255 RGB.
func jet(_ v: Float) -> [Float] {
    func channel(_ offset: Float) -> Float { 255 * max(0, min(1, 1.5 - abs(4 * v - offset))) }
    return [channel(3), channel(2), channel(1)]
}
