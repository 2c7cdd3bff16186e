import { deepStrictEqual, equal, ok, throws } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CamLensError } from '../../src/engine/errors';
import { attr, DataType, ModelBuilder } from '../../src/engine/onnx/builder';
import { parseModel, readModelFile, serializeModel } from '../../src/engine/onnx/io';
import { emptyTensor, tensorToArray } from '../../src/engine/onnx/tensor';
import { fixtureModels, fixtures } from '../helpers/fixtures';

const roundTrip = (bytes: Uint8Array) => {
  const first = parseModel(bytes);
  const second = parseModel(serializeModel(first));
  deepStrictEqual(second, first);
  return first;
};

describe('ONNX model IO', () => {
  it('round-trips every fixture model losslessly', (t) => {
    if (!fixtures(t)) return;
    for (const m of fixtureModels()) {
      const bytes = readFileSync(m.path);
      const model = roundTrip(bytes);
      ok(model.graph!.node.length > 0, m.name);
      // re-encoding an unmodified model gives the same bytes (protobufjs writes fields in order)
      equal(serializeModel(model).byteLength, bytes.byteLength, `${m.name}: size after round trip`);
    }
  });

  it('keeps initializer bytes as views into the file buffer', (t) => {
    if (!fixtures(t)) return;
    const bytes = readFileSync(fixtureModels().find((m) => m.name === 'shapes_cnn')!.path);
    const model = parseModel(bytes);
    const raw = model.graph!.initializer[0].rawData!;
    equal(raw.buffer, bytes.buffer, 'rawData shares the file buffer');
  });

  it('round-trips IR 10 features the builder can make: functions, sparse, fp16, strings, metadata, int64 sentinels', () => {
    const b = ModelBuilder.create(21);
    const x = b.input('x', DataType.FLOAT, ['batch', 4]);
    const ends = b.int64s('ends', [9223372036854775807n]);
    const starts = b.int64s('starts', [-9223372036854775808n]);
    const y = b.op('Slice', [x, starts, ends]);
    b.op('Identity', [y], {}, { outputs: ['y'] });
    b.output('y', DataType.FLOAT, ['batch', null]);
    const model = b.build();
    model.irVersion = 10;
    model.metadataProps.push({ key: 'author', value: 'camlens' });
    model.graph!.sparseInitializer.push({
      dims: [3, 3],
      values: { ...model.graph!.initializer[0], name: 'sparse', dataType: DataType.FLOAT, dims: [2], rawData: new Uint8Array(8) },
      indices: { ...model.graph!.initializer[0], name: 'sparse_idx', dims: [2], rawData: new Uint8Array(16) },
    });
    model.graph!.initializer.push({
      ...model.graph!.initializer[0],
      name: 'half',
      dataType: DataType.FLOAT16,
      dims: [2],
      rawData: Uint8Array.of(0, 0x3c, 0, 0xc0),
      metadataProps: [{ key: 'k', value: 'v' }],
    });
    model.graph!.initializer.push({
      ...model.graph!.initializer[0],
      name: 'f8',
      dataType: DataType.FLOAT8E4M3FN,
      dims: [2],
      rawData: Uint8Array.of(1, 2),
    });
    model.graph!.initializer.push({
      ...model.graph!.initializer[0],
      name: 'words',
      dataType: DataType.STRING,
      dims: [2],
      rawData: undefined,
      stringData: [new TextEncoder().encode('a'), new TextEncoder().encode('bc')],
      segment: { begin: 0, end: 2 },
    });
    delete model.graph!.initializer[model.graph!.initializer.length - 1].rawData;
    model.graph!.node[0].overload = 'o1';
    model.graph!.node[0].attribute.push({
      name: 'note',
      type: 3,
      s: new TextEncoder().encode('x'),
      floats: [],
      ints: [],
      strings: [],
      tensors: [],
      graphs: [],
      sparseTensors: [],
      typeProtos: [],
    });
    model.functions.push({
      name: 'MyRelu',
      domain: 'local',
      input: ['a'],
      output: ['b'],
      attribute: [],
      attributeProto: [],
      node: [{ input: ['a'], output: ['b'], opType: 'Relu', attribute: [], metadataProps: [], deviceConfigurations: [] }],
      opsetImport: [{ version: 21 }],
      valueInfo: [],
      metadataProps: [{ key: 'f', value: '1' }],
      overload: 'x',
    });
    model.trainingInfo.push({
      algorithm: { ...model.graph!, node: [] },
      initializationBinding: [],
      updateBinding: [{ key: 'w', value: 'w2' }],
    });
    const parsed = roundTrip(serializeModel(model));
    deepStrictEqual(parsed.graph!.initializer[1].int64Data.length, 0);
    deepStrictEqual(Array.from(tensorToArray(parsed.graph!.initializer[0]) as BigInt64Array), [9223372036854775807n]);
    deepStrictEqual(Array.from(tensorToArray(parsed.graph!.initializer[2]) as Float32Array), [1, -2]);
    equal(parsed.functions[0].name, 'MyRelu');
    equal(parsed.graph!.node[0].overload, 'o1');
    equal(parsed.trainingInfo[0].updateBinding[0].value, 'w2');
  });

  it('keeps int64 attribute sentinels exact', () => {
    const b = ModelBuilder.create(9);
    const x = b.input('x', DataType.FLOAT, [4]);
    b.node('Slice', [x], { starts: attr.ints([0]), ends: attr.ints([9223372036854775807n]), axes: [0] }, { outputs: ['y'] });
    b.output('y');
    const parsed = roundTrip(serializeModel(b.build()));
    deepStrictEqual(parsed.graph!.node[0].attribute[1].ints, [9223372036854775807n]);
  });

  it('gives a typed error for empty, random and truncated input', () => {
    const bad = [new Uint8Array(0), Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 255), Uint8Array.of(0x3a, 0xff, 0xff, 0x0f)];
    for (const bytes of bad) {
      throws(
        () => parseModel(bytes),
        (e: unknown) => e instanceof CamLensError && e.code === 'MODEL_PARSE',
      );
    }
  });

  it('reports a missing file as MODEL_READ', () => {
    throws(
      () => readModelFile('/nonexistent/model.onnx'),
      (e: unknown) => e instanceof CamLensError && e.code === 'MODEL_READ' && /no such file/.test(e.message),
    );
  });
});

describe('tensor payloads', () => {
  it('reads values stored in float_data / int64_data after a round trip (no raw_data)', () => {
    const b = ModelBuilder.create();
    b.input('x', DataType.FLOAT, [2]);
    b.op('Identity', ['x'], {}, { outputs: ['y'] });
    b.output('y');
    const model = b.build();
    model.graph!.initializer.push(
      { ...emptyTensor({ name: 'f', dataType: DataType.FLOAT, dims: [3], floatData: [1, 2.5, -3] }) },
      { ...emptyTensor({ name: 'i', dataType: DataType.INT64, dims: [2], int64Data: [7, -9223372036854775807n] }) },
    );
    const parsed = parseModel(serializeModel(model));
    deepStrictEqual(Array.from(tensorToArray(parsed.graph!.initializer[0]) as Float32Array), [1, 2.5, -3]);
    deepStrictEqual(Array.from(tensorToArray(parsed.graph!.initializer[1]) as BigInt64Array), [7n, -9223372036854775807n]);
  });
});
