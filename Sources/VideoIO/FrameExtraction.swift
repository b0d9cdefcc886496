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
    guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG), let context = avcodec_alloc_context3(codec) else {
        throw VideoError.cannotWrite(path: folder, reason: "libavcodec has no MJPEG encoder")
    }
    var owned: UnsafeMutablePointer<AVCodecContext>? = context
    defer { avcodec_free_context(&owned) }
    context.pointee.width = Int32(w)
    context.pointee.height = Int32(h)
    context.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
    context.pointee.time_base = AVRational(num: 1, den: 25)
    context.pointee.flags |= AV_CODEC_FLAG_QSCALE
    context.pointee.global_quality = Int32(quality) * cffmpeg_qp2lambda()
    var code = avcodec_open2(context, codec, nil)
    if code < 0 {
        throw VideoError.cannotWrite(path: folder, reason: "cannot open the MJPEG encoder: \(ffmpegMessage(code))")
    }
    guard
        let converter = sws_getContext(
            Int32(w), Int32(h), AV_PIX_FMT_RGB24, Int32(w), Int32(h), AV_PIX_FMT_YUVJ420P,
            SWS_BICUBIC, nil, nil, nil)
    else {
        throw VideoError.cannotWrite(path: folder, reason: "swscale cannot convert to yuvj420p")
    }
    defer { sws_freeContext(converter) }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
    let rgb = Frame()
    let yuv = Frame()
    let packet = Packet()
    for (f, pixelFormat) in [(rgb, AV_PIX_FMT_RGB24), (yuv, AV_PIX_FMT_YUVJ420P)] {
        f.pointer.pointee.width = Int32(w)
        f.pointer.pointee.height = Int32(h)
        f.pointer.pointee.format = pixelFormat.rawValue
        guard av_frame_get_buffer(f.pointer, 32) >= 0 else { fatalError("av_frame_get_buffer: out of memory") }
    }
    var written = 0
    let damaged = try decoder.decodeAll(format: format) { i, pixels in
        let line = Int(rgb.pointer.pointee.linesize.0)
        for y in 0..<h {
            (rgb.pointer.pointee.data.0! + y * line).update(
                from: pixels.baseAddress!.assumingMemoryBound(to: UInt8.self) + y * w * 3, count: w * 3)
        }
        _ = cffmpeg_scale_frame(converter, rgb.pointer, yuv.pointer)
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
