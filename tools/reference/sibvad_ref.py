"""sibvad_ref.py: the PyTorch reference ("twin") of the SIB-VAD model.

It computes exactly what ../../shared/spec/model.md describes, with the parameter names of
spec section 9, so that the C core (sibvad-core) can be checked against it tensor by tensor.
The presets mirror sibvad-core/config.c field for field (keys = C struct field names).

Use as a library (from tools/reference, with Debian's /usr/bin/python3 and torch):

    from sibvad_ref import SIBVAD, preset
    model = SIBVAD(preset("tiny"))
    out = model(frames, target, sem)   # dict: every intermediate and the losses

Shapes: B batch, T frames_in, C channels, p patch, gh x gw patch grid, Np = gh*gw,
N1 = Np + 1 (CLS), N2 = Np + 2 (semantic, CLS), W bb_width, D d_model, Dm mo_width.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Configuration: sibvad_config.py (torch-free), re-exported here.
from sibvad_config import (CONFIG_KEYS, FLOAT_KEYS, INT_KEYS, _PRESETS, _common_defaults,  # noqa: E402,F401
                           load_config, preset, presets, validate)


# --------------------------------------------------------------------------------------------
# Fixed 2-D sin-cos position embedding (MAE's get_2d_sincos_pos_embed on a gh x gw grid)

def _sincos_1d(dim, pos):
    """pos: float64 [M] -> [M, dim]: sin(pos*omega) then cos(pos*omega), omega_k = 10000^(-2k/dim)."""
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = np.einsum("m,d->md", pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, gh, gw, extra_zero_rows):
    """[1, extra + gh*gw, dim] float32; token r*gw + c: first dim/2 from column c, last dim/2 from row r."""
    rows, cols = np.meshgrid(np.arange(gh, dtype=np.float64), np.arange(gw, dtype=np.float64),
                             indexing="ij")
    emb = np.concatenate([_sincos_1d(dim // 2, cols.reshape(-1)),
                          _sincos_1d(dim // 2, rows.reshape(-1))], axis=1)
    emb = np.concatenate([np.zeros((extra_zero_rows, dim)), emb], axis=0)
    return torch.from_numpy(emb.astype(np.float32)).unsqueeze(0)


# --------------------------------------------------------------------------------------------
# Building blocks

class Attention(nn.Module):
    """Self-attention with a fused qkv projection, laid out (B, N, 3, H, dh) as in timm."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                                    # (B, H, N, dh)
        a = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm ViT block; with layerscale the InternViT form (ls1, ls2 vectors)."""

    def __init__(self, dim, heads, mlp_hidden, eps=1e-5, layerscale=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp_hidden)
        if layerscale:
            self.ls1 = nn.Parameter(torch.ones(dim))
            self.ls2 = nn.Parameter(torch.ones(dim))
        else:
            self.ls1 = self.ls2 = None

    def forward(self, x):
        a = self.attn(self.norm1(x))
        x = x + (a if self.ls1 is None else self.ls1 * a)
        m = self.mlp(self.norm2(x))
        return x + (m if self.ls2 is None else self.ls2 * m)


def patchify_tokens(conv, x):
    """(B, C, H, W) -> (B, Np, width) conv patch tokens in row-major patch order."""
    return conv(x).flatten(2).transpose(1, 2)


# --------------------------------------------------------------------------------------------
# Streams

class VisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        W, p = c["bb_width"], c["patch"]
        n1 = (c["img_h"] // p) * (c["img_w"] // p) + 1
        self.class_embedding = nn.Parameter(torch.zeros(1, 1, W))
        self.patch_embedding = nn.Conv2d(c["channels"], W, kernel_size=p, stride=p)
        self.position_embedding = nn.Parameter(torch.zeros(1, n1, W))

    def forward(self, x):
        t = patchify_tokens(self.patch_embedding, x)
        cls = self.class_embedding.expand(t.shape[0], -1, -1)
        return torch.cat([cls, t], dim=1) + self.position_embedding


class VisionEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(
            Block(c["bb_width"], c["bb_heads"], c["bb_mlp"], eps=c["bb_ln_eps"],
                  layerscale=bool(c["bb_layerscale"]))
            for _ in range(c["bb_depth"]))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class VisionModel(nn.Module):
    """The appearance backbone (InternViT block type), named as in InternVL checkpoints."""

    def __init__(self, c):
        super().__init__()
        self.embeddings = VisionEmbeddings(c)
        self.encoder = VisionEncoder(c)


class PatchEmbed(nn.Module):
    def __init__(self, channels, width, patch):
        super().__init__()
        self.proj = nn.Conv2d(channels, width, kernel_size=patch, stride=patch)

    def forward(self, x):
        return patchify_tokens(self.proj, x)


class MotionEncoder(nn.Module):
    """Shared encoder of the frame differences: patch conv, CLS, fixed sin-cos, ViT blocks."""

    def __init__(self, c):
        super().__init__()
        Dm, p = c["mo_width"], c["patch"]
        gh, gw = c["img_h"] // p, c["img_w"] // p
        self.patch_emb = PatchEmbed(c["channels"], Dm, p)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, Dm))
        self.register_buffer("motion_pos_embed", sincos_2d(Dm, gh, gw, 1))
        self.encoder_blocks = nn.ModuleList(
            Block(Dm, c["mo_heads"], Dm * c["mo_mlp_ratio"]) for _ in range(c["mo_depth"]))

    def forward(self, x):
        t = self.patch_emb(x)
        h = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + self.motion_pos_embed
        for blk in self.encoder_blocks:
            h = blk(h)
        return h


# --------------------------------------------------------------------------------------------
# Joint cross-attention fusion

class JointCrossAttention(nn.Module):
    """q from x; keys/values from y (semantic) then z (motion), separate projections."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.to_q = nn.Linear(dim, dim)
        self.to_k_y = nn.Linear(dim, dim)
        self.to_v_y = nn.Linear(dim, dim)
        self.to_k_z = nn.Linear(dim, dim)
        self.to_v_z = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x, y, z):
        B, N, C = x.shape
        H, dh = self.heads, C // self.heads

        def heads(t):
            return t.reshape(B, t.shape[1], H, dh).transpose(1, 2)  # (B, H, n, dh)

        q = heads(self.to_q(x))
        k = heads(torch.cat([self.to_k_y(y), self.to_k_z(z)], dim=1))
        v = heads(torch.cat([self.to_v_y(y), self.to_v_z(z)], dim=1))
        a = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.out_proj((a @ v).transpose(1, 2).reshape(B, N, C))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(hidden, dim))

    def forward(self, x):
        return self.net(x)


class FusionBlock(nn.Module):
    def __init__(self, dim, heads, ffn_ratio):
        super().__init__()
        self.ln_attn = nn.LayerNorm(dim)
        self.ln_y = nn.LayerNorm(dim)
        self.ln_z = nn.LayerNorm(dim)
        self.attn = JointCrossAttention(dim, heads)
        self.ln_ff = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, dim * ffn_ratio)


class JointCrossAttentionFusion(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, n = c["d_model"], c["fu_depth"]
        self.blocks = nn.ModuleList(FusionBlock(D, c["fu_heads"], c["fu_ffn_ratio"]) for _ in range(n))
        self.attn_gammas = nn.ParameterList(nn.Parameter(torch.zeros(1)) for _ in range(n))
        self.ff_gammas = nn.ParameterList(nn.Parameter(torch.zeros(1)) for _ in range(n))

    def forward(self, x, y, z):
        """x visual (B, N1, D), y semantic (B, 1, D), z motion (B, N1, D); y, z are not updated."""
        for blk, ga, gf in zip(self.blocks, self.attn_gammas, self.ff_gammas):
            x = x + ga * blk.attn(blk.ln_attn(x), blk.ln_y(y), blk.ln_z(z))
            x = x + gf * blk.ff(blk.ln_ff(x))
        return x


# --------------------------------------------------------------------------------------------
# SFFM (sparse feature filtering module)

class Filter(nn.Module):
    """LayerNorm -> Linear D->b -> SiLU -> Linear b->D."""

    def __init__(self, dim, bottleneck):
        super().__init__()
        self.pre_norm = nn.LayerNorm(dim)
        self.down_proj = nn.Linear(dim, bottleneck)
        self.up_proj = nn.Linear(bottleneck, dim)

    def forward(self, x):
        return self.up_proj(F.silu(self.down_proj(self.pre_norm(x))))


class SFFM(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["d_model"]
        self.nr, self.k = c["sffm_nr"], c["sffm_k"]
        self.scale, self.alpha = c["sffm_scale"], c["sffm_alpha"]
        self.gate = nn.Linear(D, self.nr, bias=False)
        self.experts = nn.ModuleList(Filter(D, c["sffm_b"]) for _ in range(self.nr))
        self.shared_experts = Filter(D, c["sffm_b"] * c["sffm_ns"]) if c["sffm_ns"] > 0 else None

    def forward(self, x):
        """x (B, N, D) -> (y (B, N, D), balance loss, scores (B*N, nr), top-K indices (B*N, K)).

        Sparse dispatch: the (token, slot) pairs are grouped by filter; each filter that has
        tokens runs once on its gathered rows and adds its weighted output back (index_add_)."""
        B, N, D = x.shape
        xt = x.reshape(B * N, D)
        s = torch.softmax(self.gate(xt), dim=-1)                     # (B*N, nr)
        topv, topi = torch.topk(s, self.k, dim=-1)                   # (B*N, K), descending
        w = topv / topv.sum(dim=-1, keepdim=True) * self.scale

        flat_e = topi.reshape(-1)                                    # (B*N*K,) filter of each pair
        flat_w = w.reshape(-1)
        sorted_e, order = torch.sort(flat_e, stable=True)
        counts = torch.bincount(sorted_e, minlength=self.nr).tolist()
        y = torch.zeros_like(xt)
        start = 0
        for e, n in enumerate(counts):
            if n == 0:
                continue
            pairs = order[start:start + n]
            tok = pairs // self.k
            y.index_add_(0, tok, self.experts[e](xt[tok]) * flat_w[pairs].unsqueeze(-1))
            start += n
        if self.shared_experts is not None:
            y = y + self.shared_experts(xt)

        # Sequence-wise balance loss (per sample over its N tokens); only P carries gradient.
        with torch.no_grad():
            hits = torch.zeros(B, self.nr, dtype=s.dtype, device=s.device)
            hits.scatter_add_(1, topi.reshape(B, N * self.k), torch.ones(B, N * self.k, dtype=s.dtype,
                                                                          device=s.device))
            f = hits * (self.nr / (self.k * N))
        P = s.reshape(B, N, self.nr).mean(dim=1)
        bal = self.alpha * (f * P).sum(dim=-1).mean()
        return y.reshape(B, N, D), bal, s, topi


# --------------------------------------------------------------------------------------------
# Decoder

class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, p, C = c["d_model"], c["patch"], c["channels"]
        gh, gw = c["img_h"] // p, c["img_w"] // p
        self.rgb_project = nn.Sequential(nn.Linear(2 * D, c["rgb_hidden"]), nn.GELU(),
                                         nn.Linear(c["rgb_hidden"], D))
        self.register_buffer("decoder_pos_embed", sincos_2d(D, gh, gw, 2))
        self.decoder_blocks = nn.ModuleList(
            Block(D, c["de_heads"], D * c["de_mlp_ratio"]) for _ in range(c["de_depth"]))
        self.moes = nn.ModuleList(SFFM(c) for _ in range(c["de_depth"]))
        self.decoder_norm = nn.LayerNorm(D)
        self.decoder_pred = nn.Linear(2 * D, p * p * C)
        self.final_conv = nn.Sequential(nn.Conv2d(C, C, 3, padding=1), nn.LeakyReLU(0.01),
                                        nn.Conv2d(C, C, 1))
        self.text_recon = nn.Sequential(nn.Linear(D, c["sem_hidden"]), nn.GELU(),
                                        nn.Linear(c["sem_hidden"], c["sem_dim"]))


# --------------------------------------------------------------------------------------------
# The model

class SIBVAD(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = self.cfg = validate(dict(cfg))
        D, T = c["d_model"], c["frames_in"]
        self.vision_model = VisionModel(c)
        self.visual_project = nn.Linear(c["bb_width"], D)
        self.temporal_project = nn.Linear(T * D, D)
        self.patch_emb_project = nn.Linear(c["bb_width"], D)
        self.text_project = nn.Linear(c["sem_dim"], D)
        self.frame_diff_project = nn.Linear((T - 1) * c["mo_width"], D)
        self.motion_encoder = MotionEncoder(c)
        self.joint_cross_attn = JointCrossAttentionFusion(c)
        self.decoder = Decoder(c)
        self.init_weights()
        if c["bb_frozen"]:
            for prm in self.vision_model.parameters():
                prm.requires_grad_(False)

    @torch.no_grad()
    def init_weights(self):
        """Random training init (not part of the parity contract): trunc-normal(0.02) Linear,
        xavier conv, unit LayerNorm, small embeddings, layer scale 0.1, fusion gammas 0, and with
        pred_residual the head's last conv 0 (the prediction starts as the last frame)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight.view(m.weight.shape[0], -1))
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, Block) and m.ls1 is not None:
                m.ls1.fill_(0.1)
                m.ls2.fill_(0.1)
        emb = self.vision_model.embeddings
        nn.init.trunc_normal_(emb.class_embedding, std=0.02)
        nn.init.trunc_normal_(emb.position_embedding, std=0.02)
        nn.init.trunc_normal_(self.motion_encoder.cls_token, std=0.02)
        for g in list(self.joint_cross_attn.attn_gammas) + list(self.joint_cross_attn.ff_gammas):
            g.zero_()
        if self.cfg["pred_residual"]:  # the residual head starts at the copy of the last frame
            self.decoder.final_conv[2].weight.zero_()
            self.decoder.final_conv[2].bias.zero_()

    def unpatchify(self, x):
        """(B, Np, p*p*C) -> (B, C, H, W), MAE layout (p, q, c) inside a patch."""
        c = self.cfg
        p, C = c["patch"], c["channels"]
        gh, gw = c["img_h"] // p, c["img_w"] // p
        x = x.reshape(x.shape[0], gh, gw, p, p, C)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], C, gh * p, gw * p)

    def forward(self, frames, target=None, sem=None):
        """frames (B, T, C, H, W), target (B, C, H, W) or None, sem (B, S) or None.
        Returns a dict: bb_embed, bb_out, visual, skip, motion_enc, motion, semantic, fused, dec_in,
        per decoder layer i dec_block.i, sffm.i, sffm_topk.i (top-K filter indices as float,
        (B*N2, K), best first) and sffm_scores.i (router softmax, (B*N2, sffm_nr)), then dec_norm,
        sem_pred, pred_patches, pred and, with a target, loss_{pred,sem,motion,balance,total}."""
        c = self.cfg
        B, T, C, H, Wi = frames.shape
        D, Dm, W = c["d_model"], c["mo_width"], c["bb_width"]
        out = {}

        # Backbone on every input frame; visual and skip streams.
        emb = self.vision_model.embeddings(frames.reshape(B * T, C, H, Wi))   # (B*T, N1, W)
        N1 = emb.shape[1]
        out["bb_embed"] = emb
        h = out["bb_out"] = self.vision_model.encoder(emb)
        v = self.visual_project(h).view(B, T, N1, D).permute(0, 2, 1, 3).reshape(B, N1, T * D)
        visual = out["visual"] = self.temporal_project(v)
        skip = out["skip"] = self.patch_emb_project(emb.view(B, T, N1, W)[:, T - 1])

        # Motion stream: one encoder shared by the T-1 frame differences.
        diffs = (frames[:, 1:] - frames[:, :-1]).reshape(B * (T - 1), C, H, Wi)
        me = out["motion_enc"] = self.motion_encoder(diffs)                     # (B*(T-1), N1, Dm)
        me = me.view(B, T - 1, N1, Dm).permute(0, 2, 1, 3).reshape(B, N1, (T - 1) * Dm)
        motion = out["motion"] = self.frame_diff_project(me)

        # Semantic stream (zeros when there is no caption embedding).
        sem_in = sem if sem is not None else frames.new_zeros(B, c["sem_dim"])
        semantic = out["semantic"] = self.text_project(sem_in).unsqueeze(1)     # (B, 1, D)

        fused = out["fused"] = self.joint_cross_attn(visual, semantic, motion)

        # Decoder: [semantic, CLS, patches] + fixed position embedding; block, SFFM per layer.
        dec = self.decoder
        h = torch.cat([semantic, dec.rgb_project(torch.cat([fused, motion], dim=-1))], dim=1)
        h = out["dec_in"] = h + dec.decoder_pos_embed                            # (B, N2, D)
        loss_balance = frames.new_zeros(())
        for i, (blk, moe) in enumerate(zip(dec.decoder_blocks, dec.moes)):
            h = out["dec_block.%d" % i] = blk(h)
            h, bal, scores, topi = moe(h)
            out["sffm.%d" % i] = h
            out["sffm_topk.%d" % i] = topi.to(h.dtype)
            out["sffm_scores.%d" % i] = scores
            loss_balance = loss_balance + bal
        hn = out["dec_norm"] = dec.decoder_norm(h)
        out["sem_pred"] = dec.text_recon(hn[:, 0])
        patches = out["pred_patches"] = dec.decoder_pred(torch.cat([hn[:, 2:], skip[:, 1:]], dim=-1))
        pred = dec.final_conv(self.unpatchify(patches))
        if c["pred_residual"]:  # the head predicts the change from the last input frame
            pred = pred + frames[:, T - 1]
        out["pred"] = pred

        if target is not None:
            last = frames[:, T - 1]
            out["loss_pred"] = ((pred - target) ** 2).mean()
            out["loss_motion"] = torch.relu((pred - target) ** 2 - (pred - last) ** 2).mean()
            if sem is not None:
                sp = out["sem_pred"]
                cos = (sp * sem).sum(-1) / (sp.norm(dim=-1).clamp_min(1e-8) * sem.norm(dim=-1).clamp_min(1e-8))
                out["loss_sem"] = (1.0 - cos).mean()
            else:
                out["loss_sem"] = frames.new_zeros(())
            out["loss_balance"] = loss_balance
            out["loss_total"] = (c["w_pred"] * out["loss_pred"] + c["w_sem"] * out["loss_sem"]
                                 + c["w_motion"] * out["loss_motion"] + loss_balance)
        return out


if __name__ == "__main__":
    for name, cfg in presets().items():
        m = SIBVAD(cfg)
        n = sum(p.numel() for p in m.parameters())
        nt = sum(p.numel() for p in m.parameters() if p.requires_grad)
        print("%-6s params %d (trainable %d)" % (name, n, nt))
