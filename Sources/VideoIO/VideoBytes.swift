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
