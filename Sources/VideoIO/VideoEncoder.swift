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
    private let codec: CodecContext
    private var encoder: UnsafeMutablePointer<AVCodecContext> { codec.pointer }
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
        self.codec = CodecContext(encoder: codec)
        guard let stream = avformat_new_stream(context, nil) else {
            avformat_free_context(context)
            throw VideoError.cannotWrite(path: path, reason: "cannot add a video stream (out of memory)")
        }
        self.stream = stream
        let encoder = self.codec.pointer
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
        try self.codec.openEncoder(codec, path: path)
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
