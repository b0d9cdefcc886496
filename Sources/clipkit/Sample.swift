import ArgumentParser
import Clips

extension ClipKit {
    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the frame indices a sampler picks, as JSON: a list of clips, each a list of 0-based indices.",
            discussion: """
                Dense sampling follows mmaction2's SampleFrames (default) or PySlowFast (--convention slowfast); \
                --sample-range R switches to mmaction2's DenseSampleFrames. Uniform sampling takes one frame \
                per segment (TSN); with --test and --num-clips m, clip i shifts every segment's middle frame by i, \
                -m/2 <= i < m/2.
                Example: clipkit sample --num-frames 300 --mode dense --clip-len 8 --interval 8 --num-clips 10 --test
                """)

        enum Mode: String, ExpressibleByArgument { case dense, uniform }
        enum Convention: String, ExpressibleByArgument { case mmaction, slowfast }

        @Option(help: "Frames in the video (N).") var numFrames: Int
        @Option(help: "dense | uniform") var mode: Mode
        @Option(help: "Frames per clip (L); for uniform, the number of segments.") var clipLen: Int
        @Option(help: "Stride between a clip's frames (s).") var interval = 1
        @Option(help: "Clips (K).") var numClips = 1
        @Flag(help: "Test-mode sampling (deterministic).") var test = false
        @Option(help: "Seed for training draws.") var seed: UInt64 = 0
        @Option(help: "Epoch and sample index select the seeded stream (as the loader does).") var epoch = 0
        @Option(help: "Sample index within the epoch.") var sampleIndex = 0
        @Option(help: "mmaction | slowfast") var convention: Convention = .mmaction
        @Flag(help: "mmaction2 twice_sample.") var twiceSample = false
        @Option(help: "loop | repeat_last") var outOfBound: String = "loop"
        @Flag(help: "mmaction2 keep_tail_frames (training).") var keepTailFrames = false
        @Flag(help: "mmaction2 temporal_jitter.") var temporalJitter = false
        @Option(help: "DenseSampleFrames: spread clips over this many frames (64 in mmaction2).") var sampleRange: Int?
        @Option(help: "DenseSampleFrames: test windows.") var numSamplePositions = 10

        func validate() throws {
            guard OutOfBound(rawValue: outOfBound) != nil else {
                throw ValidationError("--out-of-bound must be loop or repeat_last")
            }
            guard numFrames > 0 else { throw ValidationError("--num-frames must be positive") }
            guard clipLen >= 1, interval >= 1, numClips >= 1 else {
                throw ValidationError("--clip-len, --interval and --num-clips must be ≥ 1")
            }
            // Every index is printed, and the formulas' products must not overflow.
            let indices = clipLen.multipliedReportingOverflow(by: numClips)
            guard numFrames <= 1 << 40, interval <= 1 << 20, !indices.overflow, indices.partialValue <= 1_000_000 else {
                throw ValidationError(
                    "--num-frames must be ≤ 2^40, --interval ≤ 2^20, and --clip-len × --num-clips ≤ 1,000,000 indices")
            }
        }

        func run() throws {
            var rng = SampleRNG(seed: seed, epoch: epoch, sample: sampleIndex)
            let clips: [[Int]]
            do {
                switch (mode, convention, sampleRange) {
                case (.uniform, _, _):
                    clips = try UniformSampling(segments: clipLen, numClips: numClips).clips(
                        frameCount: numFrames, test: test, rng: &rng)
                case (.dense, .slowfast, _):
                    clips = try SlowFastSampling(clipLength: clipLen, frameInterval: interval, numClips: numClips)
                        .clips(frameCount: numFrames, test: test, rng: &rng)
                case (.dense, .mmaction, let range?):
                    clips = try RangeDenseSampling(
                        clipLength: clipLen, frameInterval: interval, numClips: numClips, sampleRange: range,
                        numSamplePositions: numSamplePositions, outOfBound: OutOfBound(rawValue: outOfBound)!
                    )
                    .clips(frameCount: numFrames, test: test, rng: &rng)
                case (.dense, .mmaction, nil):
                    clips = try DenseSampling(
                        clipLength: clipLen, frameInterval: interval, numClips: numClips,
                        temporalJitter: temporalJitter, twiceSample: twiceSample,
                        outOfBound: OutOfBound(rawValue: outOfBound)!, keepTailFrames: keepTailFrames
                    )
                    .clips(frameCount: numFrames, test: test, rng: &rng)
                }
            } catch let error as SamplingError {
                throw ErrorInFile("sample", error)
            }
            print(try jsonString(clips))
        }
    }
}
