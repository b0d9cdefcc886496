import VideoIO

/// The spatial crops of a test view plan.
public enum TestCrops: Sendable, Equatable {
    /// Three `size` squares (mmaction2 `ThreeCrop`): the 30-view protocol with 10 clips.
    case three(Int)
    case center(Int)
    /// Five crops and their flips (`TenCrop`).
    case ten(Int)
}

/// One test view: temporal clip `clip`, spatial `box` on the resized frame, maybe flipped.
public struct TestView: Sendable, Equatable {
    public var clip: Int
    public var box: CropBox
    public var flip: Bool
}

/// K temporal clips × spatial crops for one video. Every needed frame is
/// decoded once (`frames`, the union of the clips), at `shortSide`; views are
/// cut from those decoded frames.
public struct ViewPlan: Sendable, Equatable {
    public var clips: [[Int]]
    /// Sorted, unique: what to decode.
    public var frames: [Int]
    public var resizedWidth: Int
    public var resizedHeight: Int
    public var views: [TestView]
    /// Side of every view's square (the crop size).
    public var viewSide: Int

    public var decodeFormat: FrameFormat {
        FrameFormat(size: .exact(width: resizedWidth, height: resizedHeight))
    }

    public init(clips: [[Int]], width: Int, height: Int, shortSide: Int = 256, crops: TestCrops) {
        self.clips = clips
        frames = Array(Set(clips.joined())).sorted()
        (resizedWidth, resizedHeight) = scaledToShortSide(width: width, height: height, side: shortSide)
        let boxes: [(box: CropBox, flip: Bool)]
        switch crops {
        case .three(let size):
            boxes = threeCropBoxes(width: resizedWidth, height: resizedHeight, size: size).map { ($0, false) }
            viewSide = size
        case .center(let size):
            boxes = [
                (centerCropBox(width: resizedWidth, height: resizedHeight, cropWidth: size, cropHeight: size), false)
            ]
            viewSide = size
        case .ten(let size):
            boxes = tenCropBoxes(width: resizedWidth, height: resizedHeight, size: size)
            viewSide = size
        }
        // Clip-major, as mmaction2 stacks them: clip 0's crops, then clip 1's, …
        views = clips.indices.flatMap { c in boxes.map { TestView(clip: c, box: $0.box, flip: $0.flip) } }
    }

    /// Floats per view: 3 × T × side × side.
    public var viewFloats: Int { 3 * (clips.first?.count ?? 0) * viewSide * viewSide }

    /// Writes every view, normalised, as V × C × T × side × side floats.
    /// `decoded` holds `frames` in order, each resizedHeight × resizedWidth × 3 bytes.
    public func writeViews(
        decoded: UnsafePointer<UInt8>, normalization: Normalization,
        into destination: UnsafeMutablePointer<Float>
    ) {
        let frameBytes = resizedWidth * resizedHeight * 3
        var position: [Int: Int] = [:]
        for (i, f) in frames.enumerated() { position[f] = i }
        for (v, view) in views.enumerated() {
            let sources = clips[view.clip].map { decoded + position[$0]! * frameBytes }
            normalizeClip(
                frames: sources, width: resizedWidth, box: view.box, flip: view.flip,
                normalization: normalization, into: destination + v * viewFloats)
        }
    }
}
