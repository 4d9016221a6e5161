#!/usr/bin/env node
// Writes golden.json: GPT-2 token ids for a fixed set of strings, computed by the reference
// JavaScript implementation in the npm package gpt-3-encoder@1.1.4 (Encoder.js `encode`).
// test_tokenizer.cpp checks that larimar::Tokenizer gives the same ids.
// Usage (from the repository root; needs npm and the registry):
//   node tests/data/tokenizer/make_golden.js > tests/data/tokenizer/golden.json
// or, with an already extracted package directory:
//   node tests/data/tokenizer/make_golden.js path/to/package > tests/data/tokenizer/golden.json
'use strict';
const {execFileSync} = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const SPEC = 'gpt-3-encoder@1.1.4';
const SHA256 = '099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c'; // as in models/fetch-assets.sh

function packageDir() {
  if (process.argv[2]) return path.resolve(process.argv[2]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'larimar-golden-'));
  execFileSync('npm', ['pack', '--loglevel=error', SPEC], {cwd: tmp, stdio: ['ignore', 'ignore', 'inherit']});
  const tgz = fs.readdirSync(tmp).find(f => f.endsWith('.tgz'));
  const sum = crypto.createHash('sha256').update(fs.readFileSync(path.join(tmp, tgz))).digest('hex');
  if (sum !== SHA256) throw new Error(`${SPEC}: tarball SHA-256 ${sum}, expected ${SHA256}`);
  execFileSync('tar', ['-xzf', tgz], {cwd: tmp});
  return path.join(tmp, 'package');
}

const strings = [
  // ASCII words and sentences
  'Hello world',
  'hello world',
  'The quick brown fox jumps over the lazy dog.',
  'The Eiffel Tower is located in Paris.',
  'Danielle Darrieux\'s mother tongue is French.',
  'a',
  ' ',
  '',
  'Supercalifragilisticexpialidocious',
  'antidisestablishmentarianism',
  'CamelCaseIdentifierName snake_case_name kebab-case-name',
  // punctuation
  'Hello, world! How are you?',
  '...!!!???',
  '(a+b)*c = d/e; f[g] {h} <i> "j" \'k\'',
  '#include <stdio.h>\nint main(void) { return 0; }',
  'email@example.com https://example.org/path?q=1&r=2#frag',
  '---===***___',
  // contractions
  "I'm sure you're right, they've said it'll work and he'd agree; it's John's.",
  "DON'T SHOUT, I'M HERE",
  "''s 't 're 've 'm 'll 'd",
  "rock'n'roll o'clock",
  // numbers
  '1234567890',
  'The year 2024 had 366 days and 3.14159 is pi.',
  '-42 +17 1,000,000 1e-9 0x1F',
  '① ² ¾ Ⅻ ٣',
  // accents and Latin extensions
  'café naïve résumé façade',
  'Zürich Straße Ørsted Łódź',
  'e\u0301 (combining acute)',
  'Ångström ÆØÅ æøå',
  // other scripts
  'Привет, мир!',
  'Γειά σου Κόσμε',
  'שלום עולם',
  'مرحبا بالعالم',
  'नमस्ते दुनिया',
  'สวัสดีชาวโลก',
  // CJK
  '你好，世界！',
  '日本語のテキストです。',
  '한국어 텍스트',
  '中文English混合text',
  // emoji
  '😀',
  'I love 🍕 and 🍣!',
  '👨‍👩‍👧‍👦 family',
  '🇫🇷🇯🇵',
  '❤️👍🏽',
  // whitespace runs
  'two  spaces',
  'three   spaces and    four',
  'trailing space ',
  'trailing spaces   ',
  '   leading spaces',
  'line one\nline two\n',
  'para one\n\npara two\n\n\n',
  'tab\tseparated\tvalues',
  '\t\tindented with tabs',
  'mixed \t \n whitespace',
  ' \n ',
  'windows\r\nline endings\r\n',
  'no\u00a0break\u3000ideographic space',
  // mixed
  'Mixed: English, Français, Deutsch, 日本語, русский, 123 and 🎉.',
  'The capital of France is Paris. The capital of Japan is Tokyo.',
  '<|endoftext|> is plain text here',
  'x = [1, 2, 3]  # a list\n    y = {"k": "v"}\n',
];

// Encoder.js does not export its pattern; this is a copy of its `pat`, used only to record the
// pre-tokenised pieces so that a mismatch in ids can be told apart from a mismatch in splitting.
const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const pkg = packageDir();
if (!fs.readFileSync(path.join(pkg, 'Encoder.js'), 'utf-8').includes('/' + pat.source + '/gu'))
  throw new Error('Encoder.js pattern differs from the copy in make_golden.js');
const enc = require(path.join(pkg, 'Encoder.js'));
const cases = strings.map(text => {
  const ids = enc.encode(text);
  if (enc.decode(ids) !== text) throw new Error('reference does not round-trip: ' + JSON.stringify(text));
  const pieces = Array.from(text.matchAll(pat)).map(m => m[0]);
  return {text, pieces, ids};
});
// One case a line, so that a change in the reference shows up as a readable diff.
const lines = cases.map(c => '  ' + JSON.stringify(c));
process.stdout.write(`{"source": ${JSON.stringify(SPEC + ' Encoder.js encode()')},\n "cases": [\n` +
                     lines.join(',\n') + '\n ]}\n');
