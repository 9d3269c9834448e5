"""YAML text -> plain data plus the line of every key and value.

``yaml.safe_load`` forgets positions and silently keeps the last of two duplicate keys, so
the node tree is composed and walked here instead.
"""

from __future__ import annotations

import re

import yaml

from battletui.scenario._bounds import MAX_DEPTH, MAX_VALUES, NESTED_TOO_DEEP, TOO_MANY_VALUES
from battletui.scenario._validate import Invalid, Path, Where
from battletui.scenario.errors import ScenarioError

_STR_TAG = "tag:yaml.org,2002:str"
_EXPONENT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")
"""``1e9``: a number to anyone reading it, a string to YAML 1.1 (it wants ``1.0e+9``)."""


class YamlTree:
    """The plain data of a YAML document and where each part of it was written."""

    def __init__(self) -> None:
        self.data: object = None
        self.key_lines: dict[Path, int] = {}
        self.value_lines: dict[Path, int] = {}

    def line(self, path: Path, where: Where) -> int:
        """Best line for a problem at ``path``; the top level is always line 1."""
        if where == "parent":
            path = path[:-1]
        elif where == "key" and path in self.key_lines:
            return self.key_lines[path]
        while path:
            if path in self.value_lines:
                return self.value_lines[path]
            path = path[:-1]
        return 1


def read_yaml(text: str, source: str) -> YamlTree:
    """Parse ``text``; syntax problems raise ``ScenarioError``, structural ones ``Invalid``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ScenarioError(source, 1, "(syntax)", NESTED_TOO_DEEP) from None
    except yaml.MarkedYAMLError as err:
        raise ScenarioError(source, _error_line(err), "(syntax)", _error_text(err)) from None
    except yaml.reader.ReaderError as err:  # a character YAML does not allow
        line = text.count("\n", 0, err.position) + 1
        message = f"unacceptable character {_codepoint(err.character)}: {err.reason}"
        raise ScenarioError(source, line, "(syntax)", message) from None
    except yaml.YAMLError as err:  # not expected from compose; still no traceback
        raise ScenarioError(source, 1, "(syntax)", " ".join(str(err).split())) from None
    tree = YamlTree()
    if root is not None:
        tree.data = _Walker(tree).convert(root, ())
    return tree


def _error_line(err: yaml.MarkedYAMLError) -> int:
    mark = err.problem_mark or err.context_mark
    return mark.line + 1 if mark is not None else 1


def _error_text(err: yaml.MarkedYAMLError) -> str:
    problem = err.problem or "invalid YAML"
    return f"{err.context}, {problem}" if err.context else problem


def _codepoint(character: int | str) -> str:
    return f"#x{character if isinstance(character, int) else ord(character):04x}"


class _Walker:
    def __init__(self, tree: YamlTree) -> None:
        self.tree = tree
        self.loader = yaml.SafeLoader("")
        self.active: set[int] = set()
        self.values = 0

    def convert(self, node: yaml.Node, path: Path) -> object:
        line = node.start_mark.line + 1
        self.tree.value_lines[path] = line
        if id(node) in self.active:
            raise Invalid(path, "an alias refers to itself", line=line)
        self.values += 1
        if self.values > MAX_VALUES:
            raise Invalid(path, TOO_MANY_VALUES, line=line)
        collection = isinstance(node, yaml.MappingNode | yaml.SequenceNode)
        if collection and len(path) >= MAX_DEPTH - 1:
            raise Invalid(path, NESTED_TOO_DEEP, line=line)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, path, line)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, object]:
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise Invalid(path, "keys must be plain names", line=line)
            # The key as written: "on" or "1" stays a name instead of becoming True or 1.
            key = str(key_node.value)
            if key in result:
                first = self.tree.key_lines[(*path, key)]
                raise Invalid((*path, key), f"duplicate key (first at line {first})", line=line)
            self.tree.key_lines[(*path, key)] = line
            result[key] = self.convert(value_node, (*path, key))
        return result

    def _scalar(self, node: yaml.Node, path: Path, line: int) -> object:
        plain = node.tag == _STR_TAG and getattr(node, "style", None) is None
        if plain and _EXPONENT.fullmatch(str(node.value)):
            return float(node.value)  # plain 1e9, not quoted "1e9"
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            problem = getattr(err, "problem", None) or str(err)
            raise Invalid(path, f"cannot read this value: {problem}", line=line) from None
        except ValueError:  # e.g. an integer of 5,000 digits (Python's own limit is 4,300)
            raise Invalid(path, "number too long", line=line) from None
