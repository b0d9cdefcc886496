import ArgumentParser
import VideoIO

extension ClipKit {
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a video's codec, size, exact frame count and keyframes.")

        @Argument(help: "A video file, or a folder of frame images.") var file: String
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Keep the raw orientation (ignore rotation metadata).") var noRotate = false
        @Flag(help: "Decode every frame and list damaged ones (exit 1 if any).") var verify = false
        @OptionGroup var source: SourceFlags

        func run() throws {
            let options = source.decoderOptions(applyRotation: !noRotate)
            let decoder = try VideoDecoder(path: file, options: options)
            let m = decoder.metadata
            let damaged = verify ? try decoder.verify() : []
            let streams = try videoStreams(file, chosen: decoder, options: options)
            if json {
                print(try jsonString(ProbeReport(metadata: m, streams: streams)))
            } else {
                let timing = String(format: "%.3f fps, %.3f s", m.fps, m.duration)
                let keys = m.keyframes.prefix(12).map(String.init).joined(separator: ",")
                print(
                    """
                    \(m.path)
                      codec     \(m.codec) (\(m.pixelFormat))
                      size      \(m.width)x\(m.height)\(m.rotation != 0 ? " (rotated \(m.rotation)°)" : "")
                      frames    \(m.frames) at \(timing)
                      stream    \(m.stream) of \(streams.count) video stream(s)
                      index     \(m.index.rawValue) (\(m.indexOrigin.rawValue))
                      keyframes \(m.keyframes.count): \(keys)\(m.keyframes.count > 12 ? ",…" : "")
                    """)
            }
            if verify {
                if !damaged.isEmpty {
                    throw VideoError.damagedFrames(path: file, indices: damaged, reason: decoder.lastDamageReason)
                }
                if !json { print("  verified  all \(m.frames) frames decode cleanly") }
            }

        }
    }
}

/// `probe --json`: the chosen stream's metadata, and every video stream of the file.
struct ProbeReport: Encodable {
    let metadata: VideoMetadata
    let streams: [VideoStreamInfo]

    func encode(to encoder: Encoder) throws {
        try metadata.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(streams, forKey: .streams)
    }

    private enum Key: String, CodingKey { case streams }
}

/// Every video stream of `path` with its exact frame count (each other stream
/// is opened to count it; one that does not open has none); a folder of
/// images is one stream.
func videoStreams(_ path: String, chosen: VideoDecoder, options: DecoderOptions) throws -> [VideoStreamInfo] {
    let m = chosen.metadata
    if m.index == .folder {
        return [
            VideoStreamInfo(
                index: 0, codec: m.codec, width: m.width, height: m.height, frames: m.frames,
                isDefault: true, coverArt: false, chosenByDefault: true)
        ]
    }
    var streams = try listVideoStreams(path)
    for i in streams.indices {
        var other = options
        other.stream = streams[i].index
        streams[i].frames =
            streams[i].index == m.stream
            ? chosen.frameCount : try? VideoDecoder(path: path, options: other).frameCount
    }
    return streams
}
