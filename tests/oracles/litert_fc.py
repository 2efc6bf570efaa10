#!/usr/bin/env python3
"""LiteRT oracle for npugen's requantization: builds int8 FULLY_CONNECTED models by hand (the
`tflite` flatbuffer builders, no TensorFlow) from cases in a JSON file, runs each in the LiteRT
interpreter under every op resolver, and writes the outputs.

Usage: litert_fc.py CASES.json OUT.json

A case with "op": "LOGISTIC" or "TANH" is instead a one-op model of that activation on int8
input [1, 256] (scale "in_scale", zero point "in_zp") with TFLite's fixed int8 output
quantization (LOGISTIC: 1/256, -128; TANH: 1/128, 0), run on every int8 input -128..127;
"op": "LEAKY_RELU" (slope "alpha") likewise, its output quantized as its input.

A case: {"a": [[int8]] (M x K), "w": [[int8]] (N x K), "bias": [int32] (N),
         "in_scale": f32, "in_zp": int, "w_scale": [f32] (1 or N), "out_scale": f32,
         "out_zp": int, "fused": "NONE" | "RELU" | "RELU6"}
Out: [{"ref": [[int8]], "optimized": [[int8]], "xnnpack": [[int8]] or null}] in case order;
"xnnpack" is null when the default resolver did not run the model on XNNPACK;
"xnnpack_refused" then holds the error when the delegate failed to prepare it (LiteRT 2.3.0
does so for an FC whose float32 scale is >= 256).
"""

import json
import sys

import flatbuffers
import numpy as np
import tflite
from ai_edge_litert.interpreter import Interpreter, OpResolverType

FUSED = {
    "NONE": tflite.ActivationFunctionType.NONE,
    "RELU": tflite.ActivationFunctionType.RELU,
    "RELU6": tflite.ActivationFunctionType.RELU6,
}


def _vector(b, start, values, prepend):
    start(b, len(values))
    for v in reversed(values):
        prepend(v)
    return b.EndVector()


def _quant(b, scales, zps, dim=0):
    sv = _vector(b, tflite.QuantizationParametersStartScaleVector, scales, b.PrependFloat32)
    zv = _vector(b, tflite.QuantizationParametersStartZeroPointVector, zps, b.PrependInt64)
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, sv)
    tflite.QuantizationParametersAddZeroPoint(b, zv)
    tflite.QuantizationParametersAddQuantizedDimension(b, dim)
    return tflite.QuantizationParametersEnd(b)


def _tensor(b, name, shape, ttype, buffer, quant):
    n = b.CreateString(name)
    sh = _vector(b, tflite.TensorStartShapeVector, shape, b.PrependInt32)
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, sh)
    tflite.TensorAddType(b, ttype)
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, n)
    tflite.TensorAddQuantization(b, quant)
    return tflite.TensorEnd(b)


def _buffer(b, data):
    if data is None:
        tflite.BufferStart(b)
        return tflite.BufferEnd(b)
    raw = bytes(data)
    dv = _vector(b, tflite.BufferStartDataVector, list(raw), b.PrependUint8)
    tflite.BufferStart(b)
    tflite.BufferAddData(b, dv)
    return tflite.BufferEnd(b)


def _one_op_model(b, tensors, inputs, output, code_id, options, buffers):
    """Finishes a model of one subgraph with one operator (`code_id`, builtin `options` as
    (type, offset) or None) reading tensors `inputs` and writing tensor `output`, which are
    also the subgraph's inputs (the first) and output."""
    op_in = _vector(b, tflite.OperatorStartInputsVector, inputs, b.PrependInt32)
    op_out = _vector(b, tflite.OperatorStartOutputsVector, [output], b.PrependInt32)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, op_in)
    tflite.OperatorAddOutputs(b, op_out)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, options[0])
        tflite.OperatorAddBuiltinOptions(b, options[1])
    op = tflite.OperatorEnd(b)
    ops = _vector(b, tflite.SubGraphStartOperatorsVector, [op], b.PrependUOffsetTRelative)
    sg_in = _vector(b, tflite.SubGraphStartInputsVector, [inputs[0]], b.PrependInt32)
    sg_out = _vector(b, tflite.SubGraphStartOutputsVector, [output], b.PrependInt32)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors)
    tflite.SubGraphAddInputs(b, sg_in)
    tflite.SubGraphAddOutputs(b, sg_out)
    tflite.SubGraphAddOperators(b, ops)
    sg = tflite.SubGraphEnd(b)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, code_id)
    tflite.OperatorCodeAddBuiltinCode(b, code_id)
    tflite.OperatorCodeAddVersion(b, 1)
    code = tflite.OperatorCodeEnd(b)
    codes = _vector(b, tflite.ModelStartOperatorCodesVector, [code], b.PrependUOffsetTRelative)
    sgs = _vector(b, tflite.ModelStartSubgraphsVector, [sg], b.PrependUOffsetTRelative)
    bufs = _vector(b, tflite.ModelStartBuffersVector, buffers, b.PrependUOffsetTRelative)
    desc = b.CreateString("npugen requantization oracle")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, codes)
    tflite.ModelAddSubgraphs(b, sgs)
    tflite.ModelAddBuffers(b, bufs)
    tflite.ModelAddDescription(b, desc)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def fc_model(case):
    """The flatbuffer bytes of one FULLY_CONNECTED model: input [M, K], weights [N, K],
    bias [N], output [M, N], all int8 but the int32 bias."""
    a = np.array(case["a"], dtype=np.int8)
    w = np.array(case["w"], dtype=np.int8)
    bias = np.array(case["bias"], dtype=np.int32)
    (m, k), n = a.shape, w.shape[0]
    in_s = np.float32(case["in_scale"])
    w_s = [np.float32(s) for s in case["w_scale"]]
    out_s = np.float32(case["out_scale"])
    # The bias scale TFLite's converter writes: input scale times weight scale (per channel).
    bias_s = [float(np.float32(float(in_s) * float(s))) for s in (w_s if len(w_s) > 1 else w_s)]
    b = flatbuffers.Builder(1024)
    buffers = [
        _buffer(b, None),
        _buffer(b, None),
        _buffer(b, w.tobytes()),
        _buffer(b, bias.tobytes()),
        _buffer(b, None),
    ]
    t_in = _tensor(b, "a", [m, k], tflite.TensorType.INT8, 1,
                   _quant(b, [float(in_s)], [case["in_zp"]]))
    t_w = _tensor(b, "w", [n, k], tflite.TensorType.INT8, 2,
                  _quant(b, [float(s) for s in w_s], [0] * len(w_s), 0))
    t_b = _tensor(b, "bias", [n], tflite.TensorType.INT32, 3,
                  _quant(b, bias_s, [0] * len(bias_s), 0))
    t_out = _tensor(b, "c", [m, n], tflite.TensorType.INT8, 4,
                    _quant(b, [float(out_s)], [case["out_zp"]]))
    tensors = _vector(b, tflite.SubGraphStartTensorsVector, [t_in, t_w, t_b, t_out], b.PrependUOffsetTRelative)
    tflite.FullyConnectedOptionsStart(b)
    tflite.FullyConnectedOptionsAddFusedActivationFunction(b, FUSED[case["fused"]])
    opts = tflite.FullyConnectedOptionsEnd(b)
    options = (tflite.BuiltinOptions.FullyConnectedOptions, opts)
    return _one_op_model(b, tensors, [0, 1, 2], 3, tflite.BuiltinOperator.FULLY_CONNECTED,
                         options, buffers)


ACT = {"LOGISTIC": (tflite.BuiltinOperator.LOGISTIC, 1.0 / 256, -128),
       "TANH": (tflite.BuiltinOperator.TANH, 1.0 / 128, 0)}


def act_model(case):
    """The flatbuffer bytes of a one-op LOGISTIC, TANH or LEAKY_RELU model, int8 [1, 256] to
    int8. LEAKY_RELU ("alpha") keeps the input's scale and zero point at its output, as an
    activation after a layer does."""
    in_s = float(np.float32(case["in_scale"]))
    if case["op"] == "LEAKY_RELU":
        code_id, out_s, out_zp = tflite.BuiltinOperator.LEAKY_RELU, in_s, case["in_zp"]
    else:
        code_id, out_s, out_zp = ACT[case["op"]]
    b = flatbuffers.Builder(1024)
    buffers = [_buffer(b, None), _buffer(b, None), _buffer(b, None)]
    t_in = _tensor(b, "x", [1, 256], tflite.TensorType.INT8, 1,
                   _quant(b, [in_s], [case["in_zp"]]))
    t_out = _tensor(b, "y", [1, 256], tflite.TensorType.INT8, 2, _quant(b, [out_s], [out_zp]))
    tensors = _vector(b, tflite.SubGraphStartTensorsVector, [t_in, t_out], b.PrependUOffsetTRelative)
    options = None
    if case["op"] == "LEAKY_RELU":
        tflite.LeakyReluOptionsStart(b)
        tflite.LeakyReluOptionsAddAlpha(b, float(np.float32(case["alpha"])))
        options = (tflite.BuiltinOptions.LeakyReluOptions, tflite.LeakyReluOptionsEnd(b))
    return _one_op_model(b, tensors, [0], 1, code_id, options, buffers)


def run(model, a, resolver):
    it = Interpreter(model_content=model, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], a)
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"]).astype(int).tolist()
    delegated = any("DELEGATE" in op.get("op_name", "") for op in it._get_ops_details())
    return out, delegated


def main():
    cases = json.load(open(sys.argv[1]))
    results = []
    for case in cases:
        if "op" in case:
            model = act_model(case)
            a = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
        else:
            model = fc_model(case)
            a = np.array(case["a"], dtype=np.int8)
        ref, _ = run(model, a, OpResolverType.BUILTIN_REF)
        opt, _ = run(model, a, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            auto, delegated = run(model, a, OpResolverType.AUTO)
            refused = None
        except RuntimeError as e:  # the XNNPACK delegate failed to prepare the model
            auto, delegated, refused = None, False, str(e)
        results.append({"ref": ref, "optimized": opt, "xnnpack": auto if delegated else None,
                        "xnnpack_refused": refused})
    json.dump(results, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
