import ArgumentParser
import Foundation
import VideoIO

extension ClipKit {
    struct Frames: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write frames as raw rgb24 bytes to stdout, in the order given.",
            discussion: "Example: clipkit frames in.mp4 --indices 0,17,33 --short-side 128 > out.rgb")

        @Argument(help: "A video file, or a folder of frame images.") var file: String
        @Option(help: "Comma-separated 0-based frame indices (any order, repeats allowed).") var indices: String
        @Option(help: "Scale so that the short side is S pixels.") var shortSide: Int?
        @Option(help: "Scale to WxH pixels.") var size: String?
        @Flag(help: "Keep the raw orientation (ignore rotation metadata).") var noRotate = false
        @OptionGroup var source: SourceFlags

        func validate() throws {
            if shortSide != nil && size != nil { throw ValidationError("give --short-side or --size, not both") }
            if let shortSide, shortSide <= 0 { throw ValidationError("--short-side must be positive") }
            if let size, parseSize(size) == nil {
                throw ValidationError("--size must look like 224x224, got '\(size)'")
            }
            if parseIndices(indices) == nil {
                throw ValidationError("--indices must be comma-separated integers, got '\(indices)'")
            }
        }

        func run() throws {
            let decoder = try VideoDecoder(path: file, options: source.decoderOptions(applyRotation: !noRotate))
            var format = FrameFormat.native
            if let shortSide { format.size = .shortSide(shortSide) }
            if let size, let (w, h) = parseSize(size) { format.size = .exact(width: w, height: h) }
            let list = parseIndices(indices)!
            var buffer = [UInt8](repeating: 0, count: list.count * (try decoder.frameBytes(format)))
            try buffer.withUnsafeMutableBytes { try decoder.frames(at: list, format: format, into: $0) }
            FileHandle.standardOutput.write(Data(buffer))

        }
    }
}

func parseSize(_ text: String) -> (Int, Int)? {
    let parts = text.lowercased().split(separator: "x")
    guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
    return (w, h)
}

func parseIndices(_ text: String) -> [Int]? {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    return values.count == parts.count && !values.isEmpty ? values : nil
}

/// Which stream of a video file is read, and how a folder of frame images
/// is, for commands that open one.
struct SourceFlags: ParsableArguments {
    @Option(
        help: """
            The container's index of the video stream to read, as in `ffmpeg -map 0:N` \
            (default: the one the ffmpeg CLI takes: largest, default disposition first).
            """
    )
    var stream: Int?
    @Option(
        help: """
            Frame folders: file name template, as '{:05}.jpg', 'img_{:05d}.jpg' or '%05d.jpg' \
            (default: every image, in name order).
            """
    )
    var template: String?
    @Option(help: "Frame folders: the number in the first frame's name (mmaction2's start_index).") var startIndex = 1
    @Option(help: "Frame folders: frames per second.") var fps = 30.0

    func decoderOptions(applyRotation: Bool) -> DecoderOptions {
        DecoderOptions(
            applyRotation: applyRotation,
            folder: FrameFolderOptions(template: template, startIndex: startIndex, fps: fps),
            stream: stream)
    }

    func validate() throws {
        guard fps > 0 else { throw ValidationError("--fps must be positive") }
        guard startIndex >= 0 else { throw ValidationError("--start-index must be ≥ 0") }
        if let stream, stream < 0 { throw ValidationError("--stream must be ≥ 0") }
    }
}
