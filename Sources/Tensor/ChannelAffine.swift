/// y · scale + shift per channel, then ReLU when `relu`: what batch norm on
/// running statistics (and the ReLU after it) does to a convolution's output
/// in inference. `conv3d(_:_:_:then:)` applies it to each piece of output as
/// the piece is written, while it is still in cache, so BN and ReLU cost no
/// pass over memory and no tensor of their own.
public struct ChannelAffine: Sendable {
    public var scale: [Float]
    public var shift: [Float]
    public var relu: Bool

    public init(scale: [Float], shift: [Float], relu: Bool) {
        precondition(scale.count == shift.count, "ChannelAffine: \(scale.count) scales, \(shift.count) shifts")
        self.scale = scale
        self.shift = shift
        self.relu = relu
    }

    /// Batch norm with these running statistics and ε, the arithmetic of
    /// `batchNorm` in eval mode (scale = γ / √(var + ε), shift = β − mean · scale).
    public init(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, epsilon: Float, relu: Bool) {
        let (g, b, m, v) = (gamma.scalars, beta.scalars, runningMean.scalars, runningVar.scalars)
        let scale = (0..<g.count).map { g[$0] * (1 / (v[$0] + epsilon).squareRoot()) }
        self.init(scale: scale, shift: (0..<g.count).map { b[$0] - m[$0] * scale[$0] }, relu: relu)
    }

    public var channels: Int { scale.count }

    /// The same map after a per-channel bias: (y + bias) · scale + shift.
    public func afterBias(_ bias: Tensor) -> ChannelAffine {
        let b = bias.scalars
        return ChannelAffine(
            scale: scale, shift: (0..<channels).map { b[$0] * scale[$0] + shift[$0] }, relu: relu)
    }

    /// Maps `count` values of channel `channel` at `p` in place, 8 lanes at a time.
    @inline(__always) func apply(_ p: UnsafeMutablePointer<Float>, count: Int, channel: Int) {
        let (a, b) = (scale[channel], shift[channel])
        let raw = UnsafeMutableRawPointer(p)
        let (a8, b8) = (SIMD8<Float>(repeating: a), SIMD8<Float>(repeating: b))
        var i = 0
        while i + 8 <= count {
            var v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * a8 + b8
            if relu { v.replace(with: 0, where: v .< 0) }
            raw.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            p[i] = relu ? max(0, p[i] * a + b) : p[i] * a + b
            i += 1
        }
    }
}
