import Foundation
import NN
import Tensor
import TestSupport
import Testing

/// The model zoo against its PyTorch twins (tools/bench/resnet3d.py), from
/// Fixtures/golden/zoo.json (tools/golden/make_zoo_golden.py): both sides fill
/// every parameter from a formula of its name, then take one step (BN on its
/// running statistics) on the same clip.
@Suite struct ZooTests {
    struct Golden: Decodable {
        struct Grad: Decodable {
            var sum: Double
            var abs_sum: Double
            var first: [Float]
            var shape: [Int]
        }
        struct Model: Decodable {
            var shape: [Int]?
            var phase: Double?
            var gain: Double?
            var parameters: Int
            var logits: [Float]
            var loss: Float
            var grads: [String: Grad]
        }
        var shape: [Int]
        var labels: [Int]
        var classes: Int
        var models: [String: Model]
    }

    static let golden: Golden = try! JSONDecoder().decode(
        Golden.self, from: Data(contentsOf: URL(fileURLWithPath: fixture("golden/zoo.json"))))

    static func fnv1a(_ text: String) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for byte in text.utf8 { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
        return h
    }

    /// The twin script's `formula`: a sine whose phase comes from the name,
    /// repeating every 4099 values, written into `p`.
    static func fill(_ p: Tensor, name: String, gain: Double = 1) {
        let shape = p.shape
        let count = p.count
        let phase = Double(fnv1a(name) % 10007) / 10007 * 2 * Double.pi
        let scale = shape.count == 1 ? 0.1 : gain / Double(count / shape[0]).squareRoot()
        let offset = shape.count == 1 && name.hasSuffix("weight") ? 1.0 : 0.0
        let table = (0..<min(count, 4099)).map { Float(offset + scale * sin(phase + 0.7548776662 * Double($0))) }
        p.withValues { v in
            table.withUnsafeBufferPointer { t in
                var done = 0
                while done < count {
                    let n = min(t.count, count - done)
                    (v + done).update(from: t.baseAddress!, count: n)
                    done += n
                }
            }
        }
    }

    @Test(arguments: [
        "i3d-r50", "s3d-r50", "tsn-r50", "tam-r50", "i3d-r18", "s3d-r18", "tsn-r18", "tam-r18", "i3d-r18-tp",
        "tam-r50-tp", "nl-i3d-r50", "slowfast-r50",
        "i3d-incv1", "s3d-incv1", "tsn-incv1", "tam-incv1", "i3d-incv1-tp", "s3d-incv1-tp"
    ])
    func matchesItsPyTorchTwin(_ name: String) throws {
        let g = Self.golden
        let expected = try #require(g.models[name])
        let model = try ModelZoo.make(name, classes: g.classes)
        #expect(model.parameterCount == expected.parameters)
        let parameters = model.parameters()
        #expect(Set(parameters.map(\.0)) == Set(expected.grads.keys), "parameter names as the twin's state_dict")
        for (pname, p) in parameters { Self.fill(p, name: pname, gain: expected.gain ?? 1) }
        let shape = expected.shape ?? g.shape
        let count = shape.reduce(1, *)
        let phase = expected.phase ?? 0
        let x = Tensor(shape: shape, values: (0..<count).map { Float(sin(0.1 * Double($0) + phase)) })
        model.eval()  // BN on running statistics, as the golden (see make_zoo_golden.py)
        // Inference (no gradients): BN folded into the convolutions, sums written in place, the input untouched.
        let inferred = GradMode.withNoGrad { model(x) }
        #expect(closeness(inferred.scalars, expected.logits, rtol: 1e-3, atol: 1e-4) == "", "inference logits")
        #expect(x.scalars == (0..<count).map { Float(sin(0.1 * Double($0) + phase)) }, "inference left x alone")
        let logits = model(x)
        let loss = softmaxCrossEntropy(logits, labels: g.labels)
        #expect(closeness(logits.scalars, expected.logits, rtol: 1e-3, atol: 1e-4) == "", "logits")
        #expect(
            abs(loss.item - expected.loss) <= 1e-4 * max(1, abs(expected.loss)), "loss \(loss.item) vs \(expected.loss)"
        )
        loss.backward()
        let largestMean = expected.grads.values.map { $0.abs_sum / Double(max(1, $0.shape.reduce(1, *))) }.max() ?? 0
        var worst = (0.0, "")
        for (pname, p) in parameters {
            guard let want = expected.grads[pname], let grad = p.grad else {
                Issue.record("\(pname): no gradient")
                continue
            }
            var sum = 0.0
            var absSum = 0.0
            let first: [Float] = grad.withValues { g in
                for i in 0..<grad.count {
                    sum += Double(g[i])
                    absSum += Double(abs(g[i]))
                }
                return (0..<min(6, grad.count)).map { g[$0] }
            }
            // Against the gradient's mean magnitude (sums may cancel, single values may be tiny), with a
            // floor: some gradients are zero up to rounding (a non-local block's φ bias shifts every
            // softmax input of a row alike, so it cancels).
            let typical = max(want.abs_sum / Double(grad.count), 1e-5 * largestMean)
            let error = max(
                abs(absSum - want.abs_sum) / (typical * Double(grad.count)),
                abs(sum - want.sum) / (typical * Double(grad.count)),
                zip(first, want.first).map { Double(abs($0 - $1)) / typical }.max() ?? 0)
            if error > worst.0 { worst = (error, pname) }
        }
        #expect(worst.0 < 1e-2, "largest gradient error \(worst.0) (relative to its mean magnitude) at \(worst.1)")
    }
}

/// Inflation of a 2D ResNet-18 (torchvision's names, weights from the same
/// formula; Fixtures/golden/inflation.json by tools/golden/make_inflation_golden.py).
@Suite struct InflationTests {
    struct Net: Decodable {
        var logits: [Float]
        var shapes: [String: [Int]]
        var size: Int
        var gain: Double
    }
    /// The ResNet-18's fields, and torchvision's GoogLeNet's.
    struct Golden: Decodable {
        var logits: [Float]
        var shapes: [String: [Int]]
        var size: Int
        var gain: Double
        var googlenet: Net
    }
    static let golden: Golden = try! JSONDecoder().decode(
        Golden.self, from: Data(contentsOf: URL(fileURLWithPath: fixture("golden/inflation.json"))))
    static let resnet18 = Net(logits: golden.logits, shapes: golden.shapes, size: golden.size, gain: golden.gain)

    static func state2D(_ net: Net = resnet18) -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for (name, shape) in net.shapes {
            let t = Tensor(zeros: shape)
            ZooTests.fill(t, name: name, gain: net.gain)
            if name.hasSuffix("running_var") { t.withValues { v in for i in 0..<t.count { v[i] = abs(v[i]) + 0.5 } } }
            state[name] = t
        }
        return state
    }

    /// The golden's 3×S×S image, repeated over `frames` frames: 1×3×T×S×S.
    static func clip(frames: Int, size: Int = 16) -> Tensor {
        let area = size * size
        let image = (0..<(3 * area)).map { Float(sin(0.05 * Double($0) + 0.3)) }
        var values: [Float] = []
        for c in 0..<3 { for _ in 0..<frames { values += image[(c * area)..<((c + 1) * area)] } }
        return Tensor(shape: [1, 3, frames, size, size], values: values)
    }

    @Test(arguments: ["i3d-r18", "tsn-r18", "i3d-incv1", "tsn-incv1", "i3d-incv1-tp"])
    func aClipOfOneRepeatedImageGivesThe2DLogits(_ name: String) throws {
        let net = name.contains("incv1") ? Self.golden.googlenet : Self.resnet18
        let model = try ModelZoo.make(name, classes: 6)
        let report = inflate(model, from2D: Self.state2D(net), inflation: .centre)
        #expect(report.unmapped.isEmpty && report.unused.isEmpty, "\(report.unmapped) \(report.unused)")
        model.eval()
        let logits = GradMode.withNoGrad { model(Self.clip(frames: 4, size: net.size)) }
        #expect(closeness(logits.scalars, net.logits, rtol: 1e-4, atol: 1e-4) == "")
    }

    @Test func meanInflationGivesThe2DResponseAwayFromTheTemporalPadding() throws {
        let i3d = try #require(try ModelZoo.make("i3d-r18", classes: 6) as? ResNet3D)
        let tsn = try #require(try ModelZoo.make("tsn-r18", classes: 6) as? ResNet3D)
        _ = inflate(i3d, from2D: Self.state2D(), inflation: .mean)
        _ = inflate(tsn, from2D: Self.state2D())
        let x = Self.clip(frames: 6)
        let (a, b) = GradMode.withNoGrad { (i3d.stem(x).scalars, tsn.stem(x).scalars) }
        // 64 channels × 6 frames × 8×8; the 5-tap kernel sees only real frames at t = 2, 3.
        let plane = 64
        var interior: [(Float, Float)] = []
        var border: [(Float, Float)] = []
        for c in 0..<64 {
            for t in 0..<6 {
                for k in 0..<plane {
                    let i = (c * 6 + t) * plane + k
                    if (2...3).contains(t) { interior.append((a[i], b[i])) } else { border.append((a[i], b[i])) }
                }
            }
        }
        #expect(closeness(interior.map(\.0), interior.map(\.1), rtol: 1e-4, atol: 1e-5) == "")
        #expect(
            closeness(border.map(\.0), border.map(\.1), rtol: 1e-4, atol: 1e-5) != "",
            "the zero padding shows at the borders")
    }

    @Test func googLeNetInflatesIntoS3DAndTAM() throws {
        let state = Self.state2D(Self.golden.googlenet)
        let s3d = try ModelZoo.make("s3d-incv1", classes: 6)
        let report = inflate(s3d, from2D: state)
        #expect(report.unmapped.isEmpty && report.unused.isEmpty, "\(report.unmapped) \(report.unused)")
        #expect(
            report.mapped.contains("inception3a.branch2.1.conv.spatial.weight")
                && report.mapped.contains("conv1.conv.weight"))
        let variance = try #require(s3d.buffers().first { $0.0 == "conv3.conv.bn.running_var" }?.1)
        #expect(
            report.identity.contains("conv3.conv.temporal.weight") && variance.scalars.allSatisfy { $0 == 1 - 1e-3 },
            "the inner BN (ε 1e-3) divides by 1")
        let tam = try ModelZoo.make("tam-incv1", classes: 6)
        let tamReport = inflate(tam, from2D: state)
        #expect(
            Set(tamReport.unmapped.map(\.name))
                == Set(
                    ["1", "2", "3", "3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"].map { "tam\($0).conv.weight" }
                ))
        #expect(tamReport.unused.isEmpty)
    }

    @Test func whatDoesNotMapIsListed() throws {
        let s3d = try ModelZoo.make("s3d-r18", classes: 10)
        let report = inflate(s3d, from2D: Self.state2D())
        #expect(Set(report.unmapped.map(\.name)) == ["fc.weight", "fc.bias"], "\(report.unmapped)")
        #expect(report.unused.sorted() == ["fc.bias", "fc.weight"])
        #expect(
            report.identity.contains("layer1.0.conv2.temporal.weight")
                && report.identity.contains("layer1.0.conv1.bn.running_var"))
        #expect(report.mapped.contains("layer1.0.conv2.spatial.weight"))
    }
}

@Suite struct STDCFFitTests {
    /// 2D kernels that use only 6 spatial patterns: the fitted STDCF kernel
    /// is the inflated one exactly (mean and centre), with orthonormal atoms.
    @Test func kernelsOfSpatialRankMAreFittedExactly() {
        var rng = SeededRNG(seed: 11)
        let (o, c, k2, m) = (4, 3, 9, 6)
        let patterns = (0..<(m * k2)).map { _ in Float.random(in: -1..<1, using: &rng) }
        let weights = (0..<(o * c * m)).map { _ in Float.random(in: -1..<1, using: &rng) }
        var kernel = [Float](repeating: 0, count: o * c * k2)
        for r in 0..<(o * c) {
            for i in 0..<m { for u in 0..<k2 { kernel[r * k2 + u] += weights[r * m + i] * patterns[i * k2 + u] } }
        }
        let twoD = Tensor(shape: [o, c, 3, 3], values: kernel)
        for inflation in Inflation.allCases {
            let layer = STDCFConv(inputChannels: c, outputChannels: o, spatialAtoms: m, temporalAtoms: 2, rng: &rng)
            fitSTDCF(layer, to2D: twoD, inflation: inflation)
            let fitted = composeSTDCF(alpha: layer.coefficients, psi: layer.spatialAtoms, phi: layer.temporalAtoms)
                .scalars
            var expected = [Float](repeating: 0, count: o * c * 3 * k2)
            for r in 0..<(o * c) {
                for tau in 0..<3 where inflation == .mean || tau == 1 {
                    for u in 0..<k2 {
                        expected[(r * 3 + tau) * k2 + u] = kernel[r * k2 + u] / (inflation == .mean ? 3 : 1)
                    }
                }
            }
            #expect(closeness(fitted, expected, rtol: 1e-4, atol: 1e-5) == "", "\(inflation)")
            let psi = layer.spatialAtoms.scalars
            for i in 0..<m {
                for j in 0..<m {
                    let dot = (0..<k2).reduce(Float(0)) { $0 + psi[i * k2 + $1] * psi[j * k2 + $1] }
                    #expect(abs(dot - (i == j ? 1 : 0)) < 1e-4, "ψ\(i)·ψ\(j) = \(dot)")
                }
            }
        }
    }

    /// A generic kernel: the top-6 fit is no worse than any 6 atoms, here the initial random ones with their best α.
    @Test func aGenericKernelIsFittedBetterThanRandomAtoms() throws {
        var rng = SeededRNG(seed: 12)
        let twoD = Tensor(
            shape: [8, 8, 3, 3], values: (0..<(64 * 9)).map { _ in Float.random(in: -1..<1, using: &rng) })
        let layer = STDCFConv(inputChannels: 8, outputChannels: 8, spatialAtoms: 6, temporalAtoms: 2, rng: &rng)
        let randomPsi = layer.spatialAtoms.scalars
        func error(_ psi: [Float]) -> Float {  // ‖W₂ − projection onto span(ψ)‖²
            var total: Float = 0
            let w = twoD.scalars
            for r in 0..<64 {
                var residual = Array(w[(r * 9)..<((r + 1) * 9)])
                for i in 0..<6 {
                    let dot = (0..<9).reduce(Float(0)) { $0 + w[r * 9 + $1] * psi[i * 9 + $1] }
                    for u in 0..<9 { residual[u] -= dot * psi[i * 9 + u] }
                }
                total += residual.map { $0 * $0 }.reduce(0, +)
            }
            return total
        }
        fitSTDCF(layer, to2D: twoD, inflation: .centre)
        #expect(error(layer.spatialAtoms.scalars) < error(randomPsi))
        let model = try ModelZoo.make("stdcf-r50", classes: 6)
        var state: [String: Tensor] = [:]
        for (name, p) in model.parameters() where name.hasSuffix(".conv2.coefficients") {
            let prefix = String(name.dropLast("coefficients".count))
            state[prefix + "weight"] = Tensor(zeros: [p.shape[0], p.shape[1], 3, 3])
        }
        let report = inflate(model, from2D: state)
        #expect(!report.unmapped.contains { $0.name.contains("atoms") || $0.name.contains("coefficients") })
        #expect(report.unused.isEmpty && report.mapped.count == 3 * state.count)
    }
}
