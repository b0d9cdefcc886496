import Foundation
import VideoIO

// Crop boxes with mmaction2's geometry (positions, order, rounding). Boxes are
// decided before decoding: the decoder then converts only that region, at the
// final size. All boxes are in the pixel grid of the image they crop.

/// `CenterCrop`: ((W - w) // 2, (H - h) // 2).
public func centerCropBox(width: Int, height: Int, cropWidth: Int, cropHeight: Int) -> CropBox {
    CropBox(x: (width - cropWidth) / 2, y: (height - cropHeight) / 2, width: cropWidth, height: cropHeight)
}

/// `RandomCrop(size)`: offsets drawn with numpy's `randint(0, W - size)`,
/// which never reaches the right or bottom edge exactly.
public func randomCropBox(width: Int, height: Int, size: Int, rng: inout SampleRNG) -> CropBox {
    let y = height > size ? rng.int(below: height - size) : 0
    let x = width > size ? rng.int(below: width - size) : 0
    return CropBox(x: x, y: y, width: min(size, width), height: min(size, height))
}

/// `ThreeCrop(size)` for a frame whose short side equals `size`: in
/// mmaction2's order left, right, centre (top, bottom, centre when H > W).
/// The "right" crop starts at 2·((W - size) // 2), one short of flush for odd gaps.
public func threeCropBoxes(width: Int, height: Int, size: Int) -> [CropBox] {
    let w = min(size, width)
    let h = min(size, height)
    if h == height {
        let step = (width - w) / 2
        return [0, 2 * step, step].map { CropBox(x: $0, y: 0, width: w, height: h) }
    }
    let step = (height - h) / 2
    return [0, 2 * step, step].map { CropBox(x: 0, y: $0, width: w, height: h) }
}

/// `TenCrop(size)`: upper left, upper right, lower left, lower right, centre
/// (steps of (W - size) // 4), each followed by its horizontal flip.
public func tenCropBoxes(width: Int, height: Int, size: Int) -> [(box: CropBox, flip: Bool)] {
    let ws = (width - size) / 4
    let hs = (height - size) / 4
    let corners = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)]
    return corners.flatMap { x, y -> [(box: CropBox, flip: Bool)] in
        let box = CropBox(x: x, y: y, width: size, height: size)
        return [(box, false), (box, true)]
    }
}

/// `RandomResizedCrop`: up to 10 tries of an area fraction in `areaRange` and a
/// log-uniform aspect ratio; else the centred square of the short side.
public func randomResizedCropBox(
    width: Int, height: Int, areaRange: ClosedRange<Double> = 0.08...1.0,
    aspectRange: ClosedRange<Double> = (3.0 / 4.0)...(4.0 / 3.0),
    rng: inout SampleRNG
) -> CropBox {
    let attempts = 10
    let ratios = (0..<attempts).map { _ in exp(rng.uniform(log(aspectRange.lowerBound), log(aspectRange.upperBound))) }
    let areas = (0..<attempts).map { _ in
        rng.uniform(areaRange.lowerBound, areaRange.upperBound) * Double(width * height)
    }
    for i in 0..<attempts {
        let w = Int((areas[i] * ratios[i]).squareRoot().rounded(.toNearestOrEven))
        let h = Int((areas[i] / ratios[i]).squareRoot().rounded(.toNearestOrEven))
        if w > 0, h > 0, h <= height, w <= width {
            let x = rng.int(in: 0...(width - w))
            let y = rng.int(in: 0...(height - h))
            return CropBox(x: x, y: y, width: w, height: h)
        }
    }
    let side = min(width, height)
    return CropBox(x: (width - side) / 2, y: (height - side) / 2, width: side, height: side)
}

/// `MultiScaleCrop(inputSize, scales)`: a crop of the short side times a scale
/// (width and height scales at most `maxScaleGap` apart, snapped to the input
/// size within 2 px), at one of 5 (or 13) fixed positions, or anywhere.
public func multiScaleCropBox(
    width: Int, height: Int, inputSize: Int, scales: [Double] = [1, 0.875, 0.75, 0.66],
    maxScaleGap: Int = 1, randomPosition: Bool = false, fixedCrops: Int = 5,
    rng: inout SampleRNG
) -> CropBox {
    let base = min(width, height)
    let sizes = scales.map { Int(Double(base) * $0) }
    var candidates: [(w: Int, h: Int)] = []
    for (i, h) in sizes.enumerated() {
        for (j, w) in sizes.enumerated() where abs(i - j) <= maxScaleGap { candidates.append((w, h)) }
    }
    var (w, h) = candidates[rng.int(below: candidates.count)]
    if abs(w - inputSize) < 3 { w = inputSize }
    if abs(h - inputSize) < 3 { h = inputSize }
    if randomPosition {
        return CropBox(x: rng.int(in: 0...(width - w)), y: rng.int(in: 0...(height - h)), width: w, height: h)
    }
    let ws = (width - w) / 4
    let hs = (height - h) / 4
    var offsets = [(0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs)]
    if fixedCrops == 13 {
        offsets += [
            (0, 2 * hs), (4 * ws, 2 * hs), (2 * ws, 4 * hs), (2 * ws, 0),
            (ws, hs), (3 * ws, hs), (ws, 3 * hs), (3 * ws, 3 * hs)
        ]
    }
    let (x, y) = offsets[rng.int(below: offsets.count)]
    return CropBox(x: x, y: y, width: w, height: h)
}

/// A box drawn on a frame resized to `resized` (W', H'), expressed in the
/// source frame's pixels (W, H), rounded to whole pixels: the decoder then
/// scales that source region straight to the box's size.
public func sourceBox(_ box: CropBox, resized: (width: Int, height: Int), source: (width: Int, height: Int)) -> CropBox
{
    let sx = Double(source.width) / Double(resized.width)
    let sy = Double(source.height) / Double(resized.height)
    let x0 = Int((Double(box.x) * sx).rounded())
    let y0 = Int((Double(box.y) * sy).rounded())
    let x1 = min(source.width, Int((Double(box.x + box.width) * sx).rounded()))
    let y1 = min(source.height, Int((Double(box.y + box.height) * sy).rounded()))
    return CropBox(x: x0, y: y0, width: max(1, x1 - x0), height: max(1, y1 - y0))
}
