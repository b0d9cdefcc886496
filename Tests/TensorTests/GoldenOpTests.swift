import Foundation
import TestSupport
import Testing

@testable import Tensor

/// Fixtures/golden/tensor_ops.safetensors, written by PyTorch + Python's
/// safetensors (tools/golden/make_tensor_golden.py). For each op: inputs, y,
/// upstream gradient `up`, and d(sum(y·up))/d(input).
let golden = try! GoldenTensors(fixture("golden/tensor_ops.safetensors"))

func g(_ name: String) -> Tensor {
    guard let t = golden[name] else { fatalError("golden tensor \(name) missing") }
    return t
}

/// A fresh leaf that requires a gradient, with the golden's values.
func leaf(_ name: String) -> Tensor {
    let t = g(name).detached()
    t.requiresGrad = true
    return t
}

/// Runs `op` on leaves, backpropagates the golden upstream gradient, and
/// compares y and every input gradient with PyTorch's.
func checkAgainstTorch(
    _ name: String, inputs: [String], rtol: Float = 1e-4, atol: Float = 1e-4,
    _ op: ([Tensor]) -> Tensor
) {
    let leaves = inputs.map { leaf("\(name)/\($0)") }
    let y = op(leaves)
    #expect(y.shape == g("\(name)/y").shape, "\(name): shape \(y.shape)")
    #expect(closeness(y.scalars, g("\(name)/y").scalars, rtol: rtol, atol: atol) == "", "\(name): forward")
    weightedSum(y, g("\(name)/up")).backward()
    for (input, l) in zip(inputs, leaves) {
        guard let expected = golden["\(name)/d\(input)"] else { continue }
        #expect(closeness(l.grad?.scalars ?? [], expected.scalars, rtol: rtol, atol: atol) == "", "\(name): d\(input)")
    }
}

@Suite(.serialized) struct GoldenOpTests {
    @Test(arguments: [
        ("conv_basic", Conv3dOptions(padding: (1, 1, 1))),
        ("conv_strided", Conv3dOptions(stride: (1, 2, 2), padding: (0, 2, 1), dilation: (1, 2, 2))),
        ("conv_groups", Conv3dOptions(padding: (1, 0, 1), groups: 2)),
        ("conv_depthwise", Conv3dOptions(padding: (1, 1, 1), groups: 4)),
        (
            "conv_depthwise_dilated",
            Conv3dOptions(stride: (1, 2, 1), padding: (2, 1, 2), dilation: (2, 1, 2), groups: 3)
        ),
        ("conv_pointwise", Conv3dOptions())
    ])
    func conv3dMatchesTorch(_ name: String, _ options: Conv3dOptions) {
        for mode in [Parallelism.batch, .blas] {
            Parallel.with(ParallelSettings(mode: mode, threads: 2)) {
                checkAgainstTorch(name, inputs: ["x", "w"]) { conv3d($0[0], $0[1], options) }
            }
        }
    }

    @Test func poolsMatchTorch() {
        checkAgainstTorch("maxpool_122", inputs: ["x"]) { maxPool3d($0[0], kernel: (1, 2, 2)) }
        checkAgainstTorch("maxpool_2", inputs: ["x"]) { maxPool3d($0[0], kernel: (2, 2, 2)) }
        checkAgainstTorch("tmaxpool_odd", inputs: ["x"]) { temporalMaxPool($0[0]) }
        checkAgainstTorch("tmaxpool_even", inputs: ["x"]) { temporalMaxPool($0[0]) }
        checkAgainstTorch("maxpool_ceil3", inputs: ["x"]) {
            maxPool3d($0[0], kernel: (1, 3, 3), stride: (1, 2, 2), ceilMode: true)
        }
        checkAgainstTorch("maxpool_ceil2", inputs: ["x"]) { maxPool3d($0[0], kernel: (1, 2, 2), ceilMode: true) }
        checkAgainstTorch("maxpool_stem", inputs: ["x"]) {
            maxPool3d($0[0], kernel: (1, 3, 3), stride: (1, 2, 2), padding: (0, 1, 1))
        }
        checkAgainstTorch("maxpool_pad333", inputs: ["x"]) {
            maxPool3d($0[0], kernel: (3, 3, 3), stride: (1, 1, 1), padding: (1, 1, 1), ceilMode: true)
        }
    }

    @Test func attentionOpsMatchTorch() {
        checkAgainstTorch("bmm", inputs: ["a", "b"]) { batchedMatmul($0[0], $0[1]) }
        checkAgainstTorch("bmm_ta", inputs: ["a", "b"]) { batchedMatmul($0[0], $0[1], transposeA: true) }
        checkAgainstTorch("bmm_tb", inputs: ["a", "b"]) { batchedMatmul($0[0], $0[1], transposeB: true) }
        checkAgainstTorch("softmax_last", inputs: ["x"]) { softmaxLastAxis($0[0]) }
        checkAgainstTorch("avgpool_2", inputs: ["x"]) { avgPool3d($0[0], kernel: (2, 2, 2)) }
        checkAgainstTorch("avgpool_time", inputs: ["x"]) { avgPool3d($0[0], kernel: (4, 1, 1)) }
        checkAgainstTorch("avgpool_space", inputs: ["x"]) { avgPool3d($0[0], kernel: (1, 5, 6)) }
        checkAgainstTorch("gap", inputs: ["x"]) { globalAvgPool($0[0]) }
    }

    @Test func batchNormMatchesTorchInTrainingAndEvaluation() {
        let runningMean = g("bn_train/running_mean_in").detached()
        let runningVar = g("bn_train/running_var_in").detached()
        checkAgainstTorch("bn_train", inputs: ["x", "gamma", "beta"]) {
            batchNorm(
                $0[0], gamma: $0[1], beta: $0[2], runningMean: runningMean, runningVar: runningVar, training: true)
        }
        #expect(closeness(runningMean.scalars, g("bn_train/running_mean_out").scalars) == "", "running mean")
        #expect(closeness(runningVar.scalars, g("bn_train/running_var_out").scalars) == "", "running var (unbiased)")
        checkAgainstTorch("bn_eval", inputs: ["x", "gamma", "beta"]) {
            batchNorm(
                $0[0], gamma: $0[1], beta: $0[2], runningMean: g("bn_eval/running_mean_in").detached(),
                runningVar: g("bn_eval/running_var_in").detached(), training: false)
        }
    }

    @Test func elementwiseAndBroadcastingMatchTorch() {
        checkAgainstTorch("relu", inputs: ["x"]) { relu($0[0]) }
        checkAgainstTorch("sigmoid", inputs: ["x"]) { sigmoid($0[0]) }
        for tag in ["c", "t", "hw"] {
            checkAgainstTorch("add_\(tag)", inputs: ["a", "b"]) { add($0[0], $0[1]) }
            checkAgainstTorch("mul_\(tag)", inputs: ["a", "b"]) { mul($0[0], $0[1]) }
        }
        checkAgainstTorch("mul_big", inputs: ["a", "b"]) { mul($0[0], $0[1]) }
        checkAgainstTorch("add_big", inputs: ["a", "b"]) { add($0[0], $0[1]) }
    }

    @Test func linearLossAndShapeOpsMatchTorch() {
        checkAgainstTorch("linear", inputs: ["x", "w", "b"]) { linear($0[0], $0[1], $0[2]) }
        let labels = g("xent/labels").scalars.map { Int($0) }
        checkAgainstTorch("xent", inputs: ["x"]) { softmaxCrossEntropy($0[0], labels: labels) }
        let target = g("mse/t")
        checkAgainstTorch("mse", inputs: ["x"]) { meanSquaredError($0[0], target) }
        checkAgainstTorch("permute", inputs: ["x"]) { permute($0[0], [0, 2, 1, 3, 4]) }
        checkAgainstTorch("slice", inputs: ["x"]) { slice($0[0], axis: 2, start: 1, length: 2) }
        checkAgainstTorch("concat", inputs: ["a", "b"]) { concat([$0[0], $0[1]], axis: 1) }
    }
}
