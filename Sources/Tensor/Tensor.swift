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
    /// This tensor's place in the autodiff graph (nil: no gradient needed).
    /// Backward functions hold nodes, not tensors, so an activation's storage
    /// is freed as soon as no backward function needs its values.
    var node: GradNode?

    /// Accumulated gradient (same shape), after `backward()`.
    public var grad: Tensor? {
        get { node?.grad }
        set { node?.grad = newValue }
    }

    public var requiresGrad: Bool {
        get { node != nil }
        set {
            if newValue { if node == nil { node = GradNode(shape: shape) } } else { node = nil }
        }
    }

    /// Parameter bookkeeping (nil role: not a parameter).
    public var role: ParameterRole?
    /// A frozen parameter gets no gradient and no optimizer update.
    public var trainable: Bool = true {
        didSet { requiresGrad = trainable && role != nil }
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
        if requiresGrad { node = GradNode(shape: shape) }
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
    public var item: Float {
        precondition(count == 1)
        return storage.pointer[0]
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R
    {
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

/// A node of the autodiff graph: the gradient of one tensor, the nodes it came
/// from, and the function that passes its gradient on to them.
final class GradNode {
    let shape: [Int]
    let count: Int
    var grad: Tensor?
    var parents: [GradNode] = []
    /// Given this node's gradient, accumulates into the parents' gradients.
    var backwardFunction: ((Tensor) -> Void)?
    /// Keep the gradient after backward although this is not a leaf (`retainGrad`).
    var retainsGrad = false

    init(shape: [Int]) {
        self.shape = shape
        count = shape.reduce(1, *)
    }

    /// Gradient buffer to add into (zeros on first use).
    func gradBuffer() -> UnsafeMutablePointer<Float> {
        if grad == nil { grad = Tensor(zeros: shape) }
        return grad!.storage.pointer
    }

    /// Gradient buffer to write or add into: `fresh` when it is new and
    /// uninitialised (write, do not add), which spares zeroing it first.
    func gradBufferForWrite() -> (pointer: UnsafeMutablePointer<Float>, fresh: Bool) {
        if let grad { return (grad.storage.pointer, false) }
        let t = Tensor.empty(shape)
        grad = t
        return (t.storage.pointer, true)
    }

    /// Adds `g` (same element count) into the gradient.
    func accumulate(_ g: UnsafePointer<Float>) {
        if let grad {
            let p = grad.storage.pointer
            for i in 0..<count { p[i] += g[i] }
        } else {
            let t = Tensor.empty(shape)
            t.storage.pointer.update(from: g, count: count)
            grad = t
        }
    }
}

extension Tensor {
    /// Makes `self` (an op's result) a graph node over `inputs` when any of
    /// them needs a gradient. `backward` must capture the inputs' nodes (to
    /// deliver gradients) and only the storage whose values it reads.
    @discardableResult
    func record(_ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
        guard GradMode.enabled else { return self }
        let parents = inputs.compactMap(\.node)
        guard !parents.isEmpty else { return self }
        let node = GradNode(shape: shape)
        node.parents = parents
        node.backwardFunction = backward
        self.node = node
        return self
    }

    /// Reverse-mode differentiation from this scalar. Intermediate gradients
    /// and saved activations are released as soon as they are used.
    /// `leafReady` is called with a leaf's `gradientNodeID` (a parameter's)
    /// as soon as its gradient is complete, while the rest of the graph is
    /// still being differentiated (a data-parallel trainer starts sending it).
    public func backward(leafReady: ((ObjectIdentifier) -> Void)? = nil) {
        precondition(count == 1, "backward() starts from a scalar")
        guard let root = node else { return }
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Bool)] = [(root, false)]
        while let (n, expanded) = stack.popLast() {
            if expanded {
                order.append(n)
                continue
            }
            guard visited.insert(ObjectIdentifier(n)).inserted else { continue }
            stack.append((n, true))
            for parent in n.parents { stack.append((parent, false)) }
        }
        root.grad = Tensor(shape: shape, repeating: 1)
        for n in order.reversed() {
            // Reverse post-order: every consumer of a leaf comes before it.
            guard let function = n.backwardFunction else {
                leafReady?(ObjectIdentifier(n))
                continue
            }
            if let g = n.grad { function(g) }
            n.backwardFunction = nil
            n.parents = []
            if !n.retainsGrad { n.grad = nil }  // not a leaf: its gradient is spent
        }
    }

    /// Drops the gradient.
    public func zeroGrad() { node?.grad = nil }

    /// Keeps this intermediate tensor's gradient after `backward()` (PyTorch's
    /// `retain_grad`), for Grad-CAM's activation gradients.
    public func retainGrad() { node?.retainsGrad = true }

    /// The identity `backward(leafReady:)` reports for this tensor (nil without a gradient).
    public var gradientNodeID: ObjectIdentifier? { node.map(ObjectIdentifier.init) }

    /// The gradient's buffer, made (zeros) when the tensor has none yet; nil
    /// for a tensor that needs no gradient.
    public func withGradientBuffer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R? {
        guard let node else { return nil }
        return try body(node.gradBuffer())
    }

    /// The values, for reading and writing in place (count floats).
    public func withValues<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try body(storage.pointer)
    }
}
