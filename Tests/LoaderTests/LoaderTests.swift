import Clips
import Foundation
import Support
import Synchronization
import TestSupport
import Testing
import VideoIO

@testable import Loader

private let videos = [
    "h264_bframes.mp4", "hevc.mkv", "vp9.webm", "mpeg4.avi", "mjpeg.mov", "vfr.mp4", "rotate90.mp4", "h264_444_odd.mp4"
]

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("clipkit-loader-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func manifest(_ names: [String]) -> Manifest {
    Manifest(entries: names.enumerated().map { ManifestEntry(path: fixture($1), label: $0 % 3) })
}

/// Small clips so the tests stay fast: 4 frames at stride 2, short side 64...80, 48-pixel crops.
private func trainDataset(_ m: Manifest, seed: UInt64 = 7) -> ClipDataset {
    ClipDataset(
        manifest: m, spec: ClipSpec(frames: 4, interval: 2, cropSize: 48),
        mode: .train(TrainAugment(shortSideRange: 64...80, cropSize: 48), variant: .full), seed: seed)
}

/// Every batch of an epoch: (labels, videos, floats).
private func collect(_ loader: ClipLoader, epoch: Int) throws -> [([Int], [Int], [Float])] {
    let iterator = loader.epoch(epoch)
    var out: [([Int], [Int], [Float])] = []
    while let batch = try iterator.next() { out.append((batch.labels, batch.videos, Array(batch.data))) }
    return out
}

@Suite struct ManifestTests {
    @Test func csvJsonlAndListFilesAgree() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(
            atPath: fixture("vp9.webm"), toPath: dir.appendingPathComponent("a, b.webm").path)
        let csv = dir.appendingPathComponent("m.csv").path
        try "path,label,frames,keyframes\n\"a, b.webm\",2,40,0 12 24 36\n\(fixture("hevc.mkv")),0,,\n".write(
            toFile: csv, atomically: true, encoding: .utf8)
        let jsonl = dir.appendingPathComponent("m.jsonl").path
        try
            "{\"path\": \"a, b.webm\", \"label\": 2, \"frames\": 40, \"keyframes\": [0, 12, 24, 36]}\n{\"path\": \"\(fixture("hevc.mkv"))\", \"label\": 0}\n"
            .write(toFile: jsonl, atomically: true, encoding: .utf8)
        let list = dir.appendingPathComponent("m.txt").path
        try "a, b.webm 2\n\(fixture("hevc.mkv")) 0\n".write(toFile: list, atomically: true, encoding: .utf8)
        let a = try Manifest.load(csv)
        let b = try Manifest.load(jsonl)
        let c = try Manifest.load(list)
        #expect(a.entries[0].path == dir.appendingPathComponent("a, b.webm").standardizedFileURL.path)
        #expect(a.entries == b.entries)
        #expect(a.entries.map(\.path) == c.entries.map(\.path) && a.entries.map(\.label) == c.entries.map(\.label))
        #expect(a.entries[0].storedIndex == FrameIndex(frameCount: 40, keyframes: [0, 12, 24, 36]))
        #expect(a.entries[1].storedIndex == nil)
        // Round trip through writeCSV.
        let again = dir.appendingPathComponent("again.csv").path
        try a.writeCSV(to: again)
        #expect(try Manifest.load(again).entries == a.entries)
    }

    /// A `stream` column picks a video stream: the clips equal those of the
    /// same stream copied alone into a file of its own (`ffmpeg -map 0:N -c copy`).
    @Test func aStreamColumnPicksTheStream() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = fixture("two_video_streams.mp4")
        var alone: [String] = []
        for stream in 0..<2 {
            alone.append(dir.appendingPathComponent("stream\(stream).mp4").path)
            _ = try runTool("ffmpeg", ["-v", "error", "-i", source, "-map", "0:\(stream)", "-c", "copy", alone[stream]])
        }
        let csv = dir.appendingPathComponent("m.csv").path
        try "path,label,stream\n\(source),0,0\n\(source),1,1\n\(source),2,\n".write(
            toFile: csv, atomically: true, encoding: .utf8)
        let chosen = try Manifest.load(csv)
        #expect(chosen.entries.map(\.stream) == [0, 1, nil])
        let again = dir.appendingPathComponent("again.csv").path
        try chosen.writeCSV(to: again)
        #expect(try Manifest.load(again).entries == chosen.entries)
        let options = LoaderOptions(batchSize: 3, workers: 1, shuffle: false)
        let separate = Manifest(entries: [
            ManifestEntry(path: alone[0], label: 0), ManifestEntry(path: alone[1], label: 1),
            ManifestEntry(path: alone[1], label: 2)
        ])
        let a = try collect(ClipLoader(dataset: trainDataset(chosen), options: options), epoch: 0)
        let b = try collect(ClipLoader(dataset: trainDataset(separate), options: options), epoch: 0)
        #expect(a.count == 1 && a.map(\.2) == b.map(\.2))
        let bad = dir.appendingPathComponent("bad.csv").path
        try "path,label,stream\n\(source),0,-2\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: ManifestError.self) { try Manifest.load(bad) }
    }

    @Test func errorsNameTheFileAndLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.csv").path
        try "path,label\nx.mp4,3\ny.mp4,dog\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(
            throws: ManifestError(
                file: bad, line: 3, reason: "label 'dog' is not a non-negative integer (give a class list to use names)"
            )
        ) {
            try Manifest.load(bad)
        }
        #expect(try Manifest.load(bad, classes: ["cat", "dog", "x", "y"]).entries[1].label == 1)
        let noHeader = dir.appendingPathComponent("nh.csv").path
        try "file,class\nx.mp4,3\n".write(toFile: noHeader, atomically: true, encoding: .utf8)
        #expect(throws: ManifestError.self) { try Manifest.load(noHeader) }
        #expect(throws: ManifestError.self) { try Manifest.load(dir.appendingPathComponent("missing.csv").path) }
        let twice = dir.appendingPathComponent("twice.csv").path
        try "path,label,path\nx.mp4,3,y.mp4\n".write(toFile: twice, atomically: true, encoding: .utf8)
        #expect(throws: ManifestError(file: twice, line: 1, reason: "the header has 'path' twice")) {
            try Manifest.load(twice)
        }
        #expect(throws: ManifestError(file: dir.path, line: nil, reason: "is a folder, not a file")) {
            try Manifest.load(dir.path)
        }
    }
}

@Suite struct EpochOrderTests {
    @Test func shuffleIsReproduciblePerSeedAndEpoch() {
        let options = LoaderOptions(batchSize: 2, seed: 11)
        #expect(epochOrder(count: 50, epoch: 3, options: options) == epochOrder(count: 50, epoch: 3, options: options))
        #expect(epochOrder(count: 50, epoch: 3, options: options) != epochOrder(count: 50, epoch: 4, options: options))
        #expect(epochOrder(count: 50, epoch: 3, options: options).sorted() == Array(0..<50))
        var other = options
        other.seed = 12
        #expect(epochOrder(count: 50, epoch: 3, options: options) != epochOrder(count: 50, epoch: 3, options: other))
        other.shuffle = false
        #expect(epochOrder(count: 5, epoch: 3, options: other) == [0, 1, 2, 3, 4])
    }

    /// `shard_order: grouped`: 7 shards of 9–14 samples, dealt out of order.
    /// The epoch is a permutation in which every shard's samples are
    /// consecutive, so a global batch of 8 reads from at most two shards; the
    /// shards' order and the order within them change with the epoch; and two
    /// ranks' batches together are one process's global batches.
    @Test func groupedOrderKeepsShardsTogether() {
        let sizes = [9, 14, 10, 12, 11, 9, 13]
        var groups = sizes.enumerated().flatMap { Array(repeating: $0.offset, count: $0.element) }
        var rng = SplitMix64(seed: 3)
        groups.shuffle(using: &rng)
        var options = LoaderOptions(batchSize: 8, seed: 21)
        options.groups = groups
        let order = epochOrder(count: groups.count, epoch: 2, options: options)
        #expect(order.sorted() == Array(0..<groups.count))
        let runs = order.map { groups[$0] }.reduce(into: [Int]()) { if $0.last != $1 { $0.append($1) } }
        #expect(runs.count == sizes.count, "each shard in one run: \(runs)")
        for start in stride(from: 0, to: order.count, by: 8) {
            #expect(Set(order[start..<min(start + 8, order.count)].map { groups[$0] }).count <= 2)
        }
        let next = epochOrder(count: groups.count, epoch: 3, options: options)
        #expect(
            next != order
                && next.map { groups[$0] }.reduce(into: [Int]()) { if $0.last != $1 { $0.append($1) } } != runs)
        var ranks = options
        (ranks.worldSize, ranks.batchSize) = (2, 4)
        let parts = (0..<2).map { r -> [Int] in
            var o = ranks
            o.rank = r
            return epochOrder(count: groups.count, epoch: 2, options: o)
        }
        let interleaved = (0..<parts[0].count).flatMap { [parts[0][$0], parts[1][$0]] }
        #expect(Array(interleaved.prefix(order.count)) == order, "rank r holds every second sample of the global order")
    }

    /// Like PyTorch's DistributedSampler: ceil(N / world) each, padded by
    /// repeating from the start, disjoint before padding, covering everything.
    @Test(arguments: [(10, 3), (12, 4), (7, 2), (5, 8)])
    func shardsAreDisjointAndCovering(_ count: Int, _ world: Int) {
        let shards = (0..<world).map { rank in
            epochOrder(
                count: count, epoch: 1, options: LoaderOptions(batchSize: 1, seed: 5, rank: rank, worldSize: world))
        }
        let perRank = (count + world - 1) / world
        #expect(shards.allSatisfy { $0.count == perRank })
        #expect(Set(shards.joined()) == Set(0..<count))
        #expect(shards.joined().count - count == perRank * world - count, "only the padding repeats")
        let full = epochOrder(count: count, epoch: 1, options: LoaderOptions(batchSize: 1, seed: 5))
        // Rank r takes every world-th index of the (padded) shuffled order.
        #expect(shards[0].first == full.first)
    }
}

@Suite(.serialized) struct ClipLoaderTests {
    @Test func sameBatchesForOneTwoAndFourWorkers() throws {
        let dataset = trainDataset(manifest(videos))
        let results = try [1, 2, 4].map { workers in
            try collect(
                ClipLoader(
                    dataset: dataset, options: LoaderOptions(batchSize: 3, workers: workers, queueDepth: 3, seed: 2)),
                epoch: 1)
        }
        #expect(results[0].count == 3)  // 8 videos, batch 3, last batch of 2 kept
        for r in results.dropFirst() {
            #expect(r.map(\.0) == results[0].map(\.0) && r.map(\.1) == results[0].map(\.1))
            #expect(r.map(\.2) == results[0].map(\.2), "floats differ")
        }
        #expect(results[0][0].2.count == 3 * 3 * 4 * 48 * 48)
        #expect(Set(results[0].flatMap(\.1)) == Set(0..<8))
    }

    @Test func dropLastDropsTheIncompleteBatch() throws {
        let loader = ClipLoader(
            dataset: trainDataset(manifest(videos)), options: LoaderOptions(batchSize: 3, workers: 2, dropLast: true))
        #expect(try collect(loader, epoch: 0).count == 2)
    }

    @Test func earlyStopEndsEveryWorkerAndReturnsEveryBuffer() throws {
        let loader = ClipLoader(
            dataset: trainDataset(manifest(videos + videos)),
            options: LoaderOptions(batchSize: 2, workers: 2, queueDepth: 2))
        let iterator = loader.epoch(0)
        _ = try iterator.next()
        iterator.stop()
        #expect(iterator.runningWorkers == 0)
        #expect(try iterator.next() == nil)
        #expect(loader.buffersIdle == 2)
        // Dropping an iterator without stop() ends its workers too.
        do {
            let dropped = loader.epoch(1)
            _ = try dropped.next()
        }
        #expect(loader.buffersIdle == 2)
        #expect(try collect(loader, epoch: 2).count == 8, "the loader still works afterwards")
    }

    @Test func brokenVideosAreReplacedInTrainingAndListedInTesting() throws {
        let names = ["h264_bframes.mp4", "truncated.mp4", "hevc.mkv", "text.mp4", "vp9.webm"]
        let m = manifest(names)
        let logged = LockedLines()
        let loader = ClipLoader(dataset: trainDataset(m), options: LoaderOptions(batchSize: 5, workers: 2, seed: 1))
        loader.log = { logged.append($0) }
        for epoch in 0..<2 {
            let iterator = loader.epoch(epoch)
            let batch = try #require(try iterator.next())
            #expect(batch.count == 5, "replaced, not dropped")
            #expect(!batch.videos.contains(1) && !batch.videos.contains(3))
            #expect(Set(batch.replaced.map(\.path)) == [fixture("truncated.mp4"), fixture("text.mp4")])
            #expect(iterator.stats.replaced == 2)
        }
        #expect(logged.lines.count == 2, "each broken file logged once: \(logged.lines)")
        #expect(logged.lines.contains { $0.contains("truncated.mp4") && $0.contains("truncated") })

        let test = ClipDataset(
            manifest: m, spec: ClipSpec(frames: 4, interval: 2),
            mode: .test(numClips: 2, crops: .center(48), shortSide: 64))
        let testLoader = ClipLoader(dataset: test, options: LoaderOptions(batchSize: 5, workers: 2, shuffle: false))
        testLoader.log = { _ in }
        let batch = try #require(try testLoader.epoch(0).next())
        #expect(batch.videos == [0, 1, 2, 3, 4])
        #expect(batch.failed.map(\.video) == [1, 3])
        #expect(batch.sampleShape == [2, 3, 4, 48, 48])
        let floats = test.sampleFloats
        #expect(batch.data[floats..<(2 * floats)].allSatisfy { $0 == 0 }, "failed slots are zero")
        #expect(batch.data[0..<floats].contains { $0 != 0 })
    }

    @Test func allBrokenIsAnErrorNotAHang() throws {
        let loader = ClipLoader(
            dataset: trainDataset(manifest(["text.mp4", "empty.mp4"])), options: LoaderOptions(batchSize: 2, workers: 2)
        )
        loader.log = { _ in }
        #expect(throws: LoaderError.self) { _ = try loader.epoch(0).next() }
    }

    @Test func bufferPoolDoesNotGrowOverEpochs() throws {
        let loader = ClipLoader(
            dataset: trainDataset(manifest(videos)), options: LoaderOptions(batchSize: 2, workers: 2, queueDepth: 3))
        for epoch in 0..<6 { _ = try collect(loader, epoch: epoch) }
        #expect(loader.buffersAllocated <= 3)
        #expect(loader.buffersIdle == 3)
    }

    @Test func storedIndexGivesTheSameSamples() throws {
        var withIndex = manifest(["h264_bframes.mp4", "vp9.webm"])
        for i in withIndex.entries.indices {
            let d = try VideoDecoder(path: withIndex.entries[i].path)
            withIndex.entries[i].frames = d.frameCount
            withIndex.entries[i].keyframes = d.keyframes
        }
        let options = LoaderOptions(batchSize: 2, workers: 1, shuffle: false)
        let a = try collect(
            ClipLoader(dataset: trainDataset(manifest(["h264_bframes.mp4", "vp9.webm"])), options: options), epoch: 0)
        let b = try collect(ClipLoader(dataset: trainDataset(withIndex), options: options), epoch: 0)
        #expect(a.map(\.2) == b.map(\.2))
    }
}

final class LockedLines: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}

/// Colour through the loader: every `loader` case of the pairwise colour
/// plan, one test view of all 8 frames (short side 32, centre crop 32,
/// normalisation off) against the ffmpeg CLI's bilinear resize, cropped alike.
@Suite struct LoaderColourTests {
    @Test func thePlanHasLoaderCases() { #expect(((try? ColourCase.load(path: "loader")) ?? []).count >= 3) }

    @Test(arguments: (try? ColourCase.load(path: "loader")) ?? [])
    func clipsEqualTheCLI(_ c: ColourCase) throws {
        let side = ColourCase.shortSide
        let manifest = Manifest(entries: [ManifestEntry(path: c.video, label: 0)])
        let dataset = ClipDataset(
            manifest: manifest, spec: ClipSpec(frames: ColourCase.frames, interval: 1, cropSize: side),
            mode: .test(numClips: 1, crops: .center(side), shortSide: side),
            normalization: Normalization(mean: [0, 0, 0], std: [1, 1, 1]))
        #expect(dataset.sampleShape == [1, 3, ColourCase.frames, side, side])
        var sample = [Float](repeating: -1, count: dataset.sampleFloats)
        var scratch: [UInt8] = []
        try sample.withUnsafeMutableBufferPointer {
            try dataset.load(video: 0, epoch: 0, into: $0.baseAddress!, scratch: &scratch)
        }
        let (width, height) = try VideoDecoder(path: c.video).outputSize(FrameFormat(size: .shortSide(side)))
        let truth = try c.cliFrames(width: width, height: height)
        let (x0, y0) = ((width - side) / 2, (height - side) / 2)
        let plane = ColourCase.frames * side * side
        for t in 0..<ColourCase.frames {
            var ours: [UInt8] = []
            var expected: [UInt8] = []
            for y in 0..<side {
                for x in 0..<side {
                    for channel in 0..<3 {
                        ours.append(UInt8(sample[channel * plane + (t * side + y) * side + x].rounded()))
                        expected.append(truth[t][((y0 + y) * width + x0 + x) * 3 + channel])
                    }
                }
            }
            if let problem = c.mismatch(ours, expected, frame: t) { Issue.record("\(problem)") }
        }
    }
}

/// One builder checks every loader option before it builds: a bad value is
/// an error naming the option (never a precondition), and a good config
/// loads the same batches as a dataset and options made by hand.
@Suite struct LoaderConfigTests {
    func config(_ change: (inout LoaderConfig) -> Void = { _ in }) -> LoaderConfig {
        var c = LoaderConfig(
            spec: ClipSpec(frames: 4, interval: 2, cropSize: 64),
            mode: .train(TrainAugment(shortSideRange: 64...80, cropSize: 64), variant: .full), seed: 7,
            options: LoaderOptions(batchSize: 2, workers: 2, queueDepth: 2, seed: 3))
        change(&c)
        return c
    }

    @Test func badOptionsAreNamed() {
        let m = manifest(["h264_bframes.mp4", "mpeg4.avi"])
        let cases: [(LoaderConfig, String)] = [
            (config { $0.spec.frames = 0 }, "frames must be ≥ 1, not 0"),
            (config { $0.options.queueDepth = 0 }, "queue_depth must be ≥ 1, not 0"),
            (config { $0.options.rank = 2 }, "rank must be in 0..<world_size (1), not 2"),
            (
                config { $0.mode = .train(TrainAugment(shortSideRange: 32...80, cropSize: 64), variant: .full) },
                "short_side must be [a, b] with crop ≤ a ≤ b, not [32, 80] with crop 64"
            ),
            (
                config {
                    $0.mode = .train(TrainAugment(shortSideRange: 64...80, cropSize: 64), variant: .spatial(beta: 3))
                },
                "crop 64 is not divisible by β = 3"
            ),
            (config { $0.mode = .test(numClips: 0, crops: .three(64), shortSide: 64) }, "num_clips must be ≥ 1, not 0"),
            (
                config { $0.mode = .test(numClips: 2, crops: .three(64), shortSide: 32) },
                "test_short_side must be ≥ crop"
            )
        ]
        for (c, reason) in cases {
            #expect(throws: LoaderConfigError(description: reason)) { try ClipLoader(m, c) }
        }
        #expect(throws: ManifestError.self) { try ClipLoader(Manifest(entries: [], source: "empty.csv"), config()) }
    }

    @Test func theBuilderLoadsWhatADatasetMadeByHandLoads() throws {
        let m = manifest(["h264_bframes.mp4", "mpeg4.avi", "vp9.webm"])
        let c = config()
        let built = try collect(ClipLoader(m, c), epoch: 0)
        let byHand = try collect(
            ClipLoader(
                dataset: ClipDataset(manifest: m, spec: c.spec, mode: c.mode, seed: c.seed), options: c.options),
            epoch: 0)
        #expect(built.map(\.2) == byHand.map(\.2) && !built.isEmpty)
    }
}
