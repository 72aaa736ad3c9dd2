'use strict';

const { Transform } = require('node:stream');

/**
 * Transform stream: bytes in, parsed JSON objects out (one per line).
 * Chunks may split a line anywhere, so the incomplete tail is buffered
 * until the next chunk or the end of the stream.
 */
class NdjsonParser extends Transform {
  /**
   * @param {{ strict?: boolean }} [opts] strict=false skips malformed lines
   */
  constructor({ strict = true } = {}) {
    super({ readableObjectMode: true });
    this.strict = strict;
    this.tail = '';
    this.lineNo = 0;
    this.skipped = 0;
  }

  _transform(chunk, _encoding, callback) {
    const text = this.tail + chunk.toString('utf8');
    const lines = text.split('\n');
    this.tail = lines.pop(); // last piece may be a partial line
    try {
      for (const line of lines) this._emitLine(line);
      callback();
    } catch (err) {
      callback(err);
    }
  }

  _flush(callback) {
    try {
      if (this.tail) this._emitLine(this.tail);
      callback();
    } catch (err) {
      callback(err);
    }
  }

  _emitLine(raw) {
    this.lineNo += 1;
    const line = raw.trim();
    if (!line) return;
    try {
      this.push(JSON.parse(line));
    } catch (err) {
      if (this.strict) {
        throw new SyntaxError(`Invalid JSON on line ${this.lineNo}: ${err.message}`);
      }
      this.skipped += 1;
    }
  }
}

module.exports = { NdjsonParser };

// Example: node node_ndjson_transform.js < events.ndjson
if (require.main === module) {
  const parser = new NdjsonParser({ strict: false });
  let count = 0;
  process.stdin
    .pipe(parser)
    .on('data', (obj) => {
      count += 1;
      if (obj?.level === 'error') console.log(obj.message);
    })
    .on('end', () => console.error(`${count} records, ${parser.skipped} skipped`))
    .on('error', (err) => {
      console.error(err.message);
      process.exitCode = 1;
    });
}
