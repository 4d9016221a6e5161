#!/usr/bin/env python3
"""Hugging Face goldens for the pretrained models' tokenizers (test_tokenizer_pretrained.cpp).

Writes, beside this script:
  hf/gpt2/    tokenizer.json + tokenizer_config.json  ByteLevel(use_regex)            (GPT-2)
  hf/smollm/  tokenizer.json + tokenizer_config.json  Sequence[Digits, ByteLevel]     (SmolLM/SmolLM2)
  hf/llama3/  tokenizer.json (no config: bos from its TemplateProcessing; ignore_merges) (Llama 3)
  hf/qwen2/   tokenizer.json + tokenizer_config.json  Sequence[Split(qwen2), ByteLevel] + NFC (Qwen2)
  hf-golden.json  for each of them and each string in TEXTS: the ids of
                  Tokenizer.encode(text, add_special_tokens=False) (special tokens are matched, as
                  larimar's encode(text, true) does) and the pre-tokeniser's pieces (byte-level form);
                  "smollm2": the same ids for the real SmolLM2-135M-Instruct vocabulary (from the
                  GGUF file, via transformers, with SmolLM2's own pre-tokeniser, which transformers'
                  GGUF conversion replaces with plain ByteLevel).

Each tokenizer is a byte-level BPE trained by the `tokenizers` library on the small CORPUS below,
with the configuration of the model it stands for, added tokens (special and not, one a prefix of
another), and one vocabulary entry no merge makes (" zebra") so that ignore_merges shows.

Run by hand (CI does not; the outputs are committed), from the repository root:
  python3 -m venv /tmp/work/venv-hf && /tmp/work/venv-hf/bin/pip install tokenizers transformers gguf
  /tmp/work/venv-hf/bin/python tests/data/tokenizer/make_golden.py
The SmolLM2 part needs models/assets/smollm2 (models/fetch-assets.sh); without it that part is
left as it was.
"""

import importlib.metadata
import json
import os
import platform

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SMOL_DIR = os.path.join(ROOT, "models", "assets", "smollm2")
SMOL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_GOLDEN = os.path.join(ROOT, "tests", "data", "golden", "smollm2.json")

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")

CORPUS = """\
The quick brown fox jumps over the lazy dog. The dog doesn't mind; it's used to it.
I'll tell you what we've learned: they're here, she'd said so, and you'll see them soon.
DON'T SHOUT! I'M NOT DEAF. WE'RE ALL LISTENING, AREN'T WE? THEY'VE GONE, HAVEN'T THEY?
In 2024 the population was 1234567; by 2030 it may reach 2345678 (an increase of 3.14159%).
Prices: $19.99, EUR 5,50, 100 kg, 42 km/h, 3rd place, 1st of May, version 1.2.3-beta.
def tokenize(text):
    return [piece for piece in text.split() if piece]  # comment with   spaces

for i in range(10):
    print(i, i * i, "value=%d" % i)
Le café est très bon à Paris; naïve résumé, déjà vu, Ångström, Øresund, façade.
Die Straße ist lang und die Bäume sind grün. Über allen Gipfeln ist Ruh.
日本語のテキストを分割します。東京は日本の首都です。中文文本也需要分词。
Emoji are fun 😀 👍🏽 🎉 and hearts ❤️ too; flags 🇫🇷 and symbols ✓ ✗ → ←.
Tabs\tand\tnewlines\r\nare whitespace too.\n\n\nSo are    runs    of spaces.
<html><body class="main">Hello, World!</body></html> {"key": [1, 2, 3]} a+b=c; x->y.
"""

TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "DON'T I'LL WE'RE you've SHE'S 'd 'M it's 'tis",
    "12345 and 3.14159",
    "a 1  22   333    4444 55555 666666",
    "a\n\n b\r\n",
    "line1\r\nline2\n\n\n  indented\n\t\tx",
    "x   y    z     ",
    "   leading and trailing   ",
    "tab\tsep\t\tx \t y",
    "café naïve résumé Ångström Straße",
    "日本語のテキスト 中文 東京",
    "emoji 😀👍🏽 🎉❤️ ok",
    "mixed123abc 4x4 ½ Ⅻ ٣٤ x²",
    "!!! ??? ...\n(hello) [world] {x}",
    "\u00a0nbsp\u00a0\u00a0x\u3000全角",
    "zebra zebras  zebra",
    "<|endoftext|>hi<|im_start|>user\nhello<|im_end|>\n",
    "<extra><more> and <extra>< more> Ünïcødé✓ here",
    "<|begin_of_text|>Hi<|end_of_text|><|reserved_special_token_0|>",
    "def f(x):\n    return x * 2  # twice\n",
    "",
]


def byte_level(use_regex):
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=use_regex)


CONFIGS = {
    "gpt2": dict(pre=byte_level(True), trainer_specials=["<|endoftext|>"], ignore_merges=False,
                 added=[AddedToken("<extra>", special=False, normalized=False),
                        AddedToken("<extra><more>", special=False, normalized=False)],
                 config={"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                         "add_bos_token": False}),
    "smollm": dict(pre=pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level(True)]),
                   trainer_specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], ignore_merges=False,
                   added=[AddedToken("Ünïcødé✓", special=False, normalized=False)],
                   config={"bos_token": {"content": "<|im_start|>", "lstrip": False, "normalized": False,
                                         "rstrip": False, "single_word": False},
                           "eos_token": "<|im_end|>", "pad_token": None}),
    "llama3": dict(pre=pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_REGEX), "isolated", invert=False),
                                                byte_level(False)]),
                   trainer_specials=[], ignore_merges=True,
                   added=[AddedToken(t, special=True, normalized=False)
                          for t in ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>"]],
                   template="<|begin_of_text|>", config=None),
    "qwen2": dict(pre=pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_REGEX), "isolated", invert=False),
                                               byte_level(False)]),
                  trainer_specials=[], ignore_merges=False, normalizer=normalizers.NFC(),
                  added=[AddedToken(t, special=True, normalized=False)
                         for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]],
                  config={"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                          "add_bos_token": False}),
}


def build(name, cfg):
    tok = Tokenizer(models.BPE(ignore_merges=cfg["ignore_merges"]))
    tok.pre_tokenizer = cfg["pre"]
    tok.decoder = decoders.ByteLevel()
    if cfg.get("normalizer"):
        tok.normalizer = cfg["normalizer"]
    trainer = trainers.BpeTrainer(vocab_size=520, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=cfg["trainer_specials"])
    tok.train_from_iterator([CORPUS] * 3, trainer=trainer)
    # One entry that no merge makes: with ignore_merges " zebra" is taken whole, else merged.
    j = json.loads(tok.to_str())
    assert "Ġzebra" not in j["model"]["vocab"]
    j["model"]["vocab"]["Ġzebra"] = len(j["model"]["vocab"])
    tok = Tokenizer.from_str(json.dumps(j))
    tok.add_tokens([t for t in cfg["added"] if not t.special])
    tok.add_special_tokens([t for t in cfg["added"] if t.special])
    if cfg.get("template"):
        bos = cfg["template"]
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos}:1 $B:1",
                                                           special_tokens=[(bos, tok.token_to_id(bos))])
    out_dir = os.path.join(HERE, "hf", name)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"), pretty=False)
    config_path = os.path.join(out_dir, "tokenizer_config.json")
    if cfg["config"] is not None:
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(cfg["config"], f, indent=1, ensure_ascii=False)
            f.write("\n")
    elif os.path.exists(config_path):
        os.remove(config_path)
    return Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))


def cases_for(tok):
    cases = []
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == text, text
        pieces = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
        cases.append({"text": text, "ids": ids, "pieces": pieces})
    return cases


def smollm2_cases(old):
    if not os.path.exists(os.path.join(SMOL_DIR, SMOL_GGUF)):
        print("models/assets/smollm2 missing: SmolLM2 goldens left as they were")
        return old
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(SMOL_DIR, gguf_file=SMOL_GGUF)
    j = json.loads(hf.backend_tokenizer.to_str())
    # SmolLM2's tokenizer.json (HuggingFaceTB/SmolLM2-135M-Instruct) has this pre-tokeniser, and
    # llama.cpp's "smollm" pre-type means the same; transformers' GGUF loader writes ByteLevel alone.
    tok = Tokenizer.from_str(json.dumps(j))
    tok.pre_tokenizer = CONFIGS["smollm"]["pre"]
    with open(SMOL_GOLDEN, encoding="utf-8") as f:
        for c in json.load(f)["cases"]:
            assert tok.encode(c["text"], add_special_tokens=False).ids == c["ids"], c["text"]
    return [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in TEXTS]


def main():
    golden_path = os.path.join(HERE, "hf-golden.json")
    old = {}
    if os.path.exists(golden_path):
        with open(golden_path, encoding="utf-8") as f:
            old = json.load(f)
    out = {
        "generator": {"script": "tests/data/tokenizer/make_golden.py", "python": platform.python_version(),
                      "tokenizers": importlib.metadata.version("tokenizers"),
                      "transformers": importlib.metadata.version("transformers")},
        "tokenizers": {},
    }
    for name, cfg in CONFIGS.items():
        out["tokenizers"][name] = cases_for(build(name, cfg))
    out["smollm2"] = smollm2_cases(old.get("smollm2", []))
    with open(golden_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print("wrote", golden_path)


if __name__ == "__main__":
    main()
