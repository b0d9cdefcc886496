import Foundation
import NN
import Tensor

/// A training checkpoint as one safetensors file: model tensors under
/// "model.", optimizer state under "optimizer.", and in the metadata the model
/// config (JSON), the epoch and any other training state as strings. Written to
/// a temporary file, then renamed, so an interrupted save never leaves a torn file.
public enum Checkpoint {
    public static func save(
        to path: String, model: Module, optimizer: Optimizer?, epoch: Int,
        config: [String: String] = [:]
    ) throws {
        var tensors: [String: Tensor] = [:]
        for (name, t) in model.stateDict() { tensors["model." + name] = t }
        for (name, t) in optimizer?.state() ?? [:] { tensors["optimizer." + name] = t }
        var metadata = config
        metadata["epoch"] = String(epoch)
        metadata["learning_rate"] = optimizer.map { String($0.learningRate) }
        try Safetensors.write(tensors, metadata: metadata, to: path)
    }

    /// Loads model (and optimizer) state; returns the metadata.
    @discardableResult
    public static func load(from path: String, model: Module, optimizer: Optimizer?) throws -> [String: String] {
        try load(Safetensors.read(path), model: model, optimizer: optimizer)
    }

    /// Loads a checkpoint file's bytes already in memory (`path` names it in errors).
    @discardableResult
    public static func load(data: Data, path: String, model: Module, optimizer: Optimizer?) throws -> [String: String] {
        try load(Safetensors.read(data: data, path: path), model: model, optimizer: optimizer)
    }

    private static func load(
        _ file: (tensors: [String: Tensor], metadata: [String: String]), model: Module,
        optimizer: Optimizer?
    ) throws -> [String: String] {
        let (tensors, metadata) = file
        var modelState: [String: Tensor] = [:]
        var optimizerState: [String: Tensor] = [:]
        for (name, t) in tensors {
            if name.hasPrefix("model.") { modelState[String(name.dropFirst(6))] = t }
            if name.hasPrefix("optimizer.") { optimizerState[String(name.dropFirst(10))] = t }
        }
        try model.load(modelState)
        if let optimizer {
            optimizer.load(optimizerState)
            if let rate = metadata["learning_rate"].flatMap(Float.init) { optimizer.learningRate = rate }
        }
        return metadata
    }
}
