import Foundation

/// Lines over a shared x axis, y from 0 (or the minimum, when below) to a
/// round number above the maximum, with ticks on both axes: `xLabels` under
/// the points, or else epochs 1, 2, … (thinned to about ten).
func lineChart(_ series: [(String, [Double], String)], yLabel: String, xLabels: [String]? = nil) -> String {
    let (w, h, pad) = (440.0, 220.0, 40.0)
    let all = series.flatMap(\.1)
    guard let top = all.max(), let bottom = all.min(), let count = series.map({ $0.1.count }).max(), count > 0 else {
        return "<p class=\"muted\">no data</p>"
    }
    let ticks = niceTicks(from: min(0, bottom), to: top)
    let low = ticks.first!
    let span = max(ticks.last! - low, 1e-9)
    func x(_ i: Int) -> Double { pad + (w - 2 * pad) * (count > 1 ? Double(i) / Double(count - 1) : 0.5) }
    func y(_ v: Double) -> Double { h - pad - (h - 2 * pad) * (v - low) / span }
    var svg = "<svg width=\"\(Int(w))\" height=\"\(Int(h))\" xmlns=\"http://www.w3.org/2000/svg\">"
    svg +=
        """
        <line x1=\"\(pad)\" y1=\"\(h - pad)\" x2=\"\(w - pad)\" y2=\"\(h - pad)\" stroke=\"#888\"/><line \
        x1=\"\(pad)\" y1=\"\(pad)\" x2=\"\(pad)\" y2=\"\(h - pad)\" stroke=\"#888\"/>
        """
    for t in ticks {
        svg += String(
            format:
                """
                <line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\
                <text class=\"ytick\" x=\"%.0f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\">%@</text>
                """, pad, y(t), w - pad, y(t), pad - 4, y(t) + 3, tickLabel(t))
    }
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
        let every = max(1, Int((Double(count) / 10).rounded(.up)))
        for i in stride(from: 0, to: count, by: every) {
            svg += String(
                format: "<text class=\"xtick\" x=\"%.0f\" y=\"%.0f\" font-size=\"9\" text-anchor=\"middle\">%d</text>",
                x(i), h - pad + 13, i + 1)
        }
        svg += "<text x=\"\(Int(w / 2))\" y=\"\(Int(h - 8))\" font-size=\"10\" text-anchor=\"middle\">epoch</text>"
    }
    return svg + "</svg>"
}

/// About five round tick values covering [low, high], 1, 2 or 5 × a power of
/// ten apart, from the multiple of the step at or below `low`.
func niceTicks(from low: Double, to high: Double) -> [Double] {
    let span = max(high - low, abs(high) * 1e-6, 1e-9)
    let raw = span / 5
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    let first = (low / step).rounded(.down) * step
    let last = (high / step).rounded(.up) * step
    return stride(from: first, through: last + step / 2, by: step).map { $0 }
}

/// A tick value without trailing zeros.
func tickLabel(_ v: Double) -> String {
    abs(v) < 1e-12 ? "0" : String(format: "%g", (v * 1e6).rounded() / 1e6)
}

/// Grouped bars per label.
func barChart(_ labels: [String], _ series: [(String, [Double], String)]) -> String {
    let (w, h, pad) = (max(440.0, 60.0 * Double(labels.count) + 80), 220.0, 40.0)
    let ticks = niceTicks(from: 0, to: max(series.flatMap(\.1).max() ?? 1, 1e-9))
    let top = ticks.last!
    let group = (w - 2 * pad) / Double(max(labels.count, 1))
    let bar = group * 0.8 / Double(max(series.count, 1))
    var svg =
        """
        <svg width=\"\(Int(w))\" height=\"\(Int(h))\" xmlns=\"http://www.w3.org/2000/svg\"><text x=\"\(pad)\" \
        y=\"14\" font-size=\"11\">peak memory per stage (MB)</text>
        """
    for t in ticks {
        let ty = h - pad - (h - 2 * pad) * t / top
        svg += String(
            format:
                """
                <line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\
                <text class=\"ytick\" x=\"%.0f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\">%@</text>
                """, pad, ty, w - pad, ty, pad - 4, ty + 3, tickLabel(t))
    }
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
