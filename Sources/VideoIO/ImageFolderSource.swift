import CFFmpeg
import Foundation

/// How a folder of frame images (Something-Something v1's `00001.jpg`,
/// mmaction2 rawframes' `img_00001.jpg`, AVA and Charades frames) is read as a video.
public struct FrameFolderOptions: Sendable, Equatable {
    /// File name of frame `startIndex + i`: Python style `{:05}.jpg` or
    /// `img_{:05d}.jpg` (mmaction2's `filename_tmpl`), or printf style `%05d.jpg`.
    /// nil: every image in the folder (.jpg .jpeg .png .bmp), in name order
    /// with digit runs compared as numbers (`2.jpg` before `10.jpg`).
    public var template: String?
    /// The number in the first frame's name (mmaction2's `start_index`).
    public var startIndex: Int
    /// Frames per second: folders carry no timing.
    public var fps: Double

    public init(template: String? = nil, startIndex: Int = 1, fps: Double = 30) {
        self.template = template
        self.startIndex = startIndex
        self.fps = fps
    }

    /// The template split around its number: (prefix, zero-padded width, suffix).
    func parsedTemplate() throws -> (prefix: String, width: Int, suffix: String)? {
        guard let template else { return nil }
        let patterns = [#"\{:?0?(\d*)d?\}"#, #"%0?(\d*)d"#]
        for pattern in patterns {
            let regex = try NSRegularExpression(pattern: pattern)
            let range = NSRange(template.startIndex..., in: template)
            let matches = regex.matches(in: template, range: range)
            guard matches.count == 1, let whole = Range(matches[0].range, in: template),
                let digits = Range(matches[0].range(at: 1), in: template)
            else { continue }
            return (
                String(template[..<whole.lowerBound]), Int(template[digits]) ?? 0, String(template[whole.upperBound...])
            )
        }
        throw VideoError.invalidRequest(
            path: template,
            reason:
                "a frame name template needs one number field, as {:05}, {:05d}, {} or %05d")
    }
}

/// Frames that are image files in one folder, decoded with libavcodec's image
/// decoders (MJPEG, PNG, BMP). Every frame is a keyframe; a missing or
/// unreadable image is damage at its index, as a broken frame in a video.
final class ImageFolderSource: FrameSource {
    let path: String
    let index: FrameIndex
    let codedWidth: Int
    let codedHeight: Int
    let rotation = 0
    let baseMetadata: VideoMetadata
    var counters = DecodeCounters()
    var network: NetworkCounters? { nil }
    var damagedFrames: Set<Int> = []
    var lastDamageReason = ""
    private let fps: Double
    /// The first readable image's pixel format.
    private let firstPixelFormat: AVPixelFormat
    /// File of each frame (nil: no such file in the folder).
    private let files: [String?]
    private let frame = Frame()
    private let packet = Packet()
    private var decoders: [UInt32: CodecContext] = [:]
    var current: UnsafeMutablePointer<AVFrame> { frame.pointer }

    init(path: String, options: FrameFolderOptions, index knownIndex: FrameIndex?) throws {
        self.path = path
        guard options.fps > 0 else {
            throw VideoError.invalidRequest(path: path, reason: "frame folder fps must be positive, not \(options.fps)")
        }
        fps = options.fps
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw VideoError.cannotOpen(path: path, reason: "cannot list the folder: \(error.localizedDescription)")
        }
        var files: [String?]
        if let (prefix, width, suffix) = try options.parsedTemplate() {
            // Frames by number; the highest number present ends the video
            // unless the manifest says how many there are.
            var byNumber: [Int: String] = [:]
            for name in names
            where name.hasPrefix(prefix) && name.hasSuffix(suffix) && name.count > prefix.count + suffix.count {
                let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
                guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let n = Int(digits),
                    width == 0 || digits.count >= width
                else { continue }
                byNumber[n] = name
            }
            let last = knownIndex.map { options.startIndex + $0.frameCount - 1 } ?? (byNumber.keys.max() ?? -1)
            files = last < options.startIndex ? [] : (options.startIndex...last).map { byNumber[$0] }
        } else {
            let images = names.filter { name in
                let ext = (name as NSString).pathExtension.lowercased()
                return ["jpg", "jpeg", "png", "bmp"].contains(ext) && !name.hasPrefix(".")
            }
            files = images.sorted(by: naturalOrder)
            if let knownIndex, knownIndex.frameCount > files.count {
                files += [String?](repeating: nil, count: knownIndex.frameCount - files.count)
            }
        }
        guard !files.isEmpty else {
            throw VideoError.cannotOpen(
                path: path,
                reason: options.template.map { "no images named like '\($0)' in the folder" }
                    ?? "a folder with no .jpg, .jpeg, .png or .bmp images")
        }
        self.files = files
        index = FrameIndex(timestamps: files.indices.map(Int64.init), keyframes: Array(files.indices), method: .folder)

        // The first readable image sets the size, pixel format and codec said in metadata.
        var first: (Int, Int, String, Int32)? = nil
        var firstError = ""
        for i in files.indices.prefix(8) {
            do {
                let codec = try Self.load(files[i], in: path, frame: frame, packet: packet, decoders: &decoders)
                let f = frame.pointer.pointee
                first = (Int(f.width), Int(f.height), codec, f.format)
                break
            } catch { if firstError.isEmpty { firstError = "\(error)" } }
        }
        guard let (width, height, codec, format) = first else {
            throw VideoError.cannotOpen(path: path, reason: "none of the first images decodes (\(firstError))")
        }
        codedWidth = width
        codedHeight = height
        firstPixelFormat = AVPixelFormat(rawValue: format)
        baseMetadata = VideoMetadata(
            path: path, codec: codec, pixelFormat: "", width: width, height: height,
            fps: fps, duration: Double(files.count) / fps, rotation: 0,
            frames: files.count, keyframes: index.keyframes, index: .folder,
            indexOrigin: knownIndex == nil ? .scan : .manifest, stream: 0)
    }

    func pixelFormat() -> AVPixelFormat { firstPixelFormat }

    var frameTimes: FrameTimes { FrameTimes(pts: files.indices.map { Double($0) / fps }, single: 1 / fps) }

    func frameIndex(playedAt seconds: Double) throws -> Int {
        let end = Double(files.count) / fps
        guard seconds >= 0, seconds < end else {
            throw VideoError.timeOutOfRange(path: path, seconds: seconds, start: 0, end: end)
        }
        return min(Int((seconds * fps + 1e-9).rounded(.down)), files.count - 1)
    }

    func decode(_ targets: [Int], deliver: (Int) throws -> Void) throws -> [Int] {
        var missing: [Int] = []
        for target in targets {
            do {
                try decodeFrame(target)
            } catch {
                damagedFrames.insert(target)
                lastDamageReason = "\(error)"
                missing.append(target)
                continue
            }
            try deliver(target)
        }
        return missing
    }

    func decodeSequentially(_ each: (Int) throws -> Void) throws -> [Int] {
        _ = try decode(Array(files.indices), deliver: each)
        return damagedFrames.sorted()
    }

    /// Decodes frame `i` into `frame`; throws what is wrong with its image.
    private func decodeFrame(_ i: Int) throws {
        _ = try Self.load(files[i], in: path, frame: frame, packet: packet, decoders: &decoders)
        counters.packetsRead += 1
        counters.framesDecoded += 1
        let f = frame.pointer.pointee
        if Int(f.width) != codedWidth || Int(f.height) != codedHeight {
            throw VideoError.decodeFailed(
                path: (path as NSString).appendingPathComponent(files[i]!),
                reason:
                    "image is \(f.width)x\(f.height), the folder's first is \(codedWidth)x\(codedHeight)")
        }
    }

    /// Reads and decodes one image file into `frame`; returns the codec name.
    private static func load(
        _ name: String?, in folder: String, frame: Frame, packet: Packet,
        decoders: inout [UInt32: CodecContext]
    ) throws -> String {
        guard let name else {
            throw VideoError.fileNotFound(path: folder + "/(frame missing from the sequence)")
        }
        let file = (folder as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw FileManager.default.fileExists(atPath: file)
                ? VideoError.cannotOpen(path: file, reason: "cannot read the image")
                : VideoError.fileNotFound(path: file)
        }
        guard !data.isEmpty else { throw VideoError.emptyFile(path: file) }
        let bytes = [UInt8](data.prefix(4))
        let codecID: AVCodecID
        if bytes.starts(with: [0xFF, 0xD8]) {
            codecID = AV_CODEC_ID_MJPEG
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            codecID = AV_CODEC_ID_PNG
        } else if bytes.starts(with: [0x42, 0x4D]) {
            codecID = AV_CODEC_ID_BMP
        } else {
            throw VideoError.cannotOpen(path: file, reason: "not a JPEG, PNG or BMP image")
        }

        let codec: CodecContext
        if let known = decoders[codecID.rawValue] {
            codec = known
        } else {
            codec = try CodecContext(codecID: codecID, path: file)
            decoders[codecID.rawValue] = codec
        }
        av_packet_unref(packet.pointer)
        guard av_new_packet(packet.pointer, Int32(data.count)) == 0 else {
            throw VideoError.decodeFailed(path: file, reason: "out of memory for a \(data.count)-byte image")
        }
        data.withUnsafeBytes {
            packet.pointer.pointee.data.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: data.count)
        }
        packet.pointer.pointee.flags |= AV_PKT_FLAG_KEY
        defer { codec.flush() }
        var code = avcodec_send_packet(codec.pointer, packet.pointer)
        if code < 0 { throw VideoError.decodeFailed(path: file, reason: ffmpegMessage(code)) }
        _ = avcodec_send_packet(codec.pointer, nil)
        code = avcodec_receive_frame(codec.pointer, frame.pointer)
        if code < 0 {
            throw VideoError.decodeFailed(path: file, reason: "the image does not decode (\(ffmpegMessage(code)))")
        }
        if cffmpeg_frame_is_damaged(frame.pointer) != 0 {
            let logged = takeLastLog()
            throw VideoError.decodeFailed(path: file, reason: logged.isEmpty ? "the image is damaged" : logged)
        }
        return String(cString: avcodec_get_name(codecID))
    }
}

/// Name order with digit runs compared as numbers: `2.jpg` < `10.jpg`.
func naturalOrder(_ a: String, _ b: String) -> Bool {
    var i = a.unicodeScalars.makeIterator()
    var j = b.unicodeScalars.makeIterator()
    var x = i.next()
    var y = j.next()
    while let p = x, let q = y {
        if p.properties.numericType != nil && p.isASCII && q.isASCII && q.properties.numericType != nil {
            var m = ""
            var n = ""
            while let c = x, c.isASCII, c.properties.numericType != nil {
                m.unicodeScalars.append(c)
                x = i.next()
            }
            while let c = y, c.isASCII, c.properties.numericType != nil {
                n.unicodeScalars.append(c)
                y = j.next()
            }
            let (u, v) = (m.drop { $0 == "0" }, n.drop { $0 == "0" })
            if u.count != v.count { return u.count < v.count }
            if u != v { return u < v }
            if m.count != n.count { return m.count < n.count }
            continue
        }
        if p != q { return p.value < q.value }
        x = i.next()
        y = j.next()
    }
    return x == nil && y != nil
}
