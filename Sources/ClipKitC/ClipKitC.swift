import Clips
import Foundation
import Loader
import VideoIO

// The C ABI of include/clipkit.h. Every entry point checks its arguments and
// turns errors into a -1/NULL return and a per-thread message: nothing here
// may reach a Swift precondition or let an error unwind into C.

// MARK: Errors

private final class ErrorText {
    var pointer: UnsafeMutablePointer<CChar>?
    var kind = ErrorKind.none
    deinit { free(pointer) }
}

/// `clipkit_last_error_kind`'s values (clipkit.h's CLIPKIT_ERROR_*).
private enum ErrorKind: Int32 {
    case none = 0
    case io = 1
    case argument = 2
    case index = 3

    /// An argument ClipKit refuses, an index or time outside the video, or
    /// else what a file, stream or server did.
    init(_ error: Error) {
        switch error {
        case is ArgumentError, is LoaderConfigError, is DecodingError, VideoError.invalidRequest,
            VideoError.notAVideoStream:
            self = .argument
        case VideoError.indexOutOfRange, VideoError.timeOutOfRange: self = .index
        default: self = .io
        }
    }
}

private func threadError() -> ErrorText {
    let dictionary = Thread.current.threadDictionary
    if let box = dictionary["clipkit.c.error"] as? ErrorText { return box }
    let box = ErrorText()
    dictionary["clipkit.c.error"] = box
    return box
}

private func setError(_ error: Error) {
    let box = threadError()
    free(box.pointer)
    box.pointer = strdup(message(error))
    box.kind = ErrorKind(error)
}

/// ClipKit's message for an error: the file and the reason.
private func message(_ error: Error) -> String { String(describing: error) }

private struct ArgumentError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `body`, turning a thrown error into `failure` and the thread's message.
private func guarded<R>(_ failure: R, _ body: () throws -> R) -> R {
    do { return try body() } catch {
        setError(error)
        return failure
    }
}

/// A C string that lives as long as the program (a literal's bytes).
private func cString(_ literal: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(literal.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("clipkit_last_error")
public func clipkit_last_error() -> UnsafePointer<CChar> {
    threadError().pointer.map { UnsafePointer($0) } ?? cString("")
}

@_cdecl("clipkit_last_error_kind")
public func clipkit_last_error_kind() -> Int32 { threadError().kind.rawValue }

@_cdecl("clipkit_version")
public func clipkit_version() -> UnsafePointer<CChar> { cString("2.2") }

// MARK: Decoder

private final class DecoderHandle {
    let decoder: VideoDecoder
    let metadata: UnsafeMutablePointer<CChar>
    init(_ decoder: VideoDecoder, metadata: String) {
        self.decoder = decoder
        self.metadata = strdup(metadata)
    }
    deinit { free(metadata) }
}

private func decoderHandle(_ pointer: OpaquePointer?) throws -> DecoderHandle {
    guard let pointer else { throw ArgumentError(description: "the decoder handle is NULL") }
    return Unmanaged<DecoderHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

@_cdecl("clipkit_decoder_open")
public func clipkit_decoder_open(_ path: UnsafePointer<CChar>?, _ applyRotation: Int32, _ stream: Int32)
    -> OpaquePointer?
{
    guarded(nil) {
        guard let path else { throw ArgumentError(description: "the path is NULL") }
        let options = DecoderOptions(applyRotation: applyRotation != 0, stream: stream < 0 ? nil : Int(stream))
        return try openDecoder(String(cString: path), options)
    }
}

/// `clipkit_decoder_options` (2.2): its size, display rotation on or off, the
/// stream (-1: the CLI's), FFmpeg's threads (0: FFmpeg picks). A later
/// version's fields go after these, read only where the caller's size holds them.
private struct DecoderOptionsC {
    var applyRotation: Int32 = 1
    var stream: Int32 = -1
    var threads: Int32 = 1

    init() {}

    init(_ p: UnsafeRawPointer) throws {
        let size = p.loadUnaligned(as: UInt32.self)
        guard size >= 16 else {
            throw ArgumentError(description: "clipkit_decoder_options.struct_size is \(size), not at least 16")
        }
        applyRotation = p.loadUnaligned(fromByteOffset: 4, as: Int32.self)
        stream = p.loadUnaligned(fromByteOffset: 8, as: Int32.self)
        threads = p.loadUnaligned(fromByteOffset: 12, as: Int32.self)
    }
}

@_cdecl("clipkit_decoder_open_with")
public func clipkit_decoder_open_with(
    _ path: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ size: Int64, _ options: UnsafeRawPointer?
) -> OpaquePointer? {
    guarded(nil) {
        let given = try options.map(DecoderOptionsC.init) ?? DecoderOptionsC()
        let name = path.map { String(cString: $0) } ?? (data == nil ? "" : "<bytes>")
        guard data != nil || path != nil else { throw ArgumentError(description: "neither a path nor bytes given") }
        guard given.threads >= 0 else {
            throw ArgumentError(description: "\(name): threads must be ≥ 0 (0: FFmpeg picks), not \(given.threads)")
        }
        var decoderOptions = DecoderOptions(
            threads: Int(given.threads), applyRotation: given.applyRotation != 0,
            stream: given.stream < 0 ? nil : Int(given.stream))
        if let data {
            guard size >= 0 else {
                throw ArgumentError(description: "\(name): the size of the bytes (\(size)) is negative")
            }
            decoderOptions.memory = VideoBytes(unowned: data, count: Int(size))
        }
        return try openDecoder(name, decoderOptions)
    }
}

/// A decoder's handle, its metadata made once as JSON.
private func openDecoder(_ path: String, _ options: DecoderOptions) throws -> OpaquePointer {
    let decoder = try VideoDecoder(path: path, options: options)
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    let json = String(decoding: try encoder.encode(decoder.metadata), as: UTF8.self)
    return OpaquePointer(Unmanaged.passRetained(DecoderHandle(decoder, metadata: json)).toOpaque())
}

@_cdecl("clipkit_decoder_close")
public func clipkit_decoder_close(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<DecoderHandle>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@_cdecl("clipkit_decoder_metadata")
public func clipkit_decoder_metadata(_ handle: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try decoderHandle(handle).metadata) }
}

/// The seven int32 of `clipkit_frame_format`: short side, width, height, crop x, y, w, h.
private func frameFormat(_ p: UnsafePointer<Int32>?) throws -> FrameFormat {
    guard let p else { return .native }
    let (shortSide, width, height) = (Int(p[0]), Int(p[1]), Int(p[2]))
    let crop = (x: Int(p[3]), y: Int(p[4]), w: Int(p[5]), h: Int(p[6]))
    var format = FrameFormat()
    if shortSide > 0 {
        format.size = .shortSide(shortSide)
    } else if width > 0 || height > 0 {
        guard width > 0, height > 0 else {
            throw ArgumentError(description: "size needs both width and height > 0 (got \(width)×\(height))")
        }
        format.size = .exact(width: width, height: height)
    } else if shortSide < 0 || width < 0 || height < 0 {
        throw ArgumentError(description: "short side, width and height must be ≥ 0")
    }
    if crop.w > 0 || crop.h > 0 {
        guard crop.w > 0, crop.h > 0, crop.x >= 0, crop.y >= 0 else {
            throw ArgumentError(description: "a crop needs x, y ≥ 0 and width, height > 0 (got \(crop))")
        }
        format.crop = CropBox(x: crop.x, y: crop.y, width: crop.w, height: crop.h)
    }
    return format
}

@_cdecl("clipkit_decoder_output_size")
public func clipkit_decoder_output_size(
    _ handle: OpaquePointer?, _ format: UnsafePointer<Int32>?,
    _ width: UnsafeMutablePointer<Int32>?, _ height: UnsafeMutablePointer<Int32>?
) -> Int32 {
    guarded(-1) {
        let size = try decoderHandle(handle).decoder.outputSize(try frameFormat(format))
        width?.pointee = Int32(size.width)
        height?.pointee = Int32(size.height)
        return 0
    }
}

@_cdecl("clipkit_decoder_frames")
public func clipkit_decoder_frames(
    _ handle: OpaquePointer?, _ indices: UnsafePointer<Int64>?, _ count: Int64,
    _ format: UnsafePointer<Int32>?, _ out: UnsafeMutablePointer<UInt8>?, _ outBytes: Int64
) -> Int32 {
    guarded(-1) {
        let decoder = try decoderHandle(handle).decoder
        guard count >= 0 else { throw ArgumentError(description: "the index count is negative") }
        guard count == 0 || indices != nil else { throw ArgumentError(description: "the indices are NULL") }
        let wanted = (0..<Int(count)).map { Int(indices![$0]) }
        let f = try frameFormat(format)
        let frameBytes = try decoder.frameBytes(f)
        guard let out, outBytes >= Int64(frameBytes) * count else {
            throw ArgumentError(
                description:
                    "the output buffer holds \(outBytes) bytes; \(count) frames need \(Int64(frameBytes) * count)")
        }
        try decoder.frames(at: wanted, format: f, into: UnsafeMutableRawBufferPointer(start: out, count: Int(outBytes)))
        return 0
    }
}

/// Each frame's presentation time and duration in seconds (display order):
/// writes min(count, capacity) of each and returns the frame count.
@_cdecl("clipkit_decoder_frame_times")
public func clipkit_decoder_frame_times(
    _ handle: OpaquePointer?, _ pts: UnsafeMutablePointer<Double>?, _ durations: UnsafeMutablePointer<Double>?,
    _ capacity: Int64
) -> Int64 {
    guarded(-1) {
        let times = try decoderHandle(handle).decoder.frameTimes
        for i in 0..<min(times.pts.count, Int(max(capacity, 0))) {
            pts?[i] = times.pts[i]
            durations?[i] = times.durations[i]
        }
        return Int64(times.pts.count)
    }
}

/// The display indices of the frames on screen at each of `seconds` (the
/// last frame whose time is at or before it); a time outside the video is an error.
@_cdecl("clipkit_decoder_indices_played_at")
public func clipkit_decoder_indices_played_at(
    _ handle: OpaquePointer?, _ seconds: UnsafePointer<Double>?, _ count: Int64, _ out: UnsafeMutablePointer<Int64>?
) -> Int32 {
    guarded(-1) {
        let decoder = try decoderHandle(handle).decoder
        guard count >= 0 else { throw ArgumentError(description: "the time count is negative") }
        guard count == 0 || (seconds != nil && out != nil) else {
            throw ArgumentError(description: "the times or the output are NULL")
        }
        for i in 0..<Int(count) { out![i] = Int64(try decoder.frameIndex(playedAt: seconds![i])) }
        return 0
    }
}

// MARK: Loader

private final class LoaderHandle {
    let loader: ClipLoader
    var epoch: EpochIterator?
    var failures: UnsafeMutablePointer<CChar> = strdup("[]")
    init(_ loader: ClipLoader) { self.loader = loader }
    deinit {
        epoch?.stop()
        free(failures)
    }
}

private func loaderHandle(_ pointer: OpaquePointer?) throws -> LoaderHandle {
    guard let pointer else { throw ArgumentError(description: "the loader handle is NULL") }
    return Unmanaged<LoaderHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
}

/// The loader options of `clipkit_loader_open` (snake_case JSON).
struct LoaderRequest: Decodable {
    var manifest: String?
    var entries: [Entry]?
    struct Entry: Decodable {
        var path: String
        var label: Int
        var stream: Int?
    }
    var mode = "train"
    var frames = 8
    var interval = 8
    var sampling = "dense"
    var crop = 224
    var shortSide = [256, 320]
    var flip = 0.5
    var variant = "full"
    var numClips = 10
    var crops = 3
    var testShortSide: Int?
    var batch = 8
    var workers = 2
    var queueDepth = 4
    var shuffle: Bool?
    var dropLast = false
    var seed: UInt64 = 0
    var rank = 0
    var worldSize = 1

    enum CodingKeys: String, CodingKey {
        case manifest, entries, mode, frames, interval, sampling, crop
        case shortSide = "short_side"
        case flip, variant
        case numClips = "num_clips"
        case crops
        case testShortSide = "test_short_side"
        case batch, workers
        case queueDepth = "queue_depth"
        case shuffle
        case dropLast = "drop_last"
        case seed, rank
        case worldSize = "world_size"
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        manifest = try c.decodeIfPresent(String.self, forKey: .manifest)
        entries = try c.decodeIfPresent([Entry].self, forKey: .entries)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? mode
        frames = try c.decodeIfPresent(Int.self, forKey: .frames) ?? frames
        interval = try c.decodeIfPresent(Int.self, forKey: .interval) ?? interval
        sampling = try c.decodeIfPresent(String.self, forKey: .sampling) ?? sampling
        crop = try c.decodeIfPresent(Int.self, forKey: .crop) ?? crop
        shortSide = try c.decodeIfPresent([Int].self, forKey: .shortSide) ?? shortSide
        flip = try c.decodeIfPresent(Double.self, forKey: .flip) ?? flip
        variant = try c.decodeIfPresent(String.self, forKey: .variant) ?? variant
        numClips = try c.decodeIfPresent(Int.self, forKey: .numClips) ?? numClips
        crops = try c.decodeIfPresent(Int.self, forKey: .crops) ?? crops
        testShortSide = try c.decodeIfPresent(Int.self, forKey: .testShortSide)
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? batch
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? workers
        queueDepth = try c.decodeIfPresent(Int.self, forKey: .queueDepth) ?? queueDepth
        shuffle = try c.decodeIfPresent(Bool.self, forKey: .shuffle)
        dropLast = try c.decodeIfPresent(Bool.self, forKey: .dropLast) ?? dropLast
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        rank = try c.decodeIfPresent(Int.self, forKey: .rank) ?? rank
        worldSize = try c.decodeIfPresent(Int.self, forKey: .worldSize) ?? worldSize
        let known = Set(CodingKeys.allStrings)
        let given = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = given.first(where: { !known.contains($0) }) {
            throw ArgumentError(
                description: "unknown loader option '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The typed loader config these options spell; Loader checks the values.
    func make() throws -> ClipLoader {
        guard let kind = SamplingKind(rawValue: sampling) else {
            throw ArgumentError(description: "sampling must be dense, uniform or slowfast, not '\(sampling)'")
        }
        let manifest: Manifest
        switch (self.manifest, entries) {
        case (let path?, nil): manifest = try Manifest.load(path)
        case (nil, let list?):
            manifest = Manifest(
                entries: list.map { ManifestEntry(path: $0.path, label: $0.label, stream: $0.stream) },
                source: "the loader's entries")
        default:
            throw ArgumentError(description: "give either 'manifest' (a path) or 'entries' (a list of path and label)")
        }
        let parts = variant.split(separator: ":")
        let streamVariant: StreamVariant
        switch (parts.first, parts.count == 2 ? Int(parts[1]) : nil) {
        case ("full", _) where parts.count == 1: streamVariant = .full
        case ("spatial", let beta?): streamVariant = .spatial(beta: beta)
        case ("temporal", let gamma?): streamVariant = .temporal(gamma: gamma)
        default: throw ArgumentError(description: "variant must be full, spatial:β or temporal:γ, not '\(variant)'")
        }
        guard crops == 1 || crops == 3 else { throw ArgumentError(description: "crops must be 1 or 3, not \(crops)") }
        let loadMode: LoadMode
        switch mode {
        case "train":
            // A range needs a ≤ b; the rest of the option is Loader's to check.
            guard shortSide.count == 2, shortSide[0] <= shortSide[1] else {
                throw ArgumentError(description: "short_side must be [a, b] with crop ≤ a ≤ b, not \(shortSide)")
            }
            loadMode = .train(
                TrainAugment(shortSideRange: shortSide[0]...shortSide[1], cropSize: crop, flipProbability: flip),
                variant: streamVariant)
        case "test":
            loadMode = .test(
                numClips: numClips, crops: crops == 3 ? .three(crop) : .center(crop), shortSide: testShortSide ?? crop)
        default: throw ArgumentError(description: "mode must be train or test, not '\(mode)'")
        }
        let config = LoaderConfig(
            spec: ClipSpec(frames: frames, interval: interval, cropSize: crop), sampling: kind, mode: loadMode,
            seed: seed,
            options: LoaderOptions(
                batchSize: batch, workers: workers, queueDepth: queueDepth, shuffle: shuffle ?? (mode == "train"),
                dropLast: dropLast, seed: seed, rank: rank, worldSize: worldSize))
        let loader = try ClipLoader(manifest, config)
        loader.log = { _ in }  // failures reach the caller with each batch
        return loader
    }
}

/// A loader option of the wrong type, or options that are not JSON, in words.
private func describe(_ error: DecodingError) -> String {
    func option(_ path: [CodingKey]) -> String {
        path.reduce("") { name, key in
            key.intValue.map { "\(name)[\($0)]" } ?? (name.isEmpty ? key.stringValue : "\(name).\(key.stringValue)")
        }
    }
    func kind(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is [Int].Type: return "a list of integers"
        default: return "a \(type)"
        }
    }
    switch error {
    case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
        return "loader option '\(option(context.codingPath))' must be \(kind(type))"
    case .keyNotFound(let key, let context):
        return "loader option '\(option(context.codingPath + [key]))' is missing"
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty
            ? "the loader options are not JSON: \(context.debugDescription)"
            : "loader option '\(option(context.codingPath))': \(context.debugDescription)"
    @unknown default:
        return "loader options: \(error)"
    }
}

extension LoaderRequest.CodingKeys {
    fileprivate static var allStrings: [String] {
        [
            "manifest", "entries", "mode", "frames", "interval", "sampling", "crop", "short_side", "flip", "variant",
            "num_clips",
            "crops", "test_short_side", "batch", "workers", "queue_depth", "shuffle", "drop_last", "seed", "rank",
            "world_size"
        ]
    }
}

@_cdecl("clipkit_loader_open")
public func clipkit_loader_open(_ json: UnsafePointer<CChar>?) -> OpaquePointer? {
    guarded(nil) {
        guard let json else { throw ArgumentError(description: "the options are NULL") }
        let config: LoaderRequest
        do {  // an unknown option's ArgumentError passes through as it is
            config = try JSONDecoder().decode(LoaderRequest.self, from: Data(String(cString: json).utf8))
        } catch let error as DecodingError {
            throw ArgumentError(description: describe(error))
        }
        return OpaquePointer(Unmanaged.passRetained(LoaderHandle(try config.make())).toOpaque())
    }
}

@_cdecl("clipkit_loader_close")
public func clipkit_loader_close(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<LoaderHandle>.fromOpaque(UnsafeRawPointer(handle)).release()
}

@_cdecl("clipkit_loader_sample_shape")
public func clipkit_loader_sample_shape(
    _ handle: OpaquePointer?, _ shape: UnsafeMutablePointer<Int64>?, _ capacity: Int32
) -> Int32 {
    guarded(-1) {
        let s = try loaderHandle(handle).loader.dataset.sampleShape
        guard let shape, Int(capacity) >= s.count else {
            throw ArgumentError(description: "the shape buffer holds \(capacity), the sample has \(s.count) dimensions")
        }
        for (i, d) in s.enumerated() { shape[i] = Int64(d) }
        return Int32(s.count)
    }
}

@_cdecl("clipkit_loader_videos")
public func clipkit_loader_videos(_ handle: OpaquePointer?) -> Int64 {
    guarded(-1) { Int64(try loaderHandle(handle).loader.dataset.count) }
}

@_cdecl("clipkit_loader_batches")
public func clipkit_loader_batches(_ handle: OpaquePointer?) -> Int64 {
    guarded(-1) {
        Int64(try loaderHandle(handle).loader.batchesPerEpoch)
    }
}

@_cdecl("clipkit_loader_start_epoch")
public func clipkit_loader_start_epoch(_ handle: OpaquePointer?, _ epoch: Int64, _ start: Int64) -> Int32 {
    guarded(-1) {
        let h = try loaderHandle(handle)
        guard epoch >= 0, start >= 0 else { throw ArgumentError(description: "epoch and start batch must be ≥ 0") }
        h.epoch?.stop()
        h.epoch = h.loader.epoch(Int(epoch), startingAt: Int(start))
        return 0
    }
}

/// The next batch of the epoch in progress: `check` runs before a batch is
/// taken, `deliver` hands the batch's samples over; labels, videos, count and
/// the failure list are filled here. Returns the `clipkit_loader_next` codes.
private func nextBatch(
    _ handle: OpaquePointer?, _ labels: UnsafeMutablePointer<Int64>?, _ videos: UnsafeMutablePointer<Int64>?,
    _ count: UnsafeMutablePointer<Int64>?, _ timeoutMs: Int32, check: (LoaderHandle) throws -> Void,
    deliver: (Batch, EpochIterator) -> Void
) -> Int32 {
    guarded(-1) {
        let h = try loaderHandle(handle)
        guard let iterator = h.epoch else {
            throw ArgumentError(description: "no epoch started (clipkit_loader_start_epoch)")
        }
        guard let labels, let videos, let count else {
            throw ArgumentError(description: "the output pointers must be non-NULL")
        }
        try check(h)
        switch try iterator.next(timeout: Double(max(timeoutMs, 0)) / 1000) {
        case .end: return 0
        case .timedOut: return 2
        case .batch(let batch):
            for i in 0..<batch.count {
                labels[i] = Int64(batch.labels[i])
                videos[i] = Int64(batch.videos[i])
            }
            count.pointee = Int64(batch.count)
            let failures = (batch.failed + batch.replaced).map { ["path": $0.path, "reason": $0.reason] }
            free(h.failures)
            h.failures = strdup(String(decoding: try JSONSerialization.data(withJSONObject: failures), as: UTF8.self))
            deliver(batch, iterator)
            return 1
        }
    }
}

@_cdecl("clipkit_loader_next")
public func clipkit_loader_next(
    _ handle: OpaquePointer?, _ clips: UnsafeMutablePointer<Float>?, _ clipFloats: Int64,
    _ labels: UnsafeMutablePointer<Int64>?, _ videos: UnsafeMutablePointer<Int64>?,
    _ count: UnsafeMutablePointer<Int64>?, _ timeoutMs: Int32
) -> Int32 {
    nextBatch(
        handle, labels, videos, count, timeoutMs,
        check: { h in
            let capacity = h.loader.options.batchSize * h.loader.dataset.sampleFloats
            guard clips != nil, clipFloats >= Int64(capacity) else {
                throw ArgumentError(
                    description: "the batch buffers must be non-NULL and hold \(capacity) floats (got \(clipFloats))")
            }
        }, deliver: { batch, _ in clips!.update(from: batch.data.baseAddress!, count: batch.data.count) })
}

@_cdecl("clipkit_loader_next_owned")
public func clipkit_loader_next_owned(
    _ handle: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>?,
    _ labels: UnsafeMutablePointer<Int64>?, _ videos: UnsafeMutablePointer<Int64>?,
    _ count: UnsafeMutablePointer<Int64>?, _ timeoutMs: Int32
) -> Int32 {
    nextBatch(
        handle, labels, videos, count, timeoutMs,
        check: { _ in
            guard data != nil else { throw ArgumentError(description: "the output pointers must be non-NULL") }
        }, deliver: { _, iterator in data!.pointee = iterator.detach() })
}

@_cdecl("clipkit_loader_recycle")
public func clipkit_loader_recycle(_ handle: OpaquePointer?, _ buffer: UnsafeMutablePointer<Float>?) {
    guard let buffer else { return }
    guard let handle else {
        ClipLoader.freeDetached(buffer)
        return
    }
    Unmanaged<LoaderHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue().loader.recycle(buffer)
}

@_cdecl("clipkit_buffer_free")
public func clipkit_buffer_free(_ buffer: UnsafeMutablePointer<Float>?) {
    if let buffer { ClipLoader.freeDetached(buffer) }
}

@_cdecl("clipkit_loader_stop")
public func clipkit_loader_stop(_ handle: OpaquePointer?) {
    guard let handle else { return }
    let h = Unmanaged<LoaderHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
    h.epoch?.stop()
    h.epoch = nil
}

@_cdecl("clipkit_loader_failures")
public func clipkit_loader_failures(_ handle: OpaquePointer?) -> UnsafePointer<CChar>? {
    guarded(nil) { UnsafePointer(try loaderHandle(handle).failures) }
}
