import Foundation
import Tensor

/// A network layer or a composite of layers. Subclasses override `forward`,
/// and list their parameters, buffers and children so that names, modes,
/// freezing and checkpoints work recursively (names as PyTorch's state_dict).
open class Module {
    public private(set) var training = true
    public init() {}

    open var ownParameters: [(String, Tensor)] { [] }
    /// State that is not trained but saved (running statistics).
    open var ownBuffers: [(String, Tensor)] { [] }
    open var children: [(String, Module)] { [] }

    open func forward(_ x: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) must override forward(_:)")
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = forward(x)
        onOutput?(y)
        return y
    }

    /// forward(x) for an input the caller owns and never reads again (the
    /// output of the layer before): in inference a module may write its
    /// output over it. By default the same as `forward(_:)`.
    open func forward(owned x: Tensor) -> Tensor { forward(x) }

    public func callAsFunction(owned x: Tensor) -> Tensor {
        let y = forward(owned: x)
        onOutput?(y)
        return y
    }

    /// Called with this module's output after every forward pass (PyTorch's
    /// forward hook), for Grad-CAM.
    public var onOutput: ((Tensor) -> Void)?

    /// This module and every descendant, with dotted names ("" for this one).
    public func namedModules() -> [(String, Module)] {
        [("", self)]
            + children.flatMap { name, child in child.namedModules().map { ($0.isEmpty ? name : "\(name).\($0)", $1) } }
    }

    /// Every parameter, with dotted names ("conv1.weight").
    public func parameters() -> [(String, Tensor)] {
        ownParameters + children.flatMap { name, child in child.parameters().map { ("\(name).\($0)", $1) } }
    }

    public func buffers() -> [(String, Tensor)] {
        ownBuffers + children.flatMap { name, child in child.buffers().map { ("\(name).\($0)", $1) } }
    }

    /// Training mode: batch statistics, dropout on.
    public func train() { setMode(true) }
    /// Evaluation mode: running statistics, dropout off.
    public func eval() { setMode(false) }
    private func setMode(_ training: Bool) {
        self.training = training
        for (_, child) in children { child.setMode(training) }
    }

    /// Freezes (or unfreezes) every parameter with `role`: it gets no gradient
    /// and no optimizer update.
    public func freeze(role: ParameterRole, _ frozen: Bool = true) {
        for (_, p) in parameters() where p.role == role { p.trainable = !frozen }
    }

    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.1.count } }

    /// Parameters and buffers by name.
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters() + buffers())
    }

    /// Copies values from `state` into parameters and buffers of the same names and shapes.
    public func load(_ state: [String: Tensor], strict: Bool = true) throws {
        for (name, tensor) in parameters() + buffers() {
            guard let source = state[name] else {
                if strict { throw ModelError.missingTensor(name) }
                continue
            }
            guard source.shape == tensor.shape else {
                throw ModelError.shapeMismatch(name, expected: tensor.shape, found: source.shape)
            }
            tensor.assign(source.scalars)
        }
    }
}

public enum ModelError: Error, Equatable, CustomStringConvertible {
    case missingTensor(String)
    case shapeMismatch(String, expected: [Int], found: [Int])
    case unknownModel(String, known: [String])
    public var description: String {
        switch self {
        case .missingTensor(let n): return "the checkpoint has no tensor '\(n)'"
        case .shapeMismatch(let n, let e, let f): return "'\(n)' has shape \(f), the model expects \(e)"
        case .unknownModel(let n, let known): return "unknown model '\(n)' (known: \(known.joined(separator: ", ")))"
        }
    }
}

/// Uniform in ±bound, PyTorch's default for conv and linear weights
/// (kaiming_uniform with a = √5: bound = 1/√fan_in).
func uniformValues(_ count: Int, bound: Float, rng: inout SeededRNG) -> [Float] {
    rng.uniformFloats(count, in: -bound..<bound)
}
