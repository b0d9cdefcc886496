import Foundation
import NN
import Tensor
import Testing
import TestSupport

/// The model zoo against its PyTorch twins (tools/bench/resnet3d.py), from
/// Fixtures/golden/zoo.json (tools/golden/make_zoo_golden.py): both sides fill
/// every parameter from a formula of its name, then take one step (BN on its
/// running statistics) on the same clip.
@Suite struct ZooTests {
    struct Golden: Decodable {
        struct Grad: Decodable { var sum: Double; var abs_sum: Double; var first: [Float]; var shape: [Int] }
        struct Model: Decodable { var parameters: Int; var logits: [Float]; var loss: Float; var grads: [String: Grad] }
        var shape: [Int]
        var labels: [Int]
        var classes: Int
        var models: [String: Model]
    }

    static let golden: Golden = try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: fixture("golden/zoo.json"))))

    static func fnv1a(_ text: String) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for byte in text.utf8 { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
        return h
    }

    /// The twin script's `formula`: a sine whose phase comes from the name,
    /// repeating every 4099 values, written into `p`.
    static func fill(_ p: Tensor, name: String) {
        let shape = p.shape, count = p.count
        let phase = Double(fnv1a(name) % 10007) / 10007 * 2 * Double.pi
        let scale = shape.count == 1 ? 0.1 : 1 / Double(count / shape[0]).squareRoot()
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

    @Test(arguments: ["i3d-r50", "s3d-r50", "tsn-r50", "i3d-r18", "s3d-r18", "tsn-r18"])
    func matchesItsPyTorchTwin(_ name: String) throws {
        let g = Self.golden, expected = try #require(g.models[name])
        let model = try ModelZoo.make(name, classes: g.classes)
        #expect(model.parameterCount == expected.parameters)
        let parameters = model.parameters()
        #expect(Set(parameters.map(\.0)) == Set(expected.grads.keys), "parameter names as the twin's state_dict")
        for (pname, p) in parameters { Self.fill(p, name: pname) }
        let count = g.shape.reduce(1, *)
        let x = Tensor(shape: g.shape, values: (0..<count).map { Float(sin(0.1 * Double($0))) })
        model.eval()   // BN on running statistics, as the golden (see make_zoo_golden.py)
        let logits = model(x)
        let loss = softmaxCrossEntropy(logits, labels: g.labels)
        #expect(closeness(logits.scalars, expected.logits, rtol: 1e-3, atol: 1e-4) == "", "logits")
        #expect(abs(loss.item - expected.loss) <= 1e-4 * max(1, abs(expected.loss)), "loss \(loss.item) vs \(expected.loss)")
        loss.backward()
        var worst = (0.0, "")
        for (pname, p) in parameters {
            guard let want = expected.grads[pname], let grad = p.grad else { Issue.record("\(pname): no gradient"); continue }
            var sum = 0.0, absSum = 0.0
            let first: [Float] = grad.withValues { g in
                for i in 0..<grad.count { sum += Double(g[i]); absSum += Double(abs(g[i])) }
                return (0..<min(6, grad.count)).map { g[$0] }
            }
            // Against the gradient's mean magnitude: sums may cancel, single values may be tiny.
            let typical = max(want.abs_sum / Double(grad.count), 1e-12)
            let error = max(abs(absSum - want.abs_sum) / max(want.abs_sum, 1e-12), abs(sum - want.sum) / (typical * Double(grad.count)),
                            zip(first, want.first).map { Double(abs($0 - $1)) / typical }.max() ?? 0)
            if error > worst.0 { worst = (error, pname) }
        }
        #expect(worst.0 < 1e-2, "largest gradient error \(worst.0) (relative to its mean magnitude) at \(worst.1)")
    }
}
