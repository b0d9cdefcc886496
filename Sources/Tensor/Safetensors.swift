import Foundation
import Support

/// The safetensors format (Hugging Face): an 8-byte little-endian header
/// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
/// {string: string}}, then the raw little-endian data. Only F32 is written;
/// F32, F64, F16 and integer types are read and converted to Float32.
public enum Safetensors {
    public struct FormatError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Writes `tensors` and `metadata` to `path` (temp file, then rename).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]]
            offset += t.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }  // pad with spaces, as the reference does
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            tensors[name]!.withUnsafeBufferPointer {
                data.append(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self),
                        count: $0.count * 4))
            }
        }
        let temporary = path + ".tmp-\(getpid())"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw FormatError(path: path, reason: "cannot rename the finished file into place")
        }
    }

    /// Reads every tensor and the metadata.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FormatError(
                path: path, reason: unreadableReason(path))
        }
        return try read(data: data, path: path)
    }

    /// Reads a file's bytes already in memory (`path` names it in errors).
    public static func read(data: Data, path: String) throws -> (tensors: [String: Tensor], metadata: [String: String])
    {
        guard data.count >= 8 else { throw FormatError(path: path, reason: "too short for a safetensors file") }
        let length = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        guard length > 0, 8 + length <= data.count else {
            throw FormatError(path: path, reason: "header length \(length) is past the end of the file")
        }
        guard
            let header = (try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length)))) as? [String: Any]
        else {
            throw FormatError(path: path, reason: "the header is not a JSON object")
        }
        let body = data.subdata(in: (8 + length)..<data.count)
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
                offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= body.count
            else {
                throw FormatError(path: path, reason: "bad header entry for '\(name)'")
            }
            let count = shape.reduce(1, *)
            let bytes = body.subdata(in: offsets[0]..<offsets[1])
            let values: [Float]
            switch dtype {
            case "F32": values = decode(bytes, Float.self, count).map { $0 }
            case "F64": values = decode(bytes, Double.self, count).map { Float($0) }
            case "I64": values = decode(bytes, Int64.self, count).map { Float($0) }
            case "I32": values = decode(bytes, Int32.self, count).map { Float($0) }
            case "F16": values = decode(bytes, UInt16.self, count).map { Float(Float16(bitPattern: $0)) }
            default: throw FormatError(path: path, reason: "'\(name)' has dtype \(dtype), which ClipKit does not read")
            }
            guard values.count == count else {
                throw FormatError(
                    path: path, reason: "'\(name)' has \(bytes.count) bytes for shape \(shape) of \(dtype)")
            }
            tensors[name] = Tensor(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    private static func decode<T>(_ bytes: Data, _ type: T.Type, _ count: Int) -> [T] {
        guard bytes.count == count * MemoryLayout<T>.size else { return [] }
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
        }
    }
}
