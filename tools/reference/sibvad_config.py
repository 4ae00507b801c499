"""sibvad_config.py: the configuration of the SIB-VAD twin, without torch.

Split out of sibvad_ref.py (which re-exports everything here) so that torch-free tools
(tools/convert-pth.py) can use the presets, validate() and load_config()."""
import json


# --------------------------------------------------------------------------------------------
# Configuration (same field names, order and preset values as sibvad-core/config.c)

INT_KEYS = ("img_h", "img_w", "channels", "patch", "frames_in",
            "bb_width", "bb_depth", "bb_heads", "bb_mlp", "bb_layerscale", "bb_frozen",
            "mo_width", "mo_depth", "mo_heads", "mo_mlp_ratio", "d_model",
            "fu_depth", "fu_heads", "fu_ffn_ratio", "de_depth", "de_heads", "de_mlp_ratio",
            "rgb_hidden", "sffm_nr", "sffm_k", "sffm_ns", "sffm_b", "sem_dim", "sem_hidden",
            "pred_residual", "pseudo_skip_min", "pseudo_skip_max")
FLOAT_KEYS = ("bb_ln_eps", "sffm_scale", "sffm_alpha", "w_pred", "w_sem", "w_motion",
              "lr", "beta1", "beta2", "adam_eps", "weight_decay", "pseudo_skip")
# The C struct order, "preset" first.
CONFIG_KEYS = ("preset", "img_h", "img_w", "channels", "patch", "frames_in",
               "bb_width", "bb_depth", "bb_heads", "bb_mlp", "bb_layerscale", "bb_frozen", "bb_ln_eps",
               "mo_width", "mo_depth", "mo_heads", "mo_mlp_ratio", "d_model",
               "fu_depth", "fu_heads", "fu_ffn_ratio", "de_depth", "de_heads", "de_mlp_ratio",
               "rgb_hidden", "sffm_nr", "sffm_k", "sffm_ns", "sffm_b", "sffm_scale", "sffm_alpha",
               "sem_dim", "sem_hidden", "w_pred", "w_sem", "w_motion", "pred_residual",
               "lr", "beta1", "beta2", "adam_eps", "weight_decay",
               "pseudo_skip", "pseudo_skip_min", "pseudo_skip_max")
# Keys added after model files were written without them, and the value such a file means.
LATER_KEYS = {"pred_residual": 0, "pseudo_skip": 0.0, "pseudo_skip_min": 2, "pseudo_skip_max": 4}


def _common_defaults():
    c = {k: 0 for k in CONFIG_KEYS}
    c.update(preset="", frames_in=4, channels=3, bb_ln_eps=1e-6, sffm_scale=2.0, sffm_alpha=0.001,
             w_pred=1.0, w_sem=1.0, w_motion=1.0, lr=2e-4, beta1=0.9, beta2=0.999, adam_eps=1e-8,
             weight_decay=1e-5, pseudo_skip=0.0, pseudo_skip_min=2, pseudo_skip_max=4, sem_dim=768)
    for k in FLOAT_KEYS:
        c[k] = float(c[k])
    return c


_PRESETS = {
    # The spec's numbers exactly: 448x448 RGB, InternViT-300M-shaped frozen backbone.
    "paper": dict(img_h=448, img_w=448, patch=14,
                  bb_width=1024, bb_depth=24, bb_heads=16, bb_mlp=4096, bb_layerscale=1, bb_frozen=1,
                  mo_width=128, mo_depth=4, mo_heads=4, mo_mlp_ratio=2, d_model=256,
                  fu_depth=4, fu_heads=4, fu_ffn_ratio=2, de_depth=4, de_heads=4, de_mlp_ratio=4,
                  rgb_hidden=1024, sffm_nr=63, sffm_k=7, sffm_ns=1, sffm_b=8, sem_hidden=1024),
    # Same architecture, small trainable backbone.
    "lite": dict(img_h=160, img_w=240, patch=16,
                 bb_width=128, bb_depth=2, bb_heads=4, bb_mlp=512, bb_layerscale=0, bb_frozen=0,
                 mo_width=64, mo_depth=2, mo_heads=2, mo_mlp_ratio=2, d_model=128,
                 fu_depth=2, fu_heads=4, fu_ffn_ratio=2, de_depth=2, de_heads=4, de_mlp_ratio=4,
                 rgb_hidden=512, sffm_nr=63, sffm_k=7, sffm_ns=1, sffm_b=8, sem_hidden=128,
                 lr=1e-3, pred_residual=1, weight_decay=0.0, pseudo_skip=0.25),
    # Parity fixtures and gradient checks (larger balance weight so its gradient is visible).
    "tiny": dict(img_h=24, img_w=32, patch=8,
                 bb_width=32, bb_depth=2, bb_heads=2, bb_mlp=64, bb_layerscale=1, bb_frozen=0,
                 mo_width=16, mo_depth=1, mo_heads=2, mo_mlp_ratio=2, d_model=32,
                 fu_depth=2, fu_heads=2, fu_ffn_ratio=2, de_depth=2, de_heads=2, de_mlp_ratio=4,
                 rgb_hidden=64, sffm_nr=7, sffm_k=2, sffm_ns=1, sffm_b=4, sffm_alpha=0.1,
                 sem_dim=24, sem_hidden=32),
}


def preset(name):
    """The config dict of a named preset: "paper", "lite" or "tiny"."""
    if name not in _PRESETS:
        raise ValueError("unknown preset '%s' (known: paper, lite, tiny)" % name)
    c = _common_defaults()
    for k, v in _PRESETS[name].items():
        c[k] = float(v) if k in FLOAT_KEYS else v
    c["preset"] = name
    return c


def presets():
    """All presets, name -> config dict."""
    return {name: preset(name) for name in _PRESETS}


def validate(c):
    """The checks of sibvad_config_validate(); raises ValueError."""
    def need(cond, msg):
        if not cond:
            raise ValueError("config: " + msg)
    need(1 <= c["patch"] <= 64, "patch out of range 1..64")
    need(c["patch"] <= c["img_h"] <= 4096 and c["patch"] <= c["img_w"] <= 4096, "input size out of range")
    need(c["img_h"] % c["patch"] == 0 and c["img_w"] % c["patch"] == 0, "input not a multiple of patch")
    need(c["channels"] in (1, 3), "channels must be 1 or 3")
    need(2 <= c["frames_in"] <= 16, "frames_in out of range 2..16")
    need(c["bb_width"] > 0 and c["bb_depth"] >= 0 and c["bb_heads"] > 0 and c["bb_mlp"] > 0,
         "backbone sizes must be positive")
    need(c["bb_width"] % c["bb_heads"] == 0, "bb_width not divisible by bb_heads")
    need(c["mo_width"] > 0 and c["mo_depth"] >= 0 and c["mo_heads"] > 0 and c["mo_mlp_ratio"] > 0,
         "motion encoder sizes must be positive")
    need(c["mo_width"] % c["mo_heads"] == 0, "mo_width not divisible by mo_heads")
    need(c["mo_width"] % 4 == 0, "mo_width must be a multiple of 4")
    need(c["d_model"] > 0 and c["d_model"] % 4 == 0, "d_model must be a positive multiple of 4")
    need(c["fu_depth"] >= 0 and c["fu_heads"] > 0 and c["fu_ffn_ratio"] > 0, "fusion sizes invalid")
    need(c["d_model"] % c["fu_heads"] == 0, "d_model not divisible by fu_heads")
    need(c["de_depth"] >= 0 and c["de_heads"] > 0 and c["de_mlp_ratio"] > 0, "decoder sizes invalid")
    need(c["d_model"] % c["de_heads"] == 0, "d_model not divisible by de_heads")
    need(c["rgb_hidden"] > 0, "rgb_hidden must be positive")
    need(1 <= c["sffm_nr"] <= 1024, "sffm_nr out of range 1..1024")
    need(1 <= c["sffm_k"] <= c["sffm_nr"], "sffm_k must be in 1..sffm_nr")
    need(c["sffm_ns"] >= 0 and c["sffm_b"] >= 1, "sffm_ns must be >= 0 and sffm_b >= 1")
    need(c["sem_dim"] > 0 and c["sem_hidden"] > 0, "semantic sizes must be positive")
    need(all(c[k] <= 65536 for k in ("bb_width", "bb_mlp", "mo_width", "d_model", "rgb_hidden", "sem_dim",
                                      "sem_hidden", "sffm_b")), "a width is larger than 65536")
    need(all(c[k] <= 256 for k in ("bb_depth", "mo_depth", "fu_depth", "de_depth")), "a depth is larger than 256")
    need(all(c[k] <= 64 for k in ("mo_mlp_ratio", "fu_ffn_ratio", "de_mlp_ratio")),
         "an MLP ratio is larger than 64")
    need(c["sffm_ns"] <= 1024, "sffm_ns out of range 0..1024")
    need(c["bb_ln_eps"] > 0, "bb_ln_eps must be positive")
    need(c["pred_residual"] in (0, 1), "pred_residual must be 0 or 1")
    need(0 <= c["pseudo_skip"] <= 1, "pseudo_skip must be in 0..1")
    need(2 <= c["pseudo_skip_min"] <= c["pseudo_skip_max"] <= 64,
         "pseudo_skip_min and pseudo_skip_max must satisfy 2 <= min <= max <= 64")
    need(c["lr"] >= 0 and 0 <= c["beta1"] < 1 and 0 <= c["beta2"] < 1 and c["adam_eps"] > 0,
         "optimiser settings out of range")
    return c


def load_config(path):
    """A config from a JSON file: the named "preset" (if any) overridden by the file's keys.
    Without a known preset every key must be present. Unknown keys and wrong types are errors
    (as sibvad_config_from_json in sibvad-core/config-json.c), and as there, a key of LATER_KEYS
    missing from a file that holds every other key (written before it existed) means its value
    there ("pred_residual" 0, "pseudo_skip" 0)."""
    with open(path) as f:
        j = json.load(f)
    unknown = sorted(set(j) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError("%s: unknown config keys %s" % (path, unknown))
    missing = [k for k in CONFIG_KEYS if k != "preset" and k not in LATER_KEYS and k not in j]
    if j.get("preset") in _PRESETS:
        c = preset(j["preset"])
    elif missing:
        raise ValueError("%s: no known preset and missing keys %s" % (path, missing))
    else:
        c = _common_defaults()
    for k, v in j.items():
        if k == "preset":
            ok = isinstance(v, str)
        elif k in FLOAT_KEYS:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
            v = float(v)
        else:
            ok = isinstance(v, int) and not isinstance(v, bool)
        if not ok:
            raise ValueError("%s: config key %s has the wrong type (%r)" % (path, k, v))
        c[k] = v
    if not missing:
        for k, v in LATER_KEYS.items():
            if k not in j:
                c[k] = v
    return validate(c)
