import Distributed
import Foundation
import NN
import Tensor

/// Averages the gradients of every rank in fused buckets (PyTorch DDP's and
/// Horovod's scheme). The trainable parameters, in reverse order (the order
/// backward completes them), are packed into buckets of about `bucketBytes`;
/// a bucket starts its non-blocking sum as soon as backward has completed all
/// of its parameters; after backward the sums are awaited and the means written back.
/// Every rank builds the same plan from the same model, so the sums start in
/// the same order everywhere, as MPI requires.
public final class GradientBuckets: GradientReducer {
    struct Bucket {
        var parameters: [Tensor]
        var offsets: [Int]
        var count: Int
        var buffer: UnsafeMutablePointer<Float>
        var waiting = 0
        /// Set once the bucket's sum has started.
        var request: Communicator.Request?
        /// Parameters that got no gradient this step (the same on every rank).
        var missing: Set<Int> = []
    }

    let world: Communicator
    let bucketBytes: Int
    private var buckets: [Bucket] = []
    /// Gradient node → its bucket, for this step.
    private var bucketOf: [ObjectIdentifier: Int] = [:]
    private var planned: [ObjectIdentifier] = []
    /// Seconds spent waiting for sums after backward (the communication that did not overlap), summed.
    public private(set) var waitSeconds = 0.0
    /// Floats summed per step (all buckets).
    public var floatsPerStep: Int { buckets.reduce(0) { $0 + $1.count } }

    public init(world: Communicator, bucketBytes: Int) {
        self.world = world
        self.bucketBytes = max(bucketBytes, 4)
    }

    deinit { for b in buckets { b.buffer.deallocate() } }

    /// Buckets of this model's trainable parameters; rebuilt when an ITSL
    /// stage changes which are frozen.
    private func plan(_ model: Module) {
        let trainable = model.parameters().map(\.1).filter(\.requiresGrad)
        let identities = trainable.map(ObjectIdentifier.init)
        if identities == planned { return }
        for b in buckets { b.buffer.deallocate() }
        buckets = []
        planned = identities
        var current: [Tensor] = []
        var floats = 0
        func close() {
            guard !current.isEmpty else { return }
            var offsets: [Int] = []
            var total = 0
            for p in current {
                offsets.append(total)
                total += p.count
            }
            buckets.append(
                Bucket(
                    parameters: current, offsets: offsets, count: total,
                    buffer: .allocate(capacity: total)))
            current = []
            floats = 0
        }
        for p in trainable.reversed() {
            if floats > 0 && (floats + p.count) * 4 > bucketBytes { close() }
            current.append(p)
            floats += p.count
        }
        close()
    }

    public var bucketCount: Int { buckets.count }

    /// `loss.backward()` with every trainable parameter's gradient averaged
    /// over the ranks; the buckets' sums start as their gradients complete.
    public func backward(_ loss: Tensor, model: Module) throws {
        plan(model)
        bucketOf = [:]
        for b in buckets.indices {
            buckets[b].waiting = buckets[b].parameters.count
            buckets[b].request = nil
            buckets[b].missing = []
            for p in buckets[b].parameters { if let id = p.gradientNodeID { bucketOf[id] = b } }
        }
        var failure: Error?
        loss.backward { [self] id in
            guard failure == nil, let b = bucketOf[id] else { return }
            buckets[b].waiting -= 1
            do {
                if buckets[b].waiting == 0 { try start(b) }
                // Open MPI moves non-blocking collectives only inside MPI calls.
                for bucket in buckets { if let r = bucket.request { try world.test(r) } }
            } catch { failure = error }
        }
        if let failure { throw failure }
        try finish()
    }

    private func start(_ b: Int) throws {
        let bucket = buckets[b]
        for (i, p) in bucket.parameters.enumerated() {
            let target = bucket.buffer + bucket.offsets[i]
            if let g = p.grad {
                g.withValues { target.update(from: $0, count: p.count) }
            } else {
                buckets[b].missing.insert(i)
                target.update(repeating: 0, count: p.count)
            }
        }
        buckets[b].request = try world.startAllreduceSum(bucket.buffer, count: bucket.count)
    }

    /// Starts what backward did not (parameters it never reached), waits for
    /// every sum and writes each gradient's mean over the ranks back.
    private func finish() throws {
        for b in buckets.indices where buckets[b].request == nil { try start(b) }
        let t0 = Date()
        let scale = 1 / Float(world.size)
        for b in buckets.indices {
            if let r = buckets[b].request { try world.wait(r) }
            let bucket = buckets[b]
            for (i, p) in bucket.parameters.enumerated() where !bucket.missing.contains(i) {
                let source = bucket.buffer + bucket.offsets[i]
                _ = p.withGradientBuffer { g in for k in 0..<p.count { g[k] = source[k] * scale } }
            }
        }
        waitSeconds += Date().timeIntervalSince(t0)
    }
}

/// Data-parallel helpers of the trainer.
extension Communicator {
    /// Makes every rank's parameters and buffers equal to rank 0's.
    public func broadcastState(of model: Module) throws {
        guard isDistributed else { return }
        for (_, t) in model.parameters() + model.buffers() {
            try t.withValues { try broadcast(UnsafeMutableRawPointer($0), bytes: t.count * 4, root: 0) }
        }
    }

    /// Replaces every rank's BN running statistics by their mean over the ranks.
    func averageBuffers(of model: Module) throws {
        guard isDistributed else { return }
        for (_, t) in model.buffers() {
            try t.withValues { p in
                try allreduceSum(p, count: t.count)
                for i in 0..<t.count { p[i] /= Float(size) }
            }
        }
    }

    /// Rank 0's copy of a file, on every rank (nil when rank 0 has none).
    func rootFile(_ path: String) throws -> Data? {
        try broadcast(rank == 0 ? FileManager.default.contents(atPath: path) : nil)
    }

    /// Each value's largest over the ranks.
    public func maximum(_ values: [Double]) throws -> [Double] {
        var values = values
        try allreduceMax(&values)
        return values
    }
}
