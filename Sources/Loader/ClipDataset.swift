import Clips
import Foundation
import Support
import VideoIO

/// How clip frames are picked.
public enum SamplingKind: String, ConfigChoice {
    /// mmaction2 SampleFrames (dense).
    case dense
    /// PySlowFast (dense).
    case slowfast
    /// TSN segments (uniform); the clip length is the number of segments.
    case uniform
}

/// Training samples or test views.
public enum LoadMode: Sendable, Equatable {
    case train(TrainAugment, variant: StreamVariant)
    /// `numClips` temporal clips × `crops`, frames resized to `shortSide` first.
    case test(numClips: Int, crops: TestCrops, shortSide: Int)
}

/// A manifest's videos as Float32 samples: train C×T×S×S (one clip), test
/// V×C×T×S×S (every view of a video).
public struct ClipDataset: Sendable {
    public let manifest: Manifest
    public let spec: ClipSpec
    public let sampling: SamplingKind
    public let mode: LoadMode
    public let normalization: Normalization
    public let seed: UInt64

    public init(
        manifest: Manifest, spec: ClipSpec, sampling: SamplingKind = .dense, mode: LoadMode,
        normalization: Normalization = .imagenet, seed: UInt64 = 0
    ) {
        self.manifest = manifest
        self.spec = spec
        self.sampling = sampling
        self.mode = mode
        self.normalization = normalization
        self.seed = seed
    }

    public var count: Int { manifest.count }

    /// Shape of one sample: [C, T, S, S] in training, [V, C, T, S, S] in testing.
    public var sampleShape: [Int] {
        switch mode {
        case .train(let augment, let variant):
            let t = variant.frames(of: Array(0..<spec.frames)).count
            let s = variant.side(of: augment.cropSize)
            return [3, t, s, s]
        case .test(let k, let crops, _):
            let (views, side): (Int, Int)
            switch crops {
            case .three(let s): (views, side) = (3, s)
            case .center(let s): (views, side) = (1, s)
            case .ten(let s): (views, side) = (10, s)
            }
            return [k * views, 3, spec.frames, side, side]
        }
    }

    public var sampleFloats: Int { sampleShape.reduce(1, *) }

    /// Loads video `video` for `epoch` into `destination` (`sampleFloats` floats).
    /// `scratch` is the worker's reusable decode buffer. Returns what a
    /// remote video's requests cost (nil for a local one).
    @discardableResult
    public func load(video: Int, epoch: Int, into destination: UnsafeMutablePointer<Float>, scratch: inout [UInt8])
        throws -> NetworkCounters?
    {
        let entry = manifest.entries[video]
        let decoder = try VideoDecoder(path: entry.path, options: entry.decoderOptions, index: entry.storedIndex)
        try decode(decoder, video: video, epoch: epoch, into: destination, scratch: &scratch)
        return decoder.network
    }

    private func decode(
        _ decoder: VideoDecoder, video: Int, epoch: Int, into destination: UnsafeMutablePointer<Float>,
        scratch: inout [UInt8]
    ) throws {
        let (width, height) = decoder.displaySize
        var rng = SampleRNG(seed: seed, epoch: epoch, sample: video)
        switch mode {
        case .train(let augment, let variant):
            let clip = try clips(frameCount: decoder.frameCount, count: 1, test: false, rng: &rng)[0]
            let frames = variant.frames(of: clip)
            let sample = trainSpatialSample(width: width, height: height, augment: augment, variant: variant, rng: &rng)
            let frameBytes = try decoder.frameBytes(sample.decodeFormat)
            let decodedWidth = try decoder.outputSize(sample.decodeFormat).width
            if scratch.count < frames.count * frameBytes {
                scratch = [UInt8](repeating: 0, count: frames.count * frameBytes)
            }
            try scratch.withUnsafeMutableBytes { try decoder.frames(at: frames, format: sample.decodeFormat, into: $0) }
            scratch.withUnsafeBufferPointer { buffer in
                let pointers = (0..<frames.count).map { buffer.baseAddress! + $0 * frameBytes }
                normalizeClip(
                    frames: pointers, width: decodedWidth, box: sample.outputBox, flip: sample.flip,
                    normalization: normalization, into: destination)
            }
        case .test(let k, let crops, let shortSide):
            let clips = try clips(frameCount: decoder.frameCount, count: k, test: true, rng: &rng)
            let plan = ViewPlan(clips: clips, width: width, height: height, shortSide: shortSide, crops: crops)
            let frameBytes = try decoder.frameBytes(plan.decodeFormat)
            if scratch.count < plan.frames.count * frameBytes {
                scratch = [UInt8](repeating: 0, count: plan.frames.count * frameBytes)
            }
            try scratch.withUnsafeMutableBytes {
                try decoder.frames(at: plan.frames, format: plan.decodeFormat, into: $0)
            }
            scratch.withUnsafeBufferPointer {
                plan.writeViews(decoded: $0.baseAddress!, normalization: normalization, into: destination)
            }
        }
    }

    private func clips(frameCount: Int, count: Int, test: Bool, rng: inout SampleRNG) throws -> [[Int]] {
        switch sampling {
        case .dense:
            return try DenseSampling(clipLength: spec.frames, frameInterval: spec.interval, numClips: count)
                .clips(frameCount: frameCount, test: test, rng: &rng)
        case .slowfast:
            return try SlowFastSampling(clipLength: spec.frames, frameInterval: spec.interval, numClips: count)
                .clips(frameCount: frameCount, test: test, rng: &rng)
        case .uniform:
            return try UniformSampling(segments: spec.frames, numClips: count).clips(
                frameCount: frameCount, test: test, rng: &rng)
        }
    }
}
