/**
 * The part of the TFLite flatbuffer schema we write, transcribed from
 * tensorflow/compiler/mlir/lite/schema/schema.fbs (schema version 3).
 *
 * Field slots are the 0-based field index in each table (flatbuffers vtable offset = 4 + 2 * slot).
 * A union field takes two slots: `<name>_type` (ubyte) then `<name>` (offset).
 */

/** file_identifier "TFL3" and Model.version. */
export const FILE_IDENTIFIER = 'TFL3';
export const SCHEMA_VERSION = 3;

/** enum TensorType : byte */
export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  INT8: 9,
} as const;
export type TensorTypeCode = (typeof TensorType)[keyof typeof TensorType];

/** enum BuiltinOperator : int32 (the codes we emit). */
export const BuiltinOperator = {
  ADD: 0,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MUL: 18,
  TANH: 28,
  SUB: 41,
  DIV: 42,
  MAXIMUM: 55,
  MINIMUM: 57,
  QUANTIZE: 114,
  ROUND: 116,
} as const;
export type BuiltinOperatorCode = (typeof BuiltinOperator)[keyof typeof BuiltinOperator];

/**
 * union BuiltinOptions: the type tag is the 1-based position of the member in the union
 * (0 = NONE).
 */
export const BuiltinOptionsType = {
  NONE: 0,
  FullyConnectedOptions: 8,
  AddOptions: 11,
  MulOptions: 21,
  SubOptions: 28,
  DivOptions: 29,
  DequantizeOptions: 38,
  MaximumMinimumOptions: 39,
  QuantizeOptions: 89,
} as const;

/** enum ActivationFunctionType : byte */
export const ActivationFunctionType = {
  NONE: 0,
  RELU: 1,
  RELU_N1_TO_1: 2,
  RELU6: 3,
  TANH: 4,
} as const;
export type ActivationCode = (typeof ActivationFunctionType)[keyof typeof ActivationFunctionType];

/** Field slots per table. */
export const Slot = {
  Model: {
    version: 0,
    operator_codes: 1,
    subgraphs: 2,
    description: 3,
    buffers: 4,
    metadata_buffer: 5,
    metadata: 6,
    signature_defs: 7,
    numFields: 8,
  },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4, numFields: 5 },
  Tensor: {
    shape: 0,
    type: 1,
    buffer: 2,
    name: 3,
    quantization: 4,
    is_variable: 5,
    sparsity: 6,
    shape_signature: 7,
    has_rank: 8,
    numFields: 9,
  },
  QuantizationParameters: {
    min: 0,
    max: 1,
    scale: 2,
    zero_point: 3,
    details_type: 4,
    details: 5,
    quantized_dimension: 6,
    numFields: 7,
  },
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3, numFields: 4 },
  Operator: {
    opcode_index: 0,
    inputs: 1,
    outputs: 2,
    builtin_options_type: 3,
    builtin_options: 4,
    numFields: 5,
  },
  Buffer: { data: 0, offset: 1, size: 2, numFields: 3 },
  TensorMap: { name: 0, tensor_index: 1, numFields: 2 },
  Metadata: { name: 0, buffer: 1, numFields: 2 },
  SignatureDef: { inputs: 0, outputs: 1, signature_key: 2, deprecated_tag: 3, subgraph_index: 4, numFields: 5 },
  /** FullyConnectedOptions: fused_activation_function, weights_format, keep_num_dims, ... */
  FullyConnectedOptions: { fused_activation_function: 0, weights_format: 1, keep_num_dims: 2, numFields: 3 },
  /** AddOptions, SubOptions, MulOptions and DivOptions all start with fused_activation_function. */
  ArithmeticOptions: { fused_activation_function: 0, numFields: 1 },
} as const;

/** Buffer.data is declared (force_align: 16). */
export const BUFFER_ALIGNMENT = 16;

/** BuiltinOperator codes above this need the int32 `builtin_code`; below, both fields are set. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;
