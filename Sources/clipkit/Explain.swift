import ArgumentParser
import Clips
import Foundation
import Loader
import NN
import Prep
import Tensor
import Train
import VideoIO

extension ClipKit {
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grad-CAM: where a trained model looks when it names a class, blended over the clip's frames.",
            discussion: """
                Takes the video's centre clip as the run was tested (frames, interval, centre crop), runs the \
                checkpoint with its \
                test dilations and writes the class-activation map over the frames: out.png is a strip of the frames, \
                out.mp4 a \
                video. The layer defaults to the last one with a spatio-temporal output; --layer names another (see \
                --list-layers).
                Example: clipkit explain run/checkpoint.safetensors video.mp4 -o cam.png
                """)
        @Argument(help: "Checkpoint written by `clipkit train`.") var checkpoint: String
        @Argument(help: "Video file (or frame folder).") var video: String
        @Option(help: "Layer to explain (a module name, e.g. layer4 or conv3).") var layer: String?
        @Option(name: .customLong("class"), help: "Class to explain, by index or name (default: the predicted one).")
        var target: String?
        @Option(name: .shortAndLong, help: "Output: .png (a strip of frames) or .mp4.") var output: String?
        @Flag(help: "List the layers that can be explained and exit.") var listLayers = false

        func run() throws {
            let (config, classes, model) = try inFile(checkpoint) { try loadTrainedModel(checkpoint) }
            let d = ITSLPlan(config).testDilation
            applyDilation(model, temporal: d.temporal, spatial: d.spatial)
            let (dataset, values) = try testClip(config, video: video)
            let clip = Tensor(shape: [1] + Array(dataset.sampleShape.dropFirst()), values: values)
            if listLayers {
                var seen = Set<String>()
                for name in spatiotemporalLayers(model, clip: clip) where seen.insert(name).inserted { print(name) }
                return
            }
            guard let output, output.hasSuffix(".png") || output.hasSuffix(".mp4") else {
                throw ValidationError("-o must name a .png or .mp4 file")
            }
            var classIndex: Int? = nil
            if let target {
                guard let k = Int(target) ?? classes.firstIndex(of: target), classes.indices.contains(k) else {
                    throw ConfigError(
                        file: checkpoint, reason: "no class '\(target)' (classes: \(classes.joined(separator: ", ")))")
                }
                classIndex = k
            }
            let map: ClassActivationMap
            // One clip: every core inside each GEMM (outside a scope they would run one thread).
            let cores = ParallelSettings(
                mode: .automatic, threads: ProcessInfo.processInfo.activeProcessorCount, batch: 1)
            do {
                map = try Parallel.with(cores) {
                    try gradCAM(model: model, clip: clip, layer: layer, target: classIndex)
                }
            } catch let error
                as GradCAMError
            {
                throw ConfigError(file: checkpoint, reason: error.description)
            }
            let blended = blendHeatMap(map, frames: rgbFrames(values, map: map, normalization: dataset.normalization))
            if output.hasSuffix(".png") {
                try writeStrip(blended, map: map, to: output)
            } else {
                try writeVideo(blended, map: map, to: output)
            }
            let predicted = map.probabilities.indices.max { map.probabilities[$0] < map.probabilities[$1] }!
            print(
                String(
                    format: "%@: class %d (%@), p = %.3f; predicted %@ (p = %.3f); layer %@ (%@); wrote %@", video,
                    map.target, classes[map.target], map.probabilities[map.target], classes[predicted],
                    map.probabilities.max() ?? 0, map.layer, map.layerSize.map(String.init).joined(separator: "×"),
                    output))
        }
    }
}

/// The video's centre clip as the run was tested (its normalised values).
func testClip(_ config: TrainConfig, video: String) throws -> (ClipDataset, [Float]) {
    let c = config.clip
    let side = c.crop
    let dataset = ClipDataset(
        manifest: Manifest(entries: [ManifestEntry(path: video, label: 0)]),
        spec: ClipSpec(frames: c.frames, interval: c.interval, cropSize: side),
        sampling: c.sampling,
        mode: .test(numClips: 1, crops: .center(side), shortSide: config.eval.shortSide ?? side),
        seed: config.seed)
    var values = [Float](repeating: 0, count: dataset.sampleFloats)
    var scratch: [UInt8] = []
    _ = try values.withUnsafeMutableBufferPointer {
        try dataset.load(video: 0, epoch: 0, into: $0.baseAddress!, scratch: &scratch)
    }
    return (dataset, values)
}

/// The clip's RGB frames (T×H×W×3) from its normalised values.
func rgbFrames(_ values: [Float], map: ClassActivationMap, normalization n: Normalization) -> [UInt8] {
    let plane = map.frames * map.height * map.width
    var rgb = [UInt8](repeating: 0, count: plane * 3)
    for ch in 0..<3 {
        for i in 0..<plane {
            rgb[i * 3 + ch] = UInt8(
                max(0, min(255, (values[ch * plane + i] * n.std[ch] + n.mean[ch]).rounded())))
        }
    }
    return rgb
}

/// The frames side by side, as a PNG.
func writeStrip(_ frames: [UInt8], map: ClassActivationMap, to output: String) throws {
    let (t, h, w) = (map.frames, map.height, map.width)
    var strip = [UInt8](repeating: 0, count: t * h * w * 3)
    for f in 0..<t {
        for y in 0..<h {
            let source = ((f * h + y) * w) * 3
            let target = (y * t * w + f * w) * 3
            strip.replaceSubrange(target..<(target + w * 3), with: frames[source..<(source + w * 3)])
        }
    }
    try writePNG(strip, width: t * w, height: h, to: output)
}

/// The frames as a video; even sizes for 4:2:0 (a last odd row or column is dropped).
func writeVideo(_ frames: [UInt8], map: ClassActivationMap, to output: String) throws {
    let (t, h, w) = (map.frames, map.height, map.width)
    let (ew, eh) = (w - w % 2, h - h % 2)
    let writer = try VideoWriter(path: output, width: ew, height: eh, fps: 8, layout: .rgb)
    for f in 0..<t {
        var frame = [UInt8]()
        frame.reserveCapacity(ew * eh * 3)
        for y in 0..<eh {
            let start = ((f * h + y) * w) * 3
            frame += frames[start..<(start + ew * 3)]
        }
        try frame.withUnsafeBytes { try writer.write($0) }
    }
    _ = try writer.finish()
}

/// A Grad-CAM strip of `video`'s centre test clip for class `target`,
/// written to `output` (PNG); the model must already have its test dilations.
func explainStrip(
    model: NN.Module, config: TrainConfig, video: String, target: Int, to output: String
) throws -> ClassActivationMap {
    let (dataset, values) = try testClip(config, video: video)
    let clip = Tensor(shape: [1] + Array(dataset.sampleShape.dropFirst()), values: values)
    let map = try gradCAM(model: model, clip: clip, target: target)
    let blended = blendHeatMap(map, frames: rgbFrames(values, map: map, normalization: dataset.normalization))
    try writeStrip(blended, map: map, to: output)
    return map
}
