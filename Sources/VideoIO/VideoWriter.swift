import CFFmpeg
import Foundation

/// Writes frames held in memory (8-bit gray or RGB, rows packed) to an MP4.
public final class VideoWriter {
    public enum PixelLayout: Sendable { case gray, rgb }
    private let output: EncoderOutput
    private let layout: PixelLayout
    private let converter: FrameConverter
    private let source: Frame
    private let path: String
    private var count: Int64 = 0
    public let width: Int, height: Int, fps: Int

    /// `width` and `height` must be even (4:2:0 chroma).
    public init(path: String, width: Int, height: Int, fps: Int, layout: PixelLayout, options: EncodeOptions = .init())
        throws
    {
        guard width % 2 == 0, height % 2 == 0, width > 0, height > 0 else {
            throw VideoError.cannotWrite(path: path, reason: "frame size \(width)×\(height) must be even and positive")
        }
        self.width = width
        self.height = height
        self.fps = fps
        self.layout = layout
        self.path = path
        let rate = AVRational(num: Int32(fps), den: 1)
        output = try EncoderOutput(
            path: path, width: width, height: height, timeBase: AVRational(num: 1, den: Int32(fps)),
            frameRate: rate, options: options, displayMatrix: nil)
        let format = layout == .gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24
        guard let c = FrameConverter(from: (width, height, format), to: (width, height, AV_PIX_FMT_YUV420P)) else {
            throw VideoError.cannotWrite(path: path, reason: "swscale cannot convert to YUV 4:2:0")
        }
        converter = c
        source = Frame(width: width, height: height, format: format, align: 32)
    }

    /// Appends one frame: height rows of width (gray) or 3·width (RGB) bytes.
    public func write(_ pixels: UnsafeRawBufferPointer) throws {
        let rowBytes = layout == .gray ? width : 3 * width
        precondition(pixels.count == rowBytes * height, "a frame is \(rowBytes * height) bytes")
        let f = source.pointer.pointee
        for y in 0..<height {
            (f.data.0! + y * Int(f.linesize.0)).update(
                from: pixels.baseAddress!.assumingMemoryBound(to: UInt8.self) + y * rowBytes, count: rowBytes)
        }
        let out = try converter.convert(source.pointer) { VideoError.cannotWrite(path: path, reason: $0) }
        try output.encode(out.pointer, pts: count)
        count += 1
    }

    /// Flushes and closes the file.
    public func finish() throws -> EncodedVideo {
        try output.finish(width: width, height: height, fps: Double(fps))
    }
}
