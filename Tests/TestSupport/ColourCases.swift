import Foundation

/// One case of the pairwise colour plan (`Fixtures/colour/cases.json`, made
/// by `tools/make-colour-fixtures.py`): a file's colour settings and how it is read.
public struct ColourCase: Decodable, Sendable, CustomStringConvertible {
    public let range: String
    public let matrix: String
    public let chroma: String
    public let depth: Int
    public let output: String
    public let request: String
    public let path: String
    public let file: String
    public let pix_fmt: String

    public static func load(path: String) throws -> [ColourCase] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("colour/cases.json")))
        return try JSONDecoder().decode([ColourCase].self, from: data).filter { $0.path == path }
    }

    public var video: String { fixture("colour/" + file) }
    public var description: String { "\(file) \(output) \(request) (\(path))" }

    /// Every file has 8 frames of 64x48.
    public static let frames = 8
    /// The crop box of `crop` cases, in native pixels: x, y, width, height.
    public static let cropBox = (x: 6, y: 4, width: 40, height: 30)
    /// `size` cases' W×H and `short_side` cases' short side.
    public static let size = (width: 40, height: 30)
    public static let shortSide = 32

    /// The calls a request makes: one list of indices per call, on one decoder.
    public var calls: [[Int]] {
        switch request {
        case "forward": return [Array(0..<Self.frames)]
        case "descending": return [Array((0..<Self.frames).reversed())]
        case "random": return [[5, 2, 7, 2, 0, 3]]
        default: return [[3, 1], [6], [0, 7, 2], [4]]  // reused
        }
    }

    /// The ffmpeg CLI's frames at `width`×`height`: `format=rgb24` at native
    /// size (after the crop for `crop`), `scale=W:H:flags=bilinear` before it when resized.
    public func cliFrames(width: Int, height: Int) throws -> [[UInt8]] {
        var filters: [String] = []
        if output == "crop" {
            let b = Self.cropBox
            filters.append("crop=\(b.width):\(b.height):\(b.x):\(b.y)")
        }
        if output == "short_side" || output == "size" { filters.append("scale=\(width):\(height):flags=bilinear") }
        filters.append("format=rgb24")
        let bytes = [UInt8](
            try runTool(
                "ffmpeg",
                [
                    "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", video,
                    "-vf", filters.joined(separator: ","), "-f", "rawvideo", "-"
                ]))
        let frame = width * height * 3
        return (0..<bytes.count / frame).map { Array(bytes[$0 * frame..<($0 + 1) * frame]) }
    }

    /// Exact or PSNR ≥ 50 dB at native size, ≥ 40 dB resized; nil when it is, else what differs.
    public func mismatch(_ ours: [UInt8], _ truth: [UInt8], frame: Int) -> String? {
        let value = psnr(ours, truth)
        let bound = output == "short_side" || output == "size" ? 40.0 : 50.0
        return value >= bound ? nil : "\(self) frame \(frame): PSNR \(String(format: "%.1f", value)) dB < \(bound)"
    }
}
