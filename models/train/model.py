"""The band model in PyTorch: the twin of the C++ engine (docs/model-format.md, "The computation").

Module names are the weight file's tensor names (tok_embedding, layers.N.wq, ..., final_norm,
output), so export.py writes state_dict entries in file order without a mapping table.

    config = ModelConfig(n_vocab=400)
    model = BandModel(config)
    logits = model(tokens)                   # tokens [batch, time] int64 -> [batch, time, n_vocab]
    logits = model(tokens, start_position=p) # the same tokens placed at positions p, p+1, ...
"""
import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclasses.dataclass
class ModelConfig:
    """Mirrors models/engine/model_config.h; the defaults are the bundled model's shape."""
    n_vocab: int = 400
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 8
    n_kv_heads: int = 2
    d_ff: int = 704
    attention_window: int = 512
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tied_output: bool = False
    full_band: bool = False  # drums beside pitched parts in training (a header flag, no math)

    @property
    def head_dim(self):
        return self.d_model // self.n_heads

    @property
    def kv_dim(self):
        return self.n_kv_heads * self.head_dim


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary_cos_sin(config, positions):
    """cos and sin [time, head_dim/2] for absolute positions, computed in float64 and rounded
    to float32, exactly as the engine does (float32 angles go wrong after ~1e5 tokens)."""
    half = config.head_dim // 2
    theta = float(torch.tensor(config.rope_theta, dtype=torch.float32))  # the file's float32
    inv_freq = torch.tensor([theta ** (-2.0 * i / config.head_dim) for i in range(half)],
                            dtype=torch.float64)
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    return torch.cos(angles).float(), torch.sin(angles).float()


def rotate(x, cos, sin):
    """Rotates pairs (i, i + head_dim/2) of x [batch, heads, time, head_dim]."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def window_mask(n_time, window, device):
    """True where query i may read key j: j <= i and i - j < window."""
    i = torch.arange(n_time, device=device)[:, None]
    j = torch.arange(n_time, device=device)[None, :]
    return (j <= i) & (i - j < window)


class Block(nn.Module):
    def __init__(self, c, dropout=0.0):
        super().__init__()
        self.c = c
        # Residual dropout (training only; eval() and the engine compute without it).
        self.drop = nn.Dropout(dropout)
        self.attn_norm = RMSNorm(c.d_model, c.norm_eps)
        self.wq = nn.Linear(c.d_model, c.d_model, bias=False)
        self.wk = nn.Linear(c.d_model, c.kv_dim, bias=False)
        self.wv = nn.Linear(c.d_model, c.kv_dim, bias=False)
        self.wo = nn.Linear(c.d_model, c.d_model, bias=False)
        self.ffn_norm = RMSNorm(c.d_model, c.norm_eps)
        self.w_gate = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.w_up = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.w_down = nn.Linear(c.d_ff, c.d_model, bias=False)

    def attention(self, h, cos, sin, mask):
        c = self.c
        b, t, _ = h.shape
        q = self.wq(h).view(b, t, c.n_heads, c.head_dim).transpose(1, 2)
        k = self.wk(h).view(b, t, c.n_kv_heads, c.head_dim).transpose(1, 2)
        v = self.wv(h).view(b, t, c.n_kv_heads, c.head_dim).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        # Query head j reads kv head j // (n_heads / n_kv_heads).
        group = c.n_heads // c.n_kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        if h.is_cuda and hasattr(F, "scaled_dot_product_attention"):
            # The same product through PyTorch's fused kernel (GPU training: never materialises
            # the [time, time] scores). The CPU reference below is what parity tests run.
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.wo(a.transpose(1, 2).reshape(b, t, c.d_model))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(c.head_dim)
        scores = scores.masked_fill(~mask, float("-inf"))
        a = F.softmax(scores.float(), dim=-1).to(v.dtype) @ v
        return self.wo(a.transpose(1, 2).reshape(b, t, c.d_model))

    def forward(self, x, cos, sin, mask):
        x = x + self.drop(self.attention(self.attn_norm(x), cos, sin, mask))
        h = self.ffn_norm(x)
        return x + self.drop(self.w_down(F.silu(self.w_gate(h)) * self.w_up(h)))


class BandModel(nn.Module):
    """`dropout` (residual and embedding dropout while training) is not part of the exported
    config: the engine, like eval(), computes without it."""

    def __init__(self, config, dropout=0.0):
        super().__init__()
        self.config = config
        self.tok_embedding = nn.Embedding(config.n_vocab, config.d_model)
        self.embedding_drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(Block(config, dropout) for _ in range(config.n_layers))
        self.final_norm = RMSNorm(config.d_model, config.norm_eps)
        self.output = nn.Linear(config.d_model, config.n_vocab, bias=False)
        if config.tied_output:
            self.output.weight = self.tok_embedding.weight
        self.apply(self._init)

    @staticmethod
    def _init(module):
        # Fan-in scaled normal, as the engine's random_weight_file and small GPT-style models.
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=module.in_features ** -0.5)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=module.embedding_dim ** -0.5)

    def forward(self, tokens, start_position=0):
        c = self.config
        t = tokens.shape[1]
        positions = torch.arange(start_position, start_position + t)
        cos, sin = rotary_cos_sin(c, positions)
        cos, sin = cos.to(tokens.device), sin.to(tokens.device)
        mask = window_mask(t, c.attention_window, tokens.device)
        x = self.embedding_drop(self.tok_embedding(tokens))
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.output(self.final_norm(x))
