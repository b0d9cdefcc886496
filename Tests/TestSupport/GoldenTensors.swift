import Tensor

/// Golden tensors (PyTorch's, from a safetensors fixture), kept as shapes and
/// values: every lookup returns a fresh tensor, so tests running at once share
/// nothing mutable.
public struct GoldenTensors: Sendable {
    private let entries: [String: (shape: [Int], values: [Float])]

    public init(_ path: String) throws {
        entries = try Safetensors.read(path).tensors.mapValues { ($0.shape, $0.scalars) }
    }

    public subscript(_ name: String) -> Tensor? {
        entries[name].map { Tensor(shape: $0.shape, values: $0.values) }
    }

    public var count: Int { entries.count }
    public var keys: Dictionary<String, (shape: [Int], values: [Float])>.Keys { entries.keys }
}
