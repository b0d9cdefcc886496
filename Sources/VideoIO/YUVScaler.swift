import CFFmpeg
import Foundation

/// Converts frames of any size and pixel format to YUV 4:2:0 at one output
/// size (bicubic, as ffmpeg's scale filter), into a fresh frame each time so
/// that the encoder may keep references.
final class YUVScaler {
    private var context: OpaquePointer?
    let width: Int, height: Int
    init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    deinit { sws_freeContext(context) }

    func scale(_ source: UnsafePointer<AVFrame>, path: String) throws -> Frame {
        let s = source.pointee
        context = sws_getCachedContext(
            context, s.width, s.height, AVPixelFormat(rawValue: s.format),
            Int32(width), Int32(height), AV_PIX_FMT_YUV420P, SWS_BICUBIC, nil, nil, nil)
        guard let context else {
            throw VideoError.decodeFailed(path: path, reason: "swscale cannot convert this frame")
        }
        let out = Frame()
        out.pointer.pointee.width = Int32(width)
        out.pointer.pointee.height = Int32(height)
        out.pointer.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        guard av_frame_get_buffer(out.pointer, 0) >= 0 else { fatalError("av_frame_get_buffer: out of memory") }
        let rows = cffmpeg_scale_frame(context, source, out.pointer)
        if rows <= 0 { throw VideoError.decodeFailed(path: path, reason: "swscale failed: \(ffmpegMessage(rows))") }
        return out
    }
}
