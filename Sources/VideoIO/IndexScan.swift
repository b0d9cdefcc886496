import CFFmpeg
import Foundation
import Support

/// Rejects what libavformat would only describe vaguely: missing files,
/// directories, empty and unreadable files.
func checkReadableFile(_ path: String) throws {
    if isRemoteLocation(path) { return }  // the server says what is wrong
    if let member = TarMemberPath(path) {
        try checkReadableFile(member.archive)
        if try TarArchive.member(member.member, in: member.archive).size == 0 { throw VideoError.emptyFile(path: path) }
        return
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw VideoError.fileNotFound(path: path)
    }
    if isDirectory.boolValue { throw VideoError.isDirectory(path: path) }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw VideoError.cannotOpen(path: path, reason: "permission denied")
    }
    var info = stat()
    guard stat(path, &info) == 0 else { return }  // libavformat says why
    // The file type bits of st_mode (S_IFMT and its values, spelled out: Glibc and Foundation both export them).
    let type = info.st_mode & 0o170000
    if type != 0o100000 {
        let kind: [mode_t: String] = [
            0o010000: "a pipe (FIFO)", 0o020000: "a character device", 0o060000: "a block device", 0o140000: "a socket"
        ]
        throw VideoError.notARegularFile(path: path, kind: kind[type] ?? "a special file")
    }
    if info.st_size == 0 { throw VideoError.emptyFile(path: path) }
}

/// Builds the exact frame index by reading every packet of the stream (no
/// decoding): one frame per packet, display order = ascending timestamps.
/// Returns nil when the packets cannot give the index exactly (timestamps
/// that may jump, a packet without a PTS, two packets with one PTS); the
/// caller then runs `decodingScan`.
/// Leaves the demuxer at the end of the file.
func scanIndex(_ demuxer: Demuxer, stream: Int32, packet: Packet, path: String) throws -> FrameIndex? {
    if demuxer.timestampsMayJump { return nil }
    var entries: [(ts: Int64, key: Bool)] = []
    var packets = 0
    while demuxer.read(packet, stream: stream) {
        packets += 1
        let p = packet.pointer.pointee
        // Packets an edit list cuts are decoded but never shown.
        if p.flags & AV_PKT_FLAG_DISCARD != 0 { continue }
        // AVI stores decode times only: with B-frames the display order is
        // not in the packets, and packed B-frames (DivX/Xvid) put two frames
        // in one packet and an empty placeholder in the next.
        if p.pts == ffNoPTS { return nil }
        entries.append((p.pts, p.flags & AV_PKT_FLAG_KEY != 0))
    }
    // MP4/MOV list every sample in the header: fewer packets means a cut file.
    let listed = Int(demuxer.stream(stream).pointee.nb_frames)
    if demuxer.formatName.hasPrefix("mov"), listed > packets {
        throw VideoError.truncated(path: path, framesFound: packets, framesListed: listed)
    }
    let order = entries.indices.sorted { (entries[$0].ts, $0) < (entries[$1].ts, $1) }
    let timestamps = order.map { entries[$0].ts }
    // Two packets shown at the same time are fields or a broken mux, not frames.
    for i in timestamps.indices.dropFirst() where timestamps[i] == timestamps[i - 1] { return nil }
    let keyframes = order.enumerated().compactMap { rank, i in entries[i].key ? rank : nil }
    return FrameIndex(timestamps: timestamps, keyframes: keyframes, method: .packets)
}

/// Builds the index by decoding every frame, for streams whose packets cannot
/// say it (timestamps missing, wrapping or shared; fields in packets of their
/// own). Frames are numbered in output order, as the ffmpeg CLI counts them,
/// and keep the decoder's best-effort timestamp so that they can be
/// recognised after a seek. Keyframes are the frames the decoder flags as
/// such (IDR or recovery point, I-frames of MPEG-2/MPEG-4 part 2), from
/// which decoding can start; the timestamps of the packets flagged as
/// keyframes are kept to seek to. Leaves the demuxer at the end of the file.
func decodingScan(
    _ demuxer: Demuxer, stream: Int32, codec: CodecContext, packet: Packet, frame: Frame,
    path: String
) throws -> ScanRecord {
    var record = ScanRecord(frameTimestamps: [], keyframes: [], keyPackets: [])
    func receiveAll() throws {
        while true {
            let code = avcodec_receive_frame(codec.pointer, frame.pointer)
            if code == ffEAGAIN || code == ffEOF { return }
            if code < 0 { throw VideoError.decodeFailed(path: path, reason: ffmpegMessage(code)) }
            if cffmpeg_frame_is_key(frame.pointer) != 0 { record.keyframes.append(record.frameTimestamps.count) }
            record.frameTimestamps.append(frame.pointer.pointee.best_effort_timestamp)
        }
    }
    while demuxer.read(packet, stream: stream) {
        let p = packet.pointer.pointee
        if p.flags & AV_PKT_FLAG_KEY != 0 { record.keyPackets.append(p.dts != ffNoPTS ? p.dts : p.pts) }
        // A damaged packet: its frame does not come out, as in the CLI.
        _ = avcodec_send_packet(codec.pointer, packet.pointer)
        try receiveAll()
    }
    _ = avcodec_send_packet(codec.pointer, nil)
    try receiveAll()
    codec.flush()
    return record
}

/// Average frame rate, else the stream's base rate, else 0.
func frameRate(_ stream: AVStream) -> Double {
    for rate in [stream.avg_frame_rate, stream.r_frame_rate] where rate.num > 0 && rate.den > 0 {
        return Double(rate.num) / Double(rate.den)
    }
    return 0
}

/// Timestamps of a constant-rate stream: frame i at start + i / fps.
func constantRateTimestamps(count: Int, start: Int64, fps: Double, timeBase: AVRational) -> [Int64] {
    let origin = start == ffNoPTS ? 0 : start
    let ticksPerFrame = fps > 0 ? Double(timeBase.den) / (Double(timeBase.num) * fps) : 1
    return (0..<count).map { origin + Int64((Double($0) * ticksPerFrame).rounded()) }
}

/// A decoding scan's index with what recognising its frames after a seek needs.
struct DecodedIndex {
    let index: FrameIndex
    /// The scan's best-effort timestamps, a missing one put one frame after the one before.
    let timestamps: [Int64]
    /// Display index of each timestamp the scan saw exactly once.
    let frameOfTimestamp: [Int64: Int]
    /// The timestamp to seek to for a keyframe: its own packet's, where the
    /// scan could pair keyframes with key packets one to one. A container
    /// index can flag the wrong packets as keyframes (AVI re-muxed with
    /// `mpeg4_unpack_bframes` flags the packet two after each I-frame too),
    /// and seeking to the frame's later display time would land on one.
    let seekTimestamps: [Int: Int64]

    /// `packetTimesAreExact`: false for MPEG-TS/PS and raw streams, whose
    /// packet times may wrap or be missing; their keyframes are sought by frame time.
    init(_ record: ScanRecord, fps: Double, timeBase: AVRational, packetTimesAreExact: Bool) {
        index = FrameIndex(timestamps: record.frameTimestamps, keyframes: record.keyframes, method: .decoded)
        timestamps = fillMissing(record.frameTimestamps, fps: fps, timeBase: timeBase)
        var seen: [Int64: Int] = [:]
        for (i, ts) in record.frameTimestamps.enumerated() where ts != ffNoPTS { seen[ts] = seen[ts] == nil ? i : -1 }
        frameOfTimestamp = seen.filter { $0.value >= 0 }
        var seekTimestamps: [Int: Int64] = [:]
        if packetTimesAreExact && record.keyPackets.count == record.keyframes.count {
            for (frame, packetTime) in zip(record.keyframes, record.keyPackets)
            where packetTime != ffNoPTS && packetTime <= timestamps[frame] {
                seekTimestamps[frame] = packetTime
            }
        }
        self.seekTimestamps = seekTimestamps
    }
}

/// `timestamps` with each missing one (`ffNoPTS`) put one frame after the
/// one before it, so that times and seeks stay ordered.
func fillMissing(_ timestamps: [Int64], fps: Double, timeBase: AVRational) -> [Int64] {
    let ticksPerFrame = fps > 0 ? max(1, Int64((Double(timeBase.den) / (Double(timeBase.num) * fps)).rounded())) : 1
    var filled = timestamps
    for i in filled.indices where filled[i] == ffNoPTS {
        filled[i] = i == 0 ? 0 : filled[i - 1] &+ ticksPerFrame
    }
    return filled
}

/// Seconds, from the stream header, else the container's.
func streamDuration(_ stream: AVStream, container: AVFormatContext) -> Double {
    if stream.duration != ffNoPTS && stream.duration > 0 {
        return Double(stream.duration) * Double(stream.time_base.num) / Double(stream.time_base.den)
    }
    if container.duration != ffNoPTS && container.duration > 0 {
        return Double(container.duration) / Double(AV_TIME_BASE)
    }
    return 0
}
