import Foundation
import Loader
import Support

/// `clipkit report RUN_DIR`: one self-contained HTML page (inline SVG, no
/// scripts) from the run's metrics.jsonl and, when present, eval.json and
/// explain.json: what was trained and on what machine, loss and accuracy per
/// epoch, validation accuracy after every stage, peak memory per stage, the
/// confusion matrix, and Grad-CAM strips of a few test videos.
public func writeReport(runDirectory: String) throws -> String {
    let metricsPath = (runDirectory as NSString).appendingPathComponent("metrics.jsonl")
    guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else {
        throw ConfigError(file: metricsPath, reason: "no metrics (is this a `clipkit train` output folder?)")
    }
    var epochs: [[String: Any]] = []
    var stages: [StageResult] = []
    var run: [String: Any]?
    for line in text.split(separator: "\n") {
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
        if o["event"] as? String == "run" { run = o }
        if o["event"] as? String == "epoch" { epochs.append(o) }
        if let s = o["stage"], let data = try? JSONSerialization.data(withJSONObject: s),
            let stage = try? JSONDecoder().decode(StageResult.self, from: data)
        {
            stages.append(stage)
        }
    }
    let evalPath = (runDirectory as NSString).appendingPathComponent("eval.json")
    let eval = FileManager.default.contents(atPath: evalPath).flatMap {
        try? JSONDecoder.snake.decode(EvalResult.self, from: $0)
    }

    var html = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>ClipKit run: \(escape(runDirectory))</title>
        <style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}svg{background:#fafafa;border:1px solid #ddd}
        .muted{color:#777}</style></head><body>
        <h1>ClipKit run</h1><p class="muted">\(escape(runDirectory))</p>
        """
    html += settingsTable(run)
    let losses = epochs.compactMap { $0["loss"] as? Double }
    let accs = epochs.compactMap { $0["top1"] as? Double }
    html += "<h2>Training loss and accuracy per epoch</h2>"
    html +=
        lineChart([("loss", losses, "#c33")], yLabel: "cross-entropy") + " "
        + lineChart([("train top-1 %", accs, "#36c")], yLabel: "%")
    if !stages.isEmpty {
        html += "<h2>After every stage</h2>"
        html += lineChart(
            [
                ("val top-1 %", stages.map { $0.valTop1 ?? 0 }, "#393"),
                ("train top-1 %", stages.map(\.trainTop1), "#36c")
            ],
            yLabel: "%", xLabels: stages.map(\.phase))
        html += barChart(
            stages.map(\.phase),
            [("tensors MB", stages.map(\.peakTensorMB), "#f90"), ("RSS MB", stages.map(\.peakRSSMB), "#999")])
        html +=
            """
            <table><tr><th>stage</th><th>input C×T×H×W</th><th>train loss</th><th>train top-1</th><th>val \
            top-1</th><th>peak tensors MB</th><th>peak RSS MB</th></tr>
            """
        for s in stages {
            html +=
                "<tr><td>\(escape(s.phase))</td><td>\(s.input.map(String.init).joined(separator: "×"))</td>"
                + String(
                    format: "<td>%.4f</td><td>%.1f</td><td>%@</td><td>%.0f</td><td>%.0f</td></tr>", s.trainLoss,
                    s.trainTop1,
                    s.valTop1.map { String(format: "%.1f", $0) } ?? "–", s.peakTensorMB, s.peakRSSMB)
        }
        html += "</table>"
    }
    if let eval {
        html +=
            """
            <h2>Evaluation (\(eval.views) views, \(eval.videos) videos, dilation t=\(eval.dilation[0]) \
            s=\(eval.dilation[1]))</h2>
            """
        html += String(
            format: "<p>video top-1 <b>%.2f%%</b>, top-5 %.2f%%, clip top-1 %.2f%%; %d failed</p>", eval.top1,
            eval.top5, eval.clipTop1, eval.failed.count)
        html += confusionTable(eval)
    }
    html += explainedVideos(runDirectory)
    html += "</body></html>\n"
    let out = (runDirectory as NSString).appendingPathComponent("report.html")
    try writeAtomically(Data(html.utf8), to: out)
    return out
}

extension JSONDecoder {
    static var snake: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}

func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
        of: ">", with: "&gt;")
}

/// What was trained, on what, with which settings, and where and when: from
/// the run's first metrics line (written by `Trainer` since ClipKit 0.1.0).
func settingsTable(_ run: [String: Any]?) -> String {
    guard let run, let config = run["config"] as? [String: Any] else {
        return "<p class=\"muted\">This run did not record its settings (it predates them).</p>"
    }
    let clip = config["clip"] as? [String: Any] ?? [:]
    let optimizer = config["optimizer"] as? [String: Any] ?? [:]
    let schedule = config["schedule"] as? [String: Any] ?? [:]
    func text(_ v: Any?) -> String { v.map { "\($0)" } ?? "–" }
    let training: String
    if let itsl = config["itsl"] as? [String: Any] {
        let t = (itsl["stage_t"] as? [String: Any])?["epochs"]
        let s = (itsl["stage_s"] as? [String: Any])?["epochs"]
        training =
            "ITSL: \(text(itsl["iterations"])) iterations, β = \(text(itsl["beta"])), γ = \(text(itsl["gamma"])), "
            + "\(text(t)) stage-t and \(text(s)) stage-s epochs each"
    } else {
        training = "\(text(config["epochs"])) epochs on full-size clips"
    }
    let rows: [(String, String)] = [
        ("model", "\(text(config["model"])), \(text(run["parameters"])) parameters, \(text(run["classes"])) classes"),
        (
            "data",
            "train \(text(config["train"])) (\(text(run["train_videos"])) videos); "
                + "val \(text(config["val"])) (\(text(run["val_videos"])) videos)"
        ),
        (
            "clip",
            "\(text(clip["frames"])) frames at interval \(text(clip["interval"])), \(text(clip["sampling"])) sampling; "
                + "\(text(clip["crop"]))² crops from a short side in \(text(clip["short_side"])); "
                + "flip \(text(clip["flip"]))"
        ),
        ("training", "\(training); batch \(text(config["batch"])); seed \(text(config["seed"]))"),
        (
            "optimizer",
            "\(text(optimizer["name"])), lr \(text(optimizer["lr"])), momentum \(text(optimizer["momentum"])), "
                + "weight decay \(text(optimizer["weight_decay"])); \(text(schedule["name"])) schedule, "
                + "\(text(schedule["warmup_epochs"])) warm-up epochs"
        ),
        ("ClipKit", text(run["clipkit"])),
        (
            "machine",
            "\(text(run["cpu"])) (\(text(run["cpu_id"]))); OpenBLAS core \(text(run["blas_core"])); "
                + "\(text(run["threads"])) threads × \(text(run["ranks"])) rank(s)"
        ),
        ("started", text(run["started"]))
    ]
    return "<h2>Settings</h2><table class=\"settings\">"
        + rows.map { "<tr><th>\($0.0)</th><td style=\"text-align:left\">\(escape($0.1))</td></tr>" }.joined()
        + "</table>"
}

/// Where the model looks: the strips `clipkit eval --explain N` wrote (explain.json beside the run's files).
func explainedVideos(_ runDirectory: String) -> String {
    let path = (runDirectory as NSString).appendingPathComponent("explain.json")
    guard let data = FileManager.default.contents(atPath: path),
        let entries = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]], !entries.isEmpty
    else { return "" }
    var html = "<h2>Where the model looks (Grad-CAM)</h2>"
    for e in entries {
        let verdict = (e["correct"] as? Bool) == true ? "correct" : "wrong"
        let caption =
            "\(e["video"] ?? "") — true: \(e["label"] ?? ""), predicted: \(e["predicted"] ?? "")"
            + String(format: " (p = %.2f), %@", e["probability"] as? Double ?? 0, verdict)
        html +=
            "<figure><img class=\"gradcam\" src=\"\(escape(e["image"] as? String ?? ""))\" style=\"max-width:100%\">"
            + "<figcaption>\(escape(caption))</figcaption></figure>"
    }
    return html
}
