import CFFmpeg
import Foundation
import Support

// Owners of FFmpeg objects. Each class holds one FFmpeg pointer and frees it
// with the matching function in deinit; nothing outside VideoIO sees them.

let ffEAGAIN = cffmpeg_averror_eagain()
let ffEOF = cffmpeg_averror_eof()
let ffNoPTS = cffmpeg_nopts_value()

/// Routes FFmpeg's log through a per-thread capture once per process, so that
/// errors carry FFmpeg's reason and nothing is printed. `CLIPKIT_FFMPEG_LOG=1`
/// keeps FFmpeg's own logging instead.
let installLogCapture: Void = {
    if let value = getenv("CLIPKIT_FFMPEG_LOG"), String(cString: value) == "1" { return }
    av_log_set_callback { _, level, format, arguments in
        guard level <= AV_LOG_ERROR, let format, let arguments else { return }
        var line = [CChar](repeating: 0, count: 256)
        _ = vsnprintf(&line, line.count, format, arguments)
        Thread.current.threadDictionary[lastLogKey] = String(cString: line)
    }
}()

private let lastLogKey = "clipkit.ffmpeg.lastLog"

/// FFmpeg's message for `code`, with the last error line it logged on this thread.
func ffmpegMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    cffmpeg_error_string(code, &buffer, buffer.count)
    let base = String(cString: buffer)
    let last = takeLastLog()
    return last.isEmpty ? base : "\(last) (\(base))"
}

/// The last error line FFmpeg logged on this thread ("" when none); clears it.
func takeLastLog() -> String {
    let dictionary = Thread.current.threadDictionary
    guard let line = dictionary[lastLogKey] as? String else { return "" }
    dictionary.removeObject(forKey: lastLogKey)
    return line.trimmingCharacters(in: CharacterSet(charactersIn: " .\n"))
}

final class Packet {
    let pointer: UnsafeMutablePointer<AVPacket>
    init() {
        guard let p = av_packet_alloc() else { fatalError("av_packet_alloc: out of memory") }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }
}

final class Frame {
    let pointer: UnsafeMutablePointer<AVFrame>
    init() {
        guard let p = av_frame_alloc() else { fatalError("av_frame_alloc: out of memory") }
        pointer = p
    }
    /// A frame with its own buffers for `width`×`height` pixels of `format`
    /// (rows aligned to `align` bytes; 0: FFmpeg's choice).
    convenience init(width: Int, height: Int, format: AVPixelFormat, align: Int32 = 0) {
        self.init()
        pointer.pointee.width = Int32(width)
        pointer.pointee.height = Int32(height)
        pointer.pointee.format = format.rawValue
        guard av_frame_get_buffer(pointer, align) >= 0 else { fatalError("av_frame_get_buffer: out of memory") }
    }
    deinit {
        var p: UnsafeMutablePointer<AVFrame>? = pointer
        av_frame_free(&p)
    }
}

/// One swscale context between a fixed source and target (size and pixel
/// format), freed with its owner: the encoders' way to convert whole frames.
final class FrameConverter {
    let source: (width: Int, height: Int, format: AVPixelFormat)
    let target: (width: Int, height: Int, format: AVPixelFormat)
    private let context: OpaquePointer

    /// Nil when swscale has no conversion between the two.
    init?(
        from source: (width: Int, height: Int, format: AVPixelFormat),
        to target: (width: Int, height: Int, format: AVPixelFormat), flags: Int32 = SWS_BICUBIC
    ) {
        guard
            let c = sws_getContext(
                Int32(source.width), Int32(source.height), source.format, Int32(target.width), Int32(target.height),
                target.format, flags, nil, nil, nil)
        else { return nil }
        (self.source, self.target, context) = (source, target, c)
    }

    deinit { sws_freeContext(context) }

    /// Whether `frame` has this converter's source size and format.
    func accepts(_ frame: UnsafePointer<AVFrame>) -> Bool {
        let f = frame.pointee
        return Int(f.width) == source.width && Int(f.height) == source.height && f.format == source.format.rawValue
    }

    /// A new frame (the target's size and format) converted from `frame`;
    /// `failure` is the error when swscale writes no rows.
    func convert(_ frame: UnsafePointer<AVFrame>, failure: (String) -> VideoError) throws -> Frame {
        let out = Frame(width: target.width, height: target.height, format: target.format)
        try convert(frame, into: out, failure: failure)
        return out
    }

    /// Converts `frame` into `out`, which has the target's size and format and its own buffers.
    func convert(_ frame: UnsafePointer<AVFrame>, into out: Frame, failure: (String) -> VideoError) throws {
        let rows = cffmpeg_scale_frame(context, frame, out.pointer)
        if rows <= 0 { throw failure("swscale failed: \(rows < 0 ? ffmpegMessage(rows) : "no rows written")") }
    }
}

/// An open container (AVFormatContext).
final class Demuxer {
    let pointer: UnsafeMutablePointer<AVFormatContext>
    let path: String
    /// The reads of a tar member (`archive.tar#member`: the range of the
    /// archive it reads from) or of a remote object; nil for a plain file.
    private var rangeInput: UnsafeMutablePointer<AVIOContext>?
    /// Where a tar member lies, as the caller said (nil: from the archive's listing).
    let memberBytes: ByteRange?
    /// The bytes read instead of `path`'s, when they are in memory.
    let memory: VideoBytes?

    /// Opens `path`, a file, a tar member or an http(s) URL, or `memory`
    /// (then `path` only names it); `stream` is the video stream that will be
    /// read (nil: the default one); `memberBytes` where a tar member lies,
    /// when a manifest says so.
    init(path: String, stream: Int? = nil, memberBytes: ByteRange? = nil, memory: VideoBytes? = nil) throws {
        self.memberBytes = memberBytes
        self.memory = memory
        _ = installLogCapture
        _ = takeLastLog()
        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        var url = path
        if let memory {
            rangeInput = try Self.reading(
                cffmpeg_range_io_memory(memory.base.assumingMemoryBound(to: UInt8.self), Int64(memory.count)), path)
        } else if let member = TarMemberPath(path) {
            // The member's name stands for the URL: its extension hints the format.
            (rangeInput, url) = (try Self.openMember(member, at: memberBytes), member.member)
        } else if isRemoteLocation(path) {
            let reader = try openRemoteReader(path)
            let size = reader.pointee.size > 0 ? reader.pointee.size : .max  // no length given: read to the end
            rangeInput = try Self.reading(cffmpeg_range_io_http(reader, 0, size), path)
        }
        if let rangeInput {
            context = cffmpeg_format_context_reading(rangeInput)
            if context == nil {
                cffmpeg_range_io_close(&self.rangeInput)
                throw VideoError.cannotOpen(path: path, reason: "out of memory")
            }
        }
        let code = avformat_open_input(&context, url, nil, nil)
        guard code >= 0, let context else {
            cffmpeg_range_io_close(&rangeInput)
            throw VideoError.cannotOpen(
                path: path, reason: describeOpenFailure(path: path, memory: memory, message: ffmpegMessage(code)))
        }
        self.pointer = context
        self.path = path
        // MP4/MOV and Matroska/WebM headers carry codec, size, timing and
        // extradata; probing would decode frames on every open. Other
        // containers (AVI, MPEG-TS, …) need the probe.
        let chosen = stream.flatMap { isVideoStream($0) ? Int32($0) : nil } ?? defaultVideoStream()
        if !(headerIsComplete && chosen.map({ streamIsDescribed(self.stream($0)) }) == true) {
            let info = avformat_find_stream_info(context, nil)
            guard info >= 0 else {
                throw VideoError.cannotOpen(path: path, reason: ffmpegMessage(info))
            }
            probedStreams = true
        }
    }

    /// The same source opened again, from its first byte, to read `stream`.
    func reopened(stream: Int32) throws -> Demuxer {
        try Demuxer(path: path, stream: Int(stream), memberBytes: memberBytes, memory: memory)
    }

    /// The reads of a tar member: where the manifest says it lies (checked
    /// against the header before it), else where the archive's listing does.
    private static func openMember(
        _ member: TarMemberPath, at known: ByteRange?
    ) throws -> UnsafeMutablePointer<AVIOContext> {
        let (archive, name) = (member.archive, member.member)
        guard isRemoteLocation(archive) else {
            let range: ByteRange
            if let known {
                try TarArchive.check(known, named: name, in: archive)
                range = known
            } else {
                let listed = try TarArchive.member(name, in: archive)
                range = ByteRange(offset: listed.offset, size: listed.size)
            }
            return try reading(cffmpeg_range_io_open(archive, range.offset, range.size), member.text)
        }
        if let known {
            func cutShort(_ size: Int64) -> VideoError { TarArchive.cutShort(member.text, at: size, member: known) }
            // One first request for the header and the member's start.
            let reader: UnsafeMutablePointer<cffmpeg_http>
            do {
                reader = try openRemoteReader(archive, at: max(0, known.offset - 512))
            } catch {
                // A range past the end is refused (416, a "4XX"): say so when that is what happened.
                var whole = try? openRemoteReader(archive)
                defer { cffmpeg_http_free(&whole) }
                if let size = whole?.pointee.size, size > 0, size < known.offset { throw cutShort(size) }
                throw error
            }
            do {
                try TarArchive.check(known, named: name, in: archive) {
                    try readRemote(reader, at: $0, count: $1, url: archive)
                }
                let size = reader.pointee.size
                if size > 0, known.offset + known.size > size { throw cutShort(size) }
            } catch {
                var owned: UnsafeMutablePointer<cffmpeg_http>? = reader
                cffmpeg_http_free(&owned)
                throw error
            }
            return try reading(cffmpeg_range_io_http(reader, known.offset, known.size), member.text)
        }
        let listed = try TarArchive.member(name, in: archive)
        let reader = try openRemoteReader(archive, at: listed.offset)
        return try reading(cffmpeg_range_io_http(reader, listed.offset, listed.size), member.text)
    }

    /// `io`, or the error of its making (errno: the archive would not open, or memory ran out).
    private static func reading(
        _ io: UnsafeMutablePointer<AVIOContext>?, _ path: String
    ) throws -> UnsafeMutablePointer<AVIOContext> {
        guard let io else { throw VideoError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        return io
    }

    /// Whether the container's index lists `count` samples of `stream` at
    /// evenly spaced times: a constant frame rate, which a stored index's
    /// timestamps (made from the frame rate) assume.
    func indexesEvenly(_ stream: Int32, count: Int) -> Bool {
        let s = self.stream(stream)
        guard Int(avformat_index_get_entries_count(s)) == count else { return false }
        var step: Int64? = nil
        for i in 1..<max(count, 1) {
            guard let a = avformat_index_get_entry(s, Int32(i - 1)), let b = avformat_index_get_entry(s, Int32(i))
            else {
                return false
            }
            let d = b.pointee.timestamp - a.pointee.timestamp
            if d != (step ?? d) { return false }
            step = d
        }
        return true
    }

    var headerIsComplete: Bool {
        formatName.hasPrefix("mov,mp4") || formatName.hasPrefix("matroska")
    }

    private func streamIsDescribed(_ stream: UnsafeMutablePointer<AVStream>) -> Bool {
        let p = stream.pointee.codecpar.pointee
        return p.codec_id != AV_CODEC_ID_NONE && p.width > 0 && p.height > 0
            && stream.pointee.time_base.num > 0 && stream.pointee.time_base.den > 0
    }

    deinit {
        var p: UnsafeMutablePointer<AVFormatContext>? = pointer
        avformat_close_input(&p)
        cffmpeg_range_io_close(&rangeInput)
    }

    var isRemote: Bool { rangeInput.flatMap { cffmpeg_range_io_remote($0) } != nil }

    /// What the reads of a remote source have cost so far (nil for a local one).
    var network: NetworkCounters? {
        rangeInput.flatMap { cffmpeg_range_io_remote($0) }.map(NetworkCounters.init)
    }

    /// Plans the reads of the next clip: they end at `end` (bytes from the
    /// start of the source; nil: the end of the source), so a remote source
    /// asks for the clip's bytes in one request. Nothing for a local source.
    func planReads(through end: Int64?) {
        guard let io = rangeInput, let remote = cffmpeg_range_io_remote(io) else { return }
        cffmpeg_http_plan(remote, cffmpeg_range_io_start(io) + (end ?? cffmpeg_range_io_size(io)))
    }

    var formatName: String { String(cString: pointer.pointee.iformat.pointee.name) }

    /// MPEG-TS/PS and raw elementary streams: timestamps may wrap at 2^33 or
    /// jump, may be missing on some frames, and a field can travel in a
    /// packet of its own, so packets do not index frames exactly.
    var timestampsMayJump: Bool {
        let rawStreams: Set<String> = ["mpegvideo", "h264", "hevc", "m4v", "vc1", "cavsvideo", "h261", "h263"]
        return pointer.pointee.iformat.pointee.flags & AVFMT_TS_DISCONT != 0 || rawStreams.contains(formatName)
    }

    func stream(_ index: Int32) -> UnsafeMutablePointer<AVStream> {
        pointer.pointee.streams[Int(index)]!
    }

    /// The stream to read: `requested` when it is a video stream (an error
    /// naming the file's streams otherwise), else the default one.
    func videoStream(_ requested: Int?) throws -> Int32 {
        guard let requested else {
            guard let chosen = defaultVideoStream() else { throw VideoError.noVideoStream(path: path) }
            return chosen
        }
        guard isVideoStream(requested) else {
            throw VideoError.notAVideoStream(path: path, stream: requested, streams: streamList())
        }
        return Int32(requested)
    }

    /// The video stream the ffmpeg CLI (5.1, `map_auto_video`) takes without
    /// `-map`: the highest score of width × height, plus 100,000,000 for a
    /// stream that had packets while probing and 5,000,000 for the default
    /// disposition; the first of equal scores. Cover art (an attached
    /// picture) is never taken: the CLI scores it 1, so it takes it when it
    /// is the only video stream, but a file whose only picture is its album
    /// art has no video for ClipKit. Where the header made probing needless
    /// (MP4, Matroska), a stream has packets unless its header lists 0 frames.
    func defaultVideoStream() -> Int32? {
        var best: (index: Int32, score: Int)? = nil
        for i in 0..<Int32(pointer.pointee.nb_streams) {
            let s = stream(i)
            guard isVideoStream(Int(i)), s.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 else { continue }
            let p = s.pointee.codecpar.pointee
            let probed = s.pointee.event_flags & AVSTREAM_EVENT_FLAG_NEW_PACKETS != 0
            let hadPackets = probed || (!probedStreams && s.pointee.nb_frames != 0)
            let score =
                Int(p.width) * Int(p.height) + (hadPackets ? 100_000_000 : 0)
                + (s.pointee.disposition & AV_DISPOSITION_DEFAULT != 0 ? 5_000_000 : 0)
            if score > (best?.score ?? 0) { best = (i, score) }
        }
        return best?.index
    }

    /// Whether `avformat_find_stream_info` ran (it reads packets of every stream).
    private var probedStreams = false

    /// Whether `index` names a video stream of the file. ANSI art is not
    /// video: the `tty` demuxer opens text files as "video".
    func isVideoStream(_ index: Int) -> Bool {
        guard index >= 0, index < Int(pointer.pointee.nb_streams) else { return false }
        let p = stream(Int32(index)).pointee.codecpar.pointee
        return p.codec_type == AVMEDIA_TYPE_VIDEO && p.codec_id != AV_CODEC_ID_ANSI
    }

    /// "0: video h264 320x180 (default), 1: audio aac, …": what a stream error shows.
    func streamList() -> String {
        (0..<Int32(pointer.pointee.nb_streams)).map { i -> String in
            let s = stream(i).pointee
            let p = s.codecpar.pointee
            let type = av_get_media_type_string(p.codec_type).map { String(cString: $0) } ?? "data"
            var text = "\(i): \(type) \(String(cString: avcodec_get_name(p.codec_id)))"
            if p.codec_type == AVMEDIA_TYPE_VIDEO { text += " \(p.width)x\(p.height)" }
            if s.disposition & AV_DISPOSITION_ATTACHED_PIC != 0 { text += " (cover art)" }
            return text
        }.joined(separator: ", ")
    }

    /// Reads the next packet of `stream`; false at the end of the file.
    /// A read error other than end-of-file also ends the stream: it is what a
    /// truncated or damaged container gives, and the frame index records it.
    func read(_ packet: Packet, stream: Int32) -> Bool {
        while true {
            av_packet_unref(packet.pointer)
            let code = av_read_frame(pointer, packet.pointer)
            if code < 0 { return false }
            if packet.pointer.pointee.stream_index == stream { return true }
        }
    }

    /// Seeks so that the next packet read is the keyframe at or before `timestamp`.
    func seek(stream: Int32, timestamp: Int64) throws {
        let code = av_seek_frame(pointer, stream, timestamp, AVSEEK_FLAG_BACKWARD)
        if code < 0 { throw VideoError.decodeFailed(path: path, reason: "seek failed: \(ffmpegMessage(code))") }
    }
}

/// An open decoder (AVCodecContext) for one stream.
final class CodecContext {
    let pointer: UnsafeMutablePointer<AVCodecContext>

    init(stream: UnsafeMutablePointer<AVStream>, threads: Int, path: String) throws {
        let parameters = stream.pointee.codecpar!
        guard let codec = avcodec_find_decoder(parameters.pointee.codec_id) else {
            throw VideoError.unsupportedCodec(path: path, codec: describeCodec(parameters.pointee))
        }
        guard let context = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        pointer = context
        var code = avcodec_parameters_to_context(context, parameters)
        if code < 0 { throw VideoError.cannotOpen(path: path, reason: ffmpegMessage(code)) }
        context.pointee.thread_count = Int32(threads)
        context.pointee.pkt_timebase = stream.pointee.time_base
        code = avcodec_open2(context, codec, nil)
        if code < 0 {
            throw VideoError.cannotOpen(
                path: path,
                reason: "cannot open the \(describeCodec(parameters.pointee)) decoder: \(ffmpegMessage(code))")
        }
    }

    /// A single-threaded decoder for one codec with no stream behind it (images).
    init(codecID: AVCodecID, path: String) throws {
        _ = installLogCapture  // frame folders open no format context
        guard let codec = avcodec_find_decoder(codecID) else {
            throw VideoError.unsupportedCodec(path: path, codec: "'\(String(cString: avcodec_get_name(codecID)))'")
        }
        guard let context = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        pointer = context
        context.pointee.thread_count = 1
        let code = avcodec_open2(context, codec, nil)
        if code < 0 {
            throw VideoError.cannotOpen(path: path, reason: "cannot open the image decoder: \(ffmpegMessage(code))")
        }
    }

    /// An encoder for `codec`, not yet open: set its fields, then `openEncoder`.
    init(encoder codec: UnsafePointer<AVCodec>) {
        guard let context = avcodec_alloc_context3(codec) else { fatalError("avcodec_alloc_context3: out of memory") }
        pointer = context
    }

    /// Opens the encoder set up on `pointer`; a failure names `path`.
    func openEncoder(_ codec: UnsafePointer<AVCodec>, path: String) throws {
        let code = avcodec_open2(pointer, codec, nil)
        if code < 0 {
            let name = String(cString: codec.pointee.name)
            throw VideoError.cannotWrite(path: path, reason: "cannot open the \(name) encoder: \(ffmpegMessage(code))")
        }
    }

    deinit {
        var p: UnsafeMutablePointer<AVCodecContext>? = pointer
        avcodec_free_context(&p)
    }

    func flush() { avcodec_flush_buffers(pointer) }
}

/// FFmpeg's reason, prefixed with what the first bytes say the file is: text,
/// or an MP4/MOV whose index ('moov') is missing, which is how a cut download looks.
func describeOpenFailure(path: String, memory: VideoBytes? = nil, message: String) -> String {
    let head: [UInt8]
    if let memory {
        head = Array(UnsafeRawBufferPointer(start: memory.base, count: min(512, memory.count)))
    } else if let first = firstBytes(of: path) {
        head = first
    } else {
        return message
    }
    if !head.isEmpty && head.allSatisfy({ (0x20..<0x7f).contains($0) || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }) {
        return "a text file, not a video (\(message))"
    }
    if head.count >= 8 && Array(head[4..<8]) == Array("ftyp".utf8) && message.contains("moov") {
        return "truncated or unfinished MP4/MOV, its index is missing (\(message))"
    }
    return message
}

/// Up to 512 first bytes of a local file or tar member (nil for a remote
/// source, or one that does not open).
private func firstBytes(of path: String) -> [UInt8]? {
    if isRemoteLocation(path) { return nil }
    let member = TarMemberPath(path)
    guard let handle = FileHandle(forReadingAtPath: member?.archive ?? path) else { return nil }
    defer { try? handle.close() }
    var length = 512
    if let member, let range = try? TarArchive.member(member.member, in: member.archive) {
        try? handle.seek(toOffset: UInt64(range.offset))
        length = Int(min(512, range.size))
    }
    return [UInt8](handle.readData(ofLength: length))
}

/// "h264", or "none (FourCC ZZZ9)" when libavcodec does not know the codec.
func describeCodec(_ parameters: AVCodecParameters) -> String {
    let name = String(cString: avcodec_get_name(parameters.codec_id))
    let tag = parameters.codec_tag
    guard tag != 0 else { return "'\(name)'" }
    let chars = (0..<4).map { shift -> Character in
        let byte = UInt8((tag >> (8 * UInt32(shift))) & 0xff)
        return (32..<127).contains(byte) ? Character(UnicodeScalar(byte)) : "?"
    }
    return "'\(name)' (FourCC \(String(chars)))"
}
