"""YAML loading with aliases bounded: a "billion laughs" document fails in milliseconds.

Used for every YAML file a user gives bentu (recipes, ``--set`` values, privacy policies).
"""

from __future__ import annotations

import yaml

__all__ = ["MAX_NODES", "YamlBomb", "safe_load"]

MAX_NODES = 100_000  # a recipe or a policy has a few hundred; an alias bomb has billions


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses documents whose aliases expand to more than
    ``MAX_NODES`` nodes, or refer to themselves ("billion laughs" bombs), before
    anything is built from them."""

    def compose_document(self):
        node = super().compose_document()
        sizes: dict[int, int] = {}
        open_: set[int] = set()

        def size(n) -> int:  # nodes after expanding every alias; each node is walked once
            key = id(n)
            if key in sizes:
                return sizes[key]
            if key in open_:
                raise YamlBomb("an alias refers to the mapping or list that contains it")
            open_.add(key)
            total = 1
            if isinstance(n, yaml.SequenceNode):
                for child in n.value:
                    total += size(child)
                    if total > MAX_NODES:
                        break
            elif isinstance(n, yaml.MappingNode):
                for k, v in n.value:
                    total += size(k) + size(v)
                    if total > MAX_NODES:
                        break
            open_.discard(key)
            if total > MAX_NODES:
                raise YamlBomb(f"its aliases (*name) expand to more than {MAX_NODES:,} values")
            sizes[key] = total
            return total

        if node is not None:
            size(node)
        return node


class YamlBomb(yaml.YAMLError):
    """A YAML document too large once its aliases are expanded."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def safe_load(text: str):
    """``yaml.safe_load`` with aliases bounded (see :class:`BoundedLoader`)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
