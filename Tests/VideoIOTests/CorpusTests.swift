import Foundation
import TestSupport
import Testing

@testable import VideoIO

private let corpus = try! CorpusFile.load()

/// The real-format corpus (`tools/make-corpus.sh`): every file's frame count
/// equals `ffprobe -count_frames`, and frames asked in any order equal the
/// ffmpeg CLI's `-vf format=rgb24` frames byte for byte.
@Suite struct CorpusTests {
    @Test(arguments: corpus.keys.sorted())
    func frameCountAndScatteredFrames(_ name: String) throws {
        let e = corpus[name]!
        let path = fixture("corpus/" + name)
        let decoder = try VideoDecoder(path: path)
        #expect(decoder.frameCount == e.frames, "\(name): ffprobe -count_frames says \(e.frames)")
        let m = decoder.metadata
        #expect(m.width == e.width && m.height == e.height)
        #expect(m.codec == e.codec)
        let picks = e.scatteredIndices(keyframes: decoder.keyframes)

        let salt = name.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xfff
        let descending = Array(picks.reversed())
        let shuffledWithRepeats = scrambled(picks + picks.prefix(4) + [picks[picks.count / 2]], salt: salt)
        for request in [descending, shuffledWithRepeats] {
            let fresh = try VideoDecoder(path: path)
            try expectFrames(fresh, request, e, name)
        }
        // One decoder across many calls: single frames in random order, then small batches.
        for i in scrambled(picks, salt: salt + 1) { try expectFrames(decoder, [i], e, name) }
        for start in stride(from: 0, to: picks.count, by: 3) {
            try expectFrames(
                decoder, scrambled(Array(picks[start..<min(start + 3, picks.count)]), salt: salt + start), e, name)
        }
    }

    /// Each frame's time is ffprobe's `best_effort_timestamp_time` (start
    /// offsets, wraps and edit lists included), and its duration the gap to the next.
    @Test(arguments: corpus.keys.sorted() + ["../vfr.mp4"])
    func frameTimesAreFFprobes(_ name: String) throws {
        let path = fixture("corpus/" + name)
        let text = try runTool(
            "ffprobe",
            [
                "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time", "-of",
                "csv=p=0", path
            ])
        // One line a frame; "N/A" where ffprobe has no time (the last frames flushed out of some
        // decoders): ClipKit's index still gives one, which those frames are not compared on.
        let reference = String(decoding: text, as: UTF8.self).split(separator: "\n").map {
            Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ", ")))
        }
        let decoder = try VideoDecoder(path: path)
        let times = decoder.frameTimes
        #expect(times.pts.count == reference.count, "\(name)")
        let span = times.pts[times.pts.count - 1] + times.durations[times.pts.count - 1] - times.pts[0]
        #expect(abs(decoder.metadata.duration - span) < 1e-9, "\(name): the duration is the frames' span")
        #expect(reference.filter { $0 == nil }.count <= 2, "\(name): at most the last two frames lack a time")
        let off = zip(times.pts, reference).enumerated().filter { item in
            let (ours, theirs) = item.element
            return theirs.map { abs(ours - $0) > 1e-6 } ?? false
        }
        #expect(off.isEmpty, "\(name): frames \(off.prefix(3).map { "\($0.offset): \($0.element)" })")
        #expect(zip(times.durations.dropLast(), zip(times.pts, times.pts.dropFirst())).allSatisfy { $0 == $1.1 - $1.0 })
        #expect(times.durations.allSatisfy { $0 > 0 }, "\(name)")
    }

    @Test(arguments: corpus.keys.sorted())
    func everyFrameInOrder(_ name: String) throws {
        let e = corpus[name]!
        let decoder = try VideoDecoder(path: fixture("corpus/" + name))
        var seen: [String] = []
        let damaged = try decoder.decodeAll { _, bytes in seen.append(frameAdler32(bytes)) }
        #expect(damaged.isEmpty)
        #expect(
            seen == e.adler32,
            "\(name): \(zip(seen, e.adler32).filter { $0 != $1 }.count) frames differ, \(seen.count) vs \(e.adler32.count)"
        )
    }

    /// A file's bytes in memory decode as the file: the same index, times
    /// and frames (the ffmpeg CLI's), every format of the corpus.
    @Test(arguments: corpus.keys.sorted())
    func bytesInMemoryDecodeAsTheFile(_ name: String) throws {
        let e = corpus[name]!
        let path = fixture("corpus/" + name)
        let bytes = VideoBytes(try Data(contentsOf: URL(fileURLWithPath: path)))
        let decoder = try VideoDecoder(path: name, options: DecoderOptions(memory: bytes))
        let file = try VideoDecoder(path: path)
        #expect(decoder.index == file.index && decoder.frameTimes == file.frameTimes, "\(name)")
        var (mine, theirs) = (decoder.metadata, file.metadata)
        (mine.path, mine.indexOrigin, theirs.path, theirs.indexOrigin) = ("", .scan, "", .scan)
        #expect(mine == theirs, "\(name)")
        try expectFrames(decoder, Array(e.scatteredIndices(keyframes: decoder.keyframes).reversed()), e, name)
    }

    @Test func indexMethodIsSaidAndDecodedWhereNeeded() throws {
        for name in [
            "mpeg4_bframes.avi", "xvid_packed.avi", "xvid_unpacked.avi", "h264.ts", "h264_wrap.ts", "mpeg2.vob",
            "mpeg2.m2v"
        ] {
            #expect(try VideoDecoder(path: fixture("corpus/" + name)).metadata.index == .decoded, "\(name)")
        }
        for name in ["long_gop.mp4", "cut_editlist.mp4", "start_10s.mkv", "vp9_alpha.webm"] {
            #expect(try VideoDecoder(path: fixture("corpus/" + name)).metadata.index == .packets, "\(name)")
        }
    }

    @Test func aDecodingScanIsMadeOncePerFileVersion() throws {
        let copy = try temporaryFolder("scan-cache") + "/clip.ts"
        defer { try? FileManager.default.removeItem(atPath: (copy as NSString).deletingLastPathComponent) }
        try FileManager.default.copyItem(atPath: fixture("corpus/h264.ts"), toPath: copy)
        let first = try VideoDecoder(path: copy)
        let second = try VideoDecoder(path: copy)
        #expect(DecodedIndexCache.shared.hits(for: copy) == 1 && first.index == second.index)
        #expect(frameAdler32(try second.frames(at: [37])[0].pixels) == corpus["h264.ts"]!.adler32[37])
        // A changed file is scanned again.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: copy)
        _ = try VideoDecoder(path: copy)
        #expect(DecodedIndexCache.shared.hits(for: copy) == 1)
    }

    /// The AVI index of a re-muxed Xvid file also flags the packet two after
    /// each I-frame: a seek goes to the keyframe's own packet and lands there
    /// (one seek, no fallback to an earlier keyframe or the start).
    @Test func reMuxedXvidSeeksLandOnTheirKeyframes() throws {
        let e = corpus["xvid_unpacked.avi"]!
        let decoder = try VideoDecoder(path: fixture("corpus/xvid_unpacked.avi"))
        for target in [30, 13] {
            let before = decoder.counters.seeks
            try expectFrames(decoder, [target], e, "xvid_unpacked.avi")
            #expect(decoder.counters.seeks - before == 1, "frame \(target)")
        }
    }

    private func expectFrames(_ decoder: VideoDecoder, _ request: [Int], _ e: CorpusFile, _ name: String) throws {
        let frames = try decoder.frames(at: request)
        #expect(frames.map(\.index) == request)
        for frame in frames {
            #expect(
                frameAdler32(frame.pixels) == e.adler32[frame.index],
                "\(name) frame \(frame.index) of request \(request)")
        }
    }
}
