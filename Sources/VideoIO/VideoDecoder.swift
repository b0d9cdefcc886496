import CFFmpeg
import Foundation

/// How a decoder is set up.
public struct DecoderOptions: Sendable {
    /// libavcodec threads (0: libavcodec picks). 1 by default: loader parallelism comes from its workers.
    public var threads: Int
    /// Apply the display matrix's rotation (90/180/270), as players and the ffmpeg CLI do.
    public var applyRotation: Bool
    /// How a folder of images is read (ignored for video files).
    public var folder: FrameFolderOptions
    /// The container's index of the video stream to read; nil takes the one
    /// the ffmpeg CLI takes without `-map` (see `Demuxer.defaultVideoStream`).
    public var stream: Int?
    /// Where a tar member (`archive.tar#member`) lies in its archive, when a
    /// manifest says so: the archive is then not listed.
    public var memberBytes: ByteRange?
    /// The video's bytes, read instead of a file: the decoder's `path` then
    /// only names it in messages (and its extension hints the format).
    public var memory: VideoBytes?
    public init(
        threads: Int = 1, applyRotation: Bool = true, folder: FrameFolderOptions = .init(), stream: Int? = nil,
        memberBytes: ByteRange? = nil, memory: VideoBytes? = nil
    ) {
        self.threads = threads
        self.applyRotation = applyRotation
        self.folder = folder
        self.stream = stream
        self.memberBytes = memberBytes
        self.memory = memory
    }
}

/// What a video is, as the decoder sees it. Width and height are as displayed.
public struct VideoMetadata: Sendable, Equatable, Codable {
    public var path: String
    public var codec: String
    public var pixelFormat: String
    public var width: Int
    public var height: Int
    /// Average frame rate (frames per second).
    public var fps: Double
    /// Seconds the frames span: from the first one's time to the end of the
    /// last (`FrameTimes`); the stream's (or container's) header's when the
    /// index holds no times.
    public var duration: Double
    /// Clockwise degrees applied for display (0 with `applyRotation` off).
    public var rotation: Int
    /// The display matrix's counterclockwise angle in degrees, applied or
    /// not, as ffprobe and torchcodec report it (90 for a `rotation` of 270);
    /// nil when the stream has no matrix.
    public var displayMatrixRotation: Double? = nil
    /// Frames a full decode yields.
    public var frames: Int
    /// Display-order indices of keyframes.
    public var keyframes: [Int]
    /// How the frame index was made: "packets", "decoded" (the packets could
    /// not say it exactly, so every frame was decoded at open) or "stored".
    public var index: IndexMethod
    /// Where this open took the index from: made now, or kept from an earlier scan.
    public var indexOrigin: IndexOrigin
    /// The container's index of the video stream read (0 for a folder of images).
    public var stream: Int
}

/// When each frame (in display order) is shown: its presentation timestamp
/// in seconds (the stream's own clock, start offset included: ffprobe's
/// `best_effort_timestamp_time`) and how long it stays (until the next
/// frame; the last one as long as the one before it).
public struct FrameTimes: Sendable, Equatable {
    public var pts: [Double]
    public var durations: [Double]

    /// Times `pts` (ascending) with the durations up to each next one; the
    /// last frame gets the interval before it, or `single` when alone.
    init(pts: [Double], single: Double) {
        self.pts = pts
        durations = pts.indices.map { i in
            i + 1 < pts.count ? pts[i + 1] - pts[i] : (pts.count > 1 ? pts[i] - pts[i - 1] : single)
        }
    }
}

/// Work counters, for tests and benchmarks.
public struct DecodeCounters: Sendable, Equatable {
    public var packetsRead = 0
    public var framesDecoded = 0
    public var framesConverted = 0
    public var seeks = 0
}

/// One decoded frame: RGB24, `height` rows of `width * 3` bytes.
public struct RGBFrame: Sendable, Equatable {
    public var index: Int
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]
}

/// Where a decoder's frames come from: one video stream, or a folder of images.
protocol FrameSource: AnyObject {
    var index: FrameIndex { get }
    var network: NetworkCounters? { get }
    /// Size of decoded frames before rotation.
    var codedWidth: Int { get }
    var codedHeight: Int { get }
    /// Clockwise degrees to apply for display.
    var rotation: Int { get }
    /// What the source is, without its pixel format.
    var baseMetadata: VideoMetadata { get }
    /// The frame `decode` has just made current.
    var current: UnsafeMutablePointer<AVFrame> { get }
    var counters: DecodeCounters { get set }
    var damagedFrames: Set<Int> { get set }
    var lastDamageReason: String { get }
    func pixelFormat() -> AVPixelFormat
    func frameIndex(playedAt seconds: Double) throws -> Int
    /// Each frame's presentation time and how long it is shown, in seconds.
    var frameTimes: FrameTimes { get }
    /// Makes each of `targets` (ascending, unique) current in turn and calls
    /// `deliver`. Returns the targets never produced (also added to `damagedFrames`).
    func decode(_ targets: [Int], deliver: (Int) throws -> Void) throws -> [Int]
    /// Every frame from the first, in order; returns the damaged indices.
    func decodeSequentially(_ each: (Int) throws -> Void) throws -> [Int]
}

/// Frame-accurate decoder for one video file or one folder of frame images.
///
/// Construction opens the file and builds the exact frame index (unless one is
/// given). `frames(at:)` returns any frames in any order, seeking to a keyframe
/// only when that is shorter than decoding forward, and converting only the
/// frames asked for. A directory opens as a video whose frames are its images
/// (see `FrameFolderOptions`). Not thread-safe: use one decoder per thread.
public final class VideoDecoder {
    public let path: String
    private let source: FrameSource
    private let scaler = Scaler()
    private var rotated: [UInt8] = []
    private var baseMetadata: VideoMetadata

    /// Opens `path`, a video file or a folder of images, or the bytes in
    /// `options.memory`. With `index` (from a manifest) the packet scan is
    /// skipped where that is exact.
    public init(path: String, options: DecoderOptions = .init(), index knownIndex: FrameIndex? = nil) throws {
        var isDirectory: ObjCBool = false
        if let memory = options.memory {
            if memory.count == 0 { throw VideoError.emptyFile(path: path) }
            source = try StreamSource(path: path, options: options, index: knownIndex)
        } else if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            source = try ImageFolderSource(path: path, options: options.folder, index: knownIndex)
        } else {
            try checkReadableFile(path)
            source = try retryingRemoteOpens(path) { try StreamSource(path: path, options: options, index: knownIndex) }
        }
        self.path = path
        baseMetadata = source.baseMetadata
    }

    public var index: FrameIndex { source.index }
    public var counters: DecodeCounters { source.counters }
    /// Where each keyframe's packet starts in the file, from the container's
    /// index (nil where it has none); empty for a folder of images.
    public var keyframeOffsets: [Int64?] { (source as? StreamSource)?.keyframeOffsets ?? [] }
    /// The requests a remote source has made so far (nil for a local one).
    public var network: NetworkCounters? { source.network }
    /// Display-order indices of frames found damaged so far (corrupt or never produced).
    public var damagedFrames: Set<Int> { source.damagedFrames }
    /// FFmpeg's message for the last damage seen ("" when none).
    public var lastDamageReason: String { source.lastDamageReason }
    public var frameCount: Int { source.index.frameCount }
    public var keyframes: [Int] { source.index.keyframes }

    /// Displayed width and height (after rotation), without touching the pixel format.
    public var displaySize: (width: Int, height: Int) { (baseMetadata.width, baseMetadata.height) }

    /// What the video is. The pixel format may need the first frame decoded
    /// (headers of MP4 and Matroska do not name it); that happens here, once.
    public var metadata: VideoMetadata {
        if baseMetadata.pixelFormat.isEmpty {
            baseMetadata.pixelFormat =
                av_get_pix_fmt_name(source.pixelFormat()).map { String(cString: $0) } ?? "unknown"
        }
        return baseMetadata
    }

    // MARK: Decoding

    /// The size in bytes of one frame decoded with `format`.
    public func frameBytes(_ format: FrameFormat) throws -> Int { try geometry(format).frameBytes }

    /// Output (width, height) of frames decoded with `format`.
    public func outputSize(_ format: FrameFormat) throws -> (width: Int, height: Int) {
        let g = try geometry(format)
        return (g.width, g.height)
    }

    /// Frames at display-order `indices` (any order, repeats allowed), in the order asked.
    public func frames(at indices: [Int], format: FrameFormat = .native) throws -> [RGBFrame] {
        let g = try geometry(format)
        var buffer = [UInt8](repeating: 0, count: indices.count * g.frameBytes)
        try buffer.withUnsafeMutableBytes { try frames(at: indices, format: format, into: $0) }
        return indices.enumerated().map { slot, frameIndex in
            RGBFrame(
                index: frameIndex, width: g.width, height: g.height,
                pixels: Array(buffer[slot * g.frameBytes..<(slot + 1) * g.frameBytes]))
        }
    }

    /// Writes the frames at `indices` one after another into `buffer`
    /// (`indices.count * frameBytes(format)` bytes). If some frames are damaged,
    /// the others are still written (missing ones are zero) and
    /// `VideoError.damagedFrames` names the damaged ones.
    public func frames(
        at indices: [Int], format: FrameFormat = .native,
        into buffer: UnsafeMutableRawBufferPointer
    ) throws {
        let g = try geometry(format)
        guard buffer.count >= indices.count * g.frameBytes, let base = buffer.baseAddress else {
            throw VideoError.invalidRequest(
                path: path,
                reason: "output buffer holds \(buffer.count) bytes, "
                    + "\(indices.count) frames need \(indices.count * g.frameBytes)"
            )
        }
        if let bad = indices.first(where: { $0 < 0 || $0 >= frameCount }) {
            throw VideoError.indexOutOfRange(path: path, index: bad, frameCount: frameCount)
        }
        var slots: [Int: [Int]] = [:]
        for (slot, frameIndex) in indices.enumerated() { slots[frameIndex, default: []].append(slot) }
        let output = base.assumingMemoryBound(to: UInt8.self)
        let targets = slots.keys.sorted()
        var damaged: [Int] = []
        let missing = try source.decode(targets) { frameIndex in
            let slotList = slots[frameIndex]!
            let first = output + slotList[0] * g.frameBytes
            try convertCurrentFrame(g, into: first)
            for slot in slotList.dropFirst() { (output + slot * g.frameBytes).update(from: first, count: g.frameBytes) }
            if source.damagedFrames.contains(frameIndex) { damaged.append(frameIndex) }
        }
        for frameIndex in missing {
            for slot in slots[frameIndex]! {
                (output + slot * g.frameBytes).initialize(repeating: 0, count: g.frameBytes)
            }
        }
        let bad = (damaged + missing).sorted()
        if !bad.isEmpty {
            throw VideoError.damagedFrames(
                path: path, indices: bad,
                reason: lastDamageReason.isEmpty ? "the decoder did not produce them" : lastDamageReason)
        }
    }

    /// The frame on screen at `seconds` (stream time): the last frame whose
    /// timestamp is at or before it. For variable-frame-rate video.
    public func frame(playedAt seconds: Double, format: FrameFormat = .native) throws -> RGBFrame {
        try frames(at: [frameIndex(playedAt: seconds)], format: format)[0]
    }

    /// Display index of the frame on screen at `seconds`.
    public func frameIndex(playedAt seconds: Double) throws -> Int {
        try source.frameIndex(playedAt: seconds)
    }

    /// Every frame's presentation time and duration, in seconds, from the index (nothing is decoded).
    public var frameTimes: FrameTimes { source.frameTimes }

    /// Decodes the whole video in order, converting every frame; `body` gets
    /// each frame's index and RGB24 bytes. Returns the damaged frame indices.
    @discardableResult
    public func decodeAll(format: FrameFormat = .native, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws
        -> [Int]
    {
        let g = try geometry(format)
        var buffer = [UInt8](repeating: 0, count: g.frameBytes)
        return try buffer.withUnsafeMutableBytes { raw in
            try source.decodeSequentially { frameIndex in
                try convertCurrentFrame(g, into: raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
                try body(frameIndex, UnsafeRawBufferPointer(raw))
            }
        }
    }

    /// Decodes every frame without converting; returns the damaged indices
    /// (flagged by the decoder, or in the index but never produced).
    public func verify() throws -> [Int] {
        try source.decodeSequentially { _ in }
    }

    private func geometry(_ format: FrameFormat) throws -> Geometry {
        try Geometry(
            format, codedWidth: source.codedWidth, codedHeight: source.codedHeight,
            rotation: source.rotation, path: path)
    }

    private func convertCurrentFrame(_ g: Geometry, into destination: UnsafeMutablePointer<UInt8>) throws {
        source.counters.framesConverted += 1
        let frame = source.current
        if g.rotation == 0 {
            try scaler.convert(
                frame, crop: g.codedCrop, width: g.scaledWidth, height: g.scaledHeight,
                into: destination, path: path)
            return
        }
        if rotated.count < g.frameBytes { rotated = [UInt8](repeating: 0, count: g.frameBytes) }
        try rotated.withUnsafeMutableBufferPointer { scratch in
            try scaler.convert(
                frame, crop: g.codedCrop, width: g.scaledWidth, height: g.scaledHeight,
                into: scratch.baseAddress!, path: path)
            rotateRGB24(
                scratch.baseAddress!, width: g.scaledWidth, height: g.scaledHeight,
                degrees: g.rotation, into: destination)
        }
    }
}
