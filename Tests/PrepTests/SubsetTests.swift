import Foundation
import Loader
import Prep
import Testing

@Suite struct SubsetTests {
    /// 10 classes × 3 videos, labels by name.
    func dataset() -> (Manifest, [String]) {
        let names = (0..<10).map { "class\($0)" }
        let entries = (0..<30).map { ManifestEntry(path: "/v/\($0 % 10)/\($0).mp4", label: $0 % 10) }
        return (Manifest(entries: entries, source: "all.csv"), names)
    }

    @Test func keepsAFractionOfTheClassesWithAllTheirVideosRelabelled() throws {
        let (m, names) = dataset()
        let subset = try subsetClasses(m, classes: names, fraction: 0.5, seed: 7)
        #expect(subset.classes.count == 5 && subset.kept == subset.kept.sorted())
        #expect(subset.classes == subset.kept.map { names[$0] })
        #expect(subset.manifest.count == 15)
        for e in subset.manifest.entries {
            // The new label names the same class the video's folder says.
            #expect(subset.classes[e.label] == "class\(e.path.split(separator: "/")[1])")
        }
        // The choice depends on the seed alone.
        #expect(try subsetClasses(m, classes: names, fraction: 0.5, seed: 7).kept == subset.kept)
        let others = Set((0..<8).map { try! subsetClasses(m, classes: names, fraction: 0.5, seed: UInt64($0)).kept })
        #expect(others.count > 1, "different seeds choose different classes")
        #expect(try subsetClasses(m, classes: names, fraction: 0.01, seed: 1).classes.count == 1)
        #expect(try subsetClasses(m, classes: names, fraction: 1, seed: 1).manifest.count == 30)
    }

    @Test func badFractionsAndLabelsAreNamed() {
        let (m, names) = dataset()
        #expect(throws: PrepError.self) { try subsetClasses(m, classes: names, fraction: 0, seed: 0) }
        #expect(
            throws: ManifestError(file: "all.csv", line: nil, reason: "label 5 of /v/5/5.mp4 is outside the 5 classes")
        ) {
            try subsetClasses(m, classes: Array(names.prefix(5)), fraction: 0.5, seed: 0)
        }
    }
}
