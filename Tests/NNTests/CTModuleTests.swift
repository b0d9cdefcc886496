import TestSupport
import Testing

@testable import NN
@testable import Tensor

// `golden` and `values` are DecomposedTests.swift's.

@Suite(.serialized) struct CTModuleTests {
    /// Forward, dx and the gradient of every parameter (convs, BN, all three
    /// Tensor Excitations, fusion) against the PyTorch twin in tools/bench/kth3l.py,
    /// with C = 32 = 4×8 so that the two steps group channels differently.
    @Test func matchesThePyTorchTwinInOutputAndEveryGradient() throws {
        var rng = SeededRNG(seed: 0)
        try matchesModuleCase("ct", CTModule(channels: 32, rng: &rng))
    }

    @Test func splitsChannelsAsThePaper() {
        for (c, c1) in [(8, 2), (16, 4), (32, 4), (64, 8), (96, 8), (128, 8), (256, 16), (512, 16)] {
            let design = CTDesign.ctNet(channels: c)
            #expect(design.steps.map(\.interacting) == [c / c1, c1], "C = \(c)")
        }
    }

    /// The paper's Discussion: K = 1 with a 3×3×3 kernel is C3D's conv.
    @Test func degeneratesToC3D() {
        var rng = SeededRNG(seed: 3)
        let module = CTModule(channels: 6, design: .c3d(channels: 6), rng: &rng)
        let conv = Conv3d(
            inputChannels: 6, outputChannels: 6, kernelSize: (3, 3, 3), padding: (1, 1, 1), bias: false, rng: &rng)
        conv.weight.assign(module.steps[0].branches[0].conv.weight.scalars)
        #expect(module.parameterCount == 6 * 6 * 27, "nothing but the 3D filter")
        let x = Tensor(shape: [2, 6, 5, 7, 6], values: values(2 * 6 * 5 * 7 * 6, seed: 4))
        let (a, b) = GradMode.withNoGrad { (module(x), conv(x)) }
        #expect(closeness(a.scalars, b.scalars) == "")
    }

    /// K = 2, kernels 1×3×3 then 3×1×1, C1 = C2 = C: R(2+1)D (our Rank1Conv).
    @Test func degeneratesToR2Plus1D() {
        var rng = SeededRNG(seed: 5)
        let module = CTModule(channels: 8, design: .r2plus1d(channels: 8), rng: &rng)
        let rank1 = Rank1Conv(inputChannels: 8, outputChannels: 8, rng: &rng)
        rank1.spatial.weight.assign(module.steps[0].branches[0].conv.weight.scalars)
        rank1.temporal.weight.assign(module.steps[1].branches[0].conv.weight.scalars)
        #expect(module.parameterCount == rank1.parameterCount)
        #expect(module.tensorization == nil, "no channel tensorization")
        let x = Tensor(shape: [2, 8, 5, 6, 6], values: values(2 * 8 * 5 * 6 * 6, seed: 6))
        let (a, b) = GradMode.withNoGrad { (module(x), rank1(x)) }
        #expect(closeness(a.scalars, b.scalars) == "")
    }

    /// K = 2, C = C×1, kernels 1×1×1 then 3×3×3: CSN's point-wise conv then depthwise conv.
    @Test func degeneratesToCSN() {
        var rng = SeededRNG(seed: 7)
        let module = CTModule(channels: 8, design: .csn(channels: 8), rng: &rng)
        let point = module.steps[0].branches[0].conv.weight
        let depth = module.steps[1].branches[0].conv.weight
        #expect(depth.shape == [8, 1, 3, 3, 3], "depthwise")
        let x = Tensor(shape: [1, 8, 4, 5, 5], values: values(8 * 4 * 5 * 5, seed: 8))
        let (a, b) = GradMode.withNoGrad {
            (module(x), conv3d(conv3d(x, point), depth, Conv3dOptions(padding: (1, 1, 1), groups: 8)))
        }
        #expect(closeness(a.scalars, b.scalars) == "")
    }

    /// The tensorized steps really mix only within their sub-dimension: with
    /// the enhancements off, an impulse on one channel reaches after step 1
    /// only its C2-group, and after both steps every channel.
    @Test func stepsInteractAlongOneSubDimensionEach() {
        var rng = SeededRNG(seed: 9)
        let c = 32  // C1 = 4, C2 = 8
        let design = CTDesign(steps: CTDesign.ctNet(channels: c).steps, enhanced: false)
        let module = CTModule(channels: c, design: design, rng: &rng)
        var impulse = [Float](repeating: 0, count: c * 3 * 3 * 3)
        impulse[(9 * 3 + 1) * 9 + 4] = 1  // channel 9, centre
        let x = Tensor(shape: [1, c, 3, 3, 3], values: impulse)
        func reached(_ y: Tensor) -> Set<Int> {
            Set((0..<c).filter { ch in (0..<27).contains { y.scalars[ch * 27 + $0] != 0 } })
        }
        let afterStep1 = GradMode.withNoGrad { module.steps[0](x) }
        #expect(reached(afterStep1) == Set(8..<16), "channel 9 lies in the second group of 8")
        // Step 2 alone (after the transpose) mixes the channels that share the
        // index within their group of 8: channel 9 reaches 1, 9, 17, 25.
        let design2 = CTModule(
            channels: c, design: CTDesign(steps: [design.steps[1], design.steps[0]], enhanced: false), rng: &rng)
        let step2 = GradMode.withNoGrad { transposeChannels(design2.steps[0](transposeChannels(x, 4, 8)), 8, 4) }
        #expect(reached(step2) == [1, 9, 17, 25])
        #expect(reached(GradMode.withNoGrad { module(x) }) == Set(0..<c), "both steps: every channel")
    }

    /// CT-Net's "3D receptive field … becomes 5 × 5 × 5" after two steps:
    /// an impulse through the bare two-step module reaches the 5 × 5 × 5 box,
    /// but only the 45 taps that 1×5×5, 3×3×3 and 5×1×1 cover
    /// (tools/results/ctnet_costs.py counts the same by composing the kernels).
    @Test func twoStepsReach45TapsOfTheFiveCubedBox() {
        var rng = SeededRNG(seed: 4)
        let (c, side) = (4, 7)
        let module = CTModule(
            channels: c, design: CTDesign(steps: CTDesign.ctNet(channels: c).steps, enhanced: false), rng: &rng)
        let volume = side * side * side
        var impulse = [Float](repeating: 0, count: c * volume)
        impulse[(3 * side + 3) * side + 3] = 1  // channel 0, centre
        let y = GradMode.withNoGrad { module(Tensor(shape: [1, c, side, side, side], values: impulse)) }
        var taps = Set<[Int]>()
        for ch in 0..<c {
            for i in 0..<volume where y.scalars[ch * volume + i] != 0 {
                taps.insert([i / (side * side) - 3, i / side % side - 3, i % side - 3])
            }
        }
        #expect(taps.count == 45)
        #expect(
            taps.allSatisfy { $0.allSatisfy { abs($0) <= 2 } } && taps.contains([0, 2, 2]) && taps.contains([2, 0, 0]))
        #expect(!taps.contains([2, 2, 2]) && !taps.contains([1, 2, 0]), "not the whole box")
    }

    @Test func theTensorExcitationAblationKeepsTheRest() throws {
        let with = try ModelZoo.make("kth3l-ct", classes: 6).parameters().map(\.0)
        let without = try ModelZoo.make("kth3l-ct-no-te", classes: 6).parameters().map(\.0)
        #expect(with.contains { $0.contains("excite") } && !without.contains { $0.contains("excite") })
        #expect(with.filter { !$0.contains("excite") } == without, "BN, the fusion conv and the branches stay")
    }

    @Test func kth3lCTAndCTNetR50Build() throws {
        let kth = try ModelZoo.make("kth3l-ct", classes: 6)
        let y = GradMode.withNoGrad { kth(Tensor(shape: [2, 3, 4, 16, 16], repeating: 0.1)) }
        #expect(y.shape == [2, 6])
        let r50 = try ModelZoo.make("ctnet-r50", classes: 400)
        let ct = r50.parameters().filter { $0.0.contains(".conv2.step") }.map {
            $0.0.split(separator: ".").prefix(2).joined(separator: ".")
        }
        #expect(
            Set(ct) == ["layer1.1", "layer2.1", "layer2.3", "layer3.1", "layer3.3", "layer3.5", "layer4.1"],
            "7 replaced blocks")
    }
}

/// kth3l-tsm (TSM's shift + 1×3×3 conv in the KTH net) against its twin in
/// tools/bench/kth3l.py: the whole net in training mode.
@Suite struct KTH3LTSMTests {
    @Test func matchesThePyTorchTwinInOutputAndEveryGradient() throws {
        try matchesModuleCase("kth3l_tsm", ModelZoo.make("kth3l-tsm", classes: 6))
    }
}

/// The reconstruction nets (recon3l-stdcf, recon3l-rank1) against their
/// twins in tools/bench/kth3l.py, in training mode.
@Suite struct Recon3LTests {
    @Test(arguments: ["stdcf", "rank1"])
    func matchesThePyTorchTwinInOutputAndEveryGradient(_ kind: String) throws {
        try matchesModuleCase("recon3l_\(kind)", ModelZoo.make("recon3l-\(kind)", classes: 1))
    }

    @Test func theOutputIsAClipOfTheInputsShape() throws {
        let model = try ModelZoo.make("recon3l-reg3d", classes: 1)
        #expect(model(Tensor(zeros: [1, 3, 4, 6, 5])).shape == [1, 3, 4, 6, 5])
    }
}

/// A `module_case` of tools/golden/make_tensor_golden.py: `module` loaded
/// with the case's parameters (names as PyTorch's state dict), then its
/// output, dx and every parameter's gradient against PyTorch's.
func matchesModuleCase(_ key: String, _ module: Module) throws {
    let params = module.parameters()
    #expect(
        Set(params.map(\.0))
            == Set(golden.keys.filter { $0.hasPrefix("\(key)/p/") }.map { String($0.dropFirst(key.count + 3)) }),
        "parameter names as PyTorch's state dict")
    try module.load(Dictionary(uniqueKeysWithValues: params.map { ($0.0, golden["\(key)/p/\($0.0)"]!) }), strict: false)
    let x = golden["\(key)/x"]!.detached()
    x.requiresGrad = true
    let y = module(x)
    #expect(closeness(y.scalars, golden["\(key)/y"]!.scalars, rtol: 1e-4, atol: 1e-4) == "", "forward")
    weightedSum(y, golden["\(key)/up"]!).backward()
    #expect(closeness(x.grad!.scalars, golden["\(key)/dx"]!.scalars, rtol: 1e-3, atol: 1e-4) == "", "dx")
    for (name, p) in params {
        #expect(
            closeness(p.grad!.scalars, golden["\(key)/g/\(name)"]!.scalars, rtol: 1e-3, atol: 1e-4) == "", "d \(name)")
    }
}
