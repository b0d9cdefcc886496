import Support

/// A seeded, splittable random generator: the draws for sample `i` of epoch
/// `e` depend only on (seed, e, i), so a clip is the same whatever the worker
/// count or the order in which workers take samples. SplitMix64 underneath.
public struct SampleRNG: RandomNumberGenerator, Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// The stream for one sample of one epoch.
    public init(seed: UInt64, epoch: Int, sample: Int) {
        var mixer = SampleRNG(seed: seed)
        let a = mixer.next()
        mixer = SampleRNG(seed: a ^ (UInt64(bitPattern: Int64(epoch)) &* 0x9E37_79B9_7F4A_7C15))
        let b = mixer.next()
        generator = SplitMix64(seed: b ^ (UInt64(bitPattern: Int64(sample)) &* 0xD1B5_4A32_D192_ED03))
    }

    public mutating func next() -> UInt64 { generator.next() }

    /// numpy's `randint(upper)`: uniform in 0..<upper (upper ≥ 1).
    public mutating func int(below upper: Int) -> Int {
        precondition(upper > 0, "int(below:) needs a positive bound")
        return Int.random(in: 0..<upper, using: &self)
    }

    /// Python's `random.randint(a, b)`: uniform in a...b.
    public mutating func int(in range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// numpy's `uniform(a, b)`: uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double {
        a == b ? a : Double.random(in: a..<b, using: &self)
    }
}
