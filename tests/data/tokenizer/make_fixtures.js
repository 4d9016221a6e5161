#!/usr/bin/env node
// Writes two tiny byte-level BPE models with the same tokens and merges, one per file pair:
//   tiny-openai/encoder.json + vocab.bpe   (OpenAI layout: ids in id order, trailing newline)
//   tiny-hf/vocab.json + merges.txt        (Hugging Face layout: keys sorted, CRLF, no final newline)
// test_tokenizer.cpp checks that both load and give the same ids.
// Usage: node tests/data/tokenizer/make_fixtures.js   (from the repository root)
'use strict';
const fs = require('fs');
const path = require('path');

// GPT-2's bytes_to_unicode, in GPT-2's id order.
const bs = [];
for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
for (let b = 0xae; b <= 0xff; b++) bs.push(b);
const cs = bs.slice();
let n = 0;
for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
const tokens = cs.map(c => String.fromCodePoint(c));

const merges = [
  ['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'a'], ['e', 'r'], ['o', 'r'],
  ['Ġ', 'w'], ['Ġw', 'or'], ['l', 'd'], ['Ġwor', 'ld'], ['Ġ', 'c'], ['a', 't'], ['Ġc', 'at'],
  ['Ġ', 'Ġ'], ['ĠĠ', 'ĠĠ'], ['Ċ', 'Ċ'], ['Ã', '©'], ['c', 'af'], ['a', 'f'],
];
for (const [a, b] of merges) tokens.push(a + b);
tokens.push('<|endoftext|>');

const dir = path.join(__dirname);
const byId = {};
tokens.forEach((t, i) => { byId[t] = i; });
fs.writeFileSync(path.join(dir, 'tiny-openai/encoder.json'), JSON.stringify(byId));
fs.writeFileSync(path.join(dir, 'tiny-openai/vocab.bpe'),
                 '#version: 0.2\n' + merges.map(m => m.join(' ')).join('\n') + '\n');
const sorted = {};
Object.keys(byId).sort().forEach(k => { sorted[k] = byId[k]; });
fs.writeFileSync(path.join(dir, 'tiny-hf/vocab.json'), JSON.stringify(sorted, null, 2));
fs.writeFileSync(path.join(dir, 'tiny-hf/merges.txt'),
                 '#version: 0.2\r\n' + merges.map(m => m.join(' ')).join('\r\n'));
