import Foundation
import TestSupport
import Testing

@testable import Tensor

@Suite struct SafetensorsTests {
    @Test func roundTripKeepsValuesShapesAndMetadata() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "clipkit-\(UUID().uuidString).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [1], values: [-7.5])
        try Safetensors.write(["layer.weight": a, "b": b], metadata: ["model": "kth3l-reg3d", "epoch": "3"], to: path)
        let (tensors, metadata) = try Safetensors.read(path)
        #expect(tensors["layer.weight"]?.shape == [2, 3] && tensors["layer.weight"]?.scalars == a.scalars)
        #expect(tensors["b"]?.scalars == [-7.5])
        #expect(metadata == ["model": "kth3l-reg3d", "epoch": "3"])
        #expect(throws: Safetensors.FormatError.self) { try Safetensors.read(fixture("text.mp4")) }
    }

    @Test func readsAFileWrittenByPython() {
        #expect(golden.count >= 193)
        #expect(golden["conv_basic/w"]?.shape == [4, 3, 3, 3, 3])
    }
}
