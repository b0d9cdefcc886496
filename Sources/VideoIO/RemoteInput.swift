import CFFmpeg
import Foundation
import Support

/// How http(s) sources are read, from the environment, so that the CLI,
/// the loader's workers and Python all read them the same way:
/// - `CLIPKIT_HTTP_RETRY_SECONDS` (default 30): how long a failing open or
///   read is retried, with growing pauses, before its error is reported;
/// - `CLIPKIT_HTTP_AUTHORIZATION`: the value of an `Authorization` header
///   (never taken from the command line, where `ps` shows it);
/// - `CLIPKIT_CA_FILE`: a PEM file of certificate authorities to trust
///   instead of the system's (the first of `systemCAFiles` that exists);
/// - `CLIPKIT_TLS_INSECURE=1`: do not verify the server's certificate, so
///   that anyone between ClipKit and the server can pose as it.
public struct RemoteSettings: Sendable {
    public var retrySeconds = 30
    public var authorization: String?
    public var caFile: String?
    public var verifyCertificates = true

    /// Where systems keep their certificate authorities (Debian and Ubuntu,
    /// Fedora and RHEL, openSUSE, Alpine): the first that exists is what
    /// https trusts when CLIPKIT_CA_FILE names none, so that a TLS library
    /// built on another system (the wheel's GnuTLS) trusts this one's.
    static let systemCAFiles = [
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem"
    ]

    public static var environment: RemoteSettings {
        var s = RemoteSettings()
        let env = ProcessInfo.processInfo.environment
        if let v = env["CLIPKIT_HTTP_RETRY_SECONDS"].flatMap(Int.init), v >= 0 { s.retrySeconds = v }
        s.authorization = env["CLIPKIT_HTTP_AUTHORIZATION"].flatMap { $0.isEmpty ? nil : $0 }
        s.caFile =
            env["CLIPKIT_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? systemCAFiles.first { FileManager.default.fileExists(atPath: $0) }
        s.verifyCertificates = env["CLIPKIT_TLS_INSECURE"] != "1"
        return s
    }

    /// libavformat's http/tls options: kept-alive ranged requests, reconnects
    /// on 5xx and dropped connections (`networkRetries`) with pauses of 0, 1,
    /// 3, 7, … s up to `pauseLimit` (the retry budget by default), I/O
    /// timeouts, certificate verification, the header.
    func options(networkRetries: Bool, pauseLimit: Int? = nil) -> [String: String] {
        var o = [
            "multiple_requests": "1", "reconnect": "1", "reconnect_on_http_error": "5xx",
            "reconnect_on_network_error": networkRetries ? "1" : "0",
            "reconnect_delay_max": "\(pauseLimit ?? retrySeconds)",
            "rw_timeout": "\(max(retrySeconds, 5) * 1_000_000)", "tls_verify": verifyCertificates ? "1" : "0"
        ]
        if let caFile { o["ca_file"] = caFile }
        if let authorization { o["headers"] = "Authorization: \(authorization)\r\n" }
        return o
    }
}

/// Opens the reader of an http(s) object with a first request at `offset`
/// (what the caller reads first: a container's header, a tar header or a
/// member's start). Later requests open with the same options, reconnecting
/// on dropped connections within the budget.
func openRemoteReader(_ url: String, at offset: Int64 = 0) throws -> UnsafeMutablePointer<cffmpeg_http> {
    let firstEnd = offset + Int64(CFFMPEG_HTTP_FIRST_CHUNK)
    var later: OpaquePointer? = nil
    for (key, value) in RemoteSettings.environment.options(networkRetries: true) { av_dict_set(&later, key, value, 0) }
    defer { av_dict_free(&later) }
    // On a kept-alive connection when the server answers plainly; else libavformat's http says why not.
    var wholeObject: Int32 = 0
    if let kept = cffmpeg_http_open_kept(url, later, offset, firstEnd, &wholeObject) { return kept }
    if wholeObject != 0 {  // libavformat's http would read on from the start and decode nonsense, or nothing
        throw VideoError.cannotOpen(path: url, reason: serverWithoutRanges)
    }
    let io = try retryingRemoteOpen(url) { options in
        av_dict_set(&options, "offset", "\(offset)", 0)
        av_dict_set(&options, "end_offset", "\(firstEnd)", 0)
        var io: UnsafeMutablePointer<AVIOContext>? = nil
        return (avio_open2(&io, url, AVIO_FLAG_READ, nil, &options), io)
    }
    guard let reader = cffmpeg_http_make(url, later, io, offset, firstEnd) else {
        throw VideoError.cannotOpen(path: url, reason: "out of memory")
    }
    return reader
}

/// Why a server that answers byte ranges with the whole object cannot serve ClipKit.
let serverWithoutRanges = """
    the server answers byte-range requests with the whole file (HTTP 200, not 206): ClipKit reads \
    videos over http(s) by ranges, so serve them from a server that supports Range requests (nginx, \
    Apache, S3, GCS; not python's http.server)
    """

/// Up to `count` bytes at `offset` (fewer only at the end of the object); a
/// failed read throws, naming `url`, so that a lost connection never reads
/// as a short archive.
func readRemote(_ reader: UnsafeMutablePointer<cffmpeg_http>, at offset: Int64, count: Int, url: String) throws
    -> [UInt8]
{
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let got = bytes.withUnsafeMutableBufferPointer {
            cffmpeg_http_read(reader, offset + Int64(filled), $0.baseAddress! + filled, Int32(count - filled))
        }
        if got < 0 { throw VideoError.cannotOpen(path: url, reason: ffmpegMessage(got)) }
        if got == 0 { break }
        filled += Int(got)
    }
    return Array(bytes.prefix(filled))
}

/// What a remote reader has asked for and waited on so far.
public struct NetworkCounters: Sendable, Equatable {
    /// Requests made and bytes asked for while opening (container header,
    /// index) and while decoding clips.
    public var openingRequests = 0, openingBytes: Int64 = 0
    public var clipRequests = 0, clipBytes: Int64 = 0
    /// Seconds spent waiting for requests to open and responses to arrive.
    public var waitSeconds = 0.0
    /// Connections opened: most requests go over kept-alive ones, which the
    /// videos read one after another in a thread share.
    public var connections = 0

    public init() {}

    init(_ h: UnsafeMutablePointer<cffmpeg_http>) {
        let r = h.pointee
        (openingRequests, openingBytes) = (Int(r.requests.0), r.requested.0)
        (clipRequests, clipBytes) = (Int(r.requests.1), r.requested.1)
        waitSeconds = Double(r.wait_ns) / 1e9
        connections = Int(r.connections)
    }

    public static func + (a: NetworkCounters, b: NetworkCounters) -> NetworkCounters {
        var s = a
        s.openingRequests += b.openingRequests
        s.openingBytes += b.openingBytes
        s.clipRequests += b.clipRequests
        s.clipBytes += b.clipBytes
        s.waitSeconds += b.waitSeconds
        s.connections += b.connections
        return s
    }
}

/// The time one open of a remote source may spend failing: its own budget,
/// or the enclosing `retryingRemoteOpens`'s, so that retries nested in it
/// share that budget instead of each taking a whole one. Only failed
/// attempts and pauses are charged: a long scan that succeeds costs none of it.
final class RetryWindow: @unchecked Sendable {
    private let budget: Double
    private let lock = NSLock()
    private var charged = 0.0

    init(seconds: Int) { budget = Double(seconds) }

    @TaskLocal static var enclosing: RetryWindow?

    /// Seconds failed or paused so far.
    var spent: Double { lock.withLock { charged } }
    var remaining: Double { budget - spent }

    /// Runs `attempt`; when it throws, charges its time, less what nested
    /// retries inside it charged already.
    func charging<T>(_ attempt: () throws -> T) throws -> T {
        let (before, started) = (spent, Date())
        do { return try attempt() } catch {
            charge(max(0, Date().timeIntervalSince(started) - (spent - before)))
            throw error
        }
    }

    func charge(_ seconds: Double) { lock.withLock { charged += seconds } }

    func pause(_ seconds: Double) {
        Thread.sleep(forTimeInterval: seconds)
        charge(seconds)
    }
}

/// The longest pause of libavformat's reconnects (0, 1, 3, 7, … s) for which
/// all its pauses together fit in `seconds`.
func reconnectPauseLimit(fitting seconds: Double) -> Int {
    var (pause, total) = (0, 0)
    while Double(total + 2 * pause + 1) <= seconds {
        pause = 2 * pause + 1
        total += pause
    }
    return pause
}

/// Runs `open` with the settings' options. A first try reports a certificate
/// failure or a 4xx status at once; any other failure is tried again with
/// libavformat's reconnects on, pausing 1, 3, 7, … s while the budget (or
/// what is left of the enclosing one) lasts. Once open, reads reconnect the
/// same way (the option is set on the opened I/O context). Errors name the
/// URL (redacted when printed).
private func retryingRemoteOpen(
    _ url: String, _ open: (inout OpaquePointer?) -> (Int32, UnsafeMutablePointer<AVIOContext>?)
) throws -> UnsafeMutablePointer<AVIOContext> {
    let settings = RemoteSettings.environment
    let window = RetryWindow.enclosing ?? RetryWindow(seconds: settings.retrySeconds)
    var failure = ""
    for networkRetries in [false, true] {
        _ = takeLastLog()
        var dictionary: OpaquePointer? = nil
        let pauseLimit = reconnectPauseLimit(fitting: window.remaining)
        for (key, value) in settings.options(networkRetries: networkRetries, pauseLimit: pauseLimit) {
            av_dict_set(&dictionary, key, value, 0)
        }
        defer { av_dict_free(&dictionary) }
        let started = Date()
        let (code, opened) = open(&dictionary)
        if code >= 0, let opened {
            av_opt_set(UnsafeMutableRawPointer(opened), "reconnect_on_network_error", "1", AV_OPT_SEARCH_CHILDREN)
            return opened
        }
        window.charge(Date().timeIntervalSince(started))
        failure = ffmpegMessage(code)
        if failure.lowercased().contains("certificate") {
            throw VideoError.cannotOpen(
                path: url,
                reason: """
                    the server's certificate failed verification (\(failure)); give its authority in \
                    CLIPKIT_CA_FILE, or set CLIPKIT_TLS_INSECURE=1 to skip verification
                    """)
        }
        let clientError = [400, 401, 403, 404, 499].map(cffmpeg_averror_http).contains(code)
        if clientError || window.remaining < 1 { break }
    }
    let seconds = Int(window.spent.rounded())
    throw VideoError.cannotOpen(
        path: url, reason: seconds > 0 ? "\(failure) (still failing after \(seconds) s of retries)" : failure)
}

/// Runs `open` (the whole open of a source: container, index scan), again
/// while it fails and the retry budget lasts when `path` is remote (a URL, or
/// a member of a remote tar): a connection lost half-way through a scan
/// looks like a short or empty file, which no single read can tell from one.
/// A 4xx answer, a certificate failure, a missing member or an archive
/// cut short fails at once.
func retryingRemoteOpens<T>(_ path: String, _ open: () throws -> T) throws -> T {
    guard isRemoteLocation(path) else { return try open() }
    let window = RetryWindow.enclosing ?? RetryWindow(seconds: RemoteSettings.environment.retrySeconds)
    return try RetryWindow.$enclosing.withValue(window) {
        var pause = 0.25
        while true {
            do {
                return try window.charging(open)
            } catch let error as VideoError {
                let reason = error.reason
                let final = [
                    "Server returned 4", "certificate", "no member", "cut short", "does not start this member",
                    serverWithoutRanges
                ].contains { reason.contains($0) }
                guard !final, pause < window.remaining else { throw error }
                window.pause(pause)
                pause = min(pause * 2, 4)
            }
        }
    }
}
