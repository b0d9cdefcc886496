import CFFmpeg
import Foundation

/// Frames of one video stream, through libavformat and libavcodec: the exact
/// frame index (from packets, or a decoding scan where packets cannot say
/// it), keyframe-aware seeking, and decoding only what is asked for.
final class StreamSource: FrameSource {
    let path: String
    let index: FrameIndex
    var counters = DecodeCounters()
    /// A remote source's requests, with those of demuxers closed on restarts.
    var network: NetworkCounters? { demuxer.network.map { $0 + networkBefore } }
    private var networkBefore = NetworkCounters()
    var damagedFrames: Set<Int> = []

    private var demuxer: Demuxer
    private let codec: CodecContext
    private let streamIndex: Int32
    private let timeBase: AVRational
    private let timestamps: [Int64]
    /// A decoding scan's index (nil for the others): frames are recognised
    /// by their timestamps after a seek, and keyframes sought at their packets'.
    private let decoded: DecodedIndex?
    /// Decoded index, after `restart`: frames are numbered by counting, as the scan did.
    private var counting = false
    let codedWidth: Int
    let codedHeight: Int
    private let packet = Packet()
    private let frame = Frame()
    var current: UnsafeMutablePointer<AVFrame> { frame.pointer }
    /// Display index of the frame now in `frame`; -1 before the first.
    private var position = -1
    /// The end of input was sent to the decoder; it hands out what it holds.
    private var draining = false
    /// The decoder has given its last frame.
    private var ended = false
    /// Frames a `frames(at:)` call still wants; nil decodes every frame
    /// (sequential decoding). Other non-reference frames are skipped undecoded.
    private var wanted: Set<Int>? = nil
    /// Wanted frames whose packets have not been sent yet.
    private var unsent: Set<Int> = []
    /// The decoder was drained before the end of the file (see `decodeNext`);
    /// the next target needs a seek.
    private var drainedEarly = false
    /// FFmpeg's message for the last damage seen ("" when none).
    var lastDamageReason = ""

    var frameCount: Int { index.frameCount }

    /// Opens `path`. With `index` (from a manifest) the packet scan is skipped
    /// where the container's packets are known to give the same index.
    init(path: String, options: DecoderOptions, index knownIndex: FrameIndex?) throws {
        self.path = path
        demuxer = try Demuxer(
            path: path, stream: options.stream, memberBytes: options.memberBytes, memory: options.memory)
        let stream = try demuxer.videoStream(options.stream)
        streamIndex = stream
        var avStream = demuxer.stream(stream)
        timeBase = avStream.pointee.time_base
        codec = try CodecContext(stream: avStream, threads: max(0, options.threads), path: path)
        let parameters = avStream.pointee.codecpar.pointee
        codedWidth = Int(parameters.width)
        codedHeight = Int(parameters.height)
        guard codedWidth > 0, codedHeight > 0 else {
            throw VideoError.cannotOpen(path: path, reason: "the video stream has no frame size")
        }

        let fps = frameRate(avStream.pointee)
        let built = try Self.buildIndex(
            demuxer: &demuxer, stream: stream, codec: codec, packet: packet, frame: frame,
            known: knownIndex, fps: fps, path: path)
        (index, timestamps, indexOrigin) = (built.index, built.timestamps, built.origin)
        decoded = built.decoded
        counting = decoded != nil
        guard index.frameCount > 0 else {
            throw VideoError.cannotOpen(path: path, reason: "the video stream has no frames")
        }

        avStream = demuxer.stream(stream)  // the demuxer may have been reopened
        var rotation = 0
        var matrixRotation: Double? = nil
        if let matrix = cffmpeg_display_matrix(avStream) {
            let angle = av_display_rotation_get(matrix)
            matrixRotation = angle.isFinite ? angle : nil
            if options.applyRotation { rotation = displayRotation(counterclockwiseDegrees: angle) }
        }
        self.rotation = rotation
        let transposed = rotation == 90 || rotation == 270
        var duration = streamDuration(avStream.pointee, container: demuxer.pointer.pointee)
        var rate = fps
        if index.timestamps != nil, timestamps.count > 1 {
            // The frames' own span, as `frameTimes` gives it. Headers can count
            // a start offset in (Matroska's duration is the last timestamp) or
            // leave the length out.
            let tick = Double(timeBase.num) / Double(timeBase.den)
            let seconds = Double(timestamps[timestamps.count - 1] - timestamps[0]) * tick
            if rate == 0 && seconds > 0 { rate = Double(timestamps.count - 1) / seconds }
            if seconds > 0 {
                let span = frameSpan(timestamps, tick: tick, single: 0)
                duration = span.end - span.start
            }
        }
        baseMetadata = VideoMetadata(
            path: path,
            codec: String(cString: avcodec_get_name(parameters.codec_id)),
            pixelFormat: "",
            width: transposed ? codedHeight : codedWidth,
            height: transposed ? codedWidth : codedHeight,
            fps: rate,
            duration: duration,
            rotation: rotation,
            displayMatrixRotation: matrixRotation,
            frames: index.frameCount,
            keyframes: index.keyframes,
            index: index.method,
            indexOrigin: indexOrigin,
            stream: Int(stream))
    }

    /// The frame index and where it came from. A stored index is trusted only
    /// where packets would give the same one (MP4/MOV and Matroska, what
    /// `prep` writes), and in MP4 at a constant frame rate. Elsewhere a decoding scan kept from earlier (in this
    /// process, else in the index cache folder) is used, else the packet scan,
    /// which also tells whether a decoding scan is needed.
    private static func buildIndex(
        demuxer: inout Demuxer, stream: Int32, codec: CodecContext, packet: Packet, frame: Frame,
        known: FrameIndex?, fps: Double, path: String
    ) throws -> (index: FrameIndex, timestamps: [Int64], decoded: DecodedIndex?, origin: IndexOrigin) {
        let avStream = demuxer.stream(stream)
        let timeBase = avStream.pointee.time_base
        // MP4 lists every sample's time in its header: a variable frame rate shows there, and the stored
        // index, whose times come from the frame rate, gives way to the scan.
        let even =
            !demuxer.formatName.hasPrefix("mov")
            || known.map { demuxer.indexesEvenly(stream, count: $0.frameCount) } == true
        if let known, demuxer.headerIsComplete, even {
            let timestamps =
                known.timestamps
                ?? constantRateTimestamps(
                    count: known.frameCount, start: avStream.pointee.start_time, fps: fps, timeBase: timeBase)
            return (known, timestamps, nil, .manifest)
        }
        let exact = !demuxer.timestampsMayJump
        func make(_ record: ScanRecord) -> DecodedIndex {
            DecodedIndex(record, fps: fps, timeBase: timeBase, packetTimesAreExact: exact)
        }
        func result(_ decoded: DecodedIndex, _ origin: IndexOrigin) -> (FrameIndex, [Int64], DecodedIndex?, IndexOrigin)
        {
            (decoded.index, decoded.timestamps, decoded, origin)
        }
        // MP4/MOV and Matroska almost always index by packets, read from the
        // header: look for a kept scan (and make its key) only when that fails.
        // Elsewhere (AVI, TS, …) the packet scan reads the whole file, and a
        // kept scan spares it.
        var key = demuxer.headerIsComplete ? nil : IndexCacheKey.of(demuxer, stream: Int(stream))
        if let key, let (decoded, origin) = keptScan(key, make: make) {
            return result(decoded, origin)  // the demuxer has read nothing yet: no reopening
        }
        if let scanned = try scanIndex(demuxer, stream: stream, packet: packet, path: path) {
            if let first = scanned.timestamps!.first { try demuxer.seek(stream: stream, timestamp: first) }
            return (scanned, scanned.timestamps!, nil, .scan)
        }
        demuxer = try demuxer.reopened(stream: stream)  // the packet scan read some of it
        if demuxer.headerIsComplete {
            key = IndexCacheKey.of(demuxer, stream: Int(stream))
            if let key, let (decoded, origin) = keptScan(key, make: make) { return result(decoded, origin) }
        }
        let record = try decodingScan(
            try demuxer.reopened(stream: stream), stream: stream, codec: codec, packet: packet, frame: frame,
            path: path)
        let decoded = make(record)
        if let key {
            DecodedIndexCache.shared.store(decoded, for: key)
            if key.keptOnDisk { IndexDiskCache.fromEnvironment()?.store(record, for: key) }
        }
        return result(decoded, .scan)
    }

    /// A decoding scan of this version of the file made earlier: in this
    /// process, else by another (`make` readies a record read from disk).
    private static func keptScan(_ key: IndexCacheKey, make: (ScanRecord) -> DecodedIndex)
        -> (DecodedIndex, IndexOrigin)?
    {
        if let decoded = DecodedIndexCache.shared.index(for: key) { return (decoded, .memory) }
        guard key.keptOnDisk, let record = IndexDiskCache.fromEnvironment()?.record(for: key) else { return nil }
        let decoded = make(record)
        DecodedIndexCache.shared.store(decoded, for: key)
        return (decoded, .cache)
    }

    let rotation: Int
    let baseMetadata: VideoMetadata
    let indexOrigin: IndexOrigin

    /// The decoder's pixel format; MP4 and Matroska headers do not name it,
    /// so it may take decoding the first frame.
    func pixelFormat() -> AVPixelFormat {
        var format = codec.pointer.pointee.pix_fmt
        if format == AV_PIX_FMT_NONE {
            let saved = counters
            _ = try? decode([0]) { _ in format = AVPixelFormat(rawValue: frame.pointer.pointee.format) }
            counters = saved  // bookkeeping, not work the caller asked for
        }
        return format
    }

    /// Display index of the frame on screen at `seconds`.
    var frameTimes: FrameTimes {
        let tb = Double(timeBase.num) / Double(timeBase.den)
        return FrameTimes(pts: timestamps.map { Double($0) * tb }, single: singleFrameSeconds)
    }

    /// How long a video of one frame shows it.
    private var singleFrameSeconds: Double { 1 / max(baseMetadata.fps, 1) }

    func frameIndex(playedAt seconds: Double) throws -> Int {
        let tb = Double(timeBase.num) / Double(timeBase.den)
        let (start, end) = frameSpan(timestamps, tick: tb, single: singleFrameSeconds)
        guard seconds >= start, seconds < end else {
            throw VideoError.timeOutOfRange(path: path, seconds: seconds, start: start, end: end)
        }
        // 1 ns of slack: 2.76 s / 0.001 is 2759.9999… in floating point.
        let ts = Int64(((seconds + 1e-9) / tb).rounded(.down))
        var low = 0
        var high = frameCount - 1
        while low < high {  // last index with timestamp <= ts
            let mid = (low + high + 1) / 2
            if timestamps[mid] <= ts { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// Every frame from the first, in order; frames in the index that never
    /// come out are added to `damagedFrames`, which is returned.
    func decodeSequentially(_ each: (Int) throws -> Void) throws -> [Int] {
        try seek(toKeyframe: 0)
        var seen = Set<Int>()
        while let frameIndex = try decodeNext() {
            seen.insert(frameIndex)
            try each(frameIndex)
        }
        for i in 0..<frameCount where !seen.contains(i) { damagedFrames.insert(i) }
        return damagedFrames.sorted()
    }

    /// Decodes forward to each of `targets` (ascending, unique) and calls
    /// `deliver` while that frame is current. Returns targets never produced.
    func decode(_ targets: [Int], deliver: (Int) throws -> Void) throws -> [Int] {
        wanted = Set(targets)
        unsent = Set(targets)
        defer {
            wanted = nil
            unsent = []
            codec.pointer.pointee.skip_frame = AVDISCARD_DEFAULT
        }
        if let last = targets.last { planReads(endingAt: last) }
        var missing: [Int] = []
        var pending: Int? = nil  // a frame decoded past a missing target, still current
        for target in targets {
            if let p = pending {
                if p == target {
                    pending = nil
                    try deliver(target)
                    continue
                }
                if p > target {
                    missing.append(target)
                    continue
                }
                pending = nil
            }
            let keyframe = index.keyframe(atOrBefore: target)
            // Seek when going back, or when a keyframe lies between here and the
            // target (decoding the frames before it would be wasted work).
            var justSeeked = false
            let unreachable = (ended || drainedEarly) && unsent.contains(target)
            if target <= position || keyframe > position + 1 || unreachable {
                try seek(toKeyframe: keyframe)
                justSeeked = true
            }
            var retries = 0
            var seekPoint = keyframe
            // After a seek the first frame at or past the keyframe must be the
            // keyframe itself; a later one means the demuxer landed past it,
            // and frames decoded from there could lack their references.
            var awaitedKeyframe: Int? = justSeeked ? keyframe : nil
            while true {
                let next = try decodeNext()
                if let k = awaitedKeyframe, seekPoint > 0,
                    next.map({ $0 > k || ($0 == k && !landedOnKeyframe) }) ?? true
                {
                    // Try earlier keyframes, then the start of the file.
                    retries += 1
                    seekPoint = retries < 3 ? index.keyframe(atOrBefore: seekPoint - 1) : 0
                    try seek(toKeyframe: seekPoint)
                    awaitedKeyframe = seekPoint
                    continue
                }
                guard let frameIndex = next else {
                    missing.append(target)
                    break
                }
                if let k = awaitedKeyframe {
                    if frameIndex < k { continue }
                    awaitedKeyframe = nil
                }
                if frameIndex < target { continue }
                if frameIndex == target {
                    try deliver(target)
                    break
                }
                missing.append(target)
                pending = frameIndex
                break
            }
        }

        for m in missing { damagedFrames.insert(m) }
        return missing
    }

    /// Tells a remote source where the reads for frames up to `last` end, from
    /// the container's index: past the sample decoded a few frames after
    /// `last` (the decoder holds back up to a few frames for B-frames) where
    /// it lists every sample (MP4), never past the next keyframe's bytes; the
    /// end of the source when it indexes no bytes there.
    private func planReads(endingAt last: Int) {
        guard demuxer.isRemote else { return }
        var end = index.keyframes.first(where: { $0 > last }).flatMap(byteOffset(ofKeyframe:)).flatMap {
            $0 > 0 ? $0 : nil
        }
        let step = last > 0 ? timestamps[last] - timestamps[last - 1] : 0
        if step > 0, decoded == nil,
            let after = avformat_index_get_entry_from_timestamp(
                demuxer.stream(streamIndex), timestamps[last] + 4 * step, AVSEEK_FLAG_ANY),
            after.pointee.pos > 0
        {
            let sampleEnd = after.pointee.pos + Int64(after.pointee.size)
            end = min(end ?? sampleEnd, sampleEnd)
        }
        demuxer.planReads(through: end)
    }

    /// Where each keyframe's packet starts in the source, from the container's
    /// index (nil where it has none: MPEG-TS, AVI without an index, …).
    var keyframeOffsets: [Int64?] { index.keyframes.map(byteOffset(ofKeyframe:)) }

    private func byteOffset(ofKeyframe keyframe: Int) -> Int64? {
        let ts = decoded?.seekTimestamps[keyframe] ?? timestamps[keyframe]
        let entry = avformat_index_get_entry_from_timestamp(demuxer.stream(streamIndex), ts, AVSEEK_FLAG_BACKWARD)
        return entry.flatMap { $0.pointee.pos >= 0 ? $0.pointee.pos : nil }
    }

    private func seek(toKeyframe keyframe: Int) throws {
        if index.method == .decoded {
            // Frame 0, or a keyframe the decoder gave no timestamp to: from the
            // start, counting frames as the scan did. Reopening is the one way
            // back to the start that every demuxer (TS, PS, AVI) gets right.
            if keyframe == 0 || decoded?.frameOfTimestamp[timestamps[keyframe]] != keyframe {
                try restart()
                return
            }
            counting = false
        }
        try demuxer.seek(stream: streamIndex, timestamp: decoded?.seekTimestamps[keyframe] ?? timestamps[keyframe])
        codec.flush()
        startDecoding(at: keyframe)
    }

    /// Back to the first packet, by opening the file again.
    private func restart() throws {
        if let spent = demuxer.network { networkBefore = networkBefore + spent }
        demuxer = try demuxer.reopened(stream: streamIndex)
        codec.flush()
        counting = true
        startDecoding(at: 0)
    }

    /// The decoder's state after landing on `keyframe`.
    private func startDecoding(at keyframe: Int) {
        position = keyframe - 1
        draining = false
        ended = false
        drainedEarly = false
        if let wanted { unsent = wanted.filter { $0 >= keyframe } }
        counters.seeks += 1
    }

    /// Decodes the next frame into `frame` and returns its display index, or
    /// nil at the end of the stream.
    private func decodeNext() throws -> Int? {
        if ended { return nil }
        while true {
            let code = avcodec_receive_frame(codec.pointer, frame.pointer)
            if code == 0 {
                if let frameIndex = takeDecodedFrame() { return frameIndex }
                continue
            }
            if code == ffEOF || (code == ffEAGAIN && draining) {
                ended = true
                return nil
            }
            if code != ffEAGAIN { throw VideoError.decodeFailed(path: path, reason: ffmpegMessage(code)) }
            if demuxer.read(packet, stream: streamIndex) {
                counters.packetsRead += 1
                let frameIndex = packetFrame(packet.pointer.pointee)
                codec.pointer.pointee.skip_frame = skipSetting(for: frameIndex)
                let sent = avcodec_send_packet(codec.pointer, packet.pointer)
                // A damaged packet: its frame will not come out, and `decode` reports it missing.
                if sent < 0 && sent != ffEAGAIN { lastDamageReason = ffmpegMessage(sent) }
                if let frameIndex, wanted != nil, unsent.remove(frameIndex) != nil,
                    nextTargetNeedsSeek(after: frameIndex)
                {
                    // Every wanted frame of this stretch is in the decoder and the
                    // next needs a seek anyway: drain now rather than decode further
                    // frames only to fill the reorder delay.
                    _ = avcodec_send_packet(codec.pointer, nil)
                    draining = true
                    drainedEarly = true
                }
            } else {
                _ = avcodec_send_packet(codec.pointer, nil)  // end of input: drain the decoder
                draining = true
            }
        }
    }

    /// False when a decoded index's keyframe came out of the decoder without
    /// its keyframe flag: decoding started past it (a container index that
    /// flags the wrong packets), and the frame was made without its references.
    private var landedOnKeyframe: Bool {
        index.method != .decoded || cffmpeg_frame_is_key(frame.pointer) != 0
    }

    /// Non-reference frames that were not asked for need not be decoded: no
    /// other frame depends on them. With one decoder thread, a packet is
    /// decoded before the next one is sent, so the setting applies to it alone.
    private func skipSetting(for frameIndex: Int?) -> AVDiscard {
        guard let wanted, let frameIndex, codec.pointer.pointee.thread_count == 1 else { return AVDISCARD_DEFAULT }
        return wanted.contains(frameIndex) ? AVDISCARD_DEFAULT : AVDISCARD_NONREF
    }

    /// Display index of the frame a packet carries (nil without timestamps,
    /// and for a decoded index, where packets and frames do not pair up).
    private func packetFrame(_ p: AVPacket) -> Int? {
        // Packets an edit list cuts carry no frame of the index.
        if index.method == .decoded || p.flags & AV_PKT_FLAG_DISCARD != 0 { return nil }
        let ts = p.pts != ffNoPTS ? p.pts : p.dts
        return ts == ffNoPTS ? nil : nearestIndex(of: ts, in: timestamps)
    }

    /// True when no wanted frame is left to send, or the nearest one lies
    /// beyond a keyframe after `frame`'s (so `decode` will seek to reach it).
    private func nextTargetNeedsSeek(after frame: Int) -> Bool {
        guard codec.pointer.pointee.thread_count == 1 else { return false }
        guard let next = unsent.min() else { return true }
        return index.keyframe(atOrBefore: next) > max(frame, index.keyframe(atOrBefore: frame)) && next > frame + 1
    }

    /// The display index of the frame just decoded, or nil when a decoded
    /// index cannot tell which frame it is (it is then never delivered).
    private func takeDecodedFrame() -> Int? {
        counters.framesDecoded += 1
        let f = frame.pointer.pointee
        let frameIndex: Int
        if index.method == .decoded {
            if counting {
                frameIndex = position + 1
                guard frameIndex < frameCount else { return nil }
            } else {
                guard let known = decoded?.frameOfTimestamp[f.best_effort_timestamp] else { return nil }
                frameIndex = known
                // From a keyframe on, the decoder gives the frames the scan
                // counted, in the same order: count them (the last frames of
                // a drain often have no timestamp to recognise them by).
                if index.keyframe(atOrBefore: known) == known { counting = true }
            }
        } else {
            let ts = f.pts != ffNoPTS ? f.pts : f.best_effort_timestamp
            frameIndex = ts == ffNoPTS ? min(position + 1, frameCount - 1) : nearestIndex(of: ts, in: timestamps)
        }
        if cffmpeg_frame_is_damaged(frame.pointer) != 0 {
            damagedFrames.insert(frameIndex)
            let logged = takeLastLog()
            lastDamageReason = logged.isEmpty ? "the decoder flagged the frame as corrupt" : logged
        }
        position = frameIndex
        return frameIndex
    }
}

/// From the first frame's time to the end of the last, in seconds, as
/// `FrameTimes` has it: the last frame shows as long as the one before it,
/// or `single` seconds when it is alone. `timestamps` ascending, not empty.
func frameSpan(_ timestamps: [Int64], tick: Double, single: Double) -> (start: Double, end: Double) {
    let n = timestamps.count
    let last = Double(timestamps[n - 1]) * tick
    return (
        Double(timestamps[0]) * tick, last + (n > 1 ? Double(timestamps[n - 1] - timestamps[n - 2]) * tick : single)
    )
}
