import CFFmpeg
import Foundation

/// Re-encodes `input` to an MP4 at `output`: every decoded frame, scaled to
/// `shortSide` on its shorter coded side (even sizes; nil keeps the size),
/// with its own timestamp; audio dropped; the display rotation carried over.
/// The caller owns where `output` lives (write to a temp name, then rename).
public func transcodeVideo(input: String, output: String, shortSide: Int?, options: EncodeOptions = .init()) throws
    -> EncodedVideo
{
    try checkReadableFile(input)
    let demuxer = try Demuxer(path: input)
    let streamIndex = try demuxer.videoStream(nil)
    let stream = demuxer.stream(streamIndex)
    let decoder = try CodecContext(stream: stream, threads: 1, path: input)
    let parameters = stream.pointee.codecpar.pointee
    guard parameters.width > 0, parameters.height > 0 else {
        throw VideoError.cannotOpen(path: input, reason: "the video stream has no frame size")
    }
    let size =
        shortSide.map { shortSideSize(width: Int(parameters.width), height: Int(parameters.height), shortSide: $0) }
        ?? (Int(parameters.width) & ~1, Int(parameters.height) & ~1)
    var rate = stream.pointee.avg_frame_rate
    if rate.num <= 0 || rate.den <= 0 { rate = stream.pointee.r_frame_rate }
    if rate.num <= 0 || rate.den <= 0 { rate = AVRational(num: 25, den: 1) }
    let matrix = cffmpeg_display_matrix(stream)
    let rotation = matrix.map { displayRotation(counterclockwiseDegrees: av_display_rotation_get($0)) } ?? 0
    let encoder = try EncoderOutput(
        path: output, width: size.0, height: size.1, timeBase: stream.pointee.time_base,
        frameRate: rate, options: options, displayMatrix: matrix)
    let scaler = YUVScaler(width: size.0, height: size.1)
    let packet = Packet()
    let frame = Frame()
    let period = av_rescale_q(1, av_inv_q(rate), stream.pointee.time_base)
    var nextPTS: Int64 = 0
    func drain() throws {
        while true {
            let code = avcodec_receive_frame(decoder.pointer, frame.pointer)
            if code == ffEAGAIN || code == ffEOF { return }
            if code < 0 { throw VideoError.decodeFailed(path: input, reason: ffmpegMessage(code)) }
            var pts = frame.pointer.pointee.best_effort_timestamp
            if pts == ffNoPTS { pts = nextPTS }
            nextPTS = pts + max(1, period)
            let scaled = try scaler.scale(frame.pointer, path: input)
            try encoder.encode(scaled.pointer, pts: av_rescale_q(pts, stream.pointee.time_base, encoder.timeBase))
            av_frame_unref(frame.pointer)
        }
    }
    while demuxer.read(packet, stream: streamIndex) {
        let code = avcodec_send_packet(decoder.pointer, packet.pointer)
        if code < 0 && code != ffEAGAIN {
            throw VideoError.decodeFailed(path: input, reason: "damaged video data: \(ffmpegMessage(code))")
        }
        try drain()
    }
    _ = avcodec_send_packet(decoder.pointer, nil)
    try drain()
    let transposed = rotation == 90 || rotation == 270
    let result = try encoder.finish(
        width: transposed ? size.1 : size.0, height: transposed ? size.0 : size.1,
        fps: Double(rate.num) / Double(rate.den))
    guard result.frames > 0 else { throw VideoError.cannotOpen(path: input, reason: "the video stream has no frames") }
    return result
}
