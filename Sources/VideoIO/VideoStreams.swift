import CFFmpeg
import Foundation

/// One video stream of a file, as `probe --json` lists it.
public struct VideoStreamInfo: Sendable, Equatable, Codable {
    /// The container's stream index (`ffmpeg -map 0:N`, `--stream N`).
    public var index: Int
    public var codec: String
    /// Coded size, before any rotation.
    public var width: Int
    public var height: Int
    /// Frames a full decode yields (filled in by whoever opens the stream).
    public var frames: Int?
    /// The container marks it as the default stream.
    public var isDefault: Bool
    /// Cover art (an attached picture): never the default stream.
    public var coverArt: Bool
    /// The stream a decoder opens when none is asked for.
    public var chosenByDefault: Bool

    public init(
        index: Int, codec: String, width: Int, height: Int, frames: Int?, isDefault: Bool, coverArt: Bool,
        chosenByDefault: Bool
    ) {
        self.index = index
        self.codec = codec
        self.width = width
        self.height = height
        self.frames = frames
        self.isDefault = isDefault
        self.coverArt = coverArt
        self.chosenByDefault = chosenByDefault
    }
}

/// The video streams of the video file at `path`, from its header.
public func listVideoStreams(_ path: String) throws -> [VideoStreamInfo] {
    try checkReadableFile(path)
    let demuxer = try Demuxer(path: path)
    let chosen = demuxer.defaultVideoStream()
    return (0..<Int32(demuxer.pointer.pointee.nb_streams)).compactMap { i in
        guard demuxer.isVideoStream(Int(i)) else { return nil }
        let s = demuxer.stream(i).pointee
        let p = s.codecpar.pointee
        return VideoStreamInfo(
            index: Int(i), codec: String(cString: avcodec_get_name(p.codec_id)),
            width: Int(p.width), height: Int(p.height), frames: nil,
            isDefault: s.disposition & AV_DISPOSITION_DEFAULT != 0,
            coverArt: s.disposition & AV_DISPOSITION_ATTACHED_PIC != 0,
            chosenByDefault: i == chosen)
    }
}

/// Whether libavformat opens `path` as a video of more than one frame: its
/// default video stream (never cover art) has a second packet. Still images
/// and one-frame GIFs are not videos; nothing is decoded.
public func isVideo(_ path: String) -> Bool {
    guard (try? checkReadableFile(path)) != nil, let demuxer = try? Demuxer(path: path),
        let stream = demuxer.defaultVideoStream()
    else { return false }
    let packet = Packet()
    var packets = 0
    while packets < 2 && demuxer.read(packet, stream: stream) { packets += 1 }
    return packets == 2
}
