import Foundation
import TestSupport
import Testing

@testable import VideoIO

private let expected = try! FixtureExpectations.load()
private let decodable = expected.videos.keys.sorted()

@Suite struct DecoderMetadataTests {
    @Test(arguments: decodable)
    func metadataMatchesFFprobe(_ name: String) throws {
        let e = expected.videos[name]!
        let decoder = try VideoDecoder(path: fixture(name))
        let m = decoder.metadata
        #expect(m.codec == e.codec)
        #expect(m.pixelFormat == e.pix_fmt)
        #expect(m.width == e.width && m.height == e.height)
        #expect(m.rotation == e.rotation)
        #expect(m.keyframes == e.keyframes)
        if name == "garbage_middle.mp4" {
            // The index counts every frame in the file; a full decode of the
            // damaged one yields fewer, and those are reported as damaged.
            let damaged = try decoder.verify()
            #expect(m.frames - damaged.count <= e.frames)
        } else {
            #expect(m.frames == e.frames, "ffprobe -count_frames says \(e.frames)")
        }
    }
}

@Suite struct DecoderFrameTests {
    /// Scattered indices: first, last, either side of a keyframe, descending,
    /// with repeats; each must equal the ffmpeg CLI's frame exactly (same
    /// swscale path: unscaled conversion, the frame's own colour matrix).
    @Test(arguments: decodable)
    func scatteredFramesEqualFFmpeg(_ name: String) throws {
        let e = expected.videos[name]!
        let picks = e.references.keys.map { Int($0)! }.sorted()
        let request = picks.reversed() + [picks[0], picks[picks.count / 2], picks[0]]
        let decoder = try VideoDecoder(path: fixture(name))
        let frames = try decoder.frames(at: Array(request))
        #expect(frames.map(\.index) == Array(request))
        for frame in frames {
            let reference = try FixtureExpectations.reference(e.references[String(frame.index)]!)
            #expect(frame.width == e.width && frame.height == e.height)
            #expect(byteDifference(frame.pixels, reference) == "", "\(name) frame \(frame.index)")
        }
        #expect(decoder.counters.framesConverted == Set(request).count, "each distinct frame converted once")
    }

    @Test(arguments: expected.resized.map(\.reference))
    func resizedFramesCloseToFFmpegBilinear(_ referenceName: String) throws {
        let r = expected.resized.first { $0.reference == referenceName }!
        let decoder = try VideoDecoder(path: fixture(r.video))
        let frame = try decoder.frames(
            at: [r.index], format: FrameFormat(size: .exact(width: r.width, height: r.height)))[0]
        let value = psnr(frame.pixels, try FixtureExpectations.reference(r.reference))
        #expect(value >= 35, "PSNR \(value) dB vs ffmpeg -vf scale=\(r.width):\(r.height):flags=bilinear")
    }

    @Test func shortSideKeepsAspectRoundingHalfUp() throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))  // 160x120
        #expect(try decoder.outputSize(FrameFormat(size: .shortSide(64))) == (85, 64))  // 85.33
        #expect(scaledToShortSide(width: 341, height: 256, side: 128) == (171, 128))  // 170.5 rounds up
        #expect(scaledToShortSide(width: 90, height: 160, side: 45) == (45, 80))
    }

    @Test func sequentialDecodeYieldsEveryFrameInOrder() throws {
        let decoder = try VideoDecoder(path: fixture("hevc.mkv"))
        var seen: [Int] = []
        let damaged = try decoder.decodeAll { index, bytes in
            seen.append(index)
            #expect(bytes.count == 160 * 120 * 3)
        }
        #expect(seen == Array(0..<40))
        #expect(damaged.isEmpty)
    }

    @Test func framesAfterSequentialDecodeStillExact() throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        try decoder.decodeAll { _, _ in }
        let frame = try decoder.frames(at: [12])[0]
        #expect(byteDifference(frame.pixels, try FixtureExpectations.reference("h264_bframes_mp4_12.rgb")) == "")
    }

    @Test func writesIntoCallerBuffer() throws {
        let decoder = try VideoDecoder(path: fixture("vp9.webm"))
        let bytes = try decoder.frameBytes(.native)
        var buffer = [UInt8](repeating: 7, count: 2 * bytes)
        try buffer.withUnsafeMutableBytes { try decoder.frames(at: [39, 0], into: $0) }
        #expect(byteDifference(Array(buffer[0..<bytes]), try FixtureExpectations.reference("vp9_webm_39.rgb")) == "")
        #expect(byteDifference(Array(buffer[bytes...]), try FixtureExpectations.reference("vp9_webm_0.rgb")) == "")
        var small = [UInt8](repeating: 0, count: bytes)
        #expect(throws: VideoError.self) {
            try small.withUnsafeMutableBytes { try decoder.frames(at: [1, 2], into: $0) }
        }
    }
}

@Suite struct DecoderSeekTests {
    // h264_bframes.mp4: keyframes every 12 frames, 2 B-frames.

    @Test func noSeekWithinTheCurrentGOP() throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        _ = try decoder.frames(at: [1, 3, 5, 11])
        #expect(decoder.counters.seeks == 0)
        #expect(decoder.counters.framesConverted == 4)
        // Frames 0...11 at most; non-reference B-frames that were not asked
        // for (2, 6, 9, …) are skipped undecoded.
        #expect(decoder.counters.framesDecoded >= 4 && decoder.counters.framesDecoded < 12)
    }

    @Test func seeksToTheKeyframeAtOrBeforeTheTarget() throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        _ = try decoder.frames(at: [38])
        #expect(decoder.counters.seeks == 1)
        // From keyframe 36: at most frames 36, 37, 38, not the 36 frames before.
        #expect(decoder.counters.framesDecoded >= 1 && decoder.counters.framesDecoded <= 3)
        #expect(decoder.counters.framesConverted == 1)
    }

    @Test func goingBackSeeksOnceAndGoingForwardAcrossGOPsSeeksOnce() throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        _ = try decoder.frames(at: [30])
        _ = try decoder.frames(at: [2])
        #expect(decoder.counters.seeks == 2)
        // One call: 3, 4 in the same GOP, 25 needs a seek, 26 follows it.
        // A call ends by draining the decoder (no frames decoded only to fill
        // the reorder delay), so reaching 3 after the call for 2 costs a seek too.
        _ = try decoder.frames(at: [3, 4, 25, 26])
        #expect(decoder.counters.seeks == 4)
        let decodedBefore = decoder.counters.framesDecoded
        _ = try decoder.frames(at: [27, 28, 29])
        #expect(decoder.counters.seeks == 5)
        #expect(decoder.counters.framesDecoded - decodedBefore <= 6)  // from keyframe 24
    }

    @Test func storedIndexSkipsTheScanAndGivesTheSameFrames() throws {
        let scanned = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        let stored = try VideoDecoder(
            path: fixture("h264_bframes.mp4"),
            index: FrameIndex(frameCount: scanned.frameCount, keyframes: scanned.keyframes))
        #expect(stored.counters.packetsRead == 0)
        let picks = [49, 13, 0, 25, 12, 11]
        #expect(try stored.frames(at: picks).map(\.pixels) == (try scanned.frames(at: picks)).map(\.pixels))
        #expect(stored.metadata.frames == 50)
    }

    /// A stored index has no timestamps: they come from the frame rate. An MP4
    /// whose header shows a variable frame rate is scanned instead, and gives
    /// its own frames.
    @Test func aStoredIndexOnAVariableRateMP4GivesWayToTheScan() throws {
        let scanned = try VideoDecoder(path: fixture("vfr.mp4"))
        let stored = try VideoDecoder(
            path: fixture("vfr.mp4"), index: FrameIndex(frameCount: scanned.frameCount, keyframes: scanned.keyframes))
        #expect(stored.metadata.indexOrigin == .scan)
        let picks = [0, 17, 30, 49]
        #expect(try stored.frames(at: picks).map(\.pixels) == (try scanned.frames(at: picks)).map(\.pixels))
    }

    @Test func frameIndexOutOfRange() throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        #expect(throws: VideoError.indexOutOfRange(path: fixture("h264_bframes.mp4"), index: 50, frameCount: 50)) {
            try decoder.frames(at: [3, 50])
        }
        #expect(throws: VideoError.self) { try decoder.frames(at: [-1]) }
    }
}

@Suite struct DecoderTimeAndGeometryTests {
    @Test func framePlayedAtFollowsVariableTimestamps() throws {
        let times = expected.videos["vfr.mp4"]!.frame_times!
        let decoder = try VideoDecoder(path: fixture("vfr.mp4"))
        for (i, t) in times.enumerated() {
            #expect(try decoder.frameIndex(playedAt: t) == i)
            if i + 1 < times.count {
                let between = (t + times[i + 1]) / 2
                #expect(try decoder.frameIndex(playedAt: between) == i, "at \(between) s frame \(i) is on screen")
            }
        }
        let frame = try decoder.frame(playedAt: times[25] + 0.01)
        #expect(frame.index == 25)
        #expect(byteDifference(frame.pixels, try FixtureExpectations.reference("vfr_mp4_25.rgb")) == "")
        #expect(throws: VideoError.self) { try decoder.frame(playedAt: -0.5) }
        #expect(throws: VideoError.self) { try decoder.frame(playedAt: 100) }
    }

    @Test func rotationCanBeTurnedOff() throws {
        let raw = try VideoDecoder(path: fixture("rotate90.mp4"), options: DecoderOptions(applyRotation: false))
        #expect(raw.metadata.width == 160 && raw.metadata.height == 120 && raw.metadata.rotation == 0)
        // The matrix's own angle, applied or not, is ffprobe's (`stream_side_data=rotation`: 90 and -180).
        let turned = try VideoDecoder(path: fixture("rotate90.mp4")).metadata
        #expect(
            turned.rotation == 270 && turned.displayMatrixRotation == 90 && raw.metadata.displayMatrixRotation == 90)
        #expect(try VideoDecoder(path: fixture("rotate180.mp4")).metadata.displayMatrixRotation == -180)
        #expect(try VideoDecoder(path: fixture("h264_bframes.mp4")).metadata.displayMatrixRotation == nil)
        // Same stream as h264_bframes.mp4, so raw frames equal its frames.
        #expect(
            byteDifference(
                try raw.frames(at: [13])[0].pixels, try FixtureExpectations.reference("h264_bframes_mp4_13.rgb")) == "")
    }

    /// A crop converts only the box; it must equal the same box cut from the full frame.
    @Test(arguments: ["h264_444_odd.mp4", "h264_bframes.mp4", "rotate90.mp4", "rotate180.mp4", "mjpeg.mov"])
    func cropEqualsTheBoxOfTheFullFrame(_ name: String) throws {
        let decoder = try VideoDecoder(path: fixture(name))
        let full = try decoder.frames(at: [13])[0]
        // Even offsets: 4:2:0 and 4:2:2 chroma stay on their grid.
        let box = CropBox(x: 6, y: 10, width: 50, height: 36)
        let cropped = try decoder.frames(at: [13], format: FrameFormat(crop: box))[0]
        #expect(cropped.width == 50 && cropped.height == 36)
        var cut: [UInt8] = []
        for row in box.y..<(box.y + box.height) {
            let start = (row * full.width + box.x) * 3
            cut += full.pixels[start..<(start + box.width * 3)]
        }
        #expect(byteDifference(cropped.pixels, cut) == "")
    }

    /// swscale's SIMD YUV→RGB works in blocks of pixels; whatever the width,
    /// nothing may be written past the caller's buffer and no pixel left out.
    @Test(arguments: [50, 58, 64, 100, 120, 127, 128])
    func writesExactlyTheFramesWhateverTheWidth(_ width: Int) throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        let full = try decoder.frames(at: [13])[0]
        // Even height: swscale takes its unscaled fast path only for even heights,
        // as for the full frame, so the two must agree exactly.
        let format = FrameFormat(crop: CropBox(x: 0, y: 8, width: width, height: 34))
        let bytes = try decoder.frameBytes(format)
        var buffer = [UInt8](repeating: 0xAB, count: bytes + 4096)
        try buffer.withUnsafeMutableBytes {
            try decoder.frames(at: [13], format: format, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<bytes]))
        }
        #expect(buffer[bytes...].allSatisfy { $0 == 0xAB }, "bytes written past the frame")
        var cut: [UInt8] = []
        for row in 8..<42 { cut += full.pixels[(row * 160 * 3)..<(row * 160 * 3 + width * 3)] }
        #expect(byteDifference(Array(buffer[0..<bytes]), cut) == "")
    }

    @Test func cropOutsideTheFrameIsRejected() throws {
        let decoder = try VideoDecoder(path: fixture("h264_bframes.mp4"))
        #expect(throws: VideoError.self) {
            try decoder.frames(at: [0], format: FrameFormat(crop: CropBox(x: 150, y: 0, width: 20, height: 10)))
        }
    }
}
