import CFFmpeg

/// The FFmpeg libraries this process runs with, and which encoders and
/// decoders they have (for `clipkit doctor`).
public struct FFmpegLibraries: Sendable, Codable {
    /// "major.minor.micro" of libavformat, libavcodec, libswscale, libavutil.
    public var versions: [String: String]
    /// Encoders `prep` uses: libx264 (else MPEG-4 part 2) for videos, MJPEG for frame folders.
    public var encoders: [String: Bool]
    /// Decoders of the tested format corpus, by codec.
    public var decoders: [String: Bool]

    public static var current: FFmpegLibraries {
        func version(_ v: UInt32) -> String { "\(v >> 16).\(v >> 8 & 0xff).\(v & 0xff)" }
        let codecs: [(String, AVCodecID)] = [
            ("h264", AV_CODEC_ID_H264), ("hevc", AV_CODEC_ID_HEVC), ("mpeg4", AV_CODEC_ID_MPEG4),
            ("mpeg2video", AV_CODEC_ID_MPEG2VIDEO), ("vp8", AV_CODEC_ID_VP8), ("vp9", AV_CODEC_ID_VP9),
            ("av1", AV_CODEC_ID_AV1), ("wmv1", AV_CODEC_ID_WMV1), ("wmv2", AV_CODEC_ID_WMV2),
            ("flv1", AV_CODEC_ID_FLV1),
            ("h263", AV_CODEC_ID_H263), ("theora", AV_CODEC_ID_THEORA), ("mjpeg", AV_CODEC_ID_MJPEG),
            ("prores", AV_CODEC_ID_PRORES), ("qtrle", AV_CODEC_ID_QTRLE), ("png", AV_CODEC_ID_PNG),
            ("bmp", AV_CODEC_ID_BMP)
        ]
        return FFmpegLibraries(
            versions: [
                "avformat": version(avformat_version()), "avcodec": version(avcodec_version()),
                "swscale": version(swscale_version()), "avutil": version(avutil_version())
            ],
            encoders: [
                "libx264": avcodec_find_encoder_by_name("libx264") != nil,
                "mpeg4": avcodec_find_encoder(AV_CODEC_ID_MPEG4) != nil,
                "mjpeg": avcodec_find_encoder(AV_CODEC_ID_MJPEG) != nil
            ],
            decoders: Dictionary(uniqueKeysWithValues: codecs.map { ($0.0, avcodec_find_decoder($0.1) != nil) }))
    }
}
