import Foundation

/// What happens to frame indices past the end of a video (mmaction2's `out_of_bound_opt`).
public enum OutOfBound: String, Sendable, Codable {
    /// `inds % N`.
    case loop
    /// Out-of-range indices become the clip's last in-range index.
    case repeatLast = "repeat_last"
}

/// mmaction2's `SampleFrames`: K clips of L frames at stride s (dense
/// sampling), or with L = 1 one frame per segment (TSN, uniform sampling).
public struct DenseSampling: Sendable, Equatable, Codable {
    public var clipLength: Int
    public var frameInterval: Int
    public var numClips: Int
    public var temporalJitter = false
    public var twiceSample = false
    public var outOfBound = OutOfBound.loop
    public var keepTailFrames = false

    public init(
        clipLength: Int, frameInterval: Int = 1, numClips: Int = 1, temporalJitter: Bool = false,
        twiceSample: Bool = false, outOfBound: OutOfBound = .loop, keepTailFrames: Bool = false
    ) {
        self.clipLength = clipLength
        self.frameInterval = frameInterval
        self.numClips = numClips
        self.temporalJitter = temporalJitter
        self.twiceSample = twiceSample
        self.outOfBound = outOfBound
        self.keepTailFrames = keepTailFrames
    }

    /// Frame indices, one array per clip. `rng` is used in training (and for jitter).
    public func clips(frameCount n: Int, test: Bool, rng: inout SampleRNG) throws -> [[Int]] {
        try checkSampling(frameCount: n, clipLength: clipLength, interval: frameInterval, clips: numClips)
        let span = test ? (clipLength - 1) * frameInterval + 1 : clipLength * frameInterval
        let offsets = test ? try testOffsets(n, span) : trainOffsets(n, span, &rng)
        var clips = offsets.map { offset in (0..<clipLength).map { offset + Double($0 * frameInterval) } }
        if temporalJitter {
            clips = clips.map { $0.map { $0 + Double(rng.int(below: frameInterval)) } }
        }
        // numpy: float indices, then `% N` or repeat-last, then astype(int32) truncates.
        return clips.map { bound($0, frameCount: n) }
    }

    private func trainOffsets(_ n: Int, _ span: Int, _ rng: inout SampleRNG) -> [Double] {
        let k = numClips
        if keepTailFrames {
            let average = Double(n - span + 1) / Double(k)
            guard n > span - 1 else { return Array(repeating: 0, count: k) }
            return (0..<k).map { (Double($0) * average + rng.uniform(0, average)).rounded(.towardZero) }
        }
        let average = floorDivide(n - span + 1, k)  // Python's //
        if average > 0 {
            return (0..<k).map { Double($0 * average + rng.int(below: average)) }
        } else if n > max(k, span) {
            return (0..<k).map { _ in Double(rng.int(below: n - span + 1)) }.sorted()
        } else if average == 0 {
            let ratio = (Double(n - span) + 1.0) / Double(k)
            return (0..<k).map { (Double($0) * ratio).rounded(.toNearestOrEven) }
        }
        return Array(repeating: 0, count: k)
    }

    private func testOffsets(_ n: Int, _ span: Int) throws -> [Double] {
        if clipLength == 1 {  // TSN: the middle frame of each segment
            let average = Double(n) / Double(numClips)
            let base = (0..<numClips).map { Double($0) * average }
            let middles = base.map { $0 + average / 2.0 }
            return twiceSample ? middles + base : middles
        }
        let maxOffset = max(n - span, 0)
        let count = twiceSample ? numClips * 2 : numClips
        guard count > 1 else { return [Double(maxOffset / 2)] }
        // mmaction2 divides by the original numClips - 1, also with twice_sample.
        guard numClips > 1 else {
            throw SamplingError.invalid(
                "twice_sample with one clip of length > 1 divides by zero in mmaction2; use num_clips ≥ 2")
        }
        let between = Double(maxOffset) / Double(numClips - 1)
        return (0..<count).map { (Double($0) * between).rounded(.toNearestOrEven) }
    }

    /// Indices past the end handled by `outOfBound`, then truncated to Int (numpy's astype).
    func bound(_ clip: [Double], frameCount n: Int) -> [Int] {
        switch outOfBound {
        case .loop:
            return clip.map { Int(pythonModulo($0, Double(n)).rounded(.towardZero)) }
        case .repeatLast:
            let last = clip.filter { $0 < Double(n) }.max() ?? 0
            return clip.map { Int(($0 < Double(n) ? $0 : last).rounded(.towardZero)) }
        }
    }
}

/// mmaction2's `DenseSampleFrames`: clips spread over a `sampleRange`-frame
/// window (train: one random window; test: `numSamplePositions` windows).
public struct RangeDenseSampling: Sendable, Equatable, Codable {
    public var clipLength: Int
    public var frameInterval: Int
    public var numClips: Int
    public var sampleRange = 64
    public var numSamplePositions = 10
    public var outOfBound = OutOfBound.loop

    public init(
        clipLength: Int, frameInterval: Int = 1, numClips: Int = 1, sampleRange: Int = 64,
        numSamplePositions: Int = 10, outOfBound: OutOfBound = .loop
    ) {
        self.clipLength = clipLength
        self.frameInterval = frameInterval
        self.numClips = numClips
        self.sampleRange = sampleRange
        self.numSamplePositions = numSamplePositions
        self.outOfBound = outOfBound
    }

    public func clips(frameCount n: Int, test: Bool, rng: inout SampleRNG) throws -> [[Int]] {
        try checkSampling(frameCount: n, clipLength: clipLength, interval: frameInterval, clips: numClips)
        let positions = max(1, 1 + n - sampleRange)
        let interval = sampleRange / numClips
        let base = (0..<numClips).map { $0 * interval }
        var offsets: [Int] = []
        if test {
            // np.linspace(0, positions - 1, num, dtype=int): float steps, truncated.
            let count = numSamplePositions
            for i in 0..<count {
                let start =
                    count == 1 ? 0 : Int((Double(positions - 1) * Double(i) / Double(count - 1)).rounded(.towardZero))
                offsets += base.map { ($0 + start) % n }
            }
        } else {
            let start = positions == 1 ? 0 : rng.int(below: positions - 1)
            offsets = base.map { ($0 + start) % n }
        }
        let dense = DenseSampling(
            clipLength: clipLength, frameInterval: frameInterval, numClips: offsets.count, outOfBound: outOfBound)
        return offsets.map { offset in
            dense.bound((0..<clipLength).map { Double(offset + $0 * frameInterval) }, frameCount: n)
        }
    }
}

/// PySlowFast's sampling: a clip covers `clipLength * frameInterval` frames;
/// train starts uniformly in [0, delta], test view i of K starts at delta·i/K;
/// indices are `torch.linspace(start, start + span - 1, L)` (float32), clamped and truncated.
public struct SlowFastSampling: Sendable, Equatable, Codable {
    public var clipLength: Int
    public var frameInterval: Int
    public var numClips: Int

    public init(clipLength: Int, frameInterval: Int = 1, numClips: Int = 1) {
        self.clipLength = clipLength
        self.frameInterval = frameInterval
        self.numClips = numClips
    }

    public func clips(frameCount n: Int, test: Bool, rng: inout SampleRNG) throws -> [[Int]] {
        try checkSampling(frameCount: n, clipLength: clipLength, interval: frameInterval, clips: numClips)
        let span = Double(clipLength * frameInterval)
        let delta = max(Double(n) - span, 0)
        let starts: [Double] =
            test
            ? (0..<numClips).map { delta * Double($0) / Double(numClips) }
            : (0..<numClips).map { _ in rng.uniform(0, delta) }
        return starts.map { start in
            torchLinspace(Float(start), Float(start + span - 1), clipLength).map { value in
                Int(min(max(value, 0), Float(n - 1)).rounded(.towardZero))
            }
        }
    }
}

/// `torch.linspace` on the CPU in float32: the first half counts up from
/// `start`, the second half down from `end` (ATen's RangeFactoriesKernel).
func torchLinspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
    if steps == 1 { return [start] }
    let step = (end - start) / Float(steps - 1)
    let halfway = steps / 2
    return (0..<steps).map { i in i < halfway ? start + step * Float(i) : end - step * Float(steps - i - 1) }
}

/// Uniform (TSN) sampling: L segments, train a random frame in each, test the
/// middle frame; `numClips` test clips shift every segment's frame by i with
/// −m/2 ≤ i < m/2 (Deep Analysis, supplement), clamped to the video.
public struct UniformSampling: Sendable, Equatable, Codable {
    public var segments: Int
    public var numClips: Int

    public init(segments: Int, numClips: Int = 1) {
        self.segments = segments
        self.numClips = numClips
    }

    public func clips(frameCount n: Int, test: Bool, rng: inout SampleRNG) throws -> [[Int]] {
        try checkSampling(frameCount: n, clipLength: segments, interval: 1, clips: numClips)
        let tsn = DenseSampling(clipLength: 1, numClips: segments)
        if !test {
            return try (0..<numClips).map { _ in try tsn.clips(frameCount: n, test: false, rng: &rng).map { $0[0] } }
        }
        let middles = try tsn.clips(frameCount: n, test: true, rng: &rng).map { $0[0] }
        let low = -(numClips / 2)
        return (0..<numClips).map { c in
            let shift = numClips == 1 ? 0 : low + c
            return middles.map { min(max($0 + shift, 0), n - 1) }
        }
    }
}

public enum SamplingError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        }
    }
}

func checkSampling(frameCount: Int, clipLength: Int, interval: Int, clips: Int) throws {
    guard frameCount > 0 else { throw SamplingError.invalid("the video has no frames") }
    guard clipLength > 0 else { throw SamplingError.invalid("clip length must be positive, got \(clipLength)") }
    guard interval > 0 else { throw SamplingError.invalid("frame interval must be positive, got \(interval)") }
    guard clips > 0 else { throw SamplingError.invalid("number of clips must be positive, got \(clips)") }
}

/// Python's `//` for integers: rounds toward negative infinity.
func floorDivide(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Python's `%` for floats: the result has the sign of the divisor.
func pythonModulo(_ a: Double, _ n: Double) -> Double {
    let r = a.truncatingRemainder(dividingBy: n)
    return r < 0 ? r + n : r
}
