"""Hypothesis strategies that produce spec texts, from pure noise to near-valid specs.

The loader is the one door every input comes through (the CLI, an editor on every keystroke), so
it is fuzzed at three distances from a valid spec: random text (the YAML reader and parser),
random YAML documents built from the spec's own key names (the models and the diagnostics), and
small mutations of the valid examples (the cross-field rules and the paths, where real mistakes
happen). The vocabulary is read from the pydantic models, so a new field is fuzzed without edits.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any, Literal, get_args, get_origin

from hypothesis import strategies as st
from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pipelinegen.spec.models import Spec
from pipelinegen.spec.repository import Kind, WorkingTree
from pipelinegen.spec.types import Explain

EXAMPLES = FilePath(__file__).resolve().parents[2] / "examples"

Path = tuple[str | int, ...]
Mutation = Callable[[st.DrawFn, Any], Any]


# --- the spec's vocabulary, read from the models ---------------------------------------------


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """Every model class mentioned in an annotation (through Annotated, unions, lists, dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in get_args(annotation):
        yield from _models_in(argument)


def _all_models(root: type[BaseModel] = Spec) -> list[type[BaseModel]]:
    """`root` and every model nested in it, each once."""
    found: list[type[BaseModel]] = []
    todo = [root]
    while todo:
        model = todo.pop()
        if model in found:
            continue
        found.append(model)
        for field in model.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return found


def _literals_in(annotation: Any) -> Iterator[str]:
    """The choices of every Literal in an annotation: regions, platforms, presets, runners."""
    if get_origin(annotation) is Literal:
        yield from (str(choice) for choice in get_args(annotation))
        return
    for argument in get_args(annotation):
        yield from _literals_in(argument)


def _field_values(model: type[BaseModel]) -> Iterator[str]:
    """Plausible strings for a model's fields: Literal choices, examples, Explain examples."""
    for field in model.model_fields.values():
        yield from _literals_in(field.annotation)
        for example in field.examples or []:
            if isinstance(example, str):
                yield example
        for meta in field.metadata:
            if isinstance(meta, Explain):
                yield meta.example.strip('"')


def _path_fields(model: type[BaseModel]) -> Iterator[str]:
    """The fields of a model that hold paths: their Explain (or their items') speaks of a path."""
    for name, field in model.model_fields.items():
        metadata = [*field.metadata, *_metadata_in(field.annotation)]
        if any(isinstance(meta, Explain) and "path" in meta.what for meta in metadata):
            yield name


def _metadata_in(annotation: Any) -> Iterator[Any]:
    for argument in get_args(annotation):
        yield argument
        yield from _metadata_in(argument)


SPEC_KEYS: list[str] = sorted({name for model in _all_models() for name in model.model_fields})
# usage_instructions is text, or a file's path when it ends in .md/.markdown/.txt.
PATH_KEYS: list[str] = sorted(
    {name for model in _all_models() for name in _path_fields(model)} | {"usage_instructions"}
)
SPEC_VALUES: list[str] = sorted(
    {value for model in _all_models() for value in _field_values(model)}
)
LONG_TEXT = "x" * 5000  # beyond usage_instructions' 4000 characters
LONG_NAME = "a" * 300  # beyond the 255 bytes a file name may have on Linux and macOS

# Paths at the edges (one kind per line, so the formatter keeps them readable).
EDGE_PATHS: list[str] = [
    *["", ".", "./", "..", "../x", "a/../../x", "/abs", "~/x", "C:/x"],  # out of the repository
    *["a\\b", "a//b", "a/./b", "Dockerfile/", " x", "x ", "-x", "*", "a\0b"],  # odd spellings
    *["x/" * 600, "a" * 256, LONG_NAME, f"services/{LONG_NAME}", f"d/{LONG_NAME}.md"],  # too long
    *["deploy/helm/values-prod.yaml", "docs/marketplace-usage.md", "services/api", "web"],  # real
]
# Values at the edges of the spec's types.
EDGE_VALUES: list[str] = [
    *["", " ", "..", "../x", "/abs", "a\\b", "./.", "docs/u.md", LONG_NAME],  # paths
    *["11111111111", "1111111111111", "v?", "v[0-9]", "pipelinegen", "build-api"],  # IDs, names
    *["yes", "no", "on", "off", "~", "null", "0x1F", "0o17", "1_000", "1e3", "3.10"],  # YAML 1.1
    *[".nan", "-.inf", "2024-01-01", "2024-13-45", "0x_", "12:30"],  # resolvable, or nearly
    *["x" * 80, LONG_TEXT],  # past the length limits
]


# --- scalars and documents ---------------------------------------------------------------------


def keys() -> st.SearchStrategy[str]:
    """Mostly the spec's real key names (so documents get past the top level), some random."""
    return st.one_of(
        st.sampled_from(SPEC_KEYS),
        st.sampled_from(SPEC_KEYS),
        st.sampled_from(SPEC_KEYS),
        st.text(max_size=12),
        st.sampled_from(["<<", "x-anchor", "Name", "images ", "-", "?"]),
    )


def scalars() -> st.SearchStrategy[Any]:
    """Every scalar type YAML can carry, including nan, infinities and huge integers."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),  # nan and +-inf included
        st.text(max_size=30),
        st.sampled_from(SPEC_VALUES),
        st.sampled_from(EDGE_VALUES),
    )


def _collections_of(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(children, max_size=4), st.dictionaries(keys(), children, max_size=6))


def plain_data() -> st.SearchStrategy[Any]:
    """Nested dicts, lists and scalars: what a YAML document can hold."""
    return st.recursive(scalars(), _collections_of, max_leaves=25)


def documents() -> st.SearchStrategy[Any]:
    """Top-level data for a spec: mostly a mapping (the only valid shape), sometimes not."""
    top = st.dictionaries(keys(), plain_data(), max_size=10)
    return st.one_of(top, top, top, plain_data())


def _yaml_dump(data: Any, *, flow: bool) -> str:
    """YAML text for `data`; shared dicts and lists come out as anchors and aliases."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def serialized(data: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """Text for the drawn data in block YAML, flow YAML or JSON (JSON is YAML 1.2 too)."""
    return st.tuples(data, st.sampled_from(["block", "flow", "json", "json-ascii"])).map(
        lambda pair: _serialize(*pair)
    )


def _serialize(data: Any, style: str) -> str:
    if style == "json":
        return json.dumps(data, ensure_ascii=False)
    if style == "json-ascii":
        return json.dumps(data, indent=2)
    return _yaml_dump(data, flow=style == "flow")


def yaml_documents() -> st.SearchStrategy[str]:
    """Random YAML documents using the spec's key names."""
    return serialized(documents())


# --- random text -------------------------------------------------------------------------------

YAML_TOKENS: list[str] = [
    *[": ", ":", "-", "- ", "? ", ",", "[", "]", "{", "}", "#", " # c", "'", '"', "''", "|\n"],
    *[">-\n", "|+2\n", "\\", "\\x4", "\\u12", "\\U0001F600", "=", "@", "`", "%", "a", "key"],
    *["&a ", "*a", "&b ", "*b", "<<: ", "<<: *a"],  # anchors, aliases, merges
    *["!tag ", "!<tag:x> ", "!e!x ", "!!str ", "!!int ", "!!float ", "!!bool ", "!!null "],
    *["!!map ", "!!seq ", "!!binary ", "!!timestamp ", "!!set ", "!!omap ", "!!merge "],
    *["%YAML 1.2\n", "%YAML 1.1\n", "%YAML 2.0\n", "%TAG !e! tag:e.com,2000:\n", "%FOO bar\n"],
    *["---\n", "--- ", "...\n"],  # documents
    *["\n", "\n  ", "\n    ", "\t", " ", "  ", "\r\n", "\r", "\x85", "\u2028"],  # breaks
    *["\ufeff", "\x00", "\x1b", "é", "😀"],  # a byte-order mark, control characters, non-ASCII
    *["~", "null", "true", "yes", "1", "-0", "0x1F", "0o17", "1_000", "1e3", ".nan", ".inf"],
    *["-.inf", "2024-01-01", "2024-01-01T00:00:00Z", "12:30:00", "2024-13-45", "0x_"],
]


def bytes_text() -> st.SearchStrategy[str]:
    """Random bytes decoded leniently, as a file in the wrong encoding would arrive."""
    return st.tuples(st.binary(max_size=200), st.sampled_from(["utf-8", "latin-1", "utf-16"])).map(
        lambda pair: pair[0].decode(pair[1], errors="replace")
    )


def token_soup() -> st.SearchStrategy[str]:
    """YAML punctuation, tags, anchors, directives and key names strung together at random."""
    token = st.one_of(st.sampled_from(YAML_TOKENS), st.sampled_from(SPEC_KEYS))
    return st.lists(token, max_size=40).map("".join)


def _line(parts: tuple[str, str, str, str, str]) -> str:
    return "".join(parts)


def line_soup() -> st.SearchStrategy[str]:
    """Lines shaped like YAML (indent, dash, key, separator, value): they often parse."""
    line = st.tuples(
        st.sampled_from(["", "  ", "    ", "      ", "\t", " ", "  \t"]),
        st.sampled_from(["", "", "- "]),
        keys(),
        st.sampled_from([": ", ":", " : ", ": &a ", ": *a", ": !!str ", ""]),
        st.one_of(st.sampled_from(SPEC_VALUES), st.sampled_from(EDGE_VALUES), st.text(max_size=8)),
    ).map(_line)
    return st.lists(line, max_size=20).map("\n".join)


def long_lines() -> st.SearchStrategy[str]:
    """Lines far beyond ruamel's 1024-character simple-key limit, as key or as value."""
    return st.builds(
        lambda prefix, filler, count, suffix: prefix + filler * count + suffix,
        st.sampled_from(["", "name: ", "- ", "'", '"', "[", "images:\n  - name: "]),
        st.sampled_from(["a", " ", "é", "ab: ", "[", "x-"]),
        st.integers(min_value=1000, max_value=20_000),
        st.sampled_from(["", ": 1", "'", '"', "\n", "]"]),
    )


def random_text() -> st.SearchStrategy[str]:
    """Text at every distance from YAML, and several of them as a multi-document stream."""
    single = st.one_of(
        st.text(), bytes_text(), token_soup(), line_soup(), long_lines(), yaml_documents()
    )
    stream = st.lists(single, min_size=2, max_size=4).map("\n---\n".join)
    return st.one_of(single, single, single, stream)


# --- hostile text: tags, nesting, control characters ------------------------------------------

TAGS: list[str] = [
    *["!!int", "!!float", "!!bool", "!!null", "!!str", "!!binary", "!!timestamp", "!!map"],
    *["!!seq", "!!set", "!!omap", "!!pairs", "!!merge", "!!value", "!!python/name:os.system"],
    *["!<tag:yaml.org,2002:int>", "!<!>", "!", "!x", "!e!x", "!<tag:x>"],
]
OPENERS: list[tuple[str, str]] = [
    ("[", "]"),
    ("{a: ", "}"),
    ("- ", ""),
    ("? ", ""),
    ("[{a: ", "}]"),
]
# Depths around the loader's limit, the Python recursion limit and where the C parser crashed.
DEPTHS: list[int] = [63, 64, 65, 200, 999, 1001, 4_000, 20_000, 30_000]


def tagged_scalars() -> st.SearchStrategy[str]:
    """`key: <tag> <value>` lines, the value often empty, at the top or under a real key."""
    value = st.one_of(st.just(""), st.sampled_from(["''", '""', "x", "1", "[]", "{}", "-"]))
    line = st.builds(
        lambda key, tag, value: f"{key}: {tag} {value}".rstrip(),
        keys(),
        st.sampled_from(TAGS),
        value,
    )
    bare = st.builds(lambda tag, value: f"{tag} {value}".rstrip(), st.sampled_from(TAGS), value)
    return st.one_of(bare, st.lists(line, min_size=1, max_size=5).map("\n".join))


def nested() -> st.SearchStrategy[str]:
    """Flow and block nesting from just below the depth limit to far past any stack."""
    return st.builds(
        lambda opener, depth, key, closed: (
            (f"{key}: " if key else "")
            + opener[0] * depth
            + "x"
            + (opener[1] * depth if closed else "")
        ),
        st.sampled_from(OPENERS),
        st.sampled_from(DEPTHS),
        st.sampled_from(["", "images", "helm"]),
        st.booleans(),
    )


def control_text() -> st.SearchStrategy[str]:
    """Specs with control and format characters in keys, values and the indentation."""
    controls = st.text(
        st.one_of(
            st.characters(categories=["Cc", "Cf", "Zl", "Zp"]),
            st.sampled_from(["\x85", "\u2028", "\ufeff", "\ufffe", "\uffff", "\x7f"]),
        ),
        min_size=1,
        max_size=4,
    )
    originals = st.sampled_from(sorted(EXAMPLE_TEXTS.values()))
    return st.builds(
        lambda text, at, inserted: text[:at] + inserted + text[at:],
        originals,
        st.integers(min_value=0, max_value=2_000),
        controls,
    )


def hostile_text() -> st.SearchStrategy[str]:
    """Explicit tags (empty ones too), nesting bombs and control characters."""
    return st.one_of(tagged_scalars(), nested(), control_text())


# --- mutations of the valid examples -----------------------------------------------------------


def _read_examples() -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Each example's text, and its data when it parses to a mapping (examples may be in flux)."""
    texts = {p.parent.name: p.read_text(encoding="utf-8") for p in EXAMPLES.glob("*/pipeline.yaml")}
    data: dict[str, dict[str, Any]] = {}
    for name, text in texts.items():
        try:
            loaded = YAML(typ="safe", pure=True).load(text)
        except (YAMLError, ValueError):
            continue
        if isinstance(loaded, dict):
            data[name] = loaded
    return texts, data


EXAMPLE_TEXTS, EXAMPLE_DATA = _read_examples()


def _paths(data: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, value) for the root and everything under it."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*path, index))


def _containers(data: Any, kind: type) -> list[Path]:
    return [path for path, value in _paths(data) if isinstance(value, kind)]


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _typo(draw: st.DrawFn, word: str) -> str:
    """A near miss of `word`: a letter dropped, doubled, swapped or changed, or a case slip."""
    if not word:
        return "_"
    i = draw(st.integers(min_value=0, max_value=len(word) - 1))
    variants = [
        word[:i] + word[i + 1 :],
        word[:i] + word[i] + word[i:],
        word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :],
        word[:i] + draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz-_ ")) + word[i + 1 :],
        word.upper(),
        word.replace("_", "-"),
        word + "s",
        word.capitalize(),
    ]
    candidates = [v for v in variants if v != word]
    return draw(st.sampled_from(candidates)) if candidates else word + "_"


def _delete_key(draw: st.DrawFn, data: Any) -> Any:
    mappings = [p for p in _containers(data, dict) if _get(data, p)]
    if mappings:
        target = _get(data, draw(st.sampled_from(mappings)))
        del target[draw(st.sampled_from(sorted(target)))]
    return data


def _rename_key(draw: st.DrawFn, data: Any) -> Any:
    mappings = [p for p in _containers(data, dict) if _get(data, p)]
    if mappings:
        target = _get(data, draw(st.sampled_from(mappings)))
        key = draw(st.sampled_from(sorted(target)))
        target[_typo(draw, key)] = target.pop(key)
    return data


def _insert_key(draw: st.DrawFn, data: Any) -> Any:
    target = _get(data, draw(st.sampled_from(_containers(data, dict))))
    target[draw(keys())] = draw(plain_data())
    return data


def _replace_value(draw: st.DrawFn, data: Any) -> Any:
    """A value of a different type where another was: "version: [1]", "images: 3", ..."""
    path = draw(st.sampled_from([p for p, _ in _paths(data) if p]))
    old_type = type(_get(data, path))
    others = [strategy for kind, strategy in _BY_TYPE.items() if kind is not old_type]
    _get(data, path[:-1])[path[-1]] = draw(st.one_of(others))
    return data


_BY_TYPE: dict[type, st.SearchStrategy[Any]] = {
    type(None): st.none(),
    bool: st.booleans(),
    int: st.integers(),
    float: st.floats(),
    str: st.one_of(st.text(max_size=20), st.sampled_from(SPEC_VALUES + EDGE_VALUES)),
    list: st.lists(scalars(), max_size=3),
    dict: st.dictionaries(keys(), scalars(), max_size=3),
}


def _change_string(draw: st.DrawFn, data: Any) -> Any:
    strings = [p for p, value in _paths(data) if p and isinstance(value, str)]
    if strings:
        path = draw(st.sampled_from(strings))
        new = draw(st.one_of(st.text(max_size=20), st.sampled_from(SPEC_VALUES + EDGE_VALUES)))
        _get(data, path[:-1])[path[-1]] = new
    return data


def _change_path(draw: st.DrawFn, data: Any) -> Any:
    """A path field (context, chart, values, ...) set to an edge path, or one added somewhere.

    Paths are where the spec meets the operating system (the CLI checks them on disk)."""
    paths = [p for p, _ in _paths(data) if p and any(part in PATH_KEYS for part in p[-2:])]
    new = draw(st.sampled_from(EDGE_PATHS))
    existing = draw(st.integers(min_value=0, max_value=3)) > 0  # mostly an existing path field
    if paths and existing:
        path = draw(st.sampled_from(paths))
        _get(data, path[:-1])[path[-1]] = new
    else:
        target = _get(data, draw(st.sampled_from(_containers(data, dict))))
        target[draw(st.sampled_from(PATH_KEYS))] = new
    return data


def _duplicate_item(draw: st.DrawFn, data: Any) -> Any:
    """The same object twice: duplicate names, and an anchor and alias in the dumped YAML."""
    lists = [p for p in _containers(data, list) if _get(data, p)]
    if lists:
        target = _get(data, draw(st.sampled_from(lists)))
        index = draw(st.integers(min_value=0, max_value=len(target) - 1))
        item = target[index] if draw(st.booleans()) else copy.deepcopy(target[index])
        target.insert(index, item)
    return data


DATA_MUTATIONS: list[Mutation] = [
    *[_delete_key, _rename_key, _insert_key, _replace_value, _change_string, _duplicate_item],
    *[_change_path, _change_path],  # twice: paths reach the operating system
]


@st.composite
def mutated_data(draw: st.DrawFn) -> Any:
    """An example's data after up to four random edits along data paths (none: the example
    itself, re-serialized, which keeps valid specs and so the path checks in the mix)."""
    data = copy.deepcopy(EXAMPLE_DATA[draw(st.sampled_from(sorted(EXAMPLE_DATA)))])
    for mutation in draw(st.lists(st.sampled_from(DATA_MUTATIONS), max_size=4)):
        data = mutation(draw, data)
    return data


def _truncate(draw: st.DrawFn, text: str) -> str:
    return text[: draw(st.integers(min_value=0, max_value=len(text)))]


def _indent_line(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    lines[index] = draw(st.sampled_from(["\t", " ", "  ", " \t"])) + lines[index]
    return "\n".join(lines)


def _dedent_line(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    lines[index] = lines[index][draw(st.integers(min_value=1, max_value=4)) :]
    return "\n".join(lines)


def _duplicate_line(draw: st.DrawFn, text: str) -> str:
    """A repeated line: duplicate keys, duplicate list items, repeated anchors."""
    lines = text.split("\n")
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    lines.insert(index, lines[index])
    return "\n".join(lines)


def _delete_line(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    del lines[draw(st.integers(min_value=0, max_value=len(lines) - 1))]
    return "\n".join(lines)


def _insert_text(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(min_value=0, max_value=len(text)))
    return text[:at] + draw(st.sampled_from(YAML_TOKENS)) + text[at:]


# Raw YAML for a value: scalars that nearly resolve to a date or number, tags, anchors, aliases.
RAW_VALUES: list[str] = [
    *["2024-13-45", "0000-01-01", "2024-01-01 25:00:00", "0x_", "0o9", "1e999", "-.NaN", "+"],
    *["!!int x", "!!float x", "!!bool x", "!!null x", "!!timestamp x", "!!binary @", "!x x"],
    *["!!str [a]", "!!map x", "!!seq {}", "!!set {a}", "!!omap [a]", "!<tag:yaml.org,2002:int> x"],
    *["&a x", "*a", "*nowhere", "&a [*a]", "{<<: *a}", "&a {b: 1}", "&a 1 # again: &a 2"],
    *["!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!str", "!!binary", "!!map"],
    *["!<tag:yaml.org,2002:int>", "!!int ''", '!!float ""', "!x", "!!int\n  - 1", "!!seq"],
]


def _raw_value(draw: st.DrawFn, text: str) -> str:
    """A `key: value` line's value replaced by raw YAML, which the serializers never write."""
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if ": " in line]
    if candidates:
        index = draw(st.sampled_from(candidates))
        key = lines[index].split(": ", 1)[0]
        lines[index] = f"{key}: {draw(st.sampled_from(RAW_VALUES))}"
    return "\n".join(lines)


def _crlf(draw: st.DrawFn, text: str) -> str:
    return text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])))


TextMutation = Callable[[st.DrawFn, str], str]
TEXT_MUTATIONS: list[TextMutation] = [
    *[_truncate, _indent_line, _dedent_line, _duplicate_line, _delete_line, _insert_text, _crlf],
    *[_raw_value, _raw_value],  # twice: where the YAML constructors meet odd scalars
]


@st.composite
def mutated_text(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """Text from `base` after one to three line- or character-level edits."""
    text = draw(base)
    for mutation in draw(st.lists(st.sampled_from(TEXT_MUTATIONS), min_size=1, max_size=3)):
        text = mutation(draw, text)
    return text


def mutated_examples() -> st.SearchStrategy[str]:
    """The examples edited as data (then re-serialized) or as text, or both."""
    as_data = serialized(mutated_data())
    originals = st.sampled_from(sorted(EXAMPLE_TEXTS.values()))
    as_text = mutated_text(originals)
    both = mutated_text(as_data)
    return st.one_of(as_data, as_data, as_text, as_text, both)


# --- repositories for the path checks ------------------------------------------------------------


@dataclass(frozen=True)
class FakeRepository:
    """Answers every path with the same kind: the path checks fail in every way they can."""

    answer: Kind | None
    size: int = 10

    def kind(self, path: str) -> Kind | None:
        return self.answer

    def read_text(self, path: str) -> str:
        return "x" * self.size


@dataclass(frozen=True)
class PlausibleRepository:
    """Names with a dot (and Dockerfiles) are files, the rest folders: valid specs pass."""

    size: int = 10

    def kind(self, path: str) -> Kind | None:
        name = path.rsplit("/", 1)[-1]
        return "file" if "." in name.strip(".") or name.startswith("Dockerfile") else "directory"

    def read_text(self, path: str) -> str:
        return "x" * self.size


Repo = FakeRepository | PlausibleRepository | WorkingTree | None


def repositories() -> st.SearchStrategy[Repo]:
    """No repository; fakes that answer in every way; the real examples' folders (read only:
    the operating system's own errors, such as a name too long, are part of the contract)."""
    fakes: list[Repo] = [
        None,
        PlausibleRepository(),
        PlausibleRepository(size=5000),  # usage instructions too long for Marketplace
        FakeRepository(None),
        FakeRepository("file"),
        FakeRepository("directory"),
        FakeRepository("outside"),  # a link that leaves the repository
        FakeRepository("special"),  # a FIFO, a socket, a device
    ]
    trees: list[Repo] = [WorkingTree(p.parent) for p in sorted(EXAMPLES.glob("*/pipeline.yaml"))]
    return st.one_of(st.sampled_from(fakes), st.sampled_from(trees))
