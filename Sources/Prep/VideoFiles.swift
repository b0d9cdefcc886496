import Foundation
import VideoIO

/// Extensions of video files: taken without a look inside (a broken one is
/// then reported as a failure, not passed over).
public let videoExtensions: Set<String> = [
    "mp4", "m4v", "mov", "qt", "avi", "divx", "xvid", "mkv", "webm", "mpg", "mpeg", "mpe", "m1v", "m2v", "mpv", "vob",
    "ts", "mts", "m2ts", "m2t", "tts", "trp", "flv", "f4v", "wmv", "3gp", "3g2", "ogv", "ogm",
    "dv", "rmvb", "nut", "y4m", "h264", "264", "h265", "265", "hevc", "ivf", "mjpeg", "mjpg", "amv", "wtv"
]
// Containers that as often hold only audio (.asf, .ogg, .mxf, .rm, …) are
// not listed: they are probed like any other extension.

/// Extensions of files that are never videos (still images, text, audio,
/// archives): passed over without opening them.
public let notVideoExtensions: Set<String> = [
    "jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "ppm", "pgm", "heic", "txt", "csv", "json", "jsonl", "xml",
    "md", "html", "pdf", "yaml", "yml", "srt", "vtt", "ass", "sub", "wav", "mp3", "flac", "aac", "m4a", "opus",
    "zip", "tar", "gz", "tgz", "bz2", "xz", "7z", "rar", "npy", "npz", "pkl", "pt", "pth", "safetensors", "py", "sh"
]

/// The files under a folder, sorted into videos and the rest.
public struct FoundVideos: Sendable, Equatable {
    /// Relative paths of videos, sorted.
    public var videos: [String]
    /// Relative paths of files that are not videos, sorted.
    public var notVideo: [String]
}

/// Every video under `root`, as paths relative to it: files with a video
/// extension, and files with another extension (not a known non-video one)
/// that libavformat opens as a video of more than one frame; one-frame
/// files such as a GIF still are not videos. Hidden files (ours in flight:
/// ".name.mp4.part") are left out of both lists.
public func findVideos(under root: String) throws -> FoundVideos {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
        throw PrepError(path: root, reason: "no such folder")
    }
    guard isDirectory.boolValue else { throw PrepError(path: root, reason: "is a file, not a folder") }
    guard let walker = FileManager.default.enumerator(atPath: root) else {
        throw PrepError(path: root, reason: "cannot list the folder")
    }
    var found = FoundVideos(videos: [], notVideo: [])
    while let relative = walker.nextObject() as? String {
        let name = (relative as NSString).lastPathComponent
        if name.hasPrefix(".") {
            if walker.fileAttributes?[.type] as? FileAttributeType == .typeDirectory { walker.skipDescendants() }
            continue
        }
        guard walker.fileAttributes?[.type] as? FileAttributeType != .typeDirectory else { continue }
        let ext = (name as NSString).pathExtension.lowercased()
        if videoExtensions.contains(ext) {
            found.videos.append(relative)
        } else if notVideoExtensions.contains(ext) || !isVideo((root as NSString).appendingPathComponent(relative)) {
            found.notVideo.append(relative)
        } else {
            found.videos.append(relative)
        }
    }
    found.videos.sort()
    found.notVideo.sort()
    return found
}
