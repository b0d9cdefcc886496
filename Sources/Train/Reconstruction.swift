import Clips
import Foundation
import Loader
import NN
import Tensor

/// The reconstruction task (`task: reconstruction`), the STDCF paper's
/// TR-MNIST experiment (§2.1.1): a model that maps a clip to a clip of the
/// same shape (`recon3l-*`) learns to recover the clean clip from one with
/// Gaussian noise added to every pixel (σ = `noise` of the 0…255 range),
/// on the mean squared error of the normalised values. It is scored by the
/// peak signal-to-noise ratio in 0…1 pixel units, PSNR = 10·log10(1 / MSE),
/// per clip and averaged. The paper's Appendix B setting is not published
/// with it; denoising is the reconstruction chosen here because the clean
/// clip is not the identity of the input, so the filters must model how
/// the digit moves and turns.
///
/// Full-size training in one process, no ITSL; a checkpoint after every
/// epoch (not resumable), `metrics.jsonl` with each epoch's loss and PSNR,
/// and with `test` the test split's PSNR in `eval.json`.
public final class ReconstructionTrainer {
    public let config: TrainConfig
    public let model: Module
    let optimizer: Optimizer
    let train: Manifest
    let normalization = Normalization.imagenet

    public init(config: TrainConfig) throws {
        precondition(config.task == .reconstruction)
        self.config = config
        // Labels are not used; the manifest's class list (or none) only has to load.
        train = try Manifest.load(config.train, classes: try config.classes.map(loadClassNames))
        model = try ModelZoo.make(
            config.model, classes: 1, seed: config.seed,
            input: [3, config.clip.frames, config.clip.crop, config.clip.crop])
        optimizer = makeOptimizer(config.optimizer, model.parameters().map(\.1))
    }

    public var checkpointPath: String { (config.output as NSString).appendingPathComponent("checkpoint.safetensors") }

    /// Noise of σ = `noise`·255 pixel units in normalised units, per channel.
    var noiseScale: [Float] { normalization.std.map { config.noise * 255 / $0 } }

    /// Trains `config.epochs` epochs; returns the last epoch's mean PSNR of the training clips. An output
    /// folder that holds a checkpoint already is an error before anything is written, unless `overwrite`.
    public func run(overwrite: Bool = false, progress: (String, Bool) -> Void = ProgressLine().report) throws
        -> Double
    {
        if !overwrite && FileManager.default.fileExists(atPath: checkpointPath) {
            throw runFolderHeld(config.output, resumable: false)
        }
        return try Parallel.with(ParallelSettings(mode: .automatic, threads: config.threads, batch: config.batch)) {
            try runEpochs(progress: progress)
        }
    }

    private func runEpochs(progress: (String, Bool) -> Void) throws -> Double {
        try FileManager.default.createDirectory(atPath: config.output, withIntermediateDirectories: true)
        let log = RunLog(path: (config.output as NSString).appendingPathComponent("metrics.jsonl"))
        log.clear()
        let loader = try ClipLoader(
            train,
            LoaderConfig(
                spec: config.clip.spec, sampling: config.clip.sampling,
                mode: .train(config.clip.augment, variant: .full),
                normalization: normalization, seed: config.seed,
                options: LoaderOptions(
                    batchSize: config.batch, workers: config.workers, queueDepth: 3, shuffle: true, seed: config.seed)))
        let step = TrainingStep(model: model, optimizer: optimizer, gradients: LocalGradients())
        var lastPSNR = 0.0
        for e in 0..<config.epochs {
            optimizer.learningRate = scheduledLearningRate(config, totalEpochs: config.epochs, epoch: e)
            model.train()
            let iterator = loader.epoch(e)
            var (lossSum, psnrSum, seen, done) = (0.0, 0.0, 0, 0)
            let start = Date()
            while let batch = try iterator.next() {
                let clean = batchTensor(batch)
                let noisy = addNoise(clean, seed: config.seed, epoch: e, step: done)
                let (output, loss) = try step(noisy) {
                    meanSquaredError($0, clean)
                } check: {
                    try requireFinite($0, config: config.train, epoch: e, step: done)
                }
                lossSum += Double(loss) * Double(batch.count)
                psnrSum += psnr(output, clean).reduce(0, +)
                seen += batch.count
                done += 1
                progress(
                    String(
                        format: "reconstruction | epoch %d/%d | step %d/%d | loss %.4f | PSNR %.2f dB | %.1f clips/s",
                        e + 1, config.epochs, done, iterator.count, lossSum / Double(seen), psnrSum / Double(seen),
                        Double(seen) / max(Date().timeIntervalSince(start), 1e-9)), done == iterator.count)
            }
            lastPSNR = psnrSum / Double(max(seen, 1))
            try log.append([
                "event": "epoch", "epoch": e, "lr": Double(optimizer.learningRate),
                "loss": lossSum / Double(max(seen, 1)), "psnr": lastPSNR
            ])
            try Checkpoint.save(
                to: checkpointPath, model: model, optimizer: optimizer, epoch: e + 1,
                config: ["config": try config.jsonString(), "model": config.model, "task": config.task.rawValue])
        }
        return lastPSNR
    }

    /// x plus Gaussian noise (σ = `noise` of the pixel range), the same for
    /// the same (seed, epoch, step): runs and tests repeat exactly.
    func addNoise(_ x: Tensor, seed: UInt64, epoch: Int, step: Int) -> Tensor {
        var rng = SeededRNG(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch) &* 1_000_003 &+ UInt64(step))
        let scale = noiseScale
        let planes = x.shape[0] * x.shape[1]
        let plane = x.count / planes
        var values = x.scalars
        for p in 0..<planes {
            let s = scale[p % x.shape[1]]
            for i in (p * plane)..<((p + 1) * plane) { values[i] += s * gaussian(&rng) }
        }
        return Tensor(shape: x.shape, values: values)
    }

    /// Per clip of the batch: 10·log10(1 / MSE) with the error in 0…1 pixel units.
    func psnr(_ output: Tensor, _ clean: Tensor) -> [Double] {
        let (n, channels) = (output.shape[0], output.shape[1])
        let plane = output.count / (n * channels)
        let a = output.scalars
        let b = clean.scalars
        return (0..<n).map { i in
            var sum = 0.0
            for ch in 0..<channels {
                let unit = Double(normalization.std[ch]) / 255  // one normalised step in 0…1 pixels
                for k in ((i * channels + ch) * plane)..<((i * channels + ch + 1) * plane) {
                    let d = Double(a[k] - b[k]) * unit
                    sum += d * d
                }
            }
            return 10 * log10(1 / max(sum / Double(channels * plane), 1e-12))
        }
    }

    /// Mean PSNR over `manifest`'s videos (the centre clip, centre crop, with
    /// the noise of its index), and the noisy input's own PSNR for reference.
    /// With `strip`, the first video's frames as a PNG: clean, noisy, output rows.
    public func evaluate(_ manifest: Manifest, strip: String? = nil) throws -> ReconstructionResult {
        let start = Date()
        let c = config.clip
        let loader = try ClipLoader(
            manifest,
            LoaderConfig(
                spec: c.spec, sampling: c.sampling, mode: .test(numClips: 1, crops: .center(c.crop), shortSide: c.crop),
                normalization: normalization, seed: config.seed,
                options: LoaderOptions(batchSize: 1, workers: config.workers, queueDepth: 2, shuffle: false)))
        loader.log = { _ in }
        model.eval()
        defer { model.train() }
        var outputs: [Double] = []
        var inputs: [Double] = []
        var failed: [String] = []
        let iterator = loader.epoch(0)
        while let batch = try iterator.next() {
            failed += batch.failed.map { "\($0.path): \($0.reason)" }
            guard batch.count > 0, batch.failed.isEmpty else { continue }
            // One view.
            let clean = reshape(
                batchTensor(batch), Array(batch.sampleShape.dropFirst()).reduce(into: [1]) { $0.append($1) })
            let noisy = addNoise(clean, seed: config.seed, epoch: 1_000_000, step: batch.videos[0])
            let output = GradMode.withNoGrad { model(noisy) }
            outputs += psnr(output, clean)
            inputs += psnr(noisy, clean)
            if let strip, outputs.count == 1 { try writeStrip([clean, noisy, output], to: strip) }
        }
        func mean(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
        return ReconstructionResult(
            videos: outputs.count, psnr: mean(outputs), noisyPSNR: mean(inputs), failed: failed,
            seconds: Date().timeIntervalSince(start))
    }

    /// Rows of clips (1×C×T×H×W each) as one RGB image: every frame side by side.
    func writeStrip(_ rows: [Tensor], to path: String) throws {
        let (t, h, w) = (rows[0].shape[2], rows[0].shape[3], rows[0].shape[4])
        var rgb = [UInt8](repeating: 0, count: rows.count * h * t * w * 3)
        for (r, clip) in rows.enumerated() {
            let v = clip.scalars
            for f in 0..<t {
                for y in 0..<h {
                    for x in 0..<w {
                        for ch in 0..<3 {
                            let value =
                                v[((ch * t + f) * h + y) * w + x] * normalization.std[ch] + normalization.mean[ch]
                            rgb[(((r * h + y) * t + f) * w + x) * 3 + ch] = UInt8(max(0, min(255, value.rounded())))
                        }
                    }
                }
            }
        }
        try writeImage(rgb, t * w, rows.count * h, path)
    }

    /// Set by the command line (Prep's PNG writer; Train does not depend on Prep).
    public var writeImage: ([UInt8], Int, Int, String) throws -> Void = { _, _, _, path in
        throw ConfigError(file: path, reason: "no image writer")
    }
}

/// What `ReconstructionTrainer.evaluate` measured.
public struct ReconstructionResult: Codable, Sendable {
    public var videos: Int
    /// Mean PSNR (dB) of the model's output against the clean clip (nil: no video decoded).
    public var psnr: Double?
    /// Mean PSNR (dB) of the noisy input: what the model improves on.
    public var noisyPSNR: Double?
    public var failed: [String]
    public var seconds: Double
}

/// A standard normal value (Box–Muller).
func gaussian(_ rng: inout SeededRNG) -> Float {
    let u = max(Double.random(in: 0..<1, using: &rng), 1e-300)
    let v = Double.random(in: 0..<1, using: &rng)
    return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
}
