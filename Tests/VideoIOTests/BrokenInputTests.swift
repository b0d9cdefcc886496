import Foundation
import TestSupport
import Testing

@testable import VideoIO

@Suite struct BrokenInputTests {
    private func openError(_ path: String) -> VideoError? {
        do {
            _ = try VideoDecoder(path: path)
            return nil
        } catch {
            return error as? VideoError
        }
    }

    @Test func missingFile() {
        let path = fixture("no-such-video.mp4")
        #expect(openError(path) == .fileNotFound(path: path))
    }

    @Test func directoryWithoutImages() {
        // A directory opens as a frame folder; one of .rgb files has no frames.
        let path = fixture("ref")
        #expect(openError(path) == .cannotOpen(path: path, reason: "a folder with no .jpg, .jpeg, .png or .bmp images"))
    }

    @Test func emptyFile() {
        let path = fixture("empty.mp4")
        #expect(openError(path) == .emptyFile(path: path))
    }

    /// A named pipe (a FIFO) is named as one, without waiting for a writer;
    /// a link to a video is the video.
    @Test func pipesAreNamedAndLinksFollowed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pipe = folder + "/clip.mp4"
        #expect(mkfifo(pipe, 0o600) == 0)
        #expect(openError(pipe) == .notARegularFile(path: pipe, kind: "a pipe (FIFO)"))
        let link = folder + "/link.mp4"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fixture("h264_bframes.mp4"))
        #expect(try VideoDecoder(path: link).frameCount == VideoDecoder(path: fixture("h264_bframes.mp4")).frameCount)
    }

    /// Bytes in memory that are not a video are named as the files would be.
    @Test func brokenBytesInMemory() throws {
        func error(_ data: Data) -> VideoError? {
            do {
                _ = try VideoDecoder(path: "<bytes>", options: DecoderOptions(memory: VideoBytes(data)))
                return nil
            } catch { return error as? VideoError }
        }
        #expect(error(Data()) == .emptyFile(path: "<bytes>"))
        let text = try Data(contentsOf: URL(fileURLWithPath: fixture("text.mp4")))
        guard case .cannotOpen("<bytes>", let reason)? = error(text) else {
            Issue.record("text bytes: \(String(describing: error(text)))")
            return
        }
        #expect(reason.contains("text file"))
        let video = try Data(contentsOf: URL(fileURLWithPath: fixture("truncated.mp4")))
        #expect(error(video)?.path == "<bytes>")
    }

    @Test func textFileNamedMP4() {
        let error = openError(fixture("text.mp4"))
        guard case .cannotOpen(let path, let reason)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(path == fixture("text.mp4"))
        #expect(reason.contains("text file"))
    }

    @Test func audioOnly() {
        let path = fixture("audio_only.mp4")
        #expect(openError(path) == .noVideoStream(path: path))
    }

    @Test func truncated() {
        let error = openError(fixture("truncated.mp4"))
        guard case .cannotOpen(_, let reason)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(reason.contains("truncated"))
        #expect(error!.description.hasPrefix(fixture("truncated.mp4") + ": "))
    }

    @Test func unsupportedCodec() {
        let error = openError(fixture("unsupported_codec.avi"))
        guard case .unsupportedCodec(_, let codec)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(codec.contains("ZZZ9"))
    }

    /// A file cut after a complete index (moov first): frames listed but absent.
    @Test func truncatedAfterTheIndex() throws {
        let source = fixture("garbage_middle.mp4")  // written with +faststart: moov first
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clipkit-cut-\(getpid()).mp4").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = openError(path)
        guard case .truncated(_, let found, let listed)? = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(listed == 60 && found < 60)
    }

    /// Garbage bytes in the middle: frames before the damage decode exactly;
    /// the damaged frames are reported with their indices.
    @Test func garbageInTheMiddle() throws {
        let path = fixture("garbage_middle.mp4")
        let decoder = try VideoDecoder(path: path)
        let good = try decoder.frames(at: [11, 0])
        #expect(byteDifference(good[0].pixels, try FixtureExpectations.reference("garbage_middle_mp4_11.rgb")) == "")
        #expect(byteDifference(good[1].pixels, try FixtureExpectations.reference("garbage_middle_mp4_0.rgb")) == "")

        let damaged = try VideoDecoder(path: path).verify()
        #expect(!damaged.isEmpty)
        // Bytes 55% into the file hold frames past the first two GOPs (no B-frames).
        #expect(damaged.allSatisfy { $0 >= 24 })

        let fresh = try VideoDecoder(path: path)
        do {
            _ = try fresh.frames(at: [5, damaged[0]])
            Issue.record("expected damaged frames to be reported")
        } catch let VideoError.damagedFrames(p, indices, reason) {
            #expect(p == path)
            #expect(indices == [damaged[0]])
            #expect(!reason.isEmpty)
        }
    }

    @Test func errorsNameTheFileAndTheReason() {
        let error = VideoError.damagedFrames(path: "/v/a.mp4", indices: [3, 4], reason: "bad NAL")
        #expect(error.description == "/v/a.mp4: damaged frames 3,4: bad NAL")
    }
}
