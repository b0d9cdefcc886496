import Clips
import Foundation
import Support
import VideoIO

/// How batches are made.
public struct LoaderOptions: Sendable, Equatable {
    public var batchSize: Int
    /// Worker threads (default: the core count).
    public var workers: Int
    /// Batches in flight at most: being filled, ready, or held by the consumer.
    /// This many batch buffers exist, so memory is bounded by it.
    public var queueDepth: Int
    public var shuffle: Bool
    /// Drop the last, incomplete batch of an epoch.
    public var dropLast: Bool
    public var seed: UInt64
    /// Distributed shard: this process's rank among `worldSize` (PyTorch's DistributedSampler).
    public var rank: Int
    public var worldSize: Int
    /// The group of each sample (its tar shard, `shardGroups`): when given, an
    /// epoch shuffles the groups, then the samples within each, so that a
    /// global batch reads from at most two shards (when shards hold a batch).
    public var groups: [Int]?

    public init(
        batchSize: Int, workers: Int = ProcessInfo.processInfo.activeProcessorCount, queueDepth: Int = 4,
        shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0, rank: Int = 0, worldSize: Int = 1
    ) {
        self.batchSize = batchSize
        self.workers = workers
        self.queueDepth = queueDepth
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.rank = rank
        self.worldSize = worldSize
    }
}

/// A video that could not be loaded, and why.
public struct LoadFailure: Sendable, Equatable, CustomStringConvertible {
    public var video: Int
    public var path: String
    public var reason: String
    public var description: String { redactedLocations(path) + ": " + redactedLocations(reason) }
}

/// One batch: `count` samples of `sampleShape`, contiguous Float32
/// (count × sampleShape). The data is valid until the next call to `next()`.
public struct Batch {
    public let index: Int
    public let count: Int
    public let sampleShape: [Int]
    public let data: UnsafeBufferPointer<Float>
    public let labels: [Int]
    /// Dataset indices of the videos in the batch (after replacements).
    public let videos: [Int]
    /// Test mode: samples that failed (their floats are zero).
    public let failed: [LoadFailure]
    /// Training: samples whose video failed and were replaced by another.
    public let replaced: [LoadFailure]
    /// What the batch's remote videos cost in requests, bytes and waiting.
    public let network: NetworkCounters
    fileprivate let buffer: Int
}

/// Counters for one epoch.
public struct LoaderStats: Sendable {
    public var samples = 0
    public var replaced = 0
    public var failed = 0
    /// Seconds the consumer spent waiting for a batch.
    public var waitSeconds = 0.0
    /// Ready batches seen by the consumer at each `next()`, summed (divide by batches for the mean).
    public var readySum = 0
    public var batches = 0
    public var seconds = 0.0
    /// Remote videos' requests, bytes and the workers' seconds spent waiting on them.
    public var network = NetworkCounters()
    public var samplesPerSecond: Double { seconds > 0 ? Double(samples) / seconds : 0 }
    public var meanQueueOccupancy: Double { batches > 0 ? Double(readySum) / Double(batches) : 0 }
}

public enum LoaderError: Error, CustomStringConvertible {
    /// Every replacement candidate failed too: nothing loadable is left.
    case nothingLoads(LoadFailure)
    public var description: String {
        switch self {
        case .nothingLoads(let f): return "no video loads (last: \(f.description))"
        }
    }
}

/// Why a load failed, without repeating the file name.
func failureReason(_ error: Error) -> String {
    if let video = error as? VideoError { return video.reason }
    return String(describing: error)
}

/// The display order of one epoch for this rank: shuffled from (seed, epoch)
/// (by groups, then within each, with `options.groups`), padded by repeating
/// from the start to a multiple of `worldSize`, every `worldSize`-th index
/// from `rank` (PyTorch's DistributedSampler), so that the ranks' batches
/// together are the same global batches as in one process.
public func epochOrder(count: Int, epoch: Int, options: LoaderOptions) -> [Int] {
    var order = Array(0..<count)
    if options.shuffle {
        var rng = SampleRNG(seed: options.seed, epoch: epoch, sample: -1)
        func shuffle(_ a: inout [Int]) {
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, rng.int(below: i + 1)) }
        }
        if let groups = options.groups, groups.count == count {
            var members: [Int: [Int]] = [:]
            var ids: [Int] = []
            for (i, g) in groups.enumerated() {
                if members[g] == nil { ids.append(g) }
                members[g, default: []].append(i)
            }
            shuffle(&ids)
            order = ids.flatMap { id -> [Int] in
                var m = members[id]!
                shuffle(&m)
                return m
            }
        } else {
            shuffle(&order)
        }
    }
    let world = max(1, options.worldSize)
    guard world > 1 else { return order }
    let perRank = (count + world - 1) / world
    var padded = order
    while padded.count < perRank * world { padded += order.prefix(perRank * world - padded.count) }
    return stride(from: options.rank, to: perRank * world, by: world).map { padded[$0] }
}

/// Batches of a `ClipDataset`, epoch after epoch, from worker threads. Batch
/// buffers come from a pool that lives as long as the loader.
///
/// Sendable, unchecked: `logged` is only touched under `logLock`, and `log`
/// is set before the first epoch starts (the workers only read it).
public final class ClipLoader: @unchecked Sendable {
    public let dataset: ClipDataset
    public let options: LoaderOptions
    let pool: BufferPool
    private let logLock = NSLock()
    private var logged = Set<String>()
    /// Where "logged once" failures go (default: stderr).
    public var log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("clipkit: \($0)\n".utf8)) }

    public init(dataset: ClipDataset, options: LoaderOptions) {
        precondition(options.batchSize > 0 && options.workers > 0 && options.queueDepth > 0)
        self.dataset = dataset
        self.options = options
        pool = BufferPool(count: max(options.queueDepth, 1), floats: options.batchSize * dataset.sampleFloats)
    }

    /// Batch buffers allocated so far (never more than `queueDepth`).
    public var buffersAllocated: Int { pool.allocated }
    /// Buffers not in flight (all of them between epochs).
    public var buffersIdle: Int { pool.idle }

    /// Starts the workers for `epoch`. Iterate with `next()`; `stop()` (or
    /// dropping the iterator) ends the workers early.
    /// `startingAt` skips the epoch's first batches without loading them
    /// (resuming an interrupted epoch: the order depends only on seed and epoch).
    public func epoch(_ epoch: Int, startingAt start: Int = 0) -> EpochIterator {
        EpochIterator(loader: self, epoch: epoch, start: start)
    }

    /// Batches in one epoch of this rank's shard (`epochOrder` pads the shards to equal length).
    public var batchesPerEpoch: Int {
        let world = max(1, options.worldSize)
        let b = options.batchSize
        let samples = world == 1 ? dataset.count : (dataset.count + world - 1) / world
        return options.dropLast ? samples / b : (samples + b - 1) / b
    }

    /// Gives back a batch buffer taken with `EpochIterator.detach()`.
    public func recycle(_ buffer: UnsafeMutablePointer<Float>) { pool.adopt(buffer) }

    /// Frees a detached batch buffer whose loader is gone.
    public static func freeDetached(_ buffer: UnsafeMutablePointer<Float>) { buffer.deallocate() }

    /// Logs a failure once per file over the loader's life.
    func report(_ failure: LoadFailure) {
        logLock.lock()
        let first = logged.insert(failure.path).inserted
        logLock.unlock()
        if first { log(failure.description) }
    }
}

/// Reusable batch buffers. A buffer can also be detached: it becomes its
/// caller's (the Python package hands it out without a copy) and its slot
/// takes a new one; a detached buffer given back is kept for a slot that
/// needs one. Memory is bounded by `count` buffers plus what callers hold.
///
/// Sendable, unchecked: every mutable field is read and written under `lock`;
/// a buffer's floats belong to the one worker that took it until it is put back.
final class BufferPool: @unchecked Sendable {
    let floats: Int
    private let buffers: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>
    private let count: Int
    private var free: [Int]
    private var spare: [UnsafeMutablePointer<Float>] = []
    private let lock = NSLock()
    private var allocations = 0

    init(count: Int, floats: Int) {
        self.floats = floats
        self.count = count
        buffers = .allocate(capacity: count)
        buffers.initialize(repeating: nil, count: count)
        free = Array((0..<count).reversed())
    }

    /// Buffers allocated so far (at most `count` unless buffers are detached).
    var allocated: Int { lock.withLock { allocations } }

    /// A free buffer (allocated on first use), or nil when all are in flight.
    func take() -> (id: Int, pointer: UnsafeMutablePointer<Float>)? {
        lock.withLock {
            guard let id = free.popLast() else { return nil }
            if buffers[id] == nil {
                if let reused = spare.popLast() {
                    buffers[id] = reused
                } else {
                    buffers[id] = .allocate(capacity: floats)
                    allocations += 1
                }
            }
            return (id, buffers[id]!)
        }
    }

    func give(_ id: Int) { lock.withLock { free.append(id) } }

    /// Hands slot `id`'s buffer to the caller for good; the slot is free again.
    func detach(_ id: Int) -> UnsafeMutablePointer<Float> {
        lock.withLock {
            let pointer = buffers[id]!
            buffers[id] = nil
            free.append(id)
            return pointer
        }
    }

    /// A detached buffer given back: kept for reuse, or freed when enough are kept.
    func adopt(_ pointer: UnsafeMutablePointer<Float>) {
        lock.withLock {
            if spare.count < count { spare.append(pointer) } else { pointer.deallocate() }
        }
    }

    var idle: Int { lock.withLock { free.count } }

    deinit {
        for i in 0..<count { buffers[i]?.deallocate() }
        for p in spare { p.deallocate() }
        buffers.deallocate()
    }
}

/// What `EpochIterator.next(timeout:)` found.
public enum NextBatch {
    case batch(Batch)
    /// The epoch is over (or stopped).
    case end
    /// Nothing ready yet; ask again.
    case timedOut
}

/// One epoch's batches in order, from `options.workers` threads. Dropping it
/// (or `stop()`) ends the workers. Not for use from several threads.
public final class EpochIterator {
    private let work: EpochWork

    init(loader: ClipLoader, epoch: Int, start: Int) { work = EpochWork(loader: loader, epoch: epoch, start: start) }
    deinit { work.stop() }

    /// Batches in this epoch.
    public var count: Int { work.batchCount }
    public var stats: LoaderStats { work.currentStats }
    /// Worker threads still running (0 after `stop()` or the epoch's end).
    public var runningWorkers: Int { work.runningWorkers }

    /// The next batch in order, or nil after the last. The previous batch's
    /// data is recycled by this call.
    public func next() throws -> Batch? {
        guard case .batch(let batch) = try work.next(deadline: nil) else { return nil }
        return batch
    }

    /// `next()` that gives up after `seconds` (a caller that must stay
    /// responsive, such as Python checking for Ctrl-C, calls it again).
    public func next(timeout seconds: Double) throws -> NextBatch {
        try work.next(deadline: Date(timeIntervalSinceNow: max(0, seconds)))
    }

    /// Ends the epoch early: workers finish the sample they are on and exit;
    /// returns once they all have.
    public func stop() { work.stop() }

    /// The batch `next` returned last becomes the caller's: its data stays
    /// valid after the next call, until the caller gives it back with
    /// `ClipLoader.recycle` (or frees it with `ClipLoader.freeDetached` once
    /// the loader is gone). Nil when no batch is held.
    public func detach() -> UnsafeMutablePointer<Float>? { work.detachHeld() }
}

/// The state the workers share (they hold it, not the iterator, so that
/// dropping the iterator stops them).
///
/// Sendable, unchecked: every mutable field is read and written while holding
/// `condition` (an NSCondition, which the compiler cannot see as a lock).
final class EpochWork: @unchecked Sendable {
    private let loader: ClipLoader
    private let epoch: Int
    private let order: [Int]
    let batchCount: Int
    private let condition = NSCondition()
    private var nextClaim = 0
    private var nextConsume = 0
    private var ready: [Int: Result<Batch, Error>] = [:]
    private var held: Int? = nil
    private var occupancyCounted = -1
    private var stopped = false
    private var running = 0
    private let started = DispatchTime.now()
    private var stats = LoaderStats()

    init(loader: ClipLoader, epoch: Int, start: Int) {
        self.loader = loader
        self.epoch = epoch
        order = epochOrder(count: loader.dataset.count, epoch: epoch, options: loader.options)
        batchCount = loader.batchesPerEpoch
        nextClaim = min(max(start, 0), batchCount)
        nextConsume = nextClaim
        running = loader.options.workers
        for _ in 0..<loader.options.workers {
            let thread = Thread { [self] in work() }
            thread.name = "clipkit-loader"
            thread.start()
        }
    }

    var currentStats: LoaderStats {
        condition.lock()
        defer { condition.unlock() }
        return stats
    }

    var runningWorkers: Int {
        condition.lock()
        defer { condition.unlock() }
        return running
    }

    func next(deadline: Date?) throws -> NextBatch {
        condition.lock()
        defer { condition.unlock() }
        if let id = held {
            loader.pool.give(id)
            held = nil
            condition.broadcast()
        }
        guard nextConsume < batchCount, !stopped else {
            stats.seconds = elapsedSeconds()
            return .end
        }
        // Ready batches as the consumer arrives (once per batch, however many timeouts).
        if occupancyCounted != nextConsume {
            stats.readySum += ready.count
            occupancyCounted = nextConsume
        }
        let waitStart = DispatchTime.now()
        while ready[nextConsume] == nil {
            if let deadline {
                if !condition.wait(until: deadline) && ready[nextConsume] == nil {
                    stats.waitSeconds +=
                        Double(DispatchTime.now().uptimeNanoseconds - waitStart.uptimeNanoseconds) / 1e9
                    return .timedOut
                }
            } else {
                condition.wait()
            }
        }
        stats.waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - waitStart.uptimeNanoseconds) / 1e9
        let result = ready.removeValue(forKey: nextConsume)!
        nextConsume += 1
        switch result {
        case .success(let batch):
            held = batch.buffer
            stats.batches += 1
            stats.samples += batch.count
            stats.replaced += batch.replaced.count
            stats.failed += batch.failed.count
            stats.network = stats.network + batch.network
            stats.seconds = elapsedSeconds()
            return .batch(batch)
        case .failure(let error):
            stopped = true
            condition.broadcast()
            throw error
        }
    }

    func detachHeld() -> UnsafeMutablePointer<Float>? {
        condition.lock()
        defer { condition.unlock() }
        guard let id = held else { return nil }
        held = nil
        condition.broadcast()  // its slot is free for a worker
        return loader.pool.detach(id)
    }

    /// Stops the workers, waits for them, and returns every buffer to the pool.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        for (_, result) in ready { if case .success(let batch) = result { loader.pool.give(batch.buffer) } }
        ready = [:]
        if let id = held {
            loader.pool.give(id)
            held = nil
        }
        condition.unlock()
    }

    private func elapsedSeconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    }

    private func work() {
        var scratch: [UInt8] = []
        while true {
            condition.lock()
            var claim: (batch: Int, buffer: Int, pointer: UnsafeMutablePointer<Float>)? = nil
            while !stopped && nextClaim < batchCount {
                if let taken = loader.pool.take() {
                    claim = (nextClaim, taken.id, taken.pointer)
                    nextClaim += 1
                    break
                }
                condition.wait()
            }
            guard let (index, buffer, pointer) = claim else {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            let result = fill(batch: index, buffer: buffer, base: pointer, scratch: &scratch)
            condition.lock()
            if case .failure = result { loader.pool.give(buffer) }
            ready[index] = result
            condition.broadcast()
            condition.unlock()
        }
    }

    private var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    private func fill(batch index: Int, buffer: Int, base: UnsafeMutablePointer<Float>, scratch: inout [UInt8])
        -> Result<Batch, Error>
    {
        let dataset = loader.dataset
        let b = loader.options.batchSize
        let members = Array(order[(index * b)..<min(order.count, (index + 1) * b)])
        let floats = dataset.sampleFloats
        var videos: [Int] = []
        var labels: [Int] = []
        var failed: [LoadFailure] = []
        var replaced: [LoadFailure] = []
        var network = NetworkCounters()
        let training: Bool
        if case .train = dataset.mode { training = true } else { training = false }
        for (slot, video) in members.enumerated() {
            if isStopped { break }
            let destination = base + slot * floats
            var candidate = video
            var attempt = 0
            while true {
                do {
                    let spent = try dataset.load(video: candidate, epoch: epoch, into: destination, scratch: &scratch)
                    if let spent { network = network + spent }
                    break
                } catch {
                    let failure = LoadFailure(
                        video: candidate, path: dataset.manifest.entries[candidate].path,
                        reason: failureReason(error))
                    loader.report(failure)
                    guard training else {
                        failed.append(failure)
                        destination.initialize(repeating: 0, count: floats)
                        break
                    }
                    replaced.append(failure)
                    attempt += 1
                    // Deterministic replacement: the next videos in dataset order.
                    guard attempt < dataset.count else { return .failure(LoaderError.nothingLoads(failure)) }
                    candidate = (video + attempt) % dataset.count
                }
            }
            videos.append(candidate)
            labels.append(dataset.manifest.entries[candidate].label)
        }
        return .success(
            Batch(
                index: index, count: videos.count, sampleShape: dataset.sampleShape,
                data: UnsafeBufferPointer(start: base, count: videos.count * floats),
                labels: labels, videos: videos, failed: failed, replaced: replaced, network: network, buffer: buffer))
    }
}

/// Each entry's group for `LoaderOptions.groups`: its tar shard (`shard.tar#member`
/// paths), numbered in order of first appearance; a plain file is a group of its own.
public func shardGroups(_ manifest: Manifest) -> [Int] {
    var numbers: [String: Int] = [:]
    return manifest.entries.map { e in
        let key = TarMemberPath(e.path)?.archive ?? e.path
        if let n = numbers[key] { return n }
        numbers[key] = numbers.count
        return numbers.count - 1
    }
}
