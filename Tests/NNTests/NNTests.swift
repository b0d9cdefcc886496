import Foundation
import Tensor
import TestSupport
import Testing

@testable import NN
@testable import Train

/// The golden kth3l state (parameters and buffers) under PyTorch's names.
private func goldenState() -> [String: Tensor] {
    var state: [String: Tensor] = [:]
    for k in golden.keys {
        if k.hasPrefix("kth3l/param/") { state[String(k.dropFirst("kth3l/param/".count))] = golden[k] }
        if k.hasPrefix("kth3l/buffer/") { state[String(k.dropFirst("kth3l/buffer/".count))] = golden[k] }
    }
    return state
}

@Suite(.serialized) struct KTH3LTests {
    @Test func parameterCountMatchesThePaperNet() throws {
        #expect(try ModelZoo.make("kth3l-reg3d", classes: 6).parameterCount == 280_294)
    }

    /// One training-mode step on the same weights and clip as PyTorch's twin
    /// (tools/bench/kth3l.py): logits, loss and every parameter gradient.
    @Test(arguments: [Parallelism.batch, .blas])
    func forwardAndGradientsMatchPyTorch(_ mode: Parallelism) throws {
        try Parallel.with(ParallelSettings(mode: mode, threads: 2)) { try matchPyTorch() }
    }

    func matchPyTorch() throws {
        let model = try ModelZoo.make("kth3l-reg3d", classes: 6)
        try model.load(goldenState())
        let x = golden["kth3l/x"]!.detached()
        let labels = golden["kth3l/labels"]!.scalars.map { Int($0) }
        let logits = model(x)
        #expect(closeness(logits.scalars, golden["kth3l/logits"]!.scalars, rtol: 1e-4, atol: 1e-5) == "")
        let loss = softmaxCrossEntropy(logits, labels: labels)
        #expect(closeness([loss.item], golden["kth3l/loss"]!.scalars) == "")
        loss.backward()
        for (name, p) in model.parameters() {
            #expect(
                closeness(p.grad!.scalars, golden["kth3l/grad/\(name)"]!.scalars, rtol: 1e-4, atol: 1e-5) == "",
                "grad \(name)")
        }
    }

    @Test func freezingARoleStopsGradientsAndUpdates() throws {
        let model = try ModelZoo.make("kth3l-reg3d", classes: 6)
        // kth3l-reg3d convs are `joint`: freeze them, BN and head (also joint) too, then unfreeze.
        model.freeze(role: .joint)
        #expect(model.parameters().allSatisfy { !$0.1.trainable && !$0.1.requiresGrad })
        model.freeze(role: .joint, false)
        let conv = (model as! KTH3L).conv1 as! Conv3d
        conv.weight.role = .spatial  // as a decomposed layer's spatial part would be
        model.freeze(role: .spatial)
        let before = conv.weight.scalars
        let x = Tensor(shape: [2, 3, 4, 8, 8], values: (0..<1536).map { Float($0 % 17) / 17 })
        let optimizer = SGD(model.parameters().map(\.1), learningRate: 0.1, momentum: 0.9)
        let loss = softmaxCrossEntropy(model(x), labels: [1, 2])
        loss.backward()
        #expect(conv.weight.grad == nil, "a frozen parameter gets no gradient")
        optimizer.step()
        #expect(conv.weight.scalars == before, "and no update")
        #expect((model as! KTH3L).fc.weight.grad != nil)
    }

    @Test func checkpointRoundTripThroughSafetensors() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kth3l-\(UUID().uuidString).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a = try ModelZoo.make("kth3l-reg3d", classes: 6, seed: 1)
        try Safetensors.write(a.stateDict(), metadata: ["model": "kth3l-reg3d"], to: path)
        let b = try ModelZoo.make("kth3l-reg3d", classes: 6, seed: 2)
        #expect(b.stateDict()["conv1.weight"]!.scalars != a.stateDict()["conv1.weight"]!.scalars)
        let (tensors, metadata) = try Safetensors.read(path)
        try b.load(tensors)
        #expect(metadata["model"] == "kth3l-reg3d")
        for (name, t) in a.stateDict() { #expect(b.stateDict()[name]!.scalars == t.scalars, "\(name)") }
        var broken = tensors
        broken["fc.weight"] = Tensor(zeros: [3, 3])
        #expect(throws: ModelError.shapeMismatch("fc.weight", expected: [6, 128], found: [3, 3])) { try b.load(broken) }
    }

    @Test func summaryCountsParametersAndFlops() throws {
        let s = summarize(try ModelZoo.make("kth3l-reg3d", classes: 6), input: [3, 16, 60, 80])
        #expect(s.params == 280_294)
        // 2 × (3·32·27·16·60·80 + 32·64·27·16·30·40 + 64·128·27·8·15·20 + 128·6)
        #expect(s.flops == 2 * (3 * 32 * 27 * 76_800 + 32 * 64 * 27 * 19_200 + 64 * 128 * 27 * 2_400 + 768))
        #expect(s.layers.first?.name == "conv1.weight")
        #expect(throws: ModelError.self) { try ModelZoo.make("kth3l-nope", classes: 6) }
    }

    /// kth3l-stdcf's FLOPs with every STDCF layer composed (kth3l-reg3d's) and
    /// factored: STDCF §2.4's 2·Cin·M·T·W²(k² + N·t + N·Cout) per layer (M = 6,
    /// N = 2), the layers' own execution restored after; none for reg3d.
    @Test func stdcfExecutionFlopsAreTheComposedAndTheFactoredCosts() throws {
        let model = try ModelZoo.make("kth3l-stdcf", classes: 6)
        setExecution(model, .composed)
        let both = try #require(stdcfExecutionFlops(model, input: [3, 16, 60, 80]))
        let reg3d = summarize(try ModelZoo.make("kth3l-reg3d", classes: 6), input: [3, 16, 60, 80])
        #expect(both.composed == reg3d.flops)
        func factored(_ cin: Int, _ cout: Int, _ positions: Int) -> Int { 2 * cin * 6 * positions * (9 + 6 + 2 * cout) }
        #expect(
            both.factored == factored(3, 32, 76_800) + factored(32, 64, 19_200) + factored(64, 128, 2_400) + 2 * 768)
        #expect(summarize(model, input: [3, 16, 60, 80]).flops == both.composed, "the composed execution kept")
        #expect(stdcfExecutionFlops(try ModelZoo.make("kth3l-reg3d", classes: 6), input: [3, 16, 60, 80]) == nil)
    }
}

@Suite struct CheckpointTests {
    /// Save after two steps, load into a fresh model and optimizer: the next
    /// step gives exactly what continuing without the round trip gives.
    @Test func resumingFromACheckpointContinuesExactly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ckpt-\(UUID().uuidString).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let x = Tensor(shape: [2, 3, 4, 8, 8], values: (0..<1536).map { Float(($0 * 7) % 23) / 23 - 0.5 })
        func step(_ model: Module, _ optimizer: Optimizer) {
            for (_, p) in model.parameters() { p.zeroGrad() }
            softmaxCrossEntropy(model(x), labels: [1, 4]).backward()
            optimizer.step()
        }
        let a = try ModelZoo.make("kth3l-reg3d", classes: 6, seed: 5)
        let optA = Adam(a.parameters().map(\.1), learningRate: 0.01)
        step(a, optA)
        step(a, optA)
        try Checkpoint.save(
            to: path, model: a, optimizer: optA, epoch: 2, config: ["model": "kth3l-reg3d", "config": "{\"batch\": 2}"])
        let b = try ModelZoo.make("kth3l-reg3d", classes: 6, seed: 9)
        let optB = Adam(b.parameters().map(\.1), learningRate: 0.5)
        let metadata = try Checkpoint.load(from: path, model: b, optimizer: optB)
        #expect(
            metadata["epoch"] == "2" && metadata["model"] == "kth3l-reg3d" && metadata["config"] == "{\"batch\": 2}")
        #expect(optB.learningRate == 0.01)
        step(a, optA)
        step(b, optB)
        for ((name, pa), (_, pb)) in zip(a.parameters(), b.parameters()) {
            #expect(pa.scalars == pb.scalars, "\(name) after resuming")
        }
        #expect(a.stateDict()["bn1.running_mean"]!.scalars == b.stateDict()["bn1.running_mean"]!.scalars)
    }
}

@Suite struct DropoutTests {
    @Test func dropoutZeroesAboutPAndScalesTheRest() {
        var rng = SeededRNG(seed: 3)
        let x = Tensor(shape: [100_000], repeating: 2)
        x.requiresGrad = true
        let y = dropout(x, p: 0.3, training: true, using: &rng)
        let values = y.scalars
        let zeros = values.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 100_000 - 0.3) < 0.01)
        #expect(values.allSatisfy { $0 == 0 || abs($0 - 2 / 0.7) < 1e-5 })
        weightedSum(y, Tensor(shape: [100_000], repeating: 1)).backward()
        #expect(zip(x.grad!.scalars, values).allSatisfy { g, v in v == 0 ? g == 0 : abs(g - 1 / 0.7) < 1e-5 })
        #expect(dropout(x, p: 0.3, training: false, using: &rng) === x, "identity in evaluation")
    }
}

@Suite struct OptimizerTests {
    private func run(_ make: ([Tensor]) -> Optimizer, _ name: String) {
        let p = golden["opt/p0"]!.detached()
        p.role = .joint
        p.requiresGrad = true
        let optimizer = make([p])
        for k in 0..<3 {
            p.grad = golden["opt/grad\(k)"]!.detached()
            optimizer.step()
            #expect(
                closeness(p.scalars, golden["opt/\(name)/step\(k)"]!.scalars, rtol: 1e-5, atol: 1e-6) == "",
                "\(name) step \(k)")
        }
    }

    @Test func optimizersMatchPyTorchOverThreeSteps() {
        run(
            { SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) }, "sgd_momentum_nesterov_wd"
        )
        run({ SGD($0, learningRate: 0.1) }, "sgd_plain")
        run({ Adam($0, learningRate: 0.01, weightDecay: 0.01) }, "adam")
        run({ Adam.adamW($0, learningRate: 0.01, weightDecay: 0.1) }, "adamw")
    }

    /// The one-pass SGD against PyTorch's three-pass formula, element by
    /// element, bit for bit; the large parameter is updated over the threads.
    @Test(arguments: [5, 70_001])
    func sgdWithMomentumEqualsItsNaiveTwin(_ count: Int) {
        for nesterov in [false, true] {
            let start: [Float] = (0..<count).map { Float($0 % 9) * 0.25 - 1 }
            let p = Tensor.parameter([count], role: .joint, values: start)
            let optimizer = SGD([p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: nesterov)
            var w = start
            var b: [Float] = []
            for step in 0..<3 {
                let g: [Float] = (0..<count).map { Float($0 % 7 * (step + 1)) * 0.3 - 0.4 }
                p.zeroGrad()
                weightedSum(p, Tensor(shape: [count], values: g)).backward()  // dL/dp = g
                optimizer.step()
                var d = zip(g, w).map { $0 + 0.01 * $1 }
                b = b.isEmpty ? d : zip(b, d).map { 0.9 * $0 + $1 }
                d = nesterov ? zip(d, b).map { $0 + 0.9 * $1 } : b
                w = zip(w, d).map { $0 - 0.1 * $1 }
                #expect(p.scalars == w, "step \(step), nesterov \(nesterov)")
            }
        }
    }

    @Test func schedulesFollowPyTorchsFormulas() {
        #expect(LearningRateSchedule.step(size: 3, gamma: 0.1).rate(base: 1, epoch: 5) == 0.1)
        #expect(LearningRateSchedule.multiStep(milestones: [2, 4], gamma: 0.5).rate(base: 1, epoch: 4) == 0.25)
        #expect(abs(LearningRateSchedule.cosine(epochs: 10, minimum: 0).rate(base: 1, epoch: 5) - 0.5) < 1e-6)
        #expect(LearningRateSchedule.cosine(epochs: 10, minimum: 0.01).rate(base: 1, epoch: 10) == 0.01)
        let warmup = Warmup(epochs: 4, startFactor: 0.25)
        #expect(warmup.rate(base: 1, epoch: 0, then: .constant) == 0.25)
        #expect(warmup.rate(base: 1, epoch: 2, then: .constant) == 0.625)
        #expect(warmup.rate(base: 1, epoch: 4, then: .step(size: 1, gamma: 0.5)) == 1)
        let plateau = ReduceOnPlateau(factor: 0.5, patience: 1)
        var rate: Float = 1
        for metric: Float in [1.0, 0.9, 0.95, 0.95, 0.95] { rate = plateau.update(rate: rate, metric: metric) }
        #expect(rate == 0.5)
    }
}
