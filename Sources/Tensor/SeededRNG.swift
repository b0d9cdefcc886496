import Support

/// A seedable generator (SplitMix64) for initialisation and dropout.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    private var generator: SplitMix64
    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    public mutating func next() -> UInt64 { generator.next() }
}
