import Foundation
import Loader
import Support

/// `clipkit report RUN_DIR`: one self-contained HTML page (inline SVG, no
/// scripts) from the run's metrics.jsonl and, when present, eval.json:
/// loss and accuracy per epoch, validation accuracy after every stage, peak
/// memory per stage, and the confusion matrix.
public func writeReport(runDirectory: String) throws -> String {
    let metricsPath = (runDirectory as NSString).appendingPathComponent("metrics.jsonl")
    guard let text = try? String(contentsOfFile: metricsPath, encoding: .utf8) else {
        throw ConfigError(file: metricsPath, reason: "no metrics (is this a `clipkit train` output folder?)")
    }
    var epochs: [[String: Any]] = []
    var stages: [StageResult] = []
    for line in text.split(separator: "\n") {
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
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

/// Lines over a shared x axis (index), with y from 0 or the minimum.
func lineChart(_ series: [(String, [Double], String)], yLabel: String, xLabels: [String]? = nil) -> String {
    let (w, h, pad) = (440.0, 220.0, 40.0)
    let all = series.flatMap(\.1)
    guard let top = all.max(), let bottom = all.min(), let count = series.map({ $0.1.count }).max(), count > 0 else {
        return "<p class=\"muted\">no data</p>"
    }
    let low = min(0, bottom)
    let span = max(top - low, 1e-9)
    func x(_ i: Int) -> Double { pad + (w - 2 * pad) * (count > 1 ? Double(i) / Double(count - 1) : 0.5) }
    func y(_ v: Double) -> Double { h - pad - (h - 2 * pad) * (v - low) / span }
    var svg = "<svg width=\"\(Int(w))\" height=\"\(Int(h))\" xmlns=\"http://www.w3.org/2000/svg\">"
    svg +=
        """
        <line x1=\"\(pad)\" y1=\"\(h - pad)\" x2=\"\(w - pad)\" y2=\"\(h - pad)\" stroke=\"#888\"/><line \
        x1=\"\(pad)\" y1=\"\(pad)\" x2=\"\(pad)\" y2=\"\(h - pad)\" stroke=\"#888\"/>
        """
    svg += String(
        format:
            """
            <text x=\"4\" y=\"%.0f\" font-size=\"10\">%.3g</text><text x=\"4\" y=\"%.0f\" \
            font-size=\"10\">%.3g</text>
            """,
        pad, top, h - pad, low)
    svg += "<text x=\"\(pad)\" y=\"14\" font-size=\"11\">\(escape(yLabel))</text>"
    for (k, (name, values, color)) in series.enumerated() {
        let points = values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(
            separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>"
        for (i, v) in values.enumerated() {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%@\"/>", x(i), y(v), color)
        }
        svg +=
            """
            <text x=\"\(Int(w - pad - 110))\" y=\"\(14 + 12 * k)\" font-size=\"11\" \
            fill=\"\(color)\">\(escape(name))</text>
            """
    }
    if let xLabels {
        for (i, label) in xLabels.enumerated() {
            svg += String(
                format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"9\" text-anchor=\"middle\">%@</text>", x(i),
                h - pad + 14, escape(label))
        }
    } else {
        svg += "<text x=\"\(Int(w / 2))\" y=\"\(Int(h - 8))\" font-size=\"10\" text-anchor=\"middle\">epoch</text>"
    }
    return svg + "</svg>"
}

/// Grouped bars per label.
func barChart(_ labels: [String], _ series: [(String, [Double], String)]) -> String {
    let (w, h, pad) = (max(440.0, 60.0 * Double(labels.count) + 80), 220.0, 40.0)
    let top = max(series.flatMap(\.1).max() ?? 1, 1e-9)
    let group = (w - 2 * pad) / Double(max(labels.count, 1))
    let bar = group * 0.8 / Double(max(series.count, 1))
    var svg =
        """
        <svg width=\"\(Int(w))\" height=\"\(Int(h))\" xmlns=\"http://www.w3.org/2000/svg\"><text x=\"\(pad)\" \
        y=\"14\" font-size=\"11\">peak memory per stage (MB)</text>
        """
    for (i, label) in labels.enumerated() {
        for (k, (_, values, color)) in series.enumerated() {
            let v = values[i]
            let bh = (h - 2 * pad) * v / top
            svg += String(
                format:
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\"><title>%.0f</title></rect>",
                pad + group * Double(i) + group * 0.1 + bar * Double(k), h - pad - bh, bar, bh, color, v)
        }
        svg += String(
            format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"9\" text-anchor=\"middle\">%@</text>",
            pad + group * (Double(i) + 0.5), h - pad + 14, escape(label))
    }
    for (k, (name, _, color)) in series.enumerated() {
        svg +=
            "<text x=\"\(Int(w - 120))\" y=\"\(14 + 12 * k)\" font-size=\"11\" fill=\"\(color)\">\(escape(name))</text>"
    }
    return svg + "</svg>"
}

func confusionTable(_ e: EvalResult) -> String {
    let top = max(e.confusion.flatMap { $0 }.max() ?? 1, 1)
    var html =
        "<table><tr><th>true \\ predicted</th>" + e.classes.map { "<th>\(escape($0))</th>" }.joined()
        + "<th>accuracy</th></tr>"
    for (i, row) in e.confusion.enumerated() {
        html += "<tr><th>\(escape(e.classes[i]))</th>"
        for v in row {
            let shade = 255 - Int(200 * Double(v) / Double(top))
            html += "<td style=\"background:rgb(\(shade),\(shade),255)\">\(v)</td>"
        }
        html += "<td>" + (e.perClass[i].map { String(format: "%.0f%%", $0) } ?? "–") + "</td></tr>"
    }
    return html + "</table>"
}
