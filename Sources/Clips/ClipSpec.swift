import VideoIO

/// A training clip: T frames at interval τ, cropped to `cropSize` squares.
public struct ClipSpec: Sendable, Equatable, Codable {
    public var frames: Int
    public var interval: Int
    public var cropSize: Int
    public init(frames: Int, interval: Int, cropSize: Int = 224) {
        self.frames = frames
        self.interval = interval
        self.cropSize = cropSize
    }
}

/// The streams ITSL trains on (STDCF, Algorithm 1): the full clip, the clip
/// spatially downsampled by β, or temporally downsampled by γ.
public enum StreamVariant: Sendable, Equatable {
    case full
    /// The whole clip scaled by 1/β: a 224 crop becomes 112 at β = 2.
    case spatial(beta: Int)
    /// Every γ-th frame of the full sample: T/γ frames at interval τγ.
    case temporal(gamma: Int)

    /// The variant's frame indices, taken from the full clip's.
    public func frames(of full: [Int]) -> [Int] {
        guard case .temporal(let gamma) = self, gamma > 1 else { return full }
        return stride(from: 0, to: full.count, by: gamma).map { full[$0] }
    }

    /// The variant's output side for a full-size side.
    public func side(of full: Int) -> Int {
        guard case .spatial(let beta) = self, beta > 1 else { return full }
        return max(1, full / beta)
    }
}

/// How a training crop is drawn on the resized frame (mmaction2's transforms).
public enum TrainCrop: Sendable, Equatable, Codable {
    /// `RandomCrop(cropSize)`.
    case random
    /// `RandomResizedCrop` (area 8–100 %, aspect 3/4–4/3), then resized to the crop size.
    case randomResized
    /// `MultiScaleCrop(cropSize, (1, .875, .75, .66))` at 5 fixed positions, then resized.
    case multiScale
}

/// mmaction2's training augmentation: short side to U[a, b], a crop, a
/// horizontal flip with probability p.
public struct TrainAugment: Sendable, Equatable, Codable {
    public var shortSideRange: ClosedRange<Int>
    public var cropSize: Int
    public var flipProbability: Double
    public var crop: TrainCrop
    public init(
        shortSideRange: ClosedRange<Int> = 256...320, cropSize: Int = 224, flipProbability: Double = 0.5,
        crop: TrainCrop = .random
    ) {
        self.shortSideRange = shortSideRange
        self.cropSize = cropSize
        self.flipProbability = flipProbability
        self.crop = crop
    }
}

/// Where one training sample's pixels come from, decided before decoding.
///
/// The crop is drawn on the resized frame (mmaction2's coordinates). The
/// decoder converts only the whole source pixels that cover it, at the scale
/// that makes the crop exactly `outputSide`; `outputBox` then cuts the crop
/// from that decoded region (within half an output pixel of the exact spot).
public struct SpatialSample: Sendable, Equatable {
    public var resizedBox: CropBox
    public var resizedWidth: Int
    public var resizedHeight: Int
    public var outputSide: Int
    public var flip: Bool
    /// What the decoder produces: a source region scaled around the crop.
    public var decodeFormat: FrameFormat
    /// The crop inside the decoded region (outputSide × outputSide).
    public var outputBox: CropBox

    public init(
        resizedBox: CropBox, resizedWidth: Int, resizedHeight: Int, sourceWidth: Int, sourceHeight: Int,
        outputSide: Int, flip: Bool
    ) {
        self.resizedBox = resizedBox
        self.resizedWidth = resizedWidth
        self.resizedHeight = resizedHeight
        self.outputSide = outputSide
        self.flip = flip
        let x = coveringSpan(
            start: resizedBox.x, length: resizedBox.width, resized: resizedWidth,
            source: sourceWidth, output: outputSide)
        let y = coveringSpan(
            start: resizedBox.y, length: resizedBox.height, resized: resizedHeight,
            source: sourceHeight, output: outputSide)
        decodeFormat = FrameFormat(
            size: .exact(width: x.decoded, height: y.decoded),
            crop: CropBox(x: x.sourceStart, y: y.sourceStart, width: x.sourceLength, height: y.sourceLength))
        outputBox = CropBox(x: x.offset, y: y.offset, width: outputSide, height: outputSide)
    }
}

/// Along one axis: the whole source pixels covering a crop drawn on the resized
/// frame, how many output pixels they become, and where the crop starts in them.
private func coveringSpan(start: Int, length: Int, resized: Int, source: Int, output: Int)
    -> (sourceStart: Int, sourceLength: Int, decoded: Int, offset: Int)
{
    let perResized = Double(source) / Double(resized)  // source px per resized px
    let outPerSource = Double(output) / (Double(length) * perResized)
    let from = Double(start) * perResized
    let to = Double(start + length) * perResized
    // Start on an even pixel: 4:2:0 and 4:2:2 chroma planes cannot start mid-sample.
    let first = max(0, Int(from.rounded(.down)) & ~1)
    let last = min(source, Int(to.rounded(.up)))
    let decoded = max(output, Int((Double(last - first) * outPerSource).rounded()))
    let offset = min(decoded - output, max(0, Int(((from - Double(first)) * outPerSource).rounded())))
    return (first, last - first, decoded, offset)
}

/// Draws a training sample's geometry for a `width`×`height` video.
public func trainSpatialSample(
    width: Int, height: Int, augment: TrainAugment = TrainAugment(),
    variant: StreamVariant = .full, rng: inout SampleRNG
) -> SpatialSample {
    let side = rng.int(in: augment.shortSideRange)
    let resized = scaledToShortSide(width: width, height: height, side: side)
    let box: CropBox
    switch augment.crop {
    case .random:
        box = randomCropBox(width: resized.width, height: resized.height, size: augment.cropSize, rng: &rng)
    case .randomResized:
        box = randomResizedCropBox(width: resized.width, height: resized.height, rng: &rng)
    case .multiScale:
        box = multiScaleCropBox(width: resized.width, height: resized.height, inputSize: augment.cropSize, rng: &rng)
    }
    let flip = rng.uniform(0, 1) < augment.flipProbability
    return SpatialSample(
        resizedBox: box, resizedWidth: resized.width, resizedHeight: resized.height,
        sourceWidth: width, sourceHeight: height,
        outputSide: variant.side(of: augment.cropSize), flip: flip)
}
