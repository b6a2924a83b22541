"""The model registry: promote and rollback are audited before the pointer moves, and the service follows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from finpilot.audit import Ledger, open_ledger
from finpilot.core import InputError, IntegrityError, NotFoundError, Settings
from finpilot.fraud import (
    DecisionPolicy,
    FeatureEngine,
    FraudService,
    ModelArtifact,
    ModelRegistry,
    Payment,
    Scorer,
    Thresholds,
    generate_payments,
    load_artifact,
    read_payments,
    read_state,
    train_artifact,
)


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelArtifact, ModelArtifact]:
    """Two different small models (different seeds and windows)."""
    root = tmp_path_factory.mktemp("registry")
    path = root / "payments.csv"
    generate_payments(path, customers=60, terminals=120, days=25, seed=4)
    table = read_payments(path)
    first = train_artifact(table, end="2018-04-18", holdout_days=4)
    second = train_artifact(table, start="2018-04-05", holdout_days=4, params={"num_iterations": 40})
    assert first.version != second.version
    return first, second


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger."""
    with open_ledger(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def _entries(ledger: Ledger) -> list[dict[str, object]]:
    return [ledger.entry(i).fields for i in range(ledger.size)]


def test_promote_and_rollback_round_trip_is_audited_and_the_service_follows(
    tmp_path: Path, ledger: Ledger, two_models: tuple[ModelArtifact, ModelArtifact]
) -> None:
    old, new = two_models
    registry = ModelRegistry(tmp_path / "models", ledger)
    registry.register(old)
    registry.promote(old.version, reason="first model")
    service = FraudService(
        Scorer(FeatureEngine(), registry.champion()), DecisionPolicy(Thresholds(0.5, 0.8, 1.5)), ledger
    )
    payment = Payment("p1", 1_524_000_000, "c1", "t1", 42.0)
    first, _ = service.score(payment)
    assert first.model_version == old.version

    registry.register(new)
    assert read_state(tmp_path / "models").challenger == new.version
    index = registry.promote(new.version, reason="better AP")
    assert service.use_model(registry.champion()) == old.version
    second, _ = service.score(Payment("p2", 1_524_000_100, "c1", "t1", 42.0))
    assert second.model_version == new.version
    promoted = ledger.entry(index).fields
    assert (promoted["kind"], promoted["action"], promoted["subject"]) == (
        "fraud.model",
        "promote",
        f"model:{new.version}",
    )
    assert promoted["evidence"]["previous_champion"] == old.version
    assert promoted["evidence"]["sha256"] == new.sha256
    assert registry.state().previous == (old.version,)
    assert registry.state().challenger is None

    restored, back = registry.rollback(reason="false declines up")
    service.use_model(restored)
    third, _ = service.score(Payment("p3", 1_524_000_200, "c1", "t1", 42.0))
    assert third.model_version == old.version
    rolled = ledger.entry(back).fields
    assert (rolled["action"], rolled["subject"]) == ("rollback", f"model:{old.version}")
    assert rolled["evidence"]["replaced_champion"] == new.version
    assert registry.state().champion == old.version
    assert registry.state().previous == ()
    actions = [e["action"] for e in _entries(ledger) if e["kind"] == "fraud.model"]
    assert actions == ["register", "promote", "register", "promote", "rollback"]

    with pytest.raises(NotFoundError) as nothing_left:
        registry.rollback()
    assert nothing_left.value.field == "previous"


def test_refusals_and_bad_versions_change_nothing_but_the_refusal_entry(
    tmp_path: Path, ledger: Ledger, two_models: tuple[ModelArtifact, ModelArtifact]
) -> None:
    old, new = two_models
    registry = ModelRegistry(tmp_path / "models", ledger)
    registry.register(old)
    registry.promote(old.version)
    with pytest.raises(InputError):
        registry.promote(old.version)  # already the champion
    with pytest.raises(NotFoundError) as unknown:
        registry.promote("ffffffffffff")
    assert unknown.value.field == "version"
    before = ledger.size
    registry.register(new)
    index = registry.refuse(new.version, reason="AP below the champion's", evaluation={"verdict": "refuse"})
    refused = ledger.entry(index).fields
    assert (refused["action"], refused["outcome"]) == ("refuse", "refused")
    assert refused["evidence"]["evaluation"] == {"verdict": "refuse"}
    assert registry.state().champion == old.version
    assert registry.state().challenger is None
    assert ledger.size == before + 2  # register + refuse

    # A model changed on disk after registration is refused before anything is written.
    model_file = registry.path_of(new.version) / "model.txt"
    model_file.write_text(model_file.read_text() + "\n")
    size = ledger.size
    with pytest.raises(IntegrityError):
        registry.promote(new.version)
    assert ledger.size == size
    assert registry.state().champion == old.version


def test_a_fresh_registry_has_no_champion(tmp_path: Path, ledger: Ledger) -> None:
    registry = ModelRegistry(tmp_path / "nothing", ledger)
    assert registry.state().champion is None
    with pytest.raises(NotFoundError) as caught:
        registry.champion()
    assert "promote" in str(caught.value)
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "registry.json").write_text("[not a state")
    with pytest.raises(InputError):
        registry.state()


def test_registered_artifacts_load_with_their_hash(
    tmp_path: Path, ledger: Ledger, two_models: tuple[ModelArtifact, ModelArtifact]
) -> None:
    registry = ModelRegistry(tmp_path / "models", ledger)
    registry.register(two_models[0])
    path = registry.path_of(two_models[0].version)
    assert path == tmp_path / "models" / two_models[0].version
    assert load_artifact(path).sha256 == two_models[0].sha256
