import { formatShape, listLayers, suggestCamLayer } from '../../engine/layers';
import { loadModel } from '../../engine/model';
import { usageError, type Command } from '../command';

export const layersCommand: Command = {
  name: 'layers',
  summary: 'List every value of an ONNX model with its producing node, op, dtype and shape, and mark the suggested CAM layer.',
  usage: 'camlens layers <model.onnx> [--json] [--initializers] [--filter TEXT]',
  details: [
    'Options:',
    '  --json           print a JSON array [{name, node, op, dtype, shape, scope, suggested}]',
    '  --initializers   include weights and other initializers',
    '  --filter TEXT    only values whose name or op type contains TEXT (case-insensitive)',
    '',
    'Shapes come from static inference; "?" marks a dimension only a run can tell.',
    'The suggested CAM layer (marked *) is the last spatial feature map before global pooling,',
    'or the last token sequence before the head for transformers.',
  ].join('\n'),
  options: {
    json: { type: 'boolean' },
    initializers: { type: 'boolean' },
    filter: { type: 'string' },
  },
  async run(positionals, values, io) {
    if (positionals.length !== 1) {
      throw usageError(`layers: expected one model path, got ${positionals.length}.\nUsage: ${this.usage}`);
    }
    const model = loadModel(positionals[0]);
    let rows = listLayers(model, { includeInitializers: Boolean(values.initializers) });
    const filter = typeof values.filter === 'string' ? values.filter.toLowerCase() : undefined;
    if (filter) rows = rows.filter((r) => r.name.toLowerCase().includes(filter) || r.op.toLowerCase().includes(filter));
    if (values.json) {
      io.out(JSON.stringify(rows, null, 1) + '\n');
      return 0;
    }
    const header = ['', 'value', 'op', 'dtype', 'shape', 'node'];
    const table = rows.map((r) => [r.suggested ? '*' : '', r.name, r.op, r.dtype, formatShape(r.shape), r.node]);
    const widths = header.map((h, i) => Math.min(80, Math.max(h.length, ...table.map((row) => row[i].length))));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd();
    io.out([line(header), ...table.map(line)].join('\n') + '\n');
    const suggestion = suggestCamLayer(model);
    const graph = model.graph;
    io.out(
      `\n${rows.length} values, ${graph.nodes.length} nodes, opset ${graph.opset()}; ` +
        (suggestion
          ? `suggested CAM layer: ${suggestion.value} (${suggestion.reason})\n`
          : 'no CAM layer could be suggested (no spatial feature map or token sequence found)\n'),
    );
    return 0;
  },
};
