import CFFmpeg

/// Converts decoded frames to RGB24 with swscale, straight from the decoder's
/// pixel format, reading only the pixels of a crop box. Native size uses the
/// ffmpeg CLI's default flags (bicubic), which decide how chroma is upsampled
/// for formats without a direct converter (10/12-bit, 4:2:2, alpha); resized
/// output is bilinear, as torchvision and mmaction2 resize.
final class Scaler {
    private var context: OpaquePointer?
    /// What `context` was made for. Not `sws_getCachedContext`: swscale
    /// rewrites a `yuvj*` source format to its `yuv*` twin inside the context,
    /// so the cached-context call never matches and makes a new context for
    /// every frame, often at the freed one's address, which hid that the new
    /// one had lost the colour details set on the old.
    private var contextKey: ContextKey?
    /// The colour settings last given to `context`: (colorspace, range).
    private var colourKey: (Int32, UInt32)?
    /// Rows padded to a multiple of 32 pixels, for widths that are not.
    private var padded: [UInt8] = []

    deinit { sws_freeContext(context) }

    /// Converts `crop` (coded pixels) of `frame` to `width`×`height` RGB24 rows
    /// of `width * 3` bytes at `destination`.
    func convert(
        _ frame: UnsafeMutablePointer<AVFrame>, crop: CropBox, width: Int, height: Int,
        into destination: UnsafeMutablePointer<UInt8>, path: String
    ) throws {
        let f = frame.pointee
        guard crop.x + crop.width <= Int(f.width), crop.y + crop.height <= Int(f.height) else {
            throw VideoError.decodeFailed(
                path: path,
                reason:
                    "decoded frame is \(f.width)x\(f.height), smaller than the stream header said")
        }
        let format = AVPixelFormat(rawValue: f.format)
        let native = crop.width == width && crop.height == height
        let key = ContextKey(
            sourceWidth: crop.width, sourceHeight: crop.height, format: format.rawValue,
            width: width, height: height, flags: native ? SWS_BICUBIC : SWS_BILINEAR)
        if key != contextKey {
            _ = installLogCapture  // swscale warns of full-range formats (yuvj*) on stderr otherwise
            sws_freeContext(context)
            context = sws_getContext(
                Int32(crop.width), Int32(crop.height), format, Int32(width), Int32(height),
                AV_PIX_FMT_RGB24, key.flags, nil, nil, nil)
            contextKey = context == nil ? nil : key
            colourKey = nil
        }
        guard let context else {
            let name = av_get_pix_fmt_name(format).map { String(cString: $0) } ?? "\(f.format)"
            throw VideoError.decodeFailed(path: path, reason: "swscale cannot convert \(name) to rgb24")
        }
        setColourDetails(context, colorspace: Int32(f.colorspace.rawValue), range: f.color_range)

        var source = [UnsafePointer<UInt8>?](repeating: nil, count: 4)
        var strides = [Int32](repeating: 0, count: 4)
        try planeOffsets(frame, format: format, x: crop.x, y: crop.y, path: path) { plane, pointer, stride in
            source[plane] = UnsafePointer(pointer)
            strides[plane] = stride
        }
        // swscale's x86 YUV→RGB converts whole blocks of pixels: it can write
        // past the last pixel of a row, and when the stride cannot hold the
        // last block it leaves those pixels unwritten. Rows go through a
        // buffer padded to 32 pixels (plus slack) unless they are already.
        let rowBytes = width * 3
        let paddedRowBytes = ((width + 31) & ~31) * 3
        let direct = paddedRowBytes == rowBytes
        if !direct && padded.count < paddedRowBytes * height + 256 {
            padded = [UInt8](repeating: 0, count: paddedRowBytes * height + 256)
        }
        try padded.withUnsafeMutableBufferPointer { scratch in
            var target: [UnsafeMutablePointer<UInt8>?] = [direct ? destination : scratch.baseAddress, nil, nil, nil]
            var targetStrides: [Int32] = [Int32(direct ? rowBytes : paddedRowBytes), 0, 0, 0]
            let rows = sws_scale(context, source, strides, 0, Int32(crop.height), &target, &targetStrides)
            if rows != Int32(height) {
                throw VideoError.decodeFailed(path: path, reason: "swscale produced \(rows) of \(height) rows")
            }
            if !direct {
                for row in 0..<height {
                    (destination + row * rowBytes).update(
                        from: scratch.baseAddress! + row * paddedRowBytes, count: rowBytes)
                }
            }
        }
    }

    /// The YUV→RGB matrix and input range as the ffmpeg CLI's scale filter
    /// picks them: the frame's colorspace (unknown → BT.601) and its range when tagged.
    private func setColourDetails(_ context: OpaquePointer, colorspace: Int32, range: AVColorRange) {
        if let key = colourKey, key.0 == colorspace, key.1 == range.rawValue { return }
        colourKey = (colorspace, range.rawValue)
        var inverse: UnsafeMutablePointer<Int32>? = nil
        var table: UnsafeMutablePointer<Int32>? = nil
        var sourceRange: Int32 = 0
        var targetRange: Int32 = 0
        var brightness: Int32 = 0
        var contrast: Int32 = 0
        var saturation: Int32 = 0
        // Fails for RGB input, which has no YUV matrix to set.
        guard
            sws_getColorspaceDetails(
                context, &inverse, &sourceRange, &table, &targetRange,
                &brightness, &contrast, &saturation) >= 0
        else { return }
        let matrix =
            (colorspace < 1 || colorspace > 10 || colorspace == 8) ? Int32(AVCOL_SPC_BT470BG.rawValue) : colorspace
        if range != AVCOL_RANGE_UNSPECIFIED { sourceRange = range == AVCOL_RANGE_JPEG ? 1 : 0 }
        _ = sws_setColorspaceDetails(
            context, sws_getCoefficients(matrix), sourceRange, table, targetRange,
            brightness, contrast, saturation)
    }
}

/// The parameters a swscale context is made with.
private struct ContextKey: Equatable {
    let sourceWidth: Int, sourceHeight: Int, format: Int32, width: Int, height: Int, flags: Int32
}

/// Calls `body(plane, pointer, stride)` for each plane of `frame`, the pointer
/// moved to coded pixel (x, y). Chroma offsets round down on subsampled planes.
private func planeOffsets(
    _ frame: UnsafeMutablePointer<AVFrame>, format: AVPixelFormat, x: Int, y: Int, path: String,
    _ body: (Int, UnsafeMutablePointer<UInt8>, Int32) -> Void
) throws {
    guard let descriptor = av_pix_fmt_desc_get(format) else {
        throw VideoError.decodeFailed(path: path, reason: "unknown pixel format \(format.rawValue)")
    }
    let d = descriptor.pointee
    let planar = d.flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0
    if d.flags & UInt64(AV_PIX_FMT_FLAG_BITSTREAM) != 0 && (x != 0 || y != 0) {
        throw VideoError.invalidRequest(
            path: path, reason: "cannot crop frames of bit-packed pixel format \(String(cString: d.name))")
    }
    var steps = [Int32](repeating: 0, count: 4)
    av_image_fill_max_pixsteps(&steps, nil, descriptor)
    let planes = Int(av_pix_fmt_count_planes(format))
    let pointerSize = MemoryLayout<UnsafeMutablePointer<UInt8>?>.stride
    withUnsafeBytes(of: frame.pointee.data) { data in
        withUnsafeBytes(of: frame.pointee.linesize) { lines in
            for plane in 0..<planes {
                guard let base = data.load(fromByteOffset: plane * pointerSize, as: UnsafeMutablePointer<UInt8>?.self)
                else { continue }
                let stride = lines.load(fromByteOffset: plane * 4, as: Int32.self)
                let chroma = planar ? (plane == 1 || plane == 2) : true
                let shiftX = chroma ? Int(d.log2_chroma_w) : 0
                let shiftY = planar && chroma ? Int(d.log2_chroma_h) : 0
                let offset = (y >> shiftY) * Int(stride) + (x >> shiftX) * Int(steps[plane])
                body(plane, base + offset, stride)
            }
        }
    }
}
