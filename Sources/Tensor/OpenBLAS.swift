import COpenBLAS
import Foundation

/// OpenBLAS, opened with `dlopen` on first use instead of linked. OpenBLAS
/// picks its kernels once, in its library constructor, and its detection
/// falls back to slow generic ones (Prescott) on CPU models it does not know
/// (Debian 12's 0.3.21 on recent Xeons: 9× slower sgemm). Opening it
/// ourselves lets `OPENBLAS_CORETYPE` be set from CPUID first. A user's own
/// `OPENBLAS_CORETYPE` always wins.
public struct OpenBLAS: Sendable {
    /// The library file that was opened.
    public let path: String
    /// The kernels OpenBLAS runs (`openblas_get_corename`), and its build (`openblas_get_config`).
    public let core: String
    public let config: String
    /// The core ClipKit asked for (nil: the user's `OPENBLAS_CORETYPE`, or detection).
    public let requestedCore: String?
    /// The user's `OPENBLAS_CORETYPE`, if set.
    public let userCore: String?
    let sgemm: clipkit_sgemm_fn
    let setThreads: clipkit_set_threads_fn?

    /// Names Debian and others give the library; the first that opens is used.
    static let candidates = [
        "libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0",
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0", "libopenblas.dylib"
    ]

    /// Kernels OpenBLAS falls back to that leave most of a modern CPU unused.
    static let genericCores: Set<String> = [
        "prescott", "katmai", "coppermine", "northwood", "banias", "core2", "penryn",
        "dunnington", "nehalem", "atom", "unknown", "opteron", "opteron_sse3", "barcelona"
    ]

    /// The process's OpenBLAS, opened on first use. Without one, ClipKit cannot
    /// compute: it says what to install and exits with status 1.
    public static let shared: OpenBLAS = {
        switch open() {
        case .success(let library):
            if let warning = library.warning(for: CPUFeatures.current) {
                FileHandle.standardError.write(Data(("clipkit: warning: " + warning + "\n").utf8))
            }
            return library
        case .failure(let error):
            FileHandle.standardError.write(Data(("clipkit: \(error.message)\n").utf8))
            exit(1)
        }
    }()

    public struct LoadError: Error { public let message: String }

    static func open(features: CPUFeatures = .current) -> Result<OpenBLAS, LoadError> {
        let user = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        var requested: String? = nil
        if user == nil, let core = features.openBLASCore {
            setenv("OPENBLAS_CORETYPE", core, 1)  // read by OpenBLAS's constructor, which dlopen runs
            requested = core
        }
        var tried: [String] = []
        for name in candidates {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
                tried.append(name)
                continue
            }
            guard let sgemm = dlsym(handle, "cblas_sgemm") else {
                tried.append(name + " (no cblas_sgemm)")
                dlclose(handle)
                continue
            }
            func function<T>(_ symbol: String, _ type: T.Type) -> T? {
                dlsym(handle, symbol).map { unsafeBitCast($0, to: type) }
            }
            let corename = function("openblas_get_corename", clipkit_get_string_fn.self).flatMap { $0() }.map {
                String(cString: $0)
            }
            let config = function("openblas_get_config", clipkit_get_string_fn.self).flatMap { $0() }.map {
                String(cString: $0)
            }
            return .success(
                OpenBLAS(
                    path: loadedPath(of: sgemm) ?? name, core: corename ?? "unknown", config: config ?? "",
                    requestedCore: requested, userCore: user,
                    sgemm: unsafeBitCast(sgemm, to: clipkit_sgemm_fn.self),
                    setThreads: function("openblas_set_num_threads", clipkit_set_threads_fn.self)))
        }
        return .failure(
            LoadError(
                message: "cannot open OpenBLAS (tried \(tried.joined(separator: ", "))); "
                    + "install it: apt-get install libopenblas0 (Debian/Ubuntu)"))
    }

    /// A warning when OpenBLAS runs generic kernels on a CPU that has better ones.
    public func warning(for features: CPUFeatures) -> String? {
        guard features.usableAVX2, OpenBLAS.genericCores.contains(core.lowercased()) else { return nil }
        let fix = features.openBLASCore ?? "Haswell"
        let cause =
            userCore.map { "OPENBLAS_CORETYPE=\($0) is set" } ?? requestedCore.map { "it did not accept \($0)" }
            ?? "it does not know this CPU"
        return "OpenBLAS (\(path)) runs its generic \(core) kernels on a CPU with AVX2 (\(cause)), so matrix "
            + "products run several times slower. Set OPENBLAS_CORETYPE=\(fix), or install a newer OpenBLAS; "
            + "`clipkit doctor` shows the details."
    }
}

/// The file a loaded symbol comes from: the mapping of /proc/self/maps that holds it.
private func loadedPath(of symbol: UnsafeMutableRawPointer) -> String? {
    guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
    let address = UInt(bitPattern: symbol)
    for line in maps.split(separator: "\n") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 6, let dash = fields[0].firstIndex(of: "-"),
            let start = UInt(fields[0][..<dash], radix: 16),
            let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
            start <= address, address < end
        else { continue }
        return fields[5...].joined(separator: " ")
    }
    return nil
}
