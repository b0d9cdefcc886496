import Foundation

/// A real nginx (Debian's nginx-light, installed by tools/install-deps.sh)
/// serving `root` on 127.0.0.1 at a port free when it starts, in one
/// foreground process that the test starts and stops itself. Its access log
/// records each request's status and bytes sent.
public final class NginxServer: @unchecked Sendable {
    public let root: String
    public let port: Int
    public let folder: String
    private let tls: (certificate: String, key: String)?
    private let locationExtra: String
    private var process: Process?

    /// `locationExtra`: directives for `location /` (`limit_rate 100k;`).
    public init(root: String, tls: (certificate: String, key: String)? = nil, locationExtra: String = "") throws {
        self.root = root
        self.tls = tls
        self.locationExtra = locationExtra
        folder = try temporaryFolder("nginx")
        port = try freePort()
    }

    deinit { stop() }

    public var baseURL: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }
    public var accessLog: String { folder + "/access.log" }

    /// Whether the access log satisfies `test` within 2 s (nginx logs a
    /// request just after answering it).
    public func waitForLog(_ test: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(2)
        repeat {
            if let log = try? String(contentsOfFile: accessLog, encoding: .utf8), test(log) { return true }
            usleep(20_000)
        } while Date() < deadline
        return false
    }

    /// Starts nginx and waits until it accepts connections (5 s at most).
    public func start() throws {
        stop()
        let config = """
            daemon off;
            master_process off;
            user root;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log;
            events { worker_connections 64; }
            http {
                log_format ranges '$status $bytes_sent $body_bytes_sent "$http_range" "$request" "$http_authorization" $connection $connection_requests';
                access_log \(folder)/access.log ranges;
                client_body_temp_path \(folder)/body;
                proxy_temp_path \(folder)/proxy;
                fastcgi_temp_path \(folder)/fastcgi;
                uwsgi_temp_path \(folder)/uwsgi;
                scgi_temp_path \(folder)/scgi;
                types { video/mp4 mp4; }
                default_type application/octet-stream;
                server {
                    listen 127.0.0.1:\(port)\(tls == nil ? "" : " ssl");
                    \(tls.map { "ssl_certificate \($0.certificate); ssl_certificate_key \($0.key);" } ?? "")
                    root \(root);
                    location / { \(locationExtra) }
                }
            }
            """
        try config.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
        p.arguments = ["-p", folder, "-c", folder + "/nginx.conf", "-e", folder + "/error.log"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(5)
        while !accepts(port) {
            guard p.isRunning, Date() < deadline else {
                let log = (try? String(contentsOfFile: folder + "/error.log", encoding: .utf8)) ?? ""
                stop()
                throw ToolFailure(message: "nginx did not start on port \(port): \(log)")
            }
            usleep(20_000)
        }
    }

    /// Stops nginx at once (as a crash would) and waits for it to exit.
    public func stop() {
        guard let p = process else { return }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)  // nginx without a master process ignores SIGTERM
            p.waitUntilExit()
        }
        process = nil
    }
}

/// A TCP port nothing listens on now (the kernel's pick for port 0).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ToolFailure(message: "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw ToolFailure(message: "bind: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// 127.0.0.1 at `port`.
private func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return address
}

private func accepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopback(port: port)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}

/// A self-signed certificate for 127.0.0.1 (openssl): its PEM files.
public func selfSignedCertificate(in folder: String) throws -> (certificate: String, key: String) {
    let (certificate, key) = (folder + "/cert.pem", folder + "/key.pem")
    _ = try runTool(
        "openssl",
        [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate
        ])
    return (certificate, key)
}

private let networkLock = NSLock()

/// Runs `body` with the http settings' environment variables set to `values`
/// (nil: unset), holding a lock that every test reading them takes, so that
/// suites in different targets of the one test process never see each
/// other's settings.
public func withNetworkEnvironment<T>(_ values: [String: String?] = [:], _ body: () throws -> T) rethrows -> T {
    networkLock.lock()
    defer { networkLock.unlock() }
    let names = ["CLIPKIT_HTTP_RETRY_SECONDS", "CLIPKIT_HTTP_AUTHORIZATION", "CLIPKIT_CA_FILE", "CLIPKIT_TLS_INSECURE"]
    let kept = names.map { ($0, ProcessInfo.processInfo.environment[$0]) }
    for name in names {
        if let value = values[name] ?? nil { setenv(name, value, 1) } else { unsetenv(name) }
    }
    defer { for (key, value) in kept { if let value { setenv(key, value, 1) } else { unsetenv(key) } } }
    return try body()
}
