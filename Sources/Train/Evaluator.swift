import Clips
import Distributed
import Foundation
import Loader
import NN
import Support
import Tensor

/// Multi-view evaluation results (`clipkit eval --json`).
public struct EvalResult: Codable, Sendable {
    public struct Failed: Codable, Sendable, Equatable {
        public var path: String
        public var reason: String
        /// A URL's user-info and query string never reach a results file.
        public init(path: String, reason: String) {
            self.path = redactedLocations(path)
            self.reason = redactedLocations(reason)
        }
    }
    /// Video accuracy from the mean of the per-view softmax (%).
    public var top1: Double
    public var top5: Double
    /// Accuracy of single views (%).
    public var clipTop1: Double
    /// Views per video, e.g. "10x3".
    public var views: String
    public var videos: Int
    public var failed: [Failed]
    /// Per-class video accuracy (%), by label (NaN-free: classes without videos are omitted from the mean).
    public var perClass: [Double?]
    /// confusion[true][predicted], video counts.
    public var confusion: [[Int]]
    public var classes: [String]
    public var dilation: [Int]
    public var tempo: Int
    public var seconds: Double
    /// Each video's top-1 class, in manifest order (-1: it failed). Nil in results older than it.
    public var predicted: [Int]?
}

/// What the views of one video scored (or why it failed).
struct VideoOutcome: Codable {
    var video: Int
    var label: Int
    /// Classes by mean view probability, best first (at most 5).
    var top: [Int]
    var clipCorrect: Int
    var failure: EvalResult.Failed?
}

/// Video predictions from per-view logits: the mean of the per-view softmax
/// probabilities (the 30-view protocol's score).
public func averageViewProbabilities(_ logits: [Float], views: Int, classes: Int) -> [Float] {
    precondition(logits.count == views * classes)
    var mean = [Float](repeating: 0, count: classes)
    for v in 0..<views {
        let row = logits[(v * classes)..<((v + 1) * classes)]
        let top = row.max()!
        let e = row.map { exp($0 - top) }
        let sum = e.reduce(0, +)
        for c in 0..<classes { mean[c] += e[c] / sum / Float(views) }
    }
    return mean
}

/// A batch's samples as one N×… tensor (a copy: the loader reuses its buffer).
func batchTensor(_ batch: Batch) -> Tensor {
    Tensor(
        shape: [batch.count] + batch.sampleShape,
        values: Array(batch.data.prefix(batch.count * batch.sampleShape.reduce(1, *))))
}

/// Indices of the k largest values, largest first (ties: lower index first).
func topK(_ values: [Float], _ k: Int) -> [Int] {
    Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(k))
}

/// Runs `model` over every video of `manifest` with `clips` temporal clips ×
/// `crops` (1: centre, 3: three crops) of `side` pixels from frames resized
/// to `shortSide`, with the given dilations; no gradients, BN in eval mode.
/// `progress` gets a line after every batch (complete at the end): videos
/// done, rate, running top-1 and the time left.
/// With a distributed `world` every rank scores its share of the videos
/// (the loader's shard) and the per-video outcomes are gathered, the
/// sampler's padding removed, so every rank returns the single-process result.
public func evaluate(
    model: Module, manifest: Manifest, classes: [String], spec: ClipSpec, sampling: SamplingKind,
    clips: Int, crops: Int, side: Int, shortSide: Int, dilation: (temporal: Int, spatial: Int),
    tempo: Int = 1, workers: Int = 2, seed: UInt64 = 0, batchVideos: Int = 1,
    world: Communicator = .single, progress: ((String, Bool) -> Void)? = nil
) throws -> EvalResult {
    try manifest.checkLabels(classes: classes.count)
    let start = Date()
    let testViews = TestViews(
        spec: spec, sampling: sampling, clips: clips, crops: crops, side: side, shortSide: shortSide,
        dilation: dilation, tempo: tempo)
    let loader = try ClipLoader(
        manifest, testViews.loaderConfig(seed: seed, batchVideos: batchVideos, workers: workers, world: world))
    loader.log = { _ in }
    let n = classes.count
    var outcomes: [VideoOutcome] = []
    var running = (correct: 0, scored: 0)  // for the progress line
    // This rank's share (all of it in one process).
    let share = world.isDistributed ? (manifest.count + world.size - 1) / world.size : manifest.count
    try scoreVideos(model, loader: loader, classes: n, dilation: dilation, source: manifest.source) { s in
        guard s.failure == nil else {
            outcomes.append(VideoOutcome(video: s.video, label: -1, top: [], clipCorrect: 0, failure: s.failure))
            return
        }
        let best = topK(s.probabilities, min(5, n))
        let clipCorrect = s.viewTop1.filter { $0 == s.label }.count
        outcomes.append(VideoOutcome(video: s.video, label: s.label, top: best, clipCorrect: clipCorrect, failure: nil))
        if best[0] == s.label { running.correct += 1 }
        running.scored += 1
    } afterBatch: { done in
        guard let progress else { return }
        let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
        progress(
            String(
                format: "eval | %d/%d videos%@ | %.2f videos/s | top-1 %.1f%% | ETA %@", done, share,
                world.isDistributed ? " (rank 0's share)" : "", rate,
                running.scored > 0 ? 100 * Double(running.correct) / Double(running.scored) : 0,
                duration(Double(share - done) / max(rate, 1e-9))), done >= share)
    }
    if world.isDistributed { outcomes = try merged(outcomes, over: world) }
    return EvalResult(
        outcomes, videoCount: manifest.count, classes: classes, views: (clips, crops, loader.dataset.sampleShape[0]),
        dilation: dilation, tempo: tempo,
        seconds: Date().timeIntervalSince(start))
}

/// Every rank's outcomes, one per video (a padded video appears twice, scored identically).
private func merged(_ outcomes: [VideoOutcome], over world: Communicator) throws -> [VideoOutcome] {
    let encoded = try JSONEncoder().encode(outcomes)
    var merged: [Int: VideoOutcome] = [:]
    for bytes in try world.allgather([UInt8](encoded)) {
        for o in try JSONDecoder().decode([VideoOutcome].self, from: Data(bytes)) where merged[o.video] == nil {
            merged[o.video] = o
        }
    }
    return merged.values.sorted { $0.video < $1.video }
}

extension EvalResult {
    /// The scores of every video's outcome: top-1 and top-5 of the averaged
    /// views, clip top-1, per-class accuracy and the confusion matrix.
    fileprivate init(
        _ outcomes: [VideoOutcome], videoCount: Int, classes: [String], views: (clips: Int, crops: Int, count: Int),
        dilation: (temporal: Int, spatial: Int), tempo: Int, seconds: Double
    ) {
        let n = classes.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        var correct1 = 0
        var correct5 = 0
        var clipCorrect = 0
        var scored = 0
        var failed: [EvalResult.Failed] = []
        for o in outcomes {
            if let f = o.failure {
                failed.append(f)
                continue
            }
            if o.top[0] == o.label { correct1 += 1 }
            if o.top.contains(o.label) { correct5 += 1 }
            if (0..<n).contains(o.label) { confusion[o.label][o.top[0]] += 1 }
            clipCorrect += o.clipCorrect
            scored += 1
        }
        let perClass: [Double?] = confusion.enumerated().map { c, row in
            let total = row.reduce(0, +)
            return total > 0 ? 100 * Double(row[c]) / Double(total) : nil
        }
        func percent(_ a: Int, _ b: Int) -> Double { b > 0 ? 100 * Double(a) / Double(b) : 0 }
        var predicted = [Int](repeating: -1, count: videoCount)
        for o in outcomes where o.failure == nil && predicted.indices.contains(o.video) {
            predicted[o.video] = o.top[0]
        }
        self.init(
            top1: percent(correct1, scored), top5: percent(correct5, scored),
            clipTop1: percent(clipCorrect, scored * views.count),
            views: "\(views.clips)x\(views.crops)", videos: scored, failed: failed, perClass: perClass,
            confusion: confusion, classes: classes, dilation: [dilation.temporal, dilation.spatial], tempo: tempo,
            seconds: seconds, predicted: predicted)
    }
}

/// Precise BN (PySlowFast's `BN.USE_PRECISE_STATS`): replaces every BN
/// layer's running statistics by their average over `batches` batches of
/// `loader` (epoch `epoch`), computed with the current weights and dilations.
/// The running averages kept during training lag the weights and mix
/// train-mode statistics of earlier layers; on short runs that can make the
/// eval-mode model far worse than the train-mode one.
public func recomputeBatchNormStatistics(_ model: Module, loader: ClipLoader, epoch: Int, batches: Int) throws {
    func norms(_ m: Module) -> [BatchNorm3d] { (m as? BatchNorm3d).map { [$0] } ?? m.children.flatMap { norms($0.1) } }
    let layers = norms(model)
    let momenta = layers.map(\.momentum)
    for bn in layers {
        bn.runningMean.assign([Float](repeating: 0, count: bn.runningMean.count))
        bn.runningVar.assign([Float](repeating: 1, count: bn.runningVar.count))
    }
    model.train()
    let iterator = loader.epoch(epoch)
    defer {
        iterator.stop()
        for (bn, m) in zip(layers, momenta) { bn.momentum = m }
    }
    var seen = 0
    while seen < batches, let batch = try iterator.next() {
        for bn in layers { bn.momentum = 1 / Float(seen + 1) }  // running = mean of the batch statistics so far
        _ = GradMode.withNoGrad { model(batchTensor(batch)) }
        seen += 1
    }
}
