/// A seeded, splittable random generator: the draws for sample `i` of epoch
/// `e` depend only on (seed, e, i), so a clip is the same whatever the worker
/// count or the order in which workers take samples. SplitMix64 underneath.
public struct SampleRNG: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The stream for one sample of one epoch.
    public init(seed: UInt64, epoch: Int, sample: Int) {
        var mixer = SampleRNG(seed: seed)
        let a = mixer.next()
        mixer = SampleRNG(seed: a ^ (UInt64(bitPattern: Int64(epoch)) &* 0x9E37_79B9_7F4A_7C15))
        let b = mixer.next()
        state = b ^ (UInt64(bitPattern: Int64(sample)) &* 0xD1B5_4A32_D192_ED03)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
