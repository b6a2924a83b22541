"""The steps' graph: missing needs and cycles are refused by name; the order and each step's ancestors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from finpilot.core import ConfigError


def check_needs(
    needs: Mapping[str, Sequence[str]], *, source: str, line_of: Callable[[str], int | None] = lambda _step: None
) -> None:
    """Refuse a ``needs`` that names no step, then any cycle, naming it (``test -> gate -> test``).

    ``line_of(step)`` is the line of a step's ``needs:`` in the file, for the message.
    """
    for step, wanted in needs.items():
        for name in wanted:
            line = line_of(step)
            if name not in needs:
                raise ConfigError(
                    f"{source}:{line or '?'}: step '{step}' needs '{name}', which is not a step of this pipeline",
                    field=f"pipeline.steps.{step}.needs",
                    line=line,
                    path=source,
                    fix=f"name one of: {', '.join(needs)}",
                )
            if name == step:
                raise ConfigError(
                    f"{source}:{line or '?'}: step '{step}' needs itself (cycle: {step} -> {step})",
                    field=f"pipeline.steps.{step}.needs",
                    line=line,
                    path=source,
                    fix="remove the step from its own needs",
                )
    cycle = find_cycle(needs)
    if cycle:
        line = line_of(cycle[0])
        raise ConfigError(
            f"{source}:{line or '?'}: the steps' needs form a cycle: {' -> '.join(cycle)}",
            field=f"pipeline.steps.{cycle[0]}.needs",
            line=line,
            path=source,
            fix="remove one of these needs so that the steps form a DAG",
        )


def find_cycle(needs: Mapping[str, Sequence[str]]) -> list[str]:
    """One cycle as a closed walk (first name repeated last) along ``needs`` edges, or ``[]``."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(needs, white)
    position = {name: i for i, name in enumerate(needs)}
    for root in needs:
        if colour[root] != white:
            continue
        # Iterative DFS: a path stack of (step, iterator over its needs), so deep chains cannot overflow.
        path: list[str] = [root]
        iters = [iter(needs[root])]
        colour[root] = grey
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                iters.pop()
                continue
            if colour.get(nxt, black) == grey:
                loop = path[path.index(nxt) :]
                # Reported in the reading order "a needs b needs c": a -> b -> c -> a, from the
                # cycle's first step in the file, so the same file always gives the same message.
                first = min(range(len(loop)), key=lambda i: position[loop[i]])
                loop = loop[first:] + loop[:first]
                return [*loop, loop[0]]
            if colour.get(nxt) == white:
                colour[nxt] = grey
                path.append(nxt)
                iters.append(iter(needs[nxt]))
    return []


def topological(needs: Mapping[str, Sequence[str]]) -> list[str]:
    """The steps, each after everything it needs; ties keep file order. ``needs`` must be acyclic."""
    order: list[str] = []
    done: set[str] = set()
    remaining = list(needs)
    while remaining:
        ready = [s for s in remaining if all(n in done for n in needs[s])]
        if not ready:  # pragma: no cover - check_needs refuses cycles first
            raise ConfigError("the steps' needs form a cycle", fix="run check_needs first")
        for step in ready:
            order.append(step)
            done.add(step)
        remaining = [s for s in remaining if s not in done]
    return order


def ancestors(needs: Mapping[str, Sequence[str]], step: str) -> set[str]:
    """Every step ``step`` needs, directly or through others (not ``step`` itself)."""
    seen: set[str] = set()
    todo = list(needs[step])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(needs[name])
    return seen
