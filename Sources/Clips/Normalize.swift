import VideoIO

/// Per-channel mean and standard deviation, in 0...255 units.
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }
    /// mmaction2's ImageNet values (RGB).
    public static let imagenet = Normalization(mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375])
}

/// Cuts `box` out of T RGB24 frames (rows of `width * 3` bytes), flips it if
/// asked, and writes (x - mean) / std as C × T × box.height × box.width floats.
public func normalizeClip(
    frames: [UnsafePointer<UInt8>], width: Int, box: CropBox, flip: Bool,
    normalization: Normalization, into destination: UnsafeMutablePointer<Float>
) {
    let t = frames.count
    let plane = box.width * box.height
    let scale = normalization.std.map { 1 / $0 }
    let bias = (0..<3).map { -normalization.mean[$0] * scale[$0] }
    for (f, frame) in frames.enumerated() {
        let r = destination + (0 * t + f) * plane
        let g = destination + (1 * t + f) * plane
        let b = destination + (2 * t + f) * plane
        for y in 0..<box.height {
            let row = frame + ((box.y + y) * width + box.x) * 3
            let out = y * box.width
            for x in 0..<box.width {
                let sx = flip ? box.width - 1 - x : x
                let p = row + sx * 3
                r[out + x] = Float(p[0]) * scale[0] + bias[0]
                g[out + x] = Float(p[1]) * scale[1] + bias[1]
                b[out + x] = Float(p[2]) * scale[2] + bias[2]
            }
        }
    }
}

/// The naive twin of `normalizeClip`, element by element, for tests.
func normalizeClipNaive(frames: [[UInt8]], width: Int, box: CropBox, flip: Bool, normalization: Normalization)
    -> [Float]
{
    let t = frames.count
    var out = [Float](repeating: 0, count: 3 * t * box.width * box.height)
    for c in 0..<3 {
        for f in 0..<t {
            for y in 0..<box.height {
                for x in 0..<box.width {
                    let sx = box.x + (flip ? box.width - 1 - x : x)
                    let value = Float(frames[f][((box.y + y) * width + sx) * 3 + c])
                    out[((c * t + f) * box.height + y) * box.width + x] =
                        (value - normalization.mean[c]) / normalization.std[c]
                }
            }
        }
    }
    return out
}
