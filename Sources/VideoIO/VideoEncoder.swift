import CFFmpeg
import Foundation

/// How videos are encoded: H.264 through libx264 when libavcodec has it,
/// MPEG-4 part 2 otherwise; a keyframe at least every `gop` frames.
public struct EncodeOptions: Sendable {
    public var gop: Int
    /// libx264 preset ("ultrafast" … "veryslow"); x264's default is "medium".
    public var preset: String
    /// libx264 constant rate factor (x264's default 23); MPEG-4 uses qscale 3.
    public var crf: Int
    public var threads: Int
    public init(gop: Int = 16, preset: String = "medium", crf: Int = 23, threads: Int = 1) {
        self.gop = gop
        self.preset = preset
        self.crf = crf
        self.threads = threads
    }
}

/// What was written: enough for a manifest line without opening the file again.
public struct EncodedVideo: Sendable, Equatable, Codable {
    public var frames: Int
    /// Display-order indices of the keyframes.
    public var keyframes: [Int]
    /// Displayed size (after the rotation the file carries).
    public var width: Int
    public var height: Int
    public var fps: Double
    public var codec: String

    /// The same description of an existing file, from its decoder.
    public init(_ m: VideoMetadata) {
        (frames, keyframes, width, height, fps, codec) = (m.frames, m.keyframes, m.width, m.height, m.fps, m.codec)
    }

    init(frames: Int, keyframes: [Int], width: Int, height: Int, fps: Double, codec: String) {
        (self.frames, self.keyframes, self.width, self.height, self.fps, self.codec) = (
            frames, keyframes, width, height, fps, codec
        )
    }
}

/// The size that scales (width, height) to `shortSide` on its shorter side,
/// keeping the aspect ratio, with the other side rounded to an even number as
/// ffmpeg's `scale=-2:S` does: 2·round(S·long / (2·short)).
public func shortSideSize(width: Int, height: Int, shortSide s: Int) -> (width: Int, height: Int) {
    func even(_ long: Int, _ short: Int) -> Int {
        max(2, 2 * Int((Double(s) * Double(long) / Double(2 * short)).rounded()))
    }
    return width <= height ? (s, even(height, width)) : (even(width, height), s)
}

/// The name of the encoder `EncodeOptions` gets here ("libx264" or "mpeg4").
public var availableEncoder: String { avcodec_find_encoder_by_name("libx264") != nil ? "libx264" : "mpeg4" }

/// An MP4 file being written: muxer, encoder, and the record of packets that
/// gives the frame count and keyframes. Frames go in as YUV 4:2:0 AVFrames.
final class EncoderOutput {
    let path: String
    private var format: UnsafeMutablePointer<AVFormatContext>
    private var encoder: UnsafeMutablePointer<AVCodecContext>
    private let stream: UnsafeMutablePointer<AVStream>
    private let packet = Packet()
    private var written: [(pts: Int64, key: Bool)] = []
    private var lastPTS = Int64.min
    private var finished = false
    let codecName: String

    /// `timeBase` is the unit of the frames' pts; `frameRate` the nominal rate.
    init(
        path: String, width: Int, height: Int, timeBase: AVRational, frameRate: AVRational, options: EncodeOptions,
        displayMatrix: UnsafePointer<Int32>?
    ) throws {
        _ = installLogCapture
        self.path = path
        var context: UnsafeMutablePointer<AVFormatContext>?
        var code = avformat_alloc_output_context2(&context, nil, "mp4", path)
        guard code >= 0, let context else { throw VideoError.cannotWrite(path: path, reason: ffmpegMessage(code)) }
        format = context
        let x264 = avcodec_find_encoder_by_name("libx264")
        guard let codec = x264 ?? avcodec_find_encoder(AV_CODEC_ID_MPEG4) else {
            avformat_free_context(context)
            throw VideoError.cannotWrite(path: path, reason: "libavcodec has neither libx264 nor an MPEG-4 encoder")
        }
        codecName = String(cString: codec.pointee.name)
        guard let encoder = avcodec_alloc_context3(codec), let stream = avformat_new_stream(context, nil) else {
            fatalError("avcodec_alloc_context3: out of memory")
        }
        self.encoder = encoder
        self.stream = stream
        encoder.pointee.width = Int32(width)
        encoder.pointee.height = Int32(height)
        encoder.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        encoder.pointee.framerate = frameRate
        // MPEG-4 part 2 needs a time base below 2^16: use the frame period.
        encoder.pointee.time_base = x264 != nil || timeBase.den < 65536 ? timeBase : av_inv_q(frameRate)
        encoder.pointee.gop_size = Int32(options.gop)
        encoder.pointee.thread_count = Int32(max(1, options.threads))
        if context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            encoder.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        if x264 != nil {
            av_opt_set(encoder.pointee.priv_data, "preset", options.preset, 0)
            av_opt_set(encoder.pointee.priv_data, "crf", String(options.crf), 0)
        } else {
            encoder.pointee.flags |= Int32(AV_CODEC_FLAG_QSCALE)
            encoder.pointee.global_quality = 3 * cffmpeg_qp2lambda()
        }
        code = avcodec_open2(encoder, codec, nil)
        if code < 0 {
            throw VideoError.cannotWrite(
                path: path, reason: "cannot open the \(codecName) encoder: \(ffmpegMessage(code))")
        }
        code = avcodec_parameters_from_context(stream.pointee.codecpar, encoder)
        if code < 0 { throw VideoError.cannotWrite(path: path, reason: ffmpegMessage(code)) }
        stream.pointee.time_base = encoder.pointee.time_base
        stream.pointee.avg_frame_rate = frameRate
        if let displayMatrix { cffmpeg_set_display_matrix(stream, displayMatrix) }
        code = avio_open(&context.pointee.pb, path, AVIO_FLAG_WRITE)
        if code < 0 { throw VideoError.cannotWrite(path: path, reason: ffmpegMessage(code)) }
        code = avformat_write_header(context, nil)
        if code < 0 { throw VideoError.cannotWrite(path: path, reason: ffmpegMessage(code)) }
    }

    deinit {
        if format.pointee.pb != nil { avio_closep(&format.pointee.pb) }
        avformat_free_context(format)
        var e: UnsafeMutablePointer<AVCodecContext>? = encoder
        avcodec_free_context(&e)
    }

    var timeBase: AVRational { encoder.pointee.time_base }

    /// Encodes one frame; `pts` is in `timeBase` and made strictly increasing.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>, pts: Int64) throws {
        let p = max(pts, lastPTS == Int64.min ? pts : lastPTS + 1)
        lastPTS = p
        frame.pointee.pts = p
        try send(frame)
    }

    /// Flushes the encoder and writes the file's index; returns what was written.
    func finish(width: Int, height: Int, fps: Double) throws -> EncodedVideo {
        precondition(!finished)
        finished = true
        try send(nil)
        let code = av_write_trailer(format)
        if code < 0 { throw VideoError.cannotWrite(path: path, reason: ffmpegMessage(code)) }
        avio_closep(&format.pointee.pb)
        let order = written.indices.sorted { written[$0].pts < written[$1].pts }
        let keyframes = order.enumerated().filter { written[$0.element].key }.map(\.offset)
        return EncodedVideo(
            frames: written.count, keyframes: keyframes, width: width, height: height, fps: fps, codec: codecName)
    }

    private func send(_ frame: UnsafeMutablePointer<AVFrame>?) throws {
        var code = avcodec_send_frame(encoder, frame)
        if code < 0 { throw VideoError.cannotWrite(path: path, reason: "encoding failed: \(ffmpegMessage(code))") }
        while true {
            code = avcodec_receive_packet(encoder, packet.pointer)
            if code == ffEAGAIN || code == ffEOF { return }
            if code < 0 { throw VideoError.cannotWrite(path: path, reason: "encoding failed: \(ffmpegMessage(code))") }
            written.append((packet.pointer.pointee.pts, packet.pointer.pointee.flags & AV_PKT_FLAG_KEY != 0))
            packet.pointer.pointee.stream_index = stream.pointee.index
            av_packet_rescale_ts(packet.pointer, encoder.pointee.time_base, stream.pointee.time_base)
            code = av_interleaved_write_frame(format, packet.pointer)
            if code < 0 { throw VideoError.cannotWrite(path: path, reason: ffmpegMessage(code)) }
        }
    }
}

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

/// Writes frames held in memory (8-bit gray or RGB, rows packed) to an MP4.
public final class VideoWriter {
    public enum PixelLayout: Sendable { case gray, rgb }
    private let output: EncoderOutput
    private let layout: PixelLayout
    private let converter: OpaquePointer
    private let source = Frame()
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
        let rate = AVRational(num: Int32(fps), den: 1)
        output = try EncoderOutput(
            path: path, width: width, height: height, timeBase: AVRational(num: 1, den: Int32(fps)),
            frameRate: rate, options: options, displayMatrix: nil)
        guard
            let c = sws_getContext(
                Int32(width), Int32(height), layout == .gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24,
                Int32(width), Int32(height), AV_PIX_FMT_YUV420P, SWS_BICUBIC, nil, nil, nil)
        else {
            throw VideoError.cannotWrite(path: path, reason: "swscale cannot convert to YUV 4:2:0")
        }
        converter = c
        source.pointer.pointee.width = Int32(width)
        source.pointer.pointee.height = Int32(height)
        source.pointer.pointee.format = (layout == .gray ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24).rawValue
        guard av_frame_get_buffer(source.pointer, 32) >= 0 else { fatalError("av_frame_get_buffer: out of memory") }
    }

    deinit { sws_freeContext(converter) }

    /// Appends one frame: height rows of width (gray) or 3·width (RGB) bytes.
    public func write(_ pixels: UnsafeRawBufferPointer) throws {
        let rowBytes = layout == .gray ? width : 3 * width
        precondition(pixels.count == rowBytes * height, "a frame is \(rowBytes * height) bytes")
        let f = source.pointer.pointee
        for y in 0..<height {
            (f.data.0! + y * Int(f.linesize.0)).update(
                from: pixels.baseAddress!.assumingMemoryBound(to: UInt8.self) + y * rowBytes, count: rowBytes)
        }
        let out = Frame()
        out.pointer.pointee.width = Int32(width)
        out.pointer.pointee.height = Int32(height)
        out.pointer.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        guard av_frame_get_buffer(out.pointer, 0) >= 0 else { fatalError("av_frame_get_buffer: out of memory") }
        cffmpeg_scale_frame(converter, source.pointer, out.pointer)
        try output.encode(out.pointer, pts: count)
        count += 1
    }

    /// Flushes and closes the file.
    public func finish() throws -> EncodedVideo {
        try output.finish(width: width, height: height, fps: Double(fps))
    }
}
