import Support

/// Everything that can go wrong reading a video. Every case names the file, and
/// `description` is the one line the CLI prints.
public enum VideoError: Error, Equatable, CustomStringConvertible, Sendable {
    case fileNotFound(path: String)
    case isDirectory(path: String)
    case emptyFile(path: String)
    /// A pipe, device or socket: `kind` says which.
    case notARegularFile(path: String, kind: String)
    /// libavformat could not read the container; `reason` is FFmpeg's own words.
    case cannotOpen(path: String, reason: String)
    case noVideoStream(path: String)
    /// A stream was asked for by index, and it is not a video stream; `streams` lists the file's.
    case notAVideoStream(path: String, stream: Int, streams: String)
    case unsupportedCodec(path: String, codec: String)
    /// The container's index lists more frames than the file holds.
    case truncated(path: String, framesFound: Int, framesListed: Int)
    case indexOutOfRange(path: String, index: Int, frameCount: Int)
    case timeOutOfRange(path: String, seconds: Double, start: Double, end: Double)
    /// Frames that the decoder reported as corrupt or never produced (display-order indices).
    case damagedFrames(path: String, indices: [Int], reason: String)
    case decodeFailed(path: String, reason: String)
    case invalidRequest(path: String, reason: String)
    /// An output video could not be created or encoded.
    case cannotWrite(path: String, reason: String)

    public var path: String {
        switch self {
        case .fileNotFound(let p), .isDirectory(let p), .emptyFile(let p), .noVideoStream(let p):
            return p
        case .notAVideoStream(let p, _, _), .notARegularFile(let p, _):
            return p
        case .cannotOpen(let p, _), .unsupportedCodec(let p, _), .truncated(let p, _, _),
            .indexOutOfRange(let p, _, _), .timeOutOfRange(let p, _, _, _),
            .damagedFrames(let p, _, _), .decodeFailed(let p, _), .invalidRequest(let p, _), .cannotWrite(let p, _):
            return p
        }
    }

    public var reason: String {
        switch self {
        case .fileNotFound: return "no such file"
        case .isDirectory: return "is a directory, not a video file"
        case .emptyFile: return "empty file (0 bytes)"
        case .notARegularFile(_, let kind):
            return "is \(kind), not a file: ClipKit seeks in videos, so save it to a file first"
        case .cannotOpen(_, let reason): return "cannot read as a video: \(reason)"
        case .noVideoStream: return "no video stream (audio-only or data-only file)"
        case .notAVideoStream(_, let stream, let streams):
            return "stream \(stream) is not a video stream (the file has \(streams))"
        case .unsupportedCodec(_, let codec): return "unsupported codec: no decoder for \(codec)"
        case .truncated(_, let found, let listed):
            return "truncated: the container lists \(listed) frames but only \(found) are in the file"
        case .indexOutOfRange(_, let index, let count):
            return "frame index \(index) out of range (the video has \(count) frames, 0...\(count - 1))"
        case .timeOutOfRange(_, let s, let start, let end):
            return "time \(s) s out of range (frames play from \(start) s to \(end) s)"
        case .damagedFrames(_, let indices, let reason):
            let shown = indices.prefix(20).map(String.init).joined(separator: ",")
            let more = indices.count > 20 ? ",… (\(indices.count) in all)" : ""
            return "damaged frames \(shown)\(more): \(reason)"
        case .decodeFailed(_, let reason): return "decode failed: \(reason)"
        case .invalidRequest(_, let reason): return reason
        case .cannotWrite(_, let reason): return "cannot write the video: \(reason)"
        }
    }

    /// The one line to print: the path (a URL's secrets redacted) and the reason.
    public var description: String { redactedLocations(path) + ": " + redactedLocations(reason) }
}
