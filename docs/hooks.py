"""Build hooks of the documentation site (``mkdocs.yml`` names this file twice).

- As MkDocs hooks: the site name carries the package version, and the results the example
  trainers write to ``examples/results/`` are served as the Results page (``RESULTS.md``) and its
  plots, read in place rather than copied into ``docs/``.
- As a griffe extension (``ProjectDocstrings``, loaded by mkdocstrings): docstrings' ``Example:``
  sections are read as Google-style ``Examples:`` sections (so doctests render as code), and a
  name exported by a public module's ``__all__`` without a docstring is a warning, which
  ``mkdocs build --strict`` turns into a failure.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from griffe import Class, Docstring, Extension, Module, Object, logger
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "examples" / "results"

# --- MkDocs hooks --------------------------------------------------------------------------------


def package_version() -> str:
    """``balancers.__version__``, read from the source without importing torch."""
    tree = ast.parse((ROOT / "balancers" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise RuntimeError("balancers/__init__.py defines no __version__")


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    config.site_name = f"{config.site_name} {package_version()}"
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Serve ``examples/results/RESULTS.md`` as ``results/index.md``, with the plots beside it."""
    files.append(
        File.generated(config, "results/index.md", abs_src_path=str(RESULTS / "RESULTS.md"))
    )
    for path in sorted(RESULTS.rglob("*.png")):
        src_uri = "results/" + path.relative_to(RESULTS).as_posix()
        files.append(File.generated(config, src_uri, abs_src_path=str(path)))
    return files


# --- griffe extension ----------------------------------------------------------------------------

_EXAMPLE = re.compile(r"^(\s*)Example:$", flags=re.MULTILINE)
_ROLE = re.compile(r":(?:func|class|meth|data|mod|attr|math):`(~?)([^`]+)`")


def _markdown(docstring: str) -> str:
    """A docstring as mkdocstrings reads it.

    ``Example:`` becomes ``Examples:`` (so the doctests render as code); a Sphinx role naming a
    public ``balancers`` object by its full path becomes a cross-reference (a dead one fails the
    strict build), any other role a code span.
    """

    def role(match: re.Match[str]) -> str:
        short, target = match.group(1), match.group(2)
        text = target.rsplit(".", 1)[-1] if short else target
        if target.startswith("balancers.") and "._" not in target:
            return f"[`{text}`][{target}]"
        return f"`{text}`"

    return _ROLE.sub(role, _EXAMPLE.sub(r"\1Examples:", docstring))


class ProjectDocstrings(Extension):
    """Docstrings read as Markdown (see ``_markdown``); public names without one are warnings.

    A class that sets ``__doc__ = TEMPLATE.format(...)`` (the long-tailed datasets) gets the
    docstring it has at run time.
    """

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _markdown(obj.docstring.value)

    def on_class_members(self, *, cls: Class, **kwargs: Any) -> None:
        if cls.docstring is None and "__doc__" in cls.members:
            runtime = getattr(importlib.import_module(cls.module.path), cls.name).__doc__
            value = _markdown(inspect.cleandoc(runtime or ""))
            cls.docstring = Docstring(value, lineno=cls.lineno, parent=cls)

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        for module in _public_modules(pkg):
            for name in module.exports or ():
                if not isinstance(name, str) or name.startswith("__"):
                    continue
                member = module.get_member(name)
                if not member.docstring:
                    logger.warning(
                        f"{module.path}.{name} is in __all__ but has no docstring; write one "
                        "(for a constant, a string literal on the line after the assignment)"
                    )


def _public_modules(module: Module) -> list[Module]:
    found = [module]
    for name, member in module.modules.items():
        if not name.startswith("_") and isinstance(member, Module):
            found.extend(_public_modules(member))
    return found
