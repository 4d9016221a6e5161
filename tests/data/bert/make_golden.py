#!/usr/bin/env python3
"""Goldens for tests/core/test_bert.cpp, made by Hugging Face's own code.

  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install tokenizers torch transformers
  /tmp/venv/bin/python tests/data/bert/make_golden.py models/assets/minilm

Writes wordpiece.json (token ids by `tokenizers` from the model's tokenizer.json, truncation to
sentence-transformers' max_seq_length 256) and, when torch and transformers are installed,
minilm.json (all-MiniLM-L6-v2 sentence embeddings: BertModel, mean pooling over the attention
mask, L2 normalisation, i.e. what sentence-transformers' Transformer + Pooling + Normalize
modules compute, plus a few last-hidden-state values).
"""
import json
import os
import sys

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))

# Strings that exercise every step of BertNormalizer + BertPreTokenizer + WordPiece.
TOKEN_CASES = [
    "Hello, world!",
    "The Eiffel Tower is located in Paris.",
    "Café déjà vu: naïve façade, résumé, Ångström, Øresund, Œuvre",
    "ÀÉÎÕÜ àéîõü ÇçÑñ",
    "Straße İstanbul ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ",
    "北京是中国的首都。東京は日本の首都です",
    "한국어 텍스트와 ひらがな カタカナ",
    "𠀀𠀁 CJK extension B",
    "don't stop-believing... (really?) [yes] {no} <maybe> a/b\\c @user #tag $5 100% a&b *x* ~y~ `z` ^_^ |q|",
    "“Smart quotes” — em dash – en dash … ellipsis ¡Hola! ¿Qué? «guillemets» ‹one›",
    "price: €10, £5, ¥100, 2+2=4, x<y>z",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em-space\u3000ideographic",
    "zero\u200bwidth\u200djoiner\ufeffbom\u0000null\ufffdreplacement\u0007bell\u00adsofthyphen",
    "unbelievableness antidisestablishmentarianism supercalifragilisticexpialidocious",
    "xqzvkjw qqqqqqqq zzxxyy",
    "a" * 100,
    "b" * 101,
    "ab" * 60 + " short",
    "GPT-2, BERT & MiniLM-L6-v2 (2019/2021) e.g. U.S.A. i.e. Ph.D.",
    "emoji 😀👍🏽 🇫🇷 ❤️ ✓ ★",
    "Ελληνικά, Русский текст, עברית, العربية, हिन्दी, ไทย",
    "ﬁ ﬂ ½ ² ℌ ㎞ Ⅻ ①",
    "   leading and trailing spaces   ",
    "",
    "The mother tongue of Danielle Darrieux is French",
    "Toko Yasuda, the guitar",
    " ".join(["word"] * 300),
]

EMBED_CASES = [
    "The Eiffel Tower is located in Paris.",
    "Danielle Darrieux's mother tongue is English.",
    "Where is the Eiffel Tower?",
    "A man is playing a guitar.",
    "Café déjà vu, naïve façade.",
    "北京是中国的首都。",
    "",
    " ".join(["memory"] * 300),
]


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "models/assets/minilm"
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=256)
    cases = []
    for text in TOKEN_CASES:
        enc = tok.encode(text)
        cases.append({"text": text, "ids": enc.ids, "tokens": enc.tokens})
    with open(os.path.join(HERE, "wordpiece.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "sentence-transformers/all-MiniLM-L6-v2", "max_length": 256, "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")

    try:
        import torch
        from transformers import BertModel, BertTokenizerFast
    except ImportError:
        print("torch/transformers not installed: minilm.json not written")
        return
    torch.manual_seed(0)
    hf_tok = BertTokenizerFast.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
    batch = hf_tok(EMBED_CASES, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    emb = torch.nn.functional.normalize(pooled, p=2, dim=1)
    out = []
    for i, text in enumerate(EMBED_CASES):
        n = int(batch["attention_mask"][i].sum())
        out.append({
            "text": text,
            "ids": batch["input_ids"][i][:n].tolist(),
            "embedding": [round(float(v), 7) for v in emb[i]],
            # The first token's first 8 hidden values and the last real token's ([SEP]).
            "hidden_first": [round(float(v), 6) for v in hidden[i, 0, :8]],
            "hidden_last": [round(float(v), 6) for v in hidden[i, n - 1, :8]],
        })
    with open(os.path.join(HERE, "minilm.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "sentence-transformers/all-MiniLM-L6-v2", "max_length": 256,
                   "torch": torch.__version__, "cases": out}, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
