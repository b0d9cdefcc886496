import Foundation
import NN
import Tensor
import Testing

@testable import Train

/// A model that can only attend to bright pixels: a 1×1×1 conv with positive
/// weights (so bright input is positive, dark negative), ReLU, global average
/// pool, and a classifier that scores class 0 by the conv's channels.
private final class BrightnessProbe: Module {
    let conv: Conv3d, fc: Linear
    override init() {
        var rng = SeededRNG(seed: 1)
        conv = Conv3d(inputChannels: 3, outputChannels: 4, kernelSize: (1, 1, 1), bias: false, rng: &rng)
        conv.weight.assign((0..<12).map { 0.2 + 0.05 * Float($0 % 5) })
        fc = Linear(inputFeatures: 4, outputFeatures: 2, rng: &rng)
        fc.weight.assign([0.5, 0.3, 0.8, 0.4, -0.2, 0.1, -0.3, 0.2])
    }
    override var children: [(String, Module)] { [("conv", conv), ("fc", fc)] }
    override func forward(_ x: Tensor) -> Tensor { fc(globalAvgPool(relu(conv(x)))) }
}

@Suite struct GradCAMTests {
    /// A bright 4×6 patch (rows 2–5, columns 8–13: off-centre and not square,
    /// so a transposed or flipped map misses it) on a dark 16×16 background.
    func clip(frames: Int = 4) -> (Tensor, Set<Int>) {
        var values = [Float](repeating: -1, count: 3 * frames * 256)
        var inside = Set<Int>()
        for c in 0..<3 {
            for t in 0..<frames {
                for y in 2...5 {
                    for x in 8...13 {
                        values[((c * frames + t) * 16 + y) * 16 + x] = 1.5
                        if c == 0 { inside.insert((t * 16 + y) * 16 + x) }
                    }
                }
            }
        }
        return (Tensor(shape: [1, 3, frames, 16, 16], values: values), inside)
    }

    @Test func theMapLiesOnTheRegionTheModelCanSee() throws {
        let (x, inside) = clip()
        let map = try gradCAM(model: BrightnessProbe(), clip: x)
        #expect(map.layer == "conv" && map.target == 0 && map.values.count == 4 * 256)
        let total = map.values.reduce(0, +)
        let mass = inside.reduce(Float(0)) { $0 + map.values[$1] }
        #expect(total > 0 && mass / total > 0.95, "mass on the patch: \(mass / total)")
        #expect(map.values.max() == 1 && map.values.min()! >= 0)
        // A class whose weights avoid the patch's channels has no positive map.
        let other = try gradCAM(model: BrightnessProbe(), clip: x, target: 1)
        #expect(other.target == 1 && abs(other.probabilities.reduce(0, +) - 1) < 1e-5)
    }

    @Test func layersAndClassesAreChecked() throws {
        let (x, _) = clip()
        #expect(spatiotemporalLayers(BrightnessProbe(), clip: x) == ["conv"])
        #expect(throws: GradCAMError.self) { try gradCAM(model: BrightnessProbe(), clip: x, layer: "fc") }
        #expect(throws: GradCAMError.self) { try gradCAM(model: BrightnessProbe(), clip: x, target: 5) }
        // The parameters' gradients are left as they were.
        let probe = BrightnessProbe()
        _ = try gradCAM(model: probe, clip: x)
        #expect(probe.parameters().allSatisfy { $0.1.grad == nil })
    }

    @Test func blendingIsHalfFrameHalfJet() {
        let map = ClassActivationMap(
            values: [0, 1], frames: 1, height: 1, width: 2, layer: "x", layerSize: [1, 1, 1], target: 0,
            probabilities: [1])
        #expect(blendHeatMap(map, frames: [100, 100, 100, 100, 100, 100]) == [50, 50, 114, 114, 50, 50])
    }
}
