import CMPI
import Foundation
import Synchronization

/// An MPI call that failed, on which rank.
public struct CommunicatorError: Error, CustomStringConvertible {
    public var rank: Int
    public var operation: String
    public var reason: String
    public var description: String { "rank \(rank): \(operation) failed: \(reason)" }
}

/// The processes of a job and the collectives ClipKit uses between them.
///
/// Under `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`) the first use of
/// `world` initialises MPI; a process started any other way is a world of
/// size 1 and never touches MPI. Every collective must be called by every
/// rank in the same order. Errors come back as `CommunicatorError` (the
/// communicator uses `MPI_ERRORS_RETURN`); a rank that cannot go on must call
/// `abort`, which ends every rank of the job, so that a failure is never a hang.
///
/// Sendable, unchecked: its stored properties are immutable, and MPI is
/// initialised funneled, so every call into MPI must come from the thread that
/// started it. That is the trainer's thread by construction (loader workers
/// and kernels never hold a communicator); the compiler cannot check it.
public final class Communicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// This rank among the ranks on its node, and how many there are.
    public let localRank: Int
    public let localSize: Int
    private let comm: MPI_Comm?

    public var isDistributed: Bool { comm != nil }

    /// The job's world.
    public static let world: Communicator = Communicator.start()

    /// Whether this process was started by Open MPI's `mpirun` (or another PMIx launcher).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// A world of size 1 that never touches MPI.
    public static let single = Communicator(rank: 0, size: 1, localRank: 0, localSize: 1, comm: nil)

    private init(rank: Int, size: Int, localRank: Int, localSize: Int, comm: MPI_Comm?) {
        (self.rank, self.size, self.localRank, self.localSize, self.comm) = (rank, size, localRank, localSize, comm)
    }

    /// MPI's life: started by `world`, ended once by `finalize`.
    private static let initialized = Atomic(false)
    private static let finalized = Atomic(false)

    private static func start() -> Communicator {
        guard launchedByMPI else { return single }
        var provided: Int32 = 0
        // Only the main thread calls MPI (loader workers never do).
        guard MPI_Init_thread(nil, nil, clipkit_mpi_thread_funneled(), &provided) == clipkit_mpi_success() else {
            FileHandle.standardError.write(
                Data("clipkit: MPI_Init failed; run under mpirun, or without it for one process\n".utf8))
            exit(1)
        }
        initialized.store(true, ordering: .sequentiallyConsistent)
        let world = clipkit_mpi_comm_world()
        MPI_Comm_set_errhandler(world, clipkit_mpi_errors_return())
        var rank: Int32 = 0
        var size: Int32 = 0
        MPI_Comm_rank(world, &rank)
        MPI_Comm_size(world, &size)
        let env = ProcessInfo.processInfo.environment
        let localSize = env["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? Int(size)
        let localRank = env["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap(Int.init) ?? Int(rank)
        return Communicator(
            rank: Int(rank), size: Int(size), localRank: localRank, localSize: max(1, localSize), comm: world)
    }

    /// Ends MPI if it was started (every rank, at a normal exit). MPI_Finalize
    /// waits for the other ranks, so a rank that fails alone must `abort` instead.
    public static func finalize() {
        guard initialized.load(ordering: .sequentiallyConsistent),
            !finalized.exchange(true, ordering: .sequentiallyConsistent)
        else { return }
        MPI_Finalize()
    }

    /// Cores this rank should use: the node's cores shared by the ranks on it.
    public var coresPerRank: Int { max(1, ProcessInfo.processInfo.activeProcessorCount / localSize) }

    private func check(_ code: Int32, _ operation: String) throws {
        guard code != clipkit_mpi_success() else { return }
        var length: Int32 = 0
        var text = [CChar](repeating: 0, count: Int(clipkit_mpi_max_error_string()) + 1)
        MPI_Error_string(code, &text, &length)
        throw CommunicatorError(rank: rank, operation: operation, reason: String(cString: text))
    }

    // MARK: Collectives

    /// Sums `count` floats over all ranks, in place.
    public func allreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let comm, count > 0 else { return }
        var done = 0
        while done < count {
            let n = min(count - done, Int(Int32.max))
            try check(
                MPI_Allreduce(
                    clipkit_mpi_in_place(), values + done, Int32(n), clipkit_mpi_float(), clipkit_mpi_sum(), comm),
                "MPI_Allreduce")
            done += n
        }
    }

    /// Sums doubles over all ranks, in place.
    public func allreduceSum(_ values: inout [Double]) throws { try allreduce(&values, clipkit_mpi_sum()) }

    /// Each value's largest over all ranks, in place.
    public func allreduceMax(_ values: inout [Double]) throws { try allreduce(&values, clipkit_mpi_max()) }

    private func allreduce(_ values: inout [Double], _ op: MPI_Op) throws {
        guard let comm, !values.isEmpty else { return }
        let count = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { p in
            try check(
                MPI_Allreduce(clipkit_mpi_in_place(), p.baseAddress, count, clipkit_mpi_double(), op, comm),
                "MPI_Allreduce")
        }
    }

    /// Copies `bytes` bytes at `buffer` from `root` to every rank.
    public func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int, root: Int = 0) throws {
        guard let comm, bytes > 0 else { return }
        var done = 0
        while done < bytes {
            let n = min(bytes - done, Int(Int32.max))
            try check(MPI_Bcast(buffer + done, Int32(n), clipkit_mpi_byte(), Int32(root), comm), "MPI_Bcast")
            done += n
        }
    }

    /// `root`'s data (any length, or none) on every rank; the other ranks' argument is ignored.
    public func broadcast(_ data: Data?, root: Int = 0) throws -> Data? {
        guard isDistributed else { return data }
        var length = Int64(rank == root ? data?.count ?? -1 : 0)
        try broadcast(&length, bytes: 8, root: root)
        guard length >= 0 else { return nil }
        var out = rank == root ? data! : Data(count: Int(length))
        if length > 0 {
            try out.withUnsafeMutableBytes { try broadcast($0.baseAddress!, bytes: Int(length), root: root) }
        }
        return out
    }

    /// Every rank's bytes, by rank (lengths may differ).
    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard let comm else { return [bytes] }
        var lengths = [Int32](repeating: 0, count: size)
        var mine = Int32(bytes.count)
        try check(MPI_Allgather(&mine, 1, clipkit_mpi_int(), &lengths, 1, clipkit_mpi_int(), comm), "MPI_Allgather")
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<size { offsets[r] = offsets[r - 1] + lengths[r - 1] }
        let total = Int(offsets[size - 1] + lengths[size - 1])
        var all = [UInt8](repeating: 0, count: max(total, 1))
        var send = bytes.isEmpty ? [0] : bytes
        try send.withUnsafeMutableBytes { s in
            try all.withUnsafeMutableBytes { a in
                try check(
                    MPI_Allgatherv(
                        s.baseAddress, mine, clipkit_mpi_byte(), a.baseAddress, &lengths, &offsets, clipkit_mpi_byte(),
                        comm),
                    "MPI_Allgatherv")
            }
        }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])]) }
    }

    public func barrier() throws {
        guard let comm else { return }
        try check(MPI_Barrier(comm), "MPI_Barrier")
    }

    /// Ends every rank of the job with `code` (a world of size 1 just exits).
    public func abort(code: Int32 = 1) -> Never {
        if let comm { MPI_Abort(comm, code) }
        exit(code)
    }

    // MARK: Non-blocking sums (gradient buckets)

    /// A sum in flight; `wait` (or `test`) completes it.
    public final class Request {
        fileprivate var handle: MPI_Request?
        fileprivate init(_ handle: MPI_Request?) { self.handle = handle }
        public var isComplete: Bool { handle == nil }
    }

    /// Starts summing `count` floats over all ranks in place; the buffer must
    /// stay untouched until the request completes.
    public func startAllreduceSum(_ values: UnsafeMutablePointer<Float>, count: Int) throws -> Request {
        guard let comm, count > 0 else { return Request(nil) }
        precondition(count <= Int(Int32.max), "one bucket is at most 2^31 floats")
        var request: MPI_Request? = clipkit_mpi_request_null()
        try check(
            MPI_Iallreduce(
                clipkit_mpi_in_place(), values, Int32(count), clipkit_mpi_float(), clipkit_mpi_sum(), comm, &request),
            "MPI_Iallreduce")
        return Request(request)
    }

    /// Lets MPI progress `request` (Open MPI moves non-blocking collectives
    /// only inside MPI calls); true when it is complete.
    @discardableResult
    public func test(_ request: Request) throws -> Bool {
        guard request.handle != nil else { return true }
        var handle = request.handle
        var flag: Int32 = 0
        try check(MPI_Test(&handle, &flag, clipkit_mpi_status_ignore()), "MPI_Test")
        if flag != 0 { request.handle = nil } else { request.handle = handle }
        return flag != 0
    }

    public func wait(_ request: Request) throws {
        guard request.handle != nil else { return }
        var handle = request.handle
        try check(MPI_Wait(&handle, clipkit_mpi_status_ignore()), "MPI_Wait")
        request.handle = nil
    }
}
