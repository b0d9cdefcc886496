import CZlib
import Foundation
import Loader
import Support

/// An 8-bit RGB PNG of `width`×`height` pixels (rows packed, top to bottom),
/// written atomically. Filter 0 on every row, zlib's default compression.
public func writePNG(_ rgb: [UInt8], width: Int, height: Int, to path: String) throws {
    guard width > 0, height > 0, rgb.count == width * height * 3 else {
        throw PrepError(
            path: path, reason: "an RGB image of \(width)×\(height) needs \(width * height * 3) bytes, got \(rgb.count)"
        )
    }
    var raw = [UInt8]()
    raw.reserveCapacity((width * 3 + 1) * height)
    for y in 0..<height {
        raw.append(0)
        raw += rgb[(y * width * 3)..<((y + 1) * width * 3)]
    }
    var compressedLength = compressBound(uLong(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
    guard compress(&compressed, &compressedLength, raw, uLong(raw.count)) == Z_OK else {
        throw PrepError(path: path, reason: "zlib could not compress the image")
    }
    var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    func chunk(_ type: String, _ body: [UInt8]) {
        var length = UInt32(body.count).bigEndian
        png.append(Data(bytes: &length, count: 4))
        let typed = Array(type.utf8) + body
        png.append(contentsOf: typed)
        var crc = UInt32(crc32(0, typed, uInt(typed.count))).bigEndian
        png.append(Data(bytes: &crc, count: 4))
    }
    func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((v >> $0) & 0xFF) } }
    chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])  // 8-bit RGB, deflate, filter 0, no interlace
    chunk("IDAT", Array(compressed.prefix(Int(compressedLength))))
    chunk("IEND", [])
    try writeAtomically(png, to: path)
}
