#!/usr/bin/env node
// ortrun.js runs ONNX models through onnxruntime (onnxruntime-node, CPU) so
// that nncc's tests and benchmarks have a reference to compare against.
//
// Usage:
//
//   node ortrun.js run [--threads N] [--opt disabled|basic|extended|layout|all] < jobs.json
//
//     stdin holds a JSON list of jobs (a single job object is accepted too):
//
//       {"model": "m.onnx",                       model file
//        "inputs": {"x": "x.pb", "y": "y.npy"},   feeds by graph input name, or
//        "input_files": ["in0.pb", "in1.pb"],     feeds in graph input order
//        "out": "dir",                            where output_<i>.pb go
//        "threads": 1, "opt": "all",              optional per-job overrides
//        "save_optimized": "opt.onnx"}            optional: ORT's optimized graph
//
//     Inputs are ONNX TensorProto files (.pb) or NumPy .npy files. For each
//     job, in order, one JSON line is written to stdout:
//
//       {"job":0,"outputs":[{"name":"y","file":"dir/output_0.pb","dtype":"float32","dims":[1,10]}]}
//       {"job":1,"error":"..."}
//
//     output_<i>.pb is the i-th graph output as a TensorProto (named after
//     the output, data in raw_data). A failing job does not stop the others;
//     the exit status is 0 unless stdin cannot be read. Consecutive jobs on
//     the same model and options share one session.
//
//   node ortrun.js bench --model m.onnx [--input name=file ...] [--dim param=value ...]
//                        [--iters 100] [--warmup 10] [--threads 1] [--opt all]
//
//     Times session.run and prints one JSON line with the median, min, mean
//     and 90th percentile latency in milliseconds, and the process CPU time
//     (all threads) per run (cpu_ms). Inputs not given are
//     filled with seeded random values, their symbolic dims set by --dim
//     (default 1).
//
// Defaults: 1 intra-op thread, 1 inter-op thread, sequential execution,
// graph optimization level "all".

'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// ------------------------------------------------------------ data types

// ONNX TensorProto.DataType numbers and their onnxruntime-node tensor types.
const ONNX_TO_ORT = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32',
  7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64',
  12: 'uint32', 13: 'uint64',
};
const ORT_TO_ONNX = Object.fromEntries(Object.entries(ONNX_TO_ORT).map(([k, v]) => [v, Number(k)]));

const ARRAY_OF = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array,
  int16: Int16Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array,
  float16: Uint16Array, float64: Float64Array, uint32: Uint32Array, uint64: BigUint64Array,
};

// typedFromBytes copies little-endian element bytes into a fresh (aligned)
// typed array of the given onnxruntime type.
function typedFromBytes(type, bytes) {
  const A = ARRAY_OF[type];
  if (bytes.length % A.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`${bytes.length} bytes is not a whole number of ${type} elements`);
  }
  const out = new A(bytes.length / A.BYTES_PER_ELEMENT);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function count(dims) {
  return dims.reduce((n, d) => n * d, 1);
}

// ------------------------------------------------------------ protobuf wire format

class Reader {
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }

  done() {
    return this.pos >= this.buf.length;
  }

  // varint returns the next varint as a BigInt (unsigned 64-bit).
  varint() {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, v);
    }
    throw new Error('varint longer than 10 bytes');
  }

  bytes(n) {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error('truncated field');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  lengthDelimited() {
    return this.bytes(Number(this.varint()));
  }

  skip(wire) {
    switch (wire) {
      case 0: this.varint(); break;
      case 1: this.bytes(8); break;
      case 2: this.lengthDelimited(); break;
      case 5: this.bytes(4); break;
      default: throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

// repeatedVarints reads a repeated varint field, packed (wire type 2) or not.
function repeatedVarints(r, wire, into) {
  if (wire === 0) {
    into.push(r.varint());
    return;
  }
  if (wire !== 2) throw new Error(`bad wire type ${wire} for a varint field`);
  const sub = new Reader(r.lengthDelimited());
  while (!sub.done()) into.push(sub.varint());
}

// repeatedFixed reads a repeated fixed-width field (4 or 8 bytes), packed or
// not, appending its raw bytes to `into`.
function repeatedFixed(r, wire, width, into) {
  const single = width === 4 ? 5 : 1;
  if (wire === single) into.push(r.bytes(width));
  else if (wire === 2) into.push(r.lengthDelimited());
  else throw new Error(`bad wire type ${wire} for a fixed${width * 8} field`);
}

class Writer {
  constructor() {
    this.parts = [];
  }

  varint(v) {
    let x = BigInt.asUintN(64, BigInt(v));
    const out = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.parts.push(Buffer.from(out));
  }

  tag(field, wire) {
    this.varint((field << 3) | wire);
  }

  bytesField(field, b) {
    this.tag(field, 2);
    this.varint(b.length);
    this.parts.push(Buffer.from(b));
  }

  finish() {
    return Buffer.concat(this.parts);
  }
}

// ------------------------------------------------------------ TensorProto

// TensorProto field numbers used here.
const F = {
  dims: 1, dataType: 2, floatData: 4, int32Data: 5, stringData: 6, int64Data: 7,
  name: 8, rawData: 9, doubleData: 10, uint64Data: 11, dataLocation: 14,
};

// decodeTensor parses a serialized onnx.TensorProto into
// {name, type, dims, data} with data as onnxruntime-node wants it.
function decodeTensor(buf) {
  const r = new Reader(buf);
  const dims = [];
  let dataType = 0;
  let name = '';
  let raw = null;
  const fixed = [];
  const varints = [];
  const strings = [];
  let external = false;
  while (!r.done()) {
    const key = Number(r.varint());
    const field = key >>> 3;
    const wire = key & 7;
    switch (field) {
      case F.dims: {
        const ds = [];
        repeatedVarints(r, wire, ds);
        for (const d of ds) dims.push(Number(BigInt.asIntN(64, d)));
        break;
      }
      case F.dataType: dataType = Number(r.varint()); break;
      case F.name: name = r.lengthDelimited().toString('utf8'); break;
      case F.rawData: raw = r.lengthDelimited(); break;
      case F.floatData: repeatedFixed(r, wire, 4, fixed); break;
      case F.doubleData: repeatedFixed(r, wire, 8, fixed); break;
      case F.int32Data: case F.int64Data: case F.uint64Data: repeatedVarints(r, wire, varints); break;
      case F.stringData: strings.push(r.lengthDelimited()); break;
      case F.dataLocation: external = r.varint() === 1n; break;
      default: r.skip(wire);
    }
  }
  if (external) throw new Error(`tensor ${name}: external data is not supported`);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`tensor ${name}: bad dim ${d}`);
  }
  const type = ONNX_TO_ORT[dataType];
  if (!type) throw new Error(`tensor ${name}: unsupported data type ${dataType}`);
  const n = count(dims);
  let data;
  if (type === 'string') {
    data = strings.map((s) => s.toString('utf8'));
  } else if (raw !== null) {
    data = typedFromBytes(type, raw);
  } else if (type === 'float32' || type === 'float64') {
    data = typedFromBytes(type, Buffer.concat(fixed));
  } else {
    const A = ARRAY_OF[type];
    data = new A(varints.length);
    const big = type === 'int64' || type === 'uint64';
    for (let i = 0; i < varints.length; i++) {
      // int32_data holds int32, int16, int8, uint16, uint8, bool and
      // float16 bit patterns; the typed array's store wraps them.
      data[i] = big ? (type === 'int64' ? BigInt.asIntN(64, varints[i]) : varints[i]) : Number(BigInt.asIntN(64, varints[i]));
    }
  }
  if (data.length !== n) {
    throw new Error(`tensor ${name}: ${data.length} elements for dims [${dims}]`);
  }
  return { name, type, dims, data };
}

// encodeTensor serializes an onnxruntime tensor as an onnx.TensorProto with
// its elements in raw_data (string_data for strings).
function encodeTensor(name, tensor) {
  const dataType = ORT_TO_ONNX[tensor.type];
  if (!dataType) throw new Error(`output ${name}: unsupported tensor type ${tensor.type}`);
  const w = new Writer();
  for (const d of tensor.dims) {
    w.tag(F.dims, 0);
    w.varint(d);
  }
  w.tag(F.dataType, 0);
  w.varint(dataType);
  if (tensor.type === 'string') {
    for (const s of tensor.data) w.bytesField(F.stringData, Buffer.from(s, 'utf8'));
  }
  w.bytesField(F.name, Buffer.from(name, 'utf8'));
  if (tensor.type !== 'string') {
    const d = tensor.data;
    w.bytesField(F.rawData, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return w.finish();
}

// ------------------------------------------------------------ .npy

const NPY_TYPES = {
  '<f4': 'float32', '<f8': 'float64', '<f2': 'float16', '|u1': 'uint8', '|i1': 'int8',
  '|b1': 'bool', '<u2': 'uint16', '<i2': 'int16', '<i4': 'int32', '<i8': 'int64',
  '<u4': 'uint32', '<u8': 'uint64',
};

// decodeNpy parses a NumPy .npy file (format versions 1 to 3, C order,
// little-endian numeric dtypes).
function decodeNpy(buf) {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy file');
  const major = buf[6];
  let headerLen;
  let start;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error('truncated .npy header');
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw new Error(`unsupported .npy version ${major}`);
  }
  if (start + headerLen > buf.length) throw new Error('truncated .npy header');
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`bad .npy header ${JSON.stringify(header)}`);
  if (fortran[1] === 'True') throw new Error('Fortran-ordered .npy is not supported');
  const type = NPY_TYPES[descr[1]];
  if (!type) throw new Error(`unsupported .npy dtype ${descr[1]}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`bad .npy shape (${shape[1]})`);
  const data = typedFromBytes(type, buf.subarray(start + headerLen));
  if (data.length !== count(dims)) throw new Error(`.npy holds ${data.length} elements for shape [${dims}]`);
  return { name: '', type, dims, data };
}

function readTensorFile(file) {
  const buf = fs.readFileSync(file);
  const t = file.endsWith('.npy') ? decodeNpy(buf) : decodeTensor(buf);
  return new ort.Tensor(t.type, t.data, t.dims);
}

// ------------------------------------------------------------ sessions

const OPT_LEVELS = ['disabled', 'basic', 'extended', 'layout', 'all'];

function sessionOptions(threads, opt, saveOptimized) {
  if (!Number.isInteger(threads) || threads < 0) throw new Error(`bad thread count ${threads}`);
  if (!OPT_LEVELS.includes(opt)) throw new Error(`bad optimization level ${JSON.stringify(opt)} (want one of ${OPT_LEVELS.join(', ')})`);
  const o = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opt,
    logSeverityLevel: 3,
  };
  if (saveOptimized) o.optimizedModelFilePath = saveOptimized;
  return o;
}

// ------------------------------------------------------------ run mode

async function runJobs(jobs, defaults) {
  let cached = null; // {key, session}
  for (let i = 0; i < jobs.length; i++) {
    let line;
    try {
      const job = jobs[i];
      if (job === null || typeof job !== 'object') throw new Error('job is not an object');
      if (typeof job.model !== 'string') throw new Error('job has no "model"');
      if (typeof job.out !== 'string') throw new Error('job has no "out"');
      const threads = job.threads ?? defaults.threads;
      const opt = job.opt ?? defaults.opt;
      const key = JSON.stringify([path.resolve(job.model), threads, opt, job.save_optimized ?? '']);
      if (!cached || cached.key !== key) {
        if (cached) await cached.session.release();
        cached = null;
        const session = await ort.InferenceSession.create(job.model, sessionOptions(threads, opt, job.save_optimized));
        cached = { key, session };
      }
      const session = cached.session;
      const feeds = {};
      if (job.input_files !== undefined) {
        if (!Array.isArray(job.input_files)) throw new Error('"input_files" is not a list');
        if (job.input_files.length > session.inputNames.length) {
          throw new Error(`${job.input_files.length} input files for ${session.inputNames.length} graph inputs`);
        }
        job.input_files.forEach((f, k) => { feeds[session.inputNames[k]] = readTensorFile(f); });
      }
      for (const [name, f] of Object.entries(job.inputs ?? {})) {
        if (!session.inputNames.includes(name)) throw new Error(`model has no input ${JSON.stringify(name)} (inputs: ${session.inputNames.join(', ')})`);
        feeds[name] = readTensorFile(f);
      }
      const results = await session.run(feeds);
      fs.mkdirSync(job.out, { recursive: true });
      const outputs = session.outputNames.map((name, k) => {
        const t = results[name];
        if (!t || typeof t.type !== 'string' || !('dims' in t)) throw new Error(`output ${name} is not a tensor`);
        const file = path.join(job.out, `output_${k}.pb`);
        fs.writeFileSync(file, encodeTensor(name, t));
        return { name, file, dtype: t.type, dims: Array.from(t.dims) };
      });
      line = { job: i, outputs };
    } catch (e) {
      line = { job: i, error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  if (cached) await cached.session.release();
}

// ------------------------------------------------------------ bench mode

// mulberry32 is a small seeded PRNG so random bench inputs are reproducible.
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomInput(meta, dimValues, rand) {
  if (!meta.isTensor) throw new Error(`input ${meta.name} is not a tensor`);
  const dims = meta.shape.map((d) => {
    if (typeof d === 'number' && d >= 0) return d;
    if (typeof d === 'string' && d in dimValues) return dimValues[d];
    return 1;
  });
  const n = count(dims);
  if (meta.type === 'string') return new ort.Tensor('string', Array(n).fill(''), dims);
  const A = ARRAY_OF[meta.type];
  if (!A) throw new Error(`input ${meta.name}: cannot make random ${meta.type} data`);
  const data = new A(n);
  if (meta.type === 'float32' || meta.type === 'float64') {
    for (let i = 0; i < n; i++) data[i] = rand() * 2 - 1;
  }
  return new ort.Tensor(meta.type, data, dims);
}

async function bench(opts) {
  if (!opts.model) throw new Error('bench needs --model');
  const session = await ort.InferenceSession.create(opts.model, sessionOptions(opts.threads, opts.opt));
  const feeds = {};
  for (const [name, f] of Object.entries(opts.inputs)) {
    if (!session.inputNames.includes(name)) throw new Error(`model has no input ${JSON.stringify(name)}`);
    feeds[name] = readTensorFile(f);
  }
  const rand = mulberry32(1);
  for (const meta of session.inputMetadata) {
    if (!(meta.name in feeds)) feeds[meta.name] = randomInput(meta, opts.dims, rand);
  }
  for (let i = 0; i < opts.warmup; i++) await session.run(feeds);
  const ms = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < opts.iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  await session.release();
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
  const median = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
  const round = (x) => Math.round(x * 1000) / 1000;
  process.stdout.write(JSON.stringify({
    model: opts.model, threads: opts.threads, opt: opts.opt, iters: opts.iters, warmup: opts.warmup,
    median_ms: round(median), min_ms: round(ms[0]), p90_ms: round(q(0.9)),
    mean_ms: round(ms.reduce((a, b) => a + b, 0) / ms.length),
    cpu_ms: round((cpu.user + cpu.system) / 1000 / opts.iters),
  }) + '\n');
}

// ------------------------------------------------------------ command line

function parseArgs(argv) {
  const o = { threads: 1, opt: 'all', iters: 100, warmup: 10, inputs: {}, dims: {}, model: null };
  const positiveInt = (flag, s, min) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag}: bad value ${JSON.stringify(s)}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    const pair = () => {
      const s = val();
      const eq = s.indexOf('=');
      if (eq <= 0) throw new Error(`${flag} wants name=value, got ${JSON.stringify(s)}`);
      return [s.slice(0, eq), s.slice(eq + 1)];
    };
    switch (flag) {
      case '--threads': o.threads = positiveInt(flag, val(), 0); break;
      case '--opt': o.opt = val(); break;
      case '--iters': o.iters = positiveInt(flag, val(), 1); break;
      case '--warmup': o.warmup = positiveInt(flag, val(), 0); break;
      case '--model': o.model = val(); break;
      case '--input': { const [k, v] = pair(); o.inputs[k] = v; break; }
      case '--dim': { const [k, v] = pair(); o.dims[k] = positiveInt(flag, v, 0); break; }
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (!OPT_LEVELS.includes(o.opt)) throw new Error(`--opt: want one of ${OPT_LEVELS.join(', ')}`);
  return o;
}

async function main() {
  const [mode, ...rest] = process.argv.slice(2);
  const opts = parseArgs(rest);
  if (mode === 'run') {
    let jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
    if (!Array.isArray(jobs)) jobs = [jobs];
    await runJobs(jobs, opts);
  } else if (mode === 'bench') {
    await bench(opts);
  } else {
    throw new Error('usage: ortrun.js run|bench [flags] (see the comment at the top of ortrun.js)');
  }
}

// Exported for tests; main runs only when invoked as a script.
module.exports = { decodeTensor, encodeTensor, decodeNpy };

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`ortrun: ${e && e.message ? e.message : e}\n`);
    process.exit(2);
  });
}
