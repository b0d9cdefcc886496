/// The size of the RGB frames a decoder produces.
public enum OutputSize: Sendable, Equatable {
    /// The (cropped) frame at its native resolution.
    case native
    /// Scaled so that the shorter side is `S` pixels; the other side keeps the
    /// aspect ratio, rounded half up (mmcv's `rescale_size`).
    case shortSide(Int)
    case exact(width: Int, height: Int)
}

/// A rectangle in the displayed frame (after rotation), in native pixels.
public struct CropBox: Sendable, Equatable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// What a decoded frame becomes: an optional crop of the displayed frame,
/// scaled to `size`, as RGB24 (H×W×3 bytes, rows top to bottom).
public struct FrameFormat: Sendable, Equatable {
    public var size: OutputSize
    public var crop: CropBox?
    public init(size: OutputSize = .native, crop: CropBox? = nil) {
        self.size = size
        self.crop = crop
    }
    public static let native = FrameFormat()
}

/// A `FrameFormat` resolved against one video: the crop in coded-frame pixels,
/// the size swscale produces, and the displayed size after rotation.
struct Geometry: Equatable {
    var codedCrop: CropBox
    var scaledWidth: Int
    var scaledHeight: Int
    var width: Int
    var height: Int
    /// Clockwise degrees: 0, 90, 180 or 270.
    var rotation: Int

    var frameBytes: Int { width * height * 3 }

    init(_ format: FrameFormat, codedWidth: Int, codedHeight: Int, rotation: Int, path: String) throws {
        let transposed = rotation == 90 || rotation == 270
        let displayWidth = transposed ? codedHeight : codedWidth
        let displayHeight = transposed ? codedWidth : codedHeight
        let crop = format.crop ?? CropBox(x: 0, y: 0, width: displayWidth, height: displayHeight)
        guard crop.width > 0, crop.height > 0, crop.x >= 0, crop.y >= 0,
            crop.x + crop.width <= displayWidth, crop.y + crop.height <= displayHeight
        else {
            throw VideoError.invalidRequest(
                path: path,
                reason: "crop box \(crop.width)x\(crop.height)+\(crop.x)+\(crop.y) "
                    + "lies outside the \(displayWidth)x\(displayHeight) frame"
            )
        }
        switch format.size {
        case .native:
            (width, height) = (crop.width, crop.height)
        case .shortSide(let side):
            guard side > 0 else {
                throw VideoError.invalidRequest(path: path, reason: "short side must be positive, got \(side)")
            }
            (width, height) = scaledToShortSide(width: crop.width, height: crop.height, side: side)
        case .exact(let w, let h):
            guard w > 0, h > 0 else {
                throw VideoError.invalidRequest(path: path, reason: "size must be positive, got \(w)x\(h)")
            }
            (width, height) = (w, h)
        }
        self.rotation = rotation
        (scaledWidth, scaledHeight) = transposed ? (height, width) : (width, height)
        // Map the displayed crop back to coded pixels (inverse of the rotation).
        switch rotation {
        case 90:
            codedCrop = CropBox(x: crop.y, y: codedHeight - crop.x - crop.width, width: crop.height, height: crop.width)
        case 180:
            codedCrop = CropBox(
                x: codedWidth - crop.x - crop.width, y: codedHeight - crop.y - crop.height,
                width: crop.width, height: crop.height)
        case 270:
            codedCrop = CropBox(x: codedWidth - crop.y - crop.height, y: crop.x, width: crop.height, height: crop.width)
        default:
            codedCrop = crop
        }
    }
}

/// Short side to `side`, the long side scaled by the same factor, rounded half up.
public func scaledToShortSide(width: Int, height: Int, side: Int) -> (width: Int, height: Int) {
    if width <= height {
        return (side, Int(Double(height) * Double(side) / Double(width) + 0.5))
    }
    return (Int(Double(width) * Double(side) / Double(height) + 0.5), side)
}

/// The clockwise rotation the ffmpeg CLI applies for a display matrix
/// (`-round(av_display_rotation_get)`, folded into [0, 360)), snapped to a
/// multiple of 90; other angles are left unrotated, as ffmpeg does.
func displayRotation(counterclockwiseDegrees angle: Double) -> Int {
    guard angle.isFinite else { return 0 }
    var theta = -angle.rounded()
    theta -= 360 * (theta / 360 + 0.9 / 360).rounded(.down)
    for candidate in [0, 90, 180, 270] where abs(theta - Double(candidate)) < 1 { return candidate }
    return 0
}

/// Rotates an RGB24 image clockwise by `degrees` (90, 180 or 270).
/// `source` is height×width×3; `destination` receives the rotated image.
func rotateRGB24(
    _ source: UnsafePointer<UInt8>, width: Int, height: Int, degrees: Int,
    into destination: UnsafeMutablePointer<UInt8>
) {
    switch degrees {
    case 90:  // ffmpeg transpose=clock: displayed (x, y) = coded (y, height-1-x)
        let outWidth = height
        for y in 0..<width {
            var out = destination + y * outWidth * 3
            for x in 0..<outWidth {
                let src = source + ((height - 1 - x) * width + y) * 3
                out[0] = src[0]
                out[1] = src[1]
                out[2] = src[2]
                out += 3
            }
        }
    case 270:  // transpose=cclock: displayed (x, y) = coded (width-1-y, x)
        let outWidth = height
        for y in 0..<width {
            var out = destination + y * outWidth * 3
            for x in 0..<outWidth {
                let src = source + (x * width + (width - 1 - y)) * 3
                out[0] = src[0]
                out[1] = src[1]
                out[2] = src[2]
                out += 3
            }
        }
    case 180:  // hflip + vflip
        let count = width * height
        for i in 0..<count {
            let src = source + (count - 1 - i) * 3
            let out = destination + i * 3
            out[0] = src[0]
            out[1] = src[1]
            out[2] = src[2]
        }
    default:
        destination.update(from: source, count: width * height * 3)
    }
}
