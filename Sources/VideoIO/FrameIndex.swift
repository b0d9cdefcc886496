/// Where a frame index came from.
public enum IndexMethod: String, Sendable, Codable {
    /// Read from packet timestamps at open: one packet is one frame, and
    /// display order is ascending presentation timestamps.
    case packets
    /// Decoded at open, because the packets alone cannot say it exactly
    /// (see `scanIndex`): frames are numbered in the order the decoder
    /// outputs them, and recognised again by their timestamps.
    case decoded
    /// Given by the caller (a manifest's `frames` and `keyframes`).
    case stored
    /// A folder of images: one file a frame, every frame a keyframe.
    case folder
}

/// The exact frame index of a video: how many frames a full decode yields and
/// which are keyframes, in display order.
public struct FrameIndex: Sendable, Equatable {
    /// Number of frames a full decode yields.
    public let frameCount: Int
    /// Display-order indices of keyframes, ascending; always starts at 0.
    public let keyframes: [Int]
    /// Presentation timestamps in the stream's time base, ascending; nil when
    /// the index came from a manifest, and the decoder derives them from the
    /// frame rate (manifests describe constant-frame-rate videos made by `prep`).
    /// For a decoded index, the decoder's best-effort timestamps
    /// (`ffNoPTS` where the decoder had none).
    public let timestamps: [Int64]?
    public let method: IndexMethod

    /// An index stored earlier (a manifest's `frames` and `keyframes` columns).
    public init(frameCount: Int, keyframes: [Int]) {
        self.frameCount = frameCount
        self.keyframes = FrameIndex.normalise(keyframes, count: frameCount)
        self.timestamps = nil
        self.method = .stored
    }

    init(timestamps: [Int64], keyframes: [Int], method: IndexMethod) {
        self.frameCount = timestamps.count
        self.keyframes = FrameIndex.normalise(keyframes, count: timestamps.count)
        self.timestamps = timestamps
        self.method = method
    }

    /// Sorted, in range, and starting at 0: decoding from the first packet is
    /// always possible, so frame 0 is a valid starting point even when the
    /// stream's first keyframe flag is missing.
    private static func normalise(_ keys: [Int], count: Int) -> [Int] {
        let valid = Set(keys.filter { $0 >= 0 && $0 < count })
        return Array(valid.union(count > 0 ? [0] : [])).sorted()
    }

    /// The last keyframe at or before `frame`.
    public func keyframe(atOrBefore frame: Int) -> Int {
        var low = 0
        var high = keyframes.count - 1
        var best = 0
        while low <= high {
            let mid = (low + high) / 2
            if keyframes[mid] <= frame {
                best = keyframes[mid]
                low = mid + 1
            } else {
                high = mid - 1
            }
        }
        return best
    }
}

/// Display-order index of the frame whose timestamp is nearest to `ts` in
/// `timestamps` (ascending); exact for timestamps taken from the same stream.
func nearestIndex(of ts: Int64, in timestamps: [Int64]) -> Int {
    var low = 0
    var high = timestamps.count
    while low < high {
        let mid = (low + high) / 2
        if timestamps[mid] < ts { low = mid + 1 } else { high = mid }
    }
    if low == timestamps.count { return timestamps.count - 1 }
    if low > 0 && ts - timestamps[low - 1] < timestamps[low] - ts { return low - 1 }
    return low
}
