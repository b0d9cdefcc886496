import Foundation
import TestSupport
import Testing

@testable import VideoIO

/// Folders of frame images open as videos. References are what the ffmpeg
/// CLI decodes from the same images (its image2 demuxer).
@Suite struct FrameFolderTests {
    /// JPEG frames written by the ffmpeg CLI as mmaction2's rawframes (`img_00001.jpg`).
    private func rawframes(_ name: String, count: Int = 20) throws -> String {
        let folder = try temporaryFolder(name)
        _ = try runTool(
            "ffmpeg",
            [
                "-hide_banner", "-loglevel", "error", "-i", fixture("h264_444_odd.mp4"),
                "-frames:v", "\(count)", "-q:v", "3", "-pix_fmt", "yuvj420p", folder + "/img_%05d.jpg"
            ])
        return folder
    }

    @Test func templateAndNameOrderGiveTheCLIsFrames() throws {
        let folder = try rawframes("template")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let reference = try ffmpegFrameAdler32(folder + "/img_%05d.jpg", extraInput: ["-start_number", "1"])
        #expect(reference.count == 20)
        for options in [
            FrameFolderOptions(), FrameFolderOptions(template: "img_{:05}.jpg", startIndex: 1),
            FrameFolderOptions(template: "img_%05d.jpg", startIndex: 1, fps: 12)
        ] {
            let decoder = try VideoDecoder(path: folder, options: DecoderOptions(folder: options))
            let m = decoder.metadata
            #expect(m.frames == 20 && m.codec == "mjpeg" && m.index == .folder)
            #expect(m.width == 129 && m.height == 97)
            #expect(m.fps == options.fps && m.keyframes == Array(0..<20))
            let request = [19, 0, 7, 7, 3, 18]
            let frames = try decoder.frames(at: request)
            #expect(frames.map { frameAdler32($0.pixels) } == request.map { reference[$0] })
        }
        // A start index past 1 skips the first images, as mmaction2's start_index.
        let later = try VideoDecoder(
            path: folder, options: DecoderOptions(folder: FrameFolderOptions(template: "img_{:05d}.jpg", startIndex: 5))
        )
        #expect(later.frameCount == 16)
        #expect(frameAdler32(try later.frames(at: [0])[0].pixels) == reference[4])
    }

    @Test func resizeAndCropOnDecodeAsForVideos() throws {
        let folder = try rawframes("resize", count: 4)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let decoder = try VideoDecoder(path: folder)
        let size = FrameFormat(size: .shortSide(48))
        let small = try decoder.frames(at: [2], format: size)[0]
        #expect(small.height == 48 && small.width == 64)
        let video = try VideoDecoder(path: fixture("h264_444_odd.mp4"))
        let fromVideo = try video.frames(at: [2], format: size)[0]
        // The same picture (JPEG-compressed once): close to the video's own frame.
        #expect(psnr(small.pixels, fromVideo.pixels) > 25)
    }

    @Test func missingAndBrokenImagesAreDamageByIndex() throws {
        let folder = try rawframes("damage", count: 12)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let reference = try ffmpegFrameAdler32(folder + "/img_%05d.jpg")
        try FileManager.default.removeItem(atPath: folder + "/img_00004.jpg")  // frame 3
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder + "/img_00008.jpg"))  // frame 7
        let decoder = try VideoDecoder(
            path: folder, options: DecoderOptions(folder: FrameFolderOptions(template: "img_{:05}.jpg")))
        #expect(decoder.frameCount == 12)
        var buffer = [UInt8](repeating: 0, count: 4 * (try decoder.frameBytes(.native)))
        #expect {
            try buffer.withUnsafeMutableBytes { try decoder.frames(at: [2, 3, 7, 11], into: $0) }
        } throws: { error in
            guard case VideoError.damagedFrames(let path, let indices, _) = error else { return false }
            return path == folder && indices == [3, 7]
        }
        let bytes = try decoder.frameBytes(.native)
        #expect(frameAdler32(buffer[0..<bytes]) == reference[2])
        #expect(frameAdler32(buffer[3 * bytes..<4 * bytes]) == reference[11])
        #expect(try decoder.verify() == [3, 7])
    }

    @Test func foldersWithoutImagesAndBadTemplatesSayWhy() throws {
        let empty = try temporaryFolder("empty")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect { try VideoDecoder(path: empty) } throws: { "\($0)".contains("no .jpg") && "\($0)".contains(empty) }
        #expect {
            try VideoDecoder(path: empty, options: DecoderOptions(folder: FrameFolderOptions(template: "frame.jpg")))
        } throws: { "\($0)".contains("one number field") }
    }

    @Test func naturalNameOrder() {
        let names = ["10.jpg", "2.jpg", "1.jpg", "img_010.png", "img_9.png", "a.jpg"]
        #expect(names.sorted(by: naturalOrder) == ["1.jpg", "2.jpg", "10.jpg", "a.jpg", "img_9.png", "img_010.png"])
    }
}
