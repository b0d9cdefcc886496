import CFFmpeg
import Foundation

/// Rejects what libavformat would only describe vaguely: missing files,
/// directories, empty and unreadable files.
func checkReadableFile(_ path: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw VideoError.fileNotFound(path: path)
    }
    if isDirectory.boolValue { throw VideoError.isDirectory(path: path) }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw VideoError.cannotOpen(path: path, reason: "permission denied")
    }
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    if size == 0 { throw VideoError.emptyFile(path: path) }
}

/// Builds the exact frame index by reading every packet of the stream (no
/// decoding): one frame per packet, display order = ascending timestamps.
/// Leaves the demuxer at the end of the file.
func scanIndex(_ demuxer: Demuxer, stream: Int32, packet: Packet, path: String) throws -> FrameIndex {
    var entries: [(ts: Int64, key: Bool)] = []
    var packets = 0
    while demuxer.read(packet, stream: stream) {
        packets += 1
        let p = packet.pointer.pointee
        // Packets an edit list cuts are decoded but never shown.
        if p.flags & AV_PKT_FLAG_DISCARD != 0 { continue }
        let ts = p.pts != ffNoPTS ? p.pts : p.dts
        guard ts != ffNoPTS else {
            throw VideoError.cannotOpen(path: path, reason:
                "packets carry no timestamps, so frames cannot be indexed; remux it (ffmpeg -i IN -c copy OUT.mkv)")
        }
        entries.append((ts, p.flags & AV_PKT_FLAG_KEY != 0))
    }
    // MP4/MOV list every sample in the header: fewer packets means a cut file.
    let listed = Int(demuxer.stream(stream).pointee.nb_frames)
    if demuxer.formatName.hasPrefix("mov"), listed > packets {
        throw VideoError.truncated(path: path, framesFound: packets, framesListed: listed)
    }
    let order = entries.indices.sorted { (entries[$0].ts, $0) < (entries[$1].ts, $1) }
    let timestamps = order.map { entries[$0].ts }
    let keyframes = order.enumerated().compactMap { rank, i in entries[i].key ? rank : nil }
    return FrameIndex(timestamps: timestamps, keyframes: keyframes)
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
