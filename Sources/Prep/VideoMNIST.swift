import CZlib
import Clips
import Foundation
import Loader
import Support
import VideoIO

/// Images and labels of an IDX file pair (MNIST, Fashion-MNIST), gzip or not.
public struct IDXImages: Sendable {
    public var count: Int, rows: Int, columns: Int
    public var pixels: [UInt8]
    public var labels: [Int]

    public func image(_ i: Int) -> ArraySlice<UInt8> { pixels[(i * rows * columns)..<((i + 1) * rows * columns)] }

    public static func read(images: String, labels: String) throws -> IDXImages {
        let imageBytes = try readMaybeGzip(images)
        let labelBytes = try readMaybeGzip(labels)
        func u32(_ b: [UInt8], _ at: Int) -> Int { b[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        guard imageBytes.count >= 16, u32(imageBytes, 0) == 0x803 else {
            throw PrepError(
                path: images, reason: "not an IDX image file (magic 0x00000803, unsigned bytes, 3 dimensions)")
        }
        guard labelBytes.count >= 8, u32(labelBytes, 0) == 0x801 else {
            throw PrepError(path: labels, reason: "not an IDX label file (magic 0x00000801)")
        }
        let (n, rows, columns) = (u32(imageBytes, 4), u32(imageBytes, 8), u32(imageBytes, 12))
        guard imageBytes.count == 16 + n * rows * columns else {
            throw PrepError(
                path: images,
                reason: "holds \(imageBytes.count - 16) pixel bytes, its header says \(n)×\(rows)×\(columns)")
        }
        guard u32(labelBytes, 4) == n, labelBytes.count == 8 + n else {
            throw PrepError(path: labels, reason: "has \(labelBytes.count - 8) labels for \(n) images in \(images)")
        }
        return IDXImages(
            count: n, rows: rows, columns: columns, pixels: Array(imageBytes[16...]),
            labels: labelBytes[8...].map(Int.init))
    }
}

/// The whole file, gunzipped when it is gzip (zlib reads plain files as they are).
func readMaybeGzip(_ path: String) throws -> [UInt8] {
    guard FileManager.default.fileExists(atPath: path) else { throw PrepError(path: path, reason: "no such file") }
    guard let file = gzopen(path, "rb") else { throw PrepError(path: path, reason: "cannot open") }
    defer { gzclose(file) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = gzread(file, &chunk, UInt32(chunk.count))
        if n < 0 { throw PrepError(path: path, reason: "damaged gzip data") }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<Int(n)])
    }
    return out
}

/// Per-frame affine parameters of the digit: scale, clockwise rotation
/// (radians, as seen on screen), and translation of its centre from the
/// canvas centre (pixels, x right, y down).
public struct DigitPose: Sendable, Equatable {
    public var scale: Double, rotation: Double, tx: Double, ty: Double
}

/// The 3DTT paper's Video-MNIST motions (its Table 1), by class 0–9, over
/// `frames` frames on a canvas `width`×`height` (28×28 in the paper).
/// Translations keep the digit's ink in frame and grow with the canvas. Random variations as the paper lists:
/// classes 0, 1, 7 start left or right (up or down) at a random speed, class 5
/// circles either way with a random radius, class 9 moves and turns at random;
/// classes 2 and 6 shrink almost to nothing or grow partly out of frame.
public func videoMNISTPoses<G: RandomNumberGenerator>(label: Int, frames: Int, width: Int, height: Int, rng: inout G)
    -> [DigitPose]
{
    // Travel that keeps a digit's ink (about 20 px across) inside the canvas.
    let reachX = max(1, Double(width) / 2 - 10)
    let reachY = max(1, Double(height) / 2 - 10)
    let half = max(Double(frames - 1) / 2, 1)
    let turn = 1.5 * Double.pi / Double(max(frames - 1, 1))  // 270° over the clip
    let sign = { (rng: inout G) -> Double in Bool.random(using: &rng) ? 1 : -1 }
    // Per-clip random draws, whichever the class uses.
    let direction = sign(&rng)
    let speed = Double.random(in: 0.5...1, using: &rng)
    let radius = Double.random(in: 0.5...1, using: &rng) * min(reachX, reachY)
    let (vx, vy) = (
        Double.random(in: -1...1, using: &rng) * reachX / half, Double.random(in: -1...1, using: &rng) * reachY / half
    )
    let spin = Double.random(in: -1...1, using: &rng) * turn
    let middle = Double(frames - 1) / 2
    return (0..<frames).map { t in
        let u = frames > 1 ? Double(t) / Double(frames - 1) : 0
        let k = Double(t) - middle
        switch label {
        case 0: return DigitPose(scale: 1, rotation: 0, tx: direction * speed * reachX / half * k, ty: 0)
        case 1: return DigitPose(scale: 1, rotation: 0, tx: 0, ty: direction * speed * reachY / half * k)
        case 2: return DigitPose(scale: 1 - 0.75 * sin(Double.pi * u), rotation: 0, tx: 0, ty: 0)
        case 3: return DigitPose(scale: 1, rotation: turn * Double(t), tx: 0, ty: 0)
        case 4: return DigitPose(scale: 1, rotation: -turn * Double(t), tx: 0, ty: 0)
        case 5:
            let angle = direction * 2 * Double.pi * u
            return DigitPose(scale: 1, rotation: 0, tx: radius * cos(angle), ty: radius * sin(angle))
        case 6: return DigitPose(scale: 1 + 0.9 * u, rotation: turn * Double(t), tx: 0, ty: 0)
        case 7:
            return DigitPose(scale: 1, rotation: -turn * Double(t), tx: direction * speed * reachX / half * k, ty: 0)
        case 8: return DigitPose(scale: 1, rotation: Double.pi / 2 * sin(Double.pi * u), tx: 0, ty: 0)
        default: return DigitPose(scale: 1, rotation: spin * Double(t), tx: vx * k, ty: vy * k)
        }
    }
}

/// TR-MNIST (STDCF paper): a digit translating at a constant random velocity
/// and rotating at a constant random angular speed.
public func translateRotatePoses<G: RandomNumberGenerator>(frames: Int, width: Int, height: Int, rng: inout G)
    -> [DigitPose]
{
    let (vx, vy) = (
        Double.random(in: -0.7...0.7, using: &rng) * Double(width) / 28,
        Double.random(in: -0.7...0.7, using: &rng) * Double(height) / 28
    )
    let spin = Double.random(in: -0.15...0.15, using: &rng)
    let middle = Double(frames - 1) / 2
    return (0..<frames).map { t in
        DigitPose(scale: 1, rotation: spin * Double(t), tx: vx * (Double(t) - middle), ty: vy * (Double(t) - middle))
    }
}

/// Renders a `rows`×`columns` digit at `pose` on a width×height canvas
/// (bilinear, black outside the digit). Forward map: canvas point =
/// centre + t + s·R(r)·(digit point − digit centre), R clockwise on screen.
public func renderDigit(_ digit: ArraySlice<UInt8>, rows: Int, columns: Int, pose: DigitPose, width: Int, height: Int)
    -> [UInt8]
{
    let digit = Array(digit)
    var out = [UInt8](repeating: 0, count: width * height)
    let (cx, cy) = (Double(width - 1) / 2 + pose.tx, Double(height - 1) / 2 + pose.ty)
    let (dx, dy) = (Double(columns - 1) / 2, Double(rows - 1) / 2)
    let (c, s) = (cos(pose.rotation), sin(pose.rotation))
    func at(_ x: Int, _ y: Int) -> Double {
        x < 0 || y < 0 || x >= columns || y >= rows ? 0 : Double(digit[y * columns + x])
    }
    for y in 0..<height {
        for x in 0..<width {
            // Inverse map: R(−r)·(p − centre)/s.
            let (px, py) = ((Double(x) - cx) / pose.scale, (Double(y) - cy) / pose.scale)
            let (sxp, syp) = (c * px + s * py + dx, -s * px + c * py + dy)
            let (x0, y0) = (Int(floor(sxp)), Int(floor(syp)))
            let (fx, fy) = (sxp - Double(x0), syp - Double(y0))
            let v =
                (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy
                * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
            out[y * width + x] = UInt8(max(0, min(255, v.rounded())))
        }
    }
    return out
}

public struct SyntheticOptions: Sendable {
    public enum Kind: String, Sendable {
        case videoMNIST = "video-mnist"
        case trMNIST = "tr-mnist"
    }
    public var kind = Kind.videoMNIST
    public var trainImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
    public var trainLabels = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"
    public var testImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    public var testLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
    /// Videos per split, balanced over the ten classes.
    public var train = 1000, val = 200, test = 200
    public var frames = 30
    public var width = 28, height = 28
    public var seed: UInt64 = 0
    /// Video-MNIST with the garment drawn at random per video from the
    /// split's images, so that only the motion names the class.
    public var motionOnly = false
    public var jobs = 1
    public var quiet = false
    public var encode = EncodeOptions(gop: 16, preset: "fast", crf: 18)
    public init() {}
}

/// Fashion-MNIST's class names, used when the source is Fashion-MNIST.
public let fashionMNISTClasses = [
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"
]

/// The class names of motion-only Video-MNIST: its Table 1 motions by class.
public let videoMNISTMotions = [
    "slide-x", "slide-y", "shrink-grow", "turn-clockwise", "turn-anticlockwise", "circle", "grow-turning",
    "slide-turning", "rock", "drift-spin"
]

/// Writes Video-MNIST (or TR-MNIST) as H.264 files under `out`:
/// `{train,val,test}/<class>/<source index>.mp4`, manifests
/// `{train,val,test}.csv` and `classes.txt`. Train and val come from the
/// training IDX file (val from its end, as MNIST's usual 55k/5k split), test
/// from the test file; each split takes the first images of every class.
/// Clip i's motion is seeded by (seed, split, i), so runs are reproducible
/// and resumable (existing videos are kept). With `motionOnly` a video's
/// label (its motion) comes from the balanced choice as usual, but the garment
/// it shows is drawn at random from the split, and its name is the slot's
/// image index. Returns the manifest paths.
public func writeSyntheticDataset(out: String, options o: SyntheticOptions) throws -> [String] {
    let train = try IDXImages.read(images: o.trainImages, labels: o.trainLabels)
    let test = try IDXImages.read(images: o.testImages, labels: o.testLabels)
    guard o.width % 2 == 0, o.height % 2 == 0 else {
        throw PrepError(path: out, reason: "--size must be even (H.264 4:2:0)")
    }
    guard !o.motionOnly || o.kind == .videoMNIST else {
        throw PrepError(path: out, reason: "--motion-only is for video-mnist (tr-mnist has no classes)")
    }
    let classes =
        o.motionOnly
        ? videoMNISTMotions : o.trainImages.contains("fashion") ? fashionMNISTClasses : (0..<10).map(String.init)
    let valStart = train.count - train.count / 12  // 55k/5k of 60k
    let plan: [(String, IDXImages, Range<Int>, Int)] = [
        ("train", train, 0..<valStart, o.train), ("val", train, valStart..<train.count, o.val),
        ("test", test, 0..<test.count, o.test)
    ]
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    try removeLeftovers(in: out)
    var manifests: [String] = []
    for (splitNumber, (split, source, range, wanted)) in plan.enumerated() where wanted > 0 {
        let chosen = balancedIndices(source.labels, in: range, count: wanted)
        guard chosen.count == wanted else {
            throw PrepError(
                path: o.trainImages, reason: "\(split): only \(chosen.count) images for \(wanted) balanced videos")
        }
        let progress = ProgressBar(total: chosen.count, unit: "\(split) videos", quiet: o.quiet)
        var entries = [ManifestEntry?](repeating: nil, count: chosen.count)
        var failure: Error?
        let lock = NSLock()
        forEachIndex(chosen.count, jobs: o.jobs) { i in
            lock.lock()
            let stop = failure != nil
            lock.unlock()
            guard !stop else { return }
            let image = chosen[i]
            let label = source.labels[image]
            let relative = "\(split)/\(classes[label])/\(image).mp4"
            do {
                var rng = SampleRNG(seed: o.seed, epoch: splitNumber, sample: image)
                let poses =
                    o.kind == .videoMNIST
                    ? videoMNISTPoses(label: label, frames: o.frames, width: o.width, height: o.height, rng: &rng)
                    : translateRotatePoses(frames: o.frames, width: o.width, height: o.height, rng: &rng)
                let garment = o.motionOnly ? Int.random(in: range, using: &rng) : image
                let video = try writeDigitVideo(
                    source.image(garment), rows: source.rows, columns: source.columns, poses: poses,
                    path: (out as NSString).appendingPathComponent(relative), options: o)
                lock.lock()
                entries[i] = ManifestEntry(
                    path: relative, label: label, frames: video.frames, fps: video.fps,
                    width: video.width, height: video.height, keyframes: video.keyframes)
                lock.unlock()
                progress.advance()
            } catch {
                lock.lock()
                failure = failure ?? error
                lock.unlock()
            }
        }
        if let failure { throw failure }
        let manifest = (out as NSString).appendingPathComponent("\(split).csv")
        try Manifest(entries: entries.compactMap { $0 }).writeCSV(to: manifest)
        manifests.append(manifest)
    }
    try writeAtomically(
        Data((classes.joined(separator: "\n") + "\n").utf8), to: (out as NSString).appendingPathComponent("classes.txt")
    )
    return manifests
}

/// The first `count / 10` (+1 for the first `count % 10` classes) images of each class in `range`, in file order.
func balancedIndices(_ labels: [Int], in range: Range<Int>, count: Int) -> [Int] {
    var quota = (0..<10).map { count / 10 + ($0 < count % 10 ? 1 : 0) }
    var chosen: [Int] = []
    for i in range where (0..<10).contains(labels[i]) && quota[labels[i]] > 0 {
        quota[labels[i]] -= 1
        chosen.append(i)
    }
    return chosen
}

/// Renders and encodes one clip (temp file, then rename); an existing file is kept and described.
func writeDigitVideo(
    _ digit: ArraySlice<UInt8>, rows: Int, columns: Int, poses: [DigitPose], path: String,
    options o: SyntheticOptions
) throws -> EncodedVideo {
    if FileManager.default.fileExists(atPath: path) {
        return EncodedVideo(try VideoDecoder(path: path).metadata)
    }
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let partial = partialName(path)
    do {
        let writer = try VideoWriter(
            path: partial, width: o.width, height: o.height, fps: 30, layout: .gray, options: o.encode)
        for pose in poses {
            let frame = renderDigit(digit, rows: rows, columns: columns, pose: pose, width: o.width, height: o.height)
            try frame.withUnsafeBytes { try writer.write($0) }
        }
        let video = try writer.finish()
        guard rename(partial, path) == 0 else {
            throw PrepError(path: path, reason: "cannot rename the finished file into place")
        }
        return video
    } catch {
        try? FileManager.default.removeItem(atPath: partial)
        throw error
    }
}
