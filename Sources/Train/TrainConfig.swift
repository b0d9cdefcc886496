import Clips
import Foundation
import Loader
import Support

/// A training run, as `clipkit train CONFIG` reads it (JSON, or the YAML
/// subset `parseYAML` reads). Paths are relative to the config file.
///
///     {"model": "kth3l-stdcf", "train": "train.csv", "val": "val.csv", "classes": "classes.txt",
///      "clip": {"frames": 16, "interval": 1, "crop": 60, "short_side": [60, 60], "flip": 0},
///      "eval": {"clips": 2, "crops": 3},
///      "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
///      "schedule": {"name": "cosine", "warmup_epochs": 1},
///      "epochs": 6, "batch": 16, "workers": 2, "seed": 0, "output": "runs/demo",
///      "itsl": {"iterations": 3, "beta": 2, "gamma": 2, "stage_t": {"epochs": 1}, "stage_s": {"epochs": 1}}}
public struct TrainConfig: Codable, Sendable, Equatable {
    public struct Clip: Codable, Sendable, Equatable {
        public var frames = 16
        public var interval = 1
        /// Training crop side (square); evaluation uses three crops of this side.
        public var crop = 112
        /// Training short side range [a, b] (resized to U[a, b] before the crop).
        public var shortSide = [128, 160]
        /// Horizontal flip probability (0 for data whose classes depend on direction, like Video-MNIST).
        public var flip = 0.5
        /// dense (mmaction2), slowfast or uniform.
        public var sampling = SamplingKind.dense
        public init() {}

        /// Frames, interval and crop as the loader takes them.
        public var spec: ClipSpec { ClipSpec(frames: frames, interval: interval, cropSize: crop) }
        /// Training augmentation: short side in the range, random crop, flip.
        public var augment: TrainAugment {
            TrainAugment(shortSideRange: shortSide[0]...shortSide[1], cropSize: crop, flipProbability: flip)
        }
    }
    public struct Eval: Codable, Sendable, Equatable {
        /// Views used for the validation pass after every stage (the final
        /// test is `clipkit eval`, 10×3 by default).
        public var clips = 2
        public var crops = 3
        /// Short side frames are resized to before the crops (default: the crop side).
        public var shortSide: Int?
        public init() {}
    }
    public enum OptimizerKind: String, ConfigChoice {
        case sgd, adam, adamw
    }
    public enum ScheduleKind: String, ConfigChoice {
        case constant, cosine, step
    }
    public enum Task: String, ConfigChoice {
        case classification, reconstruction
    }
    public struct OptimizerConfig: Codable, Sendable, Equatable {
        public var name = OptimizerKind.sgd
        public var lr: Float = 0.01
        public var momentum: Float = 0.9
        public var weightDecay: Float = 1e-4
        public var nesterov = false
        public init() {}
    }
    public struct Schedule: Codable, Sendable, Equatable {
        /// constant, cosine, or step (×gamma every `step_size` epochs).
        public var name = ScheduleKind.cosine
        public var warmupEpochs = 0
        public var minLr: Float = 0
        public var stepSize = 10
        public var gamma: Float = 0.1
        public init() {}
    }
    public struct Stage: Codable, Sendable, Equatable {
        public var epochs = 1
        public init(epochs: Int = 1) { self.epochs = epochs }
    }
    /// How the learning-rate schedule (warm-up, then `schedule.name`) runs
    /// over ITSL's stages: `global`, once over all stages' epochs; or
    /// `per_stage`, whole again in every stage, as the STDCF paper trains
    /// (each stage gets the full schedule).
    public enum ITSLSchedule: String, ConfigChoice {
        case global
        case perStage = "per_stage"
    }
    /// Which clips precise BN recomputes the statistics from: `full`, full-size
    /// training clips with the test dilations; or `stage`, the clips the stage
    /// just trained on, with its dilations, so that ITSL never reads full-size
    /// data (the STDCF paper's setting).
    public enum PreciseBNInputs: String, ConfigChoice {
        case full
        case stage
    }
    /// The epoch's order over tar shards: `mixed`, every sample shuffled
    /// alone; or `grouped`, the shards shuffled, then the samples within each,
    /// so that a global batch reads from at most two shards.
    public enum ShardOrder: String, ConfigChoice {
        case mixed
        case grouped
    }
    public struct ITSL: Codable, Sendable, Equatable {
        public var iterations = 3
        public var beta = 2
        public var gamma = 2
        public var stageT = Stage()
        public var stageS = Stage()
        public var schedule = ITSLSchedule.global
        public init() {}
    }

    public var model: String
    public var train: String
    public var val: String?
    public var classes: String?
    public var numClasses: Int?
    public var clip = Clip()
    public var eval = Eval()
    public var optimizer = OptimizerConfig()
    public var schedule = Schedule()
    /// Epochs of full-size training (ignored with `itsl`).
    public var epochs = 1
    public var batch = 8
    public var workers = 2
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    public var seed: UInt64 = 0
    /// Batches of full-size training clips over which BN statistics are
    /// recomputed at the end of every stage, before validation (precise BN; 0: off).
    public var preciseBnBatches = 20
    public var preciseBnInputs = PreciseBNInputs.full
    public var shardOrder = ShardOrder.mixed
    /// Under mpirun: BatchNorm statistics over the global batch (all ranks)
    /// instead of each rank's part of it.
    public var syncBn = false
    /// Under mpirun: gradients are averaged in buckets of about this many MiB.
    public var bucketMb = 25.0
    public var output = "runs/train"
    public var itsl: ITSL?
    /// "classification", or "reconstruction": the model maps a noisy clip to
    /// the clean one, trained on the mean squared error and scored by PSNR
    /// (Train/Reconstruction.swift).
    public var task = Task.classification
    /// Reconstruction: the standard deviation of the Gaussian noise added to
    /// every pixel, as a fraction of the 0…255 range.
    public var noise: Float = 0.2
    /// Reconstruction: a manifest scored after training (mean PSNR, into eval.json).
    public var test: String?

    public init(model: String, train: String) {
        self.model = model
        self.train = train
    }

    /// Reads a config (`.json`, or `.yaml`/`.yml`), with paths made absolute
    /// against its folder. Unknown keys are errors (a typo must not pass silently).
    public static func load(_ path: String) throws -> TrainConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(
                file: path, reason: unreadableReason(path))
        }
        var json = data
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigError(file: path, reason: "not UTF-8 text")
            }
            let object = try parseYAML(text, file: path)
            json = try JSONSerialization.data(withJSONObject: object)
        }
        guard var object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw ConfigError(file: path, reason: "not a JSON object")
        }
        for key in retiredKeys where object[key] != nil {
            object[key] = nil
            FileHandle.standardError.write(Data("clipkit: \(path): '\(key)' is no longer used and is ignored\n".utf8))
        }
        try checkKeys(object, file: path)
        var config: TrainConfig
        do {
            config = try decodeConfig(object)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigError(file: path, reason: "missing '\(configKey(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ConfigError(file: path, reason: "'\(configKey(context.codingPath))': \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            let key = configKey(context.codingPath)
            if key.isEmpty, let culprit = rejectedKey(object) {
                // Foundation names no key for a number of the wrong kind (4.5 where a whole number goes).
                throw ConfigError(file: path, reason: "'\(culprit)': a value of the wrong type")
            }
            throw ConfigError(
                file: path, reason: key.isEmpty ? context.debugDescription : "\(key) \(context.debugDescription)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : folder.appendingPathComponent(p).standardizedFileURL.path
        }
        config.train = resolve(config.train)
        config.val = config.val.map(resolve)
        config.classes = config.classes.map(resolve)
        config.test = config.test.map(resolve)
        config.output = resolve(config.output)
        try config.validate(file: path)
        return config
    }

    func validate(file: String) throws {
        func check(_ ok: Bool, _ reason: String) throws { if !ok { throw ConfigError(file: file, reason: reason) } }
        try check(
            clip.frames >= 1 && clip.interval >= 1 && clip.crop >= 8, "clip: frames and interval must be ≥ 1, crop ≥ 8")
        try check(
            clip.shortSide.count == 2 && clip.shortSide[0] <= clip.shortSide[1] && clip.shortSide[0] >= clip.crop,
            "clip.short_side must be [a, b] with crop ≤ a ≤ b")
        try check(batch >= 1 && workers >= 1 && threads >= 1, "batch, workers and threads must be ≥ 1")
        try check(itsl != nil || epochs >= 1, "epochs must be ≥ 1")
        try check(
            optimizer.lr > 0 && optimizer.lr.isFinite && optimizer.weightDecay >= 0 && optimizer.momentum >= 0
                && optimizer.momentum < 1,
            "optimizer: lr must be > 0, weight_decay ≥ 0 and momentum in [0, 1)")
        try check(
            schedule.warmupEpochs >= 0 && schedule.minLr >= 0 && schedule.stepSize >= 1 && schedule.gamma > 0,
            "schedule: warmup_epochs and min_lr must be ≥ 0, step_size ≥ 1 and gamma > 0")
        try check(bucketMb > 0, "bucket_mb must be > 0")
        try check(eval.crops == 1 || eval.crops == 3, "eval.crops must be 1 or 3")
        try check(task == .classification || (itsl == nil && noise >= 0), "task reconstruction: no itsl, noise ≥ 0")
        try check(
            (task == .reconstruction) == model.hasPrefix("recon3l-"),
            task == .reconstruction
                ? "task reconstruction needs a model whose output is a clip (recon3l-*), not \(model)"
                : "\(model) reconstructs clips: set task: reconstruction")
        if let itsl {
            try check(
                itsl.iterations >= 1 && itsl.beta >= 1 && itsl.gamma >= 1,
                "itsl: iterations, beta and gamma must be ≥ 1")
            try check(
                itsl.stageT.epochs >= 0 && itsl.stageS.epochs >= 0 && itsl.stageT.epochs + itsl.stageS.epochs >= 1,
                "itsl: stage_t.epochs and stage_s.epochs must be ≥ 0, and one of them ≥ 1")
            try check(
                clip.frames % itsl.gamma == 0 && clip.crop % itsl.beta == 0,
                "itsl: clip.frames must divide by gamma and clip.crop by beta")
        }
    }

    /// The config as JSON (stored in checkpoints, so `eval` knows the model and clip).
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A config stored in a checkpoint; keys added since then take their defaults.
    public static func fromJSON(_ text: String) throws -> TrainConfig {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ConfigError(file: "checkpoint", reason: "the stored config is not a JSON object")
        }
        return try decoder.decode(TrainConfig.self, from: try withDefaults(object))
    }
}

public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var reason: String
    public var description: String { "\(file): \(reason)" }
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}

/// A decoding path as the config spells it: `itsl.stage_t.epochs`, not `itsl.stageT.epochs`.
private func configKey(_ path: [CodingKey]) -> String {
    path.map { key in
        key.intValue.map(String.init)
            ?? key.stringValue.map { $0.isUppercase ? "_" + $0.lowercased() : String($0) }.joined()
    }.joined(separator: ".")
}

/// The key (dotted) of the value that keeps `object` from decoding: the first
/// whose removal lets it decode, looked for again inside it when it is an object.
private func rejectedKey(_ object: [String: Any], within: (([String: Any]) -> [String: Any]) = { $0 }) -> String? {
    for key in object.keys.sorted() {
        var without = object
        without[key] = nil
        guard (try? decodeConfig(within(without))) != nil else { continue }
        guard let inner = object[key] as? [String: Any] else { return key }
        let nested = rejectedKey(inner) { inner in
            var outer = object
            outer[key] = inner
            return within(outer)
        }
        return nested.map { "\(key).\($0)" } ?? key
    }
    return nil
}

/// The user's config (snake_case keys) laid over the defaults, decoded.
private func decodeConfig(_ user: [String: Any]) throws -> TrainConfig {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(TrainConfig.self, from: try withDefaults(user))
}

/// The user's config laid over the defaults, as JSON (Codable has no defaults for missing keys).
private func withDefaults(_ user: [String: Any]) throws -> Data {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    func object<T: Encodable>(_ value: T) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: encoder.encode(value)) as! [String: Any]
    }
    var base = try object(TrainConfig(model: "", train: ""))
    base["model"] = nil  // required: missing ones are errors
    base["train"] = nil
    if user["itsl"] != nil { base["itsl"] = try object(TrainConfig.ITSL()) }
    func merge(_ base: [String: Any], _ over: [String: Any]) -> [String: Any] {
        var out = base
        for (k, v) in over {
            if let b = base[k] as? [String: Any], let o = v as? [String: Any] {
                out[k] = merge(b, o)
            } else {
                out[k] = v
            }
        }
        return out
    }
    return try JSONSerialization.data(withJSONObject: merge(base, user))
}

/// Top-level keys of earlier versions that a config may still carry: ignored
/// with a warning. block_cache_mb: freed memory now stays in the heap (MemoryMeter).
private let retiredKeys = ["block_cache_mb"]

/// Keys each level of the config accepts (snake_case), for typo errors.
private let knownKeys: [String: Set<String>] = [
    "": [
        "model", "train", "val", "classes", "num_classes", "clip", "eval", "optimizer", "schedule", "epochs", "batch",
        "workers", "threads", "seed", "precise_bn_batches", "precise_bn_inputs", "shard_order",
        "sync_bn", "bucket_mb", "output", "itsl",
        "task", "noise", "test"
    ],
    "clip": ["frames", "interval", "crop", "short_side", "flip", "sampling"],
    "eval": ["clips", "crops", "short_side"],
    "optimizer": ["name", "lr", "momentum", "weight_decay", "nesterov"],
    "schedule": ["name", "warmup_epochs", "min_lr", "step_size", "gamma"],
    "itsl": ["iterations", "beta", "gamma", "stage_t", "stage_s", "schedule"],
    "itsl.stage_t": ["epochs"], "itsl.stage_s": ["epochs"]
]

private func checkKeys(_ object: [String: Any], file: String, at path: String = "") throws {
    guard let allowed = knownKeys[path] else { return }
    for (key, value) in object {
        let full = path.isEmpty ? key : "\(path).\(key)"
        guard allowed.contains(key) else {
            throw ConfigError(
                file: file, reason: "unknown key '\(full)' (known: \(allowed.sorted().joined(separator: ", ")))")
        }
        if let nested = value as? [String: Any] { try checkKeys(nested, file: file, at: full) }
    }
}
