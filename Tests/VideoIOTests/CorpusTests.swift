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

    /// FFmpeg's own threads (2, and 0: as many as it picks) give the same
    /// frames, in order and asked in any order.
    @Test(arguments: corpus.keys.sorted())
    func framesWithFFmpegThreads(_ name: String) throws {
        let e = corpus[name]!
        let path = fixture("corpus/" + name)
        for threads in [2, 0] {
            let decoder = try VideoDecoder(path: path, options: DecoderOptions(threads: threads))
            #expect(decoder.frameCount == e.frames, "\(name), \(threads) threads")
            let picks = e.scatteredIndices(keyframes: decoder.keyframes)
            try expectFrames(decoder, scrambled(picks + picks.prefix(3), salt: threads + 7), e, name)
        }
        var seen: [String] = []
        let decoder = try VideoDecoder(path: path, options: DecoderOptions(threads: 2))
        _ = try decoder.decodeAll { _, bytes in seen.append(frameAdler32(bytes)) }
        #expect(seen == e.adler32, "\(name): every frame in order, 2 threads")
    }

    /// The same bytes opened again take the decoding scan the first open
    /// made, keyed by their digest (MurmurHash3 x64 128, checked against the
    /// reference's vector); changed bytes are scanned again.
    @Test func bytesKeepTheirScanByContent() throws {
        let fox = Array("The quick brown fox jumps over the lazy dog".utf8)
        #expect(murmur3x64_128(fox, count: fox.count) == (0xe34b_bc7b_bc07_1b6c, 0x7a43_3ca9_c49a_9347))
        // Every tail length, against PyPI's mmh3 (`mmh3.hash128(bytes((i * 37 + 11) & 255 for i in range(n)))`).
        let vectors: [(Int, UInt64, UInt64)] = [
            (0, 0, 0), (1, 0x932f_c7cc_e617_f1e7, 0x7a43_4b81_6c45_08dc),
            (7, 0x8340_cc68_6662_983b, 0xa08f_38df_aa7f_f6f9),
            (8, 0xf0b1_4400_7f89_ced7, 0xd022_2183_2d7a_f9a1), (9, 0xdbb3_088e_aec8_a0b1, 0xcbde_2418_2efe_09a9),
            (15, 0x2906_f047_b67f_83ff, 0x49ca_338f_e770_1fac), (16, 0xda9c_6658_0c5e_f0fb, 0x885a_ae87_bb6c_5ff7),
            (17, 0x78b8_ee9a_775e_07d1, 0xe367_9030_1698_fce0), (31, 0xb1ca_061e_d4c5_532f, 0xcb69_2648_9e7b_3763),
            (33, 0x08b8_8a88_c309_9ba9, 0x15c0_6fbd_b5df_8af9)
        ]
        for (n, h1, h2) in vectors {
            let bytes = (0..<n).map { UInt8(($0 * 37 + 11) & 255) }
            #expect(murmur3x64_128(bytes, count: n) == (h1, h2), "\(n) bytes")
        }
        var data = try Data(contentsOf: URL(fileURLWithPath: fixture("corpus/xvid_packed.avi")))
        let options = { (d: Data) in DecoderOptions(memory: VideoBytes(d)) }
        let first = try VideoDecoder(path: "clip.avi", options: options(data))
        let again = try VideoDecoder(path: "clip.avi", options: options(data))
        #expect(first.metadata.index == .decoded && again.metadata.indexOrigin == .memory)
        data[data.count - 1] ^= 0xff
        #expect(try VideoDecoder(path: "clip.avi", options: options(data)).metadata.indexOrigin == .scan)
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
