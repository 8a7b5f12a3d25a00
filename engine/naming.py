"""The one sanitizer that turns user-supplied names into safe Python identifiers.

Node ids become attribute and variable names in generated PyTorch code, so every id passes
through here: lower-case ASCII letters, digits and underscores, not starting with a digit or
underscore, not a Python keyword, and not a name that an nn.Module or the generated code
already uses.
"""

from __future__ import annotations

import keyword
import re

MAX_LEN = 48

# Attributes of torch.fx.GraphModule / nn.Module (generated once from dir()), plus names the
# generated code itself uses. A node id equal to one of these would shadow it.
RESERVED = frozenset(["add_module", "add_submodule", "apply", "bfloat16", "buffers", "call_super_init", "children", "code", "compile", "cpu", "cuda", "delete_all_unused_submodules", "delete_submodule", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "graph", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "parameters", "print_readable", "recompile", "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook", "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "to_folder", "train", "type", "xpu", "zero_grad", "training", "self", "torch", "nn", "math", "operator", "load", "model", "inputs", "outputs", "output", "input", "super", "none", "true", "false"])

_VALID = re.compile(r"^[a-z][a-z0-9_]*$")


def is_valid_id(name: object) -> bool:
    return (
        isinstance(name, str)
        and len(name) <= MAX_LEN
        and bool(_VALID.match(name))
        and not keyword.iskeyword(name)
        and name not in RESERVED
    )


def id_problem(name: object) -> str | None:
    """Why ``name`` cannot be a node id, or None when it can."""
    if is_valid_id(name):
        return None
    if not isinstance(name, str) or not name:
        return "an id must be a non-empty name"
    if len(name) > MAX_LEN:
        return f"id {name[:20]!r}... is longer than {MAX_LEN} characters"
    if keyword.iskeyword(name) or name in RESERVED:
        return f"id {name!r} is a reserved word in the generated code: choose another name"
    return f"id {name!r} must use lower-case letters, digits and _ and start with a letter"


def make_identifier(text: str, taken: set[str] | frozenset[str] = frozenset(), fallback: str = "node") -> str:
    """Turn any text into a valid id not in ``taken`` (suffixes _2, _3... when needed)."""
    s = text.strip().lower()
    s = re.sub(r"[^a-z0-9]+", "_", s.encode("ascii", "ignore").decode()).strip("_")
    s = re.sub(r"_+", "_", s)[:MAX_LEN - 4].rstrip("_")
    if not s or not s[0].isalpha():
        s = f"{fallback}_{s}" if s else fallback
    if keyword.iskeyword(s) or s in RESERVED:
        s = f"{s}_1"
    base, n = s, 1
    while s in taken:
        n += 1
        s = f"{base}_{n}"
    return s
