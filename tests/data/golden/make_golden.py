#!/usr/bin/env python3
"""Golden reference outputs from Hugging Face transformers for the C++ model tests.

What it writes (into the directory of this script; formats are described in README.md):
  tiny-llama/ tiny-llama-tied/ tiny-qwen2/ tiny-gpt2/ tiny-bert/   tiny random float32 HF models
  tiny-llama.json tiny-llama-tied.json tiny-qwen2.json tiny-gpt2.json tiny-bert.json
  smollm2.json        SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised by transformers) logits/greedy
  minilm.json         all-MiniLM-L6-v2 sentence embeddings (mean pooled + L2)
  gguf-tensors.json   dequantised GGUF tensor stats (gguf-py) and the HF tensors they become

How to run (CI does NOT run this; the outputs are committed):
  python3 -m venv /tmp/work/venv-hf
  /tmp/work/venv-hf/bin/pip install torch transformers safetensors gguf accelerate numpy
  /tmp/work/venv-hf/bin/python tests/data/golden/make_golden.py      # from the repository root

The real-model parts need models/assets/ (scripts fetch them); each one is skipped with a
message when its asset is missing, and the existing JSON file is then left as it is.
Everything is deterministic: fixed seeds, CPU, float32, eager attention. After writing, the
script checks itself: it re-loads every tiny model from disk and recomputes, runs an
independent NumPy forward pass straight from model.safetensors + config.json, and re-reads
the JSON it wrote; any mismatch raises.
"""

import hashlib
import importlib.metadata
import json
import math
import os
import platform
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ASSETS = os.path.join(ROOT, "models", "assets")
SMOL_DIR = os.path.join(ASSETS, "smollm2")
SMOL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_DIR = os.path.join(ASSETS, "minilm")

CASE_LENGTHS = [1, 5, 12]
BERT_PAD = 3  # the padded BERT case masks out its last 3 positions


# ---------------------------------------------------------------------------------------------
# output helpers

def generator_info():
    def ver(pkg):
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return None
    return {
        "script": "tests/data/golden/make_golden.py",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": ver("transformers"),
        "gguf": ver("gguf"),
        "safetensors": ver("safetensors"),
        "tokenizers": ver("tokenizers"),
        "numpy": np.__version__,
    }


def r7(x):
    """Round to 7 significant digits (the JSON precision of all per-element values)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("non-finite value in golden output")
    return float(f"{x:.7g}")


def r10(x):
    """Scalar float64 statistics (sums, norms) keep 10 significant digits."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("non-finite value in golden output")
    return float(f"{x:.10g}")


def rlist(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return [r7(v) for v in a]
    return [rlist(row) for row in a]


def write_json(name, obj):
    """Writes obj with one line per entry of its "cases" / "tensors" list (diffable, compact)."""
    path = os.path.join(HERE, name)
    dump = lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False)
    lines = ["{"]
    keys = list(obj.keys())
    for i, k in enumerate(keys):
        end = "," if i + 1 < len(keys) else ""
        v = obj[k]
        if k in ("cases", "tensors") and isinstance(v, list):
            lines.append(f" {dump(k)}:[")
            for j, item in enumerate(v):
                lines.append("  " + dump(item) + ("," if j + 1 < len(v) else ""))
            lines.append(" ]" + end)
        else:
            lines.append(f" {dump(k)}:{dump(v)}{end}")
    lines.append("}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(path, encoding="utf-8") as f:
        json.load(f)  # must parse back
    print(f"wrote {name} ({os.path.getsize(path)} bytes)")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dir_size(path):
    return sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path))


# ---------------------------------------------------------------------------------------------
# tiny random models

def randomise(model, seed):
    """Weights ~ N(0, 0.2); 1-D norm scales 1 + N(0, 0.1); biases N(0, 0.1).

    Large enough that logits differ clearly between tokens, so a wrong op shows up."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif p.dim() == 1:
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(0.2 * noise)


def tiny_specs():
    from transformers import (BertConfig, BertModel, GPT2Config, GPT2LMHeadModel, LlamaConfig,
                              LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM)
    common = dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  max_position_embeddings=64)
    return [
        ("tiny-llama", 101, LlamaForCausalLM, LlamaConfig(
            **common, num_attention_heads=4, num_key_value_heads=2, rope_theta=10000.0,
            rms_norm_eps=1e-5, tie_word_embeddings=False)),
        ("tiny-llama-tied", 102, LlamaForCausalLM, LlamaConfig(
            **common, num_attention_heads=4, num_key_value_heads=4, rope_theta=100000.0,
            rms_norm_eps=1e-5, tie_word_embeddings=True)),
        ("tiny-qwen2", 103, Qwen2ForCausalLM, Qwen2Config(
            **common, num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0,
            rms_norm_eps=1e-6, tie_word_embeddings=False, use_sliding_window=False)),
        ("tiny-gpt2", 104, GPT2LMHeadModel, GPT2Config(
            vocab_size=256, n_embd=32, n_layer=2, n_head=4, n_positions=64,
            bos_token_id=None, eos_token_id=None)),
        ("tiny-bert", 105, BertModel, BertConfig(
            **common, num_attention_heads=4, type_vocab_size=2)),
    ]


def mean_pool_l2(hidden, mask):
    """hidden [B,T,H], mask [B,T] -> [B,H]: attention-mask mean pooling, then L2 normalisation."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=-1)


def run_tiny(model, is_bert, case):
    ids = torch.tensor([case["ids"]])
    with torch.no_grad():
        if is_bert:
            mask = torch.tensor([case["attention_mask"]])
            h = model(input_ids=ids, attention_mask=mask,
                      token_type_ids=torch.zeros_like(ids)).last_hidden_state
            return h[0].numpy(), mean_pool_l2(h, mask)[0].numpy()
        return model(input_ids=ids).logits[0].numpy(), None


def fix_config_json(path):
    """transformers 5 writes RoPE as {"rope_parameters": {"rope_theta": ..}}; older checkpoints
    (and most on the Hub) have a top-level "rope_theta". Write both, so a reader that knows
    either form works; transformers reads the file back unchanged (checked below)."""
    cfg_path = os.path.join(path, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    rp = cfg.get("rope_parameters")
    if isinstance(rp, dict) and "rope_theta" in rp and "rope_theta" not in cfg:
        cfg["rope_theta"] = rp["rope_theta"]
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")


def make_tiny(gen):
    results = {}
    for name, seed, cls, config in tiny_specs():
        torch.manual_seed(seed)
        config._attn_implementation = "eager"
        model = cls(config).eval()
        randomise(model, seed)
        if getattr(config, "tie_word_embeddings", False) and \
                model.get_output_embeddings() is not None:
            model.tie_weights()
            assert model.get_output_embeddings().weight.data_ptr() == \
                model.get_input_embeddings().weight.data_ptr()
        out_dir = os.path.join(HERE, name)
        os.makedirs(out_dir, exist_ok=True)
        model.save_pretrained(out_dir, safe_serialization=True)
        fix_config_json(out_dir)
        size = dir_size(out_dir)
        assert size < 300_000, f"{name} is {size} bytes"

        is_bert = cls.__name__ == "BertModel"
        rng = np.random.RandomState(seed)
        vocab = config.vocab_size
        cases = []
        for i, n in enumerate(CASE_LENGTHS):
            case = {"ids": [int(v) for v in rng.randint(0, vocab, size=n)]}
            if is_bert:
                mask = [1] * n
                if i == len(CASE_LENGTHS) - 1:
                    mask = [1] * (n - BERT_PAD) + [0] * BERT_PAD
                case["attention_mask"] = mask
            out, pooled = run_tiny(model, is_bert, case)
            if is_bert:
                case["last_hidden"] = rlist(out)
                case["pooled_mean_l2"] = rlist(pooled)
            else:
                case["logits"] = rlist(out)
                std = float(np.std(out, axis=-1).mean())
                assert std > 0.3, f"{name}: logits too flat (std {std})"
            cases.append(case)
        doc = {"model": name, "dtype": "float32", "generator": gen,
               "config": {k: v for k, v in config.to_dict().items()
                          if k in ("model_type", "vocab_size", "hidden_size", "n_embd",
                                   "intermediate_size", "num_hidden_layers", "n_layer",
                                   "num_attention_heads", "n_head", "num_key_value_heads",
                                   "rope_parameters", "rms_norm_eps", "layer_norm_eps",
                                   "layer_norm_epsilon", "tie_word_embeddings",
                                   "hidden_act", "activation_function")},
               "cases": cases}
        write_json(name + ".json", doc)
        print(f"  {name}/ is {size} bytes")
        results[name] = (cls, is_bert, model)
    return results


# ---------------------------------------------------------------------------------------------
# independent NumPy forward passes (verification of the tiny models from the files alone)

def np_load(dir_):
    from safetensors.numpy import load_file
    with open(os.path.join(dir_, "config.json")) as f:
        cfg = json.load(f)
    return cfg, load_file(os.path.join(dir_, "model.safetensors"))


def np_softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def np_layernorm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_llama(dir_, ids):
    """Llama / Qwen2: RMSNorm, RoPE with rotate_half (first half / second half pairs), GQA,
    SwiGLU, optional q/k/v bias (Qwen2), lm_head or tied embeddings."""
    cfg, w = np_load(dir_)
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // nh
    theta, eps = cfg["rope_theta"], cfg["rms_norm_eps"]
    T = len(ids)
    rms = lambda x, g: x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g
    inv = 1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.arange(T)[:, None] * inv[None, :]
    cos = np.cos(np.concatenate([ang, ang], -1))
    sin = np.sin(np.concatenate([ang, ang], -1))

    def rope(x):  # x [heads, T, hd]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + np.concatenate([-x2, x1], -1) * sin

    x = w["model.embed_tokens.weight"][ids].astype(np.float64)
    causal = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        lin = lambda v, n: v @ w[p + n + ".weight"].T + w.get(p + n + ".bias", 0.0)
        h = rms(x, w[p + "input_layernorm.weight"])
        q = lin(h, "self_attn.q_proj").reshape(T, nh, hd).transpose(1, 0, 2)
        k = lin(h, "self_attn.k_proj").reshape(T, nkv, hd).transpose(1, 0, 2)
        v = lin(h, "self_attn.v_proj").reshape(T, nkv, hd).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        rep = nh // nkv
        k, v = np.repeat(k, rep, 0), np.repeat(v, rep, 0)
        a = np_softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd) + causal) @ v
        x = x + lin(a.transpose(1, 0, 2).reshape(T, nh * hd), "self_attn.o_proj")
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        g = lin(h, "mlp.gate_proj")
        x = x + lin(g / (1 + np.exp(-g)) * lin(h, "mlp.up_proj"), "mlp.down_proj")
    x = rms(x, w["model.norm.weight"])
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T


def np_gpt2(dir_, ids):
    """GPT-2: learned positions, pre-LayerNorm, Conv1D weights stored [in, out], gelu_new."""
    cfg, w = np_load(dir_)
    H, nh, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd, T = H // nh, len(ids)
    gelu = lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    x = (w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:T]).astype(np.float64)
    causal = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        conv = lambda v, n: v @ w[p + n + ".weight"] + w[p + n + ".bias"]
        h = np_layernorm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        q, k, v = np.split(conv(h, "attn.c_attn"), 3, -1)
        q, k, v = (t.reshape(T, nh, hd).transpose(1, 0, 2) for t in (q, k, v))
        a = np_softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd) + causal) @ v
        x = x + conv(a.transpose(1, 0, 2).reshape(T, H), "attn.c_proj")
        h = np_layernorm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + conv(gelu(conv(h, "mlp.c_fc")), "mlp.c_proj")
    x = np_layernorm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    return x @ w.get("lm_head.weight", w["transformer.wte.weight"]).T


def np_bert(dir_, ids, mask, prefix=""):
    """BERT encoder: word + position + token-type(0) embeddings, post-LayerNorm, erf GELU;
    masked keys get -inf. Returns last_hidden [T,H]."""
    cfg, w = np_load(dir_)
    if prefix == "" and "embeddings.word_embeddings.weight" not in w:
        prefix = "bert."
    P = prefix
    H, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd, T = H // nh, len(ids)
    erf = np.vectorize(math.erf)
    gelu = lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2)))
    e = P + "embeddings."
    x = (w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][:T]
         + w[e + "token_type_embeddings.weight"][0]).astype(np.float64)
    x = np_layernorm(x, w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"], eps)
    keymask = np.where(np.asarray(mask)[None, None, :] > 0, 0.0, -np.inf)
    for l in range(cfg["num_hidden_layers"]):
        p = f"{P}encoder.layer.{l}."
        lin = lambda v, n: v @ w[p + n + ".weight"].T + w[p + n + ".bias"]
        q, k, v = (lin(x, "attention.self." + n).reshape(T, nh, hd).transpose(1, 0, 2)
                   for n in ("query", "key", "value"))
        a = np_softmax(q @ k.transpose(0, 2, 1) / math.sqrt(hd) + keymask) @ v
        x = np_layernorm(x + lin(a.transpose(1, 0, 2).reshape(T, H), "attention.output.dense"),
                         w[p + "attention.output.LayerNorm.weight"],
                         w[p + "attention.output.LayerNorm.bias"], eps)
        f = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
        x = np_layernorm(x + f, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                         eps)
    return x


def np_pool(hidden, mask):
    m = np.asarray(mask, dtype=np.float64)[:, None]
    v = (hidden * m).sum(0) / max(m.sum(), 1e-9)
    return v / max(np.linalg.norm(v), 1e-12)


def close(a, b, rtol, atol, what):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    err = np.abs(a - b) - (atol + rtol * np.abs(b))
    if err.max() > 0:
        raise AssertionError(f"{what}: max abs diff {np.abs(a - b).max():.3g}")
    return float(np.abs(a - b).max())


def verify_tiny(results):
    for name, (cls, is_bert, original) in results.items():
        d = os.path.join(HERE, name)
        with open(os.path.join(HERE, name + ".json")) as f:
            doc = json.load(f)
        reloaded = cls.from_pretrained(d, attn_implementation="eager").eval()
        # the added top-level "rope_theta" must not change what transformers reads
        assert reloaded.config.to_dict().get("rope_parameters") == \
            original.config.to_dict().get("rope_parameters"), f"{name} rope_parameters"
        worst_hf, worst_np = 0.0, 0.0
        for c in doc["cases"]:
            out, pooled = run_tiny(reloaded, is_bert, c)
            key = "last_hidden" if is_bert else "logits"
            worst_hf = max(worst_hf, close(out, c[key], 2e-6, 1e-6, f"{name} reload {key}"))
            if is_bert:
                close(pooled, c["pooled_mean_l2"], 2e-6, 1e-6, f"{name} reload pooled")
                ref = np_bert(d, c["ids"], c["attention_mask"])
                worst_np = max(worst_np, close(ref, c[key], 1e-4, 1e-5, f"{name} numpy"))
                close(np_pool(ref, c["attention_mask"]), c["pooled_mean_l2"], 1e-4, 1e-5,
                      f"{name} numpy pooled")
                n = sum(c["attention_mask"])
                if n < len(c["ids"]):  # padding == running only the unpadded prefix
                    pre = np_bert(d, c["ids"][:n], [1] * n)
                    close(pre, np.asarray(c[key])[:n], 1e-4, 1e-5, f"{name} pad prefix")
            else:
                ref = (np_gpt2 if "gpt2" in name else np_llama)(d, c["ids"])
                worst_np = max(worst_np, close(ref, c[key], 1e-4, 1e-5, f"{name} numpy"))
        print(f"verified {name}: reload max diff {worst_hf:.2g}, numpy max diff {worst_np:.2g}")


# ---------------------------------------------------------------------------------------------
# real models

SMOL_PROMPTS = ["The capital of France is", "The Eiffel Tower is located in",
                "Who wrote Hamlet? The answer is", "1 2 3 4 5", "Paris is the capital of",
                "The quick brown fox"]
GREEDY_STEPS = 8
TOP_K = 20


def load_smollm2():
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(SMOL_DIR, gguf_file=SMOL_GGUF)
    model = AutoModelForCausalLM.from_pretrained(SMOL_DIR, gguf_file=SMOL_GGUF,
                                                 dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    return tok, model


def make_smollm2(gen, tok, model):
    assert not getattr(tok, "add_bos_token", False), "SmolLM2 tokenizer unexpectedly adds BOS"
    cases = []
    for text in SMOL_PROMPTS:
        ids = tok(text).input_ids
        assert ids and ids[0] != tok.bos_token_id, f"BOS prepended for {text!r}"
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0].double().numpy()
        last = logits[-1]
        top = np.argsort(-last, kind="stable")[:TOP_K]
        # greedy: full recompute each step (no KV cache), argmax, never stops early at EOS
        seq, gaps = list(ids), []
        for _ in range(GREEDY_STEPS):
            with torch.no_grad():
                step = model(input_ids=torch.tensor([seq])).logits[0, -1].double().numpy()
            s = np.sort(step)
            gaps.append(r7(s[-1] - s[-2]))
            seq.append(int(np.argmax(step)))
        greedy = seq[len(ids):]
        cases.append({
            "text": text, "ids": [int(i) for i in ids],
            "last_top": [[int(i), r7(last[i])] for i in top],
            "last_logits_sum": r10(last.sum()),
            "last_logits_l2": r10(np.sqrt((last * last).sum())),
            "top1": [int(i) for i in logits.argmax(-1)],
            "greedy_ids": greedy,
            "greedy_text": tok.decode(greedy),
            "greedy_top2_gap": gaps,
        })
        print(f"  {text!r} -> {tok.decode(greedy)!r}")
    write_json("smollm2.json", {
        "model": "SmolLM2-135M-Instruct", "gguf_file": SMOL_GGUF,
        "gguf_sha256": sha256_file(os.path.join(SMOL_DIR, SMOL_GGUF)),
        "dtype": "float32", "bos_prepended": False, "generator": gen, "cases": cases})


GGUF_TENSORS = [("token_embd.weight", "model.embed_tokens.weight"),
                ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
                ("blk.0.attn_k.weight", "model.layers.0.self_attn.k_proj.weight"),
                ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"),
                ("output_norm.weight", "model.norm.weight")]


def llama_cpp_permute(w, n_head):
    """What convert_hf_to_gguf.py does to q/k (HF rotate_half layout -> interleaved pairs)."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
             .swapaxes(1, 2).reshape(w.shape))


def make_gguf_tensors(gen, model):
    import gguf
    path = os.path.join(SMOL_DIR, SMOL_GGUF)
    reader = gguf.GGUFReader(path)
    by_name = {t.name: t for t in reader.tensors}
    n_head = int(reader.fields["llama.attention.head_count"].contents())
    n_head_kv = int(reader.fields["llama.attention.head_count_kv"].contents())
    state = dict(model.state_dict())
    out = []
    for gname, hname in GGUF_TENSORS:
        t = by_name[gname]
        deq = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
        ne = [int(v) for v in t.shape]
        assert deq.size == int(np.prod(ne)), gname
        flat = deq.reshape(-1).astype(np.float64)
        hf = state[hname].detach().float().numpy()
        hflat = hf.reshape(-1).astype(np.float64)
        # ggml ne = [ne0 (fastest), ne1, ...] == reversed numpy / HF shape
        assert list(hf.shape) == ne[::-1], f"{hname} shape {hf.shape} vs ggml {ne}"
        mat = deq.reshape(ne[::-1])
        if gname.endswith("attn_q.weight"):
            assert np.array_equal(llama_cpp_permute(hf, n_head), mat), "q un-permute"
        elif gname.endswith("attn_k.weight"):
            assert np.array_equal(llama_cpp_permute(hf, n_head_kv), mat), "k un-permute"
        else:
            assert np.array_equal(hf, mat), f"{hname} differs from GGUF"
        assert abs(hflat.sum() - flat.sum()) <= 1e-9 * max(1.0, (flat * flat).sum())
        entry = {
            "name": gname, "type": t.tensor_type.name, "shape": ne,
            "first16": rlist(flat[:16]),
            "sum": r10(flat.sum()), "sumsq": r10((flat * flat).sum()),
            "hf": {
                "name": hname, "shape": list(hf.shape),
                "row0_first16": rlist(hf[0][:16] if hf.ndim > 1 else hf[:16]),
                "row1_first16": rlist(hf[1][:16]) if hf.ndim > 1 else None,
                "sum": r10(hflat.sum()), "sumsq": r10((hflat * hflat).sum()),
            },
        }
        out.append(entry)
        print(f"  {gname} {entry['type']} {ne} -> {hname} {list(hf.shape)}")
    write_json("gguf-tensors.json", {
        "gguf_file": SMOL_GGUF, "gguf_sha256": sha256_file(path),
        "n_head": n_head, "n_head_kv": n_head_kv, "generator": gen, "tensors": out})


MINILM_SENTENCES = [
    "The cat sits on the mat.",
    "Hello, world!",
    "Café, naïve résumé — déjà vu à Zürich.",
    "What's the time? It's 3:45 p.m. (roughly), isn't it?!",
    "",
    "Paris is the capital of France.",
    "e-mail: someone@example.com; price $1,299.99 #deal 100%",
    ("In the early hours of a cold winter morning, long before the first trains began to "
     "run, the old lighthouse keeper climbed the narrow spiral staircase one last time, "
     "carrying a small brass lamp, a notebook full of careful observations about the sea, "
     "and the quiet certainty that someone, somewhere, would one day read every word he "
     "had written."),
]


def make_minilm(gen):
    from transformers import AutoTokenizer, BertModel
    tok = AutoTokenizer.from_pretrained(MINILM_DIR)
    model = BertModel.from_pretrained(MINILM_DIR, dtype=torch.float32,
                                      attn_implementation="eager").eval()
    assert len(MINILM_SENTENCES[-1].split()) > 40
    cases = []
    for text in MINILM_SENTENCES:
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            h = model(**enc).last_hidden_state
        emb = mean_pool_l2(h, enc["attention_mask"])[0].numpy()
        ids = [int(i) for i in enc["input_ids"][0]]
        # the same from the independent NumPy encoder
        ref = np_pool(np_bert(MINILM_DIR, ids, [1] * len(ids)), [1] * len(ids))
        close(ref, emb, 1e-4, 1e-5, f"minilm numpy {text!r}")
        cases.append({"text": text, "ids": ids, "tokens": tok.convert_ids_to_tokens(ids),
                      "embedding": rlist(emb)})
        print(f"  {len(ids):3d} tokens: {text[:40]!r}")
    write_json("minilm.json", {
        "model": "all-MiniLM-L6-v2", "dtype": "float32", "pooling": "mean_l2",
        "sha256": {n: sha256_file(os.path.join(MINILM_DIR, n))
                   for n in ("model.safetensors", "vocab.txt", "tokenizer.json")},
        "generator": gen, "cases": cases})


# ---------------------------------------------------------------------------------------------

def main():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    gen = generator_info()
    print("generator:", gen)

    results = make_tiny(gen)
    verify_tiny(results)

    if os.path.isfile(os.path.join(SMOL_DIR, SMOL_GGUF)):
        tok, model = load_smollm2()
        make_smollm2(gen, tok, model)
        make_gguf_tensors(gen, model)
        del model
    else:
        print(f"SKIP smollm2.json, gguf-tensors.json: {SMOL_DIR}/{SMOL_GGUF} not found "
              "(fetch the model assets first)")

    if os.path.isfile(os.path.join(MINILM_DIR, "model.safetensors")):
        make_minilm(gen)
    else:
        print(f"SKIP minilm.json: {MINILM_DIR}/model.safetensors not found "
              "(fetch the model assets first)")

    total = sum(os.path.getsize(os.path.join(HERE, n)) for n in os.listdir(HERE)
                if n.endswith(".json"))
    print(f"total JSON size {total} bytes")
    assert total < 3_000_000


if __name__ == "__main__":
    sys.exit(main())
