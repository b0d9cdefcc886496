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
        @OptionGroup var folder: FrameFolderFlags

        func run() throws {
            try runReportingErrors {
                let decoder = try VideoDecoder(path: file, options: DecoderOptions(applyRotation: !noRotate, folder: folder.options))
                let m = decoder.metadata
                let damaged = verify ? try decoder.verify() : []
                if json {
                    print(try jsonString(m))
                } else {
                    print("""
                        \(m.path)
                          codec     \(m.codec) (\(m.pixelFormat))
                          size      \(m.width)x\(m.height)\(m.rotation != 0 ? " (rotated \(m.rotation)°)" : "")
                          frames    \(m.frames) at \(String(format: "%.3f", m.fps)) fps, \(String(format: "%.3f", m.duration)) s
                          index     \(m.index.rawValue)
                          keyframes \(m.keyframes.count): \(m.keyframes.prefix(12).map(String.init).joined(separator: ","))\(m.keyframes.count > 12 ? ",…" : "")
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
}
