import Foundation

/// A video file's bytes in memory, read by a decoder as it would read the
/// file (`DecoderOptions.memory`): what arrives over a socket, out of a
/// database or a WebDataset sample, without writing it to disk first.
public final class VideoBytes: @unchecked Sendable {
    let base: UnsafeRawPointer
    public let count: Int
    private let owned: UnsafeMutableRawPointer?

    /// A copy of `data`.
    public init(_ data: Data) {
        let copy = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 16)
        data.withUnsafeBytes { if let source = $0.baseAddress { copy.copyMemory(from: source, byteCount: $0.count) } }
        (base, count, owned) = (UnsafeRawPointer(copy), data.count, copy)
    }

    /// `count` bytes at `base`, not copied: the caller keeps them alive and
    /// unchanged for as long as a decoder reads them (the C ABI's callers).
    public init(unowned base: UnsafeRawPointer, count: Int) {
        (self.base, self.count, owned) = (base, count, nil)
    }

    deinit { owned?.deallocate() }
}

extension VideoBytes {
    /// MurmurHash3 x64 128 of the bytes, as 32 hex digits: what a kept index
    /// scan is keyed by (bytes have no path, size and times to tell them
    /// apart). A checksum for telling contents apart, not a defence against
    /// forged collisions.
    var digest: String {
        let (h1, h2) = murmur3x64_128(base, count: count)
        return String(format: "%016llx%016llx", h1, h2)
    }
}

/// MurmurHash3's x64 128-bit hash (Austin Appleby's reference, seed 0).
func murmur3x64_128(_ data: UnsafeRawPointer, count: Int) -> (UInt64, UInt64) {
    let (c1, c2): (UInt64, UInt64) = (0x87c3_7b91_1142_53d5, 0x4cf5_ad43_2745_937f)
    func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
    func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33
        k = k &* 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k = k &* 0xc4ce_b9fe_1a85_ec53
        return k ^ (k >> 33)
    }
    var (h1, h2): (UInt64, UInt64) = (0, 0)
    let blocks = count / 16
    for i in 0..<blocks {
        var k1 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
        var k2 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self))
        k1 = rotl(k1 &* c1, 31) &* c2
        h1 ^= k1
        h1 = (rotl(h1, 27) &+ h2) &* 5 &+ 0x52dc_e729
        k2 = rotl(k2 &* c2, 33) &* c1
        h2 ^= k2
        h2 = (rotl(h2, 31) &+ h1) &* 5 &+ 0x3849_5ab5
    }
    let tail = data + blocks * 16
    var (k1, k2): (UInt64, UInt64) = (0, 0)
    let left = count & 15
    for i in stride(from: left - 1, through: 8, by: -1) {
        k2 ^= UInt64(tail.load(fromByteOffset: i, as: UInt8.self)) << (UInt64(i - 8) * 8)
    }
    if left > 8 { h2 ^= rotl(k2 &* c2, 33) &* c1 }
    for i in stride(from: min(left, 8) - 1, through: 0, by: -1) {
        k1 ^= UInt64(tail.load(fromByteOffset: i, as: UInt8.self)) << (UInt64(i) * 8)
    }
    if left > 0 { h1 ^= rotl(k1 &* c1, 31) &* c2 }
    h1 ^= UInt64(count)
    h2 ^= UInt64(count)
    h1 = h1 &+ h2
    h2 = h2 &+ h1
    h1 = fmix(h1)
    h2 = fmix(h2)
    h1 = h1 &+ h2
    h2 = h2 &+ h1
    return (h1, h2)
}
