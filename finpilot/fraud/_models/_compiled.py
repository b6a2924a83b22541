"""The model compiled to native code, for scoring one payment at a time.

LightGBM's ``Booster.predict`` spends tens of microseconds per call setting up (argument
checks, a C API round trip, thread set-up) before it walks a single tree. For the live path,
which scores one row per payment, the trees are compiled to machine code with ``lleaves``
(LightGBM text model -> LLVM IR) and LLVM (via ``llvmlite``, no C compiler needed) and called
through one ctypes function pointer.

lleaves 1.3's own ``Model.compile`` uses the LLVM pass manager that llvmlite removed in 0.45,
so only its front end (model text -> IR) is used here; optimisation and code generation go
through llvmlite's current API. Object code is specific to the CPU and LLVM that produced it,
so every compiled form carries a :func:`target_key`, and it is loaded only on a matching host.

Object code is handed to the loader as bytes that the caller has already hashed, never as a
path that could change between the check and the load: loading it runs it.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from finpilot.core import IntegrityError, private_file

COMPILED_DIR = "compiled"
"""The artifact's subdirectory of object code, one ``<target key>.o`` per kind of host."""

ENTRY = "forest_root"
"""The compiled function's symbol: ``void forest_root(double *rows, double *out, int start, int end)``."""

_ENTRY_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32)
# MCJIT set-up and LLVM's global state are not documented as thread-safe; loads are rare.
_LLVM_LOCK = threading.Lock()
_log = logging.getLogger("finpilot.fraud.models")


def _llvm() -> Any:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


def compiler_name() -> str:
    """The compiler and its versions, as recorded in the manifest."""
    return f"lleaves {package_version('lleaves')} / llvmlite {package_version('llvmlite')}"


@functools.cache
def target_key() -> str:
    """Which object code this host can run: its CPU name and a digest of its features and compiler."""
    with _LLVM_LOCK:
        llvm = _llvm()
        try:
            features = llvm.get_host_cpu_features().flatten()
        except RuntimeError:  # LLVM cannot always read the features; the CPU name still counts
            features = ""
        facts = "|".join([llvm.get_process_triple(), llvm.get_host_cpu_name(), features, compiler_name()])
        name = "".join(c if c.isalnum() else "-" for c in llvm.get_host_cpu_name())
    return f"{name}-{hashlib.sha256(facts.encode()).hexdigest()[:16]}"


def _target_machine(llvm: Any) -> Any:
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:
        features = ""
    target = llvm.Target.from_triple(llvm.get_process_triple())
    # The large code model: big forests overflow the small model's 32-bit offsets.
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=features, reloc="pic", codemodel="large", opt=2
    )


def compile_model(model_text: str) -> bytes:
    """Compile a LightGBM text model to this host's object code (seconds; never on a request)."""
    import llvmlite.ir
    from lleaves.compiler.ast import parse_to_ast
    from lleaves.compiler.codegen import gen_forest

    with tempfile.TemporaryDirectory() as work:  # lleaves parses from a file
        path = Path(work) / "model.txt"
        path.write_text(model_text)
        forest = parse_to_ast(str(path))
    forest.raw_score = False
    ir = llvmlite.ir.Module(name="forest")
    # One cache block of all trees: blocking helps big batches, costs single rows, and changes the
    # order in which tree outputs are summed (so scores would differ from LightGBM's in the last bit).
    gen_forest(forest, ir, len(forest.trees), ENTRY, True)
    with _LLVM_LOCK:
        llvm = _llvm()
        ir.triple = llvm.get_process_triple()
        module = llvm.parse_assembly(str(ir))
        module.verify()
        # No IR optimisation pipeline: on a 300-tree model it took 75 s to save ~0.4 us a call, next
        # to a ~3 us ctypes call. The back end alone (opt=2) takes 2-3 s there, 16 s on 500 trees.
        return bytes(_target_machine(llvm).emit_object(module))


@dataclass
class CompiledModel:
    """Native code for one model, loaded and callable; ``predict_one`` is thread-safe."""

    object_code: bytes
    n_features: int
    sha256: str = ""
    target: str = ""
    _engine: Any = field(default=None, repr=False)
    _entry: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.sha256 = hashlib.sha256(self.object_code).hexdigest()
        self.target = target_key()
        code = self.object_code
        with _LLVM_LOCK:
            llvm = _llvm()
            engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine(llvm))
            # The empty module asks the cache for its object code: ours, already hashed.
            engine.set_object_cache(getbuffer_func=lambda _module: code)
            engine.finalize_object()
            engine.run_static_constructors()
            address = engine.get_function_address(ENTRY)
        if not address:
            raise ValueError(f"the object code has no {ENTRY} function")
        self._engine = engine  # the function lives as long as its engine
        self._entry = _ENTRY_TYPE(address)

    def predict_one(self, row: npt.NDArray[np.float64]) -> float:
        """The probability for one row of ``n_features`` float64 values (C-contiguous)."""
        if row.dtype != np.float64 or row.size != self.n_features or not row.flags.c_contiguous:
            # Native code reads n_features doubles from the pointer: a short row would be read past its end.
            raise ValueError(f"a row must be {self.n_features} contiguous float64 values, got {row.shape} {row.dtype}")
        out = np.empty(1, dtype=np.float64)
        self._entry(row.ctypes.data, out.ctypes.data, 0, 1)
        return float(out[0])

    def predict(self, rows: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """Probabilities for the rows of a 2-D array (any float dtype; copied to float64 if needed)."""
        data = np.ascontiguousarray(rows, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.n_features:
            raise ValueError(f"rows must have shape (n, {self.n_features}), got {data.shape}")
        out = np.empty(data.shape[0], dtype=np.float64)
        if data.shape[0]:
            self._entry(data.ctypes.data, out.ctypes.data, 0, data.shape[0])
        return out


def compile_or_none(model_text: str, n_features: int, *, why: str) -> CompiledModel | None:
    """Compile and load, or None (logged) when the model cannot be compiled: LightGBM then scores."""
    started = time.perf_counter()
    try:
        compiled = CompiledModel(compile_model(model_text), n_features)
    except Exception as exc:  # lleaves or LLVM refusing a model must not stop scoring; LightGBM still can
        _log.warning("the model could not be compiled (%s): one-row scoring uses LightGBM: %s", why, exc)
        return None
    _log.info("model compiled (%s) in %.1f s", why, time.perf_counter() - started)
    return compiled


def write_compiled(directory: Path, compiled: CompiledModel) -> dict[str, dict[str, str]]:
    """Write ``compiled/<target>.o``; the manifest entry that records its hash."""
    (directory / COMPILED_DIR).mkdir(parents=True, exist_ok=True)
    name = f"{COMPILED_DIR}/{compiled.target}.o"
    private_file(directory / name).write_bytes(compiled.object_code)
    return {compiled.target: {"file": name, "sha256": compiled.sha256, "compiler": compiler_name()}}


def load_compiled(directory: Path, manifest: dict[str, Any], model_text: str, n_features: int) -> CompiledModel | None:
    """This host's compiled form of the artifact in ``directory``, checked against the manifest's hash.

    A file whose hash differs is refused (:class:`IntegrityError`): loading it would run it. An
    artifact with no compiled form for this host (older than compiled forms, written on another
    CPU, or its file removed) is compiled here, in memory, and a warning says so.
    """
    key = target_key()
    forms = manifest.get("compiled")
    entry = forms.get(key) if isinstance(forms, dict) else None
    # The file name comes from the key, not from the manifest: a manifest cannot point outside the artifact.
    path = directory / COMPILED_DIR / f"{key}.o"
    if isinstance(entry, dict) and path.is_file():
        code = path.read_bytes()
        digest = hashlib.sha256(code).hexdigest()
        if digest != entry.get("sha256"):
            raise IntegrityError(
                f"compiled model {path} has sha256 {digest}, the manifest says {entry.get('sha256')}",
                field="compiled",
                fix=f"native code that does not match is never loaded: delete {path} (the model is then "
                "compiled from model.txt at load) or restore the original artifact",
            )
        return CompiledModel(code, n_features)
    why = "its compiled file is missing" if isinstance(entry, dict) else "no compiled form for this CPU"
    _log.warning("model artifact %s: %s; compiling it at load (save the artifact again to keep it)", directory, why)
    return compile_or_none(model_text, n_features, why=f"{directory}: {why}")
