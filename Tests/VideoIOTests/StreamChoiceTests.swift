import Foundation
import TestSupport
import Testing

@testable import VideoIO

/// `two_video_streams.mp4`: video 320x180 (stream 0, the higher bit rate),
/// video 480x270 (stream 1), AAC audio (2), mov_text subtitles (3); both
/// video streams carry the default disposition.
@Suite struct StreamChoiceTests {
    let path = fixture("two_video_streams.mp4")

    /// The CLI's frames of `path`, of stream N with `-map 0:N`, else of the stream it takes itself.
    func cliFrames(stream: Int? = nil) throws -> [String] {
        let map = stream.map { ["-map", "0:\($0)"] } ?? ["-an", "-sn"]  // framecrc would list audio packets too
        return try ffmpegFrameAdler32(path, extraOutput: map)
    }

    func frames(_ decoder: VideoDecoder) throws -> [String] {
        let all = Array(0..<decoder.frameCount)
        return try decoder.frames(at: all.reversed()).reversed().map { frameAdler32($0.pixels) }
    }

    @Test func theDefaultStreamIsTheCLIs() throws {
        let decoder = try VideoDecoder(path: path)
        #expect(decoder.metadata.stream == 1 && decoder.metadata.width == 480)
        #expect(try frames(decoder) == cliFrames())
        let listed = try listVideoStreams(path)
        #expect(listed.map(\.index) == [0, 1] && listed.map(\.chosenByDefault) == [false, true])
    }

    @Test(arguments: [0, 1])
    func anyVideoStreamCanBeChosen(_ stream: Int) throws {
        let decoder = try VideoDecoder(path: path, options: DecoderOptions(stream: stream))
        #expect(decoder.metadata.stream == stream)
        #expect(decoder.metadata.width == (stream == 0 ? 320 : 480))
        #expect(try frames(decoder) == cliFrames(stream: stream))
    }

    @Test(arguments: [2, 3, 4, -1, Int(Int32.max) + 5])
    func aStreamThatIsNotVideoIsAClearError(_ stream: Int) throws {
        do {
            _ = try VideoDecoder(path: path, options: DecoderOptions(stream: stream))
            Issue.record("stream \(stream) opened")
        } catch let error as VideoError {
            guard case .notAVideoStream(let p, let s, let streams) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(p == path && s == stream)
            #expect(
                streams.contains("0: video h264 320x180") && streams.contains("2: audio aac")
                    && streams.contains("3: subtitle mov_text"), "\(streams)")
        }
    }

    /// Cover art is never the default stream. (The CLI takes it when it is
    /// the only video stream; for ClipKit such a file has no video.)
    @Test func coverArtIsNeverTheDefault() throws {
        let folder = try temporaryFolder("cover-art")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let picture = folder + "/cover.png"
        let audio = folder + "/with_cover.m4a"
        _ = try runTool(
            "ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", picture])
        _ = try runTool(
            "ffmpeg",
            [
                "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.5", "-i", picture, "-map", "0",
                "-map", "1", "-c:a", "aac", "-c:v", "png", "-disposition:v", "attached_pic", audio
            ])
        #expect(try listVideoStreams(audio).map(\.coverArt) == [true])
        #expect(throws: VideoError.noVideoStream(path: audio)) { try VideoDecoder(path: audio) }
    }
}
