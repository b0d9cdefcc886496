/// Padding, stride and dilation of a 3D convolution (t, h, w).
public struct Conv3dOptions: Equatable, Sendable {
    public var stride: (t: Int, h: Int, w: Int)
    public var padding: (t: Int, h: Int, w: Int)
    public var dilation: (t: Int, h: Int, w: Int)
    public var groups: Int
    public init(
        stride: (Int, Int, Int) = (1, 1, 1), padding: (Int, Int, Int) = (0, 0, 0),
        dilation: (Int, Int, Int) = (1, 1, 1), groups: Int = 1
    ) {
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }
    public static func == (a: Conv3dOptions, b: Conv3dOptions) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups
    }
}

/// 3D convolution. x: N×C×T×H×W, w: O×(C/groups)×kt×kh×kw → N×O×To×Ho×Wo.
/// Depthwise convolutions (groups = C = O) use the direct kernel; layers with
/// few input channels (the stems) the direct C kernel (`directLevel`); 3×3
/// spatial kernels at stride 1 Winograd (`winogradTile`); 3×1×1 ones Winograd
/// along time (`temporalWinogradTile`) or frame shifts; others vol2col + GEMM.
/// `epilogue` (inference only: no gradient may be recorded) maps each piece
/// of the output as it is written: BN on running statistics and ReLU, fused.
public func conv3d(
    _ x: Tensor, _ w: Tensor, _ options: Conv3dOptions = Conv3dOptions(), then epilogue: ChannelAffine? = nil
) -> Tensor {
    let g = geometry(x, w, options, epilogue: epilogue)
    let y = Tensor.empty(g.outputShape)
    FlopCounter.add(g.multiplyAdds)
    let path = ConvPath(g)
    convolve(x.storage.pointer, w.storage.pointer, y.storage.pointer, g, path, accumulate: false, epilogue: epilogue)
    let xs = x.storage
    let ws = w.storage
    let xn = x.node
    let wn = w.node
    return y.record([x, w]) { dy in
        backward(dy, x: xs, w: ws, xNode: xn, wNode: wn, g, path)
    }
}

/// y ← epilogue(conv(x, w) + y), written over `y`, which is returned: a
/// residual block's sum in inference, with no tensor of its own. Only
/// without gradients; `y` must be the caller's own (nothing else reads it).
public func conv3d(
    _ x: Tensor, _ w: Tensor, _ options: Conv3dOptions = Conv3dOptions(), addingTo y: Tensor,
    then epilogue: ChannelAffine?
) -> Tensor {
    let g = geometry(x, w, options, epilogue: epilogue)
    precondition(
        !GradMode.enabled || (x.node == nil && w.node == nil && y.node == nil), "conv3d(addingTo:) records no graph")
    precondition(y.shape == g.outputShape, "conv3d(addingTo:): \(y.shape) is not the output's shape \(g.outputShape)")
    precondition(g.groups != g.inChannels || g.groups != g.outChannels, "conv3d(addingTo:) is not for depthwise convs")
    FlopCounter.add(g.multiplyAdds)
    convolve(
        x.storage.pointer, w.storage.pointer, y.storage.pointer, g, ConvPath(g), accumulate: true, epilogue: epilogue)
    return y
}

/// The geometry of conv(x, w), with the checks every convolution makes.
private func geometry(_ x: Tensor, _ w: Tensor, _ options: Conv3dOptions, epilogue: ChannelAffine?) -> Conv3dGeometry {
    precondition(x.rank == 5 && w.rank == 5, "conv3d takes N×C×T×H×W input and O×C/g×kt×kh×kw weight")
    let g = Conv3dGeometry(inputShape: x.shape, weightShape: w.shape, options: options)
    precondition(
        g.inChannels % g.groups == 0 && g.outChannels % g.groups == 0 && w.shape[1] == g.groupIn,
        "conv3d: channels \(g.inChannels)→\(g.outChannels) do not fit groups \(g.groups) and weight \(w.shape)")
    let o = g.output
    precondition(o.t > 0 && o.h > 0 && o.w > 0, "conv3d: input \(x.shape) too small for kernel \(w.shape)")
    precondition(
        epilogue == nil || !GradMode.enabled || (x.node == nil && w.node == nil),
        "conv3d: an epilogue is for inference, without gradients")
    precondition(epilogue.map { $0.channels == g.outChannels } ?? true, "conv3d: epilogue channels ≠ \(g.outChannels)")
    return g
}

/// How a convolution runs, read once in the forward pass: its backward pass
/// takes the same path with the same split, wherever it runs. Depthwise,
/// direct, winograd and temporal exclude each other; spatioTemporal comes
/// with winograd only and runs instead of it. None: columns, frame shifts or
/// their in-place kinds.
struct ConvPath {
    let depthwise: Bool
    /// The SIMD level of its C kernels (the direct kernel, Winograd's maps).
    let level: SIMDLevel
    let direct: SIMDLevel?
    let winograd: WinogradTile?
    /// Winograd along time (3×1×1 convs): the forward pass's tile and
    /// dX's, nil where dX takes frame shifts.
    let temporal: (forward: WinogradTile, data: WinogradTile?)?
    /// Where Winograd's samples share GEMMs (`WinogradStack`).
    let stacking: WinogradStacking
    /// A 3×3×3 convolution by Winograd along time and space
    /// (`Conv3dGeometry.spatioTemporal`), or nil.
    let spatioTemporal: SpatioTemporalPath?
    /// Threads of the direct kernel, and workers (batch-parallel threads, else 1) of the others.
    let threads: Int, workers: Int

    init(_ g: Conv3dGeometry) {
        depthwise = g.groups == g.inChannels && g.groups == g.outChannels
        level = SIMDLevel.usable
        direct = depthwise ? nil : g.directLevel
        winograd = depthwise || direct != nil ? nil : g.winogradTile
        temporal =
            depthwise || direct != nil
            ? nil : g.temporalWinogradTile.map { ($0, g.temporalTransposed.temporalWinogradTile) }
        stacking = Conv3dGeometry.winogradStacking
        spatioTemporal =
            winograd == nil ? nil : g.spatioTemporal.map { SpatioTemporalPath(g, tile: $0.tile, planes: $0.planes) }
        threads = Parallel.threads
        workers = Parallel.workerCount
    }

    /// The Winograd layout of `g` (the convolution's, or its dX's) at this path's level and stacking.
    func layout(_ g: Conv3dGeometry, tile: WinogradTile) -> WinogradLayout {
        WinogradLayout(g, tile: tile, level: level, stacking: stacking)
    }
}

/// The forward pass: samples split over the path's workers.
func convolve(
    _ xp: UnsafePointer<Float>, _ wp: UnsafePointer<Float>, _ yp: UnsafeMutablePointer<Float>, _ g: Conv3dGeometry,
    _ path: ConvPath, accumulate: Bool, epilogue: ChannelAffine?
) {
    let workers = path.workers
    if path.depthwise {
        Parallel.forEachRange(g.batch, workers: workers) { _, range in
            depthwiseConv3dForward(xp, wp, yp, g, samples: range)
            guard let epilogue else { return }
            for plane in (range.lowerBound * g.outChannels)..<(range.upperBound * g.outChannels) {
                epilogue.apply(yp + plane * g.outputVolume, count: g.outputVolume, channel: plane % g.outChannels)
            }
        }
    } else if let level = path.direct {
        directForward(
            xp, wp, yp, g, level: level, threads: path.threads, accumulate: accumulate, epilogue: epilogue)
    } else if let way = path.spatioTemporal {
        spatioTemporalForward(xp, wp, yp, way, accumulate: accumulate, epilogue: epilogue)
    } else if let winograd = path.winograd {
        let layout = path.layout(g, tile: winograd)
        let u = Storage(count: layout.uCount, zeroed: false, lineAligned: true)
        winogradWeights(wp, layout, flipped: false, into: u.pointer, workers: workers)
        if let stack = WinogradStack(layout) {
            winogradForwardStacked(
                xp, u.pointer, yp, stack, accumulate: accumulate, epilogue: epilogue, workers: workers)
            return
        }
        let scratch = Scratch()
        for worker in 0..<workers { _ = scratch.buffer(worker, count: layout.scratchCount) }
        Parallel.forEachRange(g.batch, workers: workers) { worker, range in
            winogradForward(
                xp, u.pointer, yp, layout, samples: range, scratch: scratch.buffer(worker, count: layout.scratchCount),
                accumulate: accumulate, epilogue: epilogue)
        }
    } else if let tile = path.temporal?.forward {
        let layout = TemporalWinograd(g, tile: tile)
        let u = Storage(count: layout.uCount, zeroed: false)
        temporalWinogradWeights(
            wp, outChannels: g.outChannels, inChannels: g.inChannels, tile: tile, flipped: false, into: u.pointer,
            workers: workers)
        temporalWinogradForward(
            xp, u.pointer, yp, layout, accumulate: accumulate, epilogue: epilogue, workers: workers)
    } else {
        let scratch = Scratch()
        let columns = g.columnBufferCount
        for worker in 0..<workers { _ = scratch.buffer(worker, count: columns) }
        Parallel.forEachRange(g.batch, workers: workers) { worker, range in
            conv3dForward(
                xp, wp, yp, g, samples: range, col: scratch.buffer(worker, count: columns), accumulate: accumulate,
                epilogue: epilogue)
        }
    }
}

/// The backward pass: dX (written where the input's gradient is new, else
/// added into) and dW from per-worker partial sums.
private func backward(
    _ dy: Tensor, x xs: Storage, w ws: Storage, xNode xn: GradNode?, wNode wn: GradNode?, _ g: Conv3dGeometry,
    _ path: ConvPath
) {
    if g.batch == 0 {  // no worker runs: the gradients are zeros (where new) or as they were
        _ = xn?.gradBuffer()
        _ = wn?.gradBuffer()
        return
    }
    let (winograd, workers) = (path.winograd, path.workers)
    let dyp = dy.storage.pointer
    let xp = UnsafePointer(xs.pointer)
    let wp = UnsafePointer(ws.pointer)
    let dx = xn?.gradBufferForWrite()
    // Per-worker weight gradients, summed after, so threads never share a
    // buffer (Winograd: one, made from the workers' summed dU; the direct
    // kernel: one, which it fills from partial sums of its own). The first
    // is the weight's gradient itself; the others are summed into it. Where
    // new, the weight's gradient is written, not zeroed and added into
    // (Winograd, columns); the columns' extra partials are always written.
    var partial: [UnsafeMutablePointer<Float>] = []
    var extraPartials: [Tensor] = []
    var freshGradient = false
    if let wn {
        let gradient: UnsafeMutablePointer<Float>
        if path.depthwise || path.direct != nil {
            gradient = wn.gradBuffer()
        } else {
            (gradient, freshGradient) = wn.gradBufferForWrite()
        }
        let extras = winograd != nil || path.direct != nil || path.temporal != nil ? 0 : min(workers, g.batch) - 1
        extraPartials = (0..<extras).map { _ in path.depthwise ? Tensor(zeros: wn.shape) : Tensor.empty(wn.shape) }
        partial = [gradient] + extraPartials.map { $0.storage.pointer }
    }
    if path.depthwise {
        Parallel.forEachRange(g.batch, workers: workers) { worker, range in
            if let dx, dx.fresh { g.zeroInputPlanes(dx.pointer, samples: range) }
            depthwiseConv3dBackward(
                xp, wp, dyp, dx: dx?.pointer, dw: partial.isEmpty ? nil : partial[worker], g, samples: range)
        }
    } else if let level = path.direct {
        if let dw = partial.first {
            directBackwardWeight(xp, dyp, dw, g, level: level, threads: path.threads)
        }
        if let dx {  // through columns (a stem's input needs none)
            generalBackward(xp, wp, dyp, dx: dx, partial: [], g, winograd: nil, path)
        }
    } else if let way = path.spatioTemporal {
        spatioTemporalBackward(
            xp, wp, dyp, dx: dx, dw: partial.first, overwrite: freshGradient, way)
    } else if let temporal = path.temporal {
        temporalBackward(
            xp, wp, dyp, dx: dx, dw: partial.first, overwritesWeightGradient: freshGradient, g, temporal, path)
    } else {
        generalBackward(
            xp, wp, dyp, dx: dx, partial: partial, overwritesWeightGradient: freshGradient, g, winograd: winograd,
            path)
    }
    if partial.count > 1 { sumIntoFirst(partial, count: ws.count) }
    withExtendedLifetime(extraPartials) {}
}

/// The backward pass of a convolution that is not depthwise: Winograd when
/// the forward used it (dW through the transposed transforms, dX as dY
/// convolved with the flipped kernel; each over stacks of samples where
/// `WinogradStack` takes them), else im2col GEMMs. dX is written over
/// where `dx` is fresh, else added into; so is the weight gradient
/// (`partial[0]`) with `overwritesWeightGradient`, and the other partials
/// are written.
func generalBackward(
    _ xp: UnsafePointer<Float>, _ wp: UnsafePointer<Float>, _ dyp: UnsafeMutablePointer<Float>,
    dx: (pointer: UnsafeMutablePointer<Float>, fresh: Bool)?, partial: [UnsafeMutablePointer<Float>],
    overwritesWeightGradient: Bool = false,
    _ g: Conv3dGeometry, winograd: WinogradTile?, _ path: ConvPath
) {
    let workers = path.workers
    let weightLayout = partial.isEmpty ? nil : winograd.map { path.layout(g, tile: $0) }
    let dataLayout = dx == nil ? nil : winograd.map { path.layout(g.transposedForData, tile: $0) }
    let u = dataLayout.map { Storage(count: $0.uCount, zeroed: false, lineAligned: true) }
    if let dataLayout, let u {
        winogradWeights(wp, dataLayout, flipped: true, into: u.pointer, workers: workers)
    }
    // Samples sharing Winograd's GEMMs (see WinogradStack), each pass with buffers of its own.
    let (weightStack, dataStack) = (
        weightLayout.flatMap { WinogradStack($0) }, dataLayout.flatMap { WinogradStack($0) }
    )
    // dU: one per worker, each summing its samples, or one whose planes the workers split.
    let splitsPlanes = weightStack != nil || weightLayout?.splitsPlanes(workers: workers) ?? false
    // The workers' scratch (by plane and stacked, dW has buffers of its own).
    let byPlane = weightStack == nil && splitsPlanes && weightLayout?.isOneGroup == true
    let weightScratch = weightStack == nil && !byPlane ? weightLayout?.scratchCount ?? 0 : 0
    let count =
        winograd != nil
        ? max(weightScratch, dataStack == nil ? dataLayout?.scratchCount ?? 0 : 0) : g.columnBufferCount
    let buffersOfU = weightLayout == nil ? 0 : splitsPlanes ? 1 : min(workers, g.batch)
    let scratch = Scratch()
    let gradientsOfU = Scratch()
    for worker in 0..<workers {
        _ = scratch.buffer(worker, count: count)
        if let weightLayout, worker < buffersOfU { _ = gradientsOfU.buffer(worker, count: weightLayout.weightCount) }
    }
    if let weightStack {
        let du = gradientsOfU.buffer(0, count: weightStack.layout.weightCount)
        winogradBackwardWeightStacked(xp, dyp, du: du, weightStack, workers: workers)
    } else if let weightLayout, byPlane {
        let du = gradientsOfU.buffer(0, count: weightLayout.weightCount)
        winogradBackwardWeightByPlane(xp, dyp, du: du, weightLayout, workers: workers)
    } else if let weightLayout, splitsPlanes {
        let du = gradientsOfU.buffer(0, count: weightLayout.weightCount)
        Parallel.forEachRange(weightLayout.planes, workers: workers) { worker, planes in
            winogradBackwardWeight(
                xp, dyp, du: du, weightLayout, samples: 0..<g.batch, planes: planes,
                scratch: scratch.buffer(worker, count: count))
        }
    }
    if let dx, let dataStack, let u {
        winogradForwardStacked(dyp, u.pointer, dx.pointer, dataStack, accumulate: !dx.fresh, workers: workers)
    }
    Parallel.forEachRange(g.batch, workers: workers) { worker, range in
        let col = scratch.buffer(worker, count: count)
        if let weightLayout, !splitsPlanes {
            winogradBackwardWeight(
                xp, dyp, du: gradientsOfU.buffer(worker, count: weightLayout.weightCount), weightLayout,
                samples: range, scratch: col)
        } else if weightLayout == nil && !partial.isEmpty {
            conv3dBackwardWeight(
                xp, dyp, partial[worker], g, samples: range, col: col,
                overwrite: worker > 0 || overwritesWeightGradient)
        }
        guard let dx, dataStack == nil else { return }  // a stacked dX ran above
        if let dataLayout, let u {
            winogradForward(dyp, u.pointer, dx.pointer, dataLayout, samples: range, scratch: col, accumulate: !dx.fresh)
        } else {
            conv3dBackwardData(wp, dyp, dx.pointer, g, samples: range, col: col, overwrite: dx.fresh)
        }
    }
    if let weightLayout {
        // The workers' dU summed, then transformed to dW once.
        let du = (0..<buffersOfU).map { gradientsOfU.buffer($0, count: weightLayout.weightCount) }
        sumIntoFirst(du, count: weightLayout.weightCount)
        winogradWeightGradient(
            du[0], weightLayout, into: partial[0], overwrite: overwritesWeightGradient, workers: workers)
    }
}

/// The backward pass of a 3×1×1 convolution by Winograd along time: dW
/// over stacks of samples, and dX as dY convolved with the transposed kernel
/// (by frame shifts where Winograd does not pay for dX's geometry). dX is
/// written over where fresh, else added into; so is `dw` with
/// `overwritesWeightGradient`.
private func temporalBackward(
    _ xp: UnsafePointer<Float>, _ wp: UnsafePointer<Float>, _ dyp: UnsafeMutablePointer<Float>,
    dx: (pointer: UnsafeMutablePointer<Float>, fresh: Bool)?, dw: UnsafeMutablePointer<Float>?,
    overwritesWeightGradient: Bool, _ g: Conv3dGeometry, _ tiles: (forward: WinogradTile, data: WinogradTile?),
    _ path: ConvPath
) {
    let workers = path.workers
    if let dw {
        temporalWinogradBackwardWeight(
            xp, dyp, dw, TemporalWinograd(g, tile: tiles.forward), overwrite: overwritesWeightGradient,
            workers: workers)
    }
    guard let dx else { return }
    guard let tile = tiles.data else {
        Parallel.forEachRange(g.batch, workers: workers) { _, range in
            temporalBackwardData(wp, dyp, dx.pointer, g, samples: range, overwrite: dx.fresh)
        }
        return
    }
    let layout = TemporalWinograd(g.temporalTransposed, tile: tile)
    let u = Storage(count: layout.uCount, zeroed: false)
    temporalWinogradWeights(
        wp, outChannels: g.outChannels, inChannels: g.inChannels, tile: tile, flipped: true, into: u.pointer,
        workers: workers)
    temporalWinogradForward(
        dyp, u.pointer, dx.pointer, layout, transposedWeights: true, accumulate: !dx.fresh, workers: workers)
}

/// buffers[0] += buffers[1], then buffers[2], … element by element (the
/// workers' partial gradients), spans over the threads.
private func sumIntoFirst(_ buffers: [UnsafeMutablePointer<Float>], count: Int) {
    guard let total = buffers.first else { return }
    Parallel.forEachSpan(count) { span in
        for extra in buffers.dropFirst() { for i in span { total[i] += extra[i] } }
    }
}
