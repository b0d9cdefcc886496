import Foundation

/// "1GB", "500MB", "64MiB", "4096": bytes (KB, MB, GB, TB decimal as WebDataset's
/// maxsize; KiB, MiB, GiB, TiB binary); nil for anything else.
public func parseByteSize(_ text: String) -> Int64? {
    let units: [(String, Double)] = [
        ("KIB", 0x1p10), ("MIB", 0x1p20), ("GIB", 0x1p30), ("TIB", 0x1p40), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9),
        ("TB", 1e12), ("B", 1)
    ]
    let t = text.trimmingCharacters(in: .whitespaces).uppercased()
    let (number, scale) = units.first { t.hasSuffix($0.0) }.map { (String(t.dropLast($0.0.count)), $0.1) } ?? (t, 1)
    guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value > 0, value * scale < 1e18 else {
        return nil
    }
    return Int64(value * scale)
}
