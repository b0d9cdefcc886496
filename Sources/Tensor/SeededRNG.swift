import Support

/// A seedable generator (SplitMix64) for initialisation and dropout.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    private var generator: SplitMix64
    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    public mutating func next() -> UInt64 { generator.next() }

    /// `count` values of `Float.random(in: range, using: &self)`, the same
    /// values in the same order, without the generic call per value (which
    /// made a ResNet-50's initialisation take half a minute in a debug build).
    /// Tests compare the two.
    public mutating func uniformFloats(_ count: Int, in range: Range<Float>) -> [Float] {
        precondition(!range.isEmpty && (range.upperBound - range.lowerBound).isFinite)
        let (lower, upper) = (range.lowerBound, range.upperBound)
        let delta = upper - lower
        let mask: UInt32 = (1 << (Float.significandBitCount + 1)) - 1
        let unit = Float.ulpOfOne / 2
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count {
                // The standard library's algorithm: 24 random bits as a fraction of 1, scaled to
                // the range; a value that rounds up to the upper bound is drawn again.
                var value: Float
                repeat {
                    value = delta * (Float(UInt32(truncatingIfNeeded: next()) & mask) * unit) + lower
                } while value == upper
                buffer[i] = value
            }
            initialized = count
        }
    }
}
