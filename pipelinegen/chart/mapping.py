"""Where a chart reads an image the spec does not map yet: the one inference behind `validate`'s
hint for an unmapped image and the `values:` that `pipelinegen init` writes.

A chart names an image in an `image`/`images` value (of the chart or a subchart, by the
subchart's alias or name) whose path or default reference mentions the image's name. The shape
of that value decides the mapping, so that `validate` accepts what is suggested: a string takes
the whole reference; a mapping with `repository` and `tag` the short form; Bitnami's
`registry`/`repository`/`digest` each part.
"""

from __future__ import annotations

from typing import Any

from pipelinegen.chart.read import Chart

Mapping = str | dict[str, str]  # `values:` as the spec writes it: a path, or one ImageValues


def reading(chart: Chart, image: str) -> list[tuple[str, Any]]:
    """(path, default value) of every image value of the chart that names `image`."""
    from pipelinegen.chart.check import image_values  # the chart check's own walk

    return [
        (path, value)
        for path, value in image_values(chart)
        if image in path.split(".") or image in _names(value)
    ]


def suggest(chart: Chart, path: str, value: Any) -> Mapping | None:
    """The mapping for the image value at `path` whose default is `value` (the parent chart's
    override, or the subchart's own); None when its shape is not one pipelinegen can fill (a
    list, or a mapping without a repository). The parts are the keys the chart or the subchart
    under that key defines, as `validate` checks them."""
    from pipelinegen.chart.check import defines

    if isinstance(value, str) or value is None:
        return {"reference": path}
    if not isinstance(value, dict):
        return None
    keys = path.split(".")
    has = {
        key for key in ("registry", "repository", "tag", "digest") if defines(chart, [*keys, key])
    }
    if "repository" not in has:
        return None
    if "registry" in has:
        pin = "digest" if "digest" in has else "tag"
        return {key: f"{path}.{key}" for key in ("registry", "repository", pin)}
    if "tag" in has:
        return path
    if "digest" in has:
        return {"repository": f"{path}.repository", "digest": f"{path}.digest"}
    return None


def words(mapping: Mapping) -> str:
    """The mapping as a `values:` line of the spec."""
    if isinstance(mapping, str):
        return f"values: {mapping}"
    inner = ", ".join(f"{key}: {path}" for key, path in mapping.items())
    return f"values: [{{{inner}}}]"


def _names(value: Any) -> set[str]:
    """The image names a default value mentions: the last segment of each repository in it."""
    if isinstance(value, dict):
        return set().union(*(_names(item) for item in value.values())) if value else set()
    if isinstance(value, str):
        return {value.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]}
    return set()


def refuses_global(chart: Chart) -> bool:
    """Whether a values.schema.json of the chart or a subchart rejects the documented block
    under `global` (Helm validates the merged values against every chart's schema), so the spec
    must set `helm.global_values: false`, as `validate`'s hint for that error says."""
    from pipelinegen.chart.check import _errors, _merge  # the chart check's own schema test

    block: dict[str, Any] = {"global": {"pipelinegen": {"images": {}}}}
    for _, each in chart.walk():
        if each.schema is None:
            continue
        if set(_errors(each.schema, _merge(each.values, block))) - set(
            _errors(each.schema, each.values)
        ):
            return True
    return False
