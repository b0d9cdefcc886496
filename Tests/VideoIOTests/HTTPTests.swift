import Foundation
import Support
import TestSupport
import Testing

@testable import VideoIO

private let corpus = try! CorpusFile.load()

/// The open's error and how long the open took.
private func timedOpenError(_ url: String) -> (message: String, seconds: TimeInterval) {
    let started = Date()
    let message = openError(url)
    return (message, Date().timeIntervalSince(started))
}

private func openError(_ url: String, options: DecoderOptions = .init()) -> String {
    do {
        _ = try VideoDecoder(path: url, options: options)
        return "opened"
    } catch {
        return "\(error)"
    }
}

/// Videos over http(s) from a real nginx on 127.0.0.1: the same frames as
/// the files, clear errors that never show a URL's secrets, retries within
/// the budget, and certificates verified.
@Suite(.serialized) struct HTTPTests {
    @Test func everyCorpusFrameOverHTTP() throws {
        try withNetworkEnvironment {
            let server = try NginxServer(root: fixture(""))
            try server.start()
            defer { server.stop() }
            for name in corpus.keys.sorted() {
                let decoder = try VideoDecoder(path: "\(server.baseURL)/corpus/\(name)")
                var seen: [String] = []
                _ = try decoder.decodeAll { _, bytes in seen.append(frameAdler32(bytes)) }
                #expect(seen == corpus[name]!.adler32, "\(name)")
                // Seeks are ranged requests on the kept-alive connection.
                let picks = Array(corpus[name]!.scatteredIndices(keyframes: decoder.keyframes).reversed())
                for (i, frame) in zip(picks, try decoder.frames(at: picks)) {
                    #expect(frameAdler32(frame.pixels) == corpus[name]!.adler32[i], "\(name) frame \(i)")
                }
            }
            let log = try String(contentsOfFile: server.accessLog, encoding: .utf8)
            #expect(log.contains("\"bytes=") && log.contains("206 "), "ranged requests were made")
        }
    }

    /// Members of a tar shard on the server: the headers listed by ranged
    /// reads, each member read through its byte range, the same frames.
    @Test func everyCorpusFrameThroughARemoteTarMember() throws {
        try withNetworkEnvironment {
            let folder = try temporaryFolder("remote-tar")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let names = corpus.keys.sorted()
            _ = try runTool("tar", ["--format=pax", "-cf", folder + "/shard.tar", "-C", fixture("corpus")] + names)
            let server = try NginxServer(root: folder)
            try server.start()
            defer { server.stop() }
            let shard = "\(server.baseURL)/shard.tar"
            #expect(try TarArchive.members(of: shard) == (try TarArchive.members(of: folder + "/shard.tar")))
            for name in names {
                let decoder = try VideoDecoder(path: shard + "#" + name)
                var seen: [String] = []
                _ = try decoder.decodeAll { _, bytes in seen.append(frameAdler32(bytes)) }
                #expect(seen == corpus[name]!.adler32, "\(name)")
            }
            #expect(openError(shard + "#missing.mp4").contains("no member 'missing.mp4'"))
        }
    }

    /// A 404 is reported at once with its status; the URL's user-info and
    /// query string appear nowhere in the message; the Authorization header
    /// comes from the environment.
    @Test func missingObjectsAndSecrets() throws {
        let server = try NginxServer(root: fixture(""))
        try server.start()
        defer { server.stop() }
        let secretURL = "http://alice:hunter2@127.0.0.1:\(server.port)/nope.mp4?X-Amz-Signature=deadbeef&token=s3cr3t"
        let (message, seconds) = withNetworkEnvironment([
            "CLIPKIT_HTTP_RETRY_SECONDS": "20", "CLIPKIT_HTTP_AUTHORIZATION": "Bearer t0k3n"
        ]) { timedOpenError(secretURL) }
        #expect(seconds < 5, "a 404 is not retried")
        #expect(message.contains("404"), "\(message)")
        for secret in ["alice", "hunter2", "deadbeef", "s3cr3t", "t0k3n"] {
            #expect(!message.contains(secret), "\(message)")
        }
        #expect(message.hasPrefix("http://***@127.0.0.1:\(server.port)/nope.mp4?***: "), "\(message)")
        #expect(server.waitForLog { $0.contains("\"Bearer t0k3n\"") }, "the header reached the server")
        #expect(
            redactedLocations("see https://u:p@h.example/a/b.mp4?sig=1#frag and http://h/x")
                == "see https://***@h.example/a/b.mp4?***#frag and http://h/x")
    }

    /// A server that answers byte ranges with the whole file (nginx with
    /// `max_ranges 0`, as python's http.server does) is named at once, for a
    /// video and for a shard's member, not retried until it reads as a
    /// truncated file.
    @Test func aServerWithoutRangesIsNamedAtOnce() throws {
        let folder = try temporaryFolder("no-ranges")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: fixture("h264_bframes.mp4"), toPath: folder + "/h264_bframes.mp4")
        _ = try runTool("tar", ["-cf", folder + "/shard.tar", "-C", folder, "h264_bframes.mp4"])
        let server = try NginxServer(root: folder, locationExtra: "max_ranges 0;")
        try server.start()
        defer { server.stop() }
        for url in ["\(server.baseURL)/h264_bframes.mp4", "\(server.baseURL)/shard.tar#h264_bframes.mp4"] {
            let (message, seconds) = withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "20"]) {
                timedOpenError(url)
            }
            #expect(message.contains("(HTTP 200, not 206)"), "\(url): \(message)")
            #expect(seconds < 5, "\(url): not retried, \(seconds) s")
        }
    }

    /// A shard cut short on the server: the members inside it still open, the
    /// one it cuts and those after it fail at once with the reason, whether
    /// the archive is listed or the manifest says where the member lies.
    @Test func aTruncatedShardOnTheServer() throws {
        try withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "2"]) {
            let folder = try temporaryFolder("cut-shard")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let names = ["h264_bframes.mp4", "mpeg4.avi", "vfr.mp4"]
            _ = try runTool("tar", ["--format=pax", "-cf", folder + "/whole.tar", "-C", fixture("")] + names)
            let members = try TarArchive.members(of: folder + "/whole.tar")
            // Cut in the middle of the second member.
            let cut = members[1].offset + members[1].size / 2
            let bytes = try Data(contentsOf: URL(fileURLWithPath: folder + "/whole.tar")).prefix(Int(cut))
            try bytes.write(to: URL(fileURLWithPath: folder + "/cut.tar"))
            let server = try NginxServer(root: folder)
            try server.start()
            defer { server.stop() }
            let url = "\(server.baseURL)/cut.tar"
            #expect(try VideoDecoder(path: "\(url)#\(names[0])").frameCount == 50)
            for m in members.dropFirst() {
                for placed in [nil, ByteRange(offset: m.offset, size: m.size)] {
                    let started = Date()
                    let message = openError("\(url)#\(m.name)", options: DecoderOptions(memberBytes: placed))
                    #expect(
                        message.contains("cut short") || message.contains("no member"),
                        "\(m.name), \(placed.map { "at \($0.offset)" } ?? "listed"): \(message)")
                    #expect(Date().timeIntervalSince(started) < 10)
                }
            }
        }
    }

    /// Requests go over a kept-alive connection that the videos a thread
    /// reads one after another share: nginx's log numbers each request's
    /// connection.
    @Test func videosReadInTurnShareAKeptAliveConnection() throws {
        try withNetworkEnvironment {
            let server = try NginxServer(root: fixture(""))
            try server.start()
            defer { server.stop() }
            let names = ["h264_bframes.mp4", "vp9.webm", "mpeg4.avi", "hevc.mkv"]
            var connections = 0
            for name in names {
                let decoder = try VideoDecoder(path: "\(server.baseURL)/\(name)")
                let local = try VideoDecoder(path: fixture(name))
                #expect(
                    try decoder.frames(at: [30, 31, 5]).map(\.pixels)
                        == (try local.frames(at: [30, 31, 5])).map(\.pixels))
                connections += try #require(decoder.network).connections
            }
            let lines = try String(contentsOfFile: server.accessLog, encoding: .utf8).split(separator: "\n")
            let fields = lines.map { $0.split(separator: " ").suffix(2).compactMap { Int($0) } }
            let byConnection = Dictionary(grouping: fields.filter { $0.count == 2 }, by: { $0[0] })
            // One connection for every request of the four videos.
            #expect(
                byConnection.count == 1 && lines.count > 2 * names.count,
                "\(byConnection.keys.count) connections for \(lines.count) requests")
            #expect(connections == byConnection.count, "the counters say \(connections)")
            #expect((byConnection.values.map(\.count).max() ?? 0) >= names.count, "\(lines.joined(separator: "\n"))")
        }
    }

    /// A redirect (as object stores and hubs send) is followed by
    /// libavformat's http; the frames are the file's.
    @Test func aRedirectedURLIsFollowed() throws {
        try withNetworkEnvironment {
            let server = try NginxServer(
                root: fixture(""), locationExtra: "rewrite ^/moved/(.*)$ /$1 redirect;")
            try server.start()
            defer { server.stop() }
            let decoder = try VideoDecoder(path: "\(server.baseURL)/moved/h264_bframes.mp4")
            let local = try VideoDecoder(path: fixture("h264_bframes.mp4"))
            #expect(
                try decoder.frames(at: [49, 3, 25]).map(\.pixels) == (try local.frames(at: [49, 3, 25])).map(\.pixels))
            let log = try String(contentsOfFile: server.accessLog, encoding: .utf8)
            #expect(log.contains("302 ") && log.contains("206 "), "\(log)")
        }
    }

    /// A clip asks the server for its part of its GOP and a small read-ahead,
    /// in one request, never the rest of the file: the GOP's bytes come from
    /// ffprobe's packet positions, what was sent from nginx's log.
    @Test func aClipAsksForItsGOPOnly() throws {
        let folder = try temporaryFolder("clip-ranges")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let video = folder + "/gop50.mp4"
        _ = try runTool(
            "ffmpeg",
            [
                "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=10", "-f", "lavfi", "-i",
                "sine=duration=10", "-c:v", "libx264", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
                "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", video
            ])
        // Video packets: presentation time, position and key flag; a keyframe every 50 frames.
        let probe = String(
            decoding: try runTool(
                "ffprobe",
                [
                    "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,pos,flags", "-of", "csv=p=0",
                    video
                ]),
            as: UTF8.self)
        let packets = probe.split(separator: "\n").map { $0.split(separator: ",") }.filter { $0.count == 3 }
        let keyPositions = packets.compactMap { $0[2].hasPrefix("K") ? Int64($0[1]) : nil }
        let displayed = packets.sorted { Int64($0[0])! < Int64($1[0])! }.map { Int64($0[1])! }  // positions by frame
        #expect(keyPositions.count == 5)
        let fileSize = Int64(try FileManager.default.attributesOfItem(atPath: video)[.size] as! Int)
        let local = try VideoDecoder(path: video)
        try withNetworkEnvironment {
            let server = try NginxServer(root: folder)
            try server.start()
            defer { server.stop() }
            let remote = try VideoDecoder(path: "\(server.baseURL)/gop50.mp4", index: local.index)
            let opened = try #require(remote.network)
            #expect(opened.openingBytes < fileSize / 4, "the header alone: \(opened.openingBytes) of \(fileSize)")
            // Frames 110–117 need frames 100–117 and the few after them the decoder holds back: from
            // keyframe 2's bytes to frame 117's at least, within the GOP of frames 100–149.
            let clip = Array(110..<118)
            let frames = try remote.frames(at: clip)
            #expect(frames.map(\.pixels) == (try local.frames(at: clip)).map(\.pixels))
            let spent = try #require(remote.network)
            let gop = keyPositions[3] - keyPositions[2]
            #expect(spent.clipRequests == 1, "one request for the clip: \(spent)")
            #expect(
                spent.clipBytes > displayed[117] - keyPositions[2] && Double(spent.clipBytes) <= 1.5 * Double(gop),
                "\(spent.clipBytes) for a GOP of \(gop)")
            // The server sent what was asked for, no more; the clip's request started in the GOP
            // before (the audio samples interleaved before the keyframe's).
            #expect(server.waitForLog { $0.components(separatedBy: "\n").count == 3 })
            let lines = try String(contentsOfFile: server.accessLog, encoding: .utf8).split(separator: "\n")
            let sent = lines.compactMap { Int64($0.split(separator: " ")[2]) }.reduce(0, +)
            #expect(sent == spent.openingBytes + spent.clipBytes, "nginx sent \(sent)")
            let start = lines.last.flatMap { $0.split(separator: "=").last?.split(separator: "-").first }.flatMap {
                Int64($0)
            }
            #expect(start.map { $0 > keyPositions[1] && $0 <= keyPositions[2] } == true, "\(lines)")
        }
    }

    /// A stopped server: a clear error once the retry budget is spent, the
    /// open's retries and libavformat's reconnects inside it sharing one
    /// budget (they once took 11 s of an 8 s one, and 52 s of the default
    /// 30). A server back within the budget: the open succeeds.
    @Test func stoppedAndRestartedServers() throws {
        let server = try NginxServer(root: fixture(""))
        let url = "\(server.baseURL)/vfr.mp4"
        let (message, waited) = withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "8"]) { timedOpenError(url) }
        #expect(message.contains("still failing after") && message.contains("127.0.0.1"), "\(message)")
        #expect(waited > 4 && waited < 10, "retried within the 8 s budget: \(waited) s")
        #expect(reconnectPauseLimit(fitting: 30) == 15 && reconnectPauseLimit(fitting: 0.5) == 0)
        // Back after 1.5 s, inside an 8 s budget.
        defer { server.stop() }
        let (frames, seconds) = try withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "8"]) {
            let restart = Thread {
                usleep(1_500_000)
                try? server.start()
            }
            restart.start()
            let started = Date()
            return (try VideoDecoder(path: url).frameCount, Date().timeIntervalSince(started))
        }
        #expect(frames == 50 && seconds > 1, "opened after the restart, \(seconds) s")
    }

    /// A slow server (limit_rate) is slow, not an error.
    @Test func aSlowServerStillServes() throws {
        try withNetworkEnvironment {
            let server = try NginxServer(root: fixture(""), locationExtra: "limit_rate 100k; sendfile off;")
            try server.start()
            defer { server.stop() }
            let started = Date()
            let decoder = try VideoDecoder(path: "\(server.baseURL)/corpus/mjpeg.avi")
            var frames = 0
            _ = try decoder.decodeAll { _, _ in frames += 1 }
            #expect(frames == corpus["mjpeg.avi"]!.frames)
            #expect(Date().timeIntervalSince(started) > 1, "the rate limit held: 150 kB at 100 kB/s")
        }
    }

    /// https verifies the server's certificate: a self-signed one fails with
    /// a clear error, and opens once its authority is given (CLIPKIT_CA_FILE).
    @Test func certificatesAreVerified() throws {
        let folder = try temporaryFolder("tls")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tls = try selfSignedCertificate(in: folder)
        let server = try NginxServer(root: fixture(""), tls: tls)
        try server.start()
        defer { server.stop() }
        let url = "\(server.baseURL)/vfr.mp4"
        let (message, seconds) = withNetworkEnvironment(["CLIPKIT_HTTP_RETRY_SECONDS": "20", "CLIPKIT_CA_FILE": nil]) {
            timedOpenError(url)
        }
        #expect(message.contains("certificate failed verification"), "\(message)")
        #expect(seconds < 5, "not retried")
        let frames = try withNetworkEnvironment(["CLIPKIT_CA_FILE": tls.certificate]) {
            try VideoDecoder(path: url).frameCount
        }
        #expect(frames == 50)
    }
}
