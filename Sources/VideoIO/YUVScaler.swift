import CFFmpeg
import Foundation

/// Converts frames of any size and pixel format to YUV 4:2:0 at one output
/// size (bicubic, as ffmpeg's scale filter), into a fresh frame each time so
/// that the encoder may keep references.
final class YUVScaler {
    private var converter: FrameConverter?
    let width: Int, height: Int
    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    func scale(_ source: UnsafePointer<AVFrame>, path: String) throws -> Frame {
        let s = source.pointee
        if converter?.accepts(source) != true {
            converter = FrameConverter(
                from: (Int(s.width), Int(s.height), AVPixelFormat(rawValue: s.format)),
                to: (width, height, AV_PIX_FMT_YUV420P))
        }
        guard let converter else {
            throw VideoError.decodeFailed(path: path, reason: "swscale cannot convert this frame")
        }
        return try converter.convert(source) { VideoError.decodeFailed(path: path, reason: $0) }
    }
}
