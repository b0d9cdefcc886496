import Clips
import Distributed
import Foundation
import Loader
import NN
import Tensor

/// How a video is shown to a model at test time: `clips` temporal clips ×
/// `crops` (1: the centre, 3: three crops) of `side` pixels, from frames
/// resized to `shortSide`, sampled at `tempo` × the clip's interval, with the
/// decomposed layers' `dilation`. `eval` and `predict` share it.
public struct TestViews: Sendable {
    public var spec: ClipSpec
    public var sampling: SamplingKind
    public var clips: Int
    public var crops: Int
    public var side: Int
    public var shortSide: Int
    public var dilation: (temporal: Int, spatial: Int)
    public var tempo: Int

    public init(
        spec: ClipSpec, sampling: SamplingKind, clips: Int, crops: Int, side: Int, shortSide: Int,
        dilation: (temporal: Int, spatial: Int), tempo: Int = 1
    ) {
        (self.spec, self.sampling, self.clips, self.crops) = (spec, sampling, clips, crops)
        (self.side, self.shortSide, self.dilation, self.tempo) = (side, shortSide, dilation, tempo)
    }

    /// A run's views: its clip and test dilations, its evaluation short side.
    public init(config: TrainConfig, clips: Int, crops: Int, dilation: (temporal: Int, spatial: Int), tempo: Int = 1) {
        let c = config.clip
        self.init(
            spec: c.spec, sampling: c.sampling, clips: clips, crops: crops, side: c.crop,
            shortSide: config.eval.shortSide ?? c.crop, dilation: dilation, tempo: tempo)
    }

    /// The test loader of these views: `batchVideos` videos a batch, in manifest order, this rank's shard.
    func loaderConfig(seed: UInt64, batchVideos: Int, workers: Int, world: Communicator) -> LoaderConfig {
        var spec = self.spec
        spec.interval *= max(1, tempo)
        return LoaderConfig(
            spec: spec, sampling: sampling,
            mode: .test(numClips: clips, crops: crops == 3 ? .three(side) : .center(side), shortSide: shortSide),
            seed: seed,
            options: LoaderOptions(
                batchSize: batchVideos, workers: workers, queueDepth: 2, shuffle: false, rank: world.rank,
                worldSize: world.size))
    }
}

/// What the views of one video gave: the mean of their softmax and each
/// view's top-1 class; or why the video failed.
struct VideoScores {
    var video: Int
    var label: Int
    var probabilities: [Float]
    var viewTop1: [Int]
    var failure: EvalResult.Failed?
}

/// Runs `model` (BN on running statistics, no gradients, with `dilation`)
/// over every video of `loader`, a test loader, in its order: `each` gets
/// every video's scores, `afterBatch` the videos done so far.
func scoreVideos(
    _ model: Module, loader: ClipLoader, classes n: Int, dilation: (temporal: Int, spatial: Int), source: String,
    each: (VideoScores) throws -> Void, afterBatch: (Int) -> Void
) throws {
    model.eval()
    defer { model.train() }
    applyDilation(model, temporal: dilation.temporal, spatial: dilation.spatial)
    let views = loader.dataset.sampleShape[0]
    let viewShape = Array(loader.dataset.sampleShape.dropFirst())
    let iterator = loader.epoch(0)
    var done = 0
    while let batch = try iterator.next() {
        for f in batch.failed {
            try each(
                VideoScores(
                    video: f.video, label: -1, probabilities: [], viewTop1: [],
                    failure: .init(path: f.path, reason: f.reason)))
        }
        let failedVideos = Set(batch.failed.map(\.video))
        let x = reshape(batchTensor(batch), [batch.count * views] + viewShape)
        let logits = inferenceLogits(model, x)
        guard logits.count == batch.count * views * n else {
            throw ConfigError(
                file: source,
                reason: "the model has \(logits.count / (batch.count * views)) outputs, the class list \(n)")
        }
        for (i, video) in batch.videos.enumerated() where !failedVideos.contains(video) {
            let part = Array(logits[(i * views * n)..<((i + 1) * views * n)])
            try each(
                VideoScores(
                    video: video, label: batch.labels[i],
                    probabilities: averageViewProbabilities(part, views: views, classes: n),
                    viewTop1: (0..<views).map { v in topK(Array(part[(v * n)..<((v + 1) * n)]), 1)[0] }, failure: nil))
        }
        done += batch.count
        afterBatch(done)
    }
}

/// The logits of `model` (in eval mode) for the views `x`, without gradients:
/// the one forward pass `eval`, `predict` and `bench eval` run.
public func inferenceLogits(_ model: Module, _ x: Tensor) -> [Float] {
    GradMode.withNoGrad { model(x) }.scalars
}

/// What a model says about one video: its classes by the mean probability
/// of its views, best first; or why the video could not be read.
public struct Prediction: Codable, Sendable, Equatable {
    public struct Score: Codable, Sendable, Equatable {
        public var index: Int
        public var label: String
        public var probability: Double
    }
    public var path: String
    public var top: [Score]
    public var failure: String?

    public init(path: String, top: [Score], failure: String?) {
        (self.path, self.top, self.failure) = (path, top, failure)
    }
}

/// The `top` classes of every video of `videos` (labels are not used), with
/// the same views and scores as `evaluate`. A video that fails is returned
/// with its reason; the others are still scored. `progress` gets a line
/// after every batch.
public func predict(
    model: Module, videos: Manifest, classes: [String], views: TestViews, top: Int = 5, workers: Int = 2,
    seed: UInt64 = 0, progress: ((String, Bool) -> Void)? = nil
) throws -> [Prediction] {
    let start = Date()
    let loader = try ClipLoader(
        videos, views.loaderConfig(seed: seed, batchVideos: 1, workers: workers, world: .single))
    loader.log = { _ in }
    var predictions = videos.entries.map { Prediction(path: $0.path, top: [], failure: nil) }
    try scoreVideos(model, loader: loader, classes: classes.count, dilation: views.dilation, source: videos.source) {
        s in
        if let failure = s.failure {
            predictions[s.video].failure = failure.reason
            return
        }
        predictions[s.video].top = topK(s.probabilities, min(top, classes.count)).map {
            Prediction.Score(index: $0, label: classes[$0], probability: Double(s.probabilities[$0]))
        }
    } afterBatch: { done in
        let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
        progress?(
            String(
                format: "predict | %d/%d videos | %.2f videos/s | ETA %@", done, videos.count, rate,
                duration(Double(videos.count - done) / max(rate, 1e-9))), done >= videos.count)
    }
    return predictions
}
