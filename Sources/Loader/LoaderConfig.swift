import Clips
import Foundation

/// A loader option out of range. The message names the option as the Python
/// package and `clipkit bench loader` spell it (`short_side`, `queue_depth`).
public struct LoaderConfigError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// Everything a `ClipLoader` is built from, typed. `ClipLoader(_:_:)` checks
/// it and builds the loader: the training and evaluation loops, the
/// reconstruction task, `clipkit bench loader` and the C ABI all go through it.
public struct LoaderConfig: Sendable, Equatable {
    public var spec: ClipSpec
    public var sampling: SamplingKind
    public var mode: LoadMode
    public var normalization: Normalization
    /// The seed of the clips' sampling and augmentation (the order's is `options.seed`).
    public var seed: UInt64
    public var options: LoaderOptions

    public init(
        spec: ClipSpec, sampling: SamplingKind = .dense, mode: LoadMode, normalization: Normalization = .imagenet,
        seed: UInt64 = 0, options: LoaderOptions
    ) {
        self.spec = spec
        self.sampling = sampling
        self.mode = mode
        self.normalization = normalization
        self.seed = seed
        self.options = options
    }

    /// Every value a precondition further in would otherwise stop on.
    public func validate() throws {
        func check(_ ok: Bool, _ reason: String) throws { if !ok { throw LoaderConfigError(description: reason) } }
        let o = options
        let counts = [
            ("frames", spec.frames), ("interval", spec.interval), ("crop", spec.cropSize), ("batch", o.batchSize),
            ("workers", o.workers), ("queue_depth", o.queueDepth), ("world_size", o.worldSize)
        ]
        for (name, value) in counts { try check(value >= 1, "\(name) must be ≥ 1, not \(value)") }
        try check((0..<o.worldSize).contains(o.rank), "rank must be in 0..<world_size (\(o.worldSize)), not \(o.rank)")
        switch mode {
        case .train(let augment, let variant):
            try check(
                (0...1).contains(augment.flipProbability),
                "flip must be a probability (0…1), not \(augment.flipProbability)")
            let range = augment.shortSideRange
            try check(
                range.lowerBound >= spec.cropSize && augment.cropSize == spec.cropSize,
                "short_side must be [a, b] with crop ≤ a ≤ b, not [\(range.lowerBound), \(range.upperBound)] "
                    + "with crop \(spec.cropSize)")
            if case .spatial(let beta) = variant {
                try check(
                    beta >= 1 && spec.cropSize % beta == 0, "crop \(spec.cropSize) is not divisible by β = \(beta)")
            }
            if case .temporal(let gamma) = variant {
                try check(
                    gamma >= 1 && spec.frames % gamma == 0, "frames \(spec.frames) is not divisible by γ = \(gamma)")
            }
        case .test(let numClips, let crops, let shortSide):
            try check(numClips >= 1, "num_clips must be ≥ 1, not \(numClips)")
            let side: Int
            switch crops {
            case .three(let s), .center(let s), .ten(let s): side = s
            }
            try check(shortSide >= side, "test_short_side must be ≥ crop")
        }
    }
}

extension ClipLoader {
    /// The loader of `config` over `manifest`, after `config.validate()`.
    public convenience init(_ manifest: Manifest, _ config: LoaderConfig) throws {
        try config.validate()
        guard manifest.count > 0 else {
            throw ManifestError(file: manifest.source, line: nil, reason: "lists no videos")
        }
        self.init(
            dataset: ClipDataset(
                manifest: manifest, spec: config.spec, sampling: config.sampling, mode: config.mode,
                normalization: config.normalization, seed: config.seed),
            options: config.options)
    }
}
