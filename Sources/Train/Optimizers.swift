import Foundation
import Tensor

/// Updates parameters from their gradients. Frozen parameters (not trainable)
/// and parameters without a gradient are left untouched.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    func step()
    /// Optimizer state by name, for checkpoints.
    func state() -> [String: Tensor]
    func load(_ state: [String: Tensor])
}

extension Optimizer {
    public func zeroGrad(_ parameters: [Tensor]) { for p in parameters { p.zeroGrad() } }
}

/// PyTorch's SGD: d = g + λ·p; b = μ·b + d (b = d at the first step);
/// d = d + μ·b (Nesterov) or b; p -= lr·d.
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    private var buffers: [Tensor?]

    public init(
        _ parameters: [Tensor], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false
    ) {
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = Array(repeating: nil, count: parameters.count)
    }

    /// One pass per parameter, in place, with PyTorch's operation order per
    /// element (so results stay bit-identical to the three-pass form).
    public func step() {
        for (i, p) in parameters.enumerated() where p.trainable {
            guard let grad = p.grad else { continue }
            let n = p.count
            let (lr, mu, wd, nesterov) = (learningRate, momentum, weightDecay, nesterov)
            let first = mu != 0 && buffers[i] == nil  // b = d at the first step
            if first { buffers[i] = Tensor(shape: p.shape, repeating: 0) }
            grad.withUnsafeBufferPointer { g in
                p.withUnsafeMutableBufferPointer { w in
                    guard mu != 0, let buffer = buffers[i] else {
                        Parallel.forEachSpan(n) { span in for j in span { w[j] -= lr * (g[j] + wd * w[j]) } }
                        return
                    }
                    buffer.withUnsafeMutableBufferPointer { b in
                        Parallel.forEachSpan(n) { span in
                            for j in span {
                                let d = g[j] + wd * w[j]
                                let v = first ? d : mu * b[j] + d
                                b[j] = v
                                w[j] -= lr * (nesterov ? d + mu * v : v)
                            }
                        }
                    }
                }
            }
        }
    }

    public func state() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, b) in buffers.enumerated() { if let b { out["momentum.\(i)"] = b } }
        return out
    }

    public func load(_ state: [String: Tensor]) {
        for i in buffers.indices { buffers[i] = state["momentum.\(i)"]?.detached() }
    }
}

/// PyTorch's Adam (L2 weight decay added to the gradient) or AdamW (decoupled:
/// p *= 1 - lr·λ before the Adam step).
public final class Adam: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupled: Bool
    private var m: [Tensor], v: [Tensor]
    private var steps: [Int]

    public init(
        _ parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0, decoupled: Bool = false
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        m = parameters.map { Tensor(zeros: $0.shape) }
        v = parameters.map { Tensor(zeros: $0.shape) }
        steps = Array(repeating: 0, count: parameters.count)
    }

    /// AdamW with PyTorch's default weight decay 0.01.
    public static func adamW(_ parameters: [Tensor], learningRate: Float = 1e-3, weightDecay: Float = 1e-2) -> Adam {
        Adam(parameters, learningRate: learningRate, weightDecay: weightDecay, decoupled: true)
    }

    public func step() {
        for (i, p) in parameters.enumerated() where p.trainable {
            guard let grad = p.grad else { continue }
            steps[i] += 1
            let t = Float(steps[i])
            let correction1 = 1 - pow(beta1, t)
            let correction2 = 1 - pow(beta2, t)
            let stepSize = learningRate / correction1
            let g = grad.scalars
            p.withUnsafeMutableBufferPointer { w in
                m[i].withUnsafeMutableBufferPointer { mp in
                    v[i].withUnsafeMutableBufferPointer { vp in
                        for j in 0..<p.count {
                            var gj = g[j]
                            if weightDecay != 0 {
                                if decoupled {
                                    w[j] *= 1 - learningRate * weightDecay
                                } else {
                                    gj += weightDecay * w[j]
                                }
                            }
                            mp[j] = beta1 * mp[j] + (1 - beta1) * gj
                            vp[j] = beta2 * vp[j] + (1 - beta2) * gj * gj
                            let denominator = vp[j].squareRoot() / correction2.squareRoot() + epsilon
                            w[j] -= stepSize * mp[j] / denominator
                        }
                    }
                }
            }
        }
    }

    public func state() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for i in parameters.indices {
            out["m.\(i)"] = m[i]
            out["v.\(i)"] = v[i]
            out["step.\(i)"] = Tensor(shape: [1], values: [Float(steps[i])])
        }
        return out
    }

    public func load(_ state: [String: Tensor]) {
        for i in parameters.indices {
            if let t = state["m.\(i)"] { m[i] = t.detached() }
            if let t = state["v.\(i)"] { v[i] = t.detached() }
            if let t = state["step.\(i)"] { steps[i] = Int(t.item) }
        }
    }
}
