import Clips
import Foundation
import Loader
import TestSupport
import Testing
import VideoIO

@testable import Prep

/// A 28×28 "digit" whose orientation is easy to measure: a 20×4 bar with a
/// blob at one end (so its centroid is off its centre of rotation too).
let barDigit: [UInt8] = (0..<(28 * 28)).map { i in
    let (x, y) = (i % 28, i / 28)
    return (4..<24).contains(x) && (12..<16).contains(y) ? 255 : 0
}

/// Mass, centroid and principal-axis angle (radians, screen clockwise) of a frame.
func moments(_ f: [UInt8], width: Int, height: Int) -> (mass: Double, x: Double, y: Double, angle: Double) {
    var m = 0.0
    var mx = 0.0
    var my = 0.0
    for y in 0..<height {
        for x in 0..<width {
            let v = Double(f[y * width + x])
            m += v
            mx += v * Double(x)
            my += v * Double(y)
        }
    }
    let (cx, cy) = (mx / m, my / m)
    var u20 = 0.0
    var u02 = 0.0
    var u11 = 0.0
    for y in 0..<height {
        for x in 0..<width {
            let v = Double(f[y * width + x])
            let dx = Double(x) - cx
            let dy = Double(y) - cy
            u20 += v * dx * dx
            u02 += v * dy * dy
            u11 += v * dx * dy
        }
    }
    return (m, cx, cy, 0.5 * atan2(2 * u11, u20 - u02))
}

/// Per-frame angle steps, unwrapped modulo π.
func angleSteps(_ angles: [Double]) -> [Double] {
    zip(angles.dropFirst(), angles).map { a, b in
        var d = a - b
        while d > .pi / 2 { d -= .pi }
        while d < -.pi / 2 { d += .pi }
        return d
    }
}

func render(label: Int, seed: UInt64 = 1, width: Int = 28, height: Int = 28) -> [(
    mass: Double, x: Double, y: Double, angle: Double
)] {
    var rng = SampleRNG(seed: seed)
    let poses = videoMNISTPoses(label: label, frames: 30, width: width, height: height, rng: &rng)
    return poses.map {
        moments(
            renderDigit(barDigit[...], rows: 28, columns: 28, pose: $0, width: width, height: height), width: width,
            height: height)
    }
}

@Suite struct VideoMNISTMotionTests {
    let turn = 1.5 * Double.pi / 29

    @Test func translationClassesMoveAlongTheirAxisAtAConstantSpeed() {
        for seed: UInt64 in 1...6 {
            let zero = render(label: 0, seed: seed, width: 80, height: 60)
            let one = render(label: 1, seed: seed, width: 80, height: 60)
            let dx = zip(zero.dropFirst(), zero).map { $0.x - $1.x }
            let dy = zip(one.dropFirst(), one).map { $0.y - $1.y }
            #expect(
                dx.allSatisfy { abs($0 - dx[0]) < 0.05 } && abs(dx[0]) > 0.5, "class 0 moves horizontally, steadily")
            #expect(zero.allSatisfy { abs($0.y - zero[0].y) < 0.01 }, "and not vertically")
            #expect(dy.allSatisfy { abs($0 - dy[0]) < 0.05 } && abs(dy[0]) > 0.5, "class 1 moves vertically")
            #expect(one.allSatisfy { abs($0.x - one[0].x) < 0.01 })
        }
        // The paper's random variation: both directions occur.
        let directions = Set(
            (1...20).map { render(label: 0, seed: UInt64($0), width: 80, height: 60) }.map { $0[1].x > $0[0].x })
        #expect(directions == [true, false])
    }

    @Test func scaleClassesShrinkThenGrowOrGrow() {
        let two = render(label: 2).map(\.mass)
        let six = render(label: 6, width: 80, height: 60).map(\.mass)
        let low = two.indices.min { two[$0] < two[$1] }!
        #expect((13...16).contains(low) && two[low] < 0.2 * two[0], "class 2: almost vanishes mid-clip")
        #expect(two.last! > 0.9 * two[0], "and comes back")
        #expect(zip(six.dropFirst(), six).allSatisfy { $0 > $1 }, "class 6 grows")
    }

    @Test func rotationClassesTurnTheirWay() {
        let cw = angleSteps(render(label: 3).map(\.angle))
        let ccw = angleSteps(render(label: 4).map(\.angle))
        #expect(cw.allSatisfy { abs($0 - turn) < 0.02 }, "class 3: clockwise, \(cw)")
        #expect(ccw.allSatisfy { abs($0 + turn) < 0.02 }, "class 4: counter-clockwise")
        let eight = angleSteps(render(label: 8).map(\.angle))
        #expect(
            eight.prefix(13).allSatisfy { $0 > 0 } && eight.suffix(13).allSatisfy { $0 < 0 },
            "class 8: clockwise, then back")
        let six = angleSteps(render(label: 6, width: 80, height: 60).map(\.angle))
        #expect(six.allSatisfy { abs($0 - turn) < 0.03 }, "class 6 turns clockwise while growing")
        let seven = render(label: 7, width: 80, height: 60)
        #expect(angleSteps(seven.map(\.angle)).allSatisfy { abs($0 + turn) < 0.03 }, "class 7 turns counter-clockwise")
    }

    @Test func circleClassKeepsItsRadius() {
        for seed: UInt64 in 1...4 {
            let five = render(label: 5, seed: seed, width: 80, height: 60)
            // The bar's centroid is its centre of rotation here, so it traces the path.
            let r = five.map { (($0.x - 39.5) * ($0.x - 39.5) + ($0.y - 29.5) * ($0.y - 29.5)).squareRoot() }
            #expect(r.allSatisfy { abs($0 - r[0]) < 0.1 } && r[0] > 4, "radius \(r[0])")
            #expect(abs(five.last!.x - five[0].x) < 0.1, "one full turn")
        }
    }
}

@Suite struct TRMNISTTests {
    /// Each clip translates at one constant velocity and turns at one constant rate.
    @Test func translateRotateClipsMoveAndTurnSteadily() {
        var speeds = Set<Bool>()
        for seed: UInt64 in 1...5 {
            var rng = SampleRNG(seed: seed)
            let poses = translateRotatePoses(frames: 20, width: 80, height: 60, rng: &rng)
            let m = poses.map {
                moments(
                    renderDigit(barDigit[...], rows: 28, columns: 28, pose: $0, width: 80, height: 60), width: 80,
                    height: 60)
            }
            let dx = zip(m.dropFirst(), m).map { $0.x - $1.x }
            let dy = zip(m.dropFirst(), m).map { $0.y - $1.y }
            #expect(
                dx.allSatisfy { abs($0 - dx[0]) < 0.2 } && dy.allSatisfy { abs($0 - dy[0]) < 0.2 },
                "constant velocity: \(dx) \(dy)")
            let turns = angleSteps(m.map(\.angle))
            #expect(turns.allSatisfy { abs($0 - turns[0]) < 0.01 }, "constant angular speed")
            speeds.insert(dx[0] > 0)
        }
        #expect(speeds.count == 2, "random directions")
    }
}

@Suite struct SyntheticDatasetTests {
    /// Writes IDX files holding 40 bars labelled 0–9 (four each).
    func writeIDX(in folder: URL) throws -> (String, String) {
        var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 28, 0, 0, 0, 28]
        var labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 40]
        for i in 0..<40 {
            images += barDigit
            labels.append(UInt8(i % 10))
        }
        let (ip, lp) = (
            folder.appendingPathComponent("images-idx3-ubyte"), folder.appendingPathComponent("labels-idx1-ubyte")
        )
        try Foundation.Data(images).write(to: ip)
        try Foundation.Data(labels).write(to: lp)
        return (ip.path, lp.path)
    }

    @Test func writesBalancedSplitsWhoseDecodedFramesShowTheMotion() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vmnist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, labels) = try writeIDX(in: folder)
        var o = SyntheticOptions()
        (o.trainImages, o.trainLabels, o.testImages, o.testLabels) = (images, labels, images, labels)
        (o.train, o.val, o.test, o.width, o.height, o.jobs, o.quiet) = (20, 0, 10, 80, 60, 2, true)
        let out = folder.appendingPathComponent("out").path
        let manifests = try writeSyntheticDataset(out: out, options: o)
        #expect(manifests.map { ($0 as NSString).lastPathComponent } == ["train.csv", "test.csv"])
        let train = try Manifest.load(manifests[0])
        #expect(
            train.count == 20 && Dictionary(grouping: train.entries, by: \.label).values.allSatisfy { $0.count == 2 })
        for e in train.entries {
            #expect(e.frames == 30 && e.width == 80 && e.height == 60)
            let keys = (e.keyframes ?? []) + [30]
            #expect(zip(keys.dropFirst(), keys).allSatisfy { $0 - $1 <= 16 }, "keyframe gaps ≤ 16")
        }
        // Class 0's centroid path, measured on decoded frames, is the rendered one.
        let zero = train.entries.first { $0.label == 0 }!
        let decoder = try VideoDecoder(path: zero.path)
        let frames = try decoder.frames(at: Array(0..<30), format: .native)
        let decoded = frames.map { f in
            moments(stride(from: 0, to: f.pixels.count, by: 3).map { f.pixels[$0] }, width: 80, height: 60)
        }
        let steps = zip(decoded.dropFirst(), decoded).map { $0.x - $1.x }
        #expect(
            steps.allSatisfy { abs($0 - steps[0]) < 0.3 } && abs(steps[0]) > 0.3,
            "decoded class-0 clip moves steadily sideways: \(steps)")
        // Resumable: a second run keeps every file.
        let before = try FileManager.default.attributesOfItem(atPath: zero.path)[.modificationDate] as! Date
        _ = try writeSyntheticDataset(out: out, options: o)
        #expect(try FileManager.default.attributesOfItem(atPath: zero.path)[.modificationDate] as! Date == before)
    }

    /// `--motion-only`: the label is still the motion (class 0 slides
    /// sideways), but the garment is drawn at random, so garments of other
    /// classes appear under a class. Each image here is a bar whose brightness
    /// (60 + 20 × its label) tells which garment a decoded video shows.
    @Test func motionOnlyDrawsTheGarmentAtRandom() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vmnist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 40, 0, 0, 0, 28, 0, 0, 0, 28]
        var labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 40]
        for i in 0..<40 {
            images += barDigit.map { $0 == 0 ? 0 : UInt8(60 + 20 * (i % 10)) }
            labels.append(UInt8(i % 10))
        }
        let (ip, lp) = (folder.appendingPathComponent("images").path, folder.appendingPathComponent("labels").path)
        try Foundation.Data(images).write(to: URL(fileURLWithPath: ip))
        try Foundation.Data(labels).write(to: URL(fileURLWithPath: lp))
        var o = SyntheticOptions()
        (o.trainImages, o.trainLabels, o.testImages, o.testLabels) = (ip, lp, ip, lp)
        (o.train, o.val, o.test, o.width, o.height, o.frames, o.jobs, o.quiet) = (20, 0, 0, 40, 40, 8, 2, true)
        o.motionOnly = true
        let out = folder.appendingPathComponent("out").path
        let train = try Manifest.load(try writeSyntheticDataset(out: out, options: o)[0])
        let classes = try String(contentsOfFile: out + "/classes.txt", encoding: .utf8)
        #expect(classes.split(separator: "\n").map(String.init) == videoMNISTMotions)
        var garments: [(label: Int, garment: Int)] = []
        for e in train.entries {
            let f = try VideoDecoder(path: e.path).frames(at: [0], format: .native)[0]
            let brightest = Int(stride(from: 0, to: f.pixels.count, by: 3).map { f.pixels[$0] }.max()!)
            garments.append((e.label, Int((Double(brightest - 60) / 20).rounded())))
        }
        #expect(Set(train.entries.map(\.label)) == Set(0..<10), "balanced over the motions")
        #expect(garments.filter { $0.label != $0.garment }.count >= 10, "garments apart from labels: \(garments)")
        #expect(Set(garments.map(\.garment)).count >= 5, "many garments drawn: \(garments)")
        o.kind = .trMNIST
        #expect(throws: PrepError.self) { try writeSyntheticDataset(out: out + "-tr", options: o) }
    }

    @Test func badIDXFilesAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let bogus = folder.appendingPathComponent("bogus").path
        try Foundation.Data("hello".utf8).write(to: URL(fileURLWithPath: bogus))
        #expect(
            throws: PrepError(
                path: bogus, reason: "not an IDX image file (magic 0x00000803, unsigned bytes, 3 dimensions)")
        ) {
            try IDXImages.read(images: bogus, labels: bogus)
        }
        #expect(throws: PrepError(path: "/nonexistent/x", reason: "no such file")) {
            try IDXImages.read(images: "/nonexistent/x", labels: bogus)
        }
    }
}
