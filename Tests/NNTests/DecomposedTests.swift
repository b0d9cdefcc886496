import Foundation
import TestSupport
import Testing
import Train

@testable import NN
@testable import Tensor

let golden = try! GoldenTensors(fixture("golden/tensor_ops.safetensors"))

func values(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SeededRNG(seed: seed)
    return (0..<count).map { _ in Float.random(in: -1..<1, using: &rng) }
}

/// Forward and every gradient (input, α, ψ, φ) of one execution.
private func run(_ layer: STDCFConv, _ execution: STDCFExecution, x: [Float], shape: [Int], up: [Float]) -> [[Float]] {
    layer.execution = execution
    for (_, p) in layer.parameters() { p.zeroGrad() }
    let input = Tensor(shape: shape, values: x)
    input.requiresGrad = true
    let y = layer(input)
    weightedSum(y, Tensor(shape: y.shape, values: up)).backward()
    return [
        y.scalars, input.grad!.scalars, layer.coefficients.grad!.scalars,
        layer.spatialAtoms.grad!.scalars, layer.temporalAtoms.grad!.scalars
    ]
}

@Suite(.serialized) struct STDCFTests {
    @Test(arguments: [(1, 1), (2, 1), (1, 2), (2, 3)])
    func composedAndFactoredAgreeInOutputAndAllGradients(_ spatialDilation: Int, _ temporalDilation: Int) {
        var rng = SeededRNG(seed: 1)
        let layer = STDCFConv(inputChannels: 3, outputChannels: 5, spatialAtoms: 4, temporalAtoms: 2, rng: &rng)
        layer.spatialDilation = spatialDilation
        layer.temporalDilation = temporalDilation
        let shape = [2, 3, 7, 8, 8]
        let x = values(shape.reduce(1, *), seed: 2)
        let up = values(2 * 5 * 7 * 8 * 8, seed: 3)
        let composed = run(layer, .composed, x: x, shape: shape, up: up)
        let factored = run(layer, .factored, x: x, shape: shape, up: up)
        for (name, (a, b)) in zip(["y", "dx", "dα", "dψ", "dφ"], zip(composed, factored)) {
            #expect(
                closeness(a, b, rtol: 1e-4, atol: 1e-4) == "",
                "\(name), dilation (\(spatialDilation), \(temporalDilation))")
        }
    }

    @Test func matchesThePyTorchTwin() throws {
        var rng = SeededRNG(seed: 0)
        let layer = STDCFConv(inputChannels: 3, outputChannels: 4, spatialAtoms: 6, temporalAtoms: 2, rng: &rng)
        layer.coefficients.assign(golden["stdcf/alpha"]!.scalars)
        layer.spatialAtoms.assign(golden["stdcf/psi"]!.scalars)
        layer.temporalAtoms.assign(golden["stdcf/phi"]!.scalars)
        layer.temporalDilation = 2
        for execution in [STDCFExecution.composed, .factored] {
            let result = run(
                layer, execution, x: golden["stdcf/x"]!.scalars, shape: golden["stdcf/x"]!.shape,
                up: golden["stdcf/up"]!.scalars)
            for (name, (got, key)) in zip(
                ["y", "dx", "dα", "dψ", "dφ"], zip(result, ["y", "dx", "dalpha", "dpsi", "dphi"]))
            {
                #expect(
                    closeness(got, golden["stdcf/\(key)"]!.scalars, rtol: 1e-4, atol: 1e-4) == "",
                    "\(execution) \(name)")
            }
        }
    }

    /// With M = k², N = t and one-hot atoms, α is the filter itself.
    @Test func oneHotAtomsReproduceAnyFilter() {
        var rng = SeededRNG(seed: 4)
        let layer = STDCFConv(inputChannels: 2, outputChannels: 3, spatialAtoms: 9, temporalAtoms: 3, rng: &rng)
        layer.spatialAtoms.assign((0..<81).map { $0 / 9 == $0 % 9 ? 1 : 0 })
        layer.temporalAtoms.assign((0..<9).map { $0 / 3 == $0 % 3 ? 1 : 0 })
        let filter = values(3 * 2 * 27, seed: 5)  // O×C×t×k×k
        var alpha = [Float](repeating: 0, count: 3 * 2 * 9 * 3)  // O×C×M×N with α[o,c,i,j] = W[o,c,j,i]
        for oc in 0..<6 {
            for i in 0..<9 { for j in 0..<3 { alpha[(oc * 9 + i) * 3 + j] = filter[oc * 27 + j * 9 + i] } }
        }
        layer.coefficients.assign(alpha)
        let x = Tensor(shape: [1, 2, 5, 6, 6], values: values(360, seed: 6))
        for execution in [STDCFExecution.composed, .factored] {
            layer.execution = execution
            let expected = conv3d(x, Tensor(shape: [3, 2, 3, 3, 3], values: filter), Conv3dOptions(padding: (1, 1, 1)))
            #expect(closeness(GradMode.withNoGrad { layer(x) }.scalars, expected.scalars) == "", "\(execution)")
        }
    }

    @Test func dilatedLayerEqualsConvOfTheRebuiltFilterWithThatDilation() {
        var rng = SeededRNG(seed: 7)
        let layer = STDCFConv(inputChannels: 2, outputChannels: 2, spatialAtoms: 3, temporalAtoms: 2, rng: &rng)
        layer.spatialDilation = 2
        layer.temporalDilation = 2
        let x = Tensor(shape: [1, 2, 6, 7, 7], values: values(588, seed: 8))
        let expected = conv3d(
            x, layer.composedFilter().detached(), Conv3dOptions(padding: (2, 2, 2), dilation: (2, 2, 2)))
        layer.execution = .factored
        #expect(closeness(GradMode.withNoGrad { layer(x) }.scalars, expected.scalars) == "")
    }

    @Test func swappingAtomsKeepsTheCoefficients() {
        var rng = SeededRNG(seed: 9)
        let layer = STDCFConv(inputChannels: 2, outputChannels: 3, spatialAtoms: 4, temporalAtoms: 2, rng: &rng)
        let alpha = layer.coefficients.scalars
        layer.swapTemporalAtoms(values(2 * 5, seed: 10), size: 5)
        layer.swapSpatialAtoms(values(4 * 25, seed: 11), size: 5)
        #expect(layer.coefficients.scalars == alpha)
        #expect(layer.composedFilter().shape == [3, 2, 5, 5, 5])
        #expect(layer.spatialAtoms.role == .spatial && layer.temporalAtoms.role == .temporal)
        let y = GradMode.withNoGrad { layer(Tensor(shape: [1, 2, 6, 6, 6], values: values(432, seed: 12))) }
        #expect(y.shape == [1, 3, 6, 6, 6], "same padding with the new sizes")
    }

    @Test func freezingARoleStopsItsGradientsAndUpdates() {
        var rng = SeededRNG(seed: 13)
        let layer = STDCFConv(inputChannels: 2, outputChannels: 2, spatialAtoms: 3, temporalAtoms: 2, rng: &rng)
        layer.freeze(role: .spatial)  // ITSL stage-t
        let psi = layer.spatialAtoms.scalars
        let phi = layer.temporalAtoms.scalars
        let optimizer = SGD(layer.parameters().map(\.1), learningRate: 0.1)
        for execution in [STDCFExecution.composed, .factored] {
            layer.execution = execution
            weightedSum(
                layer(Tensor(shape: [1, 2, 4, 5, 5], values: values(200, seed: 14))),
                Tensor(shape: [1, 2, 4, 5, 5], values: values(200, seed: 15))
            ).backward()
            #expect(layer.spatialAtoms.grad == nil && layer.temporalAtoms.grad != nil && layer.coefficients.grad != nil)
            optimizer.step()
            #expect(layer.spatialAtoms.scalars == psi)
            for (_, p) in layer.parameters() { p.zeroGrad() }
        }
        #expect(layer.temporalAtoms.scalars != phi)
    }

    @Test func parameterCountsFollowThePapers() throws {
        var rng = SeededRNG(seed: 0)
        // STDCF: Cin·Cout·M·N + M·k² + N·t.
        #expect(
            STDCFConv(inputChannels: 32, outputChannels: 64, spatialAtoms: 6, temporalAtoms: 2, rng: &rng)
                .parameterCount == 32 * 64 * 12 + 54 + 6)
        #expect(try ModelZoo.make("kth3l-stdcf", classes: 6).parameterCount == 125_434)
        #expect(try ModelZoo.make("kth3l-reg3d", classes: 6).parameterCount == 280_294)
        // Rank-1: Cin·Cout·k² + Cout²·t.
        #expect(Rank1Conv(inputChannels: 32, outputChannels: 64, rng: &rng).parameterCount == 32 * 64 * 9 + 64 * 64 * 3)
    }

    /// Factored only when it saves at least 4× the FLOPs (see STDCFExecution.automatic).
    @Test func automaticExecutionNeedsAFourFoldSaving() {
        var rng = SeededRNG(seed: 0)
        let kth = STDCFConv(inputChannels: 64, outputChannels: 128, spatialAtoms: 6, temporalAtoms: 2, rng: &rng)
        #expect(kth.costs.factored < kth.costs.composed && kth.chosenExecution == .composed)  // 12 vs 27: 2.25×
        let few = STDCFConv(inputChannels: 64, outputChannels: 128, spatialAtoms: 2, temporalAtoms: 1, rng: &rng)
        #expect(few.chosenExecution == .factored)  // 2 vs 27: 13.5×
        few.execution = .composed
        #expect(few.chosenExecution == .composed, "overridable")
    }
}

@Suite struct Rank1AndShiftTests {
    @Test func rank1MatchesPyTorch() {
        var rng = SeededRNG(seed: 0)
        let layer = Rank1Conv(inputChannels: 3, outputChannels: 4, rng: &rng)
        layer.spatial.weight.assign(golden["rank1/ws"]!.scalars)
        layer.temporal.weight.assign(golden["rank1/wt"]!.scalars)
        let x = golden["rank1/x"]!.detached()
        x.requiresGrad = true
        let y = layer(x)
        #expect(closeness(y.scalars, golden["rank1/y"]!.scalars) == "")
        weightedSum(y, golden["rank1/up"]!).backward()
        #expect(closeness(x.grad!.scalars, golden["rank1/dx"]!.scalars) == "")
        #expect(closeness(layer.spatial.weight.grad!.scalars, golden["rank1/dws"]!.scalars) == "")
        #expect(closeness(layer.temporal.weight.grad!.scalars, golden["rank1/dwt"]!.scalars) == "")
        #expect(layer.spatial.weight.role == .spatial && layer.temporal.weight.role == .temporal)
    }

    @Test func temporalShiftMatchesPyTorch() {
        let x = golden["tsm/x"]!.detached()
        x.requiresGrad = true
        let y = TemporalShift()(x)
        #expect(y.scalars == golden["tsm/y"]!.scalars)
        weightedSum(y, golden["tsm/up"]!).backward()
        #expect(closeness(x.grad!.scalars, golden["tsm/dx"]!.scalars) == "")
    }
}

@Suite struct ResNetBlockTests {
    /// Bottleneck parameters differ from r3d50's only in the middle conv:
    /// STDCF w²·M·N + M·k² + N·t instead of w²·t·k²; rank-1 w²·k² + w²·t.
    @Test func middleConvParameterCountsFollowThePapers() {
        var rng = SeededRNG(seed: 0)
        let w = 64
        let reg = Bottleneck(inputChannels: 256, width: w, stride: 1, middle: .reg3d, rng: &rng).parameterCount
        let stdcf = Bottleneck(inputChannels: 256, width: w, stride: 1, middle: .stdcf, rng: &rng).parameterCount
        let rank1 = Bottleneck(inputChannels: 256, width: w, stride: 1, middle: .rank1, rng: &rng).parameterCount
        let tsm = Bottleneck(inputChannels: 256, width: w, stride: 1, middle: .tsm, rng: &rng).parameterCount
        #expect(reg - stdcf == w * w * 27 - (w * w * 12 + 54 + 6))
        #expect(reg - rank1 == w * w * 27 - (w * w * 9 + w * w * 3))
        #expect(reg - tsm == w * w * 27 - w * w * 9)
    }

    @Test func stridedBlockHalvesSpaceKeepsTimeAndUsesTheShortcut() {
        var rng = SeededRNG(seed: 1)
        let block = Bottleneck(inputChannels: 32, width: 16, stride: 2, middle: .stdcf, rng: &rng)
        let y = GradMode.withNoGrad { block(Tensor(shape: [1, 32, 4, 8, 8], repeating: 0.5)) }
        #expect(y.shape == [1, 64, 4, 4, 4])
        #expect(block.shortcut != nil)
        #expect(block.parameters().map(\.0).contains("downsample.0.weight"), "PyTorch's state-dict names")
        #expect(y.scalars.allSatisfy { $0 >= 0 }, "ReLU after the residual sum")
    }
}

extension ResNetBlockTests {
    /// Inference (eval mode, no gradients) folds BN and ReLU into the
    /// convolutions and writes the residual sums in place; its output equals
    /// eval mode with gradients, where BN and ReLU are ops of their own, for
    /// every middle conv, through a projection block and identity blocks that
    /// overwrite their input. The stage's own input is left alone, also when
    /// a layer (dropout in eval mode) passes it on unchanged.
    @Test(arguments: ["reg3d", "stdcf", "stdcf-factored", "rank1", "tsm", "ct", "separable", "spatial"])
    func inferenceEqualsTheUnfusedBlocks(_ kind: String) {
        let middle = BottleneckConv(rawValue: kind.replacingOccurrences(of: "-factored", with: ""))!
        var rng = SeededRNG(seed: 2)
        let projecting = Sequential([
            Bottleneck(inputChannels: 32, width: 16, stride: 2, middle: middle, rng: &rng),
            Bottleneck(inputChannels: 64, width: 16, stride: 1, middle: middle, rng: &rng)
        ])
        let passing = Sequential([
            Dropout(p: 0.5), Bottleneck(inputChannels: 64, width: 16, stride: 1, middle: middle, rng: &rng),
            Bottleneck(inputChannels: 64, width: 16, stride: 1, middle: middle, rng: &rng)
        ])
        for (stage, channels) in [(projecting, 32), (passing, 64)] {
            randomizeNormalization(stage, execution: kind.hasSuffix("factored") ? .factored : .composed, rng: &rng)
            let values = rng.uniformFloats(2 * channels * 4 * 10 * 10, in: -1..<1)
            let x = Tensor(shape: [2, channels, 4, 10, 10], values: values)
            stage.eval()
            let unfused = stage(x).scalars
            let fused = GradMode.withNoGrad { stage(x) }.scalars
            #expect(closeness(fused, unfused) == "", "\(channels) channels in")
            let untouched = x.scalars == values
            #expect(untouched, "\(channels) channels in: the input is left alone")
        }
    }

    /// In training, a bottleneck ends in one op, relu(BN(conv3(h)) +
    /// shortcut) (`batchNormAddReLU`); a hook on bn3 needs BN's own output,
    /// and so keeps the two ops. Both give the same output, input gradient
    /// and parameter gradients, through a projection block and an identity
    /// block (whose input gets the residual's gradient and conv1's; the two
    /// graphs add those in different orders, so within rounding).
    @Test func trainingEndsInOneOpThatEqualsTheTwo() {
        var results: [[Float]] = []
        for hooked in [false, true] {
            var rng = SeededRNG(seed: 3)
            let stage = Sequential([
                Bottleneck(inputChannels: 32, width: 16, stride: 2, middle: .reg3d, rng: &rng),
                Bottleneck(inputChannels: 64, width: 16, stride: 1, middle: .reg3d, rng: &rng)
            ])
            randomizeNormalization(stage, execution: .composed, rng: &rng)
            var seen = 0
            if hooked {
                for case let block as Bottleneck in stage.children.map(\.1) { block.bn3.onOutput = { _ in seen += 1 } }
            }
            let x = Tensor(shape: [2, 32, 4, 10, 10], values: rng.uniformFloats(2 * 32 * 400, in: -1..<1))
            x.requiresGrad = true
            let y = stage(x)
            weightedSum(y, Tensor(shape: y.shape, values: rng.uniformFloats(y.count, in: -1..<1))).backward()
            #expect(seen == (hooked ? 2 : 0))
            results.append(y.scalars + x.grad!.scalars + stage.parameters().flatMap { $0.1.grad!.scalars })
        }
        #expect(results[0].count == results[1].count)
        #expect(closeness(results[0], results[1], rtol: 1e-5, atol: 1e-6) == "")
    }

    /// Random running statistics, γ and β for every BN layer; the STDCF execution.
    private func randomizeNormalization(_ stage: Module, execution: STDCFExecution, rng: inout SeededRNG) {
        for (_, module) in stage.namedModules() {
            if let bn = module as? BatchNorm3d {
                let c = bn.runningMean.count
                bn.runningMean.assign(rng.uniformFloats(c, in: -0.5..<0.5))
                bn.runningVar.assign(rng.uniformFloats(c, in: 0.5..<2))
                bn.weight.assign(rng.uniformFloats(c, in: 0.5..<1.5))
                bn.bias.assign(rng.uniformFloats(c, in: -0.5..<0.5))
            }
            if let conv = module as? STDCFConv { conv.execution = execution }
        }
    }
}

@Suite struct TTConv3dTests {
    @Test func matchesPyTorchsAffineGridAndGridSample() {
        var rng = SeededRNG(seed: 0)
        let layer = TTConv3d(inputChannels: 2, outputChannels: 3, kernelSize: (3, 3, 3), rng: &rng)
        layer.k0.assign(golden["tt/k0"]!.scalars)
        layer.transforms.assign(golden["tt/params"]!.scalars)
        let x = golden["tt/x"]!.detached()
        x.requiresGrad = true
        let y = layer(x)
        #expect(closeness(y.scalars, golden["tt/y"]!.scalars, rtol: 1e-4, atol: 1e-4) == "", "forward")
        weightedSum(y, golden["tt/up"]!).backward()
        #expect(closeness(x.grad!.scalars, golden["tt/dx"]!.scalars, rtol: 1e-4, atol: 1e-4) == "", "dx")
        #expect(closeness(layer.k0.grad!.scalars, golden["tt/dk0"]!.scalars, rtol: 1e-4, atol: 1e-4) == "", "dK0")
        #expect(
            closeness(layer.transforms.grad!.scalars, golden["tt/dparams"]!.scalars, rtol: 1e-3, atol: 1e-4) == "",
            "d(s, r, tx, ty)")
    }

    /// LeNet-5 on Video-MNIST clips (1×30×28×28): the convs' parameters follow
    /// the papers (3DTT: kh·kw·Cin·Cout + 4·(T−1)·Cout, no bias), the heads are the same.
    @Test func lenet5VariantsDifferOnlyInTheirConvs() throws {
        let plain = try ModelZoo.make("lenet5-3d", classes: 10)
        let tt = try ModelZoo.make("lenet5-3dtt", classes: 10)
        let heads = (16 * 5 * 5 * 5 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
        #expect(plain.parameterCount == (1 * 6 * 125 + 6) + (6 * 16 * 125 + 16) + heads)
        #expect(tt.parameterCount == (25 * 1 * 6 + 4 * 4 * 6) + (25 * 6 * 16 + 4 * 4 * 16) + heads)
        let y = GradMode.withNoGrad { tt(Tensor(shape: [2, 1, 30, 28, 28], repeating: 0.1)) }
        #expect(y.shape == [2, 10])
        #expect(
            try ModelZoo.make("kth3l-tt", classes: 6).parameterCount == 125_434 - 124_212 + (9 * 3 * 32 + 8 * 32)
                + (9 * 32 * 64 + 8 * 64) + (9 * 64 * 128 + 8 * 128))
    }

    /// Identity transforms: every slice equals K0 (to float rounding: the
    /// normalised-grid round trip (2i+1)/W − 1 → pixels is not exact, in PyTorch either).
    @Test func identityTransformsRepeatK0() {
        var rng = SeededRNG(seed: 2)
        let layer = TTConv3d(inputChannels: 2, outputChannels: 4, kernelSize: (5, 3, 3), rng: &rng)
        let kernel = layer.kernel().scalars
        let k0 = layer.k0.scalars
        for oc in 0..<8 {
            for t in 0..<5 {
                #expect(
                    closeness(
                        Array(kernel[((oc * 5 + t) * 9)..<((oc * 5 + t) * 9 + 9)]), Array(k0[(oc * 9)..<(oc * 9 + 9)]),
                        rtol: 1e-5, atol: 1e-6) == "", "slice \(t)")
            }
        }
        // Parameters: kh·kw·Cin·Cout + 4·(T−1)·Cout.
        #expect(layer.parameterCount == 3 * 3 * 2 * 4 + 4 * 4 * 4)
        #expect(layer.k0.role == .spatial && layer.transforms.role == .temporal)
    }
}
