import Foundation

/// Every setting the ops read, as one task-local value, bound to a scope with
/// `OpSettings.with` (or `Parallel.with`), never set globally: two trainers,
/// or two tests running at once, each see their own. A split's workers run
/// on DispatchQueue's threads, which inherit no task-locals, so
/// `Parallel.forEachRange` reads this value where the split starts and binds
/// it again in each worker. A new setting the ops read is a field here, and
/// the workers see it with no more code.
public struct OpSettings: Sendable, Equatable {
    /// The split of the cores (`Parallel.settings`).
    public var parallel = ParallelSettings.machine
    /// The level of the C kernels (`SIMDLevel.current`): `CLIPKIT_SIMD` when
    /// it names a level this machine runs, else the best. The tests bind
    /// each supported level, AVX2 on AVX-512 machines too.
    public var level = SIMDLevel.fromEnvironment(ProcessInfo.processInfo.environment["CLIPKIT_SIMD"])
    /// Winograd's policy for every convolution in the scope (`bench conv
    /// --winograd`, to measure what Winograd and its tiles gain per layer).
    /// `conv3d` reads it once, in the forward pass; its backward pass takes
    /// the same path wherever it runs.
    public var winogradPolicy = WinogradPolicy.automatic
    /// Where samples share Winograd's GEMMs (`WinogradStacking`), read as
    /// `winogradPolicy` is.
    public var winogradStacking = WinogradStacking.automatic
    /// The floats a chunk of the batch's input and output may hold where a
    /// 3×3×3 convolution runs by Winograd along time and space
    /// (`spatioTemporal`; tests lower it to make chunks of small batches).
    var spatioTemporalBudget = 8 << 20
    /// The channels, the fewer of input and output, from which a 3×3×3
    /// convolution runs by Winograd along time and space although its 1×3×3
    /// convolutions have too few tiles a sample for OpenBLAS's GEMMs
    /// (`spatioTemporal`; tests lower it to run that path on small
    /// convolutions).
    var spatioTemporalSmallPlaneChannels = 64
    /// Storage made without zeroing is filled with NaNs (in tests: an element
    /// a kernel was to write but missed shows).
    var poisonsUninitialised = false

    /// The settings outside any scope.
    public init() {}

    /// The settings in force here.
    @TaskLocal public static var current = OpSettings()

    /// Runs `body` with the scope's settings but `value` at `setting`:
    /// `OpSettings.with(\.level, .avx2) { … }`.
    public static func with<Value, R>(
        _ setting: WritableKeyPath<OpSettings, Value>, _ value: Value, _ body: () throws -> R
    ) rethrows -> R {
        var settings = current
        settings[keyPath: setting] = value
        return try settings.bind(body)
    }

    /// Runs `body` with these settings bound; where they are those in force
    /// already, without binding them again (a binding allocates).
    func bind<R>(_ body: () throws -> R) rethrows -> R {
        if Self.current == self { return try body() }
        return try Self.$current.withValue(self, operation: body)
    }
}
