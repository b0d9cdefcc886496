import Clips
import Foundation
import Loader

/// A manifest restricted to some of its classes, relabelled 0..<kept.count.
public struct ClassSubset: Sendable {
    public var manifest: Manifest
    /// The kept classes' names, by new label.
    public var classes: [String]
    /// The kept classes' old labels, by new label.
    public var kept: [Int]
}

/// The Deep Analysis supplement's Mini-Kinetics / Mini-SSV2 recipe: a random
/// `fraction` of the classes (at least one), chosen by `seed` alone, with
/// every video of those classes; new labels follow the old order.
public func subsetClasses(_ manifest: Manifest, classes: [String], fraction: Double, seed: UInt64) throws -> ClassSubset
{
    guard fraction > 0, fraction <= 1 else {
        throw PrepError(path: manifest.source, reason: "the class fraction must be in (0, 1], got \(fraction)")
    }
    try manifest.checkLabels(classes: classes.count)
    var order = Array(classes.indices)
    var rng = SampleRNG(seed: seed)
    for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(below: i + 1)) }
    let kept = order.prefix(max(1, Int((fraction * Double(classes.count)).rounded()))).sorted()
    let newLabel = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1, $0) })
    let entries = manifest.entries.compactMap { entry -> ManifestEntry? in
        guard let label = newLabel[entry.label] else { return nil }
        var e = entry
        e.label = label
        return e
    }
    return ClassSubset(
        manifest: Manifest(entries: entries, source: manifest.source), classes: kept.map { classes[$0] }, kept: kept)
}
