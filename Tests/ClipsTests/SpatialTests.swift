import Foundation
import TestSupport
import Testing
import VideoIO

@testable import Clips

private struct CropGolden: Decodable {
    struct Crops: Decodable {
        let width: Int, height: Int
        let three256: [[Int]]
        let center224: [Int]
    }
    let crops: [Crops]
}

private func box(_ a: [Int]) -> CropBox { CropBox(x: a[0], y: a[1], width: a[2], height: a[3]) }

@Suite struct CropGeometryTests {
    @Test func threeAndCenterCropsMatchMMAction2() throws {
        let url = URL(fileURLWithPath: fixture("golden/sampling.json"))
        let golden = try JSONDecoder().decode(CropGolden.self, from: Data(contentsOf: url))
        for c in golden.crops {
            #expect(
                threeCropBoxes(width: c.width, height: c.height, size: 256) == c.three256.map(box),
                "\(c.width)x\(c.height)")
            #expect(
                centerCropBox(width: c.width, height: c.height, cropWidth: 224, cropHeight: 224) == box(c.center224))
        }
    }

    @Test func tenCropOrderIsCornersThenCentreEachWithItsFlip() {
        let crops = tenCropBoxes(width: 341, height: 256, size: 224)
        #expect(crops.count == 10)
        #expect(crops.map(\.flip) == [false, true, false, true, false, true, false, true, false, true])
        #expect(crops[2].box == CropBox(x: 116, y: 0, width: 224, height: 224))  // 4·((341-224)//4) = 116
        #expect(crops[8].box == CropBox(x: 58, y: 16, width: 224, height: 224))
    }

    @Test func randomCropsStayInsideAndNeverTouchTheFarEdge() {
        for seed in 0..<500 {
            var rng = SampleRNG(seed: UInt64(seed))
            let b = randomCropBox(width: 341, height: 256, size: 224, rng: &rng)
            #expect(b.x >= 0 && b.x < 341 - 224 && b.y >= 0 && b.y < 256 - 224)
            let r = randomResizedCropBox(width: 341, height: 256, rng: &rng)
            #expect(r.x >= 0 && r.y >= 0 && r.x + r.width <= 341 && r.y + r.height <= 256)
            let area = Double(r.width * r.height) / Double(341 * 256)
            #expect(area >= 0.07 && area <= 1.0)
            let m = multiScaleCropBox(width: 341, height: 256, inputSize: 224, rng: &rng)
            #expect(m.x + m.width <= 341 && m.y + m.height <= 256)
            #expect([256, 224, 192, 168].contains(m.width) && [256, 224, 192, 168].contains(m.height))
        }
    }

    @Test func sourceBoxMapsBackToTheSourceFrame() {
        // 455x256 source resized to short side 320: 569x320; a 224 crop at (100, 50).
        let b = sourceBox(CropBox(x: 100, y: 50, width: 224, height: 224), resized: (569, 320), source: (455, 256))
        #expect(b == CropBox(x: 80, y: 40, width: 179, height: 179))
    }

    @Test func trainSampleIsInsideTheResizedFrame() {
        for seed in 0..<300 {
            var rng = SampleRNG(seed: UInt64(seed))
            let s = trainSpatialSample(width: 455, height: 256, rng: &rng)
            #expect((256...320).contains(s.resizedHeight))
            #expect(s.resizedBox.x + 224 <= s.resizedWidth && s.resizedBox.y + 224 <= s.resizedHeight)
            let crop = s.decodeFormat.crop!
            #expect(crop.x >= 0 && crop.y >= 0 && crop.x + crop.width <= 455 && crop.y + crop.height <= 256)
            guard case .exact(let w, let h) = s.decodeFormat.size else {
                Issue.record("size")
                continue
            }
            #expect(s.outputBox.x + 224 <= w && s.outputBox.y + 224 <= h)
            #expect(w < 224 + 8 && h < 224 + 8, "the decoded region barely exceeds the crop")
            #expect(s.outputSide == 224)
        }
    }
}

@Suite struct TrainCropKindTests {
    /// Rectangular boxes (RandomResizedCrop, MultiScaleCrop) still decode to a
    /// square output covering exactly the box.
    @Test(arguments: [TrainCrop.randomResized, .multiScale])
    func rectangularBoxesBecomeSquareOutputs(_ kind: TrainCrop) {
        for seed in 0..<200 {
            var rng = SampleRNG(seed: UInt64(seed))
            let s = trainSpatialSample(width: 455, height: 256, augment: TrainAugment(crop: kind), rng: &rng)
            guard case .exact(let w, let h) = s.decodeFormat.size, let crop = s.decodeFormat.crop else {
                Issue.record("format")
                continue
            }
            #expect(s.outputBox.width == 224 && s.outputBox.height == 224)
            #expect(s.outputBox.x + 224 <= w && s.outputBox.y + 224 <= h)
            #expect(crop.x + crop.width <= 455 && crop.y + crop.height <= 256)
            // The decoded region spans the box plus at most a couple of source pixels per side.
            let scaleX = Double(w) / Double(crop.width)
            let boxInSource = Double(s.resizedBox.width) * 455 / Double(s.resizedWidth)
            #expect(abs(224 / scaleX - boxInSource) < 3, "box width in source pixels")
        }
    }
}

@Suite struct StreamVariantTests {
    @Test func spatialVariantHalvesTheSideTemporalKeepsEveryGammaThFrame() {
        var rng = SampleRNG(seed: 9)
        let s = trainSpatialSample(width: 455, height: 256, variant: .spatial(beta: 2), rng: &rng)
        #expect(s.outputSide == 112 && s.outputBox.width == 112 && s.outputBox.height == 112)
        guard case .exact(let w, _) = s.decodeFormat.size else {
            Issue.record("size")
            return
        }
        #expect(w >= 112 && w < 120)
        let full = [3, 11, 19, 27, 35, 43, 51, 59]
        let temporal = StreamVariant.temporal(gamma: 2).frames(of: full)
        #expect(temporal == [3, 19, 35, 51])  // T/γ frames at interval τγ
        #expect(Set(temporal).isSubset(of: Set(full)))
        #expect(StreamVariant.full.frames(of: full) == full)
        #expect(StreamVariant.spatial(beta: 2).frames(of: full) == full)
    }
}

@Suite struct ViewPlanTests {
    @Test func thirtyViewPlanDecodesEachFrameOnce() throws {
        var rng = SampleRNG(seed: 0)
        let clips = try DenseSampling(clipLength: 8, frameInterval: 8, numClips: 10).clips(
            frameCount: 100, test: true, rng: &rng)
        let plan = ViewPlan(clips: clips, width: 455, height: 256, crops: .three(256))
        #expect(plan.views.count == 30)
        #expect(plan.frames == Array(Set(clips.joined())).sorted())
        #expect(plan.frames.count < 80, "overlapping clips share frames")
        #expect(plan.views[0].box.x == 0 && plan.views[1].box.x == 198 && plan.views[2].box.x == 99)
        #expect(plan.views[3].clip == 1)
    }

    @Test func writeViewsEqualsTheNaiveNormalisationOfEachCrop() {
        let width = 40
        let height = 32
        let frames: [[UInt8]] = (0..<5).map { (f: Int) -> [UInt8] in
            (0..<(width * height * 3)).map { (i: Int) -> UInt8 in UInt8((i * 7 + f * 13) % 256) }
        }
        let plan = ViewPlan(clips: [[0, 2, 4], [1, 2, 3]], width: width, height: height, shortSide: 32, crops: .ten(24))
        #expect(plan.frames == [0, 1, 2, 3, 4])
        let decoded = plan.frames.flatMap { frames[$0] }
        var out = [Float](repeating: .nan, count: plan.views.count * plan.viewFloats)
        decoded.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer {
                plan.writeViews(decoded: d.baseAddress!, normalization: .imagenet, into: $0.baseAddress!)
            }
        }
        for (v, view) in plan.views.enumerated() {
            let expected = normalizeClipNaive(
                frames: plan.clips[view.clip].map { frames[$0] }, width: width,
                box: view.box, flip: view.flip, normalization: .imagenet)
            let got = Array(out[(v * plan.viewFloats)..<((v + 1) * plan.viewFloats)])
            let worst = zip(got, expected).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "view \(v): max difference \(worst)")
        }
    }
}
