"""The search spaces of docs/tuning.md, generated from the models' parameter schemas:
``python -m ecgbench.tuning.docs`` rewrites the block between ``<!-- spaces: begin -->`` and
``<!-- spaces: end -->``; a test keeps it in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from ecgbench.core.params import show

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "tuning.md"
BEGIN, END = "<!-- spaces: begin -->\n", "<!-- spaces: end -->"


def spaces_markdown() -> str:
    from ecgbench.models import model_class, model_names, model_origin
    from ecgbench.tuning.space import describe_space, search_space

    lines = []
    for name in model_names():
        if model_origin(name) != "built-in":
            continue
        cls = model_class(name)
        space = search_space(name)
        lines += [f"### {name}", ""]
        if not space:
            lines += ["No search space: `tune` refuses it.", ""]
            continue
        lines += ["| parameter | searched | default |", "|---|---|---|"]
        lines += [
            f"| `{param}` | {describe_space(p)} | {show(cls.default_params[param])} |" for param, p in space.items()
        ]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    text = DOC.read_text(encoding="utf-8")
    new = re.sub(re.escape(BEGIN) + ".*" + re.escape(END), lambda _: BEGIN + spaces_markdown() + END, text, flags=re.S)
    DOC.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
