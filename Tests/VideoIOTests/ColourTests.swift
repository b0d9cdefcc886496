import Foundation
import TestSupport
import Testing

@testable import VideoIO

private let cases = (try? ColourCase.load(path: "swift")) ?? []

/// Colour through the Swift API: every `swift` case of the pairwise plan
/// against the ffmpeg CLI, frames asked several to a call, in the case's order.
@Suite struct ColourTests {
    @Test func thePlanHasSwiftCases() { #expect(cases.count >= 4) }

    @Test(arguments: cases)
    func framesEqualTheCLI(_ c: ColourCase) throws {
        let decoder = try VideoDecoder(path: c.video)
        var format = FrameFormat.native
        switch c.output {
        case "short_side": format.size = .shortSide(ColourCase.shortSide)
        case "size": format.size = .exact(width: ColourCase.size.width, height: ColourCase.size.height)
        case "crop":
            let b = ColourCase.cropBox
            format.crop = CropBox(x: b.x, y: b.y, width: b.width, height: b.height)
        default: break
        }
        let (width, height) = try decoder.outputSize(format)
        let truth = try c.cliFrames(width: width, height: height)
        #expect(truth.count == ColourCase.frames)
        for call in c.calls {
            for frame in try decoder.frames(at: call, format: format) {
                if let problem = c.mismatch(frame.pixels, truth[frame.index], frame: frame.index) {
                    Issue.record("\(problem)")
                }
            }
        }
    }

    /// The issue's repro: full range BT.709 at 720p, frames after the first of a call.
    @Test(arguments: [[0, 1, 2], [29, 10, 1, 0]])
    func fullRangeBT709AfterTheFirstFrameOfACall(_ indices: [Int]) throws {
        let folder = try temporaryFolder("full-range")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/fr.mp4"
        _ = try runTool(
            "ffmpeg",
            [
                "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuvj420p", "-color_range", "pc",
                "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-g", "30", path
            ])
        try expectEveryOrder(path, indices: indices)
    }

    /// Full-range HEVC 4:4:4, the issue's second repro.
    @Test func fullRangeHEVC444InBatches() throws {
        let folder = try temporaryFolder("full-range")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/fr444.mkv"
        _ = try runTool(
            "ffmpeg",
            [
                "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=0.8",
                "-c:v", "libx265", "-x265-params", "log-level=error:keyint=8:pools=1:frame-threads=1",
                "-pix_fmt", "yuvj444p", "-color_range", "pc", "-colorspace", "bt709", path
            ])
        try expectEveryOrder(path, indices: [0, 5, 9, 19, 12, 3])
    }

    private func expectEveryOrder(_ path: String, indices: [Int]) throws {
        let decoder = try VideoDecoder(path: path)
        let frame = decoder.metadata.width * decoder.metadata.height * 3
        let truth = [UInt8](
            try runTool(
                "ffmpeg",
                [
                    "-v", "error", "-threads", "1", "-i", path, "-vf", "format=rgb24",
                    "-f", "rawvideo", "-"
                ]))
        for order in [indices, indices.sorted(), indices.sorted().reversed()] {
            for f in try decoder.frames(at: Array(order)) {
                let expected = Array(truth[f.index * frame..<(f.index + 1) * frame])
                #expect(psnr(f.pixels, expected) >= 50, "frame \(f.index) of \(order): \(psnr(f.pixels, expected)) dB")
            }
        }
    }
}
