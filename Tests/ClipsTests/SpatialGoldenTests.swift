import Foundation
import TestSupport
import Testing
import VideoIO

@testable import Clips

/// `Fixtures/golden/spatial.json`: crops made the mmaction2 way (resize the
/// whole frame with torch bilinear = cv2 INTER_LINEAR, then crop and flip) by
/// tools/golden/make_spatial_golden.py.
private struct SpatialGolden: Decodable {
    struct Case: Decodable {
        let kind: String
        let box: [Int]
        let resized: [Int]
        let flip: Bool
        let file: String
    }
    let source: String
    let frame: Int
    let cases: [Case]
}

/// ClipKit's floats back to 0...255 pixels, H×W×3 (T = 1).
private func denormalize(_ values: [Float], side: Int) -> [UInt8] {
    let n = Normalization.imagenet
    var out = [UInt8](repeating: 0, count: side * side * 3)
    for c in 0..<3 {
        for i in 0..<(side * side) {
            let v = values[c * side * side + i] * n.std[c] + n.mean[c]
            out[i * 3 + c] = UInt8(max(0, min(255, v.rounded())))
        }
    }
    return out
}

@Suite struct SpatialGoldenTests {
    private let golden: SpatialGolden = {
        let url = URL(fileURLWithPath: fixture("golden/spatial.json"))
        return try! JSONDecoder().decode(SpatialGolden.self, from: Data(contentsOf: url))
    }()

    /// Test views: the frame is decoded once at 171×128 (swscale bilinear) and the
    /// three crops are cut from it, so boxes are exact and only the resamplers
    /// differ: swscale scales the Y and chroma planes, the golden scales RGB
    /// made with nearest chroma; saturated colour bars show that most.
    /// Tolerance: PSNR ≥ 30 dB.
    @Test func threeCropViewsMatchResizeThenCrop() throws {
        let decoder = try VideoDecoder(path: fixture(golden.source))
        let plan = ViewPlan(clips: [[golden.frame]], width: 160, height: 120, shortSide: 128, crops: .three(128))
        #expect(plan.resizedWidth == 171 && plan.resizedHeight == 128)
        let decoded = try decoder.frames(at: plan.frames, format: plan.decodeFormat).flatMap(\.pixels)
        var out = [Float](repeating: 0, count: plan.views.count * plan.viewFloats)
        decoded.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer {
                plan.writeViews(decoded: d.baseAddress!, normalization: .imagenet, into: $0.baseAddress!)
            }
        }
        for c in golden.cases where c.kind == "three" {
            let v = golden.cases.filter { $0.kind == "three" }.firstIndex { $0.file == c.file }!
            #expect(
                [plan.views[v].box.x, plan.views[v].box.y, plan.views[v].box.width, plan.views[v].box.height] == c.box)
            let got = denormalize(Array(out[(v * plan.viewFloats)..<((v + 1) * plan.viewFloats)]), side: 128)
            let value = psnr(got, try FixtureExpectations.reference("../golden/" + c.file))
            #expect(value >= 30, "view \(v): PSNR \(value) dB")
        }
    }

    /// Training: ClipKit decodes only the source pixels covering the crop drawn
    /// on the 192×144 frame, at the scale that makes the crop 112 px, then cuts
    /// and flips it (the crop lands within half an output pixel).
    /// Decoding the whole 192×144 frame and cropping exactly gives 29.0 dB against
    /// the golden (resamplers alone); decoding only the covering region places
    /// the crop 0.2 px off here, which costs ~2 dB on these hard edges.
    /// Tolerance: PSNR ≥ 26 dB.
    @Test func trainCropMatchesResizeCropFlip() throws {
        let c = golden.cases.first { $0.kind == "train" }!
        let box = CropBox(x: c.box[0], y: c.box[1], width: c.box[2], height: c.box[3])
        let sample = SpatialSample(
            resizedBox: box, resizedWidth: c.resized[0], resizedHeight: c.resized[1],
            sourceWidth: 160, sourceHeight: 120, outputSide: c.box[2], flip: c.flip)
        let decoder = try VideoDecoder(path: fixture(golden.source))
        let frame = try decoder.frames(at: [golden.frame], format: sample.decodeFormat)[0]
        let side = c.box[2]
        #expect(frame.width >= side && frame.height >= side && frame.width < side + 8)
        var out = [Float](repeating: 0, count: 3 * side * side)
        frame.pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer {
                normalizeClip(
                    frames: [p.baseAddress!], width: frame.width, box: sample.outputBox,
                    flip: sample.flip, normalization: .imagenet, into: $0.baseAddress!)
            }
        }
        let value = psnr(denormalize(out, side: side), try FixtureExpectations.reference("../golden/" + c.file))
        #expect(value >= 26, "PSNR \(value) dB")
    }
}
