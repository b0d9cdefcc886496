import CFFmpeg
import Foundation

/// Writes every frame of `input` as a JPEG into `folder` (created, must not
/// exist), named by `template`'s number from 1 (`img_00001.jpg` …, as
/// mmaction2's rawframes). Frames are the decoder's (exact index, rotation
/// applied), scaled to `shortSide` when given. `quality` is the MJPEG qscale
/// (2 best … 31 worst; ffmpeg's `-q:v`). The caller owns where `folder`
/// lives (write to a temp name, then rename).
public func extractFrames(
    input: String, folder: String, shortSide: Int?, quality: Int = 2,
    template: String = "img_{:05}.jpg"
) throws -> EncodedVideo {
    guard let (prefix, width, suffix) = try FrameFolderOptions(template: template).parsedTemplate() else {
        throw VideoError.invalidRequest(path: folder, reason: "no template")
    }
    let decoder = try VideoDecoder(path: input)
    let format = FrameFormat(size: shortSide.map { .shortSide($0) } ?? .native)
    let (w, h) = try decoder.outputSize(format)
    guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else {
        throw VideoError.cannotWrite(path: folder, reason: "libavcodec has no MJPEG encoder")
    }
    let encoder = CodecContext(encoder: codec)
    let context = encoder.pointer
    context.pointee.width = Int32(w)
    context.pointee.height = Int32(h)
    context.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
    context.pointee.time_base = AVRational(num: 1, den: 25)
    context.pointee.flags |= AV_CODEC_FLAG_QSCALE
    context.pointee.global_quality = Int32(quality) * cffmpeg_qp2lambda()
    try encoder.openEncoder(codec, path: folder)
    var code: Int32 = 0
    guard let converter = FrameConverter(from: (w, h, AV_PIX_FMT_RGB24), to: (w, h, AV_PIX_FMT_YUVJ420P)) else {
        throw VideoError.cannotWrite(path: folder, reason: "swscale cannot convert to yuvj420p")
    }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    let rgb = Frame(width: w, height: h, format: AV_PIX_FMT_RGB24, align: 32)
    let yuv = Frame(width: w, height: h, format: AV_PIX_FMT_YUVJ420P, align: 32)
    let packet = Packet()
    var written = 0
    let damaged = try decoder.decodeAll(format: format) { i, pixels in
        let line = Int(rgb.pointer.pointee.linesize.0)
        for y in 0..<h {
            (rgb.pointer.pointee.data.0! + y * line).update(
                from: pixels.baseAddress!.assumingMemoryBound(to: UInt8.self) + y * w * 3, count: w * 3)
        }
        try converter.convert(rgb.pointer, into: yuv) { VideoError.cannotWrite(path: folder, reason: $0) }
        yuv.pointer.pointee.pts = Int64(i)
        code = avcodec_send_frame(context, yuv.pointer)
        if code >= 0 { code = avcodec_receive_packet(context, packet.pointer) }
        if code < 0 {
            throw VideoError.cannotWrite(path: folder, reason: "MJPEG encoding failed: \(ffmpegMessage(code))")
        }
        defer { av_packet_unref(packet.pointer) }
        let number = String(i + 1)
        let name = prefix + String(repeating: "0", count: max(0, width - number.count)) + number + suffix
        let data = Data(bytes: packet.pointer.pointee.data, count: Int(packet.pointer.pointee.size))
        guard FileManager.default.createFile(atPath: (folder as NSString).appendingPathComponent(name), contents: data)
        else {
            throw VideoError.cannotWrite(
                path: (folder as NSString).appendingPathComponent(name), reason: "cannot write the image")
        }
        written += 1
    }
    if !damaged.isEmpty {
        throw VideoError.damagedFrames(path: input, indices: damaged, reason: decoder.lastDamageReason)
    }
    let m = decoder.metadata
    return EncodedVideo(frames: written, keyframes: Array(0..<written), width: w, height: h, fps: m.fps, codec: "mjpeg")
}
