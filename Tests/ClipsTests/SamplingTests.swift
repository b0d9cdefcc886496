import Foundation
import TestSupport
import Testing

@testable import Clips

/// `Fixtures/golden/sampling.json`, written by tools/golden/make_sampling_golden.py
/// from a literal numpy/torch re-implementation of mmaction2 and PySlowFast.
private struct Golden: Decodable {
    struct Case: Decodable {
        let n: Int, clip_len: Int, interval: Int, num_clips: Int
        let twice: Bool?
        let oob: String?
        let clips: [[Int]]?
        let error: Bool?
    }
    struct Crops: Decodable {
        let width: Int, height: Int
        let three256: [[Int]]
        let center224: [Int]
    }
    let sample_frames_test: [Case]
    let sample_frames_train_deterministic: [Case]
    let dense_sample_frames_test: [Case]
    let slowfast_test: [Case]
    let crops: [Crops]
}

private let golden: Golden = {
    let url = URL(fileURLWithPath: fixture("golden/sampling.json"))
    return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
}()

private func dense(_ c: Golden.Case) -> DenseSampling {
    DenseSampling(
        clipLength: c.clip_len, frameInterval: c.interval, numClips: c.num_clips,
        twiceSample: c.twice ?? false, outOfBound: OutOfBound(rawValue: c.oob ?? "loop")!)
}

@Suite struct GoldenSamplingTests {
    @Test func sampleFramesTestModeMatchesMMAction2() throws {
        var rng = SampleRNG(seed: 0)
        var checked = 0
        for c in golden.sample_frames_test {
            let label = "N=\(c.n) L=\(c.clip_len) s=\(c.interval) K=\(c.num_clips) twice=\(c.twice!) \(c.oob!)"
            if c.error == true {
                #expect(throws: SamplingError.self, "\(label)") {
                    try dense(c).clips(frameCount: c.n, test: true, rng: &rng)
                }
            } else {
                let got = try dense(c).clips(frameCount: c.n, test: true, rng: &rng)
                #expect(got == c.clips!, "\(label)")
            }
            checked += 1
        }
        #expect(checked == 960)
    }

    @Test func sampleFramesDeterministicTrainBranchesMatchMMAction2() throws {
        var rng = SampleRNG(seed: 1)
        for c in golden.sample_frames_train_deterministic {
            let got = try dense(c).clips(frameCount: c.n, test: false, rng: &rng)
            #expect(got == c.clips!, "N=\(c.n) L=\(c.clip_len) s=\(c.interval) K=\(c.num_clips) \(c.oob!)")
        }
        #expect(golden.sample_frames_train_deterministic.count > 100)
    }

    @Test func denseSampleFramesTestModeMatchesMMAction2() throws {
        var rng = SampleRNG(seed: 0)
        for c in golden.dense_sample_frames_test {
            let sampler = RangeDenseSampling(clipLength: c.clip_len, frameInterval: c.interval, numClips: c.num_clips)
            #expect(
                try sampler.clips(frameCount: c.n, test: true, rng: &rng) == c.clips!,
                "N=\(c.n) L=\(c.clip_len) s=\(c.interval) K=\(c.num_clips)")
        }
    }

    @Test func slowFastTestModeMatchesPySlowFast() throws {
        var rng = SampleRNG(seed: 0)
        for c in golden.slowfast_test {
            let sampler = SlowFastSampling(clipLength: c.clip_len, frameInterval: c.interval, numClips: c.num_clips)
            #expect(
                try sampler.clips(frameCount: c.n, test: true, rng: &rng) == c.clips!,
                "N=\(c.n) L=\(c.clip_len) s=\(c.interval) K=\(c.num_clips)")
        }
    }
}

@Suite struct TrainSamplingPropertyTests {
    /// Random train branches: every index in range, stride s within a clip,
    /// clips in their own segment when the video is long enough.
    @Test(arguments: [(300, 8, 8, 1), (300, 32, 2, 1), (100, 8, 8, 3), (64, 8, 8, 1), (40, 16, 2, 2), (1000, 4, 4, 10)])
    func denseTrainClipsStayInRangeWithTheirStride(_ n: Int, _ l: Int, _ s: Int, _ k: Int) throws {
        let sampler = DenseSampling(clipLength: l, frameInterval: s, numClips: k)
        var starts = Set<Int>()
        for seed in 0..<300 {
            var rng = SampleRNG(seed: UInt64(seed))
            let clips = try sampler.clips(frameCount: n, test: false, rng: &rng)
            #expect(clips.count == k)
            let span = l * s
            let average = (n - span + 1) / k
            for (i, clip) in clips.enumerated() {
                #expect(clip.allSatisfy { (0..<n).contains($0) })
                if n >= span {
                    #expect(zip(clip, clip.dropFirst()).allSatisfy { $1 - $0 == s })
                }
                if average > 0 {
                    #expect((i * average)..<((i + 1) * average) ~= clip[0], "clip \(i) starts in its segment")
                }
                if i == 0 { starts.insert(clip[0]) }
            }
        }
        // Spread: starts cover a good part of the possible range.
        let possible = max(1, (n - l * s + 1) / k)
        #expect(starts.count >= min(possible, 20) / 2, "only \(starts.count) distinct starts")
    }

    /// keep_tail_frames: float segments (N - span + 1) / K, an offset drawn in
    /// each, so the last clip can reach the video's tail.
    @Test func keepTailFramesDrawsInFloatSegments() throws {
        let sampler = DenseSampling(clipLength: 4, frameInterval: 2, numClips: 3, keepTailFrames: true)
        var lastStarts = Set<Int>()
        for seed in 0..<400 {
            var rng = SampleRNG(seed: UInt64(seed))
            let clips = try sampler.clips(frameCount: 50, test: false, rng: &rng)
            let average = Double(50 - 8 + 1) / 3  // 14.33
            for (i, clip) in clips.enumerated() {
                #expect(
                    Double(clip[0]) >= (Double(i) * average).rounded(.down) && Double(clip[0]) < Double(i + 1) * average
                )
            }
            lastStarts.insert(clips[2][0])
        }
        #expect(lastStarts.contains(42), "the tail start 42 = 50 - 8 is reachable")
    }

    /// temporal_jitter adds randint(s) to every frame, independently.
    @Test func temporalJitterMovesFramesWithinTheStride() throws {
        let plain = DenseSampling(clipLength: 8, frameInterval: 4, numClips: 1)
        let jittered = DenseSampling(clipLength: 8, frameInterval: 4, numClips: 1, temporalJitter: true)
        var moved = 0
        for seed in 0..<200 {
            var a = SampleRNG(seed: UInt64(seed))
            var b = SampleRNG(seed: UInt64(seed))
            let base = try plain.clips(frameCount: 200, test: false, rng: &a)[0]
            let jit = try jittered.clips(frameCount: 200, test: false, rng: &b)[0]
            #expect(zip(base, jit).allSatisfy { (0..<4).contains($1 - $0) })
            moved += zip(base, jit).filter { $0 != $1 }.count
        }
        #expect(moved > 800, "jitter moved \(moved) of 1600 frames")
    }

    @Test func uniformTrainTakesOneFramePerSegment() throws {
        let sampler = UniformSampling(segments: 8)
        for seed in 0..<200 {
            var rng = SampleRNG(seed: UInt64(seed))
            let clip = try sampler.clips(frameCount: 100, test: false, rng: &rng)[0]
            #expect(clip.count == 8)
            for (j, f) in clip.enumerated() { #expect((j * 12)..<((j + 1) * 12) ~= f) }
        }
    }

    @Test func uniformTestShiftsTheMiddleFrames() throws {
        var rng = SampleRNG(seed: 0)
        let one = try UniformSampling(segments: 4, numClips: 1).clips(frameCount: 40, test: true, rng: &rng)
        #expect(one == [[5, 15, 25, 35]])  // middles of 10-frame segments
        let ten = try UniformSampling(segments: 4, numClips: 10).clips(frameCount: 40, test: true, rng: &rng)
        #expect(ten.count == 10)
        #expect(ten[0] == [0, 10, 20, 30])  // shift -5
        #expect(ten[9] == [9, 19, 29, 39])  // shift +4
        let short = try UniformSampling(segments: 4, numClips: 10).clips(frameCount: 4, test: true, rng: &rng)
        #expect(short.allSatisfy { $0.allSatisfy { (0..<4).contains($0) } })
    }

    @Test func slowFastTrainStartsWithinDelta() throws {
        let sampler = SlowFastSampling(clipLength: 8, frameInterval: 8)
        for seed in 0..<200 {
            var rng = SampleRNG(seed: UInt64(seed))
            let clip = try sampler.clips(frameCount: 300, test: false, rng: &rng)[0]
            #expect(clip[0] >= 0 && clip[0] <= 300 - 64)
            let extent = clip.last! - clip[0]
            #expect(clip.last! <= 299 && (62...63).contains(extent), "linspace over 64 frames, truncated")
        }
    }

    @Test func badSpecsAreErrors() {
        var rng = SampleRNG(seed: 0)
        #expect(throws: SamplingError.self) {
            try DenseSampling(clipLength: 0).clips(frameCount: 10, test: true, rng: &rng)
        }
        #expect(throws: SamplingError.self) {
            try DenseSampling(clipLength: 4).clips(frameCount: 0, test: true, rng: &rng)
        }
        #expect(throws: SamplingError.self) {
            try DenseSampling(clipLength: 4, frameInterval: 0).clips(frameCount: 9, test: false, rng: &rng)
        }
    }
}

@Suite struct SampleRNGTests {
    /// Sample i of epoch e is the same clip whatever order workers draw in.
    @Test func streamsDependOnlyOnSeedEpochAndSample() throws {
        let sampler = DenseSampling(clipLength: 8, frameInterval: 8)
        func clip(_ epoch: Int, _ sample: Int) throws -> [Int] {
            var rng = SampleRNG(seed: 42, epoch: epoch, sample: sample)
            return try sampler.clips(frameCount: 300, test: false, rng: &rng)[0]
        }
        let forward = try (0..<50).map { try clip(3, $0) }
        let backward = try (0..<50).reversed().map { try clip(3, $0) }.reversed()
        #expect(forward == Array(backward))
        #expect(try clip(3, 7) != (try clip(4, 7)), "epochs differ")
        #expect(Set(forward.map { $0[0] }).count > 20, "samples differ")
    }
}
