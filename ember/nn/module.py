"""``Module``: the base of every layer, with PyTorch's registration and state_dict rules.

Assigning a ``Parameter``, a ``Module`` or (to a registered name) a buffer as
an attribute registers it; ``named_parameters()`` walks the tree in
registration order and gives the dotted names that ``state_dict`` keys,
checkpoints and ONNX initialisers share (``layers.0.weight``).
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import no_grad
from ..errors import CheckpointError
from ..tensor import Tensor
from .parameter import Buffer, Parameter

__all__ = ["Module", "IncompatibleKeys", "StateDictError"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictError(CheckpointError, RuntimeError):
    """A state dict that does not fit the model: lists every missing, unexpected and mis-shaped key."""


class _Handle:
    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = _Handle._next_id
        _Handle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class Module:
    """Base class for all layers and models; subclass it and define ``forward``.

    Example:
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return self.fc(x).relu()
    """

    training: bool

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers"] = set()
        d["_modules"] = {}
        d["_forward_hooks"] = {}
        d["_forward_pre_hooks"] = {}

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...) in the subclass")

    def __call__(self, *args, **kwargs):
        if not self._forward_pre_hooks and not self._forward_hooks:
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    # --------------------------------------------------------------- registration
    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, "_parameters")
            params[name] = value
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign a submodule before Module.__init__() call")
            self._remove_from(name, "_modules")
            d["_modules"][name] = value
        elif isinstance(value, Buffer):
            self._remove_from(name, "_buffers")
            self.register_buffer(name, value, value.persistent)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' (nn.Parameter or None expected)"
                )
            params[name] = None
        elif params is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' (Module or None expected)"
                )
            d["_modules"][name] = None
        elif params is not None and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' (Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _remove_from(self, name: str, keep: str) -> None:
        """Forget ``name`` everywhere but in the registry ``keep``, which the caller assigns to: assigning to an
        existing key keeps its place, so replacing a layer keeps the order of children and state_dict keys."""
        d = self.__dict__
        d.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                d[store].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d[store]:
                del d[store][name]
                d["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        d = self.__dict__
        return sorted(set(super().__dir__()) | set(d["_parameters"]) | set(d["_buffers"]) | set(d["_modules"]))

    def _check_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"{kind} name can't contain '.' or be empty, got {name!r}")
        if (
            hasattr(self, name)
            and name not in self._parameters
            and name not in self._buffers
            and name not in self._modules
        ):
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not a parameter (running statistics); saved in state_dict if persistent."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} as buffer '{name}' (Tensor or None expected)")
        if isinstance(tensor, Buffer):
            tensor = Tensor(tensor.data)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign {type(param).__name__} as parameter '{name}' (nn.Parameter or None expected)"
            )
        self._remove_from(name, "_parameters")
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        self._remove_from(name, "_modules")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}' (looking up '{target}')")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter '{name}'")
        return mod._parameters[name]

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, mod in self._modules.items():
            if mod is None:
                continue
            yield from mod.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, mod in self._modules.items():
            if mod is not None and id(mod) not in seen:
                seen.add(id(mod))
                yield name, mod

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in mod.__dict__[store].items():
                if value is None:
                    continue
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(dotted name, parameter) pairs; a parameter shared by two layers comes once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.grad.data))

    def apply(self, fn) -> Module:
        """Call ``fn`` on every submodule (children first) and on self, like ``init`` code does."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, fn) -> Module:
        with no_grad():
            for m in self.modules():
                for p in m._parameters.values():
                    if p is not None:
                        new = fn(p.data)
                        if new is not p.data:
                            p.data = new
                            p._vc[0] += 1
                            if p.grad is not None:
                                p.grad = Tensor(fn(p.grad.data))
                for name, b in m._buffers.items():
                    if b is not None:
                        m._buffers[name] = Tensor(fn(b.data))
        return self

    def to(self, *args, **kwargs) -> Module:
        """``to(dtype)`` converts floating parameters and buffers; ``to('cpu')`` is accepted."""
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, str) or a is None:
                if isinstance(a, str) and a.split(":")[0] != "cpu":
                    raise ValueError(f"to: ember runs on the CPU only, got device {a!r}")
            else:
                dtype = a
        if dtype is None:
            return self
        d = _dt.to_dtype(dtype)
        if not d.is_floating_point:
            raise TypeError(f"Module.to only accepts floating point dtypes, got {d}")
        return self._apply_to_tensors(lambda a: a.astype(d.np) if a.dtype.kind == "f" and a.dtype != d.np else a)

    def float(self) -> Module:
        return self.to(_dt.float32)

    def double(self) -> Module:
        return self.to(_dt.float64)

    def half(self) -> Module:
        return self.to(_dt.float16)

    def cpu(self) -> Module:
        return self

    def type(self, dtype) -> Module:
        return self.to(dtype)

    # ---------------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook) -> _Handle:
        """``hook(module, args)`` runs before forward; a returned value replaces the args."""
        handle = _Handle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook) -> _Handle:
        """``hook(module, args, output)`` runs after forward; a returned value replaces the output."""
        handle = _Handle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ state dict
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by dotted name (PyTorch's keys), detached unless ``keep_vars``."""
        out = OrderedDict() if destination is None else destination
        for mod_prefix, mod in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            pre = f"{mod_prefix}." if mod_prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers:
                    out[pre + name] = b if keep_vars else b.detach()
            extra = getattr(type(mod), "get_extra_state", None)
            if extra is not None and extra is not Module.get_extra_state:
                out[pre + "_extra_state"] = mod.get_extra_state()
        return out

    def get_extra_state(self):
        return None

    def set_extra_state(self, state) -> None:
        pass

    def _state_targets(self) -> dict:
        """Every state_dict key of this model and the (module, kind, name) it loads into."""
        targets = {}
        for mod_prefix, mod in self.named_modules(remove_duplicate=False):
            pre = f"{mod_prefix}." if mod_prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    targets[pre + name] = (mod, "_parameters", name)
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers:
                    targets[pre + name] = (mod, "_buffers", name)
        return targets

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy tensors from ``state_dict`` into this model's parameters and buffers.

        Everything is checked first; on any mismatch (missing or unexpected keys
        with ``strict``, or a shape that differs) one ``StateDictError`` lists all
        of them and the model is left exactly as it was.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}")
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets and not k.endswith("_extra_state")]
        mismatched = []
        arrays = {}
        for key, (mod, store, name) in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            current = mod.__dict__[store][name]
            if arr.shape != current.shape:
                mismatched.append(f"{key}: checkpoint {tuple(arr.shape)} vs model {tuple(current.shape)}")
                continue
            arrays[key] = arr
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("size mismatch: " + "; ".join(mismatched))
        if problems:
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems)
            )
        with no_grad():
            for key, arr in arrays.items():
                mod, store, name = targets[key]
                current = mod.__dict__[store][name]
                if assign:
                    current.data = np.array(arr, copy=True)
                else:
                    np.copyto(current.data, arr, casting="unsafe")
                current._vc[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        children = [(name, mod) for name, mod in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}("]
        if extra:
            lines.extend("  " + line for line in extra.split("\n"))
        for name, mod in children:
            body = repr(mod).split("\n")
            lines.append(f"  ({name}): " + body[0])
            lines.extend("  " + line for line in body[1:])
        lines.append(")")
        return "\n".join(lines)
