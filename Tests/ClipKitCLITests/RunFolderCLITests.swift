import Foundation
import Testing

/// What a user gets wrong around a finished run: training into its folder
/// again, a manifest with a broken video or a label the model does not
/// have, a --save path that cannot be written, and a path that names
/// nothing among good ones. Each is named, with exit status 1; nothing
/// written is lost, and the good inputs are still scored.
@Suite struct RunFolderCLITests {
    @Test func wrongInputsAroundARunAreNamedAndTheRestGoesOn() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runfolder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try tinyVideoMNIST(in: root)
        let config = root.appendingPathComponent("run.json").path
        try """
        {"model": "kth3l-stdcf", "train": "data/train.csv", "num_classes": 10,
         "clip": {"frames": 8, "crop": 16, "short_side": [16, 16], "flip": 0},
         "batch": 4, "workers": 2, "threads": 2, "output": "run", "epochs": 1, "precise_bn_batches": 0}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try clipkit(["train", config]).status == 0)
        let checkpoint = root.appendingPathComponent("run/checkpoint.safetensors").path
        let metrics = root.appendingPathComponent("run/metrics.jsonl").path
        let kept = try (
            Data(contentsOf: URL(fileURLWithPath: checkpoint)), Data(contentsOf: URL(fileURLWithPath: metrics))
        )

        let again = try clipkit(["train", config])
        #expect(again.status == 1 && again.stderr.contains("holds a run already"), "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == kept.0, "the checkpoint is kept")
        #expect(try Data(contentsOf: URL(fileURLWithPath: metrics)) == kept.1, "the metrics are kept")

        let video = try String(contentsOf: root.appendingPathComponent("data/test.csv"), encoding: .utf8)
            .split(separator: "\n")[1].split(separator: ",")[0]
        let good = root.appendingPathComponent("data/" + video).path
        let broken = root.appendingPathComponent("broken.mp4")
        try Data("not a video".utf8).write(to: broken)
        func manifest(_ name: String, _ rows: [String]) throws -> String {
            let path = root.appendingPathComponent(name).path
            try (["path,label"] + rows).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let partly = try clipkit([
            "eval", checkpoint, try manifest("partly.csv", ["\(good),3", "\(broken.path),3"]), "--views", "1x1",
            "--save", root.appendingPathComponent("out/deep/eval.json").path
        ])
        #expect(partly.status == 1 && partly.stderr.contains("broken.mp4"), "\(partly.stderr)")
        let saved =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: root.appendingPathComponent("out/deep/eval.json"))) as! [String: Any]
        #expect(saved["videos"] as? Int == 1 && (saved["failed"] as? [Any])?.count == 1, "\(saved)")

        let outside = try clipkit(["eval", checkpoint, try manifest("outside.csv", ["\(good),42"])])
        #expect(outside.status == 1 && outside.stderr.contains("label 42 of"), "\(outside.stderr)")
        #expect(outside.stderr.contains("outside the 10 classes"), "\(outside.stderr)")

        let unwritable = try clipkit([
            "eval", checkpoint, try manifest("one.csv", ["\(good),3"]), "--save", config + "/eval.json"
        ])
        #expect(unwritable.status == 1 && unwritable.stderr.contains("is a file, not a folder"), "\(unwritable.stderr)")
        #expect(!unwritable.stdout.contains(UInt8(ascii: "%")), "stopped before evaluating")

        let missing = root.appendingPathComponent("nope.mp4").path
        let predicted = try clipkit(["predict", checkpoint, good, missing, "--views", "1x1", "--json"])
        #expect(predicted.status == 1, "\(predicted.stderr)")
        let predictions = try JSONSerialization.jsonObject(with: predicted.stdout) as! [[String: Any]]
        #expect(predictions.count == 2 && predictions[0]["failure"] == nil)
        #expect(
            predictions[1]["path"] as? String == missing
                && predictions[1]["failure"] as? String == "no such file or folder")

        let overwritten = try clipkit(["train", config, "--overwrite"])
        #expect(overwritten.status == 0, "\(overwritten.stderr)")
    }
}
