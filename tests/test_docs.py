"""The plugin API's pages in docs/ run: every ```python block is executed, each as a fresh module in a temporary
working folder, so an example that rots fails the tests. (```py blocks are illustrations that call a reader's own
code, and are not run.)"""

import re
import sys
import types

import pytest

from gan_zoo.registry import KINDS

from .conftest import REPO

DOCS = REPO / "docs"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def examples():
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for block in PYTHON_BLOCK.finditer(text):
            line = text.count("\n", 0, block.start(1)) + 1
            yield pytest.param(page, line, block.group(1), id=f"{page.name}:{line}")


def test_every_hook_has_a_page_with_one_example_linked_from_the_index():
    index = (DOCS / "index.md").read_text()
    for kind in KINDS:
        page = DOCS / f"{kind}.md"
        assert len(PYTHON_BLOCK.findall(page.read_text())) == 1, page
        assert f"]({page.name})" in index, page.name


@pytest.mark.parametrize("page, line, code", list(examples()))
def test_example_runs(page, line, code, tmp_path, monkeypatch, isolated_cache):
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType(f"docs_{page.stem}")  # importable as itself: a page registers its plugin from it
    monkeypatch.setitem(sys.modules, module.__name__, module)
    # compiled at the page's line numbers, so a failure's traceback points into the page
    exec(compile("\n" * (line - 1) + code, str(page), "exec"), module.__dict__)
