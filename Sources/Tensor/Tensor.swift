import Foundation

/// What a parameter is for; ITSL freezes parameters by role.
public enum ParameterRole: String, Sendable, Codable {
    case spatial, temporal, joint
}

/// A contiguous Float32 array with a shape (N×C×T×H×W for video), and a node
/// of the define-by-run autodiff graph when it requires a gradient.
public final class Tensor {
    public let shape: [Int]
    let storage: Storage
    /// Accumulated gradient (same shape), after `backward()`.
    public var grad: Tensor?
    public var requiresGrad: Bool

    /// Parameter bookkeeping (nil role: not a parameter).
    public var role: ParameterRole?
    /// A frozen parameter gets no gradient and no optimizer update.
    public var trainable: Bool = true {
        didSet { requiresGrad = trainable && role != nil }
    }

    var parents: [Tensor] = []
    /// Given this tensor's gradient, accumulates into the parents' gradients.
    var backwardFunction: ((Tensor) -> Void)?

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// Zeros.
    public convenience init(zeros shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)))
    }

    public convenience init(shape: [Int], values: [Float]) {
        let s = Storage(count: values.count, zeroed: false)
        values.withUnsafeBufferPointer { s.pointer.initialize(from: $0.baseAddress!, count: values.count) }
        self.init(shape: shape, storage: s)
    }

    public convenience init(shape: [Int], repeating value: Float) {
        let s = Storage(count: shape.reduce(1, *), zeroed: false)
        s.pointer.initialize(repeating: value, count: s.count)
        self.init(shape: shape, storage: s)
    }

    /// A parameter: requires a gradient, has a role.
    public static func parameter(_ shape: [Int], role: ParameterRole, values: [Float]) -> Tensor {
        let t = Tensor(shape: shape, values: values)
        t.role = role
        t.requiresGrad = true
        return t
    }

    /// Uninitialised output of an op.
    static func empty(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: false))
    }

    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }
    public var item: Float { precondition(count == 1); return storage.pointer[0] }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Copies `values` in (no graph).
    public func assign(_ values: [Float]) {
        precondition(values.count == count)
        values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// A new tensor with the same values and no graph.
    public func detached() -> Tensor {
        let t = Tensor.empty(shape)
        t.storage.pointer.update(from: storage.pointer, count: count)
        return t
    }
}

/// Per-thread switches: gradient recording and FLOP counting.
final class ThreadState {
    var gradEnabled = true
    var countingFlops = false
    var flops = 0

    static var current: ThreadState {
        let dictionary = Thread.current.threadDictionary
        if let state = dictionary["clipkit.tensor"] as? ThreadState { return state }
        let state = ThreadState()
        dictionary["clipkit.tensor"] = state
        return state
    }
}

/// Gradient recording on or off for the calling thread (off: evaluation records nothing).
public enum GradMode {
    static var enabled: Bool { ThreadState.current.gradEnabled }

    /// Runs `body` without recording the graph.
    public static func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
        let state = ThreadState.current
        let saved = state.gradEnabled
        state.gradEnabled = false
        defer { state.gradEnabled = saved }
        return try body()
    }

    public static var isEnabled: Bool { enabled }
}

extension Tensor {
    /// Makes `result` a graph node over `inputs` when any of them needs a gradient.
    @discardableResult
    func record(_ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
        guard GradMode.enabled, inputs.contains(where: \.requiresGrad) else { return self }
        requiresGrad = true
        parents = inputs
        backwardFunction = backward
        return self
    }

    /// Adds `g` (same element count) into this tensor's gradient.
    func accumulateGrad(_ g: UnsafePointer<Float>) {
        guard requiresGrad else { return }
        if let grad {
            let p = grad.storage.pointer
            for i in 0..<count { p[i] += g[i] }
        } else {
            let t = Tensor.empty(shape)
            t.storage.pointer.update(from: g, count: count)
            grad = t
        }
    }

    /// Gradient buffer to add into (zeros on first use).
    func gradBuffer() -> UnsafeMutablePointer<Float> {
        if grad == nil { grad = Tensor(zeros: shape) }
        return grad!.storage.pointer
    }

    /// Reverse-mode differentiation from this scalar. Intermediate gradients
    /// and saved activations are released as soon as they are used.
    public func backward() {
        precondition(count == 1, "backward() starts from a scalar")
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for parent in node.parents where parent.requiresGrad { stack.append((parent, false)) }
        }
        grad = Tensor(shape: shape, repeating: 1)
        for node in order.reversed() {
            guard let function = node.backwardFunction else { continue }
            if let g = node.grad { function(g) }
            node.backwardFunction = nil
            node.parents = []
            node.grad = nil   // not a leaf: its gradient is spent
        }
    }

    /// Drops the gradient.
    public func zeroGrad() { grad = nil }
}
