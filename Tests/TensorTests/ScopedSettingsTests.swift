import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Tensor

@Suite struct ScopedSettingsTests {
    /// Parallelism is bound to a scope: inside it the ops see it, outside the
    /// machine's default again, and a nested scope is its own.
    @Test func parallelSettingsHoldForTheirScopeOnly() {
        let outside = Parallel.settings
        Parallel.with(ParallelSettings(mode: .blas, threads: 1)) {
            #expect(Parallel.settings == ParallelSettings(mode: .blas, threads: 1))
            #expect(Parallel.workerCount == 1)
            Parallel.with(ParallelSettings(mode: .automatic, threads: 2, batch: 8)) {
                #expect(Parallel.settings.mode == .batch && Parallel.workerCount == 2)
            }
            #expect(Parallel.settings.mode == .blas)
        }
        #expect(Parallel.settings == outside)
    }

    /// Synchronised BN's reducer sees forward sums (Σx, Σx², count) and
    /// backward sums; one that doubles them (two identical processes) leaves
    /// the output and gradients as they were. Without one, none is called.
    @Test func aBatchNormReducerSeesTheSumsAndTwoEqualRanksChangeNothing() {
        let shape = [2, 3, 2, 2, 2]
        let values = (0..<48).map { Float(($0 * 7) % 11) / 5 }
        func run(_ reducer: BatchNormReducer?) -> (y: [Float], dx: [Float]) {
            let x = Tensor(shape: shape, values: values)
            x.requiresGrad = true
            let y = batchNorm(
                x, gamma: Tensor(shape: [3], repeating: 1.5), beta: Tensor(shape: [3], repeating: 0.25),
                runningMean: Tensor(zeros: [3]), runningVar: Tensor(shape: [3], repeating: 1), training: true,
                reducer: reducer)
            weightedSum(y, Tensor(shape: shape, values: values.map { $0 - 1 })).backward()
            return (y.scalars, x.grad!.scalars)
        }
        let calls = Counter()
        let doubled = run { sums in
            calls.add(sums.count)
            for i in sums.indices { sums[i] *= 2 }
        }
        let plain = run(nil)
        #expect(calls.values == [7, 7], "one forward and one backward sum of 2·3 + 1 values")
        #expect(closeness(doubled.y, plain.y) == "" && closeness(doubled.dx, plain.dx) == "")
    }
}

/// What a reducer saw, from whichever thread called it.
final class Counter: Sendable {
    private let seen = Mutex<[Int]>([])
    func add(_ n: Int) { seen.withLock { $0.append(n) } }
    var values: [Int] { seen.withLock { $0 } }
}
